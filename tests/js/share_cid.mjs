// Runs the share page's cid.js under Node 20 for tests/browser/test_share_cid.py.
// usage: node share_cid.mjs CID_JS < jobs.json ; jobs = [{path, profile, expect?, blob?, noSubtle?}]
// or [{path, digest: 'SHA-1'|'SHA-256'}] (digest.js next to cid.js, hex out);
// prints [{computed, status, reason}] (status from checkCid when `expect` is given).
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const { cidOf, checkCid } = await import(pathToFileURL(process.argv[2]).href)
const { digest } = await import(new URL('digest.js', pathToFileURL(process.argv[2])).href)
const jobs = JSON.parse(readFileSync(0, 'utf8'))
const out = []
for (const job of jobs) {
  const bytes = readFileSync(job.path)
  const source = job.blob ? new Blob([bytes]) : new Uint8Array(bytes)
  if (job.digest) {
    const hex = Buffer.from(await digest(job.digest, new Uint8Array(bytes))).toString('hex')
    out.push({ computed: hex, status: null, reason: null })
    continue
  }
  if (job.noSubtle) Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true })
  if (job.expect !== undefined) {
    out.push(await checkCid(source, job.expect, job.profile))
  } else {
    out.push({ computed: await cidOf(source, job.profile), status: null, reason: null })
  }
}
process.stdout.write(JSON.stringify(out) + '\n')
