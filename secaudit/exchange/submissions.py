"""Submission history at the receiver: what each agency claimed, recorded as it arrived.

A submission is one imported bundle. Its rows stay in ``submission_rows`` and are never mixed into
the receiver's own ``answers``, ``waivers``, ``evidence_refs`` or ``scans``; ``claims`` evaluates
them and sets them next to what the receiver sees.

The agency's inventory in a bundle is its *claim* too. Its declared hosts are what Công an tỉnh
scans, so a bundle never changes them by itself: the differences are kept as pending host changes
(``host_changes``) until the inspector accepts them (``accept``), or — when the receiver's policy
says so — the bundle is signed with a certificate bound to that agency (``trust.add_binding``).
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from secaudit.errors import NotFoundError
from secaudit.exchange.archive import BundleInfo
from secaudit.exchange.manifest import agency_from_yaml
from secaudit.exchange.verify import Contents
from secaudit.inventory import records as inventory
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, dumps, now

# -- recording --------------------------------------------------------------------------------------
#: What an import decided about the agency's inventory (the receiver's own, other than its hosts).
INVENTORY_STATES = ("applied-new", "applied-update", "unchanged", "same-as-own", "kept-own", "kept-edited",
                    "kept-newer")
#: Order by when a bundle was made, but never later than when it arrived (a row recorded before
#: ``created`` was bounded may claim the year 2099; it must not outrank what came after it).
_RANK = "min(created, imported_at)"


@dataclass
class ImportResult:
    """What ``receive.import_bundle`` did; ``duplicate`` means the same bundle was already imported.

    ``inventory`` is the decision about the agency's inventory (``INVENTORY_STATES``);
    ``scope`` says what became of changes to the declared hosts — the receiver's scan scope:
    ``none`` (no change), ``pending`` (shown in ``host_changes``, waiting for
    ``secaudit submissions accept``) or ``applied-signed`` (signed with a certificate bound to the
    agency whose policy applies them).
    """

    submission_id: int
    agency: str
    manifest_sha256: str
    duplicate: bool
    inventory: str
    supersedes: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    new_files: int = 0
    signer: str | None = None
    scope: str = "none"
    host_changes: list[dict[str, Any]] = field(default_factory=list)
    binding: str | None = None
    newer: int | None = None  # a submission already received that was made after this one


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
    text = rows(ws, submission_id, "inventory")[0]["yaml"]
    return agency_from_yaml(text, f"submission-{submission_id}")


def record(ws: Workspace, info: BundleInfo, contents: Contents, *, file_name: str, actor: str,
           signer: str | None, auto_apply: bool = False) -> ImportResult:
    """Write one verified bundle as a submission, in one transaction (called by ``receive.import_bundle``).

    The agency's inventory is its claim. It goes into the receiver's inventory only when the
    receiver has no such agency yet, or still holds exactly what this agency's last applied
    submission wrote and this one is newer — and even then without its changes to the declared
    hosts, which stay as the receiver has them until the inspector accepts them
    (``accept``). Only ``auto_apply`` (a signature by a certificate bound to the agency whose
    binding says so) lets host changes through at import.
    """
    manifest = info.manifest
    assert manifest is not None  # a verified bundle has one
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
