// The one shape the player, the queue and the views share for a track.

/**
 * A queue item from a search result, a library row or a track summary:
 * {id, title, artist (did), artistName, duration (s), holders (peer base URLs, ≤ 8), local}.
 * `local` is true when the track is in this node's library (no fetch needed to play).
 */
export function toItem(x, local) {
  const record = (x && typeof x.record === 'object' && x.record) || {};
  const holders = Array.isArray(x.holders) ? x.holders.filter((v) => typeof v === 'string') : [];
  const isLocal = local ?? (Array.isArray(x.holders) ? holders.includes('local') : true);
  return {
    id: String(x.id),
    title: String(x.title ?? record.title ?? x.id),
    artist: String(x.artist ?? record.artist ?? ''),
    artistName: String(x.artistName ?? record.artistName ?? ''),
    duration: Number(record.duration ?? x.duration) || 0,
    holders: holders.filter((v) => v !== 'local').slice(0, 8),
    local: Boolean(isLocal),
    artwork: String(x.artwork ?? record.artwork ?? ''),
  };
}

/** A stored item back to a valid shape (localStorage may hold anything). */
export function cleanItem(x) {
  if (!x || typeof x !== 'object' || typeof x.id !== 'string' || !x.id) return null;
  return toItem({ ...x, holders: Array.isArray(x.holders) ? x.holders : [] }, Boolean(x.local));
}

/** The name to show for an artist: the record's artistName, else a shortened did. */
export function artistLabel(item) {
  if (item.artistName) return item.artistName;
  const did = item.artist || '';
  return did.length > 28 ? `${did.slice(0, 16)}…${did.slice(-6)}` : did || 'unknown artist';
}
