// The library (#/library): every track of this node, with play, queue and remove.
import { get, post } from '../api.js';
import { announce, fmtTime, h } from '../dom.js';
import { href } from '../router.js';
import { toItem } from '../tracks.js';
import { artistLink, errorBox, heading, trackActions } from './common.js';
import { artworkImg } from './artwork.js';
import { c2paListMark } from './credentials.js';
import { forYouSection } from './foryou.js';

function removeButton(item, row) {
  const button = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${item.title}`, 'data-testid': 'remove' }, 'Remove');
  let armed = false;
  button.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      button.textContent = 'Confirm remove';
      button.setAttribute('aria-label', `Confirm remove: ${item.title} (from this node)`);
      setTimeout(() => {
        armed = false;
        button.textContent = 'Remove';
        button.setAttribute('aria-label', `Remove ${item.title}`);
      }, 5000);
      return;
    }
    button.disabled = true;
    try {
      await post('/api/remove', { track: item.id });
      row.remove();
      announce(`${item.title} removed`);
    } catch (err) {
      button.after(errorBox(err, 'Cannot remove'));
      button.disabled = false;
    }
  });
  return button;
}

export async function libraryView(main) {
  main.append(heading('Library'));
  const status = h('p', { role: 'status' }, 'Loading…');
  main.append(status);
  let tracks;
  try {
    ({ tracks } = await get('/api/tracks'));
  } catch (err) {
    status.replaceWith(errorBox(err, 'Cannot load the library'));
    return;
  }
  if (!tracks.length) {
    status.replaceWith(h('p', {}, 'Your library is empty: ', h('a', { href: href('publish') }, 'publish'), ' or ', h('a', { href: href('search') }, 'search'), '.'));
    return;
  }
  status.textContent = `${tracks.length} track${tracks.length === 1 ? '' : 's'}`;
  const body = h('tbody');
  for (const t of tracks) {
    const item = toItem(t, true);
    const row = h('tr', { dataset: { id: item.id } });
    row.append(
      h('th', { scope: 'row' }, artworkImg(t, 'small'), h('a', { href: href('track', item.id) }, item.title)),
      h('td', { 'data-label': 'Artist' }, artistLink(item)),
      h('td', { class: 'num', 'data-label': 'Duration' }, fmtTime(item.duration)),
      h('td', { 'data-label': 'Origin' }, t.origin === 'published' ? 'published' : 'fetched', c2paListMark(t)),
      h('td', { 'data-label': 'File' }, String(t.file || '')),
      h('td', {}, trackActions(item, { playlist: false }), removeButton(item, row)));
    body.append(row);
  }
  main.append(forYouSection());
  main.append(h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Library tracks' },
    h('table', { 'data-testid': 'library' },
      h('thead', {}, h('tr', {}, ['Title', 'Artist', 'Duration', 'Origin', 'File', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      body)));
}
