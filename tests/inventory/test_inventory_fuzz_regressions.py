"""Regressions found by the inventory mutation fuzzer (``scripts/fuzz/inventory.py``), smallest inputs.

Each test is one class of input that escaped as a traceback (or broke the store) before its fix:
bad input must get a clean ``Error:`` naming the file and its line or cell, and leave the workspace
exactly as it was.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from bundle_helpers import snapshot

from secaudit.store.workspace import Workspace

from conftest import EXAMPLES, CliResult

SO_Y_TE = EXAMPLES / "inventory" / "so-y-te.yaml"


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")


@pytest.fixture
def workspace(cli, tmp_path: Path) -> Path:
    """An initialised workspace (the one the ``cli`` fixture uses) holding the so-y-te example."""
    assert cli("init").code == 0
    assert cli("inventory", "import", str(SO_Y_TE)).code == 0
    return tmp_path / "ws"


def _state(root: Path) -> Any:
    ws = Workspace.open(root)
    try:
        return snapshot(ws), [tuple(r) for r in ws.db.execute("select * from systems order by id")]
    finally:
        ws.close()


def _refused(result: CliResult, where: str) -> None:
    assert result.code == 1, (result.code, result.out, result.err)
    assert "Traceback" not in result.err + result.out
    assert result.err.startswith("Error: "), result.err
    assert where in result.err, result.err


def _exported(cli, tmp_path: Path) -> Path:
    path = tmp_path / "danh-muc.xlsx"
    assert cli("inventory", "export", "--format", "xlsx", "-o", str(path)).code == 0
    return path


def _set_cell(path: Path, sheet: str, key: str, value: Any) -> tuple[Path, str]:
    """Write ``value`` into the first data row of the column whose key (row 2) is ``key``."""
    book = openpyxl.load_workbook(path)
    ws = book[sheet]
    column = next(c.column_letter for c in ws[2] if c.value == key)
    ws[f"{column}3"] = value
    out = path.with_name("sua.xlsx")
    book.save(out)
    return out, f"'{sheet}', dòng/row 3, cột/column {column}"


# -- a count too large for SQLite (OverflowError from the store) -------------------------------------
def test_huge_count_in_yaml_is_refused_at_its_line(cli, workspace: Path, tmp_path: Path) -> None:
    lines = SO_Y_TE.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("users:"))
    lines[number - 1] = lines[number - 1].split(":")[0] + ": 99999999999999999999\n"
    path = tmp_path / "so-y-te.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    before = _state(workspace)
    result = cli("inventory", "import", str(path))
    _refused(result, f"{path}:{number}")
    assert "quá lớn" in result.err
    assert _state(workspace) == before


def test_huge_count_in_a_workbook_is_refused_at_its_cell(cli, workspace: Path, tmp_path: Path) -> None:
    bad, cell = _set_cell(_exported(cli, tmp_path), "Hệ thống", "data_subjects_basic", 2**63)
    before = _state(workspace)
    result = cli("inventory", "import", str(bad))
    _refused(result, cell)
    assert _state(workspace) == before


# -- an explicit YAML tag on a value that is not of that type (PyYAML's constructor crashed) ---------
@pytest.mark.parametrize("value", ["!!timestamp x", "!!bool x", "!!int ''", "!!float"])
def test_explicit_tag_on_a_wrong_value_is_refused_at_its_line(cli, workspace: Path, tmp_path: Path,
                                                              value: str) -> None:
    path = tmp_path / "co-quan.yaml"
    path.write_text(f"code: co-quan\nname: Cơ quan\ngo_live: {value}\n", encoding="utf-8")
    before = _state(workspace)
    result = cli("inventory", "import", str(path))
    _refused(result, f"{path}:3")
    assert _state(workspace) == before


# -- a sheet whose data fails its CRC check (zipfile.BadZipFile while the sheet streams) -------------
def _wrong_crc(path: Path, member: str) -> Path:
    """The workbook with ``member``'s CRC-32 in the central directory off by one: the data inflates to
    valid XML, and zipfile raises ``BadZipFile`` only when the streamed sheet reaches its end."""
    data = bytearray(path.read_bytes())
    header = data.index(b"PK\x01\x02")  # the first central directory entry
    name = member.encode("utf-8")
    while data[header + 46:header + 46 + len(name)] != name:
        header = data.index(b"PK\x01\x02", header + 4)
    crc = int.from_bytes(data[header + 16:header + 20], "little")
    data[header + 16:header + 20] = ((crc + 1) % 2**32).to_bytes(4, "little")
    out = path.with_name("hong.xlsx")
    out.write_bytes(bytes(data))
    return out


def test_sheet_failing_its_crc_is_refused(cli, workspace: Path, tmp_path: Path) -> None:
    # sheet3 is "Hệ thống", read lazily after the workbook has opened
    bad = _wrong_crc(_exported(cli, tmp_path), "xl/worksheets/sheet3.xml")
    before = _state(workspace)
    result = cli("inventory", "import", str(bad))
    _refused(result, str(bad))
    assert "hỏng" in result.err and "'Hệ thống'" in result.err  # the sheet that is damaged
    assert _state(workspace) == before


# -- a YAML escape for a character XML cannot carry: accepted, then the workbook export crashed ----
@pytest.mark.parametrize("escape", ["\\uFFFE", "\\uFFFF"])
def test_character_xml_cannot_carry_is_refused_at_its_line(cli, workspace: Path, tmp_path: Path,
                                                           escape: str) -> None:
    path = tmp_path / "co-quan.yaml"
    path.write_text(f'code: co-quan\nname: "Cơ quan {escape}"\nkind: khac\n', encoding="utf-8")
    before = _state(workspace)
    result = cli("inventory", "import", str(path))
    _refused(result, f"{path}:2")
    assert _state(workspace) == before
    assert cli("inventory", "export", "--format", "xlsx", "-o", str(tmp_path / "ra.xlsx")).code == 0


# -- a path that is no regular file: a folder named *.yaml (IsADirectoryError), a named pipe (hang) --
def test_folder_named_like_a_yaml_file_is_refused(cli, workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "danh-muc"
    (folder / "cu.yaml").mkdir(parents=True)
    (folder / "so-y-te.yaml").write_bytes(SO_Y_TE.read_bytes())
    before = _state(workspace)
    result = cli("inventory", "import", str(folder))
    _refused(result, str(folder / "cu.yaml"))
    assert "thư mục" in result.err
    assert _state(workspace) == before


class _HungError(BaseException):
    """Not an OSError: zipfile.is_zipfile swallows those and would turn the hang into a pass."""


def _on_alarm(_signal: int, _frame: Any) -> None:
    raise _HungError("the import did not return")


@pytest.mark.parametrize("name", ["ong.yaml", "ong.xlsx"])
def test_named_pipe_is_refused_without_waiting(cli, workspace: Path, tmp_path: Path, name: str) -> None:
    pipe = tmp_path / name
    os.mkfifo(pipe)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(10)  # before the fix, opening the pipe blocked forever
    try:
        result = cli("inventory", "import", str(pipe))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    _refused(result, str(pipe))
