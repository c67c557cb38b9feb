// Trust in the app (issue 11, spec §10): an identity's personalized trust score and why
// (GET /api/trust?did=), the Endorse button (a signed osp:Endorsement, POST /api/social),
// "hidden (why)" for what the quality gate hid (shown collapsed, never dropped), and the
// settings page (#/settings) for the gate: a threshold and subscribed moderation lists
// (GET|PUT /api/quality-gate {threshold, lists}).
import { ApiError, get, post, put } from '../api.js';
import { announce, h, replace, shortDid } from '../dom.js';
import { href } from '../router.js';
import { errorBox, heading } from './common.js';

const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/;
const MAX_LISTS = 50; // moderation lists one can subscribe to here
const MAX_THRESHOLD = 10; // the gate's highest threshold (relative trust: osp.social.gate.MAX_THRESHOLD)

/** A trust score as text: 2 significant digits, "unknown" when the node has none (null). */
export function trustText(trust) {
  if (typeof trust !== 'number' || !Number.isFinite(trust)) return 'unknown';
  return trust === 0 ? '0' : trust.toPrecision(2);
}

/** "why" of a `hidden` member ({why, by}) as one line of text (`why` names the flagger already). */
export function hiddenWhy(hidden) {
  return String((hidden && hidden.why) || 'below your quality gate');
}

/**
 * What the quality gate hid, collapsed: a <details> whose summary says "Hidden: why" and
 * whose body holds `content` (the item itself, with a link to the flagger when a flag hid it:
 * `by`, the flagger's did — you, someone you trust, or a moderation list you subscribe to).
 */
export function hiddenDetails(hidden, ...content) {
  const by = hidden && typeof hidden.by === 'string' && hidden.by
    ? h('p', { class: 'note' }, 'Flagged by ', h('a', { href: href('artist', hidden.by), class: 'mono', title: hidden.by }, shortDid(hidden.by)))
    : null;
  return h('details', { class: 'hidden-item', 'data-testid': 'hidden-item' },
    h('summary', {}, 'Hidden: ', h('span', { 'data-testid': 'hidden-why' }, hiddenWhy(hidden))),
    h('div', { class: 'hidden-body' }, by, ...content));
}

/** A hidden search result: `card` (an <li>) inside a "Hidden: why" disclosure, in an <li>. */
export function hiddenResult(card, hidden) {
  return h('li', { class: 'hidden-result', dataset: { id: card.dataset.id || '' }, 'data-testid': 'hidden-result' },
    hiddenDetails(hidden, h('ol', { class: 'results' }, card)));
}

/** Whether `err` is the 404 of a route this node does not have (no error code: not ours). */
export function notAvailable(err) {
  return err instanceof ApiError && err.status === 404 && !err.code;
}

/** The listener's own follow, endorsement and flag records about an identity (`mine` of
 * GET /api/trust?did=), each with a Retract button (a signed Tombstone, POST /api/social). */
function mineList(mine, did, box, onMine) {
  const records = (Array.isArray(mine) ? mine : []).filter((r) => r && typeof r.id === 'string' && typeof r.kind === 'string');
  if (!records.length) return null;
  return h('ul', { class: 'mine', 'data-testid': 'trust-mine', 'aria-label': 'Your records about this identity' },
    records.map((r) => {
      const what = r.kind === 'flag' && typeof r.reason === 'string' ? `Your flag (${r.reason})` : `Your ${r.kind}`;
      const button = h('button', { type: 'button', 'data-testid': 'retract-mine', 'aria-label': `Retract: ${what}` }, 'Retract');
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await post('/api/social', { kind: 'tombstone', subject: r.id });
          announce(`${what} retracted`);
          showTrust(box, did, onMine);
        } catch (err) {
          button.disabled = false;
          button.replaceWith(button, h('span', { class: 'error' }, ` Not retracted: ${err.message}`));
        }
      });
      return h('li', {}, what, ' ', button);
    }));
}

function showTrust(box, did, onMine = () => {}) {
  replace(box, h('p', { role: 'status' }, 'Computing trust…'));
  get(`/api/trust?did=${encodeURIComponent(did)}`).then((t) => {
    const why = (Array.isArray(t.why) ? t.why : []).filter((w) => typeof w === 'string');
    onMine(Array.isArray(t.mine) ? t.mine : []);
    replace(box,
      h('p', { 'data-testid': 'trust-score' }, `Trust score ${trustText(t.score)}`,
        typeof t.relative === 'number' && Number.isFinite(t.relative) ? ` (${trustText(t.relative)} × typical)` : '',
        Number.isInteger(t.rank) ? ` · rank ${t.rank}${Number.isInteger(t.of) ? ` of ${t.of}` : ''} of the identities this node knows` : '',
        t.score === null ? ' (not computed yet: this node computes trust in the background)' : ''),
      why.length ? h('ul', { class: 'why', 'data-testid': 'trust-why', 'aria-label': 'Why' }, why.map((w) => h('li', {}, w)))
        : h('p', { class: 'note' }, 'Nobody you trust vouches for this identity yet.'),
      mineList(t.mine, did, box, onMine));
  }).catch((err) => {
    replace(box, notAvailable(err) ? h('p', { class: 'note' }, 'This node does not compute trust scores.')
      : errorBox(err, 'Cannot compute trust'));
  });
}

/**
 * The artist page's "Trust" section: the score, its rank and why, and an Endorse form
 * (an optional note of at most 500 characters) that signs an osp:Endorsement of `did`.
 */
export function trustSection(did, { self = false } = {}) {
  const box = h('div', { 'data-testid': 'trust' });
  const note = h('input', { type: 'text', id: 'endorse-text', maxlength: '500', autocomplete: 'off', 'data-testid': 'endorse-text' });
  const button = h('button', { type: 'submit', class: 'primary', 'data-testid': 'endorse' }, 'Endorse');
  const onMine = (mine) => { // one endorsement per identity: "Endorsed" while ours stands (Retract it below)
    const endorsed = mine.some((r) => r && r.kind === 'endorsement');
    button.textContent = endorsed ? 'Endorsed' : 'Endorse';
    button.disabled = endorsed;
    note.disabled = endorsed;
  };
  showTrust(box, did, onMine);
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    const text = note.value.trim();
    try {
      await post('/api/social', { kind: 'endorsement', subject: did, ...(text ? { text } : {}) });
      status.textContent = 'Endorsed: your signed endorsement is published with your feed.';
      button.textContent = 'Endorsed';
      note.value = '';
      announce('Endorsed');
      showTrust(box, did, onMine);
    } catch (err) {
      status.textContent = `Not endorsed: ${err.message}`;
      button.disabled = false;
    }
  } }, h('label', { for: 'endorse-text' }, 'Vouch for this identity (note, optional)'), note, button);
  const section = h('section', { 'aria-labelledby': 'trust-h' }, h('h2', { id: 'trust-h' }, 'Trust'), box,
    self ? h('p', { class: 'note' }, 'This is you.') : [form, status]);
  if (!self) {
    get('/api/node').then((info) => { // one's own page: nothing to vouch for
      if (info && info.did === did) {
        form.replaceWith(h('p', { class: 'note', 'data-testid': 'trust-self' }, 'This is you: everyone else’s trust is computed from you.'));
        status.remove();
      }
    }).catch(() => {});
  }
  return section;
}

/**
 * Settings (#/settings): the quality gate. What comes from identities trusted below the
 * threshold is hidden (collapsed, with the reason); the flags and endorsements of the
 * subscribed moderation lists (curators' did:keys) count as the listener's own.
 */
export async function settingsView(main) {
  main.append(heading('Settings'));
  const status = h('p', { role: 'status', 'aria-live': 'polite', 'data-testid': 'gate-status' }, 'Loading…');
  main.append(h('h2', { id: 'gate-h' }, 'Quality gate'), status);
  let gate;
  try {
    gate = await get('/api/quality-gate');
  } catch (err) {
    status.replaceWith(notAvailable(err) ? h('p', { class: 'note' }, 'This node has no quality gate.') : errorBox(err, 'Cannot load the quality gate'));
    return;
  }
  let lists = (Array.isArray(gate.lists) ? gate.lists : []).filter((d) => typeof d === 'string');
  const threshold = h('input', { type: 'number', id: 'gate-threshold', min: '0', max: String(MAX_THRESHOLD), step: 'any', inputmode: 'decimal',
    value: String(Number(gate.threshold) || 0), 'aria-describedby': 'gate-hint', 'data-testid': 'gate-threshold' });
  const listEl = h('ul', { class: 'plain lists', 'data-testid': 'gate-lists', 'aria-label': 'Moderation lists' });
  const add = h('input', { type: 'text', id: 'gate-add', autocomplete: 'off', spellcheck: 'false', placeholder: 'did:key:z6Mk…', 'data-testid': 'gate-add' });

  function renderLists() {
    replace(listEl, lists.length ? lists.map((did, i) => h('li', {},
      h('a', { href: href('artist', did), class: 'mono', title: did }, shortDid(did)), ' ',
      h('button', { type: 'button', class: 'small', 'aria-label': `Unsubscribe from ${shortDid(did)}`, onclick: () => {
        lists = lists.filter((_, k) => k !== i);
        renderLists();
        add.focus();
      } }, 'Remove'))) : h('li', { class: 'note' }, 'No moderation list: only your own follows, endorsements and flags count.'));
  }

  const form = h('form', { 'aria-labelledby': 'gate-h', 'data-testid': 'gate-form', onsubmit: async (e) => {
    e.preventDefault();
    const value = Number(threshold.value);
    if (threshold.value.trim() === '' || !Number.isFinite(value) || value < 0 || value > MAX_THRESHOLD) {
      status.textContent = `The threshold is a number from 0 to ${MAX_THRESHOLD}.`;
      threshold.focus();
      return;
    }
    try {
      const saved = await put('/api/quality-gate', { threshold: value, lists });
      lists = (Array.isArray(saved.lists) ? saved.lists : lists).filter((d) => typeof d === 'string');
      threshold.value = String(Number(saved.threshold ?? value));
      renderLists();
      status.textContent = 'Saved.';
    } catch (err) {
      status.textContent = `Not saved: ${err.message}`;
    }
  } },
  h('div', { class: 'field' }, h('label', { for: 'gate-threshold' }, 'Hide what comes from identities trusted below'), threshold, ' × typical trust',
    h('p', { class: 'hint', id: 'gate-hint' }, 'Trust is computed on this node from your follows and endorsements outward, relative to a typical identity you trust. 0 hides no one for low trust; what you, a subscribed list or someone you trust (usually anyone you follow) flagged is still hidden, shown as hidden (why). 0.1 hides identities far below typical and everyone outside your web of trust; 1 hides identities below typical trust. What is hidden stays visible, collapsed, with the reason.')),
  h('fieldset', {}, h('legend', {}, 'Moderation lists you subscribe to'), listEl,
    h('div', { class: 'row' }, h('label', { for: 'gate-add', class: 'visually-hidden' }, 'A curator’s did:key'), add,
      h('button', { type: 'button', 'data-testid': 'gate-add-button', onclick: () => {
        const did = add.value.trim();
        if (!DID_KEY.test(did)) {
          status.textContent = 'A moderation list is named by its curator’s did:key (did:key:z6Mk…).';
          add.focus();
          return;
        }
        if (!lists.includes(did) && lists.length < MAX_LISTS) lists.push(did);
        add.value = '';
        renderLists();
        status.textContent = 'Added: press Save to keep it.';
      } }, 'Add'))),
  h('button', { type: 'submit', class: 'primary', 'data-testid': 'gate-save' }, 'Save'));
  renderLists();
  status.textContent = '';
  main.append(form);
}
