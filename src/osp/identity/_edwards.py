"""Edwards25519 point checks that OpenSSL's Ed25519 verify does not make (pure Python).

Source: RFC 8032 §5.1.3 (point decoding) and §5.1.7 (verification: ``0 <= S < L``).
OpenSSL decodes public keys leniently and accepts small-order keys, so a did:key whose
key is a small-order point with a signature ``R = identity, S = 0`` verifies *any*
message (design.md §8).  These checks run before OpenSSL:

* ``check_public_key``: the 32 bytes are a canonical encoding (``y < p``, no "negative
  zero" ``x = 0`` with the sign bit set) of a point on the curve that is not of small
  order (``8·P ≠ identity``: the identity and the points of order 2, 4 and 8);
* ``check_signature``: ``S < L`` and ``R`` has a canonical ``y`` that is not the ``y``
  of a small-order point (the eight such points have five ``y`` values).

Each raises ``ValueError`` naming the defect.  No secret data passes through here, so
the arithmetic need not be constant-time.
"""

from __future__ import annotations

import functools

P = 2**255 - 19  #: the field prime
L = 2**252 + 27742317777372353535851937790883648493  #: the prime order of the base point
D = -121665 * pow(121666, P - 2, P) % P  #: the curve constant d
SQRT_M1 = pow(2, (P - 1) // 4, P)  #: a square root of -1 mod p

#: y of the small-order points: identity (1), order 2 (p - 1), order 4 (0), order 8 (±y8)
_Y8 = int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little")
SMALL_ORDER_Y = frozenset({1, P - 1, 0, _Y8, P - _Y8})

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z


def decode_point(encoded: bytes) -> tuple[int, int]:
    """Affine ``(x, y)`` of a 32-byte point encoding (RFC 8032 §5.1.3), strictly.

    ``ValueError`` if the length is not 32, ``y >= p`` (non-canonical), ``x = 0`` with the
    sign bit set (non-canonical), or no point on the curve has this ``y``.
    """
    if len(encoded) != 32:
        raise ValueError("an Ed25519 point is 32 bytes")
    value = int.from_bytes(encoded, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= P:
        raise ValueError("non-canonical point encoding (y >= p)")
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    vxx = v * x * x % P
    if vxx == (-u) % P:
        x = x * SQRT_M1 % P
    elif vxx != u:
        raise ValueError("not a point on edwards25519")
    if x == 0 and sign:
        raise ValueError("non-canonical point encoding (x = 0 with the sign bit set)")
    if x & 1 != sign:
        x = P - x
    return x, y


def _double(point: Point) -> Point:
    # RFC 8032 §5.1.4 doubling in extended coordinates (a = -1).
    x1, y1, z1, _ = point
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = (a + b) % P
    e = (h - (x1 + y1) * (x1 + y1)) % P
    g = (a - b) % P
    f = (c + g) % P
    return e * f % P, g * h % P, f * g % P, e * h % P


def is_small_order(x: int, y: int) -> bool:
    """True iff ``8·(x, y)`` is the identity: the point has order 1, 2, 4 or 8."""
    point: Point = (x, y, 1, x * y % P)
    for _ in range(3):
        point = _double(point)
    px, py, pz, _ = point
    return px % P == 0 and (py - pz) % P == 0


@functools.lru_cache(maxsize=4096)
def _public_key_problem(public_key: bytes) -> str | None:
    try:
        x, y = decode_point(public_key)
    except ValueError as exc:
        return str(exc)
    return "small-order public key (it would verify forged signatures)" if is_small_order(x, y) else None


def check_public_key(public_key: bytes) -> None:
    """``ValueError`` unless ``public_key`` is a canonical, on-curve, not small-order point.

    Cached per key (a square root mod p costs ~0.5 ms in Python; artists' keys repeat)."""
    problem = _public_key_problem(bytes(public_key))
    if problem:
        raise ValueError(problem)


def check_signature(signature: bytes) -> None:
    """``ValueError`` unless ``signature`` is 64 bytes with ``S < L`` and an ``R`` whose
    ``y`` is canonical (``< p``) and not that of a small-order point (RFC 8032 §5.1.7; the
    R check closes forgeries that lean on torsion points).  An ``R`` off the curve is left
    to OpenSSL, which rejects it."""
    if len(signature) != 64:
        raise ValueError("an Ed25519 signature is 64 bytes")
    if int.from_bytes(signature[32:], "little") >= L:
        raise ValueError("non-canonical signature (S >= L)")
    y = int.from_bytes(signature[:32], "little") & ((1 << 255) - 1)
    if y >= P:
        raise ValueError("non-canonical R (y >= p)")
    if y in SMALL_ORDER_Y:  # also every "x = 0 with the sign bit set" encoding (y = ±1)
        raise ValueError("small-order R in the signature")
