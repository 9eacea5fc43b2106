"""The rows a bundle carries, checked column by column before they are kept.

A submission's rows are stored as the agency sent them and later materialised into the receiver's
schema (``claims.claims_workspace``) and read by the evaluator, the scan history and the reports. So
every column that the schema constrains or a reader parses is checked here, at the door, against
``COLUMNS``: its type, whether it may be empty, dates and instants in ISO form, enumerations,
JSON held in text columns, unique keys, and the ids that rows of one table use to point at another.
A bundle whose rows break this is refused with ``data/<table>.json: dòng N`` and imports nothing.
Columns not listed are kept as they came (a newer sender may add some) and read by no one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, get_args

from secaudit.errors import InputError
from secaudit.exchange.manifest import strict_json
from secaudit.requirements.content import Severity
from secaudit.requirements.results import Status

_SQLITE_INT = (-(1 << 63), (1 << 63) - 1)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEXT_MAX = 1 << 20


def _int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "phải là số nguyên / must be an integer"
    if not _SQLITE_INT[0] <= value <= _SQLITE_INT[1]:
        return "số quá lớn / number out of range"
    return None


def _count(value: Any) -> str | None:
    return _int(value) or ("không được âm / must not be negative" if value < 0 else None)


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return "phải là chuỗi / must be a string"
    return "chuỗi quá dài / string too long" if len(value) > _TEXT_MAX else None


def _date(value: Any) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return "phải là ngày dạng yyyy-mm-dd / must be a yyyy-mm-dd date"
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return f"ngày không tồn tại '{value}' / no such date"  # ten ASCII characters, checked above
    return None


def _instant(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 64 or _date(value[:10]):
        return "phải là thời điểm ISO 8601 / must be an ISO 8601 date-time"
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"thời điểm không hợp lệ {value[:40]!r} / invalid date-time"  # repr: controls escaped
    return None


def _sha(value: Any) -> str | None:
    return None if isinstance(value, str) and _SHA256.fullmatch(value) else "phải là mã SHA-256 / must be a SHA-256"


def _one_of(values: Iterable[str]) -> Callable[[Any], str | None]:
    allowed = tuple(values)

    def check(value: Any) -> str | None:
        return None if value in allowed else f"phải là một trong {', '.join(allowed)} / must be one of them"

    return check


def _json(kind: type, item: Callable[[Any], str | None] | None = None) -> Callable[[Any], str | None]:
    """Text holding a JSON ``kind`` (list or dict), each list element checked with ``item``."""
    name = "danh sách / list" if kind is list else "object"

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"phải là chuỗi JSON ({name}) / must be JSON text"
        try:
            doc = strict_json(value.encode("utf-8", "surrogatepass"))
        except (InputError, UnicodeEncodeError):
            return f"JSON hỏng ({name}) / invalid JSON text"
        if not isinstance(doc, kind):
            return f"JSON phải là {name} / JSON must be a {kind.__name__}"
        if item is not None and isinstance(doc, list) and any(item(v) for v in doc):
            return f"JSON có phần tử sai kiểu ({name}) / JSON element of the wrong type"
        return None

    return check


def _coverage(value: Any) -> str | None:
    problem = _json(dict)(value)
    if problem:
        return problem
    doc = json.loads(value)
    ports, scripts = doc.get("ports"), doc.get("scripts")
    if ports is not None and (not isinstance(ports, list) or any(_count(p) for p in ports)):
        return "coverage.ports phải là danh sách số cổng / must be a list of port numbers"
    if scripts is not None and (not isinstance(scripts, list) or any(not isinstance(s, str) for s in scripts)):
        return "coverage.scripts phải là danh sách tên / must be a list of names"
    return None


Check = Callable[[Any], str | None]
#: Per table: column → (check, required). ``required`` columns must be present and not null.
COLUMNS: dict[str, dict[str, tuple[Check, bool]]] = {
    "evidence": {"sha256": (_sha, True), "size": (_count, True), "media_type": (_text, False),
                 "stored_at": (_instant, False)},
    "evidence_refs": {"id": (_int, True), "sha256": (_sha, True), "agency": (_text, False),
                      "system": (_text, False), "checklist": (_text, False), "item": (_text, False),
                      "kind": (_text, False), "effective": (_date, False), "expires": (_date, False),
                      "added_at": (_instant, False), "original_name": (_text, False), "note": (_text, False),
                      "actor": (_text, False)},
    "answers": {"id": (_int, True), "agency": (_text, True), "system": (_text, True), "checklist": (_text, True),
                "item": (_text, True), "status": (_one_of(s.value for s in Status), True),
                "evidence": (_json(list, _text), False), "answered_at": (_instant, True),
                "effective": (_date, False), "note": (_text, False), "actor": (_text, False)},
    "waivers": {"id": (_int, True), "agency": (_text, True), "system": (_text, True), "checklist": (_text, True),
                "item": (_text, True), "reason": (_text, True), "approved_by": (_text, True), "until": (_date, True),
                "created_at": (_instant, False), "actor": (_text, False)},
    "scans": {"id": (_int, True), "agency": (_text, True), "system": (_text, False), "status": (_text, True),
              "started": (_instant, True), "finished": (_instant, False), "argv": (_json(list, _text), False),
              "targets": (_json(list, _text), False), "coverage": (_coverage, False), "returncode": (_int, False),
              "fresh_until": (_date, False), "xml_sha256": (_sha, False), "profile": (_text, False),
              **{c: (_text, False) for c in ("operator", "nmap_version", "batch", "source", "command", "scope",
                                            "error", "stderr", "owner_host", "owner_start")},
              "owner_pid": (_int, False)},
    "scan_hosts": {"id": (_int, True), "scan_id": (_int, True), "system": (_text, False), "address": (_text, True),
                   "declared": (_int, False), "state": (_text, True), "reason": (_text, False)},
    "scan_ports": {"id": (_int, True), "scan_host_id": (_int, True), "port": (_count, True),
                   "protocol": (_text, True), "state": (_text, True), "scripts": (_json(dict), False),
                   "service": (_text, False), "product": (_text, False), "version": (_text, False),
                   "tunnel": (_text, False), "method": (_text, False)},
    "findings": {"id": (_int, True), "scan_id": (_int, True), "agency": (_text, True), "system": (_text, False),
                 "address": (_text, False), "port": (_count, False), "rule": (_text, True),
                 "severity": (_one_of(get_args(Severity)), True), "bears_on": (_text, False), "track_id": (_int, False),
                 "title": (_text, False), "detail": (_text, False), "fkey": (_text, False),
                 "checklist": (_text, False), "item": (_text, False)},
}
#: Columns no two rows of a table may share (the schema's primary keys and unique indexes).
UNIQUE: dict[str, tuple[str, ...]] = {
    "evidence": ("sha256",), "evidence_refs": ("id",), "answers": ("id",), "waivers": ("id",), "scans": ("id",),
    "scan_hosts": ("id",), "scan_ports": ("id",), "findings": ("id",),
}
UNIQUE_TOGETHER = {"answers": ("agency", "system", "checklist", "item")}
#: (table, column) → (table, column) it points at.
REFERENCES = {("scan_hosts", "scan_id"): ("scans", "id"), ("scan_ports", "scan_host_id"): ("scan_hosts", "id"),
              ("findings", "scan_id"): ("scans", "id")}


def problems(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """Every (``data/<table>.json``, message) the rows break; empty when they can be kept and read."""
    found: list[tuple[str, str]] = []
    for table in sorted(tables):
        columns = COLUMNS.get(table, {})
        where = f"data/{table}.json"
        seen: dict[tuple[str, ...], set[Any]] = {}
        for n, row in enumerate(tables.get(table, []), 1):
            for column, (check, required) in columns.items():
                value = row.get(column)
                if value is None:
                    if required:
                        found.append((where, f"dòng {n}: thiếu cột '{column}' / missing column"))
                    continue
                problem = check(value)
                if problem:
                    found.append((where, f"dòng {n}, cột '{column}': {problem}"))
            for column, value in row.items():  # a column this version does not list: still one SQLite can hold
                if column not in columns and isinstance(value, int) and _int(value):
                    found.append((where, f"dòng {n}, cột '{column}': {_int(value)}"))
            keys: list[tuple[str, ...]] = [(c,) for c in UNIQUE.get(table, ())]
            keys += [UNIQUE_TOGETHER[table]] if table in UNIQUE_TOGETHER else []
            for key in keys:
                value = tuple(row.get(c) for c in key)
                if None in value or not all(isinstance(v, str | int) for v in value):
                    continue
                if value in seen.setdefault(key, set()):
                    found.append((where, f"dòng {n}: trùng khóa {', '.join(key)} = {value} / duplicate key"))
                seen[key].add(value)
        if len(found) > 50:
            break
    for (source, column), (target, target_column) in REFERENCES.items():
        ids = {r.get(target_column) for r in tables.get(target, [])}
        for n, row in enumerate(tables.get(source, []), 1):
            if row.get(column) is not None and row.get(column) not in ids:
                found.append((f"data/{source}.json", f"dòng {n}: {column} = {row.get(column)!r} không có trong"
                                                     f" data/{target}.json / points at no row"))
    return found
