// Pieces several pages share: track actions, tag links, a copy button, the playlist picker.
import { get, post, seg } from '../api.js';
import { announce, h, replace } from '../dom.js';
import { player } from '../player.js';
import { queue } from '../queue.js';
import { href } from '../router.js';
import { artistLabel } from '../tracks.js';
import { artworkImg } from './artwork.js';

/** An error paragraph (role=alert) with the message as text. */
export function errorBox(err, what) {
  const message = err && err.message ? err.message : String(err);
  return h('p', { class: 'error', role: 'alert' }, what ? `${what}: ${message}` : message);
}

/** A page heading (h1). */
export function heading(text) {
  return h('h1', {}, text);
}

/** Tag links to the tag search. */
export function tagLinks(tags) {
  const list = (Array.isArray(tags) ? tags : []).filter((t) => typeof t === 'string');
  if (!list.length) return null;
  return h('ul', { class: 'tags', 'aria-label': 'Tags' },
    list.map((t) => h('li', {}, h('a', { href: href('search', '', { tag: t }) }, t))));
}

/** A link to the artist page, named by artistName or the shortened did. */
export function artistLink(item) {
  if (!item.artist) return h('span', {}, artistLabel(item));
  return h('a', { href: href('artist', item.artist), class: 'artist' }, artistLabel(item));
}

/** Play and "Add to queue" buttons (and the playlist picker) for a track item. */
export function trackActions(item, { playlist = true } = {}) {
  const name = item.title;
  return h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'primary', 'data-testid': 'play', 'aria-label': `Play ${name}`, onclick: () => player.playNow(item) }, 'Play'),
    h('button', { type: 'button', 'data-testid': 'enqueue', 'aria-label': `Add to queue: ${name}`, onclick: () => {
      queue.add(item);
      announce(`${name} added to the queue`);
    } }, 'Add to queue'),
    playlist ? playlistPicker(item) : null);
}

/** A button that copies `text` to the clipboard and says so. */
export function copyButton(text, label) {
  const button = h('button', { type: 'button', class: 'small', 'aria-label': label }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
      announce('Copied');
    } catch {
      announce('Copying is not allowed here: select the text and copy it');
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  });
  return button;
}

/**
 * "Add to playlist": a disclosure listing the playlists (loaded when opened); a click adds
 * the track at the end of that playlist. A new playlist can be made from it too.
 */
export function playlistPicker(item) {
  const list = h('ul', { class: 'picker-list' });
  const details = h('details', { class: 'picker' },
    h('summary', { 'data-testid': 'add-to-playlist', 'aria-label': `Add to playlist: ${item.title}` }, 'Add to playlist'),
    list);
  async function addTo(pl) {
    try {
      const fresh = await get(`/api/playlists/${seg(pl.id)}`);
      const tracks = Array.isArray(fresh.tracks) ? fresh.tracks.map(String) : [];
      await post(`/api/playlists/${seg(pl.id)}`, { tracks: [...tracks, item.id] });
      announce(`${item.title} added to ${pl.name}`);
      details.open = false;
    } catch (err) {
      replace(list, h('li', {}, errorBox(err, 'Cannot add')));
    }
  }
  details.addEventListener('toggle', async () => {
    if (!details.open) return;
    replace(list, h('li', {}, 'Loading…'));
    try {
      const { playlists } = await get('/api/playlists');
      const input = h('input', { type: 'text', maxlength: '200', 'aria-label': 'New playlist name', placeholder: 'New playlist' });
      const form = h('form', { class: 'inline', onsubmit: async (e) => {
        e.preventDefault();
        const name = input.value.trim();
        if (!name) return;
        try {
          const pl = await post('/api/playlists', { name, tracks: [item.id] });
          announce(`${item.title} added to ${pl.name}`);
          details.open = false;
        } catch (err) {
          replace(list, h('li', {}, errorBox(err, 'Cannot create')));
        }
      } }, input, h('button', { type: 'submit', class: 'small' }, 'Create'));
      replace(list,
        (playlists || []).map((pl) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => addTo(pl) }, String(pl.name)))),
        h('li', {}, form));
    } catch (err) {
      replace(list, h('li', {}, errorBox(err, 'Cannot load playlists')));
    }
  });
  return details;
}

/** A list item for a track: title (link), artist (link), tags, an optional note, actions. */
export function trackCard(item, { tags = [], note = null } = {}) {
  return h('li', { class: 'card', dataset: { id: item.id }, 'data-testid': 'track-card' },
    artworkImg(item, 'small'),
    h('div', { class: 'card-main' },
      h('a', { href: href('track', item.id), class: 'title' }, item.title),
      h('span', { class: 'by' }, ' by ', artistLink(item)),
      note ? h('span', { class: 'note' }, note) : null,
      tagLinks(tags)),
    trackActions(item));
}
