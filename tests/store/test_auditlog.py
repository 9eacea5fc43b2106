"""The audit log is hash-chained and append-only: an edited, deleted or cut-off entry is detected."""

from __future__ import annotations

import sqlite3

import pytest

from secaudit.store import auditlog
from secaudit.store.workspace import Workspace


def _fill(ws: Workspace) -> None:
    for i in range(4):
        auditlog.append(ws, actor="cán bộ A", action="test", agency="so-khcn", subject=str(i), detail={"i": i})
    _unlock(ws)


def _unlock(ws: Workspace) -> None:
    """What someone editing the database by hand would do first: drop the append-only triggers."""
    ws.db.execute("drop trigger if exists log_no_update")
    ws.db.execute("drop trigger if exists log_no_delete")
    ws.db.conn.commit()


def test_log_is_append_only(ws: Workspace) -> None:
    auditlog.append(ws, actor="a", action="test")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        ws.db.execute("update log set actor = 'b'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        ws.db.execute("delete from log")
    ws.db.conn.rollback()
    assert auditlog.verify(ws) == []


def test_intact_log_verifies(ws: Workspace) -> None:
    _fill(ws)
    assert auditlog.verify(ws) == []
    assert [e["subject"] for e in auditlog.entries(ws, "so-khcn")] == ["0", "1", "2", "3"]


def test_edited_entry_is_detected(ws: Workspace) -> None:
    _fill(ws)
    ws.db.execute("update log set detail = '{\"i\":99}' where seq = 2")
    ws.db.conn.commit()
    problems = auditlog.verify(ws)
    assert [p.seq for p in problems] == [2]


def test_deleted_entry_is_detected(ws: Workspace) -> None:
    _fill(ws)
    ws.db.execute("delete from log where seq = 2")
    ws.db.conn.commit()
    problems = auditlog.verify(ws)
    assert problems and problems[0].seq == 3


def test_rewritten_hash_still_breaks_the_chain(ws: Workspace) -> None:
    """Recomputing one entry's hash after editing it breaks the link to the next entry."""
    _fill(ws)
    row = ws.db.execute("select prev_hash, ts, actor, action, agency, subject from log where seq = 2").fetchone()
    forged = auditlog.entry_hash(row[0], row[1], row[2], row[3], row[4], row[5], '{"i":99}')
    ws.db.execute("update log set detail = '{\"i\":99}', hash = ? where seq = 2", [forged])
    ws.db.conn.commit()
    assert [p.seq for p in auditlog.verify(ws)] == [3]


def test_log_cli(cli) -> None:
    cli("init")
    assert cli("log", "verify").code == 0
    out = cli("log", "--format", "json")
    assert '"workspace.init"' in out.out


def test_truncated_tail_is_caught_only_with_a_recorded_head(ws: Workspace) -> None:
    """Cutting entries off the end leaves a valid chain; the head recorded earlier exposes it."""
    _fill(ws)
    head = auditlog.head(ws)
    assert head is not None and head[0] == 4
    ws.db.execute("delete from log where seq >= 3")
    ws.db.conn.commit()
    assert auditlog.verify(ws) == []
    problems = auditlog.verify(ws, expect_head=head[1][:16])
    assert problems and "truncated or rewritten" in problems[0].problem
    assert auditlog.verify(ws, expect_head=ws.db.execute("select hash from log where seq = 2").fetchone()[0]) == []
    assert "12+" in auditlog.verify(ws, expect_head="abc")[0].problem


def test_log_verify_cli_catches_an_edited_row(cli, tmp_path) -> None:
    from conftest import EXAMPLES

    cli("init")
    cli("inventory", "import", str(EXAMPLES / "inventory"))
    head = cli("log", "head").out.split()
    assert head[0] == "6" and len(head[1]) == 64
    ok = cli("log", "verify", "--expect-head", head[1])
    assert ok.code == 0 and head[1] in ok.err
    ws = Workspace.open(tmp_path / "ws")
    _unlock(ws)
    ws.db.execute("update log set actor = 'người khác' where seq = 3")
    ws.db.conn.commit()
    ws.close()
    bad = cli("log", "verify")
    assert bad.code == 1 and bad.err.startswith("Error: ") and "#3" in bad.err and "altered" in bad.err
    table = cli("log", "--agency", "so-khcn")
    assert table.code == 0 and "inventory.import" in table.out and "vp-ubnd-tinh" not in table.out
