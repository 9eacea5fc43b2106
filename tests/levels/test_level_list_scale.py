"""``level list`` at province scale (issue 14): each distinct determination worked out once, few queries.

The suggestion depends on a system's facts only through the results of the rule books' comparisons,
so systems that share those results share one determination; the list reads the store in a fixed
number of queries however many agencies there are — and gives exactly what one system at a time
gives.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

from secaudit import levels
from secaudit.inventory import records as inventory
from secaudit.inventory.models import Agency
from secaudit.levels import determine
from secaudit.store.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import synthetic

AS_OF = dt.date(2026, 11, 22)


def _province(ws: Workspace, agencies: int, systems: int) -> None:
    docs = synthetic.province(agencies, systems)
    inventory.import_agencies(ws, [Agency.model_validate(d) for d in docs], actor="pytest", source="pytest")


def _plain(a: levels.Assessed) -> dict[str, Any]:
    """Everything ``level list`` and ``level suggest`` show about one system."""
    return {"row": levels.level_rows([a])[0], "doc": levels.suggestion_document(a), "text": levels.suggestion_text(a),
            "files": a.dossier_files}


def _add_dossier_file(ws: Workspace, agency: str, system: str, name: str, effective: str) -> None:
    sha = ws.store_blob(f"{agency}/{system}/{name}".encode(), media_type="application/pdf")
    ws.db.table("evidence_refs").insert({
        "sha256": sha, "original_name": name, "agency": agency, "system": system, "checklist": "cap-do-nd331",
        "item": "ho-so", "kind": "van-ban", "effective": effective, "expires": None,
        "added_at": "2026-11-01T09:00:00+07:00", "actor": "pytest"})


def test_each_distinct_determination_is_worked_out_once(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _province(ws, 8, 10)
    calls: list[int] = []
    real = determine._work_out

    def counted(book: Any, facts: Any) -> Any:
        calls.append(1)
        return real(book, facts)

    monkeypatch.setattr(determine, "_work_out", counted)
    determine._COMPILED.clear()
    listed = levels.assess_all(ws, as_of=AS_OF)
    assert len(listed) == 80
    assert 0 < len(calls) < len(listed) / 2  # systems share determinations (before: one and more per system)


def test_the_list_is_what_one_system_at_a_time_gives(ws: Workspace) -> None:
    _province(ws, 6, 10)
    _add_dossier_file(ws, "co-quan-001", "he-thong-02", "qd-phe-duyet.pdf", "2026-03-01")
    _add_dossier_file(ws, "co-quan-001", "he-thong-02", "ho-so.pdf", "2026-01-01")
    _add_dossier_file(ws, "co-quan-004", "he-thong-00", "ho-so.pdf", "2026-02-01")
    determine._COMPILED.clear()
    listed = levels.assess_all(ws, as_of=AS_OF)
    expected = []
    for code in inventory.agency_codes(ws):
        for system in inventory.get_agency(ws, code).systems:
            determine._COMPILED.clear()  # nothing remembered from another system
            expected.append(_plain(levels.assess_system(ws, code, system, as_of=AS_OF)))
    assert [_plain(a) for a in listed] == expected
    files = {(a.agency, a.system.code): [f["original_name"] for f in a.dossier_files] for a in listed}
    assert files[("co-quan-001", "he-thong-02")] == ["ho-so.pdf", "qd-phe-duyet.pdf"]
    assert files[("co-quan-004", "he-thong-00")] == ["ho-so.pdf"]
    one = levels.assess_all(ws, as_of=AS_OF, agency="co-quan-001")
    assert [_plain(a) for a in one] == [p for p, a in zip(expected, listed, strict=True) if a.agency == "co-quan-001"]


def test_the_list_reads_the_store_in_a_fixed_number_of_queries(ws: Workspace) -> None:
    counts = []
    for agencies in (3, 12):
        folder = ws.root.parent / f"ws-{agencies}"
        other = Workspace.create(folder)
        try:
            _province(other, agencies, 5)
            statements: list[str] = []
            other.db.conn.set_trace_callback(statements.append)
            levels.assess_all(other, as_of=AS_OF)
            other.db.conn.set_trace_callback(None)
            counts.append(sum(1 for s in statements if s.lstrip().lower().startswith("select")))
        finally:
            other.close()
    assert counts[0] == counts[1] <= 4
