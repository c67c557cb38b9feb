// SHA-1 and SHA-256 (FIPS 180-4) in plain JavaScript, for pages that are not a secure
// context (plain http to a host other than this computer): there the browser exposes no
// crypto.subtle, and WebTorrent needs SHA-1 for the info hash and every piece.
// Importing this module (before WebTorrent) installs crypto.subtle = {digest} with only
// these two algorithms, marked `ospPolyfill: true`, when the browser has none.

function toBytes (data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  throw new TypeError('digest: data must be an ArrayBuffer or a view of one')
}

// The message padded to a multiple of 64 bytes with its bit length (big-endian) at the end.
function pad (bytes) {
  const total = Math.ceil((bytes.length + 9) / 64) * 64
  const out = new Uint8Array(total)
  out.set(bytes)
  out[bytes.length] = 0x80
  const view = new DataView(out.buffer)
  const bits = bytes.length * 8
  view.setUint32(total - 8, Math.floor(bits / 0x100000000))
  view.setUint32(total - 4, bits >>> 0)
  return view
}

function output (words) {
  const out = new Uint8Array(words.length * 4)
  const view = new DataView(out.buffer)
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0))
  return out.buffer
}

const rotl = (x, n) => (x << n) | (x >>> (32 - n))
const rotr = (x, n) => (x >>> n) | (x << (32 - n))

/** SHA-1 of `data` (ArrayBuffer or view); returns an ArrayBuffer of 20 bytes. */
export function sha1 (data) {
  const view = pad(toBytes(data))
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]
  const w = new Int32Array(80)
  for (let block = 0; block < view.byteLength; block += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(block + t * 4)
    for (let t = 16; t < 80; t++) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
    let [a, b, c, d, e] = h
    for (let t = 0; t < 80; t++) {
      let f, k
      if (t < 20) { f = (b & c) | (~b & d); k = 0x5a827999 } else if (t < 40) { f = b ^ c ^ d; k = 0x6ed9eba1 } else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc } else { f = b ^ c ^ d; k = 0xca62c1d6 }
      const tmp = (rotl(a, 5) + f + e + k + w[t]) | 0
      e = d
      d = c
      c = rotl(b, 30)
      b = a
      a = tmp
    }
    h[0] = (h[0] + a) | 0
    h[1] = (h[1] + b) | 0
    h[2] = (h[2] + c) | 0
    h[3] = (h[3] + d) | 0
    h[4] = (h[4] + e) | 0
  }
  return output(h)
}

const K256 = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
])

/** SHA-256 of `data` (ArrayBuffer or view); returns an ArrayBuffer of 32 bytes. */
export function sha256 (data) {
  const view = pad(toBytes(data))
  const h = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
  const w = new Int32Array(64)
  for (let block = 0; block < view.byteLength; block += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(block + t * 4)
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3)
      const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10)
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0
    }
    let [a, b, c, d, e, f, g, hh] = h
    for (let t = 0; t < 64; t++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t]) | 0
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0
      hh = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh
  }
  return output(Array.from(h))
}

/** crypto.subtle.digest's contract for SHA-1 and SHA-256 (name or {name}); others reject. */
export async function digest (algorithm, data) {
  const name = String(typeof algorithm === 'object' && algorithm ? algorithm.name : algorithm).toUpperCase()
  if (name === 'SHA-1') return sha1(data)
  if (name === 'SHA-256') return sha256(data)
  throw new DOMException(`digest: ${name} is not available here`, 'NotSupportedError')
}

export function install () {
  const c = globalThis.crypto
  if (!c || c.subtle) return false
  Object.defineProperty(c, 'subtle', { value: Object.freeze({ digest, ospPolyfill: true }), configurable: true })
  return Boolean(globalThis.crypto.subtle)
}

install()
