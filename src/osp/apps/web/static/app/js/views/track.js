// A track page (#/track/<id>): the record in plain text, its verification, the share
// link, and what can be done with it. Not in the library: resolved from the network.
import { ApiError, get, post, seg } from '../api.js';
import { fmtBytes, fmtTime, h } from '../dom.js';
import { href } from '../router.js';
import { toItem } from '../tracks.js';
import { artworkImg } from './artwork.js';
import { analysisSection } from './analysis.js';
import { artistLink, copyButton, errorBox, heading, tagLinks, trackActions } from './common.js';
import { provenanceView } from './provenance.js';
import { credentialsSection } from './credentials.js';
import { lineageSection } from './lineage.js';
import { duplicatesSection } from './duplicates.js';
import { socialSection } from './social.js';
import { moreLikeThisSection } from './foryou.js';

function fact(label, ...value) {
  return [h('dt', {}, label), h('dd', {}, ...value)];
}

function verificationText(v, record) {
  if (!v) return null;
  const sig = v.signature === 'valid' ? `Signature valid, by ${record.artist}` : `Signature: ${v.signature}`;
  const content = {
    verified: 'Content verified: the bytes match the CID',
    downloading: 'Content downloading: checked against the CID when complete',
    missing: 'Content missing: the file is gone from this node',
    'not fetched': 'Content not fetched yet',
  }[v.content] || `Content: ${v.content}`;
  return h('ul', { class: 'plain verification', 'data-testid': 'verification' }, h('li', {}, sig), h('li', {}, content));
}

function details(summary, local) {
  const record = summary.record || {};
  const item = toItem(summary, local);
  const dl = h('dl', { class: 'facts' },
    fact('Artist', artistLink(item)),
    fact('Duration', fmtTime(Number(record.duration))),
    fact('License', String(record.license || '–')),
    fact('Released', String(record.released || '–')),
    record.album ? fact('Album', String(record.album)) : null,
    fact('Tags', tagLinks(record.tags) || 'none'),
    fact('Format', `${record.format || '?'}, ${fmtBytes(record.size)}`),
    fact('CID', h('code', { class: 'mono', 'data-testid': 'cid' }, String(record.cid || '')), ' ', copyButton(String(record.cid || ''), 'Copy the CID')),
    fact('Track id', h('code', { class: 'mono' }, item.id)),
    summary.verification ? fact('Verification', verificationText(summary.verification, record)) : null,
    summary.share ? fact('Share link', h('a', { href: summary.share, 'data-testid': 'share-link', class: 'mono' }, summary.share), ' ',
      copyButton(summary.share, 'Copy the share link')) : null);
  return [
    artworkImg(summary, 'large'),
    h('p', { class: 'subtitle' }, 'by ', artistLink(item)),
    trackActions(item),
    dl,
    h('section', { 'aria-labelledby': 'prov-h' },
      h('h2', { id: 'prov-h' }, 'AI provenance'),
      provenanceView(record.provenance)),
    credentialsSection(summary),
    lineageSection(item.id),
    local ? duplicatesSection(summary) : null,
    socialSection(item),
    local ? moreLikeThisSection(summary) : null,
  ].filter((x) => x !== null && x !== undefined); // spread into replaceWith, which would print "null"
}

export async function trackView(main, { arg }) {
  const box = h('div', {}, h('p', { role: 'status' }, 'Loading…'));
  main.append(box);
  try {
    const summary = await get(`/api/tracks/${seg(arg)}`);
    const origin = summary.origin === 'published' ? 'Published by you' : `In your library (${summary.origin || 'fetched'}, file ${summary.file || '?'})`;
    box.replaceWith(heading(summary.title || arg), h('p', { class: 'note' }, origin), ...details(summary, true),
      analysisSection(summary));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) {
      box.replaceWith(heading('Track'), errorBox(err, 'Cannot load this track'));
      return;
    }
    box.replaceChildren(h('p', { role: 'status' }, 'Not in your library: asking the network…'));
    try {
      const summary = await post('/api/resolve', { track: arg });
      // /api/resolve answers only records whose signature the node verified
      summary.verification = { signature: 'valid', content: 'not fetched' };
      const get_ = h('button', { type: 'button', 'data-testid': 'get', onclick: async () => {
        get_.disabled = true;
        try {
          await post('/api/fetch', { track: arg });
          location.hash = href('transfers');
        } catch (e) {
          get_.after(errorBox(e, 'Cannot get it'));
          get_.disabled = false;
        }
      } }, 'Get (download to your library)');
      box.replaceWith(heading(summary.title || arg), h('p', { class: 'note', 'data-testid': 'not-in-library' }, 'Not in your library. ', get_),
        ...details(summary, false));
    } catch (e) {
      // The node's message is the CLI's ("give --peer URL"): say it in the app's words.
      const nowhere = e instanceof ApiError && e.status === 404;
      const offline = nowhere && /DHT is off/.test(e.message);
      box.replaceWith(heading('Track'), nowhere
        ? h('p', { class: 'error', role: 'alert', 'data-testid': 'track-not-found' },
          `No track ${arg} in your library, `,
          offline ? 'and this node is not on the DHT, so the network was not asked.' : 'and no node on the network has it.')
        : errorBox(e, 'Cannot look this track up'));
    }
  }
}
