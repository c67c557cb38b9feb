// An artist page (#/artist/<did>): name, did:key, the local catalog, the network catalog
// (POST /api/search {"artist"}), and follow / unfollow. What the quality gate hides (the
// artist, or one of its tracks: `hidden` {why, by} in GET /api/artists/<did>) is said, and
// such tracks are listed collapsed with the reason, as search results are.
import { del, get, post, seg } from '../api.js';
import { announce, h } from '../dom.js';
import { toItem } from '../tracks.js';
import { copyButton, errorBox, heading, trackCard } from './common.js';
import { streamSearch } from './search.js';
import { flagForm } from './social.js';
import { hiddenResult, hiddenWhy, trustSection } from './trust.js';

export async function artistView(main, { arg: did }) {
  const box = h('p', { role: 'status' }, 'Loading…');
  main.append(heading('Artist'), box);
  let artist;
  try {
    artist = await get(`/api/artists/${seg(did)}`);
  } catch (err) {
    box.replaceWith(errorBox(err, 'Cannot load this artist'));
    return null;
  }
  let following = Boolean(artist.following);
  const follow = h('button', { type: 'button', class: 'primary', 'data-testid': 'follow' });
  const showFollow = () => {
    follow.textContent = following ? 'Unfollow' : 'Follow';
    follow.setAttribute('aria-pressed', String(following));
  };
  follow.addEventListener('click', async () => {
    follow.disabled = true;
    try {
      if (following) await del(`/api/follow/${seg(did)}`);
      else await post('/api/follow', { did });
      following = !following;
      announce(following ? 'Following this artist' : 'No longer following this artist');
    } catch (err) {
      follow.after(errorBox(err, following ? 'Cannot unfollow' : 'Cannot follow'));
    }
    follow.disabled = false;
    showFollow();
  });
  showFollow();
  const tracks = Array.isArray(artist.tracks) ? artist.tracks : [];
  const local = h('ol', { class: 'results', 'aria-label': 'In your library' }, tracks.map((t) => {
    const card = trackCard(toItem(t, true), { tags: (t.record || {}).tags, note: 'in your library' });
    return t.hidden && typeof t.hidden === 'object' ? hiddenResult(card, t.hidden) : card;
  }));
  const hidden = artist.hidden && typeof artist.hidden === 'object'
    ? h('p', { class: 'note hidden-artist', 'data-testid': 'artist-hidden' }, 'Hidden by your quality gate: ', hiddenWhy(artist.hidden))
    : null;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'network-status' });
  const network = h('ol', { class: 'results', 'aria-label': 'On the network', 'data-testid': 'network-catalog' });
  main.querySelector('h1').textContent = artist.name || 'Unnamed artist';
  box.replaceWith(...[  // null parts left out (DOM replaceWith would write "null")
    h('p', { class: 'did' }, h('code', { class: 'mono', 'data-testid': 'did' }, did), ' ', copyButton(did, 'Copy the did:key')),
    hidden,
    h('div', { class: 'actions' }, follow, flagForm(did, 'this artist')),
    trustSection(did, { self: Boolean(artist.self) }),
    h('section', { 'aria-labelledby': 'local-h' }, h('h2', { id: 'local-h' }, 'In your library'),
      tracks.length ? local : h('p', {}, 'None of this artist’s tracks are in your library.')),
    h('section', { 'aria-labelledby': 'net-h' }, h('h2', { id: 'net-h' }, 'On the network'), status, network),
  ].filter((part) => part !== null));
  const run = streamSearch({ artist: did }, network, status, new Set(tracks.map((t) => String(t.id))));
  return run.abort;
}
