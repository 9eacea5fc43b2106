"""Submission history at the receiver: what each agency claimed, and how it compares with what we see.

A submission is one imported bundle. Its rows stay in ``submission_rows`` and are never mixed into
the receiver's own ``answers``, ``waivers``, ``evidence_refs`` or ``scans``. To evaluate a claim,
the submission is materialised into a throwaway in-memory workspace and run through the same
``assess.evaluate_agency`` as everything else, so the receiver sees exactly the status matrix the
agency saw; ``compare`` sets that next to the receiver's own evaluation, and ``diff`` lists what
changed between two submissions (including audit-log entries that vanished or changed — a sign
that the sender's history was rewritten).
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from . import auditlog, inventory
from .errors import NotFoundError
from .store import Workspace, dumps, now

#: Materialisation order (references point backwards).
_MATERIALISE = ("evidence", "evidence_refs", "answers", "waivers", "scans", "scan_hosts", "scan_ports", "findings")


# -- recording --------------------------------------------------------------------------------------
def find_by_manifest(ws: Workspace, manifest_sha256: str) -> int | None:
    """The submission id of an already-imported bundle with this manifest hash, if any."""
    row = ws.db.execute("select id from submissions where manifest_sha256 = ?", [manifest_sha256]).fetchone()
    return int(row[0]) if row else None


def _inventory_decision(ws: Workspace, claim: Any, created: str) -> str:
    """Whether the agency's inventory may replace the receiver's (see ``record``)."""
    code = claim.code
    if not ws.agency_exists(code):
        return "applied-new"
    current = dumps(inventory.agency_document(inventory.get_agency(ws, code)))
    claimed = dumps(inventory.agency_document(claim))
    last = ws.db.execute(
        "select id, created from submissions where agency = ? and inventory_applied = 1 order by created desc, id desc"
        " limit 1", [code]).fetchone()
    if last is None:
        return "same-as-own" if claimed == current else "kept-own"
    if current != _claimed_document(ws, int(last[0])):
        return "kept-edited"
    if created < last[1]:
        return "kept-newer"
    return "unchanged" if claimed == current else "applied-update"


def _claimed_document(ws: Workspace, submission_id: int) -> str:
    from .bundle import agency_from_yaml

    text = rows(ws, submission_id, "inventory")[0]["yaml"]
    return dumps(inventory.agency_document(agency_from_yaml(text, f"submission-{submission_id}")))


def record(ws: Workspace, info: Any, contents: Any, *, file_name: str, actor: str, signer: str | None) -> Any:
    """Write one verified bundle as a submission, in one transaction (called by ``bundle.import_bundle``).

    The agency's inventory goes into the receiver's inventory only when the receiver has no such
    agency yet, or still holds exactly the inventory of this agency's last applied submission and
    this one is newer. Otherwise the receiver's inventory stays, and the claim is kept beside it.
    """
    from .bundle import ImportResult

    manifest = info.manifest
    code = manifest.agency.code
    created = manifest.created.isoformat()
    with ws.transaction() as db:
        existing = find_by_manifest(ws, info.manifest_sha256)
        if existing is not None:  # imported meanwhile by another process
            return ImportResult(existing, code, info.manifest_sha256, True, "unchanged")
        decision = _inventory_decision(ws, contents.agency, created)
        previous = db.execute("select id from submissions where agency = ? and created <= ? order by created desc,"
                              " id desc limit 1", [code, created]).fetchone()
        applied = decision in ("applied-new", "applied-update", "unchanged")
        sid = int(db.table("submissions").insert({  # type: ignore[arg-type]
            "agency": code, "manifest_sha256": info.manifest_sha256, "format_version": manifest.format_version,
            "tool_version": manifest.tool.version, "schema_version": manifest.schema_version,
            "as_of": manifest.as_of.isoformat(), "created": created, "exported_by": manifest.exported_by,
            "profile": manifest.profile, "file_name": file_name, "members": len(info.members),
            "bytes": sum(m.size for m in info.members),
            "signature": _signature_state(info), "signer": signer, "report_sha256": contents.report_sha256,
            "inventory_applied": int(applied), "supersedes": int(previous[0]) if previous else None,
            "imported_at": now(), "actor": actor, "manifest": info.manifest_bytes.decode("utf-8"),
        }).last_pk)
        db.table("submission_members").insert_all(
            {"submission_id": sid, "path": m.path, "role": m.role, "sha256": m.sha256, "size": m.size}
            for m in info.members)
        batch: list[dict[str, Any]] = [{"submission_id": sid, "kind": "inventory", "position": 0,
                                        "data": dumps({"yaml": contents.inventory_yaml})}]
        for kind, table in [*contents.tables.items(), ("log", contents.log)]:
            batch.extend({"submission_id": sid, "kind": kind, "position": i, "data": dumps(row)}
                         for i, row in enumerate(table))
        db.table("submission_rows").insert_all(batch, batch_size=500)
        media = {r.get("sha256"): r.get("media_type") for r in contents.tables.get("evidence", [])}
        for sha, member in contents.blobs.items():
            db.execute("insert or ignore into evidence (sha256, size, media_type, stored_at) values (?, ?, ?, ?)",
                       [sha, member.size, media.get(sha) or _media_type(member), now()])
        if decision in ("applied-new", "applied-update"):
            inventory.import_agencies(ws, [contents.agency], actor=actor, source=f"submission-{sid}")
        counts = {kind: len(table) for kind, table in contents.tables.items()}
        auditlog.append(ws, actor=actor, action="submission.import", agency=code, subject=f"submission-{sid}",
                        detail={"manifest_sha256": info.manifest_sha256, "file": file_name,
                                "as_of": manifest.as_of.isoformat(), "created": created, "inventory": decision,
                                "signature": _signature_state(info), "signer": signer, "counts": counts})
    return ImportResult(sid, code, info.manifest_sha256, False, decision,
                        supersedes=int(previous[0]) if previous else None, counts=counts, signer=signer)


def _signature_state(info: Any) -> str:
    if not info.signed:
        return "none"
    if info.signature is None:
        return "unchecked"
    return "trusted" if info.signature.trusted else "intact"


def _media_type(member: Any) -> str:
    if member.role == "scan-xml":
        return "application/xml"
    if member.role == "report":
        return "application/pdf"
    return mimetypes.guess_type(member.path)[0] or "application/octet-stream"


# -- reading --------------------------------------------------------------------------------------
def list_submissions(ws: Workspace, agency: str | None = None) -> list[dict[str, Any]]:
    """Submission history, oldest import first, optionally for one agency."""
    sql = ("select id, agency, as_of, created, imported_at, actor, exported_by, file_name, members, bytes,"
           " signature, signer, inventory_applied, supersedes, manifest_sha256 from submissions")
    params: list[Any] = []
    if agency:
        sql += " where agency = ?"
        params.append(agency)
    return list(ws.db.query(sql + " order by id", params))


def get(ws: Workspace, submission_id: int) -> dict[str, Any]:
    """One submission's row; NotFoundError when there is none."""
    row = next(iter(ws.db.query("select * from submissions where id = ?", [submission_id])), None)
    if row is None:
        raise NotFoundError(f"Không có lần nộp #{submission_id}", en=f"no submission #{submission_id}")
    return row


def latest(ws: Workspace, agency: str) -> dict[str, Any]:
    """The agency's most recent submission (by the time the bundle was made)."""
    row = next(iter(ws.db.query("select * from submissions where agency = ? order by created desc, id desc limit 1",
                                [agency])), None)
    if row is None:
        raise NotFoundError(f"Cơ quan '{agency}' chưa nộp gói hồ sơ nào", en=f"no submission from '{agency}'")
    return row


def rows(ws: Workspace, submission_id: int, kind: str) -> list[dict[str, Any]]:
    """The stored rows of one kind (a table name, ``log`` or ``inventory``), in their original order."""
    return [json.loads(r[0]) for r in ws.db.execute(
        "select data from submission_rows where submission_id = ? and kind = ? order by position",
        [submission_id, kind]).fetchall()]


def claims_workspace(ws: Workspace, submission_id: int) -> Workspace:
    """A throwaway in-memory workspace holding exactly what the submission claims.

    Rows keep their original ids (so results name the same scans and findings as the sender's) and
    are inserted by column name: columns this schema does not know are left out. Evidence files
    are read from the receiver's store (``root`` is shared; nothing is ever written there).
    """
    from .bundle import agency_from_yaml

    sub = get(ws, submission_id)
    mem = Workspace(ws.root, sqlite_utils.Database(memory=True))
    mem.migrate()
    agency = agency_from_yaml(rows(ws, submission_id, "inventory")[0]["yaml"], f"submission-{submission_id}")
    inventory.import_agencies(mem, [agency], actor="secaudit", source=f"submission-{sub['id']}")
    with mem.transaction() as db:
        tables = set(db.table_names())
        for table in _MATERIALISE:
            if table not in tables:
                continue
            columns = {c.name for c in db.table(table).columns}
            data = [{k: v for k, v in row.items() if k in columns} for row in rows(ws, submission_id, table)]
            if data:
                db.table(table).insert_all(data, batch_size=500)
    return mem


def evaluate_submission(
    ws: Workspace, library: Any, submission_id: int, *, profile: Any, as_of: dt.date | None = None,
) -> Any:
    """Evaluate what a submission claims, as of its own date unless ``as_of`` is given."""
    from . import assess

    sub = get(ws, submission_id)
    day = as_of or dt.date.fromisoformat(sub["as_of"])
    mem = claims_workspace(ws, submission_id)
    try:
        return assess.evaluate_agency(mem, library, sub["agency"], as_of=day, profile=profile)
    finally:
        mem.close()


# -- claims against own observations ----------------------------------------------------------------
AGREE = "khop"
DISAGREE = "mau-thuan"
UNVERIFIED = "chua-kiem-chung"
VERDICT_LABELS = {AGREE: "khớp / agree", DISAGREE: "MÂU THUẪN / disagree", UNVERIFIED: "chưa kiểm chứng / unverified"}


@dataclass
class Comparison:
    """The agency's claims (one submission) next to the receiver's own evaluation and scans."""

    agency: str
    submission_id: int
    as_of: dt.date
    profile: str
    items: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    inventory: list[dict[str, Any]] = field(default_factory=list)

    @property
    def disagreements(self) -> int:
        return sum(1 for r in [*self.items, *self.hosts] if r["verdict"] == DISAGREE) + len(self.inventory)

    def to_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "submission": self.submission_id, "as_of": self.as_of.isoformat(),
                "profile": self.profile, "items": self.items, "hosts": self.hosts, "inventory": self.inventory}


def _verdict(claimed: str | None, own: str | None, own_known: bool) -> str:
    if claimed == own:
        return AGREE
    return DISAGREE if own_known else UNVERIFIED


def compare(
    ws: Workspace, library: Any, agency: str, *, profile: Any, as_of: dt.date, submission_id: int | None = None,
) -> Comparison:
    """Side by side: what the agency claims (its latest submission, or the one given) and what the
    receiver's own answers and scans say. Nothing is merged; where they differ, both are shown.

    An item is *unverified* when the receiver has no conclusion of its own (not assessed), and a
    *disagreement* when both sides reached different conclusions.
    """
    from . import assess

    sub = get(ws, submission_id) if submission_id else latest(ws, agency)
    if sub["agency"] != agency:
        raise NotFoundError(f"Lần nộp #{sub['id']} là của '{sub['agency']}'", en="submission of another agency")
    ws.require_agency(agency)
    result = Comparison(agency, int(sub["id"]), as_of, profile.id)
    mem = claims_workspace(ws, int(sub["id"]))
    try:
        claimed = assess.evaluate_agency(mem, library, agency, as_of=as_of, profile=profile)
        own = assess.evaluate_agency(ws, library, agency, as_of=as_of, profile=profile)
        result.hosts = _compare_hosts(_host_ports(mem, agency, as_of), _host_ports(ws, agency, as_of))
        result.inventory = _inventory_differences(mem, ws, agency)
    finally:
        mem.close()
    own_rows = {(r.checklist, r.item, r.system): r for r in [*own.results, *own.system_results]}
    for c in [*claimed.results, *claimed.system_results]:
        o = own_rows.get((c.checklist, c.item, c.system))
        own_status = o.status.value if o else None
        known = o is not None and o.status is not assess.Status.NOT_ASSESSED
        result.items.append({
            "checklist": c.checklist, "item": c.item, "system": c.system or "",
            "claimed": c.status.value, "own": own_status, "verdict": _verdict(c.status.value, own_status, known),
            "claimed_reason": c.reasons[0] if c.reasons else "", "own_reason": o.reasons[0] if o and o.reasons else "",
        })
    return result


def _host_ports(ws: Workspace, agency: str, as_of: dt.date) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (system, address): the latest scan on or before ``as_of`` that saw the host, and its open ports."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    scans = ws.db.execute(
        "select id, started, status from scans where agency = ? and date(started) <= ? order by started desc, id desc",
        [agency, as_of.isoformat()]).fetchall()
    for scan_id, started, status in scans:
        for host_id, system, address, state in ws.db.execute(
                "select id, system, address, state from scan_hosts where scan_id = ?", [scan_id]).fetchall():
            key = (system or "", address)
            if key in out:
                continue
            ports = sorted(f"{p}/{proto}" for p, proto in ws.db.execute(
                "select port, protocol from scan_ports where scan_host_id = ? and state = 'open'", [host_id]))
            out[key] = {"scan": scan_id, "started": started, "status": status, "state": state, "ports": ports}
    return out


def _compare_hosts(claimed: dict[tuple[str, str], dict[str, Any]], own: dict[tuple[str, str], dict[str, Any]]) \
        -> list[dict[str, Any]]:
    found = []
    for key in sorted(set(claimed) | set(own)):
        c, o = claimed.get(key), own.get(key)
        c_view = None if c is None else (c["state"], c["ports"])
        o_view = None if o is None else (o["state"], o["ports"])
        if c is None:
            verdict = DISAGREE if o and o["ports"] else UNVERIFIED
        else:
            verdict = _verdict(str(c_view), str(o_view), o is not None)
        found.append({
            "system": key[0], "address": key[1],
            "claimed_scan": c["scan"] if c else None, "claimed_started": c["started"] if c else None,
            "claimed_state": c["state"] if c else None, "claimed_ports": c["ports"] if c else None,
            "own_scan": o["scan"] if o else None, "own_started": o["started"] if o else None,
            "own_state": o["state"] if o else None, "own_ports": o["ports"] if o else None, "verdict": verdict,
        })
    return found


def _flat(doc: Any, prefix: str = "") -> dict[str, Any]:
    """A nested document as dotted paths (systems and hosts keyed by code/address) → value."""
    out: dict[str, Any] = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.update(_flat(value, f"{prefix}{key}."))
    elif isinstance(doc, list) and all(isinstance(v, dict) and ("code" in v or "address" in v) for v in doc) and doc:
        for value in doc:
            out.update(_flat(value, f"{prefix}{value.get('code') or value.get('address')}."))
    else:
        out[prefix.rstrip(".")] = doc
    return out


def _inventory_differences(mem: Workspace, ws: Workspace, agency: str) -> list[dict[str, Any]]:
    claimed = _flat(json.loads(dumps(inventory.agency_document(inventory.get_agency(mem, agency)))))
    own = _flat(json.loads(dumps(inventory.agency_document(inventory.get_agency(ws, agency)))))
    return [{"field": key, "claimed": claimed.get(key), "own": own.get(key)}
            for key in sorted(set(claimed) | set(own)) if claimed.get(key) != own.get(key)]


# -- between submissions --------------------------------------------------------------------------
def diff(ws: Workspace, a: int, b: int, *, library: Any = None, profile: Any = None) -> list[dict[str, Any]]:
    """What changed from submission ``a`` to ``b``: rows of (area, key, change, before, after).

    Areas: inventory fields, answers, waivers, evidence files, scans, the audit log (entries of
    ``a`` missing or altered in ``b``), and — with a library — each item's evaluated status, each
    submission judged as of its own date.
    """
    sa, sb = get(ws, a), get(ws, b)
    out: list[dict[str, Any]] = []

    def add(area: str, key: str, change: str, before: Any, after: Any) -> None:
        out.append({"area": area, "key": key, "change": change, "before": before, "after": after})

    inv_a = _flat(json.loads(_claimed_document(ws, a)))
    inv_b = _flat(json.loads(_claimed_document(ws, b)))
    for key in sorted(set(inv_a) | set(inv_b)):
        if inv_a.get(key) != inv_b.get(key):
            add("inventory", key, _change(key in inv_a, key in inv_b), inv_a.get(key), inv_b.get(key))

    def keyed(sid: int, table: str, key_fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        return {":".join(str(r.get(f) or "") for f in key_fields): r for r in rows(ws, sid, table)}

    for table, key_fields, fields in (
        ("answers", ("checklist", "item", "system"), ("status", "note", "evidence")),
        ("waivers", ("checklist", "item", "system", "created_at"), ("reason", "approved_by", "until")),
        ("evidence_refs", ("checklist", "item", "system", "sha256"), ("original_name", "kind", "effective", "expires")),
        ("scans", ("started", "profile", "xml_sha256"), ("status", "system", "targets")),
    ):
        ra, rb = keyed(a, table, key_fields), keyed(b, table, key_fields)
        for key in sorted(set(ra) | set(rb)):
            before, after = ra.get(key), rb.get(key)
            if before is None or after is None:
                add(table, key, _change(before is not None, after is not None),
                    _pick(before, fields), _pick(after, fields))
                continue
            for name in fields:
                if before.get(name) != after.get(name):
                    add(table, f"{key}.{name}", "changed", before.get(name), after.get(name))

    log_b = {r.get("seq"): r.get("hash") for r in rows(ws, b, "log")}
    top_b = max((s for s in log_b if isinstance(s, int)), default=0)
    for entry in rows(ws, a, "log"):
        seq = entry.get("seq")
        if seq in log_b and log_b[seq] != entry.get("hash"):
            add("log", f"#{seq}", "altered", entry.get("hash"), log_b[seq])
        elif seq not in log_b and isinstance(seq, int) and seq <= top_b:
            add("log", f"#{seq}", "removed", entry.get("hash"), None)

    if library is not None and profile is not None:
        ea = evaluate_submission(ws, library, a, profile=profile)
        eb = evaluate_submission(ws, library, b, profile=profile)
        before_status = {(r.checklist, r.item, r.system): r.status.value for r in [*ea.results, *ea.system_results]}
        for r in [*eb.results, *eb.system_results]:
            item_key = (r.checklist, r.item, r.system)
            if before_status.get(item_key) != r.status.value:
                add("status", ":".join(k or "" for k in item_key).rstrip(":"), _change(item_key in before_status, True),
                    before_status.get(item_key), r.status.value)
    if sa["agency"] != sb["agency"]:
        add("agency", "code", "changed", sa["agency"], sb["agency"])
    return out


def _change(before: bool, after: bool) -> str:
    return "changed" if before and after else ("added" if after else "removed")


def _pick(row: dict[str, Any] | None, fields: tuple[str, ...]) -> Any:
    return None if row is None else {f: row.get(f) for f in fields}
