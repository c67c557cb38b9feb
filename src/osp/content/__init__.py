"""Content: CIDs, the UnixFS importer, CAR framing and audio probing."""

from osp.content.car import car_header, car_section, read_car
from osp.content.cid import CID, CIDError
from osp.content.probe import AudioInfo, probe
from osp.content.unixfs import (
    DEFAULT_PROFILE,
    PROFILES,
    Block,
    Profile,
    UnixfsImporter,
    cid_of_bytes,
    cid_of_file,
    get_profile,
    import_stream,
    read_chunks,
)

__all__ = [
    "CID",
    "CIDError",
    "DEFAULT_PROFILE",
    "PROFILES",
    "AudioInfo",
    "Block",
    "Profile",
    "UnixfsImporter",
    "car_header",
    "car_section",
    "cid_of_bytes",
    "cid_of_file",
    "get_profile",
    "import_stream",
    "probe",
    "read_car",
    "read_chunks",
]
