"""CLI shape: every command has help, errors become 'Error: …' with the documented exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from secaudit.cli import cli as root

from conftest import EXAMPLES


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


ALL = _commands(root)


def test_commands_named_by_the_issues_exist() -> None:
    names = {" ".join(path) for path, _ in ALL}
    for required in ["init", "inventory import", "inventory export", "inventory validate", "agency list",
                     "system list", "assess", "status", "scan", "report"]:
        assert required in names


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_every_command_has_help(cli, path: tuple[str, ...]) -> None:
    command = dict(ALL)[path]
    assert command.help and len(command.help.strip()) > 10
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts} has no help"
    result = cli(*path, "--help")
    assert result.code == 0
    assert "Usage:" in result.out


def _modules_define() -> dict[str, str]:
    """Every top-level command, by the module of ``secaudit.cli`` that defines it, found by importing
    every module of the package (not through the table the lazy group reads)."""
    import importlib
    import pkgutil

    import secaudit.cli

    for info in pkgutil.iter_modules(secaudit.cli.__path__):
        importlib.import_module(f"secaudit.cli.{info.name}")
    loaded = root.commands
    assert isinstance(loaded, secaudit.cli.LazyCommands)
    found = {}
    for name in loaded:
        command = loaded.loaded(name)
        assert command is not None, f"'{name}' is in COMMAND_MODULES but no module defines it"
        found[name] = command.callback.__module__ if command.callback else "?"
    return found


def test_command_table_matches_the_commands() -> None:
    """``COMMAND_MODULES`` (what ``secaudit --help`` lists without importing) names every command, its
    module, and a first paragraph that shortens to the same line as the command's own help."""
    from secaudit.cli import COMMAND_MODULES

    defined = _modules_define()
    table = {name: f"secaudit.cli.{module}" for name, (module, _) in COMMAND_MODULES.items()}
    assert {n: m for n, m in defined.items() if m != "secaudit.cli"} == table
    for name, (_, summary) in COMMAND_MODULES.items():
        command = root.commands[name]
        stand_in = click.Command(name, help=summary)
        assert not command.hidden and not command.deprecated and command.short_help is None, (
            f"'{name}': the root help lists it from its help text only (see LazyGroup.format_commands)")
        assert " ".join((command.help or "").partition("\n\n")[0].split()) == summary, (
            f"'{name}': COMMAND_MODULES must hold the first paragraph of its help")
        for limit in (20, 45, 60, 80, 120, 400):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), (name, limit)


def test_root_help_is_the_same_before_and_after_the_commands_load(tmp_path: Path) -> None:
    """A fresh ``secaudit --help`` (commands listed from the table) prints what it prints once every
    command module is imported, and a command's help imports its module."""
    env = {"PATH": "/usr/bin:/bin", "SECAUDIT_WORKSPACE": str(tmp_path / "ws"), "HOME": str(tmp_path)}
    script = (
        "import importlib, pkgutil, sys\n"
        "import secaudit.cli as c\n"
        "if sys.argv[1] == 'loaded':\n"
        "    [importlib.import_module(f'secaudit.cli.{m.name}') for m in pkgutil.iter_modules(c.__path__)]\n"
        "rc = c.main(sys.argv[2:])\n"
        "print('MODULES', *sorted(m for m in sys.modules if m.startswith('secaudit.cli.')))\n"
        "sys.exit(rc)\n"
    )

    def run(mode: str, *args: str) -> tuple[str, list[str]]:
        done = subprocess.run([sys.executable, "-c", script, mode, *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=60, check=True)
        text, _, modules = done.stdout.rpartition("MODULES")
        return text, modules.split()

    lazy, lazy_modules = run("lazy", "--help")
    loaded, _ = run("loaded", "--help")
    assert lazy == loaded
    assert lazy_modules == [], "secaudit --help imported command modules"
    assert "  status " in lazy and "  scan " in lazy
    scan_help, scan_modules = run("lazy", "scan", "--help")
    assert "secaudit.cli.scan" in scan_modules and "import" in scan_help
    assert run("loaded", "scan", "--help")[0] == scan_help


def test_root_help_lists_exit_codes(cli) -> None:
    result = cli("--help")
    assert result.code == 0 and "3 requirements not met" in result.out


def test_usage_error_exits_2(cli) -> None:
    assert cli("report").code == 2
    assert cli("no-such-command").code == 2


def test_missing_workspace_is_a_clear_error(cli) -> None:
    result = cli("agency", "list")
    assert result.code == 1
    assert result.err.startswith("Error: ") and "secaudit init" in result.err


def test_init_twice_refuses(cli) -> None:
    assert cli("init").code == 0
    again = cli("init")
    assert again.code == 1 and "Error:" in again.err


def test_listing_formats(cli) -> None:
    cli("init")
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    table = cli("agency", "list")
    assert "so-khcn" in table.out and "Sở Khoa học và Công nghệ" in table.out
    as_json = cli("system", "list", "--agency", "so-khcn", "--format", "json")
    import json

    rows = json.loads(as_json.out)
    assert {r["agency"] for r in rows} == {"so-khcn"} and len(rows) >= 2
    as_csv = cli("agency", "list", "--format", "csv", "--no-bom")
    assert as_csv.out.splitlines()[0].startswith(("Mã,Tên cơ quan", "Code,Name"))  # issue 17: titled, in $LANG
    assert cli("system", "list", "--agency", "khong-co").code == 1


def test_installed_command_finds_its_data_from_any_directory(tmp_path: Path) -> None:
    """The console script (as installed) finds checklists/profiles/templates outside the checkout."""
    exe = Path(sys.executable).with_name("secaudit")
    env = {**os.environ, "SECAUDIT_WORKSPACE": str(tmp_path / "ws")}
    out = subprocess.run([str(exe), "checklist", "list", "--format", "csv"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert "kh04-bcdtw" in out.stdout
    out = subprocess.run([str(exe), "profile", "show", "tu-danh-gia"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert "kh04-bcdtw" in out.stdout
