"""Province scale (issue 14): per-agency reads, one level per system, the status JSON streamed.

A province-wide ``status`` evaluates every agency; whatever one agency's evaluation reads must be
scoped to that agency, the level a system's baselines apply is decided once per system, and the
JSON document is written one agency at a time yet byte for byte what the indenting encoder wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from secaudit.errors import NotFoundError
from secaudit.reporting import assessment
from secaudit.requirements.content import Library
from secaudit.requirements.evaluate import Collaborators, evaluate_agency
from secaudit.requirements.results import AgencyAssessment, ReportDue, Result, Status, results_json_chunks
from secaudit.store.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import synthetic

LIB = Library()
AS_OF = dt.date(2026, 11, 22)


def _province(ws: Workspace, agencies: int, systems: int) -> None:
    from secaudit.inventory import records as inventory
    from secaudit.inventory.models import Agency

    docs = synthetic.province(agencies, systems)
    docs[1]["systems"][0]["hosts"] = []  # one system with no declared host
    inventory.import_agencies(ws, [Agency.model_validate(d) for d in docs], actor="pytest", source="pytest")


def _reference(assessments: list[AgencyAssessment]) -> bytes:
    """What ``results_json`` wrote before issue 14 (the indenting pure-Python encoder)."""
    doc = [
        {"agency": a.agency, "as_of": a.as_of.isoformat(), "profile": a.profile, "checklists": a.checklists,
         "met": a.met, "items": [r.to_dict() for r in a.results], "systems": [r.to_dict() for r in a.system_results],
         "reports": [r.to_dict() for r in a.reports]}
        for a in assessments
    ]
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def test_streamed_status_json_is_byte_identical_to_the_indented_document() -> None:
    awkward = Result("kh04-bcdtw", "t1", "cq-\"1\"", "ht/1", Status.FAIL,
                     reasons=["Lý do \\ \"trích\"\n\tdòng\x01 — ✓", ""], deadline=dt.date(2026, 6, 30),
                     overdue=True, note="ghi chú", evidence=[{"sha256": "ab" * 32}], findings=[{"id": 7}, {"id": 12}],
                     applicable=None)
    plain = Result("kh92a", "a1", "cq-1", None, Status.NOT_APPLICABLE, applicable=False)
    due = ReportDue("kh92a", "bc-quy", "Báo cáo quý", "quarter", dt.date(2027, 1, 1), 39, None, "KH 92A IV.1")
    one = AgencyAssessment("cq-1", AS_OF, "tu-danh-gia", ["kh04-bcdtw", "kh92a"], [plain, awkward], [awkward],
                           [due])
    empty = AgencyAssessment("cq-2", AS_OF, "thanh-tra", [], [], [], [])
    for case in ([], [empty], [one], [one, empty, one]):
        chunks = list(results_json_chunks(iter(case)))
        assert len(chunks) == len(case) + 1  # one chunk per agency, then the closing bracket
        assert b"".join(chunks) == _reference(case)


def test_a_province_status_reads_hosts_only_of_the_agency_it_evaluates(ws: Workspace) -> None:
    from secaudit.requirements.evaluate import _load_context

    _province(ws, 3, 2)
    statements: list[str] = []
    conn: sqlite3.Connection = ws.db.conn
    conn.set_trace_callback(statements.append)
    try:
        context = _load_context(ws, "co-quan-001", AS_OF, {}, assessment.collaborators())
    finally:
        conn.set_trace_callback(None)
    on_hosts = [s for s in statements if " hosts " in f"{s} ".replace("\n", " ")]
    assert on_hosts
    assert all("agency" in s for s in on_hosts), on_hosts  # never a scan of the whole hosts table
    # the system without hosts is told apart from its neighbour all the same
    assert context.has_hosts == {"he-thong-00": False, "he-thong-01": True, "": True}


def test_the_level_is_decided_once_per_system(ws: Workspace) -> None:
    _province(ws, 2, 4)
    calls: list[str] = []

    def level_of(row: Mapping[str, Any], as_of: dt.date) -> int | None:
        calls.append(row["code"])
        return 3

    using = Collaborators(level_of=level_of, scan_gaps=assessment.collaborators().scan_gaps)
    evaluate_agency(ws, LIB, "co-quan-000", as_of=AS_OF, profile=LIB.resolve_profile("tu-danh-gia"), using=using)
    assert calls and len(calls) == len(set(calls)) <= 4


def test_the_baseline_level_is_the_certain_suggestion(ws: Workspace) -> None:
    from secaudit.inventory import records as inventory
    from secaudit.levels import baseline
    from secaudit.levels.determine import suggest
    from secaudit.levels.facts import facts_of

    _province(ws, 6, 10)
    seen = set()
    for row in ws.db.query("select * from systems"):
        model = inventory.get_system(ws, row["agency"], row["code"])
        full = suggest(facts_of(model), as_of=AS_OF)
        expected = int(row["level_approved"]) if row["level_approved"] else (full.level if full.certain else None)
        assert baseline.baseline_level(row, AS_OF) == expected, row["code"]
        seen.add(expected)
    assert None in seen and len(seen) > 2  # both certain and uncertain suggestions were compared


def test_status_json_checks_the_agency_before_writing_anything(ws: Workspace) -> None:
    from secaudit.services.assessment import StatusJson

    with pytest.raises(NotFoundError):
        StatusJson(ws.root, "khong-co", as_of=AS_OF)


def _document(ws: Workspace, tmp_path: Path, agency: str, system: str | None, ref: str, kind: str) -> None:
    from secaudit.requirements.answers import record_answer

    path = tmp_path / f"{agency}-{system}-{ref.replace(':', '-')}.pdf"
    path.write_bytes(b"%PDF-1.4 " + path.name.encode())
    checklist, item = ref.split(":")
    record_answer(ws, agency=agency, system=system, checklist=checklist, item=item, status="dat", note=None,
                  files=[path], actor="pytest", kind=kind, effective=dt.date(2026, 3, 1))


@pytest.mark.parametrize("profile", ["tu-danh-gia", "kiem-tra"])
def test_systems_sharing_facts_share_rows_yet_get_what_evaluating_each_alone_gives(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    from secaudit.requirements import evaluate
    from secaudit.requirements.answers import add_waiver, set_answer

    _province(ws, 8, 5)
    some = [("co-quan-000", "he-thong-00"), ("co-quan-002", "he-thong-03"), ("co-quan-005", "he-thong-01")]
    for agency, system in some:  # answers of every kind on a parent, its sub-items, a recurring item
        for ref, status in [("cap-do-nd331:hs-tong-quan", "dat"), ("cap-do-nd331:hs-thiet-ke", "chua-dat"),
                            ("cap-do-nd331:qc-tuan-thu", "dat"), ("kh04-bcdtw:t2-dau-moi", "dat"),
                            ("kh04-bcdtw:t3-cap-do", "khong-ap-dung"), ("kh92a-ubnd-nghe-an:ii22-cap-do", "dat")]:
            set_answer(ws, LIB, agency=agency, ref=ref, system=system, status=status, note="ghi chú", evidence=[],
                       actor="pytest", effective=dt.date(2025, 1, 1))
    _document(ws, tmp_path, "co-quan-003", "he-thong-02", "cap-do-nd331:hs-phe-duyet", "quyet-dinh")
    add_waiver(ws, LIB, agency="co-quan-004", system="he-thong-04", ref="kh04-bcdtw:t2-kenh-ket-noi",
               reason="chờ hạ tầng", approved_by="Giám đốc", until=dt.date(2027, 1, 1), actor="pytest")
    add_waiver(ws, LIB, agency="co-quan-006", system="he-thong-00", ref="cap-do-nd331:bp-quan-ly",
               reason="đã hết hạn", approved_by="Giám đốc", until=dt.date(2026, 1, 1), actor="pytest")
    resolved = LIB.resolve_profile(profile)

    def everything() -> list[dict[str, Any]]:
        out = []
        for code in [f"co-quan-{i:03d}" for i in range(8)]:
            a = assessment.evaluate_agency(ws, LIB, code, as_of=AS_OF, profile=resolved)
            out.append({"met": a.met, "items": [r.to_dict() for r in a.results],
                        "systems": [r.to_dict() for r in a.system_results]})
        return out

    evaluate._MEMOS.clear()
    shared = everything()
    assert any(m.blank for _, m in evaluate._MEMOS.values())  # systems with nothing of their own were shared
    monkeypatch.setattr(evaluate._Memo, "rows", lambda self, as_of, lookup: {})  # every system on its own
    alone = everything()
    assert shared == alone
    # the answers, the document and the waivers show: the rows of those systems are their own
    rows = {(r["agency"], r["system"], r["item"]): r for a in alone for r in a["systems"]}
    assert rows[("co-quan-000", "he-thong-00", "hs-thiet-ke")]["status"] == "chua-dat"
    assert rows[("co-quan-003", "he-thong-02", "hs-phe-duyet")]["evidence"]
    assert rows[("co-quan-004", "he-thong-04", "t2-kenh-ket-noi")]["status"] in ("mien-tru", "khong-ap-dung")
    assert rows[("co-quan-001", "he-thong-00", "hs-thiet-ke")]["status"] != "chua-dat"


def test_the_level_is_worked_out_once_for_facts_on_the_same_side_of_every_threshold(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from secaudit.levels import baseline

    row = {"code": "ht", "level_approved": None, "users": 20_000, "data_subjects_basic": 150_000,
           "admin_procedures": 1, "online_service": 1, "go_live": "2020-05-01"}
    calls: list[tuple[Any, ...]] = []
    real = baseline._certain_level

    def counted(key: tuple[Any, ...], as_of: dt.date) -> int | None:
        calls.append(key)
        return real(key, as_of)

    monkeypatch.setattr(baseline, "_certain_level", counted)
    baseline._LEVELS.clear()
    first = baseline.baseline_level(row, AS_OF)
    # other numbers and dates on the same side of every threshold and cut-off: the same level, not recomputed
    same = baseline.baseline_level({**row, "users": 30_000, "data_subjects_basic": 190_000,
                                    "go_live": "2019-01-01"}, AS_OF)
    assert same == first and len(calls) == 1
    # across a threshold (10,000 users; 100,000 data subjects) the rules are asked again, and they may differ
    fewer = baseline.baseline_level({**row, "users": 50, "data_subjects_basic": 10}, AS_OF)
    assert len(calls) == 2
    baseline._LEVELS.clear()
    monkeypatch.setattr(baseline, "_certain_level", real)
    assert fewer == baseline.baseline_level({**row, "users": 50, "data_subjects_basic": 10}, AS_OF)
    assert first == baseline.baseline_level(row, AS_OF)
