"""Inventory: YAML ↔ SQLite round-trip, and bad inventories fail with file:line, store unchanged."""

from __future__ import annotations

import filecmp
import re
import sqlite3
from pathlib import Path

import pytest

from secaudit import inventory
from secaudit.errors import InputError
from secaudit.store import Workspace

from conftest import EXAMPLES

GOOD = """\
code: so-thu
name: Sở Thử nghiệm
kind: so-ban-nganh
systems:
  - code: he-thong-a
    name: Hệ thống A
    critical: true
    hosts:
      - address: 127.0.0.1
        ports: [{port: 8080}]
"""


def _counts(ws: Workspace) -> dict[str, int]:
    return {t: ws.db[t].count for t in ("agencies", "systems", "hosts", "log")}


def test_examples_round_trip_byte_identical(example_ws: Workspace, tmp_path: Path) -> None:
    first = tmp_path / "export1"
    inventory.export_agencies(example_ws, first)
    other = Workspace.create(tmp_path / "ws2")
    agencies = inventory.load_agencies(inventory.inventory_files(first))
    inventory.import_agencies(other, agencies, actor="pytest", source=str(first))
    second = tmp_path / "export2"
    inventory.export_agencies(other, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) == len(list((EXAMPLES / "inventory").glob("*.yaml")))
    _match, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert mismatch == [] and errors == []
    # the export carries the same facts as the source files
    for path in (EXAMPLES / "inventory").glob("*.yaml"):
        assert inventory.load_agency(path) == inventory.load_agency(first / path.name)


def test_reimport_replaces_systems_and_keeps_ids(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "so-thu.yaml"
    path.write_text(GOOD, encoding="utf-8")
    inventory.import_agencies(ws, inventory.load_agencies([path]), actor="t", source="1")
    sid = ws.system_id("so-thu", "he-thong-a")
    path.write_text(GOOD.replace("Hệ thống A", "Hệ thống A (mới)"), encoding="utf-8")
    inventory.import_agencies(ws, inventory.load_agencies([path]), actor="t", source="2")
    assert ws.system_id("so-thu", "he-thong-a") == sid
    assert inventory.get_agency(ws, "so-thu").systems[0].name == "Hệ thống A (mới)"
    assert ws.db["hosts"].count == 1


BAD = {
    "yaml-syntax": (GOOD.replace("critical: true", "critical: [true"), 8, "YAML"),
    "unknown-key": (GOOD.replace("    critical: true", "    critcal: true"), 7, "critcal"),
    "wrong-type": (GOOD.replace("critical: true", "critical: maybe"), 7, "critical"),
    "level-7": (GOOD.replace("    critical: true", "    critical: true\n    level: {approved: 7, decision_number: x,"
                             " decision_date: 2026-01-01}"), 8, "approved"),
    "approved-without-decision": (GOOD.replace("    critical: true", "    critical: true\n    level: {approved: 3}"),
                                  8, "decision"),
    "hostile-host": (GOOD.replace("127.0.0.1", "'-oN x'"), 9, "address"),
    "hostile-host-2": (GOOD.replace("127.0.0.1", "'127.0.0.1 --script x'"), 9, "address"),
    "duplicate-system": (GOOD + "  - code: he-thong-a\n    name: Trùng\n", 11, "he-thong-a"),
    "duplicate-key": (GOOD.replace("kind: so-ban-nganh", "kind: so-ban-nganh\nkind: khac"), 4, "kind"),
    "bad-code": (GOOD.replace("code: he-thong-a", "code: 'Hệ thống/../x'"), 5, "code"),
    "negative-users": (GOOD.replace("critical: true", "critical: true\n    users: -5"), 8, "users"),
    "bad-date": (GOOD.replace("critical: true", "critical: true\n    go_live: 2026-13-45"), 8, "go_live"),
    "not-a-mapping": ("- just\n- a list\n", 1, "mapping"),
    "missing-name": (GOOD.replace("name: Sở Thử nghiệm\n", ""), 1, "name"),
    "port-out-of-range": (GOOD.replace("port: 8080", "port: 70000"), 10, "port"),
    "bad-enum": (GOOD.replace("kind: so-ban-nganh", "kind: bo"), 3, "kind"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inventory_names_file_and_line_and_changes_nothing(example_ws: Workspace, tmp_path: Path,
                                                               case: str) -> None:
    text, line, needle = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    before = _counts(example_ws)
    with pytest.raises(InputError) as info:
        inventory.import_agencies(example_ws, inventory.load_agencies([path]), actor="t", source="bad")
    message = info.value.diagnostics()
    assert f"{path}:{line}" in message, message
    assert needle.lower() in message.lower()
    assert _counts(example_ws) == before


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="alias"):
        inventory.load_agency(path)


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as fh:
        fh.write(GOOD)
        fh.write("# " + "x" * (50 * 1024 * 1024) + "\n")
    with pytest.raises(InputError, match=re.escape(f"{path}:1")):
        inventory.load_agency(path)


def test_wrong_encoding_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.replace("Hệ thống A", "Syst\u00e8me").encode("latin-1", errors="replace"))
    with pytest.raises(InputError, match="UTF-8") as info:
        inventory.load_agency(path)
    assert f"{path}:6" in info.value.diagnostics()


def test_one_bad_file_in_a_folder_imports_nothing(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "inv"
    folder.mkdir()
    (folder / "a.yaml").write_text(GOOD, encoding="utf-8")
    (folder / "b.yaml").write_text(GOOD.replace("so-thu", "so-khac").replace("critical: true", "critical: 3x"),
                                   encoding="utf-8")
    with pytest.raises(InputError):
        inventory.import_agencies(ws, inventory.load_agencies(inventory.inventory_files(folder)), actor="t",
                                  source="x")
    assert ws.db["agencies"].count == 0


def test_duplicate_agency_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(InputError, match="so-thu"):
        inventory.load_agencies(inventory.inventory_files(tmp_path))


def test_failed_import_rolls_back_midway(ws: Workspace, tmp_path: Path) -> None:
    """A database error in the middle of an import leaves nothing behind (one transaction)."""
    path = tmp_path / "a.yaml"
    path.write_text(GOOD, encoding="utf-8")
    agencies = inventory.load_agencies([path])
    ws.db.execute("create trigger boom before insert on hosts begin select raise(abort, 'boom'); end")
    with pytest.raises(sqlite3.IntegrityError):
        inventory.import_agencies(ws, agencies, actor="t", source="x")
    assert (ws.db["agencies"].count, ws.db["systems"].count, ws.db["log"].count) == (0, 0, 0)
