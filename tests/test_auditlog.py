"""The audit log is hash-chained: an edited or deleted entry is detected."""

from __future__ import annotations

from secaudit import auditlog
from secaudit.store import Workspace


def _fill(ws: Workspace) -> None:
    for i in range(4):
        auditlog.append(ws, actor="cán bộ A", action="test", agency="so-khcn", subject=str(i), detail={"i": i})


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
    forged = auditlog._entry_hash(row[0], row[1], row[2], row[3], row[4], row[5], '{"i":99}')
    ws.db.execute("update log set detail = '{\"i\":99}', hash = ? where seq = 2", [forged])
    ws.db.conn.commit()
    assert [p.seq for p in auditlog.verify(ws)] == [3]


def test_log_cli(cli) -> None:
    cli("init")
    assert cli("log", "verify").code == 0
    out = cli("log", "--format", "json")
    assert '"workspace.init"' in out.out
