"""Tamper-evident audit log: every change to a workspace appends a hash-chained entry.

Each entry's hash covers its content and the previous entry's hash, so editing or deleting an
entry breaks the chain from that point on and ``verify`` names where. It proves the log is
internally consistent; it does not prove *who* ran a command (the actor is what the user says)
nor stop someone who rewrites the whole chain — for that, bundles carry the head hash elsewhere.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from secaudit.store.workspace import Workspace, dumps, now

GENESIS = "0" * 64


def default_actor() -> str:
    """``$SECAUDIT_ACTOR`` or the login name: recorded as who made a change."""
    env = os.environ.get("SECAUDIT_ACTOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container: still need a name
        return "unknown"


def entry_hash(prev: str, ts: str, actor: str, action: str, agency: str, subject: str, detail: str) -> str:
    payload = dumps([prev, ts, actor, action, agency, subject, detail])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(
    ws: Workspace, *, actor: str, action: str, agency: str = "", subject: str = "", detail: Any = None
) -> str:
    """Append one entry inside the caller's transaction; returns its hash."""
    with ws.transaction():
        row = ws.db.execute("select hash from log order by seq desc limit 1").fetchone()
        prev = row[0] if row else GENESIS
        ts = now()
        detail_text = dumps(detail if detail is not None else {})
        digest = entry_hash(prev, ts, actor, action, agency, subject, detail_text)
        ws.db.execute(
            "insert into log (ts, actor, action, agency, subject, detail, prev_hash, hash) values (?,?,?,?,?,?,?,?)",
            [ts, actor, action, agency, subject, detail_text, prev, digest],
        )
    return digest


@dataclass
class LogProblem:
    """Where the chain breaks and why."""

    seq: int
    problem: str


def head(ws: Workspace) -> tuple[int, str] | None:
    """``(seq, hash)`` of the newest entry: write it down elsewhere to detect a truncated or rewritten log."""
    row = ws.db.execute("select seq, hash from log order by seq desc limit 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def verify(ws: Workspace, expect_head: str | None = None) -> list[LogProblem]:
    """Recompute the chain; an empty list means every entry is intact and in order.

    The chain alone cannot see entries cut off its end, nor a chain rewritten consistently from
    some point on. ``expect_head`` — a hash (or a unique prefix of at least 12 hex digits) taken
    from an earlier ``log verify``, a report or a bundle — closes that gap: it must still be in
    the log, with the entries before it unchanged.
    """
    problems: list[LogProblem] = []
    prev = GENESIS
    expected_seq = 1
    for row in ws.db.query("select * from log order by seq"):
        if row["seq"] != expected_seq:
            problems.append(LogProblem(row["seq"], f"thiếu mục {expected_seq}..{row['seq'] - 1} / entries deleted"))
        expected_seq = row["seq"] + 1
        if row["prev_hash"] != prev:
            problems.append(LogProblem(row["seq"], "chuỗi băm bị đứt / previous-hash mismatch"))
        digest = entry_hash(
            row["prev_hash"], row["ts"], row["actor"] or "", row["action"], row["agency"] or "",
            row["subject"] or "", row["detail"] or "",
        )
        if digest != row["hash"]:
            problems.append(LogProblem(row["seq"], "nội dung đã bị sửa / entry content altered"))
        prev = row["hash"]
    if expect_head:
        problems.extend(_check_head(ws, expect_head.strip().lower()))
    return problems


def _check_head(ws: Workspace, expected: str) -> list[LogProblem]:
    if len(expected) < 12 or any(c not in "0123456789abcdef" for c in expected):
        return [LogProblem(0, "băm đầu chuỗi cần ít nhất 12 chữ số hex / expected head needs 12+ hex digits")]
    rows = ws.db.execute("select seq from log where hash like ? limit 2", [expected + "%"]).fetchall()
    if len(rows) == 1:
        return []
    if len(rows) > 1:
        return [LogProblem(0, "băm đầu chuỗi khớp nhiều mục / expected head is ambiguous")]
    last = head(ws)
    return [LogProblem(
        last[0] if last else 0,
        f"không còn mục có băm {expected[:16]}… đã ghi nhận trước đây: nhật ký đã bị cắt bớt hoặc viết lại"
        f" / the recorded head {expected[:16]}… is gone: the log was truncated or rewritten",
    )]


def entries(ws: Workspace, agency: str | None = None) -> list[dict[str, Any]]:
    """Log rows, oldest first, optionally for one agency."""
    if agency:
        return list(ws.db.query("select * from log where agency = ? order by seq", [agency]))
    return list(ws.db.query("select * from log order by seq"))
