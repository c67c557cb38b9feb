// Content credentials on a track page (issue 10): the stored C2PA result and the levels of
// "verified AI-generated" the node reports (docs/provenance.md) — never a guess as a fact.
// Every value from the record or the file is rendered as text (h() uses textContent).
import { h } from '../dom.js';

const LEVEL_NAMES = {
  declaration: "The artist's signed declaration",
  credential: 'A C2PA content credential that validates',
  trustList: 'Its signer is on your trust list',
  webOfTrust: "The artist's standing in your web of trust",
};

/** The Library list's short mark (text, not colour only) for a track whose stored C2PA
 * result (`c2pa` of GET /api/tracks) is invalid, else null. */
export function c2paListMark(t) {
  return t.c2pa && t.c2pa.state === 'invalid'
    ? [' · ', h('strong', { class: 'error', 'data-testid': 'list-c2pa-invalid', title: 'Its C2PA credential does not validate' }, 'C2PA INVALID')]
    : null;
}

function text(v) {
  return v === null || v === undefined || v === '' ? '–' : String(v);
}

function c2paFacts(c) {
  const rows = [
    ['State', c.state], ['Signer', c.signer], ['Issued by', c.issuer], ['Claim generator', c.claimGenerator],
    ['Source type', c.digitalSourceType], ['Generator', c.softwareAgent], ['Signed at', c.signedAt],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
  const dl = h('dl', { class: 'facts', 'data-testid': 'c2pa' },
    rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, text(v))]));
  const ingredients = (c.ingredients || []).slice(0, 32);
  if (ingredients.length) {
    dl.append(h('dt', {}, 'Ingredients'), h('dd', {}, h('ul', { class: 'plain' },
      ingredients.map((i) => h('li', {}, [i.title, i.format, i.hash].filter(Boolean).map(String).join(' · ') || '?')))));
  }
  const errors = (c.errors || []).slice(0, 16);
  if (errors.length) {
    dl.append(h('dt', {}, 'Errors'), h('dd', {}, h('ul', { class: 'plain error' },
      errors.map((e) => h('li', {}, `${text(e.code)}: ${text(e.text)}`)))));
  }
  return dl;
}

/** The "Content credentials" section for a GET /api/tracks/{id} answer, or null without one. */
export function credentialsSection(summary) {
  const levels = summary && summary.credentials;
  if (!levels || !Array.isArray(levels.levels)) return null;
  const c = summary.c2pa;
  const section = h('section', { 'aria-labelledby': 'cred-h', 'data-testid': 'credentials' },
    h('h2', { id: 'cred-h' }, 'Content credentials'));
  if (c && c.state === 'invalid') {
    section.append(h('p', { class: 'error credential-invalid', role: 'alert', 'data-testid': 'c2pa-invalid' },
      'INVALID content credential: this file was changed after it was signed, or its C2PA manifest is broken.',
      c.allowedInvalid ? ' The artist published it anyway.' : ''));
  }
  section.append(h('p', { 'data-testid': 'credentials-summary' }, text(levels.summary)));
  for (const m of (levels.mismatches || []).slice(0, 8)) {
    section.append(h('p', { class: 'error', role: 'alert', 'data-testid': 'c2pa-mismatch' }, `Mismatch: ${text(m)}`));
  }
  section.append(h('ol', { class: 'plain credential-levels', 'data-testid': 'credential-levels' },
    levels.levels.slice(0, 8).map((lv) => h('li', { dataset: { met: lv.met ? 'yes' : 'no' } },
      h('strong', {}, `${lv.met ? '✓' : '✗'} ${LEVEL_NAMES[lv.name] || text(lv.name)}: ${text(lv.status)}`),
      h('br', {}), text(lv.says),
      h('br', {}), h('small', {}, `Proves: ${text(lv.proves)}. Does not prove: ${text(lv.doesNotProve)}.`)))));
  section.append(c ? c2paFacts(c)
    : h('p', { class: 'note' }, 'The file has not been checked for a C2PA credential yet.'));
  return section;
}
