"""The workspace store: schema version, WAL and foreign keys, content-addressed evidence."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from secaudit.errors import InputError, WorkspaceError
from secaudit.store.workspace import MIGRATIONS, SCHEMA_VERSION, Workspace


def test_new_workspace_has_schema_wal_and_foreign_keys(ws: Workspace) -> None:
    assert ws.schema_version() == SCHEMA_VERSION
    assert ws.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert ws.db.execute("pragma foreign_keys").fetchone()[0] == 1
    assert (ws.root / "evidence").is_dir()


def test_open_refuses_newer_schema(ws: Workspace) -> None:
    with ws.transaction():
        ws.db.execute("update meta set value = ? where key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    with pytest.raises(WorkspaceError, match="newer"):
        Workspace.open(ws.root)


def test_open_upgrades_an_unversioned_database(tmp_path: Path) -> None:
    """A database created before any migration ran is brought to the current schema in place."""
    root = tmp_path / "old"
    root.mkdir()
    sqlite3.connect(root / "secaudit.db").close()
    ws = Workspace.open(root)
    assert ws.schema_version() == SCHEMA_VERSION
    assert "agencies" in ws.db.table_names()


def test_evidence_is_stored_once_by_content(ws: Workspace, tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    b = tmp_path / "../b copy; rm -rf.txt"
    a.write_bytes(b"bien ban")
    b.write_bytes(b"bien ban")
    first = ws.store_file(a)
    second = ws.store_file(b.resolve())
    assert first == second == hashlib.sha256(b"bien ban").hexdigest()
    assert ws.evidence_path(first).read_bytes() == b"bien ban"
    assert ws.db["evidence"].count == 1
    assert [p.name for p in (ws.root / "evidence").rglob("*") if p.is_file()] == [first]


def test_evidence_size_limit(ws: Workspace, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(InputError, match="size"):
        ws.store_file(big, max_bytes=1024)
    assert ws.db["evidence"].count == 0


def test_foreign_keys_enforced(ws: Workspace) -> None:
    with pytest.raises(sqlite3.IntegrityError), ws.transaction():
        ws.db.execute("insert into systems (agency, code, name) values ('khong-co', 'x', 'y')")
    assert ws.db["systems"].count == 0


@pytest.mark.parametrize("upto", [v for v, _ in MIGRATIONS[:-1]])
def test_old_workspace_is_upgraded_in_place(tmp_path: Path, upto: int) -> None:
    """A workspace written at any earlier schema version opens, upgrades and keeps its data."""
    import sqlite_utils

    from secaudit.inventory import records as inventory
    from secaudit.requirements import evidence
    from secaudit.store import auditlog

    root = tmp_path / "old"
    (root / "evidence").mkdir(parents=True)
    db = sqlite_utils.Database(root / "secaudit.db")
    db.enable_wal()
    for version, upgrade in MIGRATIONS:
        if version <= upto:
            upgrade(db)
    db["meta"].upsert({"key": "schema_version", "value": str(upto)}, pk="key")
    db["agencies"].insert({"code": "so-cu", "name": "Sở Cũ", "kind": "khac", "province": "Nghệ An",
                           "recipients": '["Lưu: VT"]', "position": 0})
    db["systems"].insert({"agency": "so-cu", "code": "ht", "name": "Hệ thống cũ", "critical": 1,
                          "restricted_sector": "none", "dossier_state": "da-phe-duyet", "level_approved": 2,
                          "decision_number": "1/QĐ", "decision_date": "2020-01-02", "position": 0})
    prev = auditlog.GENESIS
    for i in range(2):
        row = ["2020-01-01T00:00:00+00:00", "cũ", "test", "so-cu", str(i), "{}"]
        digest = auditlog.entry_hash(prev, *row)
        db.execute("insert into log (ts, actor, action, agency, subject, detail, prev_hash, hash)"
                   " values (?,?,?,?,?,?,?,?)", [*row, prev, digest])
        prev = digest
    db.conn.commit()
    db.close()

    ws = Workspace.open(root)
    assert ws.schema_version() == SCHEMA_VERSION
    agency = inventory.get_agency(ws, "so-cu")
    assert agency.recipients == ["Lưu: VT"] and agency.systems[0].level.approved == 2
    assert auditlog.verify(ws) == [] and ws.db["log"].count == 2
    # the upgraded workspace takes new writes, chained onto the old log
    path = tmp_path / "bb.pdf"
    path.write_bytes(b"bien ban")
    evidence.add(ws, path, actor="t", agency="so-cu", note="sau nâng cấp")
    assert auditlog.verify(ws) == [] and ws.db["log"].count == 3
    with pytest.raises(sqlite3.IntegrityError):
        ws.db.execute("delete from log")
    ws.close()
    assert Workspace.open(root).schema_version() == SCHEMA_VERSION  # opening again is a no-op


def test_settings_live_in_the_workspace(ws: Workspace) -> None:
    from secaudit.store.workspace import DEFAULT_MAX_EVIDENCE_BYTES

    assert ws.setting("x") is None and ws.setting("x", "d") == "d"
    assert ws.evidence_max_bytes() == DEFAULT_MAX_EVIDENCE_BYTES
    ws.set_setting("evidence_max_bytes", "2048")
    assert Workspace.open(ws.root).evidence_max_bytes() == 2048
    ws.set_setting("evidence_max_bytes", None)
    assert ws.evidence_max_bytes() == DEFAULT_MAX_EVIDENCE_BYTES
