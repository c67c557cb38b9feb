"""Numbered schema migrations; ``PRAGMA user_version`` records the last one applied.

Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: tracks, files, blocks, torrents
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE files (
        cid TEXT PRIMARY KEY,
        path TEXT NOT NULL,          -- relative to the data directory
        size INTEGER NOT NULL,
        profile TEXT NOT NULL
    );
    CREATE TABLE blocks (
        cid TEXT PRIMARY KEY,
        root TEXT NOT NULL REFERENCES files(cid),
        offset INTEGER NOT NULL,     -- file offset of a leaf, -1 for a parent node
        length INTEGER NOT NULL,     -- leaf bytes
        data BLOB                    -- block bytes of parent nodes and wrapped leaves
    );
    CREATE INDEX blocks_root ON blocks(root);
    CREATE TABLE torrents (
        infohash TEXT PRIMARY KEY,   -- v1 infohash, hex
        cid TEXT NOT NULL REFERENCES files(cid),
        metainfo BLOB NOT NULL,      -- bencoded .torrent
        resume BLOB                  -- libtorrent resume data
    );
    CREATE TABLE tracks (
        id TEXT PRIMARY KEY,
        artist TEXT NOT NULL,
        title TEXT NOT NULL,
        cid TEXT NOT NULL REFERENCES files(cid),
        infohash TEXT NOT NULL REFERENCES torrents(infohash),
        format TEXT NOT NULL,
        duration REAL NOT NULL,
        size INTEGER NOT NULL,
        released TEXT NOT NULL,
        record BLOB NOT NULL,        -- the signed record, JCS bytes
        origin TEXT NOT NULL CHECK (origin IN ('published', 'fetched')),
        added_at TEXT NOT NULL
    );
    CREATE INDEX tracks_artist ON tracks(artist);
    CREATE INDEX tracks_cid ON tracks(cid);
    CREATE INDEX tracks_infohash ON tracks(infohash);
    """,
    # 2: transfers that survive a restart (resume from verified pieces); file state
    """
    CREATE TABLE transfers (
        infohash TEXT PRIMARY KEY,   -- v1 infohash, hex
        track_id TEXT NOT NULL,
        record BLOB NOT NULL,        -- the verified signed record, JCS bytes
        metainfo BLOB NOT NULL,      -- the torrent we added (bencoded)
        peers TEXT NOT NULL,         -- JSON list of [host, port] to dial again on resume
        resume BLOB,                 -- libtorrent resume data, once saved
        started_at TEXT NOT NULL
    );
    CREATE INDEX transfers_track ON transfers(track_id);
    ALTER TABLE files ADD COLUMN state TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'missing', 'changed'));
    """,
    # 3: the cache quota evicts the least recently played fetched track first; a library
    # from before it counts each track as last played when it was added
    """
    ALTER TABLE tracks ADD COLUMN last_played REAL;  -- Unix seconds: fetched, or /stream/ began serving it
    UPDATE tracks SET last_played = CAST(strftime('%s', added_at) AS REAL);
    CREATE INDEX tracks_origin ON tracks(origin, last_played);
    """,
    # 4: artist feeds (BEP 44 + BEP 46, spec §9): the artists this node follows, the signed
    # records their catalogs made known (without audio), and the catalog torrents it seeds
    # (its own and its follows': followers keep a catalog reachable while its artist is offline)
    """
    CREATE TABLE follows (
        did TEXT PRIMARY KEY,        -- the artist's did:key
        audio INTEGER NOT NULL DEFAULT 0,  -- 1: fetch and seed each new track's audio too
        highest_seq INTEGER,         -- highest BEP 44 seq of a verified, accepted item; NULL before one
        catalog TEXT,                -- v1 infohash (hex) of the latest catalog held
        followed_at REAL NOT NULL,   -- Unix seconds
        checked_at REAL,             -- Unix seconds of the last poll
        error TEXT                   -- what went wrong at the last poll, NULL if nothing
    );
    CREATE TABLE records (
        id TEXT PRIMARY KEY,         -- track id
        artist TEXT NOT NULL,        -- did:key the record verified against
        record BLOB NOT NULL,        -- the verified signed record, JCS bytes
        source TEXT NOT NULL,        -- where it came from: catalog:<infohash>
        seen_at REAL NOT NULL        -- Unix seconds
    );
    CREATE INDEX records_artist ON records(artist);
    CREATE TABLE catalogs (
        artist TEXT PRIMARY KEY,     -- did:key whose catalog this is (ours or a follow's)
        infohash TEXT NOT NULL,      -- v1 infohash, hex
        metainfo BLOB NOT NULL,      -- bencoded .torrent (rebuilt: no trackers, no web seeds)
        path TEXT NOT NULL,          -- the catalog file, relative to the data directory
        seq INTEGER NOT NULL,        -- the feed item seq that pointed at it
        count INTEGER NOT NULL,      -- records in it
        stored_at REAL NOT NULL      -- Unix seconds
    );
    """,
    # 5: the search index (spec §9.3): the hex rendezvous keys each track or known record is
    # found under (track, artist, tags, words), so a search parses only its candidates.  Rows
    # are filled by the node (the keys are SHA-1 digests of normalized text, not SQL): at
    # add_track / store_catalog, and for rows not indexed yet (this migration's existing
    # rows, rows written without an indexer) before each indexed search.
    """
    CREATE TABLE search_keys (
        key TEXT NOT NULL,           -- hex rendezvous key; '' marks a row with nothing indexable
        track_id TEXT NOT NULL,      -- tracks.id or records.id
        PRIMARY KEY (key, track_id)
    ) WITHOUT ROWID;
    CREATE INDEX search_keys_track ON search_keys(track_id);
    """,
    # 6: the web app's local playlists (issue 9): private to this node, never published
    """
    CREATE TABLE playlists (
        id TEXT PRIMARY KEY,         -- pl- and 16 random base64url characters
        name TEXT NOT NULL,
        tracks TEXT NOT NULL,        -- JSON list of track ids, in play order (repeats allowed)
        created REAL NOT NULL,       -- Unix seconds
        updated REAL NOT NULL        -- Unix seconds
    );
    CREATE INDEX playlists_created ON playlists(created);
    """,
    # 7: artwork (issue 10, bulk import): cover images stored as UnixFS files (rows in
    # files/blocks, served by the gateway) with the image type found in their bytes; and
    # the files a bulk import published, so that a re-run skips an unchanged file unread
    """
    CREATE TABLE artwork (
        cid TEXT PRIMARY KEY REFERENCES files(cid),
        mime TEXT NOT NULL,          -- image/jpeg, image/png or image/webp (from the bytes)
        width INTEGER NOT NULL,      -- pixels
        height INTEGER NOT NULL,     -- pixels
        stored_at REAL NOT NULL      -- Unix seconds
    );
    CREATE TABLE imported_files (
        path TEXT NOT NULL,          -- absolute path of the source file when it was imported
        artist TEXT NOT NULL,        -- did:key that published it
        size INTEGER NOT NULL,       -- bytes, then
        mtime_ns INTEGER NOT NULL,   -- modification time, then (ns)
        track_id TEXT NOT NULL,      -- the track it is (published or already published)
        PRIMARY KEY (path, artist)
    ) WITHOUT ROWID;
    """,
    # 8: C2PA content credentials (issue 10): the result of reading and validating each
    # file's manifest, by CID (a credential belongs to the bytes, whichever track names them)
    """
    CREATE TABLE c2pa (
        cid TEXT PRIMARY KEY,        -- the file's CID
        state TEXT NOT NULL,         -- absent, valid, trusted, invalid, unsupported, error
        result TEXT NOT NULL,        -- osp.provenance.c2pa.Credential.to_json(), JSON
        trust TEXT NOT NULL,         -- C2paStore.trust_hash() it was checked against ('' none)
        allowed_invalid INTEGER NOT NULL DEFAULT 0,  -- 1: published although invalid (--allow-invalid-c2pa)
        checked_at REAL NOT NULL     -- Unix seconds
    );
    """,
    # 9: lineage (issue 10): the search index gains ``parent`` keys (spec §9.1: a record is
    # found under each track id its provenance.parents names); the rows of records that
    # name parents are dropped here and indexed again (``Library.index_pending``) on open.
    """
    DELETE FROM search_keys WHERE track_id IN (
        SELECT id FROM tracks WHERE instr(CAST(record AS TEXT), '"parents"') > 0
        UNION SELECT id FROM records WHERE instr(CAST(record AS TEXT), '"parents"') > 0
    );
    """,
    # 10: audio analysis (issue 10, osp.provenance.analysis): one row per track analysed here,
    # a result or the failure (error set, the measures NULL) so a bad file is not retried
    """
    CREATE TABLE analysis (
        track_id TEXT PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
        bpm REAL,                    -- tempo, beats per minute
        key TEXT,                    -- tonic: C, C#, D, Eb, E, F, F#, G, Ab, A, Bb, B
        mode TEXT,                   -- major | minor
        key_confidence REAL,         -- best key correlation minus the runner-up's
        loudness REAL,               -- integrated loudness, LUFS (ITU-R BS.1770-4)
        true_peak REAL,              -- dBTP, 4x oversampled
        duration REAL,               -- seconds analysed
        vector BLOB,                 -- "sounds like" features: little-endian float32, L2-normalised
        version TEXT NOT NULL,       -- the analyser (ANALYSER_VERSION); another one analyses again
        analysed_at REAL NOT NULL,   -- Unix seconds
        error TEXT                   -- why the analysis failed; NULL when it worked
    );
    CREATE INDEX analysis_bpm ON analysis(bpm);
    CREATE INDEX analysis_key ON analysis(key, mode);
    """,
    # 11: acoustic fingerprints (issue 10, spec §9.7): the raw Chromaprint fingerprint of every
    # track whose audio is here (or why it failed), the inverted index of its selected keys,
    # and the near-duplicates found (a track matching another artist's earlier one; ``own``:
    # the same artist's earlier upload)
    """
    CREATE TABLE fingerprints (
        n INTEGER PRIMARY KEY,       -- short number the index rows name
        track_id TEXT NOT NULL UNIQUE,
        fp BLOB,                     -- raw sub-fingerprints, uint32 little-endian; NULL when it failed
        seconds REAL NOT NULL,       -- audio covered (0 on failure)
        error TEXT,                  -- why it failed, NULL if it did not
        at REAL NOT NULL             -- Unix seconds
    );
    CREATE TABLE fp_index (
        key INTEGER NOT NULL,        -- top bits of a selected sub-fingerprint
        n INTEGER NOT NULL,          -- fingerprints.n
        pos INTEGER NOT NULL,        -- its position (items of ~0.124 s)
        PRIMARY KEY (key, n, pos)
    ) WITHOUT ROWID;
    CREATE TABLE duplicates (
        track_id TEXT NOT NULL,      -- the later track
        match_id TEXT NOT NULL,      -- the earlier track it matches
        offset_s REAL NOT NULL,      -- seconds into match_id where track_id starts
        overlap_s REAL NOT NULL,     -- seconds
        score REAL NOT NULL,         -- 0..1
        own INTEGER NOT NULL,        -- 1: same artist (an earlier upload of theirs), not a duplicate flag
        PRIMARY KEY (track_id, match_id)
    ) WITHOUT ROWID;
    CREATE INDEX duplicates_match ON duplicates(match_id);
    """,
    # 12: social records (issue 11, spec §10, osp.library.social): one row per verified record
    # (only the newest version of a playlist series), and the ids removed by tombstones
    """
    CREATE TABLE social (
        id TEXT PRIMARY KEY,         -- osp:<kind>:b…
        kind TEXT NOT NULL,          -- playlist, follow, like, comment, endorsement, flag, tombstone
        author TEXT NOT NULL,        -- did:key
        subject TEXT,                -- a did:key, a track id, or (tombstone) a record id, NULL for a playlist
        playlist TEXT,               -- a playlist's series id (pl-…), else NULL
        seq INTEGER,                 -- a playlist's version, else NULL
        created TEXT NOT NULL,       -- RFC 3339 UTC, as signed
        record BLOB NOT NULL,        -- the signed record, JCS bytes
        origin TEXT NOT NULL CHECK (origin IN ('own', 'peer')),
        received REAL NOT NULL       -- Unix seconds
    );
    CREATE INDEX social_subject ON social(subject, kind);
    CREATE INDEX social_author ON social(author, kind);
    CREATE UNIQUE INDEX social_playlist ON social(author, playlist) WHERE playlist IS NOT NULL;
    CREATE TABLE tombstoned (
        subject TEXT NOT NULL,       -- the removed record's id
        author TEXT NOT NULL,        -- the tombstone's author (the subject's own, once the subject is seen)
        tombstone TEXT NOT NULL,     -- the tombstone's id (a row of social)
        about TEXT,                  -- the removed record's own subject (a track id …), once it was seen
        playlist TEXT,               -- a removed playlist version: its series id and seq
        seq INTEGER,
        PRIMARY KEY (subject, author)
    ) WITHOUT ROWID;
    CREATE INDEX tombstoned_about ON tombstoned(about) WHERE about IS NOT NULL;
    CREATE INDEX tombstoned_playlist ON tombstoned(author, playlist) WHERE playlist IS NOT NULL;
    """,
    # 13: the web of trust (issue 11, osp.library.trust): its follow and endorsement edges are
    # read from this index alone, never from the rows' record blobs
    """
    CREATE INDEX social_edges ON social(kind, author, subject);
    """,
]
