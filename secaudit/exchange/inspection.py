"""The inspector's table: what an agency CLAIMED next to what the receiver VERIFIED, per KH 04 task × system.

A *claim* is what the agency's bundle says, kept as it was sent: the status of its answer (``dat``,
``chua-dat``…), its note, date and evidence files, and which submission carried it. Only where the
agency answered nothing for that cell (a parent task summed from its sub-items, an item that does
not apply) is the claim the status the agency's own data evaluates to, marked ``source: tong-hop``.

A *verification* is what the receiving workspace observed on its own: its own scans' findings, its
own answers and evidence, evaluated by the same rules. It is never filled from the claim.

``agreement`` is ``khop`` when both reached the same conclusion, ``mau-thuan`` when the receiver
reached a different one, and ``chua-kiem-chung`` when the receiver has no conclusion of its own.
Rows are ordered for the inspector: claimed met but found unmet first, then other contradictions,
then overdue, then agreeing rows, then the unverified ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from secaudit.clock import VIETNAM
from secaudit.errors import NotFoundError
from secaudit.exchange import claims
from secaudit.exchange.submissions import get, host_changes, latest, rows
from secaudit.inventory import records as inventory
from secaudit.store.workspace import Workspace

KH04 = "kh04-bcdtw"
AGREE, DISAGREE, UNVERIFIED = claims.AGREE, claims.DISAGREE, claims.UNVERIFIED
AGREEMENT_LABELS = {
    "vi": {AGREE: "khớp", DISAGREE: "mâu thuẫn", UNVERIFIED: "chưa kiểm chứng"},
    "en": {AGREE: "agree", DISAGREE: "contradiction", UNVERIFIED: "not verified"},
}
STATUS_LABELS = {
    "vi": {"dat": "ĐẠT", "chua-dat": "CHƯA ĐẠT", "khong-ap-dung": "KHÔNG ÁP DỤNG", "chua-danh-gia": "CHƯA ĐÁNH GIÁ",
           "mien-tru": "MIỄN TRỪ", "loi": "LỖI", None: "KHÔNG KHAI"},
    "en": {"dat": "PASS", "chua-dat": "FAIL", "khong-ap-dung": "NOT APPLICABLE", "chua-danh-gia": "NOT ASSESSED",
           "mien-tru": "WAIVED", "loi": "ERROR", None: "NO CLAIM"},
}
_SEVERITY = {"nghiem-trong": 0, "cao": 1, "trung-binh": 2, "thap": 3}
_MET = ("dat", "khong-ap-dung", "mien-tru")
_INCONCLUSIVE = ("chua-danh-gia", "loi")


def cell_text(row: dict[str, Any], lang: str = "vi") -> str:
    """One cell as the inspector reads it, e.g. "khai ĐẠT / kiểm tra CHƯA ĐẠT — mâu thuẫn"."""
    labels, agreement = STATUS_LABELS[lang], AGREEMENT_LABELS[lang]
    claim = labels.get(row["claim"]["status"], row["claim"]["status"])
    own = labels.get(row["verification"]["status"], row["verification"]["status"])
    words = ("khai", "kiểm tra") if lang == "vi" else ("claimed", "verified")
    text = f"{words[0]} {claim} / {words[1]} {own} — {agreement[row['agreement']]}"
    if row["overdue"]:
        text += " — quá hạn" if lang == "vi" else " — overdue"
    return text


@dataclass
class Inspection:
    """Claims of one submission vs the receiver's own verification, for one agency."""

    agency: str
    agency_name: str
    submission: dict[str, Any]
    as_of: dt.date
    profile: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    host_changes: list[dict[str, Any]] = field(default_factory=list)
    inventory: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)  # per top-level KH 04 task, agency-wide

    def count(self, agreement: str) -> int:
        return sum(1 for r in self.rows if r["agreement"] == agreement)

    @property
    def counts(self) -> dict[str, int]:
        return {AGREE: self.count(AGREE), DISAGREE: self.count(DISAGREE), UNVERIFIED: self.count(UNVERIFIED),
                "overdue": sum(1 for r in self.rows if r["overdue"]),
                "hosts_contradicted": sum(1 for h in self.hosts if h["verdict"] == DISAGREE)}

    def to_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "agency_name": self.agency_name, "submission": self.submission,
                "as_of": self.as_of.isoformat(), "profile": self.profile, "counts": self.counts,
                "rows": self.rows, "tasks": self.tasks, "hosts": self.hosts, "host_changes": self.host_changes,
                "inventory": self.inventory}


def _submission_summary(sub: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(sub["id"]), "as_of": sub["as_of"], "created": sub["created"], "imported_at": sub["imported_at"],
            "signature": sub["signature"], "signer": sub["signer"], "file_name": sub["file_name"]}


def _task_numbers(checklist: Any) -> dict[str, int]:
    """item id → its KH 04 task number (the position of its top-level task, 1-based)."""
    tops = [i.id for i in checklist.items if i.parent is None]
    parent = {i.id: i.parent for i in checklist.items}
    out = {}
    for item in checklist.items:
        root = item.id
        while parent.get(root):
            root = parent[root]  # type: ignore[assignment]
        out[item.id] = tops.index(root) + 1 if root in tops else 0
    return out


def _vi(text: str) -> str:
    """The Vietnamese half of a bilingual "vi / en" reason."""
    return text.split(" / ", 1)[0] if " / " in text else text


def _evidence(ref: dict[str, Any]) -> dict[str, Any]:
    return {"name": ref.get("original_name"), "sha256": ref.get("sha256"), "kind": ref.get("kind"),
            "effective": ref.get("effective"), "expires": ref.get("expires")}


def _finding(f: dict[str, Any]) -> dict[str, Any]:
    return {"scan": f.get("scan_id"), "address": f.get("address"), "port": f.get("port"), "rule": f.get("rule"),
            "severity": f.get("severity"), "title": f.get("title"), "detail": f.get("detail")}


def _rank(row: dict[str, Any]) -> int:
    if row["agreement"] == DISAGREE:
        return 0 if row["claim"]["status"] in _MET and row["verification"]["status"] not in _MET else 1
    if row["overdue"]:
        return 2
    return 3 if row["agreement"] == AGREE else 4


def _worst(row: dict[str, Any]) -> int:
    """The most severe of the receiver's findings on the row (an open database port before a TLS warning)."""
    return min((_SEVERITY.get(f["severity"] or "", 9) for f in row["verification"]["findings"]), default=9)


def inspect(
    ws: Workspace, library: Any, agency: str, *, profile: Any, as_of: dt.date, submission_id: int | None = None,
    checklists: tuple[str, ...] = (KH04,),
) -> Inspection:
    """The agency's latest (or given) submission, claim by claim, next to the receiver's own verification."""
    from secaudit.reporting import assessment as assess

    sub = get(ws, submission_id) if submission_id else latest(ws, agency)
    if sub["agency"] != agency:
        raise NotFoundError(f"Lần nộp #{sub['id']} là của '{sub['agency']}', không phải '{agency}'",
                            en="the submission belongs to another agency")
    ws.require_agency(agency)
    sid = int(sub["id"])
    mem = claims.claims_workspace(ws, sid)
    try:
        claimed = assess.evaluate_agency(mem, library, agency, as_of=as_of, profile=profile)
        hosts = claims._compare_hosts(claims._host_ports(mem, agency, as_of), claims._host_ports(ws, agency, as_of))
        inv = claims._inventory_differences(mem, ws, agency)
        changes = host_changes(inventory.get_agency(ws, agency), inventory.get_agency(mem, agency))
    finally:
        mem.close()
    own = assess.evaluate_agency(ws, library, agency, as_of=as_of, profile=profile)
    result = Inspection(agency, inventory.get_agency(ws, agency).name, _submission_summary(sub), as_of, profile.id,
                        hosts=hosts, host_changes=changes, inventory=inv)

    answers = {(a["checklist"], a["item"], a.get("system") or ""): a for a in rows(ws, sid, "answers")}
    refs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for ref in rows(ws, sid, "evidence_refs"):
        refs.setdefault((ref.get("checklist") or "", ref.get("item") or "", ref.get("system") or ""), []).append(ref)
    own_answers = {(a["checklist"], a["item"], a["system"] or ""): a for a in ws.db.query(
        "select checklist, item, system, status, note, answered_at, actor from answers where agency = ?", [agency])}
    own_rows = {(r.checklist, r.item, r.system or ""): r for r in [*own.results, *own.system_results]}
    order = {}
    for cid in checklists:
        checklist = library.checklist(cid)
        tasks = _task_numbers(checklist)
        titles = {i.id: (i.short or i.title) for i in checklist.items}
        order.update({(cid, i.id): n for n, i in enumerate(checklist.items)})
        for c in [*claimed.results, *claimed.system_results]:
            if c.checklist != cid:
                continue
            key = (c.checklist, c.item, c.system or "")
            if not c.system and any(k[:2] == key[:2] and k[2] for k in own_rows):
                continue  # a per-system item: its agency-wide row only sums the systems' rows
            answer = answers.get(key)
            o = own_rows.get(key)
            own_status = o.status.value if o else "chua-danh-gia"
            claim_status = answer["status"] if answer else c.status.value
            if own_status in _INCONCLUSIVE:
                agreement = UNVERIFIED
            else:
                agreement = AGREE if claim_status == own_status else DISAGREE
            best = own_status if agreement != UNVERIFIED else claim_status
            deadline = c.deadline or (o.deadline if o else None)
            overdue = bool(deadline and deadline < as_of and best not in _MET)
            mine = own_answers.get(key)
            row = {
                "agency": agency, "task": tasks.get(c.item, 0), "checklist": c.checklist, "item": c.item,
                "title": titles.get(c.item, c.item), "system": c.system or "",
                "deadline": deadline.isoformat() if deadline else None, "overdue": overdue,
                "claim": {
                    "status": claim_status, "source": "tra-loi" if answer else "tong-hop",
                    "note": (answer or {}).get("note") or "", "date": (answer or {}).get("effective")
                    or ((answer or {}).get("answered_at") or "")[:10] or None,
                    "evidence": [_evidence(r) for r in refs.get(key, [])],
                    "submission": sid, "submission_as_of": sub["as_of"],
                    "evaluated": c.status.value,
                },
                "verification": {
                    "status": own_status, "reason": _vi(o.reasons[0]) if o and o.reasons else "",
                    "findings": [_finding(f) for f in (o.findings if o else [])],
                    "evidence": [{"name": e.get("original_name"), "sha256": e.get("sha256"), "kind": e.get("kind")}
                                 for e in (o.evidence if o else [])],
                    "answer": {"status": mine["status"], "note": mine["note"] or "",
                               "date": (mine["answered_at"] or "")[:10], "by": mine["actor"]} if mine else None,
                },
                "agreement": agreement,
            }
            row["text"] = cell_text(row)
            result.rows.append(row)
    result.rows.sort(key=lambda r: (_rank(r), _worst(r), order.get((r["checklist"], r["item"]), 0), r["system"]))
    result.tasks = _task_summary(library, claimed, own, result.rows)
    return result


def _task_summary(library: Any, claimed: Any, own: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per top-level KH 04 task, agency-wide: the claim as the agency's own data evaluates it (its answers, waivers
    and scans), the receiver's verification (None when it has no conclusion), and their agreement — a
    contradiction on any system of the task makes the task a contradiction."""
    checklist = library.checklist(KH04)
    claim_by = {r.item: r for r in claimed.results if r.checklist == KH04 and r.system is None}
    own_by = {r.item: r for r in own.results if r.checklist == KH04 and r.system is None}
    out = []
    for number, item in enumerate((i for i in checklist.items if i.parent is None), 1):
        c, o = claim_by.get(item.id), own_by.get(item.id)
        if c is None and o is None:
            continue
        verification = o.status.value if o is not None and o.status.value not in _INCONCLUSIVE else None
        claim = c.status.value if c is not None else None
        if any(r["task"] == number and r["checklist"] == KH04 and r["agreement"] == DISAGREE for r in rows):
            agreement = DISAGREE
        elif verification is None:
            agreement = UNVERIFIED
        else:
            agreement = AGREE if verification == claim else DISAGREE
        basis = o if verification is not None else c
        out.append({"task": number, "id": item.id, "claim": claim, "verification": verification,
                    "agreement": agreement, "status": verification or claim,
                    "overdue": bool(basis.overdue) if basis is not None else False})
    return out


# -- cycles: an agency's submissions over time ---------------------------------------------------------
def history(ws: Workspace, agency: str) -> list[dict[str, Any]]:
    """Each submission of the agency, oldest first, with its claimed statuses (answers) per task × system."""
    out = []
    for sub in ws.db.query(
            "select id, as_of, created, imported_at, signature from submissions where agency = ? order by created, id",
            [agency]):
        answers = {f"{a['item']}:{a.get('system') or ''}".rstrip(":"): a["status"]
                   for a in rows(ws, int(sub["id"]), "answers") if a.get("checklist") == KH04}
        out.append({**sub, "answers": answers})
    return out


def changes_between(before: dict[str, str], after: dict[str, str]) -> list[dict[str, Any]]:
    """fixed (no longer unmet → met), regressed (met → unmet), new (first claimed), dropped."""
    out = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if a is None:
            change = "moi"
        elif b is None:
            change = "bo"
        elif b in _MET and a not in _MET:
            change = "da-khac-phuc"
        elif a in _MET and b not in _MET:
            change = "thut-lui"
        else:
            change = "thay-doi"
        out.append({"key": key, "change": change, "before": a, "after": b})
    return out


CHANGE_LABELS = {"moi": "mới khai", "bo": "không còn khai", "da-khac-phuc": "đã khắc phục", "thut-lui": "thụt lùi",
                 "thay-doi": "thay đổi"}


def late_agencies(ws: Workspace, deadline: dt.date, agencies: list[str] | None = None) -> list[dict[str, Any]]:
    """Per agency: its latest submission made by ``deadline`` (if any), and whether it is late.

    An agency is late when none of its bundles was made on or before the deadline (a bundle made
    after it counts as a late submission). Used by the roll-up and ``submissions late``.
    """
    codes = agencies if agencies is not None else [r[0] for r in ws.db.execute(
        "select code from agencies order by code").fetchall()]
    out = []
    for code in codes:
        subs = list(ws.db.query("select id, as_of, created from submissions where agency = ? order by created, id",
                                [code]))
        on_time = [s for s in subs if _created_day(s["created"]) <= deadline]
        late_subs = [s for s in subs if _created_day(s["created"]) > deadline]
        chosen = on_time[-1] if on_time else (late_subs[0] if late_subs else None)
        out.append({"agency": code, "deadline": deadline.isoformat(), "late": not on_time,
                    "submission": int(chosen["id"]) if chosen else None,
                    "submitted": _created_day(chosen["created"]).isoformat() if chosen else None})
    return out


def _created_day(created: str) -> dt.date:
    stamp = dt.datetime.fromisoformat(created)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(VIETNAM).date()
