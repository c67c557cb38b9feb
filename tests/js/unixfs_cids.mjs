// Reference CIDs from the JavaScript UnixFS importers, for osp-node's tests.
// stdin: JSON list of cases {seed, size, profile?, chunkSize?, maxLinks?, cidVersion?,
// rawLeaves?, impl?: "importer"|"helia"}; stdout: JSON list of CID strings, same order.
// Bytes: ChaCha20 keystream, key = SHA-256(seed), zero nonce (the kubo/boxo fixture generator).
import { createHash, createCipheriv } from 'node:crypto'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { unixfs } from '@helia/unixfs'

const STEP = 1 << 20

async function * chacha (seed, size) {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(STEP)
  let left = size
  while (left > 0) {
    const n = Math.min(STEP, left)
    yield new Uint8Array(cipher.update(zeros.subarray(0, n)))
    left -= n
  }
}

// A blockstore that keeps nothing: the importer only needs put() to succeed.
const sink = {
  put: async (cid) => cid,
  has: async () => false,
  get: async () => { throw new Error('sink blockstore holds no blocks') }
}

async function cidOf (c) {
  if (c.impl === 'helia') {
    const fs = unixfs({ blockstore: sink })
    return (await fs.addByteStream(chacha(c.seed, c.size))).toString()
  }
  const options = {}
  if (c.profile) options.profile = c.profile
  if (c.chunkSize) options.chunker = fixedSize({ chunkSize: c.chunkSize })
  if (c.maxLinks) options.layout = balanced({ maxChildrenPerNode: c.maxLinks })
  if (c.cidVersion !== undefined) options.cidVersion = c.cidVersion
  if (c.rawLeaves !== undefined) options.rawLeaves = c.rawLeaves
  let last
  for await (const entry of importer([{ content: chacha(c.seed, c.size) }], sink, options)) last = entry
  return last.cid.toString()
}

let input = ''
for await (const chunk of process.stdin) input += chunk
const out = []
for (const c of JSON.parse(input)) out.push(await cidOf(c))
process.stdout.write(JSON.stringify(out))
