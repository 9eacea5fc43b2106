"""Crashes and concurrent writers, with real processes: SIGKILL mid-import, two writers at once.

The import runs as a real ``secaudit inventory import`` subprocess. To catch it *inside* its
transaction with uncommitted pages already on disk, the test adds two things to the database
only: a trigger that writes 64 KiB of ballast per host row (so SQLite's page cache overflows and
spills uncommitted frames into the ``-wal`` file) and burns a little CPU (so the transaction lasts
seconds). The test kills the process once the write lock is held and the WAL has grown by
megabytes, then checks that SQLite's recovery left exactly the state from before the import.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from secaudit.inventory import records as inventory
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES, ROOT

TABLES = ("agencies", "systems", "hosts", "log", "evidence", "evidence_refs")


def _synthetic() -> Any:
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _secaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "secaudit", *args]


def _counts(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def _write_locked(db_path: Path) -> bool:
    """True while another connection holds the write lock (i.e. is inside a write transaction)."""
    probe = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        probe.execute("begin immediate")
        probe.execute("rollback")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_sigkill_mid_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    synthetic = _synthetic()
    inv = synthetic.write_yaml(tmp_path / "province", synthetic.province(40, 10))
    root = tmp_path / "ws"
    ws = Workspace.create(root)
    inventory.import_path(ws, EXAMPLES / "inventory", actor="pytest")
    ws.db.execute("create table ballast (b blob)")
    ws.db.execute(
        "create trigger slow_host after insert on hosts begin"
        " insert into ballast (b) values (randomblob(65536));"
        " select count(*) from (with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000)"
        " select x from c);"
        " end"
    )
    ws.db.conn.commit()
    ws.close()
    db_path, wal = root / "secaudit.db", root / "secaudit.db-wal"
    before = _counts(db_path)
    wal_before = wal.stat().st_size if wal.exists() else 0

    process = subprocess.Popen(_secaudit("inventory", "import", str(inv), "-w", str(root)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    killed_inside = False
    while process.poll() is None and time.monotonic() < deadline:
        grown = (wal.stat().st_size if wal.exists() else 0) - wal_before
        if grown > 4 * 1024 * 1024 and _write_locked(db_path):
            os.kill(process.pid, signal.SIGKILL)
            killed_inside = True
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    _, err = process.communicate()
    assert killed_inside, f"the import finished before it could be killed (rc {process.returncode}): {err!r}"
    assert process.returncode == -signal.SIGKILL
    assert wal.stat().st_size - wal_before > 4 * 1024 * 1024  # uncommitted frames really were on disk

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("select count(*) from ballast").fetchone()[0] == 0
    finally:
        conn.close()
    assert _counts(db_path) == before
    ws = Workspace.open(root)
    assert auditlog.verify(ws) == []
    assert sorted(inventory.agency_codes(ws)) == sorted(p.stem for p in (EXAMPLES / "inventory").glob("*.yaml"))
    # and the workspace is usable: the same import, without the slow trigger, now lands whole
    ws.db.execute("drop trigger slow_host")
    ws.db.conn.commit()
    ws.close()
    done = subprocess.run(_secaudit("inventory", "import", str(inv), "-w", str(root)), capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert _counts(db_path)["systems"] == before["systems"] + 400


def test_two_concurrent_writers_both_land(tmp_path: Path) -> None:
    synthetic = _synthetic()
    documents = synthetic.province(20, 5)
    first = synthetic.write_yaml(tmp_path / "a", documents[:10])
    second = synthetic.write_yaml(tmp_path / "b", documents[10:])
    evidence_file = tmp_path / "bien-ban.pdf"
    evidence_file.write_bytes(b"%PDF bien ban")
    root = tmp_path / "ws"
    ws = Workspace.create(root)
    inventory.import_path(ws, EXAMPLES / "inventory", actor="pytest")
    ws.close()
    before = _counts(root / "secaudit.db")

    # Hold the write lock while the writers start, so that all of them must wait for it (busy
    # timeout) and then for each other, instead of happening to run one after the other.
    holder = sqlite3.connect(root / "secaudit.db", isolation_level=None)
    holder.execute("begin immediate")
    env = {**os.environ, "SECAUDIT_ACTOR": "writer"}
    commands = [
        _secaudit("inventory", "import", str(first), "-w", str(root)),
        _secaudit("inventory", "import", str(second), "-w", str(root)),
        _secaudit("evidence", "add", str(evidence_file), "--agency", "so-khcn", "-w", str(root)),
        _secaudit("system", "edit", "so-khcn", "lgsp-tinh", "--users", "451", "-w", str(root)),
    ]
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for c in commands]
    time.sleep(3.0)
    assert all(p.poll() is None for p in processes), "a writer did not wait for the lock"
    holder.execute("rollback")
    holder.close()
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()

    after = _counts(root / "secaudit.db")
    assert after["agencies"] == before["agencies"] + 20
    assert after["systems"] == before["systems"] + 100
    assert after["evidence_refs"] == before["evidence_refs"] + 1
    assert after["log"] == before["log"] + 20 + 1 + 1
    ws = Workspace.open(root)
    assert auditlog.verify(ws) == []
    assert inventory.get_system(ws, "so-khcn", "lgsp-tinh").users == 451


def test_workspace_uses_wal_and_a_busy_timeout(ws: Workspace) -> None:
    assert ws.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert ws.db.execute("pragma busy_timeout").fetchone()[0] >= 10_000


def test_processes_opening_an_old_workspace_at_once_upgrade_it_once(tmp_path: Path) -> None:
    """Each process reads the old version, then waits for the lock; only the first may upgrade."""
    import sqlite_utils

    from secaudit.store.workspace import MIGRATIONS, SCHEMA_VERSION

    root = tmp_path / "old"
    (root / "evidence").mkdir(parents=True)
    db = sqlite_utils.Database(root / "secaudit.db")
    db.enable_wal()
    MIGRATIONS[0][1](db)
    db["meta"].upsert({"key": "schema_version", "value": "1"}, pk="key")
    db["agencies"].insert({"code": "so-cu", "name": "Sở Cũ", "kind": "khac", "province": "Nghệ An", "position": 0})
    db.conn.commit()
    db.close()
    holder = sqlite3.connect(root / "secaudit.db", isolation_level=None)
    holder.execute("begin immediate")
    processes = [subprocess.Popen(_secaudit("agency", "list", "--format", "csv", "-w", str(root)),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    time.sleep(2.0)
    holder.execute("rollback")
    holder.close()
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()
        assert "so-cu" in out.decode()
    assert Workspace.open(root).schema_version() == SCHEMA_VERSION
