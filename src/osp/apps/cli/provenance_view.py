"""The readable lines of a record's ``provenance`` (spec §5.1) for ``osp resolve``.

Pure: ``(label, value)`` pairs, every value through ``printable`` (a peer wrote them; the
signature proves who, not that they are harmless), long ones cut.  Both forms are
shown: ``generator`` a string or ``{"name", "version", "url"}``, ``humanContribution``
free text or terms, ``parents`` and ``stems`` bare ids/CIDs or objects with a relation
or role.  Anything of another shape is skipped, never an exception.
"""

from __future__ import annotations

import json
from typing import Any

from osp.apps.cli.views import printable

__all__ = ["SOURCE_TYPE_WORDS", "provenance_lines"]

MAX_TEXT = 400
MAX_LINKS = 64

#: Plain words for the IPTC digital source types a listener meets most (others: the term).
SOURCE_TYPE_WORDS = {
    "trainedAlgorithmicMedia": "made by a trained AI model",
    "compositeWithTrainedAlgorithmicMedia": "human material combined with AI model output",
    "algorithmicMedia": "made by an algorithm (no trained model)",
    "digitalCreation": "made by a human with digital tools",
    "digitalArt": "made by a human with digital tools",
    "digitalCapture": "recorded from real life",
    "humanEdits": "human edits",
    "minorHumanEdits": "minor human edits",
}


def _text(value: Any) -> str:
    text = printable(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _generator(p: dict[str, Any]) -> str:
    given = p.get("generator")
    if isinstance(given, dict):
        parts = [str(given.get(k)) for k in ("name", "version") if isinstance(given.get(k), str) and given.get(k)]
        url = given.get("url")
        return " ".join(parts) + (f" ({url})" if isinstance(url, str) and url else "")
    return given if isinstance(given, str) else ""


def _ai_line(p: dict[str, Any]) -> str:
    tool = _generator(p)
    model = " ".join(str(p[k]) for k in ("model", "modelVersion") if isinstance(p.get(k), str) and p.get(k))
    if p.get("aiGenerated") is True:
        said = "generated"
        if tool or model:
            said += f" with {tool}" if tool else ""
            said += (", model " if tool else " with ") + model if model else ""
        return said
    if p.get("aiGenerated") is False:
        return "not AI-generated (the artist's statement)"
    return "not declared" + (f" (tool named: {tool or model})" if tool or model else "")


def _link_lines(label: str, items: Any, key: str, kind: str) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for item in items[:MAX_LINKS] if isinstance(items, list) else []:
        if isinstance(item, str):
            lines.append((label, f"{_text(item)}  ({kind} not stated)"))
        elif isinstance(item, dict) and isinstance(item.get(key), str):
            lines.append((label, f"{_text(item[key])}  {_text(item.get(kind, '?'))}"))
    return lines


def provenance_lines(provenance: Any) -> list[tuple[str, str]]:
    """``(label, value)`` lines: ``AI`` always, then whichever of source, prompt, negative,
    seed, params, human, parent (one per parent: id and relation), stem (one per stem:
    CID and role) the record states."""
    p: dict[str, Any] = provenance if isinstance(provenance, dict) else {}
    lines = [("AI", _text(_ai_line(p)))]
    source = p.get("digitalSourceType")
    if isinstance(source, str):
        words = SOURCE_TYPE_WORDS.get(source)
        lines.append(("source", _text(f"{source} (IPTC){': ' + words if words else ''}")))
    for label, key in (("prompt", "prompt"), ("negative", "negativePrompt")):
        if isinstance(p.get(key), str) and p[key]:
            lines.append((label, _text(p[key])))
    if isinstance(p.get("seed"), int):
        lines.append(("seed", str(p["seed"])))
    if isinstance(p.get("parameters"), dict) and p["parameters"]:
        lines.append(("params", _text(json.dumps(p["parameters"], ensure_ascii=False, separators=(", ", ": ")))))
    human = p.get("humanContribution")
    if isinstance(human, list):
        lines.append(("human", _text(", ".join(str(t) for t in human))))
    elif isinstance(human, str) and human:
        lines.append(("human", _text(human)))
    lines += _link_lines("parent", p.get("parents"), "id", "relation")
    lines += _link_lines("stem", p.get("stems"), "cid", "role")
    return lines
