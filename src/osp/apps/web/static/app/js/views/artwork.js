// Cover art (issue 10): the record's `artwork` CID, served by the node on this origin at
// /api/artwork/<cid> (a fetched track's artwork is fetched and checked against its CID
// first). Decorative: alt is empty, the title next to it says what it is; an image that
// cannot be had is removed, never shown broken.
import { h } from '../dom.js';

const CID = /^(b[a-z2-7]{20,200}|Qm[1-9A-HJ-NP-Za-km-z]{44})$/;
const SIZES = { small: 40, medium: 56, large: 240 };

/** The artwork URL of a track summary, library row, search result or queue item, or null. */
export function artworkUrl(x) {
  if (!x || typeof x !== 'object') return null;
  if (typeof x.artworkUrl === 'string' && x.artworkUrl.startsWith('/api/artwork/')) return x.artworkUrl;
  const record = (typeof x.record === 'object' && x.record) || {};
  const cid = typeof x.artwork === 'string' && x.artwork ? x.artwork : record.artwork;
  return typeof cid === 'string' && CID.test(cid) ? `/api/artwork/${cid}` : null;
}

/** An <img> of the artwork (`size`: small, medium or large), or null when there is none. */
export function artworkImg(x, size = 'small') {
  const url = artworkUrl(x);
  if (!url) return null;
  const px = SIZES[size] || SIZES.small;
  const img = h('img', { src: url, alt: '', class: `artwork artwork-${size}`, width: px, height: px, loading: 'lazy',
    decoding: 'async', 'data-testid': `artwork-${size}` });
  img.addEventListener('error', () => img.remove());
  return img;
}

/** Show `item`'s artwork in the player bar's slot `slot` (an element; emptied when none). */
export function showArtwork(slot, item) {
  slot.replaceChildren(...[artworkImg(item, 'medium')].filter(Boolean));
}
