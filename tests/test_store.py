"""The workspace store: schema version, WAL and foreign keys, content-addressed evidence."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from secaudit.errors import InputError, WorkspaceError
from secaudit.store import SCHEMA_VERSION, Workspace


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
    import sqlite3

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
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError), ws.transaction():
        ws.db.execute("insert into systems (agency, code, name) values ('khong-co', 'x', 'y')")
    assert ws.db["systems"].count == 0
