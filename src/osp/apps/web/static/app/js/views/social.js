// The social layer on a track page (issue 11, spec §10): likes, flags with a reason, and
// comments listed at their time offset (each with a "Jump to m:ss" button that seeks the
// player), with replies. Read from GET /api/tracks/<id>/social[?lookup=S] ({comments,
// likes, trustedLikes?, liked, flags, hidden, more?: {comments, flags}}: the node shows at
// most 500 comments and 200 flags, the listener's own and trusted ones first, and counts
// the rest: "N more not shown (lowest trust)"); written with POST /api/social (records
// signed by this node's key); the Like button toggles: a second press retracts the like
// (DELETE /api/tracks/<id>/like: a signed Tombstone). What the quality gate hid stays
// listed, collapsed, with the reason.
import { del, get, post, seg } from '../api.js';
import { announce, fmtTime, h, replace, shortDid } from '../dom.js';
import { player } from '../player.js';
import { href } from '../router.js';
import { errorBox } from './common.js';
import { hiddenDetails, notAvailable, trustText } from './trust.js';

/** The flag reasons of spec §10 (osp:Flag `reason`) and how the app words them. */
export const FLAG_REASONS = [
  ['spam', 'Spam'],
  ['impersonation', 'Impersonation: pretends to be someone else'],
  ['not-ai', 'Not AI: its AI provenance is false'],
  ['malicious', 'Malicious: harmful content or files'],
  ['duplicate', 'Duplicate: a re-upload of another track'],
];
const LOOKUP_S = 5; // seconds the node may spend asking the network
const MAX_TEXT = 2000; // characters of a comment (spec §10)
const MAX_FLAG_TEXT = 1000;

const str = (x) => (typeof x === 'string' ? x : '');
const offset = (c) => (typeof c.at === 'number' && Number.isFinite(c.at) && c.at >= 0 ? c.at : null);

/** What a network lookup reached ({dht, asked, answered} of GET …/social?lookup), in words; '' if unknown. */
function lookupText(report) {
  if (!report || typeof report !== 'object') return '';
  const asked = count0(report.asked) ?? 0;
  const answered = count0(report.answered) ?? 0;
  if (report.dht === 'off') return 'this node does not use the DHT: no network lookup';
  if (report.dht === 'unreachable') return 'no peers answered: the DHT is unreachable';
  if (!asked) return 'no peer on the network holds comments on this track';
  if (!answered) return `none of the ${asked} peer${asked === 1 ? '' : 's'} asked answered`;
  return `${answered} of ${asked} peer${asked === 1 ? '' : 's'} asked answered`;
}

/** An item's author: a link to the artist page, the short did always shown; authorName (the author's
 * own claim, from their newest Track Record) in quotes beside it, never in its place. */
function authorLink(x) {
  const did = str(x.author);
  const name = str(x.authorName);
  return h('a', { href: href('artist', did), class: 'author', title: did }, name ? `“${name}” ${shortDid(did)}` : shortDid(did));
}

function when(created) {
  const t = Date.parse(str(created));
  return Number.isFinite(t) ? h('time', { datetime: str(created) }, new Date(t).toLocaleString()) : null;
}

/**
 * Comments as a tree: top-level ones sorted by time offset (those without one after, by
 * date), each reply under the comment it answers (by date); a reply whose parent is not
 * known here is shown at the top level.
 */
export function threads(comments) {
  const byId = new Map(comments.map((c) => [str(c.id), c]));
  const children = new Map();
  const roots = [];
  for (const c of comments) {
    const parent = str(c.replyTo);
    if (parent && byId.has(parent) && parent !== str(c.id)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(c);
    } else {
      roots.push(c);
    }
  }
  const byDate = (a, b) => str(a.created).localeCompare(str(b.created));
  roots.sort((a, b) => {
    const x = offset(a);
    const y = offset(b);
    if (x !== null && y !== null && x !== y) return x - y;
    if ((x === null) !== (y === null)) return x === null ? 1 : -1;
    return byDate(a, b);
  });
  for (const list of children.values()) list.sort(byDate);
  return { roots, children };
}

/** Seek the player to `at` seconds of `item`, loading the track first when another one plays. */
async function jump(item, at) {
  if (!player.item || player.item.id !== item.id) await player.playNow(item);
  player.seek(at);
  if (player.audio.paused) player.play();
  announce(`Playing from ${fmtTime(at)}`);
}

function trustNote(x) {
  return h('span', { class: 'note trust', title: 'Trust, computed on this node' }, `trust ${trustText(x.trust)}`);
}

/** The comment form: text, "at the current time" (when this track is the player's), and a reply target. */
function commentForm(item, { replyTo = null, onDone }) {
  const idBase = replyTo ? `reply-${replyTo.slice(-8)}` : 'comment';
  const text = h('textarea', { id: `${idBase}-text`, rows: '3', maxlength: String(MAX_TEXT), required: true, 'data-testid': replyTo ? 'reply-text' : 'comment-text' });
  const time = h('span', { class: 'num' });
  const at = h('input', { type: 'checkbox', id: `${idBase}-at`, 'data-testid': 'comment-at' });
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const mine = () => Boolean(player.item && player.item.id === item.id);
  let shown = false;
  const showTime = () => {
    if (form.isConnected) {
      shown = true;
    } else if (shown) { // the page moved on (or the reply closed): stop listening
      player.audio.removeEventListener('timeupdate', showTime);
      player.removeEventListener('track', showTime);
      return;
    }
    at.disabled = !mine();
    if (at.disabled) at.checked = false;
    time.textContent = mine() ? `(${fmtTime(player.audio.currentTime)})` : '(play this track first)';
  };
  const button = h('button', { type: 'submit', class: 'primary', 'data-testid': replyTo ? 'reply-submit' : 'comment-submit' }, replyTo ? 'Reply' : 'Comment');
  const form = h('form', { class: 'comment-form', 'data-testid': replyTo ? 'reply-form' : 'comment-form', onsubmit: async (e) => {
    e.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    const fields = { kind: 'comment', subject: item.id, text: body };
    if (replyTo) fields.replyTo = replyTo;
    if (at.checked && mine()) fields.at = Math.floor(player.audio.currentTime);
    button.disabled = true;
    try {
      await post('/api/social', fields);
      text.value = '';
      at.checked = false;
      announce(replyTo ? 'Reply posted' : 'Comment posted');
      onDone();
    } catch (err) {
      status.textContent = `Not posted: ${err.message}`;
    }
    button.disabled = false;
  } },
  h('label', { for: `${idBase}-text` }, replyTo ? 'Your reply' : 'Add a comment (signed with your key, public)'), text,
  replyTo ? null : h('div', { class: 'check' }, at, h('label', { for: `${idBase}-at` }, 'At the current time ', time)),
  h('div', { class: 'actions' }, button), status);
  player.audio.addEventListener('timeupdate', showTime);
  player.addEventListener('track', showTime);
  showTime();
  return form;
}

const MAX_NEST = 6; // reply levels drawn nested; deeper replies are listed flat at the last level

/** Every reply below comment `id`, breadth-first, without recursion (a peer's chain may be thousands deep). */
function descendants(id, children) {
  const out = [...(children.get(id) || [])];
  for (let i = 0; i < out.length; i += 1) out.push(...(children.get(str(out[i].id)) || []));
  return out;
}

function commentItem(c, ctx, children, depth = 0) {
  const at = offset(c);
  const flat = depth + 1 >= MAX_NEST;
  const replies = flat ? descendants(str(c.id), children) : children.get(str(c.id)) || [];
  const replyBox = h('div', { class: 'reply-box' });
  const replyButton = h('button', { type: 'button', class: 'small', 'aria-expanded': 'false', 'data-testid': 'reply',
    'aria-label': `Reply to ${str(c.authorName) || shortDid(c.author)}`, onclick: () => {
      const open = replyButton.getAttribute('aria-expanded') !== 'true';
      replyButton.setAttribute('aria-expanded', String(open));
      if (open) {
        replace(replyBox, commentForm(ctx.item, { replyTo: str(c.id), onDone: ctx.reload }));
        replyBox.querySelector('textarea').focus();
      } else {
        replyBox.replaceChildren();
      }
    } }, 'Reply');
  const body = [
    h('p', { class: 'meta' },
      at !== null ? h('button', { type: 'button', class: 'small jump', 'data-testid': 'jump', dataset: { at: String(at) },
        onclick: () => jump(ctx.item, at) }, `Jump to ${fmtTime(at)}`) : null,
      ' ', authorLink(c), ' · ', trustNote(c), ' · ', when(c.created),
      depth === 0 && str(c.replyTo) ? h('span', { class: 'note', 'data-testid': 'orphan-reply' }, ' · a reply to a comment this node does not hold') : null),
    h('p', { class: 'comment-text', 'data-testid': 'comment-body' }, str(c.text)),
    h('div', { class: 'actions' }, replyButton), replyBox,
    replies.length ? h('ol', { class: 'comments replies', 'aria-label': 'Replies' }, replies.map((r) => commentItem(r, ctx, flat ? new Map() : children, depth + 1))) : null,
  ];
  return h('li', { class: 'comment', dataset: { id: str(c.id) }, 'data-testid': 'comment' },
    c.hidden ? hiddenDetails(c.hidden, ...body) : body);
}

function flagItem(f) {
  const reason = FLAG_REASONS.find(([code]) => code === f.reason);
  const body = [h('span', { class: 'reason' }, reason ? reason[1] : str(f.reason)), ' — by ', authorLink(f), ' · ', trustNote(f),
    str(f.text) ? h('span', { class: 'flag-text' }, `: ${str(f.text)}`) : null];
  return h('li', { 'data-testid': 'flag-item' }, f.hidden ? hiddenDetails(f.hidden, ...body) : body);
}

/**
 * A flag form for `subject` (a track id or a did:key): the five reasons, an optional text
 * (and the original's id for "duplicate"); the first press asks to confirm, the second signs.
 */
export function flagForm(subject, what, onDone = () => {}) {
  const name = `flag-${Math.random().toString(36).slice(2, 8)}`;
  const radios = FLAG_REASONS.map(([code, label], i) => {
    const input = h('input', { type: 'radio', name, id: `${name}-${code}`, value: code, checked: i === 0, dataset: { reason: code } });
    return h('div', { class: 'check' }, input, h('label', { for: `${name}-${code}` }, label));
  });
  const text = h('textarea', { id: `${name}-text`, rows: '2', maxlength: String(MAX_FLAG_TEXT), 'data-testid': 'flag-text' });
  const dup = h('input', { type: 'text', id: `${name}-dup`, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'flag-duplicate-of' });
  const dupField = h('div', { class: 'field', hidden: true }, h('label', { for: `${name}-dup` }, 'Track id of the original (optional)'), dup);
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'flag-status' });
  const button = h('button', { type: 'submit', class: 'danger', 'data-testid': 'flag-submit' }, `Flag ${what}`);
  let armed = '';
  const reason = () => (form.querySelector(`input[name="${name}"]:checked`) || {}).value || 'spam';
  const disarm = () => {
    armed = '';
    button.textContent = `Flag ${what}`;
  };
  const form = h('form', { class: 'flag-form', onchange: (e) => {
    if (e.target.type !== 'radio') return; // another reason must be confirmed anew
    dupField.hidden = reason() !== 'duplicate';
    disarm();
  }, onsubmit: async (e) => {
    e.preventDefault();
    const r = reason();
    if (armed !== r) {
      armed = r;
      button.textContent = `Confirm: flag ${what} as ${r}`;
      status.textContent = 'Press again to sign and publish this flag.';
      return;
    }
    const fields = { kind: 'flag', subject, reason: r };
    if (text.value.trim()) fields.text = text.value.trim();
    if (r === 'duplicate' && dup.value.trim()) fields.duplicateOf = dup.value.trim();
    button.disabled = true;
    try {
      await post('/api/social', fields);
      status.textContent = `Flagged as ${r}.`;
      text.value = '';
      announce(`Flagged as ${r}`);
      onDone();
    } catch (err) {
      status.textContent = `Not flagged: ${err.message}`;
    }
    disarm();
    button.disabled = false;
  } },
  h('fieldset', {}, h('legend', {}, `Why flag ${what}?`), radios),
  h('div', { class: 'field' }, h('label', { for: `${name}-text` }, 'Details (optional)'), text), dupField,
  h('div', { class: 'actions' }, button), status);
  return h('details', { class: 'flag' }, h('summary', { 'data-testid': 'flag' }, 'Flag'), form);
}

/** A count from the API: a non-negative integer, else null. */
const count0 = (x) => (Number.isInteger(x) && x >= 0 ? x : null);

/** "N more comments not shown (lowest trust)" for `n` > 0 left out of the node's view, else ''. */
export function moreText(n, what) {
  return n ? `${n} more ${what}${n === 1 ? '' : 's'} not shown (lowest trust)` : '';
}

/** "N likes", with "(M from people you trust)" when the node counts trusted likes (M ≤ N). */
export function likesText(likes, trusted) {
  const n = `${likes} like${likes === 1 ? '' : 's'}`;
  return trusted === null || trusted === undefined ? n : `${n} (${Math.min(trusted, likes)} from people you trust)`;
}

/**
 * The track page's "Comments" section for `item` (tracks.js): like button with its count,
 * flag form, the comments at their offsets, the flags, a new-comment form and "Look up
 * comments on the network".
 */
export function socialSection(item) {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'social-status' }, 'Loading comments…');
  const like = h('button', { type: 'button', 'aria-pressed': 'false', 'data-testid': 'like' }, 'Like');
  const count = h('span', { class: 'note', 'data-testid': 'like-count' });
  const list = h('ol', { class: 'comments', 'data-testid': 'comments', 'aria-label': 'Comments' });
  const moreComments = h('p', { class: 'note', hidden: true, 'data-testid': 'comments-more' });
  const flags = h('ul', { class: 'plain flags', 'data-testid': 'flags', 'aria-label': 'Flags' });
  const moreFlags = h('p', { class: 'note', hidden: true, 'data-testid': 'flags-more' });
  const flagsBox = h('div', { hidden: true }, h('h3', {}, 'Flags'), flags, moreFlags);
  const lookup = h('button', { type: 'button', 'data-testid': 'lookup' }, 'Look up comments on the network');
  const section = h('section', { 'aria-labelledby': 'social-h', class: 'social' }, h('h2', { id: 'social-h' }, 'Comments'));
  let liked = false;
  let likes = 0;
  let trusted = null; // likes from people this node trusts, when the node counts them

  function showLikes() {
    like.textContent = liked ? 'Liked' : 'Like';
    like.setAttribute('aria-pressed', String(liked));
    like.title = liked ? 'Press again to unlike (retracts your signed like)' : '';
    count.textContent = likesText(likes, trusted);
  }

  async function load(lookupS = 0) {
    let answer;
    try {
      answer = await get(`/api/tracks/${seg(item.id)}/social${lookupS ? `?lookup=${lookupS}` : ''}`);
    } catch (err) {
      if (notAvailable(err)) {
        section.replaceChildren(section.firstChild, h('p', { class: 'note', 'data-testid': 'social-status' }, 'This node has no comments or likes.'));
      } else {
        status.replaceChildren(errorBox(err, 'Cannot load the comments'));
      }
      return;
    }
    const comments = (Array.isArray(answer.comments) ? answer.comments : []).filter((c) => c && typeof c.id === 'string');
    const flagList = (Array.isArray(answer.flags) ? answer.flags : []).filter((f) => f && typeof f.id === 'string');
    likes = count0(answer.likes) ?? 0;
    trusted = count0(answer.trustedLikes);
    liked = Boolean(answer.liked);
    showLikes();
    const { roots, children } = threads(comments);
    const ctx = { item, reload: () => load() };
    replace(list, roots.map((c) => commentItem(c, ctx, children)));
    replace(flags, flagList.map(flagItem));
    const more = answer.more && typeof answer.more === 'object' ? answer.more : {};
    const left = { comments: count0(more.comments) ?? 0, flags: count0(more.flags) ?? 0 };
    moreComments.textContent = moreText(left.comments, 'comment');
    moreComments.hidden = !left.comments;
    moreFlags.textContent = moreText(left.flags, 'flag');
    moreFlags.hidden = !left.flags;
    flagsBox.hidden = !flagList.length && !left.flags;
    const hidden = Number(answer.hidden) || 0;
    const total = comments.length + left.comments;
    status.textContent = `${total ? `${total} comment${total === 1 ? '' : 's'}` : 'No comments yet'}`
      + (hidden ? ` · ${hidden} hidden by your quality gate (listed collapsed)` : '');
    return answer;
  }

  like.addEventListener('click', async () => {
    like.disabled = true;
    try {
      if (liked) {
        await del(`/api/tracks/${seg(item.id)}/like`);
        announce('Like retracted');
      } else {
        await post('/api/social', { kind: 'like', subject: item.id });
        announce('Liked');
      }
      await load(); // the counts as the node now has them
    } catch (err) {
      status.textContent = `${liked ? 'Not unliked' : 'Not liked'}: ${err.message}`;
    }
    like.disabled = false;
    showLikes();
  });
  lookup.addEventListener('click', async () => {
    lookup.disabled = true;
    status.textContent = 'Asking the network…';
    const answer = await load(LOOKUP_S);
    const reached = lookupText(answer && answer.lookup);
    if (reached) status.textContent += ` · ${reached}`;
    lookup.disabled = false;
  });
  section.append(
    h('div', { class: 'actions social-bar' }, like, count, flagForm(item.id, 'this track', () => load())),
    status, list, moreComments, commentForm(item, { onDone: () => load() }), h('div', { class: 'actions' }, lookup), flagsBox);
  load();
  return section;
}
