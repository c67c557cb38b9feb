"""Deterministic test bytes: the generator kubo, boxo and js-ipfs-unixfs fixtures use.

ChaCha20 keystream (RFC 8439) with key = SHA-256(seed), zero nonce and counter.  Shared
by the tests, the benchmarks and ``spec/vectors`` so every implementation can regenerate
the same input from a seed string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

STEP = 1 << 20


def chacha_stream(seed: str, size: int, step: int = STEP) -> Iterator[bytes]:
    """Yield ``size`` keystream bytes in pieces of at most ``step`` bytes."""
    key = hashlib.sha256(seed.encode("utf-8")).digest()
    enc = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
    zeros = bytes(step)
    left = size
    while left > 0:
        n = min(step, left)
        yield enc.update(zeros[:n])
        left -= n


def chacha_bytes(seed: str, size: int) -> bytes:
    """All ``size`` bytes of ``chacha_stream(seed, size)`` at once."""
    return b"".join(chacha_stream(seed, size))
