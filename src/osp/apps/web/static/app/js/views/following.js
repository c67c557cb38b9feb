// Following (#/following): the artists this node follows (spec §9 feeds), each with its
// trust; one the quality gate hides (GET /api/following `hidden`: {why, by}) is listed
// collapsed with the reason, as search results are, and can still be unfollowed.
import { del, get, seg } from '../api.js';
import { announce, h, shortDid } from '../dom.js';
import { href } from '../router.js';
import { errorBox, heading } from './common.js';
import { hiddenDetails, trustText } from './trust.js';

export async function followingView(main) {
  main.append(heading('Following'));
  const status = h('p', { role: 'status' }, 'Loading…');
  main.append(status);
  let list;
  try {
    ({ following: list } = await get('/api/following'));
  } catch (err) {
    status.replaceWith(errorBox(err, 'Cannot load the artists you follow'));
    return;
  }
  if (!list.length) {
    status.textContent = 'You follow nobody yet: open an artist page and press Follow.';
    return;
  }
  status.textContent = `${list.length} artist${list.length === 1 ? '' : 's'}`;
  main.append(h('ul', { class: 'results', 'data-testid': 'following' }, list.map((f) => {
    const did = String(f.did);
    const li = h('li', { class: 'card' });
    const checked = f.checkedAt ? new Date(Number(f.checkedAt) * 1000).toLocaleString() : 'not yet';
    const unfollow = h('button', { type: 'button', 'aria-label': `Unfollow ${shortDid(did)}`, onclick: async () => {
      try {
        await del(`/api/follow/${seg(did)}`);
        li.remove();
        announce('Unfollowed');
      } catch (err) {
        unfollow.after(errorBox(err, 'Cannot unfollow'));
      }
    } }, 'Unfollow');
    const trust = 'trust' in f ? ` · trust ${trustText(f.trust)}` : '';
    const main = h('div', { class: 'card-main' },
      h('a', { href: href('artist', did), class: 'title mono', title: did }, shortDid(did)),
      h('span', { class: 'note' }, `${Number(f.tracks) || 0} tracks · checked ${checked}${trust}`),
      f.error ? h('span', { class: 'error' }, `last check failed: ${typeof f.error === 'string' ? f.error : f.error.message || ''}`) : null);
    li.append(f.hidden && typeof f.hidden === 'object' ? hiddenDetails(f.hidden, main) : main, h('div', { class: 'actions' }, unfollow));
    return li;
  })));
}
