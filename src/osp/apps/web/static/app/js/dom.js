// A tiny DOM helper: elements are built with text nodes only (record fields are never
// parsed as HTML), attributes are set one by one, and event handlers are real listeners.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'multiple', 'required', 'open']);
const FORBIDDEN = new Set(['innerHTML', 'outerHTML', 'style', 'srcdoc']);

/** Whether `url` is safe in an href/src we build: our own routes and same-origin paths, or http(s). */
export function safeUrl(url) {
  const s = String(url);
  if (s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//'))) return true;
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * h(tag, attrs, ...children) -> Element.
 * attrs: `class`, `dataset` (object), `on<event>` (function), properties in PROPS, any
 * other attribute as a string (null/false/undefined skipped, true -> empty attribute).
 * children: strings/numbers (text nodes), Nodes, arrays of these, null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (FORBIDDEN.has(key)) throw new Error(`h(): ${key} is not allowed`);
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (PROPS.has(key)) {
      el[key] = value;
    } else if ((key === 'href' || key === 'src') && !safeUrl(value)) {
      continue;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append children (see h) to `el`. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all of `el`'s children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Seconds -> "m:ss" (or "h:mm:ss"); "–:––" when unknown. */
export function fmtTime(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–:––';
  const s = Math.floor(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** Bytes per second -> "1.2 MB/s". */
export function fmtRate(bytesPerSecond) {
  return `${fmtBytes(bytesPerSecond)}/s`;
}

/** Bytes -> "3.4 MB" (SI units). */
export function fmtBytes(n) {
  const v = Number(n) || 0;
  if (v < 1000) return `${v} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let x = v;
  let i = -1;
  do { x /= 1000; i += 1; } while (x >= 1000 && i < units.length - 1);
  return `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

/** "1 track", "2 tracks". */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A did:key shortened for display ("did:key:z6Mk…abcd"); the full value stays in a title. */
export function shortDid(did) {
  const s = String(did || '');
  return s.length > 28 ? `${s.slice(0, 16)}…${s.slice(-6)}` : s;
}

/** A short-lived status line shown in the page's polite live region. */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (region) region.textContent = text;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  play: 'M8 5v14l11-7z',
  pause: 'M6 5h4v14H6zM14 5h4v14h-4z',
  prev: 'M6 5h2v14H6zM9.5 12 19 5v14z',
  next: 'M16 5h2v14h-2zM5 5l9.5 7L5 19z',
};

/** A small decorative SVG icon (aria-hidden; the button carries the name). */
export function icon(name) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICONS[name]);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

/** Focus, in row ``i`` of ``list``, the enabled button whose ``data-key`` is ``key`` (else
 * the row's first button): keeps the keyboard on a row after it was moved or removed. */
export function focusRowButton(list, i, key) {
  const li = list.children[i];
  const target = li && (li.querySelector(`button[data-key="${key}"]:not([disabled])`) || li.querySelector('button'));
  if (target) target.focus();
}
