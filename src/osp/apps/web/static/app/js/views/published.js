// Published playlists (issue 11, spec §10 osp:Playlist): "Publish" on a local playlist
// (POST /api/playlists/<local id>/publish -> the signed record; each publish is a new
// version, `seq`, of the same series) and the playlists published by the artists and
// curators this node follows, and by you (GET /api/published-playlists -> {playlists}).
import { get, post, seg } from '../api.js';
import { announce, h, plural, replace, shortDid } from '../dom.js';
import { player } from '../player.js';
import { queue } from '../queue.js';
import { href } from '../router.js';
import { toItem } from '../tracks.js';
import { errorBox } from './common.js';
import { notAvailable } from './trust.js';

const str = (x) => (typeof x === 'string' ? x : '');

/** A published entry (a record, or a summary holding one) flattened to the record's fields. */
function flat(p) {
  return p && typeof p.record === 'object' && p.record ? { ...p.record, ...p } : p;
}

function versionText(seq) {
  return Number.isInteger(seq) ? `version ${seq}` : 'version ?';
}

/**
 * The playlist page's "Publish" bar for local playlist `id`: signs the current order as
 * the next version and says which one. `pl` is the local playlist (its `published`
 * member, when the node keeps one, names the last version).
 */
export function publishBar(id, pl) {
  const last = pl && typeof pl.published === 'object' && pl.published ? pl.published : null;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'publish-playlist-status' },
    last && Number.isInteger(last.seq) ? `Published, ${versionText(last.seq)}.` : 'Not published: only this node sees it.');
  const button = h('button', { type: 'button', 'data-testid': 'publish-playlist' }, 'Publish');
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Signing and publishing…';
    try {
      const answer = await post(`/api/playlists/${seg(id)}/publish`, {});
      const record = flat(answer) || {};
      status.textContent = `Published, ${versionText(record.seq)}: your followers get it with your feed.`;
      announce(`Published, ${versionText(record.seq)}`);
    } catch (err) {
      status.textContent = notAvailable(err) ? 'This node cannot publish playlists.' : `Not published: ${err.message}`;
    }
    button.disabled = false;
  });
  return h('div', { class: 'publish-bar' }, h('div', { class: 'actions' }, button,
    h('a', { href: href('playlists'), class: 'note' }, 'Published playlists')), status);
}

function entry(p, mine) {
  const r = flat(p);
  const tracks = (Array.isArray(r.tracks) ? r.tracks : []).filter((t) => typeof t === 'string');
  const titles = r.trackTitles && typeof r.trackTitles === 'object' ? r.trackTitles : {};
  const items = () => tracks.map((t) => toItem({ id: t, title: str(titles[t]) || t }, false));
  const author = str(r.author);
  const status = h('span', { class: 'note', role: 'status' });
  const playAll = h('button', { type: 'button', class: 'small', 'aria-label': `Play all of ${str(r.title)}`, disabled: !tracks.length, onclick: () => {
    const first = queue.replace(items());
    if (first) player.load(first);
  } }, 'Play all');
  const copy = h('button', { type: 'button', class: 'small', 'aria-label': `Copy to my playlists: ${str(r.title)}`, onclick: async () => {
    try {
      const made = await post('/api/playlists', { name: str(r.title).slice(0, 200) || 'Copy', tracks });
      location.hash = href('playlist', made.id);
    } catch (err) {
      status.textContent = `Not copied: ${err.message}`;
    }
  } }, 'Copy to my playlists');
  return h('li', { class: 'card', dataset: { id: str(r.id) }, 'data-testid': 'published-playlist' },
    h('div', { class: 'card-main' },
      h('span', { class: 'title' }, str(r.title) || 'Untitled'),
      h('span', { class: 'by' }, 'by ', mine ? 'you' : h('a', { href: href('artist', author), title: author }, str(r.authorName) || shortDid(author))),
      h('span', { class: 'note', 'data-testid': 'published-version' }, `${versionText(r.seq)} · ${plural(tracks.length, 'track')}`),
      str(r.description) ? h('p', { class: 'description' }, str(r.description)) : null,
      tracks.length ? h('details', {}, h('summary', {}, 'Tracks'),
        h('ol', {}, tracks.map((t) => h('li', {}, h('a', { href: href('track', t) }, str(titles[t]) || `${t.slice(0, 22)}…`))))) : null),
    h('div', { class: 'actions' }, playAll, copy, status));
}

/** The playlists page's "Published playlists" section: followed authors' and your own, newest versions. */
export function publishedSection() {
  const status = h('p', { class: 'status', role: 'status', 'data-testid': 'published-status' }, 'Loading…');
  const list = h('ul', { class: 'results', 'data-testid': 'published-playlists', 'aria-label': 'Published playlists' });
  const section = h('section', { 'aria-labelledby': 'published-h' },
    h('h2', { id: 'published-h' }, 'Published playlists'),
    h('p', { class: 'note' }, 'Signed playlists of the artists and curators you follow, and yours: the newest version of each.'),
    status, list);
  Promise.all([get('/api/published-playlists'), get('/api/node').catch(() => ({}))]).then(([answer, node]) => {
    const playlists = (Array.isArray(answer.playlists) ? answer.playlists : []).map(flat).filter((p) => p && typeof p.id === 'string');
    status.textContent = playlists.length ? plural(playlists.length, 'playlist') : 'None yet: follow curators, or publish one of yours.';
    replace(list, playlists.map((p) => entry(p, Boolean(node.did) && p.author === node.did)));
  }).catch((err) => {
    if (notAvailable(err)) section.remove();
    else status.replaceWith(errorBox(err, 'Cannot load published playlists'));
  });
  return section;
}
