// Publish (#/publish): drop or choose audio files, describe them (title, license, tags,
// AI provenance), upload each (POST /api/upload, progress), then publish them all
// (POST /api/publish, NDJSON progress) and show each new track's id and share link.
import { ndjson, upload } from '../api.js';
import { fmtBytes, h, replace } from '../dom.js';
import { href } from '../router.js';
import { copyButton, errorBox, heading } from './common.js';
import { provenanceForm } from './provenance.js';
import { checkPublished } from './duplicates.js';

const LICENSES = ['CC0-1.0', 'CC-BY-4.0', 'CC-BY-SA-4.0', 'CC-BY-NC-4.0', 'CC-BY-NC-SA-4.0', 'CC-BY-ND-4.0', 'CC-BY-NC-ND-4.0'];

function field(id, label, control, hint) {
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

function tagsOf(text) {
  return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))].slice(0, 32);
}

// "name: why"; the node's message often starts with the file's name already.
function refusal(r) {
  const name = String(r.file || '').split('/').pop();
  const why = String(r.message || r.error || 'refused');
  return !name || why.startsWith(`${name}:`) ? why : `${name}: ${why}`;
}

export function publishView(main) {
  let files = [];
  const input = h('input', { type: 'file', id: 'files', multiple: true, accept: 'audio/*,.ogg,.opus,.flac,.mp3,.wav,.m4a', 'data-testid': 'file-input', class: 'visually-hidden file-input' });
  const chosen = h('ul', { class: 'plain chosen', 'data-testid': 'chosen-files', 'aria-label': 'Chosen files' });
  const zone = h('div', { class: 'dropzone', 'data-testid': 'dropzone' },
    h('p', {}, 'Drop audio files here, or'),
    h('label', { for: 'files', class: 'button' }, 'Choose files…'), input, chosen);
  const title = h('input', { type: 'text', maxlength: '512', 'data-testid': 'title' });
  const artistName = h('input', { type: 'text', maxlength: '256', autocomplete: 'name', 'data-testid': 'artist-name' });
  const license = h('select', { 'data-testid': 'license' }, LICENSES.map((l) => h('option', { value: l }, l)));
  const tags = h('input', { type: 'text', 'data-testid': 'tags' });
  const provenanceFields = provenanceForm();
  const uploadBar = h('progress', { max: '1', value: '0', id: 'upload-progress', 'data-testid': 'upload-progress' });
  const publishBar = h('progress', { max: '1', value: '0', id: 'publish-progress', 'data-testid': 'publish-progress' });
  const status = h('p', { role: 'status', 'aria-live': 'polite', 'data-testid': 'publish-status' });
  const results = h('div', { 'data-testid': 'publish-results' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'publish' }, 'Publish');
  const titleHint = 'Optional: when empty, each file’s own title tag (or its file name) is used.';

  function setFiles(list) {
    const all = [...list];
    files = all.filter((f) => f.size > 0);
    const empty = all.filter((f) => f.size === 0).map((f) => f.name);
    replace(chosen, files.map((f) => h('li', {}, `${f.name} (${fmtBytes(f.size)})`)));
    status.textContent = [
      files.length ? `${files.length} file${files.length === 1 ? '' : 's'} ready.` : '',
      empty.length ? `Left out (empty): ${empty.join(', ')}.` : '',
    ].filter(Boolean).join(' ');
  }
  input.addEventListener('change', () => setFiles(input.files));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer && e.dataTransfer.files.length) setFiles(e.dataTransfer.files);
  });

  async function run(e) {
    e.preventDefault();
    if (!files.length) {
      status.textContent = 'Choose or drop at least one file first.';
      return;
    }
    let provenance;
    try {
      provenance = provenanceFields.value();
    } catch (err) {
      status.textContent = err.message; // checked before anything is uploaded
      return;
    }
    submit.disabled = true;
    results.replaceChildren();
    const total = files.reduce((n, f) => n + f.size, 0);
    let sent = 0;
    const ids = [];
    try {
      for (const f of files) {
        status.textContent = `Uploading ${f.name}…`;
        const answer = await upload(f, (loaded) => { uploadBar.value = total ? (sent + loaded) / total : 1; });
        sent += f.size;
        ids.push(String(answer.upload));
      }
      uploadBar.value = 1;
      status.textContent = 'Publishing: hashing, signing, seeding…';
      const body = { uploads: ids, license: license.value, tags: tagsOf(tags.value) };
      if (title.value.trim()) body.title = title.value.trim();
      if (artistName.value.trim()) body.artistName = artistName.value.trim();
      if (provenance) body.provenance = provenance;
      const done = new Map();
      let answer = null;
      await ndjson('/api/publish', body, (line) => {
        if (line.file !== undefined && line.done !== undefined) {
          done.set(line.file, Number(line.done) || 0);
          const hashed = [...done.values()].reduce((a, b) => a + b, 0);
          publishBar.value = total ? Math.min(1, hashed / total) : 0;
        } else if (line.tracks || line.refused) {
          answer = line;
        }
      });
      publishBar.value = 1;
      showAnswer(answer || { tracks: [], refused: [] });
    } catch (err) {
      status.textContent = 'Publishing failed.';
      results.append(errorBox(err, 'Publishing failed'));
    } finally {
      submit.disabled = false;
    }
  }

  function showAnswer(answer) {
    const tracks = answer.tracks || [];
    const refused = answer.refused || [];
    status.textContent = `Published ${tracks.length} track${tracks.length === 1 ? '' : 's'}${refused.length ? `, ${refused.length} refused` : ''}.`;
    replace(results,
      tracks.length ? h('ul', { class: 'results', 'aria-label': 'Published tracks' }, tracks.map((t) => h('li', { class: 'card', 'data-testid': 'published' },
        h('div', { class: 'card-main' },
          h('a', { href: href('track', t.id), class: 'title', 'data-testid': 'published-link' }, String(t.title || t.id)),
          h('code', { class: 'mono', 'data-testid': 'published-id' }, String(t.id)),
          t.created === false ? h('span', { class: 'note' }, 'already published (same bytes, same record)') : null,
          t.share ? h('p', {}, 'Share link: ', h('a', { href: t.share, class: 'mono', 'data-testid': 'published-share' }, String(t.share)), ' ',
            copyButton(String(t.share), `Copy the share link of ${t.title || t.id}`)) : null)))) : null,
      refused.length ? h('ul', { class: 'plain', 'aria-label': 'Refused files' }, refused.map((r) => h('li', { class: 'error', 'data-testid': 'refused' },
        refusal(r)))) : null);
    if (tracks.length) document.dispatchEvent(new Event('osp:library-changed'));
    checkPublished(tracks, results); // the fingerprint runs after the publish returned: warnings follow
  }

  main.append(heading('Publish'), h('form', { class: 'publish', onsubmit: run },
    zone,
    field('title', 'Title', title, titleHint),
    field('artist-name', 'Artist name', artistName, 'Optional: the name listeners see next to your did:key.'),
    field('license', 'License', license),
    field('tags', 'Tags', tags, 'Comma separated, e.g. ambient, piano'),
    provenanceFields.element,
    h('div', { class: 'field' }, h('label', { for: 'upload-progress' }, 'Upload'), uploadBar),
    h('div', { class: 'field' }, h('label', { for: 'publish-progress' }, 'Publishing'), publishBar),
    h('div', { class: 'actions' }, submit),
    status),
  results);
}
