"""Answers in Excel (issue 17): export the workbook, fill it in as Excel would, import it, see the status.

Real parts: the example phường in a real workspace, the CLI through ``main``, workbooks written and
edited with openpyxl (what Excel writes), and a corpus of bad workbooks each refused with a
Vietnamese message naming the sheet and cell, the store unchanged (compared as a full SQL dump).
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import EXAMPLES

AGENCY = "phuong-thanh-vinh"
KH04 = "kh04-bcdtw"
SYSTEMS = ("mot-cua-phuong", "trang-ttdt-phuong")
# columns of sheet "Trả lời" (A is the hidden key)
KEY, STATUS, NOTE, FILES, KIND, EFFECTIVE, EXPIRES = "A", "D", "E", "F", "G", "H", "I"


def _key(item: str, system: str | None = None) -> str:
    return f"{AGENCY}/{KH04}:{item}/{system or ''}"


def _row_of(sheet: Any, key: str) -> int:
    for row in range(2, sheet.max_row + 1):
        if sheet[f"A{row}"].value == key:
            return row
    raise AssertionError(f"no row {key}")


@pytest.fixture
def officer(cli, pinned_now: str, tmp_path: Path):
    """A workspace with the example province, and the phường's answers workbook exported into a folder."""
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    folder = tmp_path / "ho-so"
    folder.mkdir()
    book = folder / "answers.xlsx"
    done = cli("assess", AGENCY, "--export-template", "-o", str(book))
    assert done.code == 0, done.err
    return cli, book


def _status(cli) -> dict[tuple[str, str | None], dict[str, Any]]:
    result = cli("status", AGENCY, "--format", "json")
    data = json.loads(result.out)[0]
    return {(r["item"], r["system"]): r for r in [*data["items"], *data["systems"]]}


def _dump(workspace: Path) -> tuple[list[str], list[str]]:
    """Everything in the store: the whole database as SQL, and every file under evidence/."""
    conn = sqlite3.connect(workspace / "secaudit.db")
    try:
        sql = list(conn.iterdump())
    finally:
        conn.close()
    files = sorted(str(p.relative_to(workspace)) for p in (workspace / "evidence").rglob("*"))
    return sql, files


def test_the_workbook_an_officer_gets(officer) -> None:
    _, book = officer
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[:2] == ["Trả lời", "Hướng dẫn"]
    sheet = wb["Trả lời"]
    assert sheet.column_dimensions["A"].hidden and sheet.freeze_panes == "D2"
    assert sheet["D1"].value.startswith("Trạng thái") and sheet["H1"].value.startswith("Ngày hiệu lực")
    head = _row_of(sheet, _key("t2-van-ban", "*"))
    assert sheet[f"C{head}"].value == "Tất cả hệ thống"
    assert [sheet[f"A{head + i}"].value for i in (1, 2)] == [_key("t2-van-ban", s) for s in SYSTEMS]
    agency_row = _row_of(sheet, _key("t4-lop-1"))
    assert sheet[f"C{agency_row}"].value == "(cấp cơ quan)"
    assert "Nghị định 331/2026/NĐ-CP Đ33.5" in sheet[f"J{head}"].value  # legal basis, read-only
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    status_list = next(v for v in lists if f"D{head}" in v.sqref)
    choices = [c.value for c in wb["Danh mục"]["A"]][:3]
    assert status_list.formula1.endswith("$A$1:$A$3") and choices == ["Đạt", "Chưa đạt", "Không áp dụng"]
    assert sheet.protection.sheet and not sheet[f"D{head}"].protection.locked and sheet[f"J{head}"].protection.locked
    assert "Tất cả hệ thống" in " ".join(str(c.value) for c in wb["Hướng dẫn"]["A"] if c.value)


def test_round_trip_export_fill_import_status(officer) -> None:
    cli, book = officer
    before = _status(cli)
    assert all(before[("t2-van-ban", s)]["status"] == "chua-danh-gia" for s in SYSTEMS)
    (book.parent / "minh-chung").mkdir()
    (book.parent / "minh-chung" / "CV-ket-noi.pdf").write_bytes(b"%PDF-1.4 cong van ket noi")

    wb = openpyxl.load_workbook(book)
    sheet = wb["Trả lời"]
    shared = _row_of(sheet, _key("t2-van-ban", "*"))  # one answer for both systems, with its document
    sheet[f"{STATUS}{shared}"] = "Đạt"
    sheet[f"{NOTE}{shared}"] = "Công văn kết nối số 12/CV-UBND"
    sheet[f"{FILES}{shared}"] = "minh-chung/CV-ket-noi.pdf"
    sheet[f"{KIND}{shared}"] = "văn bản (công văn, hướng dẫn, thỏa thuận)"
    sheet[f"{EFFECTIVE}{shared}"] = "20/11/2026"
    other = _row_of(sheet, _key("t2-dau-moi", "*"))  # all systems "Đạt" except one
    sheet[f"{STATUS}{other}"] = "Đạt"
    exception = _row_of(sheet, _key("t2-dau-moi", "trang-ttdt-phuong"))
    sheet[f"{STATUS}{exception}"] = "Chưa đạt"
    sheet[f"{NOTE}{exception}"] = "Chưa cử đầu mối cho trang TTĐT"
    wb.save(book)

    done = cli("assess", AGENCY, "--answers", str(book))
    assert done.code == 0, done.err
    assert "Đã ghi 4 câu trả lời (2 tệp minh chứng" in done.err

    after = _status(cli)
    assert [after[("t2-van-ban", s)]["status"] for s in SYSTEMS] == ["dat", "dat"]
    assert [after[("t2-dau-moi", s)]["status"] for s in SYSTEMS] == ["dat", "chua-dat"]
    assert after[("t2-dau-moi", "trang-ttdt-phuong")]["note"] == "Chưa cử đầu mối cho trang TTĐT"
    listed = cli("evidence", "list", "--agency", AGENCY)
    assert listed.out.count("CV-ket-noi.pdf") == 1  # one file, linked to both systems' answers
    assert "kh04-bcdtw:t2-van-ban (mot-cua-phuong); kh04-bcdtw:t2-van-ban (trang-ttdt-phuong)" in listed.out

    again = book.parent / "again.xlsx"  # exported again: the answers are pre-filled
    assert cli("assess", AGENCY, "--export-template", "-o", str(again)).code == 0
    sheet = openpyxl.load_workbook(again)["Trả lời"]
    shared = _row_of(sheet, _key("t2-van-ban", "*"))
    assert (sheet[f"D{shared}"].value, sheet[f"H{shared}"].value) == ("Đạt", "20/11/2026")
    assert sheet[f"M{shared + 1}"].value == "CV-ket-noi.pdf"
    exception = _row_of(sheet, _key("t2-dau-moi", "trang-ttdt-phuong"))
    assert sheet[f"D{exception}"].value == "Chưa đạt" and sheet[f"D{exception - 1}"].value == "Đạt"
    log_before = _dump(book.parent.parent / "ws")[0]
    unchanged = cli("assess", AGENCY, "--answers", str(again))
    assert unchanged.code == 0 and "Đã ghi 0 câu trả lời" in unchanged.err and "4 không đổi" in unchanged.err
    assert _dump(book.parent.parent / "ws")[0] == log_before  # nothing re-recorded, nothing logged


def test_yaml_template_still_available_and_other_suffixes_refused(officer, tmp_path: Path) -> None:
    cli, _ = officer
    path = tmp_path / "answers.yaml"
    assert cli("assess", AGENCY, "--export-template", "-o", str(path)).code == 0
    assert path.read_text(encoding="utf-8").startswith("# Tệp trả lời của")
    refused = cli("assess", AGENCY, "--export-template", "-o", str(tmp_path / "answers.csv"))
    assert refused.code == 2 and "chọn đuôi .xlsx (Excel) hoặc .yaml/.yml" in refused.err


# -- a corpus of bad workbooks ----------------------------------------------------------------------
Edit = Callable[[Any, Path], None]


def _fill_valid(sheet: Any) -> None:
    """A good answer too, so that an import that went ahead would change the store."""
    sheet[f"{STATUS}{_row_of(sheet, _key('t4-lop-1'))}"] = "Đạt"


def _cell(item: str, system: str | None, column: str, value: Any, status: str | None = "Đạt") -> Edit:
    def edit(sheet: Any, folder: Path) -> None:
        row = _row_of(sheet, _key(item, system))
        if status is not None:
            sheet[f"{STATUS}{row}"] = status
        sheet[f"{column}{row}"] = value
    return edit


def _dates(effective: str, expires: str) -> Edit:
    def edit(sheet: Any, folder: Path) -> None:
        row = _row_of(sheet, _key("t2-van-ban", "*"))
        sheet[f"{STATUS}{row}"] = "Đạt"
        sheet[f"{EFFECTIVE}{row}"] = effective
        sheet[f"{EXPIRES}{row}"] = expires
    return edit


def _unknown_system(sheet: Any, folder: Path) -> None:
    row = _row_of(sheet, _key("t2-van-ban", "trang-ttdt-phuong"))
    sheet[f"{KEY}{row}"] = _key("t2-van-ban", "khong-co")
    sheet[f"{STATUS}{row}"] = "Đạt"


def _delete_key_column(sheet: Any, folder: Path) -> None:
    sheet.delete_cols(1)


def _duplicate_row(sheet: Any, folder: Path) -> None:
    row = _row_of(sheet, _key("t4-lop-2"))
    last = sheet.max_row + 1
    for column in range(1, sheet.max_column + 1):
        sheet.cell(row=last, column=column).value = sheet.cell(row=row, column=column).value
    sheet[f"{STATUS}{last}"] = "Chưa đạt"


def _text_like_a_formula(sheet: Any, folder: Path) -> None:
    row = _row_of(sheet, _key("t4-lop-2"))
    sheet[f"{STATUS}{row}"] = "Đạt"
    sheet[f"{NOTE}{row}"] = '=HYPERLINK("http://127.0.0.1/x","bấm")'
    sheet[f"{NOTE}{row}"].data_type = "s"  # typed as text ('=…), not as a formula


def _renamed_sheet(sheet: Any, folder: Path) -> None:
    sheet.title = "Answers"


def _other_agency(sheet: Any, folder: Path) -> None:
    row = _row_of(sheet, _key("t4-lop-2"))
    sheet[f"{KEY}{row}"] = f"so-khcn/{KH04}:t4-lop-2/"
    sheet[f"{STATUS}{row}"] = "Đạt"


BAD_SHEETS: dict[str, tuple[Edit, str]] = {
    "unknown status": (_cell("t4-lop-2", None, STATUS, "Đạtt", status=None),
                       "Trả lời!D{t4-lop-2}: 'Đạtt' không phải một trạng thái; chọn một trong: Đạt, Chưa đạt,"
                       " Không áp dụng"),
    "bad date": (_cell("t4-lop-2", None, EFFECTIVE, "31/02/2026"),
                 "Trả lời!H{t4-lop-2}: '31/02/2026' không phải ngày hợp lệ; ghi dd/mm/yyyy"),
    "expiry before effective": (_dates("20/11/2026", "01/11/2026"),
                                "Trả lời!I{t2-van-ban*}: ngày hết hạn 01/11/2026 trước ngày hiệu lực 20/11/2026"),
    "unknown system": (_unknown_system, "không có hệ thống 'khong-co' của cơ quan phuong-thanh-vinh"),
    "missing evidence file": (_cell("t4-lop-2", None, FILES, "bien-ban-khong-co.pdf"),
                              "Trả lời!F{t4-lop-2}: không thấy tệp minh chứng 'bien-ban-khong-co.pdf'"),
    "renamed sheet": (_renamed_sheet, "Không có trang tính 'Trả lời' (có: Answers, Hướng dẫn"),
    "deleted key column": (_delete_key_column, "Trả lời!A1: thiếu cột 'Khóa (không sửa)'"),
    "duplicated row": (_duplicate_row, "dòng trùng với dòng {t4-lop-2}"),
    "formula": (_cell("t4-lop-2", None, NOTE, '=HYPERLINK("http://127.0.0.1/x","bấm")'),
                "Trả lời!E{t4-lop-2}: ô chứa công thức"),
    "text starting with =": (_text_like_a_formula, "Trả lời!E{t4-lop-2}: ô bắt đầu bằng '='"),
    "bidi override": (_cell("t4-lop-2", None, NOTE, "Đã nộp bien-ban\u202efdp.exe"),
                      "Trả lời!E{t4-lop-2}: ô chứa ký tự ẩn <U+202E>"),
    "note without status": (_cell("t4-lop-2", None, NOTE, "Đã làm", status=None),
                            "Trả lời!D{t4-lop-2}: dòng có ghi chú, tệp hoặc ngày nhưng chưa chọn trạng thái"),
    "another agency's row": (_other_agency, "dòng này của cơ quan 'so-khcn', không phải 'phuong-thanh-vinh'"),
}


@pytest.mark.parametrize("case", sorted(BAD_SHEETS))
def test_bad_sheet_is_refused_naming_the_cell_and_the_store_is_unchanged(officer, case: str) -> None:
    cli, book = officer
    edit, expected = BAD_SHEETS[case]
    wb = openpyxl.load_workbook(book)
    sheet = wb["Trả lời"]
    rows = {"{t4-lop-2}": _row_of(sheet, _key("t4-lop-2")), "{t2-van-ban*}": _row_of(sheet, _key("t2-van-ban", "*"))}
    _fill_valid(sheet)
    edit(sheet, book.parent)
    wb.save(book)
    for marker, row in rows.items():
        expected = expected.replace(marker, str(row))
    workspace = book.parent.parent / "ws"
    before = _dump(workspace)
    result = cli("assess", AGENCY, "--answers", str(book))
    assert result.code == 1, (case, result.err)
    assert expected in result.err, (case, result.err)
    assert "Traceback" not in result.err
    assert _dump(workspace) == before


def _junk_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", b"\x00\x01 not xml at all")
        archive.writestr("junk.bin", b"junk" * 100)


@pytest.mark.parametrize(("case", "make", "expected"), [
    ("zip of junk", _junk_zip, "Không mở được tệp .xlsx"),
    ("empty file", lambda p: p.write_bytes(b""), "Tệp rỗng, không phải sổ tính Excel"),
    ("text file named .xlsx", lambda p: p.write_text("agency: x\n", encoding="utf-8"), "Không phải tệp Excel .xlsx"),
])
def test_a_file_that_is_no_workbook_is_refused(officer, case: str, make: Callable[[Path], None],
                                               expected: str) -> None:
    cli, book = officer
    make(book)
    workspace = book.parent.parent / "ws"
    before = _dump(workspace)
    result = cli("assess", AGENCY, "--answers", str(book))
    assert result.code == 1 and expected in result.err and str(book) in result.err, (case, result.err)
    assert "Traceback" not in result.err
    assert _dump(workspace) == before
