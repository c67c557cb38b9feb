// Recommendations in the app (issue 11): the library page's "For you" section
// (GET /api/recommend?limit=N -> {tracks: [{id, title, artist, artistName, score, why}],
// coldStart, message}: message says what to do when tracks is empty), the track page's "More like this" (GET /api/tracks/<id>/more-like-this,
// collaborative filtering blended with audio similarity; on a node without it, the audio
// similarity of issue 10, GET /api/tracks/<id>/similar), and the player's listening
// reports (POST /api/plays {track, seconds}: private, kept on this node, never published).
import { get, post, seg } from '../api.js';
import { h, replace } from '../dom.js';
import { href } from '../router.js';
import { toItem } from '../tracks.js';
import { analysisNote } from './analysis.js';
import { errorBox, trackCard } from './common.js';
import { notAvailable } from './trust.js';

const FOR_YOU = 12; // tracks in "For you"
const MORE = 8; // tracks in "More like this"
const PLAY_AFTER_S = 30; // a play counts after this much listening (or at the end)
const MAX_STEP_S = 2; // a larger jump between two timeupdates is a seek, not listening

function whyText(why) {
  if (typeof why === 'string') return why;
  if (Array.isArray(why)) return why.filter((w) => typeof w === 'string').slice(0, 3).join(' · ');
  return '';
}

/** A recommended track as a card: its "why" as the note. Not known to be local: playing fetches it. */
function recommendedCard(t) {
  const local = t.local === true || (Array.isArray(t.holders) && t.holders.includes('local'));
  return trackCard(toItem(t, local), { tags: (t.record || {}).tags, note: whyText(t.why) || null });
}

/** The library page's "For you" section (loads itself; says so when the node has no recommender). */
export function forYouSection() {
  const status = h('p', { class: 'status', role: 'status', 'data-testid': 'foryou-status' }, 'Finding tracks for you…');
  const list = h('ol', { class: 'results', 'data-testid': 'foryou', 'aria-label': 'For you' });
  const section = h('section', { 'aria-labelledby': 'foryou-h' }, h('h2', { id: 'foryou-h' }, 'For you'), status, list);
  get(`/api/recommend?limit=${FOR_YOU}`).then((answer) => {
    const tracks = (Array.isArray(answer.tracks) ? answer.tracks : []).filter((t) => t && typeof t.id === 'string');
    if (!tracks.length) { // the node says what to do (GET /api/recommend's message), as text
      status.textContent = typeof answer.message === 'string' && answer.message
        ? answer.message.slice(0, 300)
        : 'Nothing to recommend yet: like or play a few tracks, or follow an artist.';
      return;
    }
    status.textContent = answer.coldStart
      ? 'You have not liked, played or followed anything yet: these are what people here like most, those you trust first. Computed on your node.'
      : 'From your likes, follows and listening, computed on your node (your listening stays private).';
    replace(list, tracks.map(recommendedCard));
  }).catch((err) => {
    if (notAvailable(err)) section.remove();
    else status.replaceWith(errorBox(err, 'Cannot recommend'));
  });
  return section;
}

function similarFallback(trackId, status, list) {
  get(`/api/tracks/${seg(trackId)}/similar?limit=${MORE}`).then((answer) => {
    const similar = Array.isArray(answer.similar) ? answer.similar : [];
    status.textContent = similar.length ? 'Tracks in your library that sound alike.' : 'No other track in your library has been analysed yet.';
    replace(list, similar.map((s) => {
      const note = analysisNote(s.analysis);
      const alike = typeof s.similarity === 'number' ? ` · ${Math.round(100 * s.similarity)} % alike` : '';
      return h('li', {}, h('a', { href: href('track', String(s.id)) }, String(s.title || s.id)),
        ` by ${String(s.artistName || 'unknown artist')}`, h('span', { class: 'note' }, `${alike}${note ? ` · ${note}` : ''}`));
    }));
  }).catch((err) => status.replaceWith(errorBox(err, 'Cannot find similar tracks')));
}

/**
 * The track page's "More like this" section for a track in the library (`summary`: GET
 * /api/tracks/<id>); one link per item: the track. The audio similarity fallback is asked
 * only for an analysed track (another would answer 404).
 */
export function moreLikeThisSection(summary) {
  const trackId = String(summary.id);
  const analysed = Boolean(summary.analysis && !summary.analysis.error);
  const nothing = 'Nothing like it known here yet.';
  const status = h('p', { class: 'status', role: 'status' }, 'Looking for more like this…');
  const list = h('ol', { class: 'plain', 'data-testid': 'similar' });
  get(`/api/tracks/${seg(trackId)}/more-like-this?limit=${MORE}`).then((answer) => {
    const tracks = (Array.isArray(answer.tracks) ? answer.tracks : Array.isArray(answer.similar) ? answer.similar : [])
      .filter((t) => t && typeof t.id === 'string' && t.id !== trackId);
    if (!tracks.length) { // nothing from the listening signals yet: how it sounds alone
      if (analysed) similarFallback(trackId, status, list);
      else status.textContent = nothing;
      return;
    }
    status.textContent = 'From what listeners you trust play together, and how it sounds.';
    replace(list, tracks.map((t) => h('li', {},
      h('a', { href: href('track', t.id) }, String(t.title || t.id)),
      ` by ${String(t.artistName || 'unknown artist')}`,
      whyText(t.why) ? h('span', { class: 'note' }, ` · ${whyText(t.why)}`) : null)));
  }).catch((err) => {
    if (notAvailable(err) && analysed) similarFallback(trackId, status, list);
    else if (err.status === 404) status.textContent = nothing;
    else status.replaceWith(errorBox(err, 'Cannot find more like this'));
  });
  return h('section', { 'aria-labelledby': 'more-h' }, h('h2', { id: 'more-h' }, 'More like this'), status, list);
}

/**
 * Report listening to the node: once per loaded track, after PLAY_AFTER_S seconds actually
 * heard (seeks do not count) or when it ends, POST /api/plays {track, seconds}. A failed
 * report is dropped (listening history is a hint, never worth an error).
 */
export function watchPlays(player) {
  const a = player.audio;
  let item = null; // the track being heard (captured: at the end the player moves on at once)
  let heard = 0;
  let last = null;
  let reported = false;
  const report = () => {
    if (reported || !item || heard < 1) return;
    reported = true;
    post('/api/plays', { track: item.id, seconds: Math.round(heard) }).catch(() => {});
  };
  player.addEventListener('track', () => {
    item = player.item;
    heard = 0;
    last = null;
    reported = false;
  });
  a.addEventListener('timeupdate', () => {
    const t = a.currentTime;
    if (last !== null && t > last && t - last <= MAX_STEP_S) heard += t - last;
    last = t;
    // the last timeupdate comes before "ended", whose handler already loads the next track
    if (heard >= PLAY_AFTER_S || (Number.isFinite(a.duration) && t >= a.duration - 0.5)) report();
  });
  a.addEventListener('seeking', () => { last = null; });
  a.addEventListener('pause', () => { last = null; });
  a.addEventListener('ended', report);
}
