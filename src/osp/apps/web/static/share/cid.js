// The CID of a file's bytes, rebuilt in the browser (or Node 20) the way osp.content.unixfs
// builds it, so the share page can check that the bytes it played are the record's.
//
// Sources: UnixFS spec (https://specs.ipfs.tech/unixfs/), IPIP-499 import profiles
// (https://specs.ipfs.tech/ipips/ipip-0499/), IPLD dag-pb spec (PBNode = Links (field 2)
// then Data (field 1); PBLink = Hash 1, Name 2, Tsize 3), multiformats CID spec (CIDv1 =
// varint version, varint codec, multihash; text = multibase base32 lower "b…"; CIDv0 =
// base58btc of the bare sha2-256 multihash).  The DAG is ipfs-unixfs-importer's
// fixed-size chunker + balanced builder:
//  - chunks of chunkSize bytes (the last shorter; an empty file is one empty chunk);
//  - nodes grouped maxLinks at a time, level by level, until one node remains;
//  - a file of a single chunk is that leaf itself;
//  - a parent's Tsize = its block length + its children's Tsize.
// sha2-256 comes from crypto.subtle.digest (browsers expose it in secure contexts only;
// the share page installs digest.js's where it is missing): without it cidOf throws
// CannotCheck.

const RAW = 0x55
const DAG_PB = 0x70
const SHA2_256 = 0x12

/** Import profiles by their IPIP-499 names (chunkSize in bytes). */
export const PROFILES = Object.freeze({
  'unixfs-v1-2025': Object.freeze({ version: 1, rawLeaves: true, chunkSize: 1024 * 1024, maxLinks: 1024 }),
  'kubo-cidv1-256k-174': Object.freeze({ version: 1, rawLeaves: true, chunkSize: 256 * 1024, maxLinks: 174 }),
  'unixfs-v0-2015': Object.freeze({ version: 0, rawLeaves: false, chunkSize: 256 * 1024, maxLinks: 174 })
})

/** The CID cannot be computed here: unknown profile or no crypto.subtle (insecure context). */
export class CannotCheck extends Error {
  constructor (message) {
    super(message)
    this.name = 'CannotCheck'
  }
}

function varint (value) {
  const out = []
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80)
    value = Math.floor(value / 0x80)
  }
  out.push(value)
  return out
}

function concat (parts) {
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let pos = 0
  for (const p of parts) {
    out.set(p, pos)
    pos += p.length
  }
  return out
}

function field (tag, payload) {
  return concat([Uint8Array.from([tag, ...varint(payload.length)]), payload])
}

function cidBytes (version, codec, digest) {
  const prefix = version === 0 ? [SHA2_256, 32] : [1, ...varint(codec), SHA2_256, 32]
  return concat([Uint8Array.from(prefix), digest])
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base32 (bytes) {
  let out = ''
  let bits = 0
  let acc = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31]
      bits -= 5
    }
    acc &= (1 << bits) - 1
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31]
  return out
}

function base58 (bytes) {
  const digits = [0]
  for (const b of bytes) {
    let carry = b
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i] << 8
      digits[i] = carry % 58
      carry = Math.floor(carry / 58)
    }
    while (carry > 0) {
      digits.push(carry % 58)
      carry = Math.floor(carry / 58)
    }
  }
  let out = ''
  for (const b of bytes) {
    if (b !== 0) break
    out += '1'
  }
  for (let i = digits.length - 1; i >= 0; i--) out += B58[digits[i]]
  return out
}

/** Text form of a binary CID: base58btc for v0, multibase base32 lower ("b…") for v1. */
export function cidText (bytes) {
  return bytes[0] === SHA2_256 ? base58(bytes) : 'b' + base32(bytes)
}

// UnixFS Data of a file node: Type=File, inline data (omitted when empty), filesize, blocksizes.
function unixfsFile (data, blocksizes) {
  let total = data.length
  for (const s of blocksizes) total += s
  const parts = [Uint8Array.from([0x08, 0x02])]
  if (data.length) parts.push(field(0x12, data))
  parts.push(Uint8Array.from([0x18, ...varint(total)]))
  for (const s of blocksizes) parts.push(Uint8Array.from([0x20, ...varint(s)]))
  return concat(parts)
}

// Canonical dag-pb PBNode: links first (empty names), then Data.
function dagPbNode (data, links) {
  const parts = []
  for (const link of links) {
    const body = concat([field(0x0a, link.cid), Uint8Array.from([0x12, 0x00, 0x18, ...varint(link.tsize)])])
    parts.push(field(0x12, body))
  }
  parts.push(field(0x0a, data))
  return concat(parts)
}

async function sha256 (bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle
  if (!subtle) throw new CannotCheck('no crypto.subtle here (not a secure context)')
  return new Uint8Array(await subtle.digest('SHA-256', bytes))
}

async function leaf (profile, chunk) {
  if (profile.rawLeaves) {
    return { cid: cidBytes(profile.version, RAW, await sha256(chunk)), tsize: chunk.length, filesize: chunk.length }
  }
  const block = dagPbNode(unixfsFile(chunk, []), [])
  return { cid: cidBytes(profile.version, DAG_PB, await sha256(block)), tsize: block.length, filesize: chunk.length }
}

async function parent (profile, children) {
  const kept = children.filter(c => c.filesize > 0)
  const block = dagPbNode(unixfsFile(new Uint8Array(0), kept.map(c => c.filesize)), kept)
  let tsize = block.length
  let filesize = 0
  for (const c of kept) {
    tsize += c.tsize
    filesize += c.filesize
  }
  return { cid: cidBytes(profile.version, DAG_PB, await sha256(block)), tsize, filesize }
}

// Read `source` (Blob or Uint8Array/ArrayBuffer) chunk by chunk, one chunk in memory at a time.
async function * chunks (source, size) {
  const total = source instanceof Blob ? source.size : source.byteLength
  const bytes = source instanceof Blob ? null : new Uint8Array(source instanceof ArrayBuffer ? source : source.buffer, source.byteOffset || 0, total)
  if (total === 0) {
    yield new Uint8Array(0)
    return
  }
  for (let pos = 0; pos < total; pos += size) {
    const end = Math.min(pos + size, total)
    yield bytes ? bytes.subarray(pos, end) : new Uint8Array(await source.slice(pos, end).arrayBuffer())
  }
}

/**
 * The root CID (text) of `source` (Blob, ArrayBuffer or Uint8Array) under the import
 * profile `profileName` (a key of PROFILES).  `onProgress(bytesDone)` is called per chunk.
 * Throws CannotCheck for an unknown profile or without crypto.subtle.
 */
export async function cidOf (source, profileName, onProgress = null) {
  const profile = Object.hasOwn(PROFILES, profileName) ? PROFILES[profileName] : null
  if (!profile) throw new CannotCheck(`unknown CID profile ${JSON.stringify(String(profileName)).slice(0, 80)}`)
  if (!(globalThis.crypto && globalThis.crypto.subtle)) throw new CannotCheck('no crypto.subtle here (not a secure context)')
  let level = []
  let done = 0
  for await (const chunk of chunks(source, profile.chunkSize)) {
    level.push(await leaf(profile, chunk))
    done += chunk.length
    if (onProgress) onProgress(done)
  }
  while (level.length > 1) {
    const next = []
    for (let i = 0; i < level.length; i += profile.maxLinks) {
      next.push(await parent(profile, level.slice(i, i + profile.maxLinks)))
    }
    level = next
  }
  return cidText(level[0].cid)
}

/**
 * Check `source` against the record's `cid` (text) and `cidProfile`.
 * Resolves to {status: 'match'|'mismatch'|'cannot', computed: string|null, reason: string|null}.
 */
export async function checkCid (source, cid, profileName, onProgress = null) {
  try {
    const computed = await cidOf(source, profileName, onProgress)
    return { status: computed === cid ? 'match' : 'mismatch', computed, reason: null }
  } catch (err) {
    if (err instanceof CannotCheck) return { status: 'cannot', computed: null, reason: err.message }
    throw err
  }
}
