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
    assert names == ["gen-data", "import", "train", "pretrain", "sweep", "report", "inspect",
                     "surface", "init-lab", "bench"]


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


# The labels "A1".."A26" and "C1".."C17" name entries of a document outside the repository (issue
# 11); the docs cite the paper's sections, figures and equations, and docs/choices.md, instead.
# A label stands alone: not inside a word, a hex number or a colour ("#C0C0C0", "0xA3"), and not
# a paper size ("A4 paper").
_CLAIM_LABEL = re.compile(r"(?<![#\w])[AC]\d{1,2}\b(?!\s+(?:paper|sheet|size|format)\b)")
_REPO = Path(__file__).resolve().parents[1]


def _doc_texts():
    """(path relative to the repository, text) of README.md and every text file under docs/."""
    paths = [_REPO / "README.md", *sorted(p for p in (_REPO / "docs").rglob("*") if p.is_file())]
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # the figures
            continue
        yield path.relative_to(_REPO).as_posix(), text


def test_docs_cite_the_paper_not_the_labels_of_a_document_outside_the_repository():
    found = []
    for name, text in _doc_texts():
        for n, line in enumerate(text.splitlines(), 1):
            found += [f"{name}:{n}: {m.group()}" for m in _CLAIM_LABEL.finditer(line)]
            if "paper.md" in line:
                found.append(f"{name}:{n}: paper.md")
    assert not found, ("cite the paper's section, figure or equation, or an entry of "
                       "docs/choices.md, instead of:\n" + "\n".join(found))


def _anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a markdown text (code blocks skipped)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6} +(.+?) *#*$", text, flags=re.M)}


def test_links_into_and_out_of_choices_md_point_at_existing_headings():
    docs = _REPO / "docs"
    texts = dict(_doc_texts())
    broken = []
    for name, text in texts.items():
        for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", text):
            source = _REPO / name
            path = (source.parent / target).resolve() if target else source
            if path != docs / "choices.md" and source != docs / "choices.md":
                continue
            rel = path.relative_to(_REPO).as_posix() if path.is_relative_to(_REPO) else str(path)
            if rel not in texts or anchor not in _anchors(texts[rel]):
                broken.append(f"{name}: ({target}#{anchor})")
    assert not broken, "links to headings that do not exist:\n" + "\n".join(broken)
