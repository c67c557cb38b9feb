// The share page: plays one track in any browser over WebTorrent, from the node's
// libtorrent and other browsers over WebRTC and from the node's web seed, shows where the
// bytes came from, and checks the record's CID over the downloaded bytes (cid.js).
//
// Served by the node's share listener (its own origin): /t/<track id> is this page,
// /config.json says where the node's peer listener is ({peer, peerPort, tracker}),
// /announce is the node's WebTorrent tracker, /sw.min.js WebTorrent's service worker.
// Query: ?webseed=0 leaves the web seed out (WebRTC peers only).
// Record fields are untrusted: they reach the page through textContent only.
// window.ospShare exposes state and timings (performance.now() ms) for tests and benchmarks.

import './digest.js' // first: gives WebTorrent (and cid.js) SHA-1/SHA-256 outside secure contexts
import { checkCid } from './cid.js'

// Loaded while the record and torrent are fetched (the module is 200 KiB); after digest.js.
const webTorrentModule = import('./vendor/webtorrent.min.js')

const TRACK_ID = /^osp:track:b[a-z2-7]{58,200}$/
const CID = /^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,200})$/
const BTIH = /^magnet:\?xt=urn:btih:([0-9a-f]{40})/
const MAX_RECORD = 256 * 1024 // bytes
const MAX_TORRENT = 4 * 1024 * 1024 // bytes
const MAX_CHECK = 1024 * 1024 * 1024 // bytes: larger files are not hashed in the page
const FETCH_TIMEOUT = 20000 // ms
const WORKER_TIMEOUT = 5000 // ms

const $ = id => document.getElementById(id)
const audio = $('audio')
const params = new URLSearchParams(location.search)
const useWebSeed = params.get('webseed') !== '0'

const share = {
  audio,
  pageStart: performance.now(),
  fetchedAt: null, // record and torrent fetched
  workerAt: null, // WebTorrent loaded and the service worker active (or given up)
  torrentReadyAt: null,
  playingAt: null,
  firstAudioAt: null,
  sources: { node: 0, browsers: 0, other: 0, webSeed: 0 },
  wires: [],
  peers: 0,
  progress: 0,
  streaming: null, // 'service-worker' or 'blob'
  check: { status: 'pending', computed: null, reason: null },
  error: null,
  done: false
}
window.ospShare = share

function say (text) {
  $('status').textContent = text
}

function fail (err) {
  const message = String((err && err.message) || err).slice(0, 300)
  share.error = message
  say(`Cannot play this track: ${message}`)
}

function humanBytes (n) {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`
}

function trackIdFromPath () {
  const prefix = '/t/'
  if (!location.pathname.startsWith(prefix)) throw new Error('this page is opened as /t/<track id>')
  let id
  try {
    id = decodeURIComponent(location.pathname.slice(prefix.length))
  } catch {
    throw new Error('the link does not hold a track id')
  }
  if (!TRACK_ID.test(id)) throw new Error('the link does not hold a valid track id')
  return id
}

async function fetchCapped (url, cap, what) {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT), credentials: 'omit', referrerPolicy: 'no-referrer' })
  if (res.status === 404 && what !== 'config.json') {
    throw new Error('this node does not have this track (it was removed, or never was here): ask whoever shared the link')
  }
  if (!res.ok) throw new Error(`${what}: the node answered HTTP ${res.status}`)
  const declared = Number(res.headers.get('Content-Length') || 0)
  if (declared > cap) throw new Error(`${what} is too large`)
  const body = new Uint8Array(await res.arrayBuffer())
  if (body.length > cap) throw new Error(`${what} is too large`)
  return body
}

async function peerBase () {
  const config = JSON.parse(new TextDecoder().decode(await fetchCapped('/config.json', 16 * 1024, 'config.json')))
  let base
  if (typeof config.peer === 'string' && /^https?:\/\//.test(config.peer)) {
    base = config.peer.replace(/\/+$/, '')
  } else if (Number.isInteger(config.peerPort) && config.peerPort > 0 && config.peerPort < 65536) {
    base = `${location.protocol}//${location.hostname}:${config.peerPort}`
  } else {
    throw new Error('config.json names no peer listener')
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  let tracker = `${scheme}//${location.host}/announce`
  if (typeof config.tracker === 'string' && /^wss?:\/\/[^\s]+$/.test(config.tracker)) tracker = config.tracker
  else if (typeof config.tracker === 'string' && /^\/[A-Za-z0-9/_-]*$/.test(config.tracker)) tracker = `${scheme}//${location.host}${config.tracker}`
  return { base, tracker }
}

function text (id, value) {
  $(id).textContent = value
}

function clock (seconds) {
  const total = Math.round(seconds)
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`
}

const SOURCE_WORDS = {
  trainedAlgorithmicMedia: 'made by a trained AI model',
  compositeWithTrainedAlgorithmicMedia: 'human material combined with AI model output',
  algorithmicMedia: 'made by an algorithm',
  digitalCreation: 'made by a human with digital tools',
  digitalCapture: 'recorded from real life'
}

const RELATION_WORDS = { remix: 'remix of', cover: 'cover of', extends: 'extends', samples: 'samples' }

function str (v) {
  return typeof v === 'string' && v ? v : null
}

// The record's provenance (spec §5.1) in one paragraph of text; both the older string
// forms and the structured ones.
function provenanceText (p) {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return 'Not stated'
  const parts = [p.aiGenerated === true ? 'AI-generated' : p.aiGenerated === false ? 'Not AI-generated' : 'AI use not stated']
  if (p.aiGenerated !== undefined) parts[0] += ' (as stated by the artist)'
  const type = str(p.digitalSourceType)
  if (type) parts.push(`source: ${SOURCE_WORDS[type] || type} (IPTC ${type})`)
  const g = p.generator
  const generator = typeof g === 'string' ? g
    : g && typeof g === 'object' ? [str(g.name), str(g.version)].filter(Boolean).join(' ') : ''
  const model = [str(p.model), str(p.modelVersion)].filter(Boolean).join(' ')
  if (generator || model) parts.push(`with ${[generator, model && `model ${model}`].filter(Boolean).join(', ')}`)
  if (str(p.prompt)) parts.push(`prompt: “${p.prompt}”`)
  const human = Array.isArray(p.humanContribution) ? p.humanContribution.map(String).join(', ') : str(p.humanContribution)
  if (human) parts.push(`human contribution: ${human}`)
  const parents = Array.isArray(p.parents) ? p.parents.slice(0, 64) : []
  for (const parent of parents) {
    const id = typeof parent === 'string' ? parent : parent && typeof parent === 'object' ? str(parent.id) : null
    const relation = parent && typeof parent === 'object' ? (RELATION_WORDS[parent.relation] || String(parent.relation)) : 'derived from'
    if (id) parts.push(`${relation} ${id}`)
  }
  const stems = Array.isArray(p.stems) ? p.stems.length : 0
  if (stems) parts.push(`${stems} stem${stems === 1 ? '' : 's'}`)
  return parts.join('; ').slice(0, 2000)
}

function showRecord (record) {
  const title = typeof record.title === 'string' ? record.title : 'Untitled'
  text('title', title)
  document.title = `${title} · OpenSound`
  text('artist', typeof record.artistName === 'string' ? `by ${record.artistName}` : 'by an artist who gave no name')
  text('license', typeof record.license === 'string' ? record.license : '—')
  text('duration', typeof record.duration === 'number' ? clock(record.duration) : '—')
  text('released', typeof record.released === 'string' ? record.released : '—')
  text('provenance', provenanceText(record.provenance))
  text('artist-did', typeof record.artist === 'string' ? record.artist : '—')
  text('cid', record.cid)
  text('track-id', record.id)
}

function showCheck (state, message) {
  share.check.status = state
  $('check').dataset.state = state
  text('check', message)
}

function classify (wire) {
  if (wire.type === 'webSeed') return 'webSeed'
  const id = typeof wire.peerId === 'string' ? wire.peerId : ''
  if (id.startsWith('2d5757')) return 'browsers' // -WW: WebTorrent
  if (id.startsWith('2d4f53') || id.startsWith('2d4c54')) return 'node' // -OS: osp-node, -LT: libtorrent
  return 'other'
}

function render (torrent) {
  share.peers = torrent.numPeers
  share.progress = torrent.progress
  text('src-node', humanBytes(share.sources.node))
  text('src-browsers', humanBytes(share.sources.browsers))
  text('src-other', humanBytes(share.sources.other))
  text('src-webseed', humanBytes(share.sources.webSeed))
  text('peers', String(torrent.numPeers))
  $('progress').value = torrent.progress
  text('progress-text', `${Math.floor(torrent.progress * 100)} %`)
}

function stopPlayback () {
  audio.pause()
  audio.removeAttribute('src')
  audio.load()
}

async function verify (torrent, file, record) {
  if (typeof record.cidProfile !== 'string') return showCheck('cannot', 'CID not checked: the record names no import profile.')
  if (file.length > MAX_CHECK) return showCheck('cannot', 'CID not checked: the file is too large to hash in the page.')
  showCheck('checking', 'Checking the CID of the downloaded bytes…')
  const result = await checkCid(await file.blob(), record.cid, record.cidProfile)
  share.check = result
  if (result.status === 'match') {
    showCheck('match', `CID verified: the bytes match ${record.cid}`)
    if (crypto.subtle.ospPolyfill) $('check').append(' (hashed by this page’s own JavaScript: the browser gives no Web Crypto to pages that are not a secure context)')
  } else if (result.status === 'mismatch') {
    stopPlayback()
    torrent.destroy()
    showCheck('mismatch', `CID DOES NOT MATCH: the bytes are ${result.computed}, not ${record.cid}. Playback stopped.`)
    say('Playback stopped: these bytes are not the track the record names.')
  } else {
    showCheck('cannot', `CID cannot be checked here (${result.reason}).`)
  }
}

async function serviceWorker () {
  if (!window.isSecureContext || !('serviceWorker' in navigator)) return null
  const reg = await navigator.serviceWorker.register('/sw.min.js', { scope: '/' })
  const deadline = performance.now() + WORKER_TIMEOUT
  while (!(reg.active && reg.active.state === 'activated' && navigator.serviceWorker.controller)) {
    if (performance.now() > deadline) return null
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return reg
}

// Playback news, unless an error or a failed CID check owns the status line.
function playback (message) {
  if (!share.error && share.check.status !== 'mismatch' && audio.getAttribute('src')) say(message)
}

function watchAudio () {
  const firstAudio = () => {
    if (share.firstAudioAt === null && share.playingAt !== null && audio.currentTime > 0) share.firstAudioAt = performance.now()
  }
  const watchFrames = () => { // timeupdate comes every ~250 ms: look each frame until audio moves
    firstAudio()
    if (share.firstAudioAt === null && !audio.paused) requestAnimationFrame(watchFrames)
  }
  audio.addEventListener('playing', () => {
    if (share.playingAt === null) {
      share.playingAt = performance.now()
      requestAnimationFrame(watchFrames)
    }
    playback('Playing.')
  })
  audio.addEventListener('waiting', () => playback('Buffering: waiting for the next pieces…'))
  audio.addEventListener('pause', () => { if (!audio.ended) playback('Paused.') })
  audio.addEventListener('ended', () => playback('Played to the end.'))
  audio.addEventListener('timeupdate', firstAudio)
}

async function main () {
  watchAudio()
  $('use-webseed').checked = useWebSeed
  $('use-webseed').addEventListener('change', event => {
    const next = new URLSearchParams(location.search)
    if (event.target.checked) next.delete('webseed')
    else next.set('webseed', '0')
    const query = next.toString()
    location.search = query ? `?${query}` : ''
  })
  const id = trackIdFromPath()
  const worker = serviceWorker().catch(() => null)
  const { base, tracker } = await peerBase()
  say('Fetching the record…')
  const [recordBytes, torrentFile] = await Promise.all([
    fetchCapped(`${base}/osp/v0/tracks/${id}`, MAX_RECORD, 'the record'),
    fetchCapped(`${base}/osp/v0/tracks/${id}/torrent`, MAX_TORRENT, 'the torrent')
  ])
  share.fetchedAt = performance.now()
  const record = JSON.parse(new TextDecoder().decode(recordBytes))
  if (!record || typeof record !== 'object' || record.id !== id) throw new Error('the node answered another record')
  if (typeof record.cid !== 'string' || !CID.test(record.cid)) throw new Error('the record has no valid CID')
  const btih = typeof record.torrent === 'string' && BTIH.exec(record.torrent)
  if (!btih) throw new Error('the record has no torrent')
  showRecord(record)

  const [{ default: WebTorrent }, reg] = await Promise.all([webTorrentModule, worker])
  share.workerAt = performance.now()
  const client = new WebTorrent({ dht: false, lsd: false, utPex: false, tracker: { rtcConfig: { iceServers: [] } } })
  client.on('error', fail)
  if (reg) {
    client.createServer({ controller: reg })
    share.streaming = 'service-worker'
  } else {
    share.streaming = 'blob'
  }
  say('Looking for peers…')
  const torrent = client.add(torrentFile, { announce: [tracker] })
  torrent.on('error', fail)
  torrent.on('infoHash', infoHash => {
    if (infoHash !== btih[1]) {
      torrent.destroy()
      fail(new Error('the torrent is not the one the record names'))
      return
    }
    // Only the web seed this browser can reach (the torrent's own may name an address only
    // the node's machine reaches), or none.
    torrent.urlList = useWebSeed ? [`${base}/ipfs/${record.cid}`] : []
  })
  torrent.on('wire', wire => {
    share.wires.push({ type: wire.type, kind: classify(wire) })
    wire.on('download', n => { share.sources[classify(wire)] += n })
  })
  const timer = setInterval(() => render(torrent), 250)
  torrent.on('ready', () => {
    share.torrentReadyAt = performance.now()
    const file = torrent.files[0]
    if (reg) {
      file.streamTo(audio)
      say('Streaming: starting playback…')
      audio.play().catch(() => say('Ready: press play.'))
    } else {
      say('No streaming here (the page is not a secure context, or its service worker did not start): the track plays once it has fully downloaded.')
    }
  })
  torrent.on('done', async () => {
    share.done = true
    render(torrent)
    clearInterval(timer)
    setInterval(() => render(torrent), 1000)
    const file = torrent.files[0]
    if (!reg) {
      audio.src = URL.createObjectURL(await file.blob())
      say('Downloaded: playing from memory.')
      audio.play().catch(() => say('Downloaded: press play.'))
    }
    await verify(torrent, file, record)
  })
}

main().catch(fail)
