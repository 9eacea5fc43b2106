"""The agency workbook speaks the reader's language (issue 15): labels and values in Vietnamese, English with
``--lang en``; a coded value appears only in a column that says it holds codes ("Mã kết quả")."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import answer_example, import_file, record_recorded_scan

from secaudit.inventory import records as inventory
from secaudit.inventory.models import DossierState, Hosting
from secaudit.reporting.data import SEVERITIES, build_report
from secaudit.reporting.exports import xlsx
from secaudit.requirements.content import EVIDENCE_KINDS, Library
from secaudit.requirements.results import Status
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

COUNT_KEYS = {"systems", "critical", "approved", "findings", "evidence", "scans", "overdue_tasks", "remaining"}
RAW = (COUNT_KEYS | set(SEVERITIES) | {s.value for s in DossierState} | {h.value for h in Hosting}
       | set(EVIDENCE_KINDS) | {s.value for s in Status} | {"agency", "system", "complete", "incomplete"})
CODE_COLUMNS = {"Mã kết quả", "Status code"}
SCANNED = """\
code: so-thu-nghiem
name: Sở Thử nghiệm
kind: so-ban-nganh
systems:
  - code: may-chu-ghi-san
    name: Máy chủ ghi sẵn
    critical: true
    hosting: trung-tam-du-lieu-tinh
    level:
      proposed: 2
      dossier_state: da-lap
    hosts:
      - address: 127.0.7.1
        ports:
          - port: 8080
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("xlsx-labels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")  # the scan is dated by the clock
        ws = Workspace.create(tmp / "ws")
        inventory.import_agencies(ws, inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory")),
                                  actor="pytest", source="examples")
        lib = Library()
        answer_example(ws, lib, tmp)
        path = tmp / "so-thu-nghiem.yaml"
        path.write_text(SCANNED, encoding="utf-8")
        import_file(ws, path)
        record_recorded_scan(ws, "so-thu-nghiem", "may-chu-ghi-san")
        yield ws, lib
        ws.close()


def _sheets(ws: Workspace, lib: Library, agency: str, lang: str) -> dict[str, list[tuple[Any, ...]]]:
    from openpyxl import load_workbook

    data = build_report(ws, lib, agency, as_of=dt.date(2026, 11, 22), profile=lib.resolve_profile("tu-danh-gia"),
                        lang=lang)
    book = load_workbook(io.BytesIO(xlsx.render(data)))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book}


def _raw_cells(sheets: dict[str, list[tuple[Any, ...]]]) -> list[tuple[str, int, Any]]:
    found = []
    for title, rows in sheets.items():
        skip: set[int] = set()
        for r, row in enumerate(rows, 1):
            if any(c in CODE_COLUMNS for c in row):  # a header row naming a code column
                skip = {i for i, c in enumerate(row) if c in CODE_COLUMNS}
            found += [(title, r, c) for i, c in enumerate(row) if i not in skip and isinstance(c, str) and c in RAW]
    return found


@pytest.mark.parametrize("agency", ["so-khcn", "so-thu-nghiem"])
def test_no_raw_code_or_key_in_any_sheet(workspace: Any, agency: str) -> None:
    sheets = _sheets(*workspace, agency, "vi")
    assert not _raw_cells(sheets), _raw_cells(sheets)[:10]


def test_summary_sheet_in_vietnamese_and_in_english(workspace: Any) -> None:
    vi = _sheets(*workspace, "so-thu-nghiem", "vi")
    labels = {row[0]: row[1] for row in vi["Tổng hợp"] if row and row[0]}
    assert labels["Số hệ thống thông tin"] == 1 and labels["Số nhiệm vụ quá hạn"] >= 1
    assert labels["Số lần quét"] == 1 and "Hồ sơ đánh giá" in labels
    assert "Cấp độ 2" in labels and "Chưa xác định" in labels  # levels named, not 2 / "—"
    assert any(r[:2] == ("Cấp độ", "Tổng") and "Đã lập hồ sơ" in r for r in vi["Tổng hợp"])
    flat = {c for rows in vi.values() for row in rows for c in row}
    assert {"Trung tâm dữ liệu tỉnh", "Đã lập hồ sơ", "Hoàn tất", "Kết quả dò quét", "Từng hệ thống"} <= flat
    assert flat & {"Cao", "Trung bình", "Nghiêm trọng", "Thấp"}
    en = _sheets(*workspace, "so-thu-nghiem", "en")
    labels = {row[0]: row[1] for row in en["Summary"] if row and row[0]}
    assert labels["Information systems"] == 1 and "Overdue tasks" in labels
    flat_en = {c for rows in en.values() for row in rows for c in row}
    assert {"Provincial data centre", "Dossier drafted", "Complete", "Scan result", "Level 2"} <= flat_en
    assert not _raw_cells(en), _raw_cells(en)[:10]
    assert not (flat_en & {"Số hệ thống thông tin", "Hoàn tất", "Trung tâm dữ liệu tỉnh"})


def test_waiver_and_requirement_columns_keep_their_places(workspace: Any, tmp_path: Path) -> None:
    sheets = _sheets(*workspace, "so-khcn", "vi")
    t5 = next(r for r in sheets["Yêu cầu"][1:] if r[1] == "t5-giam-sat" and r[3] is None)
    assert t5[8] == "chua-dat" and t5[9] == "CHƯA ĐẠT" and t5[5] == "Cơ quan"
