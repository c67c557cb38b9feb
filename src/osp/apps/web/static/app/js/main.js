// The app's entry: header (node status, nav), the router, the player bar.
import { get } from './api.js';
import { h, plural, replace, shortDid } from './dom.js';
import { player } from './player.js';
import { mountPlayerBar } from './playerbar.js';
import { startRouter } from './router.js';
import { artistView } from './views/artist.js';
import { followingView } from './views/following.js';
import { watchPlays } from './views/foryou.js';
import { libraryView } from './views/library.js';
import { playlistsView, playlistView } from './views/playlists.js';
import { publishView } from './views/publish.js';
import { queueView } from './views/queueview.js';
import { searchView } from './views/search.js';
import { settingsView } from './views/trust.js';
import { trackView } from './views/track.js';
import { transfersView } from './views/transfers.js';

const ROUTES = {
  search: searchView,
  track: trackView,
  artist: artistView,
  library: libraryView,
  following: followingView,
  transfers: transfersView,
  playlists: playlistsView,
  playlist: playlistView,
  queue: queueView,
  publish: publishView,
  settings: settingsView,
};

const TITLES = {
  search: 'Search', track: 'Track', artist: 'Artist', library: 'Library', following: 'Following',
  transfers: 'Transfers', playlists: 'Playlists', playlist: 'Playlist', queue: 'Queue', publish: 'Publish', settings: 'Settings',
};

const NAV_ROUTE = { track: null, artist: null, playlist: 'playlists' };

function setupNav() {
  const toggle = document.querySelector('.menu-toggle');
  const nav = document.getElementById('nav');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    nav.classList.toggle('open', open);
  });
  nav.addEventListener('click', (e) => {
    if (e.target instanceof HTMLAnchorElement) {
      toggle.setAttribute('aria-expanded', 'false');
      nav.classList.remove('open');
    }
  });
}

function onRoute(route) {
  const active = route.name in NAV_ROUTE ? NAV_ROUTE[route.name] : route.name;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${TITLES[route.name] || 'OpenSound'} – OpenSound`;
}

async function showNode() {
  const el = document.getElementById('node-status');
  try {
    const info = await get('/api/node');
    const did = info.did ? String(info.did) : '';
    replace(el,
      h('span', { class: 'dot ok', 'aria-hidden': 'true' }),
      'Node online · ',
      plural(Number(info.tracks) || 0, 'track'),
      did ? [' · ', h('a', { href: `#/artist/${encodeURIComponent(did)}`, title: did, class: 'mono' }, shortDid(did))] : null);
  } catch (err) {
    replace(el, h('span', { class: 'dot bad', 'aria-hidden': 'true' }), `Node: ${err.message}`);
  }
}

document.addEventListener('osp:unauthorized', () => {
  if (document.getElementById('session-ended')) return;
  document.body.prepend(h('div', { class: 'banner', role: 'alert', id: 'session-ended' },
    'Your session ended: run ', h('code', {}, 'osp ui'), ' to open the app again.'));
});

document.body.append(h('div', { id: 'announcer', class: 'visually-hidden', role: 'status', 'aria-live': 'polite' }));
setupNav();
mountPlayerBar(document.getElementById('player'));
watchPlays(player);
showNode();
setInterval(showNode, 30000);
document.addEventListener('osp:library-changed', showNode);
startRouter(document.getElementById('main'), ROUTES, 'search', onRoute);
