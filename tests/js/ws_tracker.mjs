// A WebTorrent (WebSocket) tracker on loopback for osp-node's browser tests.
// usage: node ws_tracker.mjs HOST ; prints the ws:// announce URL, runs until stdin closes.
import Server from 'bittorrent-tracker/server'

const host = process.argv[2] || '127.0.0.1'
const server = new Server({ udp: false, http: false, ws: true, stats: false, trustProxy: false })
server.on('error', err => { console.error(String(err)); process.exit(1) })
server.listen(0, host, () => {
  process.stdout.write(`ws://${host}:${server.ws.address().port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
