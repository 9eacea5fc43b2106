"""Evidence files (minh chứng): add, list, show and verify the content-addressed store.

A file is kept once, under its SHA-256, by ``Workspace.store_file``; what the user called it is
metadata only and never becomes a path. Each *reference* (``evidence_refs``) says what the file is
for: which agency and system, which requirement, what kind of document, from which day it holds
(``effective`` — the date of the decision or minutes, not the upload date) and until when
(``expires``). Adding a reference appends to the change log in the same transaction.

``verify`` re-reads every stored file and compares it with its name and the database, so a file
swapped, truncated or flipped by one bit after the fact is reported, as is one that went missing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit import clock
from secaudit.errors import InputError, NotFoundError
from secaudit.requirements.answers import readable_name
from secaudit.requirements.content import EVIDENCE_KINDS, UNCLASSIFIED
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, dumps, now

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MIN_PREFIX = 6


def _check_kind(kind: str) -> None:
    if kind not in EVIDENCE_KINDS:
        raise InputError(f"Loại minh chứng không biết '{kind}'; cho phép: {', '.join(EVIDENCE_KINDS)}",
                         en=f"unknown evidence kind '{kind}'")


def _item_target(ref: str, system: str | None) -> tuple[str, str, str]:
    """``checklist:item`` checked against the checklists and the item's system scope; with the kind of
    document the item asks for first (the default kind of a file linked to it)."""
    from secaudit.requirements.content import Library
    from secaudit.requirements.walk import default_evidence_kind

    checklist, item = Library().resolve_ref(ref)
    if item.scope == "system" and not system:
        raise InputError(f"Mục {ref} tính theo hệ thống: cần --system", en=f"{ref} is per system: give --system")
    if item.scope == "agency" and system:
        raise InputError(f"Mục {ref} tính theo cơ quan: bỏ --system", en=f"{ref} is per agency: drop --system")
    return checklist.id, item.id, default_evidence_kind(item)


def add(
    ws: Workspace, file: Path, *, actor: str, agency: str | None = None, system: str | None = None,
    kind: str | None = None, effective: dt.date | None = None, expires: dt.date | None = None,
    item: str | None = None, note: str | None = None,
) -> dict[str, Any]:
    """Store ``file`` (once per content) and record what it proves; returns the new reference row.

    With ``item`` (``checklist:item``) the file is linked to that requirement's answer for the
    agency (and system): the evaluator counts it with the answer, now or once one is given, and an
    answer already recorded lists it among its files. ``kind`` defaults to the kind of document the
    item asks for first (unclassified without an item); ``effective`` defaults to today.
    ``answer`` in the returned row is the linked answer's status (None when not answered yet).
    Everything is checked before the file is copied.
    """
    if kind is not None:
        _check_kind(kind)
    if system and not agency:
        raise InputError("--system cần đi kèm --agency", en="--system needs --agency")
    if item and not agency:  # a link without an agency would back no assessment and appear in no report
        raise InputError("--item cần đi kèm --agency", en="--item needs --agency")
    if agency:
        ws.require_agency(agency)
    if agency and system:
        ws.system_id(agency, system)
    checklist_id, item_id, item_kind = _item_target(item, system) if item else (None, None, UNCLASSIFIED)
    kind = kind or item_kind
    effective = effective or clock.today()
    if expires is not None and expires < effective:
        raise InputError(f"Ngày hết hiệu lực {expires} trước ngày có hiệu lực {effective}",
                         en="expiry date is before the effective date")
    name = unicodedata.normalize("NFC", readable_name(file.name))
    with ws.transaction() as db:
        digest = ws.store_file(file)
        row: dict[str, Any] = {
            "sha256": digest, "original_name": name, "agency": agency, "system": system or "",
            "checklist": checklist_id, "item": item_id, "kind": kind, "effective": effective.isoformat(),
            "expires": expires.isoformat() if expires else None, "added_at": now(), "actor": actor,
            "note": note or None,
        }
        cols = list(row)
        cursor = db.execute(f"insert into evidence_refs ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
                            [row[c] for c in cols])
        row["id"] = cursor.lastrowid
        row["answer"] = _link_answer(db, digest, agency, system, checklist_id, item_id) if item_id else None
        size = db.execute("select size from evidence where sha256 = ?", [digest]).fetchone()[0]
        auditlog.append(
            ws, actor=actor, action="evidence.add", agency=agency or "", subject=digest,
            detail={"name": name, "size": size, "kind": kind, "system": system or "", "item": item,
                    "effective": row["effective"], "expires": row["expires"], "note": row["note"]},
        )
    row["size"] = size
    return row


def _link_answer(db: Any, digest: str, agency: str | None, system: str | None, checklist: str | None,
                 item: str) -> str | None:
    """Add the file to the recorded answer it backs (if there is one); that answer's status."""
    found = db.execute("select evidence, status from answers where agency = ? and system = ? and checklist = ?"
                       " and item = ?", [agency, system or "", checklist, item]).fetchone()
    if found is None:
        return None
    hashes = json.loads(found[0] or "[]")
    if digest not in hashes:
        db.execute("update answers set evidence = ? where agency = ? and system = ? and checklist = ? and item = ?",
                   [dumps([*hashes, digest]), agency, system or "", checklist, item])
    return str(found[1])


def backs(ref: dict[str, Any]) -> str | None:
    """``checklist:item (system)`` for a reference linked to a requirement, else None."""
    if not ref.get("item"):
        return None
    return f"{ref['checklist']}:{ref['item']}" + (f" ({ref['system']})" if ref.get("system") else "")


def list_refs(ws: Workspace, agency: str | None = None, system: str | None = None) -> list[dict[str, Any]]:
    """Every reference (newest effective date last), optionally for one agency or system."""
    sql = ("select r.id, r.sha256, r.original_name, r.agency, r.system, r.checklist, r.item, r.kind, r.effective,"
           " r.expires, r.added_at, r.actor, r.note, e.size, e.media_type"
           " from evidence_refs r join evidence e on e.sha256 = r.sha256")
    where, params = [], []
    if agency:
        ws.require_agency(agency)
        where.append("r.agency = ?")
        params.append(agency)
    if system:
        where.append("r.system = ?")
        params.append(system)
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by r.agency, r.effective, r.id"
    return list(ws.db.query(sql, params))


def list_files(ws: Workspace, agency: str | None = None, system: str | None = None) -> list[dict[str, Any]]:
    """Every stored file once per agency, with every requirement it is linked to (``links``).

    A file added twice, or attached to several answers, has several references; this folds them
    into one row: its names, kinds and systems, the requirements it backs (``checklist:item
    (system)``, empty when it backs none), the scans whose raw output it is (``scans``), the
    earliest effective and latest expiry dates, the first time it was added, and the references
    themselves (``refs``). Linked files (to a requirement or a scan) come first.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ref in list_refs(ws, agency, system):
        groups.setdefault((ref["agency"] or "", ref["sha256"]), []).append(ref)
    scans: dict[tuple[str, str], list[int]] = {}
    for scan_id, owner, digest in ws.db.execute(
            "select id, agency, xml_sha256 from scans where xml_sha256 is not null order by id"):
        scans.setdefault((owner, digest), []).append(int(scan_id))
    rows = []
    for (owner, digest), refs in groups.items():
        links = list(dict.fromkeys(b for b in (backs(r) for r in refs) if b))
        expiries = [r["expires"] for r in refs if r["expires"]]
        rows.append({
            "sha256": digest, "original_name": "; ".join(dict.fromkeys(r["original_name"] for r in refs)),
            "agency": owner or None, "system": ", ".join(dict.fromkeys(r["system"] for r in refs if r["system"])),
            "kind": ", ".join(dict.fromkeys(r["kind"] for r in refs)), "links": links,
            "scans": scans.get((owner, digest), []),
            "effective": min(r["effective"] for r in refs), "expires": max(expiries) if expiries else None,
            "size": refs[0]["size"], "added_at": min(r["added_at"] for r in refs), "refs": refs,
        })
    rows.sort(key=lambda r: (not (r["links"] or r["scans"]), r["agency"] or "", r["effective"], r["original_name"]))
    return rows


def resolve(ws: Workspace, prefix: str) -> str:
    """The full hash for a unique prefix of at least ``MIN_PREFIX`` hex digits."""
    prefix = prefix.strip().lower()
    if len(prefix) < MIN_PREFIX or not re.fullmatch(r"[0-9a-f]+", prefix):
        raise InputError(f"Cần ít nhất {MIN_PREFIX} chữ số hex của SHA-256",
                         en=f"give at least {MIN_PREFIX} hex digits")
    rows = ws.db.execute("select sha256 from evidence where sha256 like ? limit 2", [prefix + "%"]).fetchall()
    if not rows:
        raise NotFoundError(f"Không có minh chứng {prefix}", en=f"no evidence {prefix}")
    if len(rows) > 1:
        raise InputError(f"Tiền tố {prefix} khớp nhiều minh chứng", en=f"prefix {prefix} is ambiguous")
    return str(rows[0][0])


def show(ws: Workspace, prefix: str) -> dict[str, Any]:
    """One stored file: size, type, whether it is intact now, and every reference to it."""
    digest = resolve(ws, prefix)
    blob = dict(zip(("sha256", "size", "media_type", "stored_at"), ws.db.execute(
        "select sha256, size, media_type, stored_at from evidence where sha256 = ?", [digest]).fetchone(), strict=True))
    problem = _check_file(ws, digest, blob["size"])
    blob["state"] = problem or "ok"
    blob["refs"] = list(ws.db.query(
        "select id, original_name, agency, system, checklist, item, kind, effective, expires, added_at, actor, note"
        " from evidence_refs where sha256 = ? order by id", [digest]))
    return blob


@dataclass
class VerifyReport:
    """What ``verify`` found: files checked, and each problem as (sha256 or path, what is wrong)."""

    checked: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)  # intact files nobody refers to (e.g. a rolled-back add)

    @property
    def ok(self) -> bool:
        return not self.problems


def hash_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _check_file(ws: Workspace, digest: str, size: int) -> str | None:
    path = ws.evidence_path(digest)
    if not path.is_file():
        return "thiếu tệp / missing"
    if path.stat().st_size != size:
        return f"kích thước {path.stat().st_size} khác {size} đã ghi / size differs from the recorded {size}"
    if hash_file(path) != digest:
        return "nội dung đã bị thay đổi (SHA-256 không khớp) / content altered (SHA-256 mismatch)"
    return None


def verify(ws: Workspace) -> VerifyReport:
    """Re-hash every file under ``evidence/`` and compare with the database, both ways."""
    report = VerifyReport()
    known = {r[0]: r[1] for r in ws.db.execute("select sha256, size from evidence")}
    for digest, size in sorted(known.items()):
        report.checked += 1
        problem = _check_file(ws, digest, size)
        if problem:
            report.problems.append((digest, problem))
    root = ws.evidence_dir
    for path in sorted(p for p in root.rglob("*") if not p.is_dir()):
        rel = path.relative_to(root).as_posix()
        name = path.name
        if name in known and path == ws.evidence_path(name):
            continue
        if _HEX64.match(name) and path.parent.name == name[:2] and hash_file(path) == name:
            report.strays.append(name)
            continue
        if name.startswith(".tmp-"):
            report.strays.append(rel)
            continue
        if rel.startswith(".import-"):  # a bundle import under way (a killed one's is removed on open)
            report.strays.append(rel)
            continue
        report.problems.append((rel, "tệp lạ trong kho minh chứng (tên không khớp nội dung) / unexpected file"))
    return report


def set_limit(ws: Workspace, max_bytes: int | None, *, actor: str) -> int:
    """Set (``None``: reset) the per-file size limit of this workspace; logged. Returns the limit now."""
    if max_bytes is not None and max_bytes < 1:
        raise InputError("Giới hạn phải lớn hơn 0", en="the limit must be positive")
    with ws.transaction():
        before = ws.evidence_max_bytes()
        ws.set_setting("evidence_max_bytes", str(max_bytes) if max_bytes is not None else None)
        after = ws.evidence_max_bytes()
        auditlog.append(ws, actor=actor, action="evidence.limit", subject="evidence_max_bytes",
                        detail={"before": before, "after": after})
    return after


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
          "g": 1024**3, "gb": 1024**3, "gib": 1024**3}


def parse_size(text: str) -> int:
    """``'50MB'``, ``'200 MiB'``, ``'1048576'`` -> bytes (binary units)."""
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if not match or unit not in _UNITS:
        raise InputError(f"Không hiểu kích thước '{text}' (ví dụ 50MB)", en=f"cannot read size '{text}' (e.g. 50MB)")
    return int(float(match.group(1)) * _UNITS[unit])
