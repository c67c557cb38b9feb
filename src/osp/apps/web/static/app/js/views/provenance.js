// A record's provenance (spec §5.1): the publish form's fields and the track page's view.
// Both forms are read: `generator` a string or {name, version, url}, `humanContribution`
// free text or terms, `parents`/`stems` bare ids/CIDs or {id, relation}/{cid, role}.
// Everything shown is text (textContent), peer URLs included: never links to elsewhere.
import { h } from '../dom.js';
import { href } from '../router.js';

export const SOURCE_TYPES = {
  trainedAlgorithmicMedia: 'Made by a trained AI model',
  compositeWithTrainedAlgorithmicMedia: 'Human material combined with AI model output',
  algorithmicMedia: 'Made by an algorithm (no trained model)',
  compositeSynthetic: 'Composite of synthetic elements',
  dataDrivenMedia: 'Data-driven media',
  algorithmicallyEnhanced: 'Algorithmically enhanced',
  digitalCreation: 'Made by a human with digital tools',
  digitalArt: 'Made by a human with digital tools (older term)',
  humanEdits: 'Human edits',
  minorHumanEdits: 'Minor human edits',
  composite: 'Composite',
  compositeCapture: 'Composite of recordings',
  digitalCapture: 'Recorded from real life',
  computationalCapture: 'Computational capture',
  virtualRecording: 'Virtual recording',
  screenCapture: 'Screen capture',
  negativeFilm: 'Digitised from a negative',
  positiveFilm: 'Digitised from a positive',
  print: 'Digitised from print',
};
const AI_TYPES = ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia'];
export const HUMAN = ['composition', 'lyrics', 'performance', 'arrangement', 'mixing', 'curation', 'none'];
export const RELATIONS = { remix: 'Remix of', extends: 'Extends', cover: 'Cover of', samples: 'Samples' };
export const ROLES = ['vocals', 'backingVocals', 'drums', 'percussion', 'bass', 'guitar', 'keys', 'synth', 'strings',
  'brass', 'woodwinds', 'melody', 'harmony', 'instrumental', 'fx', 'other'];
const MAX_LINKS = 64;
const TRACK_ID = /^osp:track:b[a-z2-7]{58,}$/;
const CID = /^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,})$/;

function field(id, label, control, hint) {
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

// Rows of [text input][select][Remove] with an "Add" button: parents and stems.
function linkList(kind, legend, placeholder, options) {
  const rows = h('ul', { class: 'plain links', 'data-testid': `${kind}-list` });
  let n = 0;
  function add() {
    if (rows.children.length >= MAX_LINKS) return;
    n += 1;
    const input = h('input', { type: 'text', class: 'mono', placeholder, 'aria-label': `${legend} ${n}`, 'data-testid': `${kind}-id` });
    const select = h('select', { 'aria-label': `${legend} ${n}: kind`, 'data-testid': `${kind}-kind` },
      options.map(([value, label]) => h('option', { value }, label)));
    const li = h('li', { class: 'row' }, input, select,
      h('button', { type: 'button', onclick: () => li.remove() }, 'Remove'));
    rows.append(li);
    input.focus();
  }
  const box = h('fieldset', {}, h('legend', {}, legend), rows,
    h('button', { type: 'button', 'data-testid': `${kind}-add`, onclick: add }, `Add ${kind === 'parent' ? 'a track' : 'a stem'}`));
  const values = () => [...rows.querySelectorAll('li')].map((li) => [li.querySelector('input').value.trim(), li.querySelector('select').value])
    .filter(([id]) => id);
  return { box, values };
}

/**
 * The publish page's provenance fieldset. `value()` returns the provenance object (or
 * null when nothing is stated) or throws an Error whose message names the field.
 */
export function provenanceForm() {
  const text = (testid, max) => h('input', { type: 'text', maxlength: String(max), 'data-testid': testid });
  const generator = text('generator', 256);
  const generatorVersion = text('generator-version', 128);
  const generatorUrl = h('input', { type: 'url', maxlength: '2048', placeholder: 'https://…', 'data-testid': 'generator-url' });
  const model = text('model', 256);
  const modelVersion = text('model-version', 128);
  const prompt = h('textarea', { rows: '3', maxlength: '8192', 'data-testid': 'prompt' });
  const negative = h('textarea', { rows: '2', maxlength: '8192', 'data-testid': 'negative-prompt' });
  const seed = h('input', { type: 'text', inputmode: 'numeric', maxlength: '16', 'data-testid': 'seed' });
  const human = HUMAN.map((term) => h('input', { type: 'checkbox', value: term, id: `human-${term}`, 'data-testid': `human-${term}` }));
  for (const box of human) {
    box.addEventListener('change', () => { // "none" stands alone
      if (!box.checked) return;
      for (const other of human) if ((box.value === 'none') !== (other.value === 'none')) other.checked = false;
    });
  }
  const source = h('select', { 'data-testid': 'source-type' },
    h('option', { value: '' }, 'Automatic: from the generator and your part'),
    Object.entries(SOURCE_TYPES).filter(([k]) => k !== 'digitalArt').map(([k, label]) => h('option', { value: k }, `${label} (${k})`)));
  const parents = linkList('parent', 'Derived from (other tracks)', 'osp:track:b…', Object.entries(RELATIONS).map(([k, v]) => [k, v.toLowerCase()]));
  const stems = linkList('stem', 'Stems', 'CID b…', [['', 'role not stated'], ...ROLES.map((r) => [r, r])]);

  const element = h('fieldset', { 'data-testid': 'provenance-form' }, h('legend', {}, 'AI provenance (optional: say how the music was made)'),
    field('generator', 'Generator (tool or service)', generator),
    field('generator-version', 'Generator version', generatorVersion),
    field('generator-url', 'Generator web address', generatorUrl),
    field('model', 'Model', model),
    field('model-version', 'Model version', modelVersion),
    field('prompt', 'Prompt', prompt),
    field('negative-prompt', 'Negative prompt', negative),
    field('seed', 'Seed', seed, 'A whole number, as the generator showed it.'),
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Your part (human contribution)'),
      human.map((box) => h('span', { class: 'check' }, box, h('label', { for: box.id }, box.value)))),
    field('source-type', 'Source type (IPTC)', source),
    parents.box, stems.box);

  function value() {
    const p = {};
    const name = generator.value.trim();
    const version = generatorVersion.value.trim();
    const url = generatorUrl.value.trim();
    if ((version || url) && !name) throw new Error('Generator: give its name too.');
    if (url && !/^https?:\/\/\S+$/.test(url)) throw new Error('Generator web address: an http or https URL.');
    if (name) p.generator = Object.assign({ name }, version ? { version } : {}, url ? { url } : {});
    for (const [key, el] of [['model', model], ['modelVersion', modelVersion], ['prompt', prompt], ['negativePrompt', negative]]) {
      if (el.value.trim()) p[key] = el.value.trim();
    }
    const seedText = seed.value.trim();
    if (seedText) {
      if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(Number(seedText))) throw new Error('Seed: a whole number from 0 to 9007199254740991.');
      p.seed = Number(seedText);
    }
    const terms = human.filter((b) => b.checked).map((b) => b.value);
    if (terms.length) p.humanContribution = terms;
    const linked = parents.values();
    for (const [id] of linked) if (!TRACK_ID.test(id)) throw new Error(`Derived from: ${id.slice(0, 80)} is not a track id (osp:track:b…).`);
    if (new Set(linked.map(([id]) => id)).size !== linked.length) throw new Error('Derived from: a track is listed twice.');
    if (linked.length) p.parents = linked.map(([id, relation]) => ({ id, relation }));
    const stemRows = stems.values();
    for (const [cid] of stemRows) if (!CID.test(cid)) throw new Error(`Stems: ${cid.slice(0, 80)} is not a CID.`);
    if (new Set(stemRows.map(([cid]) => cid)).size !== stemRows.length) throw new Error('Stems: a CID is listed twice.');
    if (stemRows.length) p.stems = stemRows.map(([cid, role]) => (role ? { cid, role } : cid));
    const ai = Boolean(p.generator || p.model);
    const human_ = terms.length > 0 && !(terms.length === 1 && terms[0] === 'none');
    const type = source.value || (ai ? AI_TYPES[human_ ? 1 : 0] : '');
    if (type) p.digitalSourceType = type;
    if (ai || AI_TYPES.includes(type)) p.aiGenerated = true;
    return Object.keys(p).length ? p : null;
  }
  return { element, value };
}

function fact(label, ...value) {
  return [h('dt', {}, label), h('dd', {}, ...value)];
}

function str(v) {
  return typeof v === 'string' && v ? v : null;
}

function generatorText(g) {
  if (typeof g === 'string') return g;
  if (!g || typeof g !== 'object') return null;
  const parts = [str(g.name), str(g.version)].filter(Boolean).join(' ');
  return str(g.url) ? `${parts} (${g.url})` : parts || null;
}

function parentItem(p) {
  const id = typeof p === 'string' ? p : p && typeof p === 'object' ? str(p.id) : null;
  if (!id) return null;
  const relation = p && typeof p === 'object' ? (RELATIONS[p.relation] || String(p.relation)) : 'Derived from (relation not stated)';
  return h('li', { 'data-testid': 'provenance-parent' }, `${relation} `,
    TRACK_ID.test(id) ? h('a', { href: href('track', id), class: 'mono' }, id) : h('code', { class: 'mono' }, id));
}

function stemItem(s) {
  const cid = typeof s === 'string' ? s : s && typeof s === 'object' ? str(s.cid) : null;
  if (!cid) return null;
  const role = s && typeof s === 'object' ? String(s.role) : 'role not stated';
  return h('li', { 'data-testid': 'provenance-stem' }, `${role}: `, h('code', { class: 'mono' }, cid));
}

/** The track page's provenance: a definition list (data-testid=provenance) or a sentence. */
export function provenanceView(p) {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return h('p', {}, 'The artist declared no AI provenance.');
  const ai = p.aiGenerated === true ? 'Yes, as the artist declares' : p.aiGenerated === false ? 'No, as the artist declares' : 'Not stated';
  const type = str(p.digitalSourceType);
  const model = [str(p.model), str(p.modelVersion)].filter(Boolean).join(' ');
  const human = Array.isArray(p.humanContribution) ? p.humanContribution.map(String).join(', ') : str(p.humanContribution);
  const parents = Array.isArray(p.parents) ? p.parents.slice(0, MAX_LINKS).map(parentItem).filter(Boolean) : [];
  const stems = Array.isArray(p.stems) ? p.stems.slice(0, MAX_LINKS).map(stemItem).filter(Boolean) : [];
  const params = p.parameters && typeof p.parameters === 'object' && Object.keys(p.parameters).length
    ? JSON.stringify(p.parameters).slice(0, 4096) : null;
  return h('dl', { class: 'facts', 'data-testid': 'provenance' },
    fact('AI generated', ai),
    type ? fact('Source type', `${SOURCE_TYPES[type] || type} (IPTC: ${type})`) : null,
    generatorText(p.generator) ? fact('Generator', generatorText(p.generator)) : null,
    model ? fact('Model', model) : null,
    str(p.prompt) ? fact('Prompt', p.prompt) : null,
    str(p.negativePrompt) ? fact('Negative prompt', p.negativePrompt) : null,
    Number.isInteger(p.seed) ? fact('Seed', String(p.seed)) : null,
    params ? fact('Parameters', h('code', { class: 'mono' }, params)) : null,
    human ? fact('Human contribution', human) : null,
    parents.length ? fact('Derived from', h('ul', { class: 'plain' }, parents)) : null,
    stems.length ? fact('Stems', h('ul', { class: 'plain' }, stems)) : null);
}
