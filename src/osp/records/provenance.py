"""The Track Record's ``provenance`` object (spec §5.1): vocabularies and the rules JSON
Schema cannot say.

Pure functions over parsed JSON.  ``provenance_problem`` is what ``build_track`` (as a
``CallerError``) and ``verify_track`` (as ``IntegrityError(check="schema")``) apply on top
of ``track.schema.json``; it is written for hostile input of any shape and names the
first problem found in one readable line (``provenance/humanContribution: 'none' cannot
be combined with other terms``), or returns ``None``.

Shapes (every member optional; older forms in brackets stay valid):

* ``aiGenerated`` boolean; ``digitalSourceType`` an IPTC Digital Source Type term (short
  name, ``SOURCE_TYPES``; the JSON-LD context maps it to ``IPTC_BASE`` + term);
* ``generator`` ``{"name", "version"?, "url"?}`` [a bare string: the name];
* ``model``, ``modelVersion``, ``prompt``, ``negativePrompt`` strings; ``seed`` an
  integer 0 … 2**53 − 1 (``MAX_SEED``); ``parameters`` a JSON object of at most 64
  members whose RFC 8785 (JCS) bytes are at most ``MAX_PARAMETERS_BYTES``;
* ``humanContribution`` unique terms of ``HUMAN_CONTRIBUTIONS``, ``none`` only alone
  [a free-text string];
* ``parents`` ≤ 64 × ``{"id": "osp:track:…", "relation": PARENT_RELATIONS}`` [a bare id:
  relation unknown]; ``stems`` ≤ 64 × ``{"cid", "role": STEM_ROLES}`` [a bare CID].
"""

from __future__ import annotations

from typing import Any

from osp.core.errors import IntegrityError
from osp.records.canonical import jcs

__all__ = [
    "HUMAN_CONTRIBUTIONS",
    "IPTC_BASE",
    "MAX_PARAMETERS_BYTES",
    "MAX_SEED",
    "MEMBERS",
    "PARENT_RELATIONS",
    "SOURCE_TYPES",
    "STEM_ROLES",
    "default_source_type",
    "provenance_problem",
]

IPTC_BASE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
#: IPTC NewsCodes Digital Source Type (https://cv.iptc.org/newscodes/digitalsourcetype/),
#: the vocabulary C2PA's ``c2pa.actions`` use; ``digitalArt`` is the retired name of
#: ``digitalCreation``, kept because older manifests and tools still write it.
SOURCE_TYPES = (
    "trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "compositeSynthetic",
    "dataDrivenMedia", "algorithmicallyEnhanced", "digitalCreation", "digitalArt", "humanEdits", "minorHumanEdits",
    "composite", "compositeCapture", "digitalCapture", "computationalCapture", "virtualRecording", "screenCapture",
    "negativeFilm", "positiveFilm", "print",
)
#: Source types that say a trained model made (part of) the audio.
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
HUMAN_CONTRIBUTIONS = ("composition", "lyrics", "performance", "arrangement", "mixing", "curation", "none")
PARENT_RELATIONS = ("remix", "extends", "cover", "samples")
STEM_ROLES = ("vocals", "backingVocals", "drums", "percussion", "bass", "guitar", "keys", "synth", "strings", "brass",
              "woodwinds", "melody", "harmony", "instrumental", "fx", "other")
MEMBERS = ("aiGenerated", "digitalSourceType", "generator", "model", "modelVersion", "prompt", "negativePrompt",
           "seed", "parameters", "humanContribution", "parents", "stems")
MAX_SEED = 2**53 - 1  #: the largest integer every JSON implementation (and JCS) keeps exact
MAX_PARAMETERS_BYTES = 4096
MAX_PARAMETERS = 64
MAX_LINKS = 64  #: parents, stems


def default_source_type(provenance: dict[str, Any]) -> str:
    """The ``digitalSourceType`` of AI-generated audio whose provenance states none:
    ``compositeWithTrainedAlgorithmicMedia`` when ``humanContribution`` names a contribution
    (a list other than ``["none"]``, or a non-empty bare string, the older form), else
    ``trainedAlgorithmicMedia`` (IPTC Digital Source Type terms; spec §5)."""
    human = provenance.get("humanContribution")
    contributed = (bool(human) and human != ["none"]) if isinstance(human, list) else (
        isinstance(human, str) and bool(human.strip()) and human.strip() != "none")
    return AI_SOURCE_TYPES[1 if contributed else 0]


def _terms(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _human_problem(value: Any) -> str | None:
    if isinstance(value, str):  # the older free-text form
        return None
    if not isinstance(value, list) or not value:
        return "humanContribution: a non-empty list of terms"
    for term in value:
        if term not in HUMAN_CONTRIBUTIONS:
            return f"humanContribution: {str(term)[:40]!r} is not one of {_terms(HUMAN_CONTRIBUTIONS)}"
    if len(set(value)) != len(value):
        return "humanContribution: a term is listed twice"
    if "none" in value and len(value) > 1:
        return "humanContribution: 'none' cannot be combined with other terms"
    return None


def _links_problem(name: str, value: Any, key: str, vocabulary: tuple[str, ...], label: str) -> str | None:
    if not isinstance(value, list):
        return f"{name}: a list"
    if len(value) > MAX_LINKS:
        return f"{name}: {len(value)} entries (at most {MAX_LINKS})"
    seen: set[str] = set()
    for item in value:
        target = item.get(key) if isinstance(item, dict) else item
        if isinstance(item, dict):
            extra = sorted(set(item) - {key, label})
            if extra:
                return f"{name}: unknown member {str(extra[0])[:40]!r} (allowed: {key}, {label})"
            if label not in item:
                return f"{name}: {str(target)[:80]!r} has no {label}"
            if item[label] not in vocabulary:
                return f"{name}: {label} {str(item[label])[:40]!r} is not one of {_terms(vocabulary)}"
        if isinstance(target, str):
            if target in seen:
                return f"{name}: {target[:80]} is listed twice"
            seen.add(target)
    return None


def provenance_problem(provenance: Any) -> str | None:
    """The first problem of a ``provenance`` value as ``"provenance/<member>: why"``, or
    ``None``.  Checks the vocabularies, unknown members, ``seed`` range, the ``parameters``
    caps, "``none`` alone" and duplicate parents/stems; shapes (string lengths, patterns)
    are left to the JSON Schema, which the callers apply as well."""
    if provenance is None:
        return None
    if not isinstance(provenance, dict):
        return "provenance: an object"
    problem = _problem(provenance)
    return f"provenance/{problem}" if problem else None


def _problem(p: dict[str, Any]) -> str | None:
    unknown = sorted(str(k) for k in p if k not in MEMBERS)
    if unknown:
        return f"{unknown[0][:40]}: unknown member (known: {_terms(MEMBERS)})"
    if "aiGenerated" in p and not isinstance(p["aiGenerated"], bool):
        return "aiGenerated: true or false"
    if "digitalSourceType" in p and p["digitalSourceType"] not in SOURCE_TYPES:
        return (f"digitalSourceType: {str(p['digitalSourceType'])[:60]!r} is not an IPTC digital source type "
                f"({_terms(SOURCE_TYPES)})")
    generator = p.get("generator")
    if isinstance(generator, dict):
        extra = sorted(str(k) for k in generator if k not in ("name", "version", "url"))
        if extra:
            return f"generator: unknown member {extra[0][:40]!r} (allowed: name, version, url)"
        if not isinstance(generator.get("name"), str) or not generator["name"]:
            return "generator: needs a name"
    seed = p.get("seed")
    if "seed" in p and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED):
        return f"seed: an integer from 0 to {MAX_SEED} (2^53 - 1)"
    if "parameters" in p:
        params = p["parameters"]
        if not isinstance(params, dict):
            return "parameters: a JSON object"
        if len(params) > MAX_PARAMETERS:
            return f"parameters: {len(params)} members (at most {MAX_PARAMETERS})"
        try:
            size = len(jcs(params))
        except IntegrityError as exc:
            return f"parameters: not canonical JSON ({exc.message})"
        if size > MAX_PARAMETERS_BYTES:
            return f"parameters: {size} bytes as JCS (at most {MAX_PARAMETERS_BYTES})"
    if "humanContribution" in p:
        problem = _human_problem(p["humanContribution"])
        if problem:
            return problem
    for name, key, vocabulary, label in (("parents", "id", PARENT_RELATIONS, "relation"),
                                         ("stems", "cid", STEM_ROLES, "role")):
        if name in p:
            problem = _links_problem(name, p[name], key, vocabulary, label)
            if problem:
                return problem
    return None
