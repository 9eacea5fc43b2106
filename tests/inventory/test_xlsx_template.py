"""The Excel inventory template as an officer meets it (issue 17): Vietnamese meanings, an example
row that import skips, the key row hidden, the level fields on their own sheet, and import errors
that speak the officer's words (drop-down labels, what a code or a URL must look like).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from secaudit.errors import InputError
from secaudit.inventory import fields, xlsx
from secaudit.inventory import records as inventory
from secaudit.store.workspace import Workspace

DATA_SHEETS = (xlsx.SHEET_AGENCIES, xlsx.SHEET_SYSTEMS, xlsx.SHEET_LEVELS, xlsx.SHEET_HOSTS)
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)


def _column(sheet: Any, key: str) -> int:
    for cell in sheet[2]:
        if cell.value == key:
            return int(cell.column)
    raise KeyError(key)


def _put(sheet: Any, row: int, values: dict[str, Any]) -> None:
    for key, value in values.items():
        cell = sheet.cell(row=row, column=_column(sheet, key))
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"


@pytest.fixture
def template(tmp_path: Path, cli) -> Path:
    path = tmp_path / "mau.xlsx"
    result = cli("inventory", "template", "-o", str(path))
    assert result.code == 0, result.err
    return path


AGENCY = {"code": "phuong-moi", "name": "UBND phường Mới", "kind": "UBND xã, phường, đặc khu",
          "private_data_centre": "không"}
SYSTEM = {"agency": "phuong-moi", "code": "mot-cua", "name": "Một cửa phường Mới", "critical": "không",
          "hosting": "Trung tâm dữ liệu tỉnh", "users": 25}
LEVEL = {"agency": "phuong-moi", "system": "mot-cua", "level.proposed": 2, "level.dossier_state": "Đã lập hồ sơ"}
HOST = {"agency": "phuong-moi", "system": "mot-cua", "address": "127.0.0.1", "ports": "443/tcp https"}


def _filled(template: Path, tmp_path: Path, **changes: dict[str, Any]) -> Path:
    """The template with one agency, system, level row and host filled in from row 4 (labels, as an
    officer picks them from the drop-downs); ``changes`` overrides cells by sheet."""
    book = openpyxl.load_workbook(template)
    for name, values in ((xlsx.SHEET_AGENCIES, AGENCY), (xlsx.SHEET_SYSTEMS, SYSTEM), (xlsx.SHEET_LEVELS, LEVEL),
                         (xlsx.SHEET_HOSTS, HOST)):
        _put(book[name], 4, {**values, **changes.get(name, {})})
    path = tmp_path / "da-dien.xlsx"
    book.save(path)
    return path


def test_template_speaks_vietnamese_hides_the_keys_and_shows_an_example(template: Path) -> None:
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == [xlsx.SHEET_HELP, *DATA_SHEETS, xlsx.SHEET_LISTS]
    # the instructions: the meaning column is Vietnamese, for every column of every sheet
    rows = [[c.value for c in row] for row in book[xlsx.SHEET_HELP].iter_rows()]
    header = next(r for r in rows if r[0] == "Trang tính")
    assert header[4] == "Ý nghĩa" and "Meaning" not in header[:7]
    described = [r for r in rows if r[0] in DATA_SHEETS]
    assert len(described) == sum(len(xlsx.LAYOUT[s]) for s in DATA_SHEETS)
    for row in described:
        assert row[4] and VIETNAMESE.search(row[4]), row  # a Vietnamese sentence, not the English description
        assert "'" + "so-ban-nganh" + "'" not in str(row[6])  # accepted values as drop-down labels
    kind = next(r for r in described if r[0] == xlsx.SHEET_AGENCIES and r[2] == "kind")
    assert "Sở, ban, ngành cấp tỉnh" in kind[6] and "so-ban-nganh" not in kind[6]
    for name in DATA_SHEETS:
        sheet = book[name]
        assert sheet.row_dimensions[2].hidden, name  # the key row is hidden
        assert all(c.comment is not None and VIETNAMESE.search(c.comment.text) for c in sheet[1] if c.value), name
        example = [c.value for c in sheet[xlsx.FIRST_DATA_ROW]]
        assert xlsx.EXAMPLE_AGENCY in example, name  # the example row, marked by its agency code
    agencies = book[xlsx.SHEET_AGENCIES]
    assert "VÍ DỤ" in str(agencies.cell(row=3, column=_column(agencies, "name")).value)
    # the level fields are on "Cấp độ", each with a sentence, and no longer on "Hệ thống"
    system_keys = [c.value for c in book[xlsx.SHEET_SYSTEMS][2]]
    level_keys = [c.value for c in book[xlsx.SHEET_LEVELS][2]]
    assert not any(str(k).startswith("level.") for k in system_keys)
    assert level_keys[2:] == [s.key for s in fields.SYSTEM_FIELDS if s.key.startswith("level.")]
    assert len(level_keys) - 2 >= 20
    # the untouched template (only its example) imports nothing
    with pytest.raises(InputError, match="no agency"):
        xlsx.read_workbook(template)


def test_every_field_has_a_vietnamese_meaning() -> None:
    for name in DATA_SHEETS:
        for spec in xlsx.LAYOUT[name]:
            assert VIETNAMESE.search(xlsx.meaning(name, spec.key)), (name, spec.key)


def test_round_trip_template_fill_import(template: Path, tmp_path: Path, cli) -> None:
    path = _filled(template, tmp_path)
    assert cli("init").code == 0
    result = cli("inventory", "import", str(path))
    assert result.code == 0, result.err
    assert "1 cơ quan, 1 hệ thống" in result.err  # the example rows were skipped
    ws = Workspace.open(Path(tmp_path / "ws"))
    try:
        assert inventory.agency_codes(ws) == ["phuong-moi"]
        agency = inventory.get_agency(ws, "phuong-moi")
    finally:
        ws.close()
    system = agency.systems[0]
    assert agency.kind == "ubnd-xa" and system.hosting == "trung-tam-du-lieu-tinh" and system.users == 25
    assert system.level.proposed == 2 and system.level.dossier_state == "da-lap"  # from the "Cấp độ" sheet
    assert [h.address for h in system.hosts] == ["127.0.0.1"]


def test_the_example_row_may_also_be_deleted(template: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(_filled(template, tmp_path))
    for name in DATA_SHEETS:
        book[name].delete_rows(xlsx.FIRST_DATA_ROW)
    path = tmp_path / "khong-vi-du.xlsx"
    book.save(path)
    assert [a.code for a in xlsx.read_workbook(path)] == ["phuong-moi"]


def test_a_workbook_of_the_older_layout_still_imports(template: Path, tmp_path: Path) -> None:
    """Before, the level columns were on "Hệ thống" and there was no "Cấp độ" sheet."""
    book = openpyxl.load_workbook(_filled(template, tmp_path))
    systems, levels = book[xlsx.SHEET_SYSTEMS], book[xlsx.SHEET_LEVELS]
    start = systems.max_column + 1
    for offset, key in enumerate(k.value for k in levels[2][2:]):
        systems.cell(row=2, column=start + offset).value = key
        systems.cell(row=4, column=start + offset).value = levels.cell(row=4, column=3 + offset).value
    del book[xlsx.SHEET_LEVELS]
    path = tmp_path / "mau-cu.xlsx"
    book.save(path)
    system = xlsx.read_workbook(path)[0].systems[0]
    assert system.level.proposed == 2 and system.level.dossier_state == "da-lap"


def _error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        xlsx.read_workbook(path)
    return caught.value.diagnostics()


def test_a_wrong_choice_quotes_the_drop_down_labels(template: Path, tmp_path: Path) -> None:
    message = _error(_filled(template, tmp_path, **{xlsx.SHEET_AGENCIES: {"kind": "Sở"}}))
    assert f"trang tính/sheet '{xlsx.SHEET_AGENCIES}', dòng/row 4" in message
    assert "“Sở” không có trong danh sách thả xuống" in message
    assert "“Sở, ban, ngành cấp tỉnh”" in message and "“UBND xã, phường, đặc khu”" in message
    assert "'so-ban-nganh'" not in message and "'ubnd-xa'" not in message


@pytest.mark.parametrize(("sheet", "key", "value"), [
    (xlsx.SHEET_SYSTEMS, "code", "Một Cửa"),
    (xlsx.SHEET_AGENCIES, "code", "Phường Mới"),
])
def test_a_bad_code_is_explained_not_given_as_a_pattern(template: Path, tmp_path: Path, sheet: str, key: str,
                                                       value: str) -> None:
    message = _error(_filled(template, tmp_path, **{sheet: {key: value}}))
    assert f"'{sheet}', dòng/row 4" in message
    assert "chữ thường không dấu" in message and "không có dấu cách" in message
    assert xlsx.suggest_code(value) in message and xlsx.suggest_code(value) in ("mot-cua", "phuong-moi")
    assert "pattern" not in message and "^[a-z" not in message


def test_a_url_without_its_scheme_is_told_so(template: Path, tmp_path: Path) -> None:
    message = _error(_filled(template, tmp_path,
                             **{xlsx.SHEET_HOSTS: {"address": "dichvucong.nghean.gov.vn/tra-cuu"}}))
    assert f"'{xlsx.SHEET_HOSTS}', dòng/row 4" in message
    assert "địa chỉ web (URL) nhưng thiếu 'https://'" in message
    assert "https://dichvucong.nghean.gov.vn/tra-cuu" in message and "CIDR không hợp lệ" not in message
    # a real CIDR range that is wrong is still called one
    assert "CIDR" in _error(_filled(template, tmp_path, **{xlsx.SHEET_HOSTS: {"address": "127.0.0.1/33"}}))


def test_a_level_row_for_an_unknown_system_names_its_cell(template: Path, tmp_path: Path) -> None:
    message = _error(_filled(template, tmp_path, **{xlsx.SHEET_LEVELS: {"system": "khong-co"}}))
    assert f"'{xlsx.SHEET_LEVELS}', dòng/row 4" in message and "unknown system" in message
