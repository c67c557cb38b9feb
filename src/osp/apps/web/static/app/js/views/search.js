// Search (#/search?q= or #/search?tag=): the local library first, then the network's
// results as they stream in (POST /api/search, NDJSON); an improved result replaces its card.
import { ndjson } from '../api.js';
import { h } from '../dom.js';
import { href } from '../router.js';
import { toItem } from '../tracks.js';
import { analysisNote, audioFilters } from './analysis.js';
import { errorBox, heading, trackCard } from './common.js';
import { duplicateNote } from './duplicates.js';
import { forYouSection } from './foryou.js';
import { hiddenResult, trustText } from './trust.js';

const LIMIT = 50;
const TIMEOUT = 5;

function note(result) {
  const holders = (result.holders || []).filter((x) => x !== 'local');
  const local = (result.holders || []).includes('local');
  if (local && holders.length) return `in your library · on ${holders.length} node${holders.length > 1 ? 's' : ''}`;
  if (local) return 'in your library';
  return `on ${holders.length} node${holders.length === 1 ? '' : 's'}`;
}

/**
 * Run a search `body` into `list` (an <ol>), reporting in `status`; `skip` ids are left
 * out. Returns {done: Promise, abort()}. Each card is updated in place when the same id
 * comes again (more holders, a better score).
 */
export function streamSearch(body, list, status, skip = new Set()) {
  const controller = new AbortController();
  const cards = new Map();
  status.textContent = 'Searching your library and the network…';
  const done = ndjson('/api/search', { limit: LIMIT, timeout: TIMEOUT, ...body }, (line) => {
    if (line.result && typeof line.result.id === 'string') {
      const r = line.result;
      if (skip.has(r.id)) return;
      const record = r.record || {};
      const sound = analysisNote(r.analysis);
      const trust = typeof r.trust === 'number' ? `trust ${trustText(r.trust)}` : null;
      const shown = trackCard(toItem(r), { tags: r.tags || record.tags, note: [note(r), sound, duplicateNote(r), trust].filter(Boolean).join(' · ') });
      const card = r.hidden ? hiddenResult(shown, r.hidden) : shown; // hidden by the quality gate: collapsed, never dropped
      const old = cards.get(r.id);
      if (old) {
        if (old.contains(document.activeElement)) return; // keep the user's focus where it is
        old.replaceWith(card);
      } else {
        list.append(card);
      }
      cards.set(r.id, card);
      status.textContent = `${cards.size} result${cards.size === 1 ? '' : 's'} so far, searching the network…`;
    } else if (line.done) {
      const err = line.done.error;
      const n = cards.size;
      const left = line.done.notAnalysed ? ` (${line.done.notAnalysed} network result${line.done.notAnalysed === 1 ? '' : 's'} not analysed here: left out)` : '';
      status.textContent = err ? `${n} results (the network search failed: ${err.message || err.error})`
        : `${n} result${n === 1 ? '' : 's'}${left}`;
    }
  }, controller.signal).catch((err) => {
    if (err.name !== 'AbortError') {
      status.textContent = `${cards.size} results`;
      list.after(errorBox(err, 'Search failed'));
    }
  });
  return { done, abort: () => controller.abort() };
}

export function searchView(main, { params }) {
  const q = params.get('q') || '';
  const tag = params.get('tag') || '';
  const audio = audioFilters(params);
  const input = h('input', { type: 'search', id: 'search-q', name: 'q', value: q, autocomplete: 'off', 'data-testid': 'search-input', enterkeyhint: 'search' });
  const form = h('form', { role: 'search', class: 'search-form', onsubmit: (e) => {
    e.preventDefault();
    const value = input.value.trim();
    const target = href('search', '', { ...(value ? { q: value } : {}), ...audio.values() });
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  } },
  h('label', { for: 'search-q' }, 'Search titles, artists and tags'),
  h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'primary', 'data-testid': 'search-submit' }, 'Search')),
  audio.fields);
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'search-status' });
  const list = h('ol', { class: 'results', 'data-testid': 'results', 'aria-label': 'Results' });
  main.append(heading(tag ? `Tag: ${tag}` : 'Search'), form, status, list);
  if (!q && !tag && !Object.keys(audio.values()).length) {
    status.textContent = 'Type words and press Enter: your library answers at once, the network follows.';
    if (document.activeElement === document.body) input.focus();
    main.append(forYouSection());
    return null;
  }
  const run = streamSearch({ ...(tag ? { tags: [tag] } : q ? { q } : {}), ...audio.values() }, list, status);
  return run.abort;
}
