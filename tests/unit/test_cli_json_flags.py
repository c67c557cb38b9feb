"""Every ``osp`` verb that prints a result has ``--json`` (the README says so): the command
tree is walked, and a verb without it must be one of the few whose output is not a result
(a long-running node, audio to a player)."""

from __future__ import annotations

import click

from osp.apps.cli.main import cli

WITHOUT_JSON = {"node", "play"}  #: runs until stopped / streams audio: nothing to print as JSON


def _verbs(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found |= _verbs(command, path + " ")
        else:
            found[path] = command
    return found


def test_every_verb_has_json() -> None:
    verbs = _verbs(cli)
    assert {"follow", "unfollow", "playlist rename", "playlist delete", "like", "retract"} <= set(verbs)
    lacking = {path for path, command in verbs.items()
               if not any("--json" in getattr(p, "opts", ()) for p in command.params)}
    assert lacking == WITHOUT_JSON
