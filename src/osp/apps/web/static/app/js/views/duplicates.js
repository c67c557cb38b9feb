// What a track's audio matches (issue 10, spec §9.7): the track page's "Same audio" section,
// the search results' mark, and the publish page's check. Every field is shown as text.
import { get, seg } from '../api.js';
import { h } from '../dom.js';
import { href } from '../router.js';

const CHECK_WAIT = 10; // seconds the node may take to fingerprint a new track

function who(d) {
  return String(d.artistName || d.artist || 'an unknown artist');
}

function at(d) {
  const s = Number(d.offset) || 0;
  return `${s >= 0 ? '+' : '−'}${Math.abs(s).toFixed(1)} s`;
}

/** One match as a list item: a warning for another artist's earlier track, a note for your own. */
function matchItem(d, own) {
  const link = h('a', { href: href('track', d.id), 'data-testid': 'duplicate-link' }, `“${d.title || d.id}”`);
  return own
    ? h('li', { class: 'note', 'data-testid': 'own-earlier' }, 'Published before as ', link, ` (at ${at(d)}).`)
    : h('li', { class: 'error', 'data-testid': 'duplicate' }, 'This audio matches ', link, ` by ${who(d)}, released `,
      String(d.released || '?'), ` (at ${at(d)}, ${Math.round(Number(d.overlap) || 0)} s alike).`);
}

/** The track page's section from GET /api/tracks/{id}'s `duplicates` (null: not fingerprinted). */
export function duplicatesSection(summary) {
  const dups = summary.duplicates;
  const body = dups === null || dups === undefined
    ? h('p', { class: 'note' }, 'Not fingerprinted here (yet).')
    : dups.length
      ? h('ul', { class: 'plain', 'data-testid': 'duplicates' }, dups.slice(0, 10).map((d) => matchItem(d, Boolean(d.own))))
      : h('p', { class: 'note', 'data-testid': 'no-duplicates' }, 'Its audio matches no earlier track known here.');
  return h('section', { 'aria-labelledby': 'dup-h' }, h('h2', { id: 'dup-h' }, 'Same audio'), body);
}

/** The search card's note for a result flagged as a near-duplicate, else null. */
export function duplicateNote(result) {
  return result.duplicateOf ? 'near-duplicate of an earlier track' : null;
}

/** After a publish: ask the node to check each new track (bounded wait), then list warnings in `box`. */
export async function checkPublished(tracks, box) {
  for (const t of tracks) {
    if (t.created === false || typeof t.id !== 'string') continue;
    try {
      const check = await get(`/api/tracks/${seg(t.id)}/duplicates?wait=${CHECK_WAIT}`);
      const dups = (check.duplicates || []).slice(0, 10);
      if (dups.length) {
        box.append(h('ul', { class: 'plain', 'data-testid': 'publish-check', 'aria-label': `Same audio as ${t.title || t.id}` },
          dups.map((d) => matchItem(d, Boolean(d.own)))));
      }
    } catch {
      // the check is advice: the publish itself succeeded
    }
  }
}
