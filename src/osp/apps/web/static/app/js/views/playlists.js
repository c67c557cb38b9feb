// Playlists (#/playlists): list, create, delete. One playlist (#/playlist/<id>): rename,
// reorder (Up/Down buttons, or drag and drop), remove tracks, play all.
import { del, get, post, seg } from '../api.js';
import { announce, focusRowButton, h, plural, replace } from '../dom.js';
import { player } from '../player.js';
import { queue } from '../queue.js';
import { href } from '../router.js';
import { toItem } from '../tracks.js';
import { artistLink, errorBox, heading } from './common.js';
import { publishBar, publishedSection } from './published.js';

export async function playlistsView(main) {
  main.append(heading('Playlists'));
  const list = h('ul', { class: 'results', 'data-testid': 'playlists' });
  const status = h('p', { role: 'status' }, 'Loading…');
  const name = h('input', { type: 'text', id: 'new-playlist', maxlength: '200', required: true, 'data-testid': 'new-playlist-name' });
  const form = h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    const value = name.value.trim();
    if (!value) return;
    try {
      const pl = await post('/api/playlists', { name: value, tracks: [] });
      location.hash = href('playlist', pl.id);
    } catch (err) {
      form.after(errorBox(err, 'Cannot create the playlist'));
    }
  } }, h('label', { for: 'new-playlist' }, 'New playlist name'), name,
  h('button', { type: 'submit', class: 'primary', 'data-testid': 'create-playlist' }, 'Create'));
  main.append(form, status, list, publishedSection());
  try {
    const { playlists } = await get('/api/playlists');
    status.textContent = playlists.length ? `${playlists.length} playlist${playlists.length === 1 ? '' : 's'}` : 'No playlists yet.';
    replace(list, playlists.map((pl) => h('li', { class: 'card' },
      h('div', { class: 'card-main' },
        h('a', { href: href('playlist', pl.id), class: 'title' }, String(pl.name)),
        h('span', { class: 'note' }, plural((pl.tracks || []).length, 'track'))))));
  } catch (err) {
    status.replaceWith(errorBox(err, 'Cannot load playlists'));
  }
}

async function libraryItems() {
  try {
    const { tracks } = await get('/api/tracks');
    return new Map(tracks.map((t) => [String(t.id), toItem(t, true)]));
  } catch {
    return new Map();
  }
}

export async function playlistView(main, { arg: id }) {
  main.append(heading('Playlist'));
  const status = h('p', { role: 'status', 'aria-live': 'polite' }, 'Loading…');
  main.append(status);
  let pl;
  let known;
  try {
    [pl, known] = await Promise.all([get(`/api/playlists/${seg(id)}`), libraryItems()]);
  } catch (err) {
    status.replaceWith(errorBox(err, 'Cannot load this playlist'));
    return;
  }
  const h1 = main.querySelector('h1');
  h1.textContent = String(pl.name);
  let ids = (pl.tracks || []).map(String);
  const items = () => ids.map((t) => known.get(t) || toItem({ id: t, title: t, holders: [] }, false));
  const list = h('ol', { class: 'results', 'data-testid': 'playlist-tracks' });
  let focusAfter = null;
  let dragFrom = -1;

  async function save(next, focus) {
    const before = ids;
    ids = next;
    focusAfter = focus;
    render();
    try {
      const saved = await post(`/api/playlists/${seg(id)}`, { tracks: ids });
      ids = (saved.tracks || ids).map(String);
    } catch (err) {
      ids = before;
      render();
      status.textContent = `Not saved: ${err.message}`;
    }
  }

  function moved(i, j) {
    const next = ids.slice();
    const [t] = next.splice(i, 1);
    next.splice(j, 0, t);
    return next;
  }

  function render() {
    status.textContent = ids.length ? `${ids.length} track${ids.length === 1 ? '' : 's'}` : 'Empty: add tracks from search results or track pages.';
    const n = ids.length;
    replace(list, items().map((item, i) => {
      const btn = (label, aria, fn, key, disabled = false) =>
        h('button', { type: 'button', class: 'small', 'aria-label': aria, disabled, dataset: { key }, onclick: fn }, label);
      const li = h('li', { class: 'card', draggable: 'true', dataset: { id: item.id } },
        h('div', { class: 'card-main' },
          h('a', { href: href('track', item.id), class: 'title' }, item.title),
          item.artist ? h('span', { class: 'by' }, ' by ', artistLink(item)) : null),
        h('div', { class: 'actions' },
          btn('Play', `Play ${item.title}`, () => { queue.replace(items()); player.load(queue.select(i)); }, 'play'),
          btn('Up', `Up: move ${item.title} up`, () => save(moved(i, i - 1), [i - 1, 'up']), 'up', i === 0),
          btn('Down', `Down: move ${item.title} down`, () => save(moved(i, i + 1), [i + 1, 'down']), 'down', i === n - 1),
          btn('Remove', `Remove ${item.title} from the playlist`, () => save(ids.filter((_, k) => k !== i), [Math.min(i, n - 2), 'remove']), 'remove')));
      li.addEventListener('dragstart', (e) => { dragFrom = i; e.dataTransfer.effectAllowed = 'move'; });
      li.addEventListener('dragover', (e) => { e.preventDefault(); });
      li.addEventListener('drop', (e) => {
        e.preventDefault();
        if (dragFrom >= 0 && dragFrom !== i) save(moved(dragFrom, i), null);
        dragFrom = -1;
      });
      return li;
    }));
    if (focusAfter) {
      focusRowButton(list, ...focusAfter);
      focusAfter = null;
    }
  }

  const rename = h('input', { type: 'text', id: 'rename', maxlength: '200', value: String(pl.name), required: true, 'data-testid': 'rename-input' });
  const renameForm = h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const saved = await post(`/api/playlists/${seg(id)}`, { name: rename.value.trim() });
      h1.textContent = String(saved.name);
      announce('Renamed');
    } catch (err) {
      status.textContent = `Not renamed: ${err.message}`;
    }
  } }, h('label', { for: 'rename' }, 'Name'), rename, h('button', { type: 'submit' }, 'Rename'));
  let armed = false;
  const remove = h('button', { type: 'button', class: 'danger', 'data-testid': 'delete-playlist', onclick: async () => {
    if (!armed) {
      armed = true;
      remove.textContent = 'Confirm delete';
      return;
    }
    try {
      await del(`/api/playlists/${seg(id)}`);
      location.hash = href('playlists');
    } catch (err) {
      status.textContent = `Not deleted: ${err.message}`;
    }
  } }, 'Delete playlist');
  const playAll = h('button', { type: 'button', class: 'primary', 'data-testid': 'play-all', onclick: () => {
    const first = queue.replace(items());
    if (first) player.load(first);
  } }, 'Play all');
  main.append(h('div', { class: 'actions' }, playAll, remove), renameForm, publishBar(id, pl), list);
  render();
}
