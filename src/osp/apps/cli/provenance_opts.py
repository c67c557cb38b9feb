"""``osp publish``'s provenance flags and ``--provenance FILE.json`` (spec §5.1).

``provenance_options`` adds the flags to a click command (their values arrive as keyword
arguments named in ``OPTION_NAMES``); ``provenance_from`` turns them into the record's
``provenance`` object: the file first, then each flag given overrides its member
(``--ai-generator-*`` the members of ``generator``, ``--param`` one key of
``parameters``, the repeatable flags the whole list).  Defaults: ``aiGenerated`` true and
``digitalSourceType`` ``trainedAlgorithmicMedia`` (no human contribution, or ``none``) or
``compositeWithTrainedAlgorithmicMedia`` when a generator or model is named and neither
is stated.  Every problem is a ``CallerError`` naming the flag or member and, for a
vocabulary, its terms.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from osp.core.errors import CallerError, IntegrityError
from osp.records.canonical import strict_loads
from osp.records.provenance import (
    HUMAN_CONTRIBUTIONS,
    PARENT_RELATIONS,
    SOURCE_TYPES,
    STEM_ROLES,
    default_source_type,
    provenance_problem,
)
from osp.records.track import provenance_error

__all__ = ["OPTION_NAMES", "provenance_from", "provenance_options"]

F = TypeVar("F", bound=Callable[..., Any])
TRACK_PREFIX = "osp:track:"
MAX_FILE_BYTES = 64 * 1024  #: a provenance file larger than a whole record cannot fit in one
OPTION_NAMES = ("ai_generator", "ai_generator_version", "ai_generator_url", "ai_model", "ai_model_version", "prompt",
                "negative_prompt", "seed", "params", "human_contribution", "source_type", "parents", "stems",
                "provenance_file")


def _terms(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _check_terms(vocabulary: tuple[str, ...]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        for term in value if isinstance(value, tuple) else [value] if value is not None else []:
            if term not in vocabulary:
                raise click.BadParameter(f"{term!r} is not one of {_terms(vocabulary)}")
        return value

    return check


def provenance_options(f: F) -> F:
    """Decorate a click command with the provenance flags (keyword arguments ``OPTION_NAMES``)."""
    options = [
        click.option("--ai-generator", help="AI generator: the tool or service's name (e.g. Suno, Udio)."),
        click.option("--ai-generator-version", help="The generator's version."),
        click.option("--ai-generator-url", help="The generator's web address (http or https)."),
        click.option("--ai-model", help="Model name."),
        click.option("--ai-model-version", help="Model version."),
        click.option("--prompt", help="Generation prompt (the lyrics go in --lyrics-file)."),
        click.option("--negative-prompt", help="Negative prompt."),
        click.option("--seed", type=click.IntRange(0, 2**53 - 1), help="Generation seed (0 to 2^53 - 1)."),
        click.option("--param", "params", multiple=True,
                     help="Generation parameter KEY=VALUE (repeatable; JSON values, else text; 4096 bytes in all)."),
        click.option("--human-contribution", multiple=True, metavar="TERM", callback=_check_terms(HUMAN_CONTRIBUTIONS),
                     help=f"What you did (repeatable): {_terms(HUMAN_CONTRIBUTIONS)} ('none' alone)."),
        click.option("--source-type", metavar="TERM", callback=_check_terms(SOURCE_TYPES),
                     help="IPTC digital source type, e.g. trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, "
                          "digitalCreation, digitalCapture (spec §5.1 lists them). Default with a generator or model: "
                          "trainedAlgorithmicMedia, or compositeWithTrainedAlgorithmicMedia with a human contribution."),
        click.option("--parent", "parents", multiple=True, metavar="ID[:RELATION]",
                     help=f"A track this one derives from (repeatable); RELATION: {_terms(PARENT_RELATIONS)} "
                          "(default remix)."),
        click.option("--stem", "stems", multiple=True, metavar="CID[:ROLE]",
                     help=f"A stem's CID (repeatable); ROLE: {_terms(STEM_ROLES)}."),
        click.option("--provenance", "provenance_file", type=click.Path(path_type=Path, dir_okay=False),
                     help="A JSON file holding the record's provenance object (spec §5.1); the flags above override "
                          "its members."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _parse_params(params: tuple[str, ...]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CallerError(f"--param takes KEY=VALUE, got {item!r}")
        try:
            result[key] = strict_loads(value)
        except IntegrityError:
            result[key] = value
    return result


def _parent(value: str) -> dict[str, str]:
    if not value.startswith(TRACK_PREFIX):
        raise CallerError(f"--parent {value!r}: give a track id osp:track:b… (optionally :RELATION)")
    ident, sep, relation = value[len(TRACK_PREFIX):].partition(":")
    if sep and relation not in PARENT_RELATIONS:
        raise CallerError(f"--parent {value!r}: relation {relation!r} is not one of {_terms(PARENT_RELATIONS)}")
    return {"id": TRACK_PREFIX + ident, "relation": relation or "remix"}


def _stem(value: str) -> dict[str, str] | str:
    cid, sep, role = value.partition(":")
    if sep and role not in STEM_ROLES:
        raise CallerError(f"--stem {value!r}: role {role!r} is not one of {_terms(STEM_ROLES)}")
    return {"cid": cid, "role": role} if sep else cid  # a bare CID: role unknown (spec §5.1's older form)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CallerError(f"cannot read --provenance {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise CallerError(f"--provenance {path}: over {MAX_FILE_BYTES // 1024} KiB")
    try:
        value = strict_loads(data)
    except IntegrityError as exc:
        raise CallerError(f"--provenance {path} is not valid JSON: {exc.message}") from exc
    if not isinstance(value, dict):
        raise CallerError(f"--provenance {path}: a JSON object (the record's provenance, spec §5.1)")
    problem = provenance_problem(value)
    if problem:
        raise CallerError(f"--provenance {path}: {problem}")
    return value


def provenance_from(values: dict[str, Any]) -> dict[str, Any] | None:
    """The ``provenance`` object from the flags' values (keys ``OPTION_NAMES``), or ``None``
    when nothing is stated.  ``CallerError`` for a bad file, flag or combination."""
    path = values.get("provenance_file")
    p: dict[str, Any] = _read_file(path) if path is not None else {}
    generator = {k: v for k, v in (("name", values.get("ai_generator")), ("version", values.get("ai_generator_version")),
                                   ("url", values.get("ai_generator_url"))) if v is not None}
    if generator:
        given = p.get("generator")
        base = given if isinstance(given, dict) else {"name": given} if isinstance(given, str) else {}
        p["generator"] = {**base, **generator}
        if "name" not in p["generator"]:
            raise CallerError("--ai-generator-version and --ai-generator-url need --ai-generator NAME")
    for key, name in (("model", "ai_model"), ("modelVersion", "ai_model_version"), ("prompt", "prompt"),
                      ("negativePrompt", "negative_prompt"), ("seed", "seed"), ("digitalSourceType", "source_type")):
        if values.get(name) is not None:
            p[key] = values[name]
    if values.get("params"):
        given = p.get("parameters")
        p["parameters"] = {**(given if isinstance(given, dict) else {}), **_parse_params(values["params"])}
    if values.get("human_contribution"):
        p["humanContribution"] = list(dict.fromkeys(values["human_contribution"]))
    if values.get("parents"):
        p["parents"] = [_parent(v) for v in values["parents"]]
    if values.get("stems"):
        p["stems"] = [_stem(v) for v in values["stems"]]
    if (p.get("generator") or p.get("model")) and p.get("aiGenerated") is not False:
        p.setdefault("aiGenerated", True)
        p.setdefault("digitalSourceType", default_source_type(p))
    problem = provenance_error(p)
    if problem:
        raise CallerError(f"invalid {problem}")
    return p or None

