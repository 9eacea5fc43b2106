"""A submission's claims, evaluated and compared: with the receiver's own observations, and with
another submission of the same agency.

To evaluate a claim, the submission is materialised into a throwaway in-memory workspace and run
through the same ``assess.evaluate_agency`` as everything else, so the receiver sees exactly the
status matrix the agency saw; ``compare`` sets that next to the receiver's own evaluation, and
``diff`` lists what changed between two submissions (including audit-log entries that vanished or
changed — a sign that the sender's history was rewritten).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from secaudit.errors import NotFoundError
from secaudit.exchange import tables as table_rules
from secaudit.exchange.manifest import BundleError
from secaudit.exchange.submissions import claimed_agency, get, host_changes, latest, rows
from secaudit.inventory import records as inventory
from secaudit.store.migrations.v0015_findings_per_problem import collapse as collapse_findings
from secaudit.store.workspace import Workspace, dumps

#: Materialisation order (references point backwards).
_MATERIALISE = ("evidence", "evidence_refs", "answers", "waivers", "scans", "scan_hosts", "scan_ports", "findings")


def claims_workspace(ws: Workspace, submission_id: int) -> Workspace:
    """A throwaway in-memory workspace holding exactly what the submission claims.

    Rows keep their original ids (so results name the same scans and findings as the sender's) and
    are inserted by column name: columns this schema does not know are left out. Evidence files
    are read from the receiver's store (``root`` is shared; nothing is ever written there).
    """
    sub = get(ws, submission_id)
    claimed = {table: rows(ws, submission_id, table) for table in _MATERIALISE}
    broken = table_rules.problems(claimed)  # kept before the rows were checked at import: refuse, do not crash
    if broken:
        raise BundleError([(f"submission-{submission_id}:{where}", msg) for where, msg in broken],
                          en="the submission's rows cannot be read")
    mem = Workspace(ws.root, sqlite_utils.Database(memory=True))
    mem.migrate()
    agency = claimed_agency(ws, submission_id)
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
            stored = claimed[table]
            if table == "findings":  # a bundle made before findings were one row per problem
                stored = collapse_findings(stored)
            data = [{k: v for k, v in row.items() if k in columns} for row in stored]
            if data:
                db.table(table).insert_all(data, batch_size=500)
    return mem


def evaluate_submission(
    ws: Workspace, library: Any, submission_id: int, *, profile: Any, as_of: dt.date | None = None,
) -> Any:
    """Evaluate what a submission claims, as of its own date unless ``as_of`` is given."""
    from secaudit.reporting import assessment as assess

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
    from secaudit.reporting import assessment as assess
    from secaudit.requirements.results import Status

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
        known = o is not None and o.status is not Status.NOT_ASSESSED
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


def _claimed_document(ws: Workspace, submission_id: int) -> str:
    return dumps(inventory.agency_document(claimed_agency(ws, submission_id)))


def _change(before: bool, after: bool) -> str:
    return "changed" if before and after else ("added" if after else "removed")


def _pick(row: dict[str, Any] | None, fields: tuple[str, ...]) -> Any:
    return None if row is None else {f: row.get(f) for f in fields}
