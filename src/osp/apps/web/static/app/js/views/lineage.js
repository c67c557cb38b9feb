// The remix family tree on a track page: GET /api/tracks/<id>/lineage, drawn as nested
// lists (text only: record fields go through text nodes), each relative a link to its
// track page, with the relation ("remix of", "cover" …) as a label.
import { get, seg } from '../api.js';
import { h } from '../dom.js';
import { href } from '../router.js';
import { artistLabel } from '../tracks.js';
import { errorBox } from './common.js';

// How a parent relates to the track below it, and a child to the track above it.
const UP = { remix: 'remix of', extends: 'extends', cover: 'cover of', samples: 'samples' };
const DOWN = { remix: 'remix', extends: 'extended by', cover: 'cover', samples: 'sampled by' };
const WALK_SECONDS = 12;

function entryItem(entry, key, names, fallback) {
  const track = entry.track || {};
  const label = h('span', { class: 'relation' }, `${names[entry.relation] || fallback}: `);
  let body;
  if (entry.status === 'unknown') {
    body = h('a', { href: href('track', entry.id), class: 'mono' }, `unknown track ${String(entry.id).slice(0, 24)}…`);
  } else {
    body = [h('a', { href: href('track', entry.id) }, String(track.title || '?')),
      ` — ${String(artistLabel(track))}`, track.released ? ` (${String(track.released)})` : null];
  }
  const mark = entry.status === 'cycle' ? ' (cycle: named again below itself)'
    : entry.status === 'repeat' ? ' (shown above)' : entry.more ? ' (more beyond the depth shown)' : null;
  const kids = Array.isArray(entry[key]) ? entry[key] : [];
  return h('li', { 'data-status': String(entry.status) }, label, body, mark,
    kids.length ? h('ul', {}, kids.map((k) => entryItem(k, key, names, fallback))) : null);
}

function branch(title, entries, key, names, fallback, testid) {
  if (!entries.length) return null;
  return [h('h3', {}, title), h('ul', { class: 'lineage-tree', 'data-testid': testid },
    entries.map((e) => entryItem(e, key, names, fallback)))];
}

/** The lineage section of a track page; fills itself once the walk answers. */
export function lineageSection(trackId) {
  const status = h('p', { role: 'status' }, 'Looking for the remix family (this node, then the network)…');
  const section = h('section', { 'aria-labelledby': 'lineage-h', 'data-testid': 'lineage' },
    h('h2', { id: 'lineage-h' }, 'Remix family'), status);
  get(`/api/tracks/${seg(trackId)}/lineage?timeout=${WALK_SECONDS}`).then((tree) => {
    const parents = Array.isArray(tree.parents) ? tree.parents : [];
    const children = Array.isArray(tree.children) ? tree.children : [];
    const notes = [];
    if (!tree.network) notes.push('Only this node was searched (the DHT is off or unreachable).');
    if (tree.partial) notes.push('Partial: the search ran out of time, more relatives may exist.');
    const parts = [
      branch('Derived from', parents, 'parents', UP, 'parent', 'lineage-parents'),
      branch('Derived works', children, 'children', DOWN, 'child', 'lineage-children'),
      parents.length || children.length ? null : h('p', {}, 'No known parents or derived works.'),
      notes.length ? h('p', { class: 'note' }, notes.join(' ')) : null,
    ].flat().filter(Boolean);
    status.replaceWith(...parts);
  }).catch((err) => status.replaceWith(errorBox(err, 'Cannot look up the remix family')));
  return section;
}
