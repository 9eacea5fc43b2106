"""Read views for the served app (issue 18): the province dashboard, an agency, a system, the log.

Each returns plain data (JSON-ready dicts and lists): a web page renders it and its JSON twin
returns it as is, so both show the same facts under the same access rules. Who may read what is
decided by the caller (``secaudit.store.accounts.can_read_agency``); ``agencies`` narrows a view
to what the signed-in user may see.

Evaluating a province is the slow part (seconds at 150 agencies), and a served app asks for it
on every page view. The evaluated data is therefore kept in memory, keyed by the workspace's
state: the audit log's newest entry other than a sign-in or sign-out (every change appends one),
the scans table's newest id and running count (a scan's progress), the as-of date, the language
and the profile. Any change makes a new key, so a page never shows data older than the
workspace; concurrent requests for a key being computed wait for that one computation instead of
repeating it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

from secaudit.services.workspace import Where, open_workspace
from secaudit.services.workspace import library as _load_library

#: Dashboard filters read from the query string (name -> allowed values, or None for free text).
FILTERS = ("kind", "state", "task", "q")
STATES = ("overdue", "not_met", "met")
CACHE_SIZE = 64

_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_computing: dict[tuple[Any, ...], threading.Lock] = {}
_guard = threading.Lock()


def state(where: Where) -> tuple[Any, ...]:
    """What identifies the workspace's content now (see the module's docstring); a face may key
    its own caches (rendered pages) on it."""
    return _state(open_workspace(where))


def _state(ws: Any) -> tuple[Any, ...]:
    # signing in and out is logged too but changes no data: it must not throw the province away
    head = ws.db.execute("select hash from log where action not like 'web.sign%' order by seq desc limit 1").fetchone()
    scans = ws.db.execute("select coalesce(max(id), 0), coalesce(sum(status = 'running'), 0) from scans").fetchone()
    return (str(ws.root.resolve()), head[0] if head else "", int(scans[0]), int(scans[1]))


def _cached(key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """``compute()`` once per key (callers must not change what it returns)."""
    with _guard:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        lock = _computing.setdefault(key, threading.Lock())
    with lock:
        with _guard:
            if key in _cache:
                return _cache[key]
        value = compute()
        with _guard:
            _cache[key] = value
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
            _computing.pop(key, None)
    return value


@functools.cache
def library() -> Any:
    """The requirement library, read once per process (reading its YAML costs more than a page)."""
    return _load_library()


def clear_cache() -> None:
    with _guard:
        _cache.clear()


def fold(text: str) -> str:
    """Text for a forgiving search: no accents, no case (``Sở Y tế`` matches ``so y te``)."""
    import unicodedata

    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def _keep(agency: Any, tasks: list[Any], filters: dict[str, str]) -> bool:
    if filters.get("kind") and agency.kind != filters["kind"]:
        return False
    state = filters.get("state")
    if state == "overdue" and not agency.overdue:
        return False
    if state == "not_met" and agency.met:
        return False
    if state == "met" and not agency.met:
        return False
    task = filters.get("task")
    if task:
        index = next((i for i, t in enumerate(tasks) if t["id"] == task), None)
        if index is None:
            return False
        cell = agency.cells[index]
        if (cell.met or cell.status == "khong-ap-dung") and not cell.overdue:
            return False
    text = filters.get("q", "").strip()
    return not text or fold(text) in fold(f"{agency.code} {agency.name}")


def _row(agency: Any) -> dict[str, Any]:
    row = dataclasses.asdict(agency)
    row.update(overdue=agency.overdue, not_met=agency.not_met, met=agency.met,
               contradictions=agency.contradictions, open_findings=agency.open_findings, klass=agency.klass)
    for cell, source in zip(row["cells"], agency.cells, strict=True):
        cell.update(met=source.met, contradiction=source.contradiction)
    return row


def dashboard(where: Where, *, as_of: dt.date, filters: dict[str, str] | None = None,
              agencies: Collection[str] | None = None, lang: str = "vi",
              profile: str = "tu-danh-gia") -> dict[str, Any]:
    """Agencies × KH 04 tasks, contradictions and overdue first, narrowed by ``filters`` and to ``agencies``.

    The totals are those of the rows shown (the filter drives them). Unknown filter values are ignored.
    """
    wanted = {k: str(v) for k, v in (filters or {}).items() if k in FILTERS and v}
    if wanted.get("state") not in (None, *STATES):
        wanted.pop("state")
    ws = open_workspace(where)
    state = _state(ws)
    scope = None if agencies is None else tuple(sorted(agencies))
    return dict(_cached(("dashboard", *state, as_of, lang, profile, tuple(sorted(wanted.items())), scope),
                        lambda: _dashboard(ws, state, as_of=as_of, wanted=wanted, agencies=agencies, lang=lang,
                                           profile=profile)))


def _dashboard(ws: Any, state: tuple[Any, ...], *, as_of: dt.date, wanted: dict[str, str],
               agencies: Collection[str] | None, lang: str, profile: str) -> dict[str, Any]:
    from secaudit.errors import NotFoundError
    from secaudit.reporting.province import assemble, build_province

    lib = library()
    try:
        data = _cached(("province", *state, as_of, lang, profile), lambda: build_province(
            ws, lib, None, as_of=as_of, profile=lib.resolve_profile(profile), lang=lang))
    except NotFoundError:  # no agency yet: an empty dashboard, not an error page
        return {"as_of": as_of.isoformat(), "province": "", "tasks": [], "agencies": [], "kinds": [],
                "filters": wanted, "totals": {"agencies": 0, "compliant": 0, "with_overdue": 0, "systems": 0,
                                              "critical": 0, "approved": 0, "contradictions": 0, "per_task": []},
                "all_agencies": 0}
    visible = [a for a in data.agencies if agencies is None or a.code in agencies]
    kept = [dataclasses.replace(a) for a in visible if _keep(a, data.tasks, wanted)]  # assemble ranks its rows
    shown = assemble(data.tasks, kept, lang=lang, as_of=as_of,
                     province=data.province, issuer=data.issuer, profile=data.profile, source=data.source)
    rows = [_row(a) for a in shown.agencies]
    # claims that contradict the receiver's own verification, from the bundles received (submissions status)
    from secaudit.services.inspector import contradiction_counts

    found = _cached(("contradictions", *state, as_of, profile),
                    lambda: contradiction_counts(ws, as_of=as_of, profile=profile))
    for row in rows:
        row["contradictions"] = max(row["contradictions"], found.get(row["code"], 0))
    rows.sort(key=lambda r: -r["contradictions"])  # stable: otherwise the order assemble gave
    totals = {**shown.totals, "contradictions": sum(r["contradictions"] for r in rows)}
    return {
        "as_of": as_of.isoformat(), "province": data.province, "tasks": list(data.tasks),
        "agencies": rows, "kinds": sorted({a.kind for a in visible}),
        "filters": wanted, "totals": totals, "all_agencies": len(visible),
    }


def agency(where: Where, code: str, *, as_of: dt.date, lang: str = "vi",
           profile: str = "tu-danh-gia") -> dict[str, Any]:
    """An agency's page: systems, task status with the evidence behind each, findings, submissions."""
    ws = open_workspace(where)
    ws.require_agency(code)
    return dict(_cached(("agency", *_state(ws), code, as_of, lang, profile),
                        lambda: _agency(ws, code, as_of=as_of, lang=lang, profile=profile)))


def _agency(ws: Any, code: str, *, as_of: dt.date, lang: str, profile: str) -> dict[str, Any]:
    from secaudit.exchange import submissions
    from secaudit.reporting.data import build_report

    lib = library()
    data = build_report(ws, lib, code, as_of=as_of, profile=lib.resolve_profile(profile), lang=lang)
    # the report's fields are plain dicts and lists already, built for this call: no deep copy needed
    doc = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    doc["as_of"] = as_of.isoformat()
    backing: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in data.evidence:
        if e.get("checklist") and e.get("item"):
            backing.setdefault((e["checklist"], e["item"]), []).append(
                {"name": e["original_name"], "sha256": e["sha256"], "system": e["system"], "kind": e["kind"],
                 "expires": e["expires"]})
    for checklist in doc["checklists"]:
        items = checklist["items"]
        for item in items:
            item["evidence"] = backing.get((checklist["id"], item["id"]), [])
        parents = {item["id"]: item["parent"] for item in items}
        for item in items:  # a task shows the evidence of its whole subtree
            item["evidence_all"] = list(item["evidence"])
        by_id = {item["id"]: item for item in items}
        for item in items:
            parent = item["parent"]
            while parent is not None and parent in by_id:
                by_id[parent]["evidence_all"].extend(e for e in item["evidence"]
                                                     if e not in by_id[parent]["evidence_all"])
                parent = parents.get(parent)
    doc["submissions"] = [
        {k: v for k, v in s.items() if k in ("id", "file_name", "created", "imported_at", "as_of", "signature",
                                              "inventory_state", "accepted_at", "accepted_by", "exported_by")}
        for s in submissions.list_submissions(ws, code)
    ]
    return doc


def system(where: Where, agency_code: str, code: str, *, as_of: dt.date, lang: str = "vi",
           profile: str = "tu-danh-gia") -> dict[str, Any]:
    """A system's page: level suggested vs approved with reasons and citations, scans and findings over time."""
    from secaudit.scanning import history

    ws = open_workspace(where)
    ws.system_id(agency_code, code)  # NotFoundError for an unknown system
    page = agency(ws, agency_code, as_of=as_of, lang=lang, profile=profile)
    entry = next(s for s in page["systems"] if s["code"] == code)
    scans = [s for s in history.scan_rows(ws, agency_code) if not s["system"] or s["system"] == code]
    findings = history.list_findings(ws, agency=agency_code, system=code, status="all", today=as_of)
    return {"as_of": as_of.isoformat(), "agency": {"code": agency_code, "name": page["agency"]["name"]},
            "system": entry, "scans": scans, "findings": findings}


def audit_log(where: Where, agency_code: str | None = None, *, limit: int = 500) -> dict[str, Any]:
    """The newest log entries (of one agency when given) and whether the whole chain verifies."""
    from secaudit.store import auditlog

    ws = open_workspace(where)
    problems = auditlog.verify(ws)
    rows = auditlog.entries(ws, agency_code)
    head = auditlog.head(ws)
    return {
        "intact": not problems, "problems": [{"seq": p.seq, "problem": p.problem} for p in problems],
        "head": {"seq": head[0], "hash": head[1]} if head else None, "total": len(rows),
        "entries": [{k: r[k] for k in ("seq", "ts", "actor", "action", "agency", "subject", "detail", "hash")}
                    for r in reversed(rows[-limit:])],
    }
