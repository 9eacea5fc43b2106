"""Assessment on the example province: applicability, deadlines, waivers, evidence, scans, workflows.

Everything runs on real parts: the example inventory in a real workspace, the shipped checklists,
real nmap against loopback services started here (127.0.40.0/24), the CLI through ``main``, click's
``CliRunner`` with typed input, and a real pseudo-terminal for the interactive walk.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import select
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from secaudit import clock
from secaudit.cli import cli as root
from secaudit.errors import InputError, NotFoundError, ValidationError
from secaudit.inventory import records as inventory
from secaudit.reporting.assessment import answers_template, evaluate_agency, walk_steps
from secaudit.requirements.answers import Evidence, add_waiver, import_answers, record_answer, set_answer
from secaudit.requirements.content import Library
from secaudit.requirements.results import AgencyAssessment, Result, Status, rollup
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

LIB = Library()
SELF = LIB.resolve_profile("tu-danh-gia")
INSPECT = LIB.resolve_profile("kiem-tra")
KH04 = "kh04-bcdtw"
KH92A = "kh92a-ubnd-nghe-an"


def _row(result: AgencyAssessment, item: str, checklist: str = KH04) -> Result:
    return next(r for r in result.results if r.checklist == checklist and r.item == item)


def _sys_row(result: AgencyAssessment, item: str, system: str, checklist: str = KH04) -> Result:
    return next(r for r in result.system_results if r.checklist == checklist and r.item == item and r.system == system)


def _evaluate(ws: Workspace, agency: str, day: str | dt.date, profile: object = SELF) -> AgencyAssessment:
    as_of = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return evaluate_agency(ws, LIB, agency, as_of=as_of, profile=profile)  # type: ignore[arg-type]


def _answer(ws: Workspace, item: str, status: str, *, system: str | None = None, files: list[Path] | None = None,
            agency: str = "so-khcn", expires: dt.date | None = None, kind: str | None = None,
            effective: dt.date = dt.date(2026, 4, 1), checklist: str = KH04) -> None:
    record_answer(ws, agency=agency, system=system, checklist=checklist, item=item, status=status,
                  note="ghi chú", files=files or [], actor="pytest", effective=effective, expires=expires,
                  kind=kind)


def _doc(tmp_path: Path, name: str = "tai-lieu.pdf", body: bytes = b"%PDF-1.4 mau") -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def _import_agency(ws: Workspace, tmp_path: Path, text: str) -> str:
    path = tmp_path / "co-quan.yaml"
    path.write_text(text, encoding="utf-8")
    agency = inventory.load_agency(path)
    inventory.import_agencies(ws, [agency], actor="pytest", source=str(path))
    return agency.code


# -- applicability and deadlines ----------------------------------------------------------------
def test_soc_task_applies_to_private_data_centre_and_turns_overdue(example_ws: Workspace) -> None:
    before = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t6-soc")
    after = _row(_evaluate(example_ws, "so-khcn", "2026-06-01"), "t6-soc")
    assert before.status is Status.NOT_ASSESSED and not before.overdue
    assert after.status is Status.NOT_ASSESSED and after.overdue
    # an agency without a private data centre is not concerned
    assert _row(_evaluate(example_ws, "so-y-te", "2026-06-01"), "t6-soc").status is Status.NOT_APPLICABLE


def test_cipher_system_is_exempt_from_incident_channel(example_ws: Workspace) -> None:
    result = _evaluate(example_ws, "vp-ubnd-tinh", "2026-05-01")
    for item in ("t2-kenh-ket-noi", "t2-van-ban", "t2-dau-moi", "t2-du-lieu"):
        assert _sys_row(result, item, "mang-ttdr-co-yeu").status is Status.NOT_APPLICABLE
        assert _sys_row(result, item, "tthc-tinh").status is Status.NOT_ASSESSED
    # the same cơ yếu system still has to fix its vulnerabilities (task 1 has no exception)
    assert _sys_row(result, "t1-lo-hong", "mang-ttdr-co-yeu").status is Status.NOT_ASSESSED


DEFENCE_AGENCY = """
code: bch-quan-su-tinh
name: Bộ Chỉ huy Quân sự tỉnh (ví dụ kiểm thử)
kind: khac
private_data_centre: false
systems:
  - code: chi-huy-quoc-phong
    name: Hệ thống chỉ huy (quốc phòng)
    critical: true
    restricted_sector: quoc-phong
  - code: tac-chien-quan-su
    name: Hệ thống tác chiến (quân sự)
    critical: true
    restricted_sector: quan-su
"""


def test_defence_and_military_systems_are_exempt_from_incident_channel(example_ws: Workspace,
                                                                       tmp_path: Path) -> None:
    code = _import_agency(example_ws, tmp_path, DEFENCE_AGENCY)
    result = _evaluate(example_ws, code, "2026-05-01")
    for system in ("chi-huy-quoc-phong", "tac-chien-quan-su"):
        assert _sys_row(result, "t2-kenh-ket-noi", system).status is Status.NOT_APPLICABLE
        assert _sys_row(result, "t3-cap-do", system).status is Status.NOT_ASSESSED  # other tasks still apply
    assert _row(result, "t2-kenh-ket-noi").status is Status.NOT_APPLICABLE
    # layer 4 (connection to national monitoring) needs at least one civilian system
    assert _row(result, "t4-lop-4").status is Status.NOT_APPLICABLE
    assert _row(result, "t4-lop-1").status is Status.NOT_ASSESSED


def test_unknown_attribute_is_reported_not_guessed(example_ws: Workspace) -> None:
    """A system whose criticality is not declared: t3 cannot decide and says which attribute."""
    result = _evaluate(example_ws, "cong-an-tinh", "2026-05-01")
    row = _sys_row(result, "t3-cap-do", "tiep-nhan-to-giac")
    assert row.status is Status.NOT_ASSESSED and row.applicable is None
    assert any("system.critical" in reason for reason in row.reasons)


# -- regime by date -----------------------------------------------------------------------------
def test_checklists_in_force_follow_the_evaluation_date(example_ws: Workspace) -> None:
    before = _evaluate(example_ws, "so-khcn", "2025-12-01")
    after = _evaluate(example_ws, "so-khcn", "2026-02-01")
    assert KH92A in before.checklists and KH04 not in before.checklists
    assert {KH04, KH92A} <= set(after.checklists)
    assert not any(r.checklist == KH04 for r in before.results)
    assert _row(after, "t6-soc").status is Status.NOT_ASSESSED


def test_a_new_text_replaces_the_old_one_on_its_effective_date(example_ws: Workspace, tmp_path: Path) -> None:
    """Two versions of a requirement: the old text until 18/8/2026, the new one from 19/8/2026."""
    checklists = tmp_path / "checklists"
    profiles = tmp_path / "profiles"
    checklists.mkdir()
    profiles.mkdir()
    shutil.copy(LIB.checklist_dir / "_documents.yaml", checklists)

    def checklist(cid: str, effective: str, item: str, doc: str, ref: str) -> None:
        (checklists / f"{cid}.yaml").write_text(
            f"id: {cid}\ntitle: {cid}\nissuer: Chính phủ\ndocument: {doc}\neffective:\n{effective}"
            f"items:\n  - id: {item}\n    title: Phê duyệt cấp độ\n    scope: system\n"
            "    applies_if: {attr: system.critical, eq: true}\n"
            f"    deadline: 2026-12-31\n    basis:\n      - doc: {doc}\n        ref: {ref}\n", encoding="utf-8")

    checklist("cap-do-cu", "  from: 2022-10-01\n  until: 2026-08-18\n", "ho-so-cu", "tt-12-2022", "Đ12.1.a")
    checklist("cap-do-moi", "  from: 2026-08-19\n", "ho-so-moi", "nd-331-2026", "Đ18")
    (profiles / "p.yaml").write_text("id: p\ntitle: P\nchecklists: [cap-do-cu, cap-do-moi]\n", encoding="utf-8")
    lib = Library(checklists, profiles)
    profile = lib.resolve_profile("p")
    old = evaluate_agency(example_ws, lib, "so-khcn", as_of=dt.date(2026, 8, 18), profile=profile)
    new = evaluate_agency(example_ws, lib, "so-khcn", as_of=dt.date(2026, 8, 19), profile=profile)
    assert old.checklists == ["cap-do-cu"] and {r.item for r in old.results} == {"ho-so-cu"}
    assert new.checklists == ["cap-do-moi"] and {r.item for r in new.results} == {"ho-so-moi"}


# -- answers, evidence and profiles -------------------------------------------------------------
def test_attested_pass_counts_for_self_assessment_but_not_inspection(example_ws: Workspace) -> None:
    _answer(example_ws, "t5-giam-sat", "dat")
    self_row = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t5-giam-sat")
    assert self_row.status is Status.PASS and any("cảnh báo" in r for r in self_row.reasons)
    inspected = _row(_evaluate(example_ws, "so-khcn", "2026-05-01", INSPECT), "t5-giam-sat")
    assert inspected.status is Status.FAIL
    assert any("thiếu tài liệu minh chứng" in r for r in inspected.reasons)


def test_items_that_refuse_attestation_need_documents_even_in_self_assessment(example_ws: Workspace) -> None:
    _answer(example_ws, "t4-lop-1", "dat")  # evidence.attestation: false
    row = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t4-lop-1")
    assert row.status is Status.FAIL and any("thiếu tài liệu" in r for r in row.reasons)


def test_inspection_needs_documents_of_an_expected_kind(example_ws: Workspace, tmp_path: Path) -> None:
    _answer(example_ws, "t5-giam-sat", "dat", files=[_doc(tmp_path, "anh.png", b"\x89PNG")], kind="nhat-ky")
    wrong = _row(_evaluate(example_ws, "so-khcn", "2026-05-01", INSPECT), "t5-giam-sat")
    assert wrong.status is Status.FAIL and any("không thuộc loại yêu cầu" in r for r in wrong.reasons)
    self_row = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t5-giam-sat")
    assert self_row.status is Status.PASS and any("loại mong đợi" in r for r in self_row.reasons)
    _answer(example_ws, "t5-giam-sat", "dat", files=[_doc(tmp_path, "hop-dong.pdf")], kind="hop-dong")
    assert _row(_evaluate(example_ws, "so-khcn", "2026-05-01", INSPECT), "t5-giam-sat").status is Status.PASS


def test_document_evidence_and_its_expiry(example_ws: Workspace, tmp_path: Path) -> None:
    doc = _doc(tmp_path, "hop-dong-giam-sat.pdf", b"%PDF-1.4 hop dong")
    _answer(example_ws, "t5-giam-sat", "dat", files=[doc], expires=dt.date(2026, 6, 30), kind="hop-dong")
    assert _row(_evaluate(example_ws, "so-khcn", "2026-05-01", INSPECT), "t5-giam-sat").status is Status.PASS
    expired = _row(_evaluate(example_ws, "so-khcn", "2026-07-01", INSPECT), "t5-giam-sat")
    assert expired.status is Status.FAIL
    assert any("hết hiệu lực" in r for r in expired.reasons)


def test_an_answer_dated_after_the_evaluation_day_does_not_count_yet(example_ws: Workspace) -> None:
    _answer(example_ws, "t5-giam-sat", "dat", effective=dt.date(2026, 6, 15))
    early = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t5-giam-sat")
    assert early.status is Status.NOT_ASSESSED and any("2026-06-15" in r for r in early.reasons)
    assert _row(_evaluate(example_ws, "so-khcn", "2026-06-15"), "t5-giam-sat").status is Status.PASS


def test_yearly_review_lapses_a_year_after_it_was_done(example_ws: Workspace, tmp_path: Path) -> None:
    report = _doc(tmp_path, "bao-cao-danh-gia.pdf")
    _answer(example_ws, "ii9-ra-soat-hang-nam", "dat", system="lgsp-tinh", files=[report], kind="bao-cao",
            effective=dt.date(2025, 11, 21), checklist=KH92A)
    inside = _sys_row(_evaluate(example_ws, "so-khcn", "2026-11-21"), "ii9-ra-soat-hang-nam", "lgsp-tinh", KH92A)
    assert inside.status is Status.PASS and not inside.overdue
    lapsed = _sys_row(_evaluate(example_ws, "so-khcn", "2026-11-22"), "ii9-ra-soat-hang-nam", "lgsp-tinh", KH92A)
    assert lapsed.status is Status.FAIL and lapsed.overdue
    assert lapsed.reasons[0].startswith("đã quá hạn thực hiện lại định kỳ")


def test_parent_needs_every_layer(example_ws: Workspace, tmp_path: Path) -> None:
    doc = _doc(tmp_path, "quyet-dinh.pdf")
    for layer in ("t4-lop-1", "t4-lop-2", "t4-lop-3"):
        _answer(example_ws, layer, "dat", files=[doc])
    partial = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t4-mo-hinh-4-lop")
    assert partial.status is Status.NOT_ASSESSED and partial.overdue
    _answer(example_ws, "t4-lop-4", "chua-dat")
    failed = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t4-mo-hinh-4-lop")
    assert failed.status is Status.FAIL and "mục con t4-lop-4: CHƯA ĐẠT" in failed.reasons
    _answer(example_ws, "t4-lop-4", "dat", files=[doc])
    done = _row(_evaluate(example_ws, "so-khcn", "2026-05-01"), "t4-mo-hinh-4-lop")
    assert done.status is Status.PASS and not done.overdue


# -- waivers ------------------------------------------------------------------------------------
def test_waiver_applies_until_it_expires_then_the_item_fails(example_ws: Workspace) -> None:
    add_waiver(example_ws, LIB, agency="so-khcn", system=None, ref=f"{KH04}:t6-soc",
               reason="Đang đầu tư SOC theo dự án 2026", approved_by="Chủ tịch UBND tỉnh",
               until=dt.date(2026, 9, 30), actor="pytest")
    inside = _row(_evaluate(example_ws, "so-khcn", "2026-09-30"), "t6-soc")
    assert inside.status is Status.WAIVED and not inside.overdue
    expired = _row(_evaluate(example_ws, "so-khcn", "2026-10-01"), "t6-soc")
    assert expired.status is Status.FAIL and expired.overdue
    assert expired.reasons[0] == "miễn trừ đã hết hạn ngày 2026-09-30 / waiver expired on 2026-09-30"


def test_expired_system_waiver_fails_the_task_for_the_agency(example_ws: Workspace) -> None:
    _answer(example_ws, "t3-cap-do", "chua-dat", system="lgsp-tinh")
    add_waiver(example_ws, LIB, agency="so-khcn", system="lgsp-tinh", ref=f"{KH04}:t3-cap-do",
               reason="Chờ thẩm định", approved_by="Giám đốc Sở", until=dt.date(2026, 5, 15), actor="pytest")
    assert _sys_row(_evaluate(example_ws, "so-khcn", "2026-05-10"), "t3-cap-do", "lgsp-tinh").status is Status.WAIVED
    later = _evaluate(example_ws, "so-khcn", "2026-05-16")
    assert _sys_row(later, "t3-cap-do", "lgsp-tinh").status is Status.FAIL
    assert _row(later, "t3-cap-do").status is Status.FAIL and not later.met


def test_waiver_needs_known_item_and_system(example_ws: Workspace) -> None:
    with pytest.raises(NotFoundError):
        add_waiver(example_ws, LIB, agency="so-khcn", system=None, ref=f"{KH04}:khong-co", reason="x",
                   approved_by="y", until=dt.date(2026, 1, 1), actor="t")
    with pytest.raises(InputError, match="system"):
        add_waiver(example_ws, LIB, agency="so-khcn", system=None, ref=f"{KH04}:t1-lo-hong", reason="x",
                   approved_by="y", until=dt.date(2026, 1, 1), actor="t")
    with pytest.raises(InputError, match="system"):
        add_waiver(example_ws, LIB, agency="so-khcn", system="lgsp-tinh", ref=f"{KH04}:t6-soc", reason="x",
                   approved_by="y", until=dt.date(2026, 1, 1), actor="t")
    with pytest.raises(NotFoundError):
        add_waiver(example_ws, LIB, agency="so-khcn", system="khong-co", ref=f"{KH04}:t1-lo-hong",
                   reason="x", approved_by="y", until=dt.date(2026, 1, 1), actor="t")
    assert example_ws.db["waivers"].count == 0


def test_rollup_order() -> None:
    assert rollup([Status.PASS, Status.NOT_APPLICABLE]) is Status.PASS
    assert rollup([Status.PASS, Status.FAIL, Status.NOT_ASSESSED]) is Status.FAIL
    assert rollup([Status.PASS, Status.NOT_ASSESSED]) is Status.NOT_ASSESSED
    assert rollup([Status.WAIVED, Status.NOT_APPLICABLE]) is Status.WAIVED
    assert rollup([]) is Status.NOT_APPLICABLE


# -- reporting cadence --------------------------------------------------------------------------
def test_next_reports_due_come_from_the_kh92a_cadence(example_ws: Workspace) -> None:
    result = _evaluate(example_ws, "so-khcn", "2026-06-05")
    due = {r.duty: (r.due_before.isoformat(), r.days_left) for r in result.reports if r.checklist == KH92A}
    assert due == {"bc-thang": ("2026-06-20", 14), "bc-quy": ("2026-06-10", 4), "bc-6-thang": ("2026-06-10", 4),
                   "bc-nam": ("2026-11-30", 177)}
    assert [r.due_before for r in result.reports] == sorted(r.due_before for r in result.reports)  # soonest first
    # before KH 92A takes effect there is no KH 92A cadence to follow
    assert not any(r.checklist == KH92A for r in _evaluate(example_ws, "so-khcn", "2025-10-01").reports)


# -- importing answers --------------------------------------------------------------------------
def test_example_answers_import_and_tell_the_intended_story(example_ws: Workspace) -> None:
    for agency in ("so-khcn", "vp-ubnd-tinh"):
        summary = import_answers(example_ws, LIB, EXAMPLES / "answers" / f"{agency}.yaml", agency=agency,
                                 actor="pytest")
        assert summary.recorded > 5 and summary.evidence > 0
    so = _evaluate(example_ws, "so-khcn", "2026-06-01")
    assert _row(so, "t6-soc").status is Status.NOT_ASSESSED and _row(so, "t6-soc").overdue  # SOC not answered
    assert _row(so, "t4-lop-3").status is Status.FAIL
    assert _row(so, "t4-mo-hinh-4-lop").status is Status.FAIL
    assert all(_row(so, i).status is Status.PASS for i in ("t4-lop-1", "t4-lop-2", "t4-lop-4", "t5-giam-sat",
                                                            "t2-kenh-ket-noi"))
    vp = _evaluate(example_ws, "vp-ubnd-tinh", "2026-06-01")
    assert _sys_row(vp, "t2-van-ban", "tthc-tinh").status is Status.PASS
    assert _sys_row(vp, "t3-cap-do", "qlvb-dieu-hanh").status is Status.PASS
    assert _sys_row(vp, "t3-cap-do", "tthc-tinh").status is Status.FAIL
    assert _row(vp, "t5-giam-sat").status is Status.NOT_ASSESSED
    refs = example_ws.db.execute("select count(*) from evidence_refs where agency = 'so-khcn'").fetchone()[0]
    assert refs > 10 and example_ws.db["evidence"].count > 5


def _write(tmp_path: Path, data: dict, name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_bad_answers_file_is_refused_whole_with_lines(example_ws: Workspace, tmp_path: Path) -> None:
    _doc(tmp_path, "co.pdf")
    path = _write(tmp_path, {"agency": "so-khcn", "checklist": KH04, "answers": [
        {"item": "t5-giam-sat", "status": "dat", "evidence": ["co.pdf"]},
        {"item": "t9-khong-co", "status": "dat"},
        {"item": "t1-lo-hong", "status": "dat"},
        {"item": "t6-soc", "system": "lgsp-tinh", "status": "dat"},
        {"item": "t3-cap-do", "system": "khong-co", "status": "dat"},
        {"item": "t4-lop-1", "status": "dat", "evidence": ["khong-co.pdf"]},
        {"item": "t4-lop-2", "status": "dat", "evidence": [{"file": "co.pdf", "kind": "giay-phep"}]},
        {"item": "t5-giam-sat", "status": "chua-dat"},
    ]})
    with pytest.raises(ValidationError) as info:
        import_answers(example_ws, LIB, path, agency="so-khcn", actor="pytest")
    text = info.value.diagnostics()
    for fragment in ("t9-khong-co", "cần 'system'", "bỏ 'system'", "khong-co'", "khong-co.pdf", "giay-phep",
                     "trả lời hai lần"):
        assert fragment in text, fragment
    assert f"{path}:" in text
    assert example_ws.db["answers"].count == 0 and example_ws.db["evidence_refs"].count == 0


def test_answers_file_for_another_agency_or_checklist_is_refused(example_ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="vp-ubnd-tinh"):
        import_answers(example_ws, LIB, _write(tmp_path, {"agency": "vp-ubnd-tinh", "answers": []}),
                       agency="so-khcn", actor="pytest")
    with pytest.raises(ValidationError, match="kh05"):
        import_answers(example_ws, LIB, _write(tmp_path, {"agency": "so-khcn", "checklist": "kh05",
                                                          "answers": []}), agency="so-khcn", actor="pytest")
    with pytest.raises(ValidationError, match="checklist"):
        import_answers(example_ws, LIB, _write(tmp_path, {"agency": "so-khcn", "answers": [
            {"item": "t6-soc", "status": "dat"}]}), agency="so-khcn", actor="pytest")
    with pytest.raises(ValidationError, match="staus"):
        import_answers(example_ws, LIB, _write(tmp_path, {"agency": "so-khcn", "checklist": KH04, "answers": [
            {"item": "t6-soc", "staus": "dat"}]}), agency="so-khcn", actor="pytest")


def test_template_round_trip(example_ws: Workspace, tmp_path: Path) -> None:
    text = answers_template(example_ws, LIB, "vp-ubnd-tinh", system=None, as_of=dt.date(2026, 5, 1),
                            profile=SELF)
    data = yaml.safe_load(text)
    entries = [(e["checklist"], e["item"], e.get("system")) for e in data["answers"]]
    assert (KH04, "t2-van-ban", "tthc-tinh") in entries and (KH04, "t2-du-lieu", "qlvb-dieu-hanh") in entries
    assert not any(item == "t2-kenh-ket-noi" or item == "t4-mo-hinh-4-lop" for _, item, _ in entries)  # parents
    assert not any(system == "mang-ttdr-co-yeu" and item.startswith("t2-") for _, item, system in entries)
    assert (KH04, "t6-soc", None) not in entries  # not applicable: no private data centre
    assert (KH92A, "i1-khong-su-co", None) in entries
    assert "# Căn cứ: Kế hoạch 04-KH/BCĐTW task 2" in text
    # fill two entries, import: the rest (status null) is skipped
    doc = _doc(tmp_path, "cv-huong-dan.pdf")
    for entry in data["answers"]:
        if (entry["item"], entry.get("system")) == ("t2-van-ban", "tthc-tinh"):
            entry.update(status="dat", note="Công văn 318/PA05", effective="2026-04-20",
                         evidence=[{"file": doc.name, "kind": "van-ban"}])
        if entry["item"] == "t4-lop-2":
            entry.update(status="chua-dat", note="đang chọn nhà cung cấp")
    path = _write(tmp_path, data, "filled.yaml")
    summary = import_answers(example_ws, LIB, path, agency="vp-ubnd-tinh", actor="pytest")
    assert (summary.recorded, summary.skipped, summary.evidence) == (2, len(entries) - 2, 1)
    result = _evaluate(example_ws, "vp-ubnd-tinh", "2026-05-01", INSPECT)
    assert _sys_row(result, "t2-van-ban", "tthc-tinh").status is Status.PASS
    assert _row(result, "t4-lop-2").status is Status.FAIL
    # the current answers come back prefilled
    again = yaml.safe_load(answers_template(example_ws, LIB, "vp-ubnd-tinh", system="tthc-tinh",
                                            as_of=dt.date(2026, 5, 1), profile=SELF))
    filled = next(e for e in again["answers"] if e["item"] == "t2-van-ban")
    assert (filled["status"], filled["note"], str(filled["effective"])) == ("dat", "Công văn 318/PA05", "2026-04-20")
    assert all(e["system"] == "tthc-tinh" for e in again["answers"])


def test_same_file_twice_keeps_one_reference(example_ws: Workspace, tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    _answer(example_ws, "t5-giam-sat", "dat", files=[doc], kind="bao-cao")
    _answer(example_ws, "t5-giam-sat", "dat", files=[doc], kind="hop-dong")
    rows = list(example_ws.db.query("select kind from evidence_refs where item = 't5-giam-sat'"))
    assert rows == [{"kind": "hop-dong"}]


# -- scans: contradiction and freshness (real nmap, loopback 127.0.40.0/24) ---------------------
class _Listener:
    """A TCP service on a loopback address that accepts and closes connections."""

    def __init__(self, address: str, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def listeners() -> Iterator[list[_Listener]]:
    started: list[_Listener] = []
    yield started
    for listener in started:
        listener.close()


def _free_address() -> str:
    for last in range(2 + os.getpid() % 200, 255):
        address = f"127.0.40.{last}"
        try:
            probe = socket.socket()
            probe.bind((address, 0))
            probe.close()
            return address
        except OSError:
            continue
    raise RuntimeError("no free loopback address in 127.0.40.0/24")


def test_scan_contradicts_an_attested_pass_and_inspection_wants_fresh_scans(
    example_ws: Workspace, tmp_path: Path, listeners: list[_Listener]
) -> None:
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed")
    from secaudit.scanning import batch as scan

    address = _free_address()
    web = _Listener(address)
    listeners.append(web)
    code = _import_agency(example_ws, tmp_path, f"""
code: kiem-thu-quet
name: Cơ quan kiểm thử quét
kind: so-ban-nganh
private_data_centre: false
systems:
  - code: web
    name: Cổng thông tin kiểm thử
    critical: true
    hosts:
      - address: {address}
        ports:
          - port: {web.port}
            protocol: tcp
""")  # no declared service: the listener only accepts and closes, so no HTTP check could vouch for it
    today = clock.today()
    _answer(example_ws, "t1-lo-hong", "dat", agency=code, system="web", files=[_doc(tmp_path, "bien-ban.pdf")],
            kind="bien-ban", effective=today)
    no_scan = _sys_row(_evaluate(example_ws, code, today, INSPECT), "t1-lo-hong", "web")
    assert no_scan.status is Status.FAIL and any("chưa có kết quả quét" in r for r in no_scan.reasons)

    clean = scan.scan_agency(example_ws, code, actor="pytest")
    assert clean.status == "complete" and clean.hosts[address] == "up"
    assert _sys_row(_evaluate(example_ws, code, today, INSPECT), "t1-lo-hong", "web").status is Status.PASS
    later = today + dt.timedelta(days=31)  # older than kiem-tra's 30 days, within tu-danh-gia's 90
    stale = _sys_row(_evaluate(example_ws, code, later, INSPECT), "t1-lo-hong", "web")
    assert stale.status is Status.FAIL and any("cũ hơn 30 ngày" in r for r in stale.reasons)
    assert _sys_row(_evaluate(example_ws, code, later, SELF), "t1-lo-hong", "web").status is Status.PASS

    extra = None
    for port in range(8000, 8101):  # inside the scan profile's port list, not declared
        try:
            extra = _Listener(address, port)
            break
        except OSError:
            continue
    assert extra is not None
    listeners.append(extra)
    found = scan.scan_agency(example_ws, code, actor="pytest")
    assert found.findings >= 1
    for profile in (SELF, INSPECT):
        row = _sys_row(_evaluate(example_ws, code, today, profile), "t1-lo-hong", "web")
        assert row.status is Status.FAIL
        assert row.reasons[0].startswith("mâu thuẫn với khai báo đạt")
        assert f"{address}:{extra.port}" in row.reasons[0]
        assert row.findings and all("kh04-bcdtw:t1-lo-hong" in f["bears_on"] for f in row.findings)
    agency_row = _row(_evaluate(example_ws, code, today), "t1-lo-hong")
    assert agency_row.status is Status.FAIL and "mâu thuẫn" in agency_row.reasons[0]


# -- the command line ---------------------------------------------------------------------------
@pytest.fixture
def province(cli) -> object:
    """The example province imported through the CLI (workspace from $SECAUDIT_WORKSPACE)."""
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    return cli


def test_status_cli_exit_codes_matrix_reasons_and_reports(province) -> None:
    cli = province
    result = cli("status", "--as-of", "2026-05-01")
    assert result.code == 3
    assert "t6-soc" in result.out and "so-khcn" in result.out
    assert "Lý do các mục chưa đạt" in result.out and "chưa có câu trả lời" in result.out
    detail = cli("status", "so-khcn", "--as-of", "2026-06-05")
    assert detail.code == 3
    assert "bc-quy" in detail.out and "trước 10/06/2026" in detail.out and "trước 20/06/2026" in detail.out
    doc = json.loads(cli("status", "so-khcn", "--as-of", "2026-05-01", "--format", "json").out)
    assert doc[0]["agency"] == "so-khcn" and doc[0]["met"] is False
    assert {i["item"] for i in doc[0]["items"]} >= {"t1-lo-hong", "t6-soc", "i1-khong-su-co"}
    assert {r["duty"] for r in doc[0]["reports"]} >= {"bc-thang", "bc-quy", "bc-6-thang", "bc-nam"}
    assert cli("status", "khong-co").code == 1


def test_status_exits_0_when_everything_applicable_is_met(province, tmp_path: Path) -> None:
    """Answer every step of the walk for an agency; status turns from 3 to 0, and inspection still wants scans."""
    cli = province
    doc = _doc(tmp_path, "minh-chung.pdf")
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    day = dt.date(2026, 5, 1)
    steps = walk_steps(ws, LIB, "phuong-thanh-vinh", system=None, as_of=day, profile=SELF)
    assert steps and all(step.result.applicable for step in steps)
    first = cli("status", "phuong-thanh-vinh", "--as-of", day.isoformat())
    assert first.code == 3
    # one answer through the CLI, the rest through the library call the CLI makes
    one = steps[0]
    assert cli("answer", "set", f"{one.checklist.id}:{one.item.id}", "--agency", "phuong-thanh-vinh",
               "--system", one.system or "", "--status", "dat", "--evidence", str(doc), "--kind",
               (one.item.evidence.documents or ["van-ban"])[0], "--effective", "2026-04-01").code == 0
    for step in steps[1:]:
        kind = (step.item.evidence.documents or ["van-ban"])[0]
        set_answer(ws, LIB, agency="phuong-thanh-vinh", ref=f"{step.checklist.id}:{step.item.id}",
                   system=step.system, status="dat", note="kiểm thử", evidence=[Evidence(doc, kind)],
                   actor="pytest", effective=dt.date(2026, 4, 1))
    ws.close()
    result = cli("status", "phuong-thanh-vinh", "--as-of", day.isoformat())
    assert result.code == 0, result.out
    inspected = cli("status", "phuong-thanh-vinh", "--as-of", day.isoformat(), "--profile", "kiem-tra")
    assert inspected.code == 3 and "chưa có kết quả quét" in inspected.out
    listed = json.loads(cli("answer", "list", "--agency", "phuong-thanh-vinh", "--format", "json").out)
    assert len(listed) == len(steps) and {r["evidence"] for r in listed} == {1}


def test_answer_set_errors_change_nothing(province, tmp_path: Path) -> None:
    cli = province
    bad = [
        ("answer", "set", f"{KH04}:t6-soc", "--agency", "so-khcn", "--system", "lgsp-tinh", "--status", "dat"),
        ("answer", "set", f"{KH04}:t1-lo-hong", "--agency", "so-khcn", "--status", "dat"),
        ("answer", "set", f"{KH04}:t9", "--agency", "so-khcn", "--status", "dat"),
        ("answer", "set", "t6-soc", "--agency", "so-khcn", "--status", "dat"),
        ("answer", "set", f"{KH04}:t6-soc", "--agency", "khong-co", "--status", "dat"),
        ("answer", "set", f"{KH04}:t6-soc", "--agency", "so-khcn", "--status", "dat", "--evidence",
         str(_doc(tmp_path)), "--kind", "giay-phep"),
    ]
    for args in bad:
        result = cli(*args)
        assert result.code == 1 and result.err.startswith("Error: "), (args, result.err)
    assert cli("answer", "set", f"{KH04}:t6-soc", "--agency", "so-khcn", "--status", "dong-y").code == 2
    assert json.loads(cli("answer", "list", "--agency", "so-khcn", "--format", "json").out) == []


def test_assess_answers_and_template_through_the_cli(province, tmp_path: Path) -> None:
    cli = province
    answers = cli("assess", "so-khcn", "--answers", str(EXAMPLES / "answers" / "so-khcn.yaml"))
    assert answers.code == 0 and "Đã ghi" in answers.err
    out = tmp_path / "mau.yaml"
    template = cli("assess", "so-khcn", "--export-template", "-o", str(out), "--as-of", "2026-06-01")
    assert template.code == 0 and out.is_file()
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    lgsp_t3 = next(e for e in data["answers"] if e["item"] == "t3-cap-do" and e["system"] == "lgsp-tinh")
    assert lgsp_t3["status"] == "dat"
    assert cli("assess", "so-khcn", "--answers", str(out)).code == 0  # re-importing the template is harmless
    assert cli("assess", "so-khcn", "--answers", str(out), "--export-template").code == 2
    assert cli("assess", "so-khcn", "-o", str(out)).code == 2


# -- the interactive walk -----------------------------------------------------------------------
def _invoke(args: list[str], text: str):
    return CliRunner().invoke(root, args, input=text, catch_exceptions=False)


WALK = ["assess", "so-khcn", "--system", "lgsp-tinh", "--as-of", "2026-05-01"]


def _walk_length(agency: str = "so-khcn", system: str = "lgsp-tinh") -> int:
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    try:
        return len(walk_steps(ws, LIB, agency, system=system, as_of=dt.date(2026, 5, 1), profile=SELF))
    finally:
        ws.close()


def test_interactive_walk_saves_each_answer_and_resumes(province, tmp_path: Path) -> None:
    doc = _doc(tmp_path, "bao-cao-khac-phuc.pdf")
    total = _walk_length()
    assert total >= 10  # 5 KH 04 steps and 5 KH 92A steps for this system, then any level-based items
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    first = _invoke(WALK, "\n".join([
        "d", "Đã khắc phục theo báo cáo", "2026-04-20", str(tmp_path / "khong-co.pdf"), str(doc), "bao-cao", "",
        "",                                # step 2 (t2-van-ban): keep as is
        "x", "c", "Chưa đăng ký đầu mối", "", "",   # step 3: a typo, then chưa đạt with no evidence
        "q",
    ]) + "\n")
    assert first.exit_code == 0, first.output
    out = first.stdout
    assert f"[1/{total}] kh04-bcdtw:t1-lo-hong · hệ thống lgsp-tinh" in out
    assert "Căn cứ pháp lý" in out and "Kế hoạch 04-KH/BCĐTW task 1" in out
    assert "Nghị định 331/2026/NĐ-CP Đ33.4" in out and "sau ngày đánh giá" in out  # NĐ 331 not yet in force
    assert "Không thấy tệp" in out and "Chọn d (đạt)" in out
    assert f"Đã dừng ở mục 4/{total}" in out
    answers = {(r["item"]): r for r in ws.db.query("select * from answers where agency = 'so-khcn'")}
    assert set(answers) == {"t1-lo-hong", "t2-dau-moi"}
    assert answers["t1-lo-hong"]["status"] == "dat" and answers["t1-lo-hong"]["effective"] == "2026-04-20"
    assert answers["t2-dau-moi"]["status"] == "chua-dat" and answers["t2-dau-moi"]["note"] == "Chưa đăng ký đầu mối"
    ref = next(ws.db.query("select * from evidence_refs where item = 't1-lo-hong'"))
    assert ref["kind"] == "bao-cao" and ref["original_name"] == doc.name and ref["system"] == "lgsp-tinh"
    assert ws.evidence_path(ref["sha256"]).read_bytes() == doc.read_bytes()

    # the skipped step 2 is asked again first (issue 17), then the walk goes on at step 4
    resumed = _invoke(WALK, "q\n")
    assert "Tiếp tục phiên" in resumed.stdout and "hỏi lại 1 mục đã bỏ qua" in resumed.stdout
    assert f"[2/{total}] kh04-bcdtw:t2-van-ban" in resumed.stdout
    assert f"[1/{total}]" not in resumed.stdout and f"[3/{total}]" not in resumed.stdout

    # a lost terminal (end of input) in the middle of an answer loses only that answer
    lost = CliRunner().invoke(root, WALK, input="d\nđang nhập")
    assert lost.exit_code == 1
    rest = _invoke(WALK, "\n" * (total - 2))  # step 2 again, then steps 4..total
    assert rest.exit_code == 0 and f"[2/{total}]" in rest.stdout and f"[4/{total}]" in rest.stdout
    assert rest.stdout.index(f"[2/{total}]") < rest.stdout.index(f"[4/{total}]") and "Xong phiên" in rest.stdout
    session = next(ws.db.query("select * from assess_sessions order by id desc limit 1"))
    assert session["finished"] and session["answered"] == 2 and session["skipped"] == total - 1
    actions = [r["action"] for r in ws.db.query("select action from log order by seq")]
    assert actions.count("answer.set") == 2 and "assess.start" in actions and "assess.finish" in actions

    fresh = _invoke(WALK, "q\n")
    assert "Phiên đánh giá #" in fresh.stdout and f"[1/{total}]" in fresh.stdout
    assert "Trả lời hiện tại: ĐẠT" in fresh.stdout and "bao-cao-khac-phuc.pdf (báo cáo" in fresh.stdout  # kind label
    ws.close()


def test_interactive_walk_skips_what_does_not_apply(province) -> None:
    result = _invoke(["assess", "vp-ubnd-tinh", "--system", "mang-ttdr-co-yeu", "--as-of", "2026-05-01"], "q\n")
    assert result.exit_code == 0
    assert "[1/" in result.stdout and "t1-lo-hong" in result.stdout
    total = _walk_length("vp-ubnd-tinh", "mang-ttdr-co-yeu")
    text = _invoke(["assess", "vp-ubnd-tinh", "--system", "mang-ttdr-co-yeu", "--as-of", "2026-05-01",
                    "--restart"], "\n" * total).stdout
    headers = [line for line in text.splitlines() if line.startswith("[")]
    assert len(headers) == total and all("mang-ttdr-co-yeu" in h for h in headers)
    assert any(":t1-lo-hong" in h for h in headers) and any(":t3-cap-do" in h for h in headers)
    assert not any(":t2-" in h for h in headers)  # no incident-channel step for a cơ yếu system
    assert "Xong phiên" in text


class _Terminal:
    """The parent side of a pseudo-terminal: write keys, wait for text (keeping what follows a match)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.raw = b""

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        """Wait until ``pattern`` has been printed; return the text up to and including it."""
        deadline = time.monotonic() + timeout
        needle = pattern.encode("utf-8")
        while needle not in self.raw:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; got:\n{self.raw.decode(errors='replace')}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"{pattern!r} never appeared; got:\n{self.raw.decode(errors='replace')}")
            self.raw += chunk
        end = self.raw.index(needle) + len(needle)
        text, self.raw = self.raw[:end], self.raw[end:]
        return text.decode("utf-8", errors="replace")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode("utf-8"))


def _spawn(args: list[str]) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # child: the real secaudit on a real terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "secaudit", *args], os.environ.copy())
    return pid, fd


def _wait(pid: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("secaudit did not exit")


def test_interactive_walk_on_a_real_terminal_survives_ctrl_c(province, tmp_path: Path) -> None:
    doc = _doc(tmp_path, "bien-ban-khac-phuc.pdf")
    pid, fd = _spawn(WALK)
    term = _Terminal(fd)
    try:
        term.expect("Trạng thái (d/c/k/q)")
        term.send("d\n")
        term.expect("Ghi chú")
        term.send("Khắc phục xong\n")
        term.expect("Ngày có hiệu lực")
        term.send("\n")
        term.expect("Tệp minh chứng")
        term.send(f"{doc}\n")
        term.expect("Loại")
        term.send("bien-ban\n")
        term.expect("Tệp minh chứng")
        term.send("\n")
        assert "kh04-bcdtw:t2-van-ban" in term.expect("Trạng thái (d/c/k/q)")
        time.sleep(0.5)  # as a person would: the prompt is up and waiting for a key
        term.send("\x03")  # Ctrl-C on the terminal: SIGINT to the foreground process
        term.expect("Đã hủy")
        assert _wait(pid) == 1
    finally:
        os.close(fd)
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    answer = next(ws.db.query("select * from answers where item = 't1-lo-hong'"))
    assert answer["status"] == "dat" and answer["note"] == "Khắc phục xong" and answer["effective"] == "2026-05-01"
    assert next(ws.db.query("select kind from evidence_refs where item = 't1-lo-hong'"))["kind"] == "bien-ban"
    ws.close()

    pid, fd = _spawn(WALK)
    term = _Terminal(fd)
    try:
        text = term.expect("Trạng thái (d/c/k/q)")
        assert "Tiếp tục phiên" in text and "[2/" in text and "] kh04-bcdtw:t2-van-ban" in text
        term.send("q\n")
        term.expect("Đã dừng")
        assert _wait(pid) == 0
    finally:
        os.close(fd)
