// Audio analysis in the app (issue 10): the "Sound" section of a track page (tempo, key,
// loudness, true peak, measured on this node) and the search page's BPM and key filters.
// Its "More like this" list is a section of its own (views/foryou.js).
import { h } from '../dom.js';

function fact(label, value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function num(x, digits) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';
}

/** "124 BPM · A minor" for a result card, or null when the result was not analysed here. */
export function analysisNote(analysis) {
  if (!analysis || analysis.error || typeof analysis.bpm !== 'number') return null;
  return `${Math.round(analysis.bpm)} BPM · ${String(analysis.key || '?')}`;
}

/** The "Sound" section of a track page, from GET /api/tracks/<id>'s `analysis`. */
export function analysisSection(summary) {
  const a = summary.analysis;
  let body;
  if (!a) {
    body = h('p', { 'data-testid': 'analysis' }, summary.origin
      ? 'Not analysed yet: this node measures every track in the background.'
      : 'Measured once the track is in your library.');
  } else if (a.error) {
    body = h('p', { 'data-testid': 'analysis' }, `This node could not analyse the audio: ${String(a.error)}`);
  } else {
    const sure = typeof a.keyConfidence === 'number' && a.keyConfidence < 0.05 ? ' (uncertain)' : '';
    body = [
      h('dl', { class: 'facts', 'data-testid': 'analysis' },
        fact('Tempo', `${num(a.bpm, 1)} BPM`),
        fact('Key', `${String(a.key || '–')}${sure}`),
        fact('Loudness', `${num(a.loudness, 1)} LUFS (integrated, EBU R128)`),
        fact('True peak', `${num(a.truePeak, 1)} dBTP`)),
    ]; // "More like this" is a section of its own (views/foryou.js)
  }
  return h('section', { 'aria-labelledby': 'sound-h' }, h('h2', { id: 'sound-h' }, 'Sound'), body);
}

/**
 * The search form's BPM range and key inputs, filled from the page's `params`; `values()`
 * gives the request's {bpm, key} members (only those filled in).
 */
export function audioFilters(params) {
  const bpm = h('input', { type: 'text', id: 'search-bpm', name: 'bpm', value: params.get('bpm') || '',
    placeholder: '120-130', inputmode: 'decimal', autocomplete: 'off', size: 9, 'data-testid': 'search-bpm' });
  const key = h('input', { type: 'text', id: 'search-key', name: 'key', value: params.get('key') || '',
    placeholder: 'A minor', autocomplete: 'off', size: 9, 'data-testid': 'search-key' });
  const fields = h('div', { class: 'row audio-filters' },
    h('label', { for: 'search-bpm' }, 'BPM'), bpm, h('label', { for: 'search-key' }, 'Key'), key);
  const values = () => {
    const out = {};
    if (bpm.value.trim()) out.bpm = bpm.value.trim();
    if (key.value.trim()) out.key = key.value.trim();
    return out;
  };
  return { fields, values };
}
