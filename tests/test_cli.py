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
