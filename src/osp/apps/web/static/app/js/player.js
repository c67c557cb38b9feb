// The player: one <audio> fed by /stream/<id> (the session cookie authenticates; the node
// serves Range requests while the track still downloads). A network track is fetched
// first (POST /api/fetch with the holders a search named). Buffering is reported as it is,
// and a stalled or failed stream is reloaded at the same position, with bounded retries
// and backoff. Exposed as `window.ospPlayer` for tests and benchmarks.
import { post, seg } from './api.js';
import { queue } from './queue.js';

const STALL_NOTICE_MS = 3000; // "waiting for peers" after this long stalled
const STUCK_RELOAD_S = 12; // playing but no progress this long: reload the stream
const MAX_RETRIES = 5; // reloads in a row without progress, then give up
const BACKOFF_MS = 500; // first retry delay, doubled each time

export class Player extends EventTarget {
  constructor() {
    super();
    this.audio = new Audio();
    this.audio.preload = 'auto';
    this.item = null;
    this.status = '';
    this.retries = 0;
    this.lastGood = 0; // the last position that played
    this.resumeAt = null; // where a reload should land
    this.stallTimer = 0;
    this.retryTimer = 0;
    this.stuck = 0;
    this.lastTime = -1;
    this.loadToken = 0;
    this.wire();
    setInterval(() => this.watchdog(), 1000);
  }

  setStatus(text) {
    this.status = text;
    this.dispatchEvent(new Event('status'));
  }

  wire() {
    const a = this.audio;
    const on = (type, fn) => a.addEventListener(type, fn);
    on('waiting', () => this.setStatus('buffering…'));
    on('stalled', () => {
      clearTimeout(this.stallTimer);
      this.stallTimer = setTimeout(() => {
        if (a.readyState < 3 && !a.paused) this.setStatus('waiting for peers');
      }, STALL_NOTICE_MS);
    });
    on('playing', () => {
      clearTimeout(this.stallTimer);
      this.setStatus('');
    });
    on('canplay', () => {
      if (this.status === 'buffering…' || this.status === 'waiting for peers') this.setStatus('');
    });
    on('timeupdate', () => {
      if (a.currentTime > this.lastGood + 1 || a.currentTime < this.lastGood) {
        if (a.currentTime > this.lastGood + 1) this.retries = 0; // it plays again
        this.lastGood = a.currentTime;
      }
    });
    on('seeking', () => { this.lastGood = a.currentTime; });
    on('loadedmetadata', () => {
      if (this.resumeAt !== null) {
        a.currentTime = this.resumeAt;
        this.resumeAt = null;
      }
    });
    on('ended', () => {
      const next = queue.step(1);
      if (next) this.load(next);
    });
    on('error', () => {
      if (!this.item) return;
      const code = a.error ? a.error.code : 0;
      if (code === 4 && a.currentTime === 0 && this.retries >= 2) {
        this.setStatus('this track cannot be played here (format not supported or not available)');
        return;
      }
      this.recover('the stream broke');
    });
  }

  /** Called every second: a playing stream that has not moved for STUCK_RELOAD_S is reloaded. */
  watchdog() {
    const a = this.audio;
    if (!this.item || a.paused || a.ended || !a.src) {
      this.stuck = 0;
      return;
    }
    if (a.currentTime === this.lastTime) this.stuck += 1;
    else this.stuck = 0;
    this.lastTime = a.currentTime;
    if (this.stuck >= STUCK_RELOAD_S) {
      this.stuck = 0;
      this.recover('no data for a while');
    }
  }

  /** Reload the stream at the last position, after a backoff; gives up after MAX_RETRIES. */
  recover(why) {
    clearTimeout(this.retryTimer);
    if (this.retries >= MAX_RETRIES) {
      this.setStatus(`playback stopped: ${why} (tried ${MAX_RETRIES} times). Press play to try again.`);
      this.retries = 0;
      return;
    }
    const delay = BACKOFF_MS * 2 ** this.retries;
    this.retries += 1;
    this.setStatus(`reconnecting (${why}; try ${this.retries} of ${MAX_RETRIES})…`);
    const at = Math.max(this.audio.currentTime || 0, this.lastGood);
    const item = this.item;
    this.retryTimer = setTimeout(() => {
      if (this.item !== item) return;
      this.resumeAt = at;
      this.audio.src = this.streamUrl(item);
      this.audio.play().catch(() => {});
    }, delay);
  }

  streamUrl(item) {
    return `/stream/${seg(item.id)}`;
  }

  /**
   * Load `item` (see tracks.js) and play it when `autoplay`. A network item is fetched
   * first; the stream starts as soon as the node has its first bytes.
   */
  async load(item, autoplay = true) {
    const token = ++this.loadToken;
    clearTimeout(this.retryTimer);
    this.item = item;
    this.retries = 0;
    this.lastGood = 0;
    this.resumeAt = null;
    if (this.audio.src) { // the previous track stops now, not when the next one is ready
      this.audio.pause();
      this.audio.removeAttribute('src');
      this.audio.load();
    }
    this.dispatchEvent(new Event('track'));
    if (!item.local) {
      this.setStatus('getting it from the network…');
      try {
        await post('/api/fetch', { track: item.id, peer: item.holders.length ? item.holders : undefined });
      } catch (err) {
        if (token === this.loadToken) this.setStatus(`cannot get this track: ${err.message}`);
        return;
      }
      if (token !== this.loadToken) return;
      item.local = true;
    }
    this.setStatus(autoplay ? 'buffering…' : '');
    this.audio.src = this.streamUrl(item);
    if (autoplay) await this.play();
  }

  /** Play `item` now: it goes into the queue after the current one. */
  playNow(item) {
    return this.load(queue.playNow(item));
  }

  async play() {
    if (!this.item) {
      const current = queue.current() || queue.select(0);
      if (current) return this.load(current);
      return undefined;
    }
    if (!this.audio.src) return this.load(this.item);
    if (this.audio.error) {
      this.retries = 0;
      this.recover('restarting');
      return undefined;
    }
    try {
      await this.audio.play();
    } catch (err) {
      if (err.name !== 'AbortError') this.setStatus(`cannot play: ${err.message}`);
    }
    return undefined;
  }

  toggle() {
    if (this.audio.paused) return this.play();
    this.audio.pause();
    return undefined;
  }

  /** Seek to `seconds` (clamped to the track). */
  seek(seconds) {
    const d = this.duration();
    const t = Math.max(0, Math.min(Number(seconds) || 0, d > 0 ? d - 0.25 : Infinity));
    this.audio.currentTime = t;
  }

  /** The duration in seconds: the element's when known, else the record's. */
  duration() {
    const d = this.audio.duration;
    if (Number.isFinite(d) && d > 0) return d;
    return this.item ? this.item.duration : 0;
  }

  next() {
    const item = queue.step(1);
    if (item) this.load(item);
  }

  previous() {
    if (this.audio.currentTime > 3) {
      this.audio.currentTime = 0;
      return;
    }
    const item = queue.step(-1);
    if (item) this.load(item);
  }
}

export const player = new Player();
window.ospPlayer = player;
