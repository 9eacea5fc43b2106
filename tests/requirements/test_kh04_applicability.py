"""KH 04 task 6 (SOC) applicability, and the dated reporting duties of the UBND letter in seed 000.

Issue 11, items 7 and 8. Real workspace, shipped checklists, the CLI through ``main``; the day is
pinned with ``--as-of`` or SECAUDIT_NOW, never read from the machine.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from secaudit.inventory import records as inventory
from secaudit.reporting.assessment import evaluate_agency
from secaudit.requirements.answers import record_answer
from secaudit.requirements.content import Library
from secaudit.requirements.results import Result, Status
from secaudit.store.workspace import Workspace

LIB = Library()
SELF = LIB.resolve_profile("tu-danh-gia")
KH04 = "kh04-bcdtw"
KH92A = "kh92a-ubnd-nghe-an"  # home of the dated ad-hoc reports (KH 92A IV.1 "đột xuất khi có yêu cầu")


def _import(ws: Workspace, tmp_path: Path, text: str) -> str:
    path = tmp_path / "co-quan.yaml"
    path.write_text(text, encoding="utf-8")
    agency = inventory.load_agency(path)
    inventory.import_agencies(ws, [agency], actor="pytest", source=str(path))
    return agency.code


def _row(ws: Workspace, agency: str, item: str, day: str, checklist: str = KH04) -> Result:
    result = evaluate_agency(ws, LIB, agency, as_of=dt.date.fromisoformat(day), profile=SELF)
    return next(r for r in result.results if r.checklist == checklist and r.item == item)


def _agency(code: str, *, pdc: str, hosting: str | None, critical: str = "true", kind: str = "so-ban-nganh",
            role: str | None = None) -> str:
    lines = [f"code: {code}", f"name: Cơ quan {code}", f"kind: {kind}"]
    if role:
        lines.append(f"role: {role}")
    if pdc:
        lines.append(f"private_data_centre: {pdc}")
    lines += ["systems:", "  - code: he-thong-a", "    name: Hệ thống A"]
    if critical:
        lines.append(f"    critical: {critical}")
    if hosting:
        lines.append(f"    hosting: {hosting}")
    return "\n".join(lines) + "\n"


# -- item 7: SOC task ---------------------------------------------------------------------------
def test_soc_task_applies_to_private_dc_agency_whatever_the_hosting_label(ws: Workspace, tmp_path: Path) -> None:
    """KH 04-KH/BCĐTW task 6, as quoted in the Tỉnh ủy letter (seed 000), Phụ lục mục 2, TT 2: "Các Bộ,
    ngành, địa phương có trung tâm dữ liệu dùng riêng, trực tiếp quản lý, vận hành các hệ thống thông tin
    trọng yếu xây dựng … Trung tâm giám sát an ninh mạng tập trung" (due 31/05/2026).

    The duty rests on the agency (private data centre + critical systems it operates), not on where one
    system says it is hosted; before the fix a critical system labelled anything but
    ``trung-tam-du-lieu-rieng`` made the task "không áp dụng". Both facts are still needed.
    """
    for hosting in ("trung-tam-du-lieu-tinh", "tai-co-quan", "dien-toan-dam-may", None):
        code = _import(ws, tmp_path, _agency(f"ttdl-rieng-{hosting or 'chua-khai'}", pdc="true", hosting=hosting))
        row = _row(ws, code, "t6-soc", "2026-06-01")
        assert row.applicable is True, hosting
        assert row.status is Status.NOT_ASSESSED and row.overdue  # due 31/05/2026, nothing answered
    no_dc = _import(ws, tmp_path, _agency("khong-ttdl", pdc="false", hosting="trung-tam-du-lieu-rieng"))
    assert _row(ws, no_dc, "t6-soc", "2026-06-01").status is Status.NOT_APPLICABLE
    no_critical = _import(ws, tmp_path, _agency("khong-trong-yeu", pdc="true", hosting=None, critical="false"))
    assert _row(ws, no_critical, "t6-soc", "2026-06-01").status is Status.NOT_APPLICABLE


@pytest.mark.parametrize("text", [
    # private data centre not declared, a critical system hosted elsewhere
    _agency("chua-ro-ttdl", pdc="", hosting="trung-tam-du-lieu-tinh"),
    # private data centre declared, no system declared at all
    "code: chua-khai-ht\nname: Cơ quan chưa khai hệ thống\nkind: so-ban-nganh\nprivate_data_centre: true\n",
], ids=["dc-unknown", "no-systems"])
def test_soc_task_applicability_is_unknown_when_facts_are_missing(ws: Workspace, tmp_path: Path, text: str) -> None:
    """KH 04-KH/BCĐTW task 6 (seed 000, Tỉnh ủy letter, Phụ lục mục 2, TT 2): whether the agency "có trung
    tâm dữ liệu dùng riêng, trực tiếp quản lý, vận hành các hệ thống thông tin trọng yếu" is a fact of the
    inventory; when it is missing the answer is "chưa xác định", not "không áp dụng"."""
    code = _import(ws, tmp_path, text)
    row = _row(ws, code, "t6-soc", "2026-05-01")
    assert row.applicable is None and row.status is Status.NOT_ASSESSED
    assert any("chưa đủ thông tin để xác định áp dụng" in r for r in row.reasons)


# -- item 8: reporting duties of the UBND letter --------------------------------------------------
def test_science_department_owes_report_before_27_may_and_is_overdue_after(ws: Workspace, tmp_path: Path) -> None:
    """Công văn …/UBND-VX of UBND tỉnh Nghệ An, 5/2026 (seed 000, number and day left blank in the seed),
    the paragraph giving Sở Khoa học và Công nghệ the lead: "báo cáo kết quả các nhiệm vụ được giao về UBND
    tỉnh trước ngày 27/5/2026". Only that sở owes it; another sở does not."""
    skhcn = _import(ws, tmp_path, _agency("skhcn", pdc="false", hosting=None, role="so-khcn"))
    on_time = _row(ws, skhcn, "bc-so-khcn-5-2026", "2026-05-26", KH92A)
    assert on_time.applicable is True and on_time.deadline == dt.date(2026, 5, 26) and not on_time.overdue
    late = _row(ws, skhcn, "bc-so-khcn-5-2026", "2026-05-27", KH92A)
    assert late.status is Status.NOT_ASSESSED and late.overdue
    assert _row(ws, skhcn, "bc-cong-an-tinh-5-2026", "2026-05-27", KH92A).status is Status.NOT_APPLICABLE
    other = _import(ws, tmp_path, _agency("so-khac", pdc="false", hosting=None))
    assert _row(ws, other, "bc-so-khcn-5-2026", "2026-05-27", KH92A).status is Status.NOT_APPLICABLE
    # answered with the report sent: met and no longer overdue
    report = tmp_path / "bao-cao-ubnd.pdf"
    report.write_bytes(b"%PDF-1.4 bao cao")
    record_answer(ws, agency=skhcn, system=None, checklist=KH92A, item="bc-so-khcn-5-2026", status="dat",
                  note="Báo cáo số 01/BC-SKHCN ngày 25/5/2026", files=[report], kind="bao-cao",
                  actor="pytest", effective=dt.date(2026, 5, 25))
    done = _row(ws, skhcn, "bc-so-khcn-5-2026", "2026-05-27", KH92A)
    assert done.status is Status.PASS and not done.overdue


def test_provincial_police_owes_report_before_25_may_shown_by_status(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Công văn …/UBND-VX of UBND tỉnh Nghệ An, 5/2026 (seed 000), the dash point for Công an tỉnh: "Công an
    tỉnh báo cáo kết quả các nhiệm vụ được giao về UBND (qua Sở Khoa học và Công nghệ) trước ngày
    25/5/2026". ``secaudit status`` lists it with its deadline and marks it overdue from 25/5/2026."""
    path = tmp_path / "ca.yaml"
    path.write_text(_agency("ca-tinh", pdc="false", hosting=None, kind="cong-an"), encoding="utf-8")
    assert cli("init").code == 0
    assert cli("inventory", "import", str(path)).code == 0
    monkeypatch.setenv("SECAUDIT_NOW", "2026-05-24T09:00:00+07:00")
    before = cli("status", "ca-tinh", "--format", "json")
    rows = {r["item"]: r for r in json.loads(before.out)[0]["items"] if r["checklist"] == KH92A}
    duty = rows["bc-cong-an-tinh-5-2026"]
    assert duty["applicable"] is True and duty["deadline"] == "2026-05-24" and not duty["overdue"]
    assert rows["bc-so-khcn-5-2026"]["status"] == "khong-ap-dung"
    monkeypatch.setenv("SECAUDIT_NOW", "2026-05-25T09:00:00+07:00")
    after = cli("status", "ca-tinh")
    line = next(ln for ln in after.out.splitlines() if "bc-cong-an-tinh-5-2026" in ln)
    assert "24/05/2026" in line and "QUÁ HẠN" in line
    assert after.code == 3
