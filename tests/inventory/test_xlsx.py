"""Excel in and out: the template, lossless round-trips, and bad workbooks refused cell by cell."""

from __future__ import annotations

import filecmp
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from secaudit.errors import InputError
from secaudit.inventory import fields, xlsx
from secaudit.inventory import records as inventory
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES


def _counts(ws: Workspace) -> dict[str, int]:
    return {t: ws.db[t].count for t in ("agencies", "systems", "hosts", "log")}


def _column(sheet: Any, key: str) -> int:
    for cell in sheet[2]:
        if cell.value == key:
            return int(cell.column)
    raise KeyError(key)


def _row(sheet: Any, key: str, value: str) -> int:
    column = _column(sheet, key)
    for row in range(xlsx.FIRST_DATA_ROW, sheet.max_row + 1):
        if sheet.cell(row=row, column=column).value == value:
            return row
    raise KeyError(value)


@pytest.fixture
def workbook(example_ws: Workspace, tmp_path: Path) -> Path:
    """The example province exported as a workbook."""
    path = tmp_path / "province.xlsx"
    inventory.export_xlsx(example_ws, path)
    return path


def test_yaml_store_xlsx_store_yaml_is_byte_identical(example_ws: Workspace, workbook: Path, tmp_path: Path) -> None:
    first = tmp_path / "yaml1"
    inventory.export_agencies(example_ws, first)
    other = Workspace.create(tmp_path / "ws2")
    inventory.import_path(other, workbook, actor="pytest")
    second = tmp_path / "yaml2"
    inventory.export_agencies(other, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir()) and len(names) == 5
    _match, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert mismatch == [] and errors == []
    # and the models themselves are equal, including systems' order and every unknown
    for code in inventory.agency_codes(example_ws):
        assert inventory.get_agency(other, code) == inventory.get_agency(example_ws, code)


def test_template_has_headers_lists_and_instructions(tmp_path: Path, cli) -> None:
    path = tmp_path / "mau.xlsx"
    result = cli("inventory", "template", "-o", str(path))
    assert result.code == 0, result.err
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [xlsx.SHEET_HELP, xlsx.SHEET_AGENCIES, xlsx.SHEET_SYSTEMS, xlsx.SHEET_LEVELS,
                               xlsx.SHEET_HOSTS, xlsx.SHEET_LISTS]
    systems, levels = book[xlsx.SHEET_SYSTEMS], book[xlsx.SHEET_LEVELS]
    titles = [c.value for c in systems[1]]
    assert "Tên hệ thống *" in titles and "Hệ thống trọng yếu" in titles and "Cấp độ được phê duyệt" not in titles
    assert [c.value for c in systems[2]] == ["agency", *(s.key for s in fields.SYSTEM_FIELDS
                                                         if not s.key.startswith("level."))]
    assert [c.value for c in levels[2]] == ["agency", "system", *(s.key for s in fields.SYSTEM_FIELDS
                                                                  if s.key.startswith("level."))]
    validations = {str(v.sqref).split(":")[0]: v for v in systems.data_validations.dataValidation}
    critical = validations[f"{openpyxl.utils.get_column_letter(_column(systems, 'critical'))}3"]
    assert critical.type == "list" and "có" in critical.formula1
    hosting = validations[f"{openpyxl.utils.get_column_letter(_column(systems, 'hosting'))}3"]
    assert hosting.type == "list" and xlsx.SHEET_LISTS in hosting.formula1
    name_column = openpyxl.utils.get_column_letter(_column(levels, "level.decision_number"))
    assert levels.column_dimensions[name_column].number_format == "@"  # Excel keeps '12/3' as text
    validations = {str(v.sqref).split(":")[0]: v for v in levels.data_validations.dataValidation}
    level = validations[f"{openpyxl.utils.get_column_letter(_column(levels, 'level.approved'))}3"]
    assert (level.type, level.formula1, level.formula2) == ("whole", "1", "5")
    help_text = "\n".join(str(c.value) for row in book[xlsx.SHEET_HELP].iter_rows() for c in row if c.value)
    assert "Ô để trống nghĩa là CHƯA RÕ" in help_text and "level.decision_number" in help_text
    assert book[xlsx.SHEET_LISTS].sheet_state == "hidden"
    # an untouched template has nothing to import
    with pytest.raises(InputError, match="no agency"):
        xlsx.read_workbook(path)


def test_cli_export_import_validate(cli, tmp_path: Path) -> None:
    cli("init")
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    out = tmp_path / "out.xlsx"
    assert cli("inventory", "export", "--format", "xlsx", "-o", str(out), "--agency", "so-khcn").code == 0
    assert cli("inventory", "validate", str(out)).code == 0
    result = cli("inventory", "import", str(out))
    assert result.code == 0 and "1 cơ quan, 4 hệ thống" in result.err
    assert cli("inventory", "export", "-o", str(tmp_path / "x.xlsx"), "--agency", "khong-co").code == 1


def test_text_that_looks_like_a_formula_stays_text(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "a.yaml"
    source.write_text("code: so-thu\nname: '=HYPERLINK(\"http://x\",\"bấm\")'\nkind: khac\nsystems:\n"
                      "  - code: a\n    name: '@SUM(1+1)'\n    purpose: '+1'\n", encoding="utf-8")
    inventory.import_path(ws, source, actor="t")
    path = tmp_path / "f.xlsx"
    inventory.export_xlsx(ws, path)
    book = openpyxl.load_workbook(path)
    cell = book[xlsx.SHEET_AGENCIES].cell(row=3, column=_column(book[xlsx.SHEET_AGENCIES], "name"))
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    again = xlsx.read_workbook(path)[0]
    assert again == inventory.get_agency(ws, "so-thu")


def test_columns_may_be_moved_and_codes_or_labels_both_read(workbook: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    sheet = book[xlsx.SHEET_SYSTEMS]
    sheet.move_range("B1:B500", cols=sheet.max_column)  # the system code column goes to the far right
    row = _row(sheet, "code", "lgsp-tinh")
    sheet.cell(row=row, column=_column(sheet, "hosting")).value = "trung-tam-du-lieu-tinh"  # a code, not a label
    sheet.cell(row=row, column=_column(sheet, "critical")).value = True  # an Excel boolean
    path = tmp_path / "moved.xlsx"
    book.save(path)
    lgsp = next(s for a in xlsx.read_workbook(path) for s in a.systems if s.code == "lgsp-tinh")
    assert lgsp.hosting == "trung-tam-du-lieu-tinh" and lgsp.critical is True


Mutation = Callable[[Any], tuple[str, int, str]]


def _set(sheet_name: str, key: str, row_of: tuple[str, str] | int, value: Any, *, formula: bool = False) -> Mutation:
    """Edit one cell; returns where the error must point (sheet, row, column letter)."""
    def mutate(book: Any) -> tuple[str, int, str]:
        sheet = book[sheet_name]
        row = row_of if isinstance(row_of, int) else _row(sheet, *row_of)
        cell = sheet.cell(row=row, column=_column(sheet, key))
        cell.value = value
        if not formula and isinstance(value, str):
            cell.data_type = "s"
        return sheet_name, row, cell.column_letter
    return mutate


LGSP = ("code", "lgsp-tinh")
LGSP_LEVEL = ("system", "lgsp-tinh")
BAD: dict[str, tuple[Mutation, str]] = {
    "bool-garbage": (_set(xlsx.SHEET_SYSTEMS, "critical", LGSP, "hình như có"), "yes or no"),
    "unknown-label": (_set(xlsx.SHEET_SYSTEMS, "hosting", LGSP, "Nhà riêng"), "is not one of"),
    "level-7": (_set(xlsx.SHEET_LEVELS, "level.approved", LGSP_LEVEL, 7), "less than or equal"),
    "int-text": (_set(xlsx.SHEET_SYSTEMS, "users", LGSP, "khoảng 400"), "whole number"),
    "bad-date": (_set(xlsx.SHEET_SYSTEMS, "go_live", LGSP, "31/02/2021"), "date"),
    "date-in-text-column": (_set(xlsx.SHEET_LEVELS, "level.decision_number", LGSP_LEVEL,
                                 __import__("datetime").datetime(2026, 4, 10)), "must be text"),
    "formula": (_set(xlsx.SHEET_SYSTEMS, "users", LGSP, "=1+1", formula=True), "formula"),
    "hostile-host": (_set(xlsx.SHEET_HOSTS, "address", ("address", "127.0.10.1"), "-oN x"), "address"),
    "bad-ports": (_set(xlsx.SHEET_HOSTS, "ports", ("address", "127.0.10.1"), "http"), "port"),
    "unknown-agency": (_set(xlsx.SHEET_SYSTEMS, "agency", LGSP, "so-khong-co"), "unknown agency"),
    "unknown-system": (_set(xlsx.SHEET_HOSTS, "system", ("address", "127.0.10.1"), "khong-co"), "unknown system"),
    "duplicate-system": (_set(xlsx.SHEET_SYSTEMS, "code", ("code", "cong-ttdt-skhcn"), "lgsp-tinh"),
                         "duplicate system code"),
    "bad-code": (_set(xlsx.SHEET_SYSTEMS, "code", LGSP, "LGSP Tỉnh"), "code"),
    "missing-name": (_set(xlsx.SHEET_SYSTEMS, "name", LGSP, None), "name"),
    "decision-without-level": (_set(xlsx.SHEET_LEVELS, "level.approved", LGSP_LEVEL, None), "level"),
    "unknown-column-key": (_set(xlsx.SHEET_SYSTEMS, "critical", 2, "critcal"), "unknown column"),
    "duplicate-agency": (_set(xlsx.SHEET_AGENCIES, "code", ("code", "so-y-te"), "so-khcn"), "duplicate agency"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_workbook_names_sheet_row_column_and_changes_nothing(example_ws: Workspace, workbook: Path,
                                                                 tmp_path: Path, case: str) -> None:
    mutate, needle = BAD[case]
    book = openpyxl.load_workbook(workbook)
    sheet, row, column = mutate(book)
    path = tmp_path / f"{case}.xlsx"
    book.save(path)
    before = _counts(example_ws)
    with pytest.raises(InputError) as info:
        inventory.import_path(example_ws, path, actor="t")
    message = info.value.diagnostics()
    assert f"{path}: trang tính/sheet '{sheet}', dòng/row {row}" in message, message
    if case != "decision-without-level":  # a rule across several cells names the row
        assert f"cột/column {column}" in message, message
    assert needle.lower() in message.lower(), message
    assert " / " in message  # Vietnamese and English
    assert _counts(example_ws) == before


def test_every_problem_is_reported_at_once(workbook: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    _set(xlsx.SHEET_SYSTEMS, "critical", LGSP, "??!")(book)
    _set(xlsx.SHEET_SYSTEMS, "users", ("code", "cong-ttdt-skhcn"), -1)(book)
    path = tmp_path / "two.xlsx"
    book.save(path)
    with pytest.raises(InputError) as info:
        xlsx.read_workbook(path)
    assert len(info.value.problems) == 2  # type: ignore[attr-defined]


def test_missing_sheet(workbook: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    del book[xlsx.SHEET_HOSTS]
    path = tmp_path / "no-hosts.xlsx"
    book.save(path)
    with pytest.raises(InputError, match="missing sheet"):
        xlsx.read_workbook(path)


@pytest.mark.parametrize("content", [b"code,name\nso-thu,X\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512])
def test_not_an_xlsx(example_ws: Workspace, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "inv.xlsx"
    path.write_bytes(content)
    before = _counts(example_ws)
    with pytest.raises(InputError, match=r"not an \.xlsx"):
        inventory.import_path(example_ws, path, actor="t")
    assert _counts(example_ws) == before


def test_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"0" * (1 << 20)
            for _ in range(xlsx.MAX_UNPACKED_BYTES // len(chunk) + 1):
                member.write(chunk)
    assert path.stat().st_size < xlsx.MAX_BYTES
    with pytest.raises(InputError, match="zip bomb"):
        xlsx.read_workbook(path)


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workbook: Path) -> None:
    monkeypatch.setattr(xlsx, "MAX_BYTES", workbook.stat().st_size - 1)
    with pytest.raises(InputError, match="too large"):
        xlsx.read_workbook(workbook)


def test_rows_with_only_a_dragged_down_agency_code_are_ignored(workbook: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    sheet = book[xlsx.SHEET_SYSTEMS]
    for row in range(sheet.max_row + 1, sheet.max_row + 20):
        sheet.cell(row=row, column=_column(sheet, "agency")).value = "so-khcn"
    path = tmp_path / "dragged.xlsx"
    book.save(path)
    assert sum(len(a.systems) for a in xlsx.read_workbook(path)) == 14


def test_a_failed_export_leaves_the_old_workbook_whole(example_ws: Workspace, workbook: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = workbook.read_bytes()

    def half_then_fail(self: Any, filename: Any) -> None:
        Path(filename).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_then_fail)
    with pytest.raises(OSError):
        inventory.export_xlsx(example_ws, workbook)
    assert workbook.read_bytes() == before  # the earlier export, not half a new one
    assert [p.name for p in workbook.parent.iterdir() if p.name.endswith(".tmp")] == []
