"""The AI-music layer (design.md §2 ``provenance/``): what a track is and where it came
from, computed or checked on this node — C2PA content credentials, acoustic fingerprints
(re-upload detection), audio analysis (tempo, key, loudness, a "sounds like" vector) and
remix lineage.  Pure functions and thin adapters over maintained tools (c2pa-python,
Chromaprint's ``fpcalc``, librosa, pyloudnorm); the node runs them in the background
(``osp.node.trackjobs``) and keeps their results in the library.
"""
