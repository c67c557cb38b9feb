"""Distribution: torrents and the BitTorrent engine, the trustless gateway, streaming."""
