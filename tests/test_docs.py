"""Every command is documented: help text, help on every option, an example in its help, and a
`## \\`glorot <command>\\`` section with an example in docs/cli.md (after sqlite-utils)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands():
    """(path, click command) for every leaf command and every group, walked from the root."""
    from glorotcli.cli.app import command

    root = command()
    found = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if path:
            found.append((" ".join(path), cmd, subs is not None))
        for name, sub in sorted((subs or {}).items()):
            if not getattr(sub, "hidden", False):
                walk(sub, [*path, name])

    walk(root, [])
    return found


COMMANDS = _commands()
LEAVES = [(p, c) for p, c, group in COMMANDS if not group]


def _sections(text: str) -> dict[str, str]:
    """docs/cli.md split at its `## ` headings: heading text -> body."""
    parts = re.split(r"^## +(.+?)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_the_walk_finds_the_commands_this_part_ships():
    paths = {p for p, _ in LEAVES}
    assert {"import mnist", "import cifar10", "inspect"} <= paths


@pytest.mark.parametrize("path, cmd", [(p, c) for p, c, _ in COMMANDS],
                         ids=[p for p, _, _ in COMMANDS])
def test_every_command_and_group_has_help_text(path, cmd):
    assert (cmd.help or "").strip(), f"`glorot {path}` has no help text"


@pytest.mark.parametrize("path, cmd", LEAVES, ids=[p for p, _ in LEAVES])
def test_every_command_help_shows_an_example(path, cmd):
    assert f"glorot {path}" in (cmd.help or ""), (
        f"the help of `glorot {path}` should end with an example invocation")


@pytest.mark.parametrize("path, cmd", [(p, c) for p, c, _ in COMMANDS],
                         ids=[p for p, _, _ in COMMANDS])
def test_every_option_and_argument_has_help_text(path, cmd):
    missing = [p.name for p in cmd.params
               if not getattr(p, "hidden", False) and not (getattr(p, "help", None) or "").strip()]
    assert not missing, f"`glorot {path}`: no help text for {', '.join(missing)}"


@pytest.mark.parametrize("path", [p for p, _ in LEAVES])
def test_every_command_has_a_section_with_an_example_in_cli_md(path):
    sections = _sections(CLI_MD.read_text())
    heading = f"`glorot {path}`"
    assert heading in sections, f"docs/cli.md has no section '## {heading}'"
    body = sections[heading]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", body, flags=re.S)
    assert any(f"glorot {path}" in b for b in blocks), (
        f"docs/cli.md section {heading} has no code block with an example `glorot {path} ...`")
    assert "(to be written)" not in body, f"docs/cli.md section {heading} is a placeholder"


def test_help_lists_the_commands_in_the_order_of_the_workflow():
    from typer.testing import CliRunner

    from glorotcli.cli.app import _register, app

    _register()
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"}).output
    commands = out[out.index("Commands"):]
    names = [line.split()[1] for line in commands.splitlines()
             if line.startswith("│ ") and len(line.split()) > 2 and line[2:3].isalpha()]
    assert names == ["gen-data", "import", "train", "sweep", "report", "inspect", "surface",
                     "bench"]


@pytest.mark.parametrize("path, cmd", [(p, c) for p, c, _ in COMMANDS],
                         ids=[p for p, _, _ in COMMANDS])
def test_help_shows_no_placeholder_after_flags_and_examples_fit_80_columns(path, cmd, run_cli,
                                                                           monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli(*path.split(), "--help")
    assert code == 0
    assert "<bool>" not in out and "<list" not in out, f"`glorot {path} --help` shows a type"
    shown = [line.strip() for line in out.splitlines()]
    for paragraph in (cmd.help or "").split("\n\n"):
        example = paragraph.strip()
        if example.startswith("glorot ") and "\n" not in example:
            assert example in shown, f"`glorot {path}`: example wraps at 80 columns: {example}"
