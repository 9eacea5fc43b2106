"""Evaluation on the example province: applicability, deadlines, waivers, evidence, contradictions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from secaudit import assess
from secaudit.assess import Status
from secaudit.content import Library
from secaudit.store import Workspace

LIB = Library()
SELF = LIB.resolve_profile("tu-danh-gia")
INSPECT = LIB.resolve_profile("kiem-tra")
KH04 = "kh04-bcdtw"


def _row(result: assess.AgencyAssessment, item: str) -> assess.Result:
    return next(r for r in result.results if r.checklist == KH04 and r.item == item)


def _sys_row(result: assess.AgencyAssessment, item: str, system: str) -> assess.Result:
    return next(r for r in result.system_results if r.item == item and r.system == system)


def _evaluate(ws: Workspace, agency: str, day: str, profile: object = SELF) -> assess.AgencyAssessment:
    return assess.evaluate_agency(ws, LIB, agency, as_of=dt.date.fromisoformat(day), profile=profile)


def test_soc_task_applies_to_private_data_centre_and_turns_overdue(example_ws: Workspace) -> None:
    before = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t6-soc")
    after = _row(_evaluate(example_ws, "so-khcn", "2026-06-01"), "t6-soc")
    assert before.status is Status.NOT_ASSESSED and not before.overdue
    assert after.status is Status.NOT_ASSESSED and after.overdue
    # an agency without a private data centre is not concerned
    assert _row(_evaluate(example_ws, "so-y-te", "2026-06-01"), "t6-soc").status is Status.NOT_APPLICABLE


def test_cipher_system_is_exempt_from_incident_channel(example_ws: Workspace) -> None:
    result = _evaluate(example_ws, "vp-ubnd-tinh", "2026-05-01")
    assert _sys_row(result, "t2-kenh-ket-noi", "mang-ttdr-co-yeu").status is Status.NOT_APPLICABLE
    assert _sys_row(result, "t2-kenh-ket-noi", "tthc-tinh").status is Status.NOT_ASSESSED


def test_unknown_attribute_is_reported_not_guessed(example_ws: Workspace) -> None:
    """A system whose criticality is not declared: t3 cannot decide and says which attribute."""
    result = _evaluate(example_ws, "cong-an-tinh", "2026-05-01")
    row = _sys_row(result, "t3-cap-do", "tiep-nhan-to-giac")
    assert row.status is Status.NOT_ASSESSED
    assert any("system.critical" in reason for reason in row.reasons)


def _answer(ws: Workspace, item: str, status: str, *, system: str | None = None, files: list[Path] | None = None,
            agency: str = "so-khcn", expires: dt.date | None = None) -> None:
    assess.record_answer(ws, agency=agency, system=system, checklist=KH04, item=item, status=status,
                         note="ghi chú", files=files or [], actor="pytest", effective=dt.date(2026, 4, 1),
                         expires=expires)


def test_attested_pass_counts_for_self_assessment_but_not_inspection(example_ws: Workspace) -> None:
    _answer(example_ws, "t5-giam-sat", "dat")
    assert _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t5-giam-sat").status is Status.PASS
    inspected = _row(_evaluate(example_ws, "so-khcn", "2026-05-01", INSPECT), "t5-giam-sat")
    assert inspected.status is Status.FAIL
    assert any("minh chứng" in r for r in inspected.reasons)


def test_document_evidence_and_its_expiry(example_ws: Workspace, tmp_path: Path) -> None:
    doc = tmp_path / "hop-dong-giam-sat.pdf"
    doc.write_bytes(b"%PDF-1.4 hop dong")
    _answer(example_ws, "t5-giam-sat", "dat", files=[doc], expires=dt.date(2026, 6, 30))
    assert _row(_evaluate(example_ws, "so-khcn", "2026-05-01", INSPECT), "t5-giam-sat").status is Status.PASS
    expired = _row(_evaluate(example_ws, "so-khcn", "2026-07-01", INSPECT), "t5-giam-sat")
    assert expired.status is Status.FAIL
    assert any("hết hiệu lực" in r for r in expired.reasons)


def test_parent_needs_every_layer(example_ws: Workspace, tmp_path: Path) -> None:
    doc = tmp_path / "quyet-dinh.pdf"
    doc.write_bytes(b"%PDF-1.4 quyet dinh")
    for layer in ("t4-lop-1", "t4-lop-2", "t4-lop-3"):
        _answer(example_ws, layer, "dat", files=[doc])
    partial = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t4-mo-hinh-4-lop")
    assert partial.status is Status.NOT_ASSESSED and partial.overdue
    _answer(example_ws, "t4-lop-4", "chua-dat")
    assert _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t4-mo-hinh-4-lop").status is Status.FAIL
    _answer(example_ws, "t4-lop-4", "dat", files=[doc])
    done = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t4-mo-hinh-4-lop")
    assert done.status is Status.PASS and not done.overdue


def test_waiver_applies_until_it_expires(example_ws: Workspace) -> None:
    assess.add_waiver(example_ws, LIB, agency="so-khcn", system=None, ref=f"{KH04}:t6-soc",
                      reason="Đang đầu tư SOC theo dự án 2026", approved_by="Chủ tịch UBND tỉnh",
                      until=dt.date(2026, 9, 30), actor="pytest")
    inside = _row(_evaluate(example_ws, "so-khcn", "2026-08-01"), "t6-soc")
    assert inside.status is Status.WAIVED and not inside.overdue
    expired = _row(_evaluate(example_ws, "so-khcn", "2026-10-01"), "t6-soc")
    assert expired.status is Status.NOT_ASSESSED and expired.overdue
    assert any("hết hạn" in r for r in expired.reasons)


def test_waiver_needs_known_item_and_system(example_ws: Workspace) -> None:
    from secaudit.errors import InputError, NotFoundError

    with pytest.raises(NotFoundError):
        assess.add_waiver(example_ws, LIB, agency="so-khcn", system=None, ref=f"{KH04}:khong-co", reason="x",
                          approved_by="y", until=dt.date(2026, 1, 1), actor="t")
    with pytest.raises(InputError, match="system"):
        assess.add_waiver(example_ws, LIB, agency="so-khcn", system=None, ref=f"{KH04}:t1-lo-hong", reason="x",
                          approved_by="y", until=dt.date(2026, 1, 1), actor="t")
    assert example_ws.db["waivers"].count == 0


def test_rollup_order() -> None:
    assert assess.rollup([Status.PASS, Status.NOT_APPLICABLE]) is Status.PASS
    assert assess.rollup([Status.PASS, Status.FAIL, Status.NOT_ASSESSED]) is Status.FAIL
    assert assess.rollup([Status.PASS, Status.NOT_ASSESSED]) is Status.NOT_ASSESSED
    assert assess.rollup([Status.WAIVED, Status.NOT_APPLICABLE]) is Status.WAIVED
    assert assess.rollup([]) is Status.NOT_APPLICABLE


def test_checklist_before_its_effective_date_is_not_used(example_ws: Workspace) -> None:
    result = _evaluate(example_ws, "so-khcn", "2025-06-01")
    assert KH04 not in result.checklists


def test_status_cli_exit_codes(cli, tmp_path: Path) -> None:
    from conftest import EXAMPLES

    cli("init")
    cli("inventory", "import", str(EXAMPLES / "inventory"))
    result = cli("status", "--as-of", "2026-05-01")
    assert result.code == 3
    assert "t6-soc" in result.out and "so-khcn" in result.out
    detail = cli("status", "so-khcn", "--as-of", "2026-05-01", "--format", "json")
    import json

    doc = json.loads(detail.out)
    assert doc[0]["agency"] == "so-khcn" and doc[0]["met"] is False
    assert {i["item"] for i in doc[0]["items"]} >= {"t1-lo-hong", "t6-soc"}
