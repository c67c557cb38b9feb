"""``osp publish``'s provenance flags and ``--provenance FILE.json`` (spec §5.1), and how
``osp resolve`` prints a record's provenance, both forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from osp.apps.cli.provenance_opts import OPTION_NAMES, provenance_from
from osp.apps.cli.provenance_view import provenance_lines
from osp.core.errors import CallerError
from tests.unit.test_cli_identity_records import osp

PARENT = "osp:track:bagaaieraxj3qg7qo6epjkdfttmhk6i2cedwzi6aq6disilcbuhilliagufwa"
OTHER = "osp:track:bagaaierap2aoghm5gtnkb537q53ncslnjrfqnf35hqcfat4we3a25vvktbna"
STEM = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"


def flags(**given: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: None for name in OPTION_NAMES}
    values.update(params=(), human_contribution=(), parents=(), stems=())
    values.update(given)
    return values


def test_no_flag_states_nothing() -> None:
    assert provenance_from(flags()) is None


def test_a_generator_alone_defaults_to_trained_algorithmic_media() -> None:
    assert provenance_from(flags(ai_generator="Suno", ai_generator_version="v4.5")) == {
        "generator": {"name": "Suno", "version": "v4.5"}, "aiGenerated": True,
        "digitalSourceType": "trainedAlgorithmicMedia"}
    assert provenance_from(flags(ai_model="m", human_contribution=("none",)))["digitalSourceType"] == \
        "trainedAlgorithmicMedia"  # type: ignore[index]


def test_a_human_contribution_makes_it_a_composite_and_an_explicit_source_type_wins() -> None:
    p = provenance_from(flags(ai_generator="Udio", human_contribution=("lyrics", "mixing", "lyrics")))
    assert p is not None and p["digitalSourceType"] == "compositeWithTrainedAlgorithmicMedia"
    assert p["humanContribution"] == ["lyrics", "mixing"]
    p = provenance_from(flags(ai_generator="Udio", source_type="algorithmicMedia"))
    assert p is not None and p["digitalSourceType"] == "algorithmicMedia"
    # no generator or model: nothing is presumed
    assert provenance_from(flags(human_contribution=("composition",))) == {"humanContribution": ["composition"]}


def test_parents_and_stems_parse_id_relation_and_cid_role() -> None:
    p = provenance_from(flags(parents=(PARENT, f"{OTHER}:cover"), stems=(f"{STEM}:drums",)))
    assert p == {"parents": [{"id": PARENT, "relation": "remix"}, {"id": OTHER, "relation": "cover"}],
                 "stems": [{"cid": STEM, "role": "drums"}]}
    with pytest.raises(CallerError, match="listed twice"):  # the same track twice (spec §5.1)
        provenance_from(flags(parents=(PARENT, f"{PARENT}:cover")))


def test_parent_and_stem_errors_name_the_flag_and_the_terms() -> None:
    with pytest.raises(CallerError, match="relation 'inspired' is not one of remix, extends, cover, samples"):
        provenance_from(flags(parents=(f"{PARENT}:inspired",)))
    with pytest.raises(CallerError, match="give a track id osp:track:b"):
        provenance_from(flags(parents=("bafy…",)))
    with pytest.raises(CallerError, match="role 'kazoo' is not one of vocals"):
        provenance_from(flags(stems=(f"{STEM}:kazoo",)))
    assert provenance_from(flags(stems=(STEM,))) == {"stems": [STEM]}  # a bare CID: role unknown


def test_file_members_are_overridden_by_flags(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"generator": "Suno", "prompt": "from the file", "seed": 7,
                                "parameters": {"a": 1, "b": 1}, "humanContribution": "wrote the words"}))
    p = provenance_from(flags(provenance_file=path, ai_generator_url="https://suno.com/", prompt="from a flag",
                              params=("b=2", "c=text", "d={\"x\": [1]}")))
    assert p == {"generator": {"name": "Suno", "url": "https://suno.com/"}, "prompt": "from a flag", "seed": 7,
                 "parameters": {"a": 1, "b": 2, "c": "text", "d": {"x": [1]}}, "humanContribution": "wrote the words",
                 "aiGenerated": True, "digitalSourceType": "compositeWithTrainedAlgorithmicMedia"}
    # a file saying "not AI-generated" keeps its word: no AI default is added
    path.write_text(json.dumps({"aiGenerated": False, "generator": "a DAW"}))
    assert provenance_from(flags(provenance_file=path)) == {"aiGenerated": False, "generator": "a DAW"}


@pytest.mark.parametrize("content,message", [
    ('{"generator": "Suno",', "is not valid JSON"),
    ('{"a": 1, "a": 2}', "is not valid JSON"),
    ("[1, 2]", "a JSON object"),
    ('{"generator": "Suno", "temperature": 0.9}', "provenance/temperature: unknown member"),
    ('{"humanContribution": ["vibes"]}', "'vibes' is not one of composition, lyrics, performance"),
    ('{"seed": 9007199254740992}', "seed: an integer from 0 to"),
    ('{"parameters": {"p": "' + "x" * 5000 + '"}}', "bytes as JCS (at most 4096)"),
    ("x" * (65 * 1024), "over 64 KiB"),
])
def test_bad_provenance_files_are_refused_with_the_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(CallerError) as exc:
        provenance_from(flags(provenance_file=path))
    assert message in exc.value.message and str(path) in exc.value.message


def test_publish_with_flags_and_file_then_resolve_shows_it(tmp_path: Path, music: list[Path]) -> None:
    assert osp(tmp_path, "id", "init").returncode == 0
    prov = tmp_path / "prov.json"
    prov.write_text(json.dumps({"generator": {"name": "Suno", "version": "v4"}, "prompt": "file prompt",
                                "negativePrompt": "no drums", "seed": 11}))
    proc = osp(tmp_path, "publish", str(music[0]), "--json", "--provenance", str(prov), "--ai-generator-version", "v4.5",
               "--ai-model", "chirp", "--seed", "12", "--param", "temperature=0.8", "--human-contribution", "lyrics",
               "--parent", f"{PARENT}:samples", "--stem", f"{STEM}:vocals")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert {"id", "cid", "torrent", "title", "artist", "record", "created", "file"} <= set(answer)  # shape unchanged
    assert answer["record"]["provenance"] == {
        "aiGenerated": True, "digitalSourceType": "compositeWithTrainedAlgorithmicMedia",
        "generator": {"name": "Suno", "version": "v4.5"}, "model": "chirp", "prompt": "file prompt",
        "negativePrompt": "no drums", "seed": 12, "parameters": {"temperature": 0.8}, "humanContribution": ["lyrics"],
        "parents": [{"id": PARENT, "relation": "samples"}], "stems": [{"cid": STEM, "role": "vocals"}]}
    record = tmp_path / "record.json"
    record.write_text(json.dumps(answer["record"]))
    shown = osp(tmp_path, "resolve", str(record))
    assert shown.returncode == 0, shown.stderr
    for line in ("AI        generated with Suno v4.5, model chirp", "source    compositeWithTrainedAlgorithmicMedia (IPTC)",
                 "negative  no drums", "seed      12", 'params    {"temperature": 0.8}', "human     lyrics",
                 f"parent    {PARENT}  samples", f"stem      {STEM}  vocals"):
        assert line in shown.stdout, shown.stdout


@pytest.mark.parametrize("args,message", [
    (["--human-contribution", "vibes"], "'vibes' is not one of composition, lyrics, performance, arrangement, mixing"),
    (["--human-contribution", "none", "--human-contribution", "mixing"], "'none' cannot be combined"),
    (["--source-type", "aiMusic"], "'aiMusic' is not one of trainedAlgorithmicMedia"),
    (["--parent", f"{PARENT}:inspired"], "relation 'inspired' is not one of remix"),
    (["--provenance", "missing.json"], "cannot read --provenance missing.json"),
    (["--ai-generator-url", "https://x.example/"], "need --ai-generator NAME"),
    (["--ai-generator", "g", "--ai-generator-url", "ftp://x"], "provenance/generator"),
])
def test_publish_refuses_bad_provenance_flags_in_one_line(tmp_path: Path, music: list[Path], args: list[str],
                                                         message: str) -> None:
    proc = osp(tmp_path, "publish", str(music[0]), *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "data" / "library.sqlite").exists() or "published" not in proc.stdout


def test_resolve_lines_of_the_older_forms_and_of_hostile_shapes() -> None:
    older = json.loads((VECTORS / "records.json").read_text())["vectors"][0]["signed"]["provenance"]
    lines = dict(provenance_lines(older))
    assert lines["AI"] == "generated with example-generator, model example-model 1.0" and lines["human"] == "arrangement"
    assert provenance_lines({"parents": [PARENT], "stems": [STEM]}) == [
        ("AI", "not declared"), ("parent", f"{PARENT}  (relation not stated)"), ("stem", f"{STEM}  (role not stated)")]
    assert provenance_lines({"aiGenerated": False}) == [("AI", "not AI-generated (the artist's statement)")]
    assert dict(provenance_lines({"prompt": "a\x1b[2Jb\u202e"}))["prompt"] == "a\ufffd[2Jb\ufffd"
    for hostile in (None, [], "x", {"generator": 3, "parents": "x", "stems": [None, {"cid": 3}], "seed": "1"}):
        assert provenance_lines(hostile)[0][0] == "AI"
