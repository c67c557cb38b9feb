// The persistent player bar: previous / play-pause / next, a seek slider over the buffered
// ranges, elapsed and total time, volume, now playing, and the player's honest status.
import { fmtTime, h, icon, replace } from './dom.js';
import { player } from './player.js';
import { href } from './router.js';
import { artistLabel } from './tracks.js';
import { showArtwork } from './views/artwork.js';

const SEEK_STEP = 5; // seconds per arrow key on the seek slider
const VOLUME_KEY = 'osp.volume';

/** Build the bar into `root` (the <aside id=player>). */
export function mountPlayerBar(root) {
  const a = player.audio;
  const title = h('a', { class: 'np-title', 'data-testid': 'now-playing' }, 'Nothing playing');
  const artist = h('a', { class: 'np-artist' });
  const art = h('div', { class: 'np-art', 'aria-hidden': 'true' });
  const status = h('p', { class: 'np-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'player-status' });
  const prev = h('button', { type: 'button', class: 'icon', 'aria-label': 'Previous track', 'data-testid': 'prev', onclick: () => player.previous() }, icon('prev'));
  const play = h('button', { type: 'button', class: 'icon play', 'aria-label': 'Play', 'data-testid': 'play-pause', onclick: () => player.toggle() }, icon('play'));
  const next = h('button', { type: 'button', class: 'icon', 'aria-label': 'Next track', 'data-testid': 'next', onclick: () => player.next() }, icon('next'));
  const buffered = h('div', { class: 'buffered', 'aria-hidden': 'true' });
  const seek = h('input', { type: 'range', class: 'seek', min: '0', max: '0', step: '1', value: '0', 'aria-label': 'Seek', 'aria-valuetext': '0:00 of –:––', 'data-testid': 'seek' });
  const elapsed = h('span', { class: 'time', 'data-testid': 'elapsed' }, '0:00');
  const total = h('span', { class: 'time', 'data-testid': 'duration' }, '–:––');
  const volume = h('input', { type: 'range', class: 'volume', min: '0', max: '1', step: '0.05', 'aria-label': 'Volume', 'data-testid': 'volume' });
  let dragging = false;

  const saved = Number(localStorage.getItem(VOLUME_KEY));
  a.volume = Number.isFinite(saved) && saved >= 0 && saved <= 1 && localStorage.getItem(VOLUME_KEY) !== null ? saved : 1;
  volume.value = String(a.volume);
  volume.setAttribute('aria-valuetext', `${Math.round(a.volume * 100)}%`);

  replace(root,
    art,
    h('div', { class: 'np' }, title, artist),
    h('div', { class: 'controls' }, prev, play, next),
    h('div', { class: 'timeline' }, elapsed, h('div', { class: 'track-bar' }, buffered, seek), total),
    h('label', { class: 'vol' }, h('span', { class: 'visually-hidden' }, 'Volume'), volume),
    status);

  function label(t) {
    return `${fmtTime(t)} of ${fmtTime(player.duration())}`;
  }

  function showTime() {
    const d = player.duration();
    seek.max = String(d > 0 ? Math.ceil(d) : 0);
    total.textContent = fmtTime(d > 0 ? d : NaN);
    if (!dragging) {
      seek.value = String(a.currentTime);
      seek.setAttribute('aria-valuetext', label(a.currentTime));
    }
    elapsed.textContent = fmtTime(a.currentTime);
  }

  function showBuffered() {
    const d = player.duration();
    const ranges = a.buffered;
    const spans = buffered.children;
    for (let i = 0; i < ranges.length && d > 0; i += 1) {
      const span = spans[i] || buffered.appendChild(h('span'));
      span.style.setProperty('--start', `${(100 * ranges.start(i)) / d}%`);
      span.style.setProperty('--end', `${(100 * Math.min(ranges.end(i), d)) / d}%`);
    }
    while (spans.length > (d > 0 ? ranges.length : 0)) spans[spans.length - 1].remove();
  }

  function showPlaying() {
    const playing = !a.paused;
    play.replaceChildren(icon(playing ? 'pause' : 'play'));
    play.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    root.classList.toggle('is-playing', playing);
  }

  function showTrack() {
    const item = player.item;
    if (!item) return;
    title.textContent = item.title;
    title.setAttribute('href', href('track', item.id));
    artist.textContent = artistLabel(item);
    showArtwork(art, item);
    if (item.artist) artist.setAttribute('href', href('artist', item.artist));
    document.title = `${item.title} – OpenSound`;
    showTime();
    showBuffered();
  }

  seek.addEventListener('input', () => {
    dragging = true;
    seek.setAttribute('aria-valuetext', label(Number(seek.value)));
    elapsed.textContent = fmtTime(Number(seek.value));
  });
  seek.addEventListener('change', () => {
    dragging = false;
    player.seek(Number(seek.value));
  });
  seek.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    player.seek(a.currentTime + (e.key === 'ArrowRight' ? SEEK_STEP : -SEEK_STEP));
  });
  volume.addEventListener('input', () => {
    a.volume = Number(volume.value);
    volume.setAttribute('aria-valuetext', `${Math.round(a.volume * 100)}%`);
    try { localStorage.setItem(VOLUME_KEY, String(a.volume)); } catch { /* ignore */ }
  });

  for (const type of ['timeupdate', 'durationchange', 'loadedmetadata', 'seeked']) a.addEventListener(type, showTime);
  for (const type of ['progress', 'durationchange', 'seeked', 'loadeddata']) a.addEventListener(type, showBuffered);
  for (const type of ['play', 'pause', 'playing', 'ended', 'emptied']) a.addEventListener(type, showPlaying);
  player.addEventListener('track', showTrack);
  player.addEventListener('status', () => {
    status.textContent = player.status;
  });

  // Space plays/pauses unless focus is in a field or on a control that uses Space itself.
  document.addEventListener('keydown', (e) => {
    if (e.key !== ' ' || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof Element && t.closest('input, textarea, select, button, a, summary, [contenteditable], [role=button]')) return;
    e.preventDefault();
    player.toggle();
  });
  showPlaying();
  mediaSession();
}

/** Media keys and the system's now-playing panel (where the browser has them). */
function mediaSession() {
  if (!('mediaSession' in navigator) || typeof MediaMetadata === 'undefined') return;
  const session = navigator.mediaSession;
  player.addEventListener('track', () => {
    const item = player.item;
    session.metadata = new MediaMetadata({ title: item.title, artist: artistLabel(item) });
  });
  const actions = {
    play: () => player.play(),
    pause: () => player.audio.pause(),
    previoustrack: () => player.previous(),
    nexttrack: () => player.next(),
    seekto: (details) => player.seek(details.seekTime),
  };
  for (const [action, handler] of Object.entries(actions)) {
    try { session.setActionHandler(action, handler); } catch { /* not supported here */ }
  }
}
