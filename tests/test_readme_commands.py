"""Every ``secaudit …`` command line documented in README.md exists, with the options it shows (issue 17).

The command lines are read from the README's code blocks; for each, the command words (up to the
first argument or option) are run with ``--help`` in-process, and every option written on the
line must be an option of that command. ``system show --agency`` (documented, never existed) is
the kind of mistake this catches.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from secaudit.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
_WORD = re.compile(r"[a-z][a-z0-9-]*")
_OPTION = re.compile(r"--?[a-zA-Z][a-zA-Z0-9-]*")


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)


def _command_lines(text: str) -> list[str]:
    """Each documented ``secaudit …`` line: descriptions (after 3+ spaces) and ``# …`` comments cut,
    continuation lines (indented ``[--opt …]``) joined to their command."""
    lines: list[str] = []
    for block in _code_blocks(text):
        for raw in block.splitlines():
            line = re.split(r"\s#\s|\s#$", raw)[0] if not raw.lstrip().startswith("#") else ""
            stripped = line.strip()
            if match := re.match(r"(?:\S*/)?secaudit\s", stripped):  # also ".venv/bin/secaudit …"
                lines.append("secaudit " + re.split(r" {3,}", stripped[match.end():])[0])
            elif lines and raw.startswith("  ") and stripped[:1] in ("[", "-"):
                lines[-1] += " " + re.split(r" {3,}", stripped)[0]
    return lines


def _invocations(line: str) -> list[list[str]]:
    """``secaudit a b | c d`` -> one token list per command (a later segment that starts with a
    subcommand of the first segment's group continues that group: ``evidence list | show``)."""
    segments = [s.split() for s in line.removeprefix("secaudit ").split(" | ")]
    merged: list[list[str]] = [segments[0]]
    for seg in segments[1:]:
        if seg and _WORD.fullmatch(seg[0]):
            merged.append(seg)
        else:  # an alternative value inside the previous command, e.g. "(--text T | --file F)"
            merged[-1] += ["|", *seg]
    out = [merged[0]]
    group = _group_path(merged[0])
    for tokens in merged[1:]:
        parent: click.Command = cli
        for word in group:
            parent = parent.commands[word]  # type: ignore[attr-defined]
        if group and tokens[0] in parent.commands:  # type: ignore[attr-defined]  # "submissions list | status"
            tokens = [*group, *tokens]
        out.append(tokens)
    return out


def _group_path(tokens: list[str]) -> list[str]:
    """The group words at the start of ``tokens`` (``evidence`` of ``evidence list``)."""
    cmd: click.Command = cli
    path = []
    for word in _words(tokens):
        if not isinstance(cmd, click.Group) or word not in cmd.commands:
            break
        if not isinstance(cmd.commands[word], click.Group):
            break
        cmd = cmd.commands[word]
        path.append(word)
    return path


def _words(tokens: list[str]) -> list[str]:
    """The command words: lowercase words after any root options, up to the first argument/option."""
    words: list[str] = []
    rest = list(tokens)
    while rest and rest[0] in ("-w", "--workspace", "--actor"):  # root options before the command
        rest = rest[2:]
    for token in rest:
        if token.startswith("-") or not _WORD.fullmatch(token.split("|")[0]):
            break
        words.append(token)
    return words


def _resolve(tokens: list[str]) -> tuple[list[str], list[click.Command]]:
    """The command path for ``--help``, and the commands whose options the line may use."""
    cmd: click.Command = cli
    path: list[str] = []
    for word in _words(tokens):
        alternatives = word.split("|")
        if isinstance(cmd, click.Group) and alternatives[0] in cmd.commands:
            if len(alternatives) > 1:  # "agency list|show": each must exist, and have every option shown
                missing = [w for w in alternatives if w not in cmd.commands]
                assert not missing, f"{' '.join(path)}: no subcommand {missing}"
                return [*path, alternatives[0]], [cmd.commands[w] for w in alternatives]
            cmd = cmd.commands[word]
            path.append(word)
            continue
        if isinstance(cmd, click.Group) and not getattr(cmd, "default", None) and not cmd.invoke_without_command:
            path.append(word)  # not a subcommand of a group that takes no argument: --help will fail
        break  # else an argument written in lowercase (an agency code)
    if isinstance(cmd, click.Group) and not cmd.invoke_without_command:
        default = getattr(cmd, "default", None)
        if not default:
            return path, []
        hidden = [c for c in cmd.commands.values() if c.hidden or c.name == default]
        return path, hidden
    return path, [cmd]


def _options(tokens: list[str]) -> set[str]:
    found = set()
    for token in tokens:
        token = token.strip("[](),")
        if token.startswith("-") and (match := _OPTION.match(token)):
            found.add(match.group(0))
    return found


def _all_invocations() -> list[tuple[str, list[str]]]:
    return [(line, tokens) for line in _command_lines(README.read_text(encoding="utf-8"))
            for tokens in _invocations(line)]


def test_the_readme_documents_commands() -> None:
    found = _all_invocations()
    assert len(found) > 40
    assert any(t[:2] == ["assess", "phuong-thanh-vinh"] or t[:1] == ["assess"] for _, t in found)


@pytest.mark.parametrize(("line", "tokens"), _all_invocations(), ids=lambda v: " ".join(v) if isinstance(v, list)
                         else None)
def test_documented_command_exists_with_its_options(line: str, tokens: list[str]) -> None:
    path, commands = _resolve(tokens)
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output, (line, result.output)
    if not commands:
        return
    root = {"--help", "-h"} | {o for p in cli.params for o in [*p.opts, *p.secondary_opts]}
    documented = _options(tokens)
    if all(c.hidden or c.name == getattr(c, "default", None) for c in commands) and len(commands) > 1:
        known = root | {o for c in commands for p in c.params for o in [*p.opts, *p.secondary_opts]}
        unknown = sorted(documented - known)  # a group's hidden default commands: any of them
    else:  # one command, or alternatives ("list|show"): every one must take every option shown
        unknown = sorted({f"{c.name} {o}" for c in commands for o in documented
                          - (root | {o for p in c.params for o in [*p.opts, *p.secondary_opts]})})
    assert not unknown, f"README: '{line}': 'secaudit {' '.join(path)}' has no option {unknown}"


def test_the_check_catches_a_command_or_option_that_does_not_exist() -> None:
    text = "```\nsecaudit system show CODE --agency A\nsecaudit evidence lisst\n```\n"
    (first,), (second,) = (_invocations(line) for line in _command_lines(text))
    path, commands = _resolve(first)
    known = {o for c in commands for p in c.params for o in p.opts}
    assert path == ["system", "show"] and "--agency" not in known
    path, _ = _resolve(second)
    assert path == ["evidence", "lisst"] and CliRunner().invoke(cli, [*path, "--help"]).exit_code != 0
    path, commands = _resolve(_invocations("secaudit system list|show [--agency A]")[0])
    assert [c.name for c in commands] == ["list", "show"]  # --agency must exist on both: it does not on show
