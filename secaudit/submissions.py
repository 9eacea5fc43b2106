"""Submission history at the receiver: what each agency claimed, and how it compares with what we see.

A submission is one imported bundle. Its rows stay in ``submission_rows`` and are never mixed into
the receiver's own ``answers``, ``waivers``, ``evidence_refs`` or ``scans``. To evaluate a claim,
the submission is materialised into a throwaway in-memory workspace and run through the same
``assess.evaluate_agency`` as everything else, so the receiver sees exactly the status matrix the
agency saw; ``compare`` sets that next to the receiver's own evaluation, and ``diff`` lists what
changed between two submissions (including audit-log entries that vanished or changed — a sign
that the sender's history was rewritten).

The agency's inventory in a bundle is its *claim* too. Its declared hosts are what Công an tỉnh
scans, so a bundle never changes them by itself: the differences are kept as pending host changes
(``host_changes``) until the inspector accepts them (``accept``), or — when the receiver's policy
says so — the bundle is signed with a certificate bound to that agency (``signing.add_binding``).
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
#: What an import decided about the agency's inventory (the receiver's own, other than its hosts).
INVENTORY_STATES = ("applied-new", "applied-update", "unchanged", "same-as-own", "kept-own", "kept-edited",
                    "kept-newer")
#: Order by when a bundle was made, but never later than when it arrived (a row recorded before
#: ``created`` was bounded may claim the year 2099; it must not outrank what came after it).
_RANK = "min(created, imported_at)"


def find_by_manifest(ws: Workspace, manifest_sha256: str) -> int | None:
    """The submission id of an already-imported bundle with this manifest hash, if any."""
    row = ws.db.execute("select id from submissions where manifest_sha256 = ?", [manifest_sha256]).fetchone()
    return int(row[0]) if row else None


def _document(agency: Any) -> str:
    return dumps(inventory.agency_document(agency))


def _hosts_by_system(agency: Any) -> dict[str, dict[str, Any]]:
    return {s.code: {h.address: h for h in s.hosts} for s in agency.systems} if agency is not None else {}


def host_changes(current: Any, claim: Any) -> list[dict[str, Any]]:
    """Declared hosts (the scan scope) the claim would add, remove or change, per system and address.

    A host is its address, expected ports, public-web flag and note: expected ports decide which
    open ports a scan reports as unexpected, so changing them changes what the scan finds.
    """
    before, after = _hosts_by_system(current), _hosts_by_system(claim)
    out: list[dict[str, Any]] = []
    for system in sorted(set(before) | set(after)):
        old, new = before.get(system, {}), after.get(system, {})
        for address in sorted(set(old) | set(new)):
            a, b = old.get(address), new.get(address)
            if a == b:
                continue
            change = "added" if a is None else "removed" if b is None else "changed"
            out.append({"system": system, "address": address, "change": change,
                        "before": inventory.host_text(a) if a is not None else None,
                        "after": inventory.host_text(b) if b is not None else None})
    return out


def keep_scope(claim: Any, current: Any) -> Any:
    """The claim with the receiver's declared hosts in place of the claimed ones.

    Systems the receiver knows keep their hosts, new systems arrive without hosts, and a system
    the claim drops stays while it still has hosts (dropping it would drop them from the scope).
    """
    own = {s.code: s for s in current.systems} if current is not None else {}
    systems = [s.model_copy(update={"hosts": list(own[s.code].hosts) if s.code in own else []})
               for s in claim.systems]
    claimed = {s.code for s in claim.systems}
    systems += [s for code, s in own.items() if code not in claimed and s.hosts]
    return claim.model_copy(update={"systems": systems})


def _instant(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _last_applied(ws: Workspace, code: str) -> dict[str, Any] | None:
    """The submission whose inventory the receiver applied last (at import or by acceptance)."""
    return next(iter(ws.db.query(
        "select id, created, imported_at, applied_sha256 from submissions where agency = ? and applied_at is not null"
        " order by applied_at desc, id desc limit 1", [code])), None)


def _inventory_decision(ws: Workspace, claim: Any, kept: Any, current: Any, created: dt.datetime) -> str:
    """Whether the agency's claim (scope kept: ``kept``) may replace the receiver's inventory (see ``record``)."""
    if current is None:
        return "applied-new"
    last = _last_applied(ws, claim.code)
    if last is None:
        return "same-as-own" if _document(claim) == _document(current) else "kept-own"
    applied = last["applied_sha256"]
    edited = (inventory.document_hash(current) != applied if applied
              else _document(current) != _claimed_document(ws, int(last["id"])))
    if edited:
        return "kept-edited"
    if created < min(_instant(last["created"]), _instant(last["imported_at"])):
        return "kept-newer"
    return "unchanged" if _document(kept) == _document(current) else "applied-update"


def _claimed_document(ws: Workspace, submission_id: int) -> str:
    return _document(claimed_agency(ws, submission_id))


def claimed_agency(ws: Workspace, submission_id: int) -> Any:
    """The inventory a submission claims, as the validated ``Agency`` model."""
    from .bundle import agency_from_yaml

    text = rows(ws, submission_id, "inventory")[0]["yaml"]
    return agency_from_yaml(text, f"submission-{submission_id}")


def record(ws: Workspace, info: Any, contents: Any, *, file_name: str, actor: str, signer: str | None,
           auto_apply: bool = False) -> Any:
    """Write one verified bundle as a submission, in one transaction (called by ``bundle.import_bundle``).

    The agency's inventory is its claim. It goes into the receiver's inventory only when the
    receiver has no such agency yet, or still holds exactly what this agency's last applied
    submission wrote and this one is newer — and even then without its changes to the declared
    hosts, which stay as the receiver has them until the inspector accepts them
    (``accept``). Only ``auto_apply`` (a signature by a certificate bound to the agency whose
    binding says so) lets host changes through at import.
    """
    from .bundle import ImportResult

    manifest = info.manifest
    code = manifest.agency.code
    created_at = manifest.created if manifest.created.tzinfo else manifest.created.replace(tzinfo=dt.UTC)
    created_at = created_at.astimezone(dt.UTC)
    created = created_at.isoformat()
    check = info.signature
    binding = check.binding if check is not None else None
    with ws.transaction() as db:
        existing = find_by_manifest(ws, info.manifest_sha256)
        if existing is not None:  # imported meanwhile by another process
            return ImportResult(existing, code, info.manifest_sha256, True, "unchanged")
        claim = contents.agency
        current = inventory.get_agency(ws, code) if ws.agency_exists(code) else None
        changes = host_changes(current, claim)
        kept = keep_scope(claim, current)
        decision = _inventory_decision(ws, claim, kept, current, created_at)
        earlier = [r for r in db.execute(f"select id, {_RANK} from submissions where agency = ?", [code]).fetchall()]
        previous = max((r for r in earlier if _instant(r[1]) <= created_at), key=lambda r: (_instant(r[1]), r[0]),
                       default=None)
        newer = max((r for r in earlier if _instant(r[1]) > created_at), key=lambda r: (_instant(r[1]), r[0]),
                    default=None)
        applied = decision in ("applied-new", "applied-update", "unchanged")
        write = None
        if applied and changes and auto_apply:
            write, scope = claim, "applied-signed"
        else:
            scope = "pending" if changes else "none"
            if decision in ("applied-new", "applied-update"):
                write = kept
        stamp = now()
        sid = int(db.table("submissions").insert({  # type: ignore[arg-type]
            "agency": code, "manifest_sha256": info.manifest_sha256, "format_version": manifest.format_version,
            "tool_version": manifest.tool.version, "schema_version": manifest.schema_version,
            "as_of": manifest.as_of.isoformat(), "created": created, "exported_by": manifest.exported_by,
            "profile": manifest.profile, "file_name": file_name, "members": len(info.members),
            "bytes": sum(m.size for m in info.members),
            "signature": _signature_state(info), "signer": signer, "report_sha256": contents.report_sha256,
            "inventory_applied": int(applied), "supersedes": int(previous[0]) if previous else None,
            "imported_at": stamp, "actor": actor, "manifest": info.manifest_bytes.decode("utf-8"),
            "inventory_state": decision, "binding": binding, "hosts_pending": int(scope == "pending"),
            "applied_at": stamp if applied else None,
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
        if write is not None:
            inventory.import_agencies(ws, [write], actor=actor, source=f"submission-{sid}")
        if applied:  # the hash of what the receiver now holds, read back: a later import compares with it
            db.execute("update submissions set applied_sha256 = ? where id = ?",
                       [inventory.document_hash(inventory.get_agency(ws, code)), sid])
        counts = {kind: len(table) for kind, table in contents.tables.items()}
        auditlog.append(ws, actor=actor, action="submission.import", agency=code, subject=f"submission-{sid}",
                        detail={"manifest_sha256": info.manifest_sha256, "file": file_name,
                                "as_of": manifest.as_of.isoformat(), "created": created, "inventory": decision,
                                "signature": _signature_state(info), "signer": signer, "binding": binding,
                                "scope": scope, "host_changes": changes, "counts": counts})
    return ImportResult(sid, code, info.manifest_sha256, False, decision,
                        supersedes=int(previous[0]) if previous else None, counts=counts, signer=signer,
                        scope=scope, host_changes=changes, binding=binding,
                        newer=int(newer[0]) if newer else None)


def _signature_state(info: Any) -> str:
    if not info.signed:
        return "none"
    if info.signature is None:
        return "unchecked"
    if info.signature.binding == "bound":
        return "bound"
    return "trusted" if info.signature.trusted else "intact"


# -- the scan scope: pending host changes and the inspector's acceptance -------------------------------
@dataclass
class Acceptance:
    """What ``accept`` applied: the host changes, and whether a newer submission exists."""

    agency: str
    submission_id: int
    host_changes: list[dict[str, Any]]
    changed: bool
    newer: int | None = None


def accept(ws: Workspace, agency: str, submission_id: int, *, actor: str, dry_run: bool = False) -> Acceptance:
    """The inspector accepts a submission's inventory, declared hosts included, as the receiver's own.

    This is the one way an unsigned claim reaches the scan scope. It is recorded on the
    submission and in the audit log with the exact host changes; ``dry_run`` only shows them.
    """
    sub = get(ws, submission_id)
    if sub["agency"] != agency:
        raise NotFoundError(f"Lần nộp #{submission_id} là của '{sub['agency']}', không phải '{agency}'",
                            en="the submission belongs to another agency")
    claim = claimed_agency(ws, submission_id)
    current = inventory.get_agency(ws, agency) if ws.agency_exists(agency) else None
    changes = host_changes(current, claim)
    changed = current is None or _document(claim) != _document(current)
    newest = latest(ws, agency)
    newer = int(newest["id"]) if int(newest["id"]) != submission_id else None
    result = Acceptance(agency, submission_id, changes, changed, newer)
    if dry_run:
        return result
    with ws.transaction() as db:
        if changed:
            inventory.import_agencies(ws, [claim], actor=actor, source=f"submission-{submission_id}")
        stamp = now()
        db.execute("update submissions set applied_sha256 = ?, applied_at = ?, accepted_at = ?, accepted_by = ?,"
                   " hosts_pending = 0, inventory_applied = 1 where id = ?",
                   [inventory.document_hash(inventory.get_agency(ws, agency)), stamp, stamp, actor, submission_id])
        db.execute("update submissions set hosts_pending = 0 where agency = ? and id < ?", [agency, submission_id])
        auditlog.append(ws, actor=actor, action="submission.accept", agency=agency,
                        subject=f"submission-{submission_id}", detail={"host_changes": changes, "changed": changed})
    return result


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
           " signature, signer, binding, inventory_applied, supersedes, inventory_state, hosts_pending, accepted_at,"
           " accepted_by, manifest_sha256 from submissions")
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
    """The agency's most recent submission (by the time the bundle was made, bounded by its import)."""
    row = next(iter(ws.db.query(f"select * from submissions where agency = ? order by {_RANK} desc, id desc limit 1",
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
        # The bundle does not say when the agency declared each host, and the rebuild time would make
        # every claimed scan look older than its hosts: the claim is judged on its own scans alone.
        db.execute("update hosts set declared_at = null")
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
    host_changes: list[dict[str, Any]] = field(default_factory=list)  # claimed hosts not in the scan scope

    @property
    def disagreements(self) -> int:
        return sum(1 for r in [*self.items, *self.hosts] if r["verdict"] == DISAGREE) + len(self.inventory)

    def to_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "submission": self.submission_id, "as_of": self.as_of.isoformat(),
                "profile": self.profile, "items": self.items, "hosts": self.hosts, "inventory": self.inventory,
                "host_changes": self.host_changes}


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
        result.host_changes = host_changes(inventory.get_agency(ws, agency), inventory.get_agency(mem, agency))
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
