// @helia/verified-fetch as an independent IPFS client for osp-node's tests.
// usage: node verified_fetch.mjs GATEWAY_URL CID TIMEOUT_MS
// stdout: {"status": n, "size": bytes, "sha256": hex} or {"error": message}; every block is
// verified against its CID by Helia's trustless-gateway block broker.
import { createHash } from 'node:crypto'

if (typeof Promise.withResolvers !== 'function') { // Node 20
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createHeliaLight } = await import('helia')
const { withHTTP } = await import('@helia/http')
const { createVerifiedFetch } = await import('@helia/verified-fetch')

const [gateway, cid, timeoutMs] = process.argv.slice(2)
const helia = await withHTTP(await createHeliaLight(), {
  delegatedRouters: [gateway], recursiveGateways: [gateway], allowInsecure: true, allowLocal: true
})
const verifiedFetch = await createVerifiedFetch(helia)
const timer = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: `timed out after ${timeoutMs} ms` }))
  process.exit(0)
}, Number(timeoutMs))
try {
  const resp = await verifiedFetch(`ipfs://${cid}`, { signal: AbortSignal.timeout(Number(timeoutMs)) })
  const body = new Uint8Array(await resp.arrayBuffer())
  const sha256 = createHash('sha256').update(body).digest('hex')
  process.stdout.write(JSON.stringify({ status: resp.status, size: body.length, sha256 }))
} catch (err) {
  process.stdout.write(JSON.stringify({ error: String(err?.message ?? err) }))
}
clearTimeout(timer)
await verifiedFetch.stop().catch(() => {})
process.exit(0)
