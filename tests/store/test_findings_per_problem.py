"""Findings one row per problem (issue 14): the v15 migration collapses the old rows, one per requirement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlite_utils

from secaudit.store.migrations.v0015_findings_per_problem import collapse
from secaudit.store.workspace import MIGRATIONS, SCHEMA_VERSION, Workspace, join_refs, split_refs

COLUMNS = ("id", "scan_id", "agency", "system", "address", "port", "rule", "severity", "checklist", "item",
           "title", "detail", "fkey", "track_id")
#: Old-style rows as v14 wrote them, ids interleaved across problems and two scans:
#: (id, scan, address, port, rule, checklist, item, detail, track)
OLD_ROWS = [
    (1, 1, "10.0.0.1", 6379, "dich-vu-rui-ro-cao", "kh04", "t1-lo-hong", "redis", 1),
    (2, 1, "10.0.0.1", 6379, "dich-vu-rui-ro-cao", "nd331", "bp-kt-mang", "redis", 1),
    (3, 1, "10.0.0.1", 8080, "thieu-csp", "kh04", "t1-lo-hong", "thiếu CSP", 2),
    (4, 1, "10.0.0.1", 6379, "dich-vu-rui-ro-cao", "tt12", "bp-kt-mang", "redis", 1),
    (5, 1, "10.0.0.9", None, "may-chu-ngoai-khai-bao", "kh04", "t1-lo-hong", "cổng mở: 22", 3),
    (6, 1, "10.0.0.9", None, "may-chu-ngoai-khai-bao", "nd331", "bp-kt-may-chu", "cổng mở: 22", 3),
    (7, 2, "10.0.0.1", 6379, "dich-vu-rui-ro-cao", "kh04", "t1-lo-hong", "redis 7", 1),
    (8, 2, "10.0.0.1", 6379, "dich-vu-rui-ro-cao", "nd331", "bp-kt-mang", "redis 7", 1),
]


def _v14_workspace(root: Path) -> None:
    (root / "evidence").mkdir(parents=True)
    db = sqlite_utils.Database(root / "secaudit.db")
    db.enable_wal()
    for version, upgrade in MIGRATIONS:
        if version <= 14:
            upgrade(db)
    db["meta"].upsert({"key": "schema_version", "value": "14"}, pk="key")
    for scan_id in (1, 2):
        db["scans"].insert({"id": scan_id, "agency": "so-a", "system": "web", "profile": "nhanh",
                            "status": "complete", "started": f"2026-11-0{scan_id}T00:00:00+00:00"})
    for fid, scan_id, address, port, rule, checklist, item, detail, track in OLD_ROWS:
        fkey = f"{rule}|{address}|{port or ''}"
        db["findings"].insert(dict(zip(COLUMNS, (fid, scan_id, "so-a", "web", address, port, rule, "cao", checklist,
                                                  item, rule.upper(), detail, fkey, track), strict=True)))
    db.conn.commit()
    db.close()


def _findings(ws: Workspace) -> list[dict[str, Any]]:
    return list(ws.db.query("select * from findings order by id"))


def test_migration_keeps_one_row_per_problem_with_every_requirement_in_order(tmp_path: Path) -> None:
    _v14_workspace(tmp_path / "old")
    ws = Workspace.open(tmp_path / "old")
    try:
        assert ws.schema_version() == SCHEMA_VERSION
        rows = _findings(ws)
        assert [r["id"] for r in rows] == [1, 3, 5, 7]  # the smallest id of each problem and scan
        assert [split_refs(r["bears_on"]) for r in rows] == [
            ["kh04:t1-lo-hong", "nd331:bp-kt-mang", "tt12:bp-kt-mang"],
            ["kh04:t1-lo-hong"],
            ["kh04:t1-lo-hong", "nd331:bp-kt-may-chu"],
            ["kh04:t1-lo-hong", "nd331:bp-kt-mang"],
        ]
        assert all(r["checklist"] is None and r["item"] is None for r in rows)  # one place says what it bears on
        assert [(r["port"], r["detail"], r["fkey"], r["track_id"]) for r in rows] == [
            (6379, "redis", "dich-vu-rui-ro-cao|10.0.0.1|6379", 1), (8080, "thiếu CSP", "thieu-csp|10.0.0.1|8080", 2),
            (None, "cổng mở: 22", "may-chu-ngoai-khai-bao|10.0.0.9|", 3),
            (6379, "redis 7", "dich-vu-rui-ro-cao|10.0.0.1|6379", 1)]
    finally:
        ws.close()
    again = Workspace.open(tmp_path / "old")  # opening again changes nothing
    try:
        assert [r["id"] for r in _findings(again)] == [1, 3, 5, 7]
    finally:
        again.close()


def test_migrated_and_new_workspaces_have_the_same_findings_table(tmp_path: Path) -> None:
    _v14_workspace(tmp_path / "old")
    old, new = Workspace.open(tmp_path / "old"), Workspace.create(tmp_path / "new")
    try:
        def shape(ws: Workspace) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in ws.db.execute("pragma table_info(findings)").fetchall()]

        assert shape(old) == shape(new)
        assert "bears_on" in {c[1] for c in shape(new)}
    finally:
        old.close()
        new.close()


def test_collapse_turns_old_bundle_rows_into_problems_and_leaves_new_rows_alone() -> None:
    old = [dict(zip(COLUMNS, (fid, scan_id, "so-a", "web", address, port, rule, "cao", checklist, item, rule,
                              detail, f"{rule}|{address}|{port or ''}", track), strict=True))
           for fid, scan_id, address, port, rule, checklist, item, detail, track in OLD_ROWS]
    rows = collapse(old)
    assert [(r["id"], r["bears_on"], r["checklist"], r["item"]) for r in rows] == [
        (1, "kh04:t1-lo-hong,nd331:bp-kt-mang,tt12:bp-kt-mang", None, None), (3, "kh04:t1-lo-hong", None, None),
        (5, "kh04:t1-lo-hong,nd331:bp-kt-may-chu", None, None), (7, "kh04:t1-lo-hong,nd331:bp-kt-mang", None, None)]
    assert old[1]["checklist"] == "nd331"  # the input rows are not modified
    assert collapse(rows) == rows


def test_refs_round_trip_in_order_and_once() -> None:
    refs = ["kh04-bcdtw:t1-lo-hong", "cap-do-nd331:bp-kt-may-chu", "kh04-bcdtw:t1-lo-hong"]
    assert split_refs(join_refs(refs)) == refs[:2]
    assert split_refs(None) == [] and split_refs("") == []


def test_findings_are_indexed_by_scan_as_every_reader_selects_them(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    try:
        plan = " ".join(str(r[-1]) for r in ws.db.execute(
            "explain query plan select * from findings where scan_id in (1, 2) and system = 'web'").fetchall())
        assert "USING INDEX idx_findings_scan_id_system" in plan, plan
    finally:
        ws.close()


def test_the_migration_module_imports_on_its_own() -> None:
    """Bundle reading imports ``collapse`` directly; the workspace module imports every migration."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import secaudit.store.migrations.v0015_findings_per_problem"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
