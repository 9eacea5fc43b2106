"""Findings stored one row per problem (issue 14): ``findings.bears_on`` lists the requirements.

Until now a scan wrote one ``findings`` row per problem × requirement it bears on (columns
``checklist`` and ``item``), and every reader merged them back. From this version a row is one
distinct problem — (scan_id, system, address, port, rule) — and ``bears_on`` holds the requirement
refs ``checklist:item`` in the rule's order, comma-joined, each once (``workspace.join_refs``).

Existing rows are collapsed: of each problem's rows the one with the smallest id is kept (its
``fkey`` and ``track_id`` are the same on every row of a problem) and takes the refs of all of
them, in id order, which is the order the rule listed them in.

The old ``checklist`` and ``item`` columns stay in the table (SQLite cannot drop them cheaply, and
a reader still selecting them by name keeps working) but are emptied (NULL) on every row, old and
new: one place says what a finding bears on, and a stale half of it cannot be mistaken for the
whole. Bundles made before this version carry the old shape; :func:`collapse` turns their rows into
the new one when a receiver materialises them.

The index on (agency, system), which no query used, is replaced by one on (scan_id, system): every
reader selects a scan's findings, and without it each did a full scan of the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

VERSION = 15

#: ``workspace.REF_SEPARATOR`` as of this version, spelled out here: a migration does not change
#: with the code that reads its result (and the workspace module imports the migrations).
_SEPARATOR = ","

#: What makes two rows the same problem.
PROBLEM = ("scan_id", "system", "address", "port", "rule")


def _join(refs: list[str]) -> str | None:
    return _SEPARATOR.join(dict.fromkeys(refs)) or None


def _refs(row: dict[str, Any]) -> list[str]:
    if row.get("bears_on"):
        return str(row["bears_on"]).split(_SEPARATOR)
    if row.get("checklist") and row.get("item"):
        return [f"{row['checklist']}:{row['item']}"]
    return []


def collapse(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``findings`` rows in id order, old shape (one per requirement) or new, as one row per problem.

    The first row of each problem is kept, with ``bears_on`` joining every row's refs in order and
    ``checklist`` / ``item`` emptied; rows already in the new shape come out unchanged.
    """
    kept: dict[tuple[Any, ...], tuple[dict[str, Any], list[str]]] = {}
    for row in rows:
        key = tuple(row.get(k) for k in PROBLEM)
        entry = kept.get(key)
        if entry is None:
            kept[key] = ({**row}, _refs(row))
        else:
            entry[1].extend(_refs(row))
    out = []
    for row, refs in kept.values():
        row["bears_on"] = _join(refs)
        if "checklist" in row:
            row["checklist"] = None
        if "item" in row:
            row["item"] = None
        out.append(row)
    return out


def upgrade(db: Any) -> None:
    """Add ``bears_on``, collapse each problem's rows into its first, empty ``checklist``/``item``, re-index."""
    db["findings"].add_column("bears_on", str)
    keeper: dict[tuple[Any, ...], int] = {}
    refs: dict[int, list[str]] = {}
    drop: list[tuple[int]] = []
    for fid, scan_id, system, address, port, rule, checklist, item in db.execute(
            "select id, scan_id, system, address, port, rule, checklist, item from findings order by id"):
        key = (scan_id, system, address, port, rule)
        first = keeper.setdefault(key, fid)
        if first != fid:
            drop.append((fid,))
        if checklist and item:
            refs.setdefault(first, []).append(f"{checklist}:{item}")
    db.conn.executemany("update findings set bears_on = ?, checklist = null, item = null where id = ?",
                        [(_join(refs.get(fid, [])), fid) for fid in keeper.values()])
    db.conn.executemany("delete from findings where id = ?", drop)
    db.execute("drop index if exists idx_findings_agency_system")
    db["findings"].create_index(["scan_id", "system"])
