"""The inventory as an Excel workbook: a fill-in template, import with cell-precise errors, export.

Agencies keep their inventories in Excel today, so secaudit meets them there. The workbook has
one sheet per level of the model — agencies, systems, hosts — with a Vietnamese title row, a row
of field keys that import reads (so columns may be moved), drop-down lists for coded values and an
instructions sheet. Every column comes from the field catalogue (``secaudit.fields``), which is
built from the pydantic models: a field added to the model appears here, in the prompts and in the
published schema at once.

Import is strict and bounded like the YAML path: the file's size and its unpacked size are capped
before openpyxl opens it (a zip bomb costs nothing), XML is parsed by defusedxml (openpyxl uses it
when installed), formulas and error cells are refused (their cached value cannot be trusted), and
every problem names the sheet, row and column. Text cells are always written as text, never as
formulas, so a name such as ``=HYPERLINK(…)`` cannot turn into one in someone's Excel.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InputError, ValidationError
from secaudit.inventory import fields
from secaudit.inventory.fields import FieldSpec
from secaudit.inventory.models import Agency

MAX_BYTES = 20 * 1024 * 1024  # the .xlsx file itself
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # sum of the uncompressed parts
MAX_PARTS = 2_000
MAX_ROWS = 100_000  # per sheet
MAX_PROBLEMS = 200

SHEET_HELP = "Hướng dẫn"
SHEET_AGENCIES = "Cơ quan"
SHEET_SYSTEMS = "Hệ thống"
SHEET_HOSTS = "Địa chỉ"
SHEET_LISTS = "Danh mục"
FIRST_DATA_ROW = 3  # row 1: Vietnamese titles; row 2: field keys

_AGENCY_REF = FieldSpec(key="agency", kind="text", title="Mã cơ quan", description="Code of the agency", required=True)
_SYSTEM_REF = FieldSpec(key="system", kind="text", title="Mã hệ thống", description="Code of the system",
                        required=True)

#: The three data sheets and their columns, in order.
LAYOUT: dict[str, list[FieldSpec]] = {
    SHEET_AGENCIES: list(fields.AGENCY_FIELDS),
    SHEET_SYSTEMS: [_AGENCY_REF, *fields.SYSTEM_FIELDS],
    SHEET_HOSTS: [_AGENCY_REF, _SYSTEM_REF, *fields.HOST_FIELDS],
}


def _col(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def cell_where(path: str, sheet: str, row: int, column: int | None = None, title: str | None = None) -> str:
    """Location text of a cell, in both languages: file, sheet, row and column (with its title)."""
    where = f"{path}: trang tính/sheet '{sheet}', dòng/row {row}"
    if column is not None:
        where += f", cột/column {_col(column)}"
        if title:
            where += f" ({title})"
    return where


_Cell = tuple[str, int, int | None, str | None]  # sheet, row, column, column title


class _SheetLocated(yamlio.Located):
    """A ``Located`` whose positions are workbook cells instead of YAML lines."""

    def __init__(self, path: str, cells: dict[yamlio.Loc, _Cell]) -> None:
        super().__init__(path, None)
        self.cells = cells

    def where(self, loc: yamlio.Loc) -> str:
        probe = tuple(loc)
        while probe and probe not in self.cells:
            probe = probe[:-1]
        if probe not in self.cells:
            return f"{self.path}"
        return cell_where(self.path, *self.cells[probe])


# -- reading -----------------------------------------------------------------------------------
def _check_container(path: Path) -> None:
    """Refuse what is not a reasonably sized .xlsx before any XML is parsed."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"Không đọc được tệp: {exc.strerror}", en="cannot read file", where=str(path)) from exc
    if size > MAX_BYTES:
        raise InputError(f"Tệp quá lớn ({size} byte, tối đa {MAX_BYTES})",
                         en=f"file too large ({size} bytes, limit {MAX_BYTES})", where=str(path))
    if not zipfile.is_zipfile(path):
        raise InputError(
            "Không phải tệp Excel .xlsx (Excel 2007 trở lên; tệp .xls cũ hoặc tệp có mật khẩu cần lưu lại dạng .xlsx)",
            en="not an .xlsx workbook (save old .xls or password-protected files as .xlsx)", where=str(path),
        )
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError("Tệp .xlsx bị hỏng", en=f"corrupt .xlsx: {exc}", where=str(path)) from exc
    unpacked = sum(p.file_size for p in parts)
    if len(parts) > MAX_PARTS or unpacked > MAX_UNPACKED_BYTES:
        raise InputError(
            f"Tệp .xlsx giải nén quá lớn ({unpacked} byte, {len(parts)} phần) — nghi là 'zip bomb'",
            en=f"workbook unpacks to {unpacked} bytes in {len(parts)} parts (zip bomb?)", where=str(path),
        )


def _rows(sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) for every row of a read-only sheet."""
    sheet.reset_dimensions()  # trust the rows, not the <dimension> tag some writers get wrong
    for number, row in enumerate(sheet.iter_rows(), 1):
        yield number, list(row)


def read_workbook(path: Path) -> list[Agency]:
    """Read and validate a workbook; raise one ``ValidationError`` listing every bad cell."""
    _check_container(path)
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for a malformed package
        raise InputError("Không mở được tệp .xlsx", en=f"cannot open workbook: {exc}", where=str(path)) from exc
    reader = _Reader(str(path), book)
    try:
        return reader.read()
    except (SyntaxError, ValueError, LookupError, TypeError) as exc:  # sheet XML openpyxl parses lazily
        sheet = f"trang tính/sheet '{reader.sheet}'" if reader.sheet else "một trang tính/a sheet"
        raise InputError(
            f"Tệp .xlsx hỏng: {sheet} có XML không hợp lệ", en=f"damaged workbook: invalid sheet XML ({exc})",
            where=str(path),
        ) from exc
    finally:
        book.close()


class _Reader:
    """One pass over the workbook, collecting agencies and every problem with its cell."""

    def __init__(self, path: str, book: Any) -> None:
        self.path = path
        self.book = book
        self.problems: list[tuple[str, str]] = []
        self.cells: dict[str, dict[yamlio.Loc, _Cell]] = {}  # agency code -> model location -> cell
        self.columns: dict[str, dict[str, int]] = {}  # sheet -> field key -> column number
        self.bad_cells: set[str] = set()
        self.sheet: str | None = None  # the sheet being read, for errors raised from its XML

    def problem(self, where: str, message: str) -> None:
        self.problems.append((where, message))
        if len(self.problems) >= MAX_PROBLEMS:
            self.fail()

    def _bad(self, where: str, message: str) -> None:
        self.bad_cells.add(where)
        self.problem(where, message)

    def fail(self) -> None:
        raise ValidationError(self.problems[:MAX_PROBLEMS], en="the workbook does not match the template")

    def read(self) -> list[Agency]:
        sheets = {name: self._sheet(name) for name in LAYOUT}
        if len(self.columns) < len(LAYOUT):  # a sheet or its key row is unusable: nothing below makes sense
            self.fail()
        documents: dict[str, dict[str, Any]] = {}
        for row, values in sheets[SHEET_AGENCIES]:
            code = values.get("code")
            if code is None:
                self.problem(self._where(SHEET_AGENCIES, row, "code"), "thiếu mã cơ quan / agency code missing")
                continue
            if code in documents:
                self.problem(self._where(SHEET_AGENCIES, row, "code"), f"mã cơ quan '{code}' bị lặp / duplicate agency")
                continue
            documents[code] = fields.nest(values)
            documents[code]["systems"] = []
            self._remember((), SHEET_AGENCIES, row, values, code)
        systems: dict[tuple[str, str], dict[str, Any]] = {}
        for row, values in sheets[SHEET_SYSTEMS]:
            agency, code = values.pop("agency", None), values.get("code")
            if agency not in documents:
                self.problem(self._where(SHEET_SYSTEMS, row, "agency"),
                             f"không có cơ quan '{agency}' trong trang '{SHEET_AGENCIES}' / unknown agency"
                             if agency else "thiếu mã cơ quan / agency code missing")
                continue
            if (agency, code) in systems:
                self.problem(self._where(SHEET_SYSTEMS, row, "code"),
                             f"mã hệ thống '{code}' bị lặp / duplicate system code '{code}'")
                continue
            document = fields.nest(values)
            document["hosts"] = []
            index = len(documents[agency]["systems"])
            documents[agency]["systems"].append(document)
            if code is not None:
                systems[(agency, code)] = document
            self._remember(("systems", index), SHEET_SYSTEMS, row, values, agency)
        for row, values in sheets[SHEET_HOSTS]:
            agency, code = values.pop("agency", None), values.pop("system", None)
            if (agency, code) not in systems:
                self.problem(self._where(SHEET_HOSTS, row, "system"),
                             f"không có hệ thống '{agency}/{code}' trong trang '{SHEET_SYSTEMS}' / unknown system")
                continue
            system = systems[(agency, code)]
            sindex = documents[agency]["systems"].index(system)
            hindex = len(system["hosts"])
            system["hosts"].append(fields.nest(values))
            self._remember(("systems", sindex, "hosts", hindex), SHEET_HOSTS, row, values, agency)
        agencies = []
        for code, document in documents.items():
            try:
                agencies.append(Agency.model_validate(document))
            except PydanticError as exc:
                located = _SheetLocated(self.path, self.cells.get(code, {}))
                try:
                    yamlio.raise_pydantic(exc, located)
                except ValidationError as err:
                    for where, message in err.problems:
                        if where not in self.bad_cells:  # already reported as an unreadable cell
                            self.problem(where, message)
        if self.problems:
            self.fail()
        if not agencies:
            raise InputError("Sổ không có cơ quan nào để nhập", en="the workbook lists no agency",
                             where=cell_where(self.path, SHEET_AGENCIES, FIRST_DATA_ROW))
        return agencies

    def _where(self, sheet: str, row: int, key: str) -> str:
        column = self.columns[sheet].get(key)
        title = next((s.title for s in LAYOUT[sheet] if s.key == key), None)
        return cell_where(self.path, sheet, row, column, title)

    def _remember(self, prefix: yamlio.Loc, sheet: str, row: int, values: dict[str, Any], agency: str) -> None:
        cells = self.cells.setdefault(agency, {})
        titles = {s.key: s.title for s in LAYOUT[sheet]}
        cells[prefix] = (sheet, row, None, None)
        for key, column in self.columns[sheet].items():
            if key in ("agency", "system"):
                continue
            parts = tuple(key.split("."))
            for depth in range(1, len(parts) + 1):
                loc = prefix + parts[:depth]
                if depth == len(parts) or loc not in cells:
                    cells[loc] = (sheet, row, column, titles.get(key))

    def _sheet(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        """The non-empty data rows of one sheet as typed values by field key."""
        if name not in self.book.sheetnames:
            self.problem(self.path, f"thiếu trang tính '{name}' (hãy dùng mẫu của secaudit) / missing sheet '{name}'")
            return []
        specs = {s.key: s for s in LAYOUT[name]}
        self.sheet = name
        rows = _rows(self.book[name])
        columns: dict[str, int] = {}
        header_ok = True
        for number, cells in rows:
            if number == 1:
                continue
            if number == 2:
                for index, cell in enumerate(cells, 1):
                    key = cell.value.strip() if isinstance(cell.value, str) else cell.value
                    if key in (None, ""):
                        continue
                    if key not in specs:
                        self.problem(cell_where(self.path, name, 2, index),
                                     f"cột '{key}' không có trong mẫu / unknown column key '{key}'")
                        header_ok = False
                    elif key in columns:
                        self.problem(cell_where(self.path, name, 2, index), f"cột '{key}' bị lặp / duplicate column")
                        header_ok = False
                    else:
                        columns[key] = index
                missing = [s.key for s in specs.values() if s.required and s.key not in columns and "." not in s.key]
                if missing:
                    self.problem(cell_where(self.path, name, 2),
                                 f"thiếu cột bắt buộc: {', '.join(missing)} / missing required columns")
                    header_ok = False
                if not header_ok:
                    return []
                self.columns[name] = columns
                break
        else:
            self.problem(cell_where(self.path, name, 2),
                         "thiếu dòng mã cột (dòng 2 của mẫu) / the row of column keys (row 2) is missing")
            return []
        out: list[tuple[int, dict[str, Any]]] = []
        for number, cells in rows:
            if number - FIRST_DATA_ROW >= MAX_ROWS:
                self.problem(cell_where(self.path, name, number), f"quá {MAX_ROWS} dòng / more than {MAX_ROWS} rows")
                self.fail()
            values: dict[str, Any] = {}
            filled = False
            for key, index in columns.items():
                if index - 1 >= len(cells):
                    values[key] = specs[key].parse(None)
                    continue
                cell = cells[index - 1]
                raw = cell.value
                if raw is None or (isinstance(raw, str) and not raw.strip()):
                    values[key] = specs[key].parse(None)
                    continue
                filled = filled or key not in ("agency", "system")  # a code dragged down alone is no record
                where = cell_where(self.path, name, number, index, specs[key].title)
                if cell.data_type == "f":
                    self._bad(where, "ô chứa công thức; hãy dán giá trị / formulas are not accepted, paste values")
                    continue
                if cell.data_type == "e":
                    self._bad(where, f"ô báo lỗi {raw} / error value {raw}")
                    continue
                try:
                    values[key] = specs[key].parse(raw)
                except ValueError as exc:
                    self._bad(where, f"{specs[key].key}: {exc}")
            if filled:
                out.append((number, values))
        return out


# -- writing -----------------------------------------------------------------------------------
def write_workbook(path: Path, agencies: list[Agency]) -> None:
    """Write the workbook (the template when ``agencies`` is empty)."""
    import openpyxl

    book = openpyxl.Workbook()
    help_sheet = book.active
    help_sheet.title = SHEET_HELP
    lists = book.create_sheet(SHEET_LISTS)
    list_ranges = _write_lists(lists)
    rows: dict[str, list[dict[str, Any]]] = {SHEET_AGENCIES: [], SHEET_SYSTEMS: [], SHEET_HOSTS: []}
    for agency in agencies:
        dump = agency.model_dump(mode="python")
        rows[SHEET_AGENCIES].append(fields.flatten(dump, fields.AGENCY_FIELDS))
        for system in dump["systems"]:
            rows[SHEET_SYSTEMS].append({"agency": agency.code, **fields.flatten(system, fields.SYSTEM_FIELDS)})
            for host in system["hosts"]:
                rows[SHEET_HOSTS].append({"agency": agency.code, "system": system["code"],
                                          **fields.flatten(host, fields.HOST_FIELDS)})
    for name in (SHEET_AGENCIES, SHEET_SYSTEMS, SHEET_HOSTS):
        _write_data_sheet(book.create_sheet(name, index=len(book.sheetnames) - 1), name, rows[name], list_ranges)
    _write_help(help_sheet)
    lists.sheet_state = "hidden"
    book.active = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _text_cell(cell: Any, value: Any) -> None:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with


def _write_lists(sheet: Any) -> dict[str, str]:
    """One column per coded field on the hidden lists sheet; returns key -> range for validations."""
    ranges: dict[str, str] = {}
    column = 1
    seen: dict[tuple[str, ...], str] = {}
    for specs in LAYOUT.values():
        for spec in specs:
            if spec.kind != "choice" or spec.key in ranges:
                continue
            labels = tuple(spec.labels.get(c, c) for c in spec.choices if c != "")
            if labels in seen:
                ranges[spec.key] = seen[labels]
                continue
            _text_cell(sheet.cell(row=1, column=column), spec.key)
            for i, label in enumerate(labels, 2):
                _text_cell(sheet.cell(row=i, column=column), label)
            letter = _col(column)
            ranges[spec.key] = f"'{SHEET_LISTS}'!${letter}$2:${letter}${len(labels) + 1}"
            seen[labels] = ranges[spec.key]
            column += 1
    return ranges


def _write_data_sheet(sheet: Any, name: str, rows: list[dict[str, Any]], list_ranges: dict[str, str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    specs = LAYOUT[name]
    head_font, key_font = Font(bold=True), Font(italic=True, color="808080", size=9)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for column, spec in enumerate(specs, 1):
        title = sheet.cell(row=1, column=column)
        _text_cell(title, spec.title + (" *" if spec.required and "." not in spec.key else ""))
        title.font, title.fill, title.alignment = head_font, head_fill, wrap
        key = sheet.cell(row=2, column=column)
        _text_cell(key, spec.key)
        key.font = key_font
        width = 14 if spec.kind in ("bool", "int", "date") else 24 if spec.kind == "choice" else 30
        sheet.column_dimensions[_col(column)].width = width
        # the whole column, so that Excel keeps "0238 3000 101" or "12/QĐ" as typed in new rows too
        sheet.column_dimensions[_col(column)].number_format = _number_format(spec)
    last = max(FIRST_DATA_ROW + len(rows) + 500, 1000)
    for column, spec in enumerate(specs, 1):
        letter = _col(column)
        area = f"{letter}{FIRST_DATA_ROW}:{letter}{last}"
        validation = _validation(spec, list_ranges)
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(area)
        for row in range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(rows)):
            sheet.cell(row=row, column=column).number_format = _number_format(spec)
    for offset, values in enumerate(rows):
        for column, spec in enumerate(specs, 1):
            value = spec.display(values.get(spec.key))
            cell = sheet.cell(row=FIRST_DATA_ROW + offset, column=column)
            _text_cell(cell, value)
            if isinstance(value, str) and "\n" in value:
                cell.alignment = wrap
    sheet.freeze_panes = sheet.cell(row=FIRST_DATA_ROW, column=3 if name != SHEET_AGENCIES else 2)


def _number_format(spec: FieldSpec) -> str:
    return {"int": "0", "date": "dd/mm/yyyy"}.get(spec.kind, "@")


def _validation(spec: FieldSpec, list_ranges: dict[str, str]) -> Any:
    from openpyxl.worksheet.datavalidation import DataValidation

    common: dict[str, Any] = {"allow_blank": True, "showErrorMessage": True, "errorTitle": spec.title}
    if spec.kind == "choice" and spec.key in list_ranges:
        return DataValidation(type="list", formula1=f"={list_ranges[spec.key]}",
                              error="Chọn một giá trị trong danh sách / pick a value from the list", **common)
    if spec.kind == "bool":
        return DataValidation(type="list", formula1=f'"{fields.YES},{fields.NO}"',
                              error="Chọn 'có' hoặc 'không' (để trống nếu chưa rõ) / yes or no", **common)
    if spec.kind == "int":
        high = 5 if spec.key.startswith("level.") else 2_000_000_000
        low = 1 if spec.key.startswith("level.") else 0
        return DataValidation(type="whole", operator="between", formula1=str(low), formula2=str(high),
                              error=f"Số nguyên từ {low} đến {high} / whole number {low}–{high}", **common)
    if spec.kind == "date":
        return DataValidation(type="date", operator="greaterThan", formula1="1",
                              error="Nhập ngày (dd/mm/yyyy) / enter a date", **common)
    return None


HELP_VI = [
    "MẪU KÊ KHAI DANH MỤC HỆ THỐNG THÔNG TIN — secaudit",
    "",
    "Cách điền:",
    "1. Trang 'Cơ quan': mỗi dòng một cơ quan, đơn vị. Trang 'Hệ thống': mỗi dòng một hệ thống thông tin,"
    " cột 'Mã cơ quan' chỉ cơ quan sở hữu. Trang 'Địa chỉ': mỗi dòng một địa chỉ (IP, dải CIDR, tên máy"
    " hoặc URL) của một hệ thống, kèm các cổng dự kiến mở.",
    "2. Dòng 1 là tiêu đề, dòng 2 là mã cột mà secaudit đọc: KHÔNG sửa dòng 2 (được phép đổi thứ tự cột)."
    " Điền dữ liệu từ dòng 3. Cột có dấu * là bắt buộc.",
    "3. Ô để trống nghĩa là CHƯA RÕ — secaudit sẽ báo là chưa rõ thay vì tự đoán. Chỉ điền 'không' khi chắc chắn.",
    "4. Cột có/không và cột danh mục có danh sách thả xuống. Ngày ghi dạng dd/mm/yyyy hoặc yyyy-mm-dd.",
    "5. Cổng ghi dạng '443/tcp https; 22/tcp ssh' (giao thức mặc định tcp). Nơi nhận: mỗi dòng một nơi (Alt+Enter).",
    "6. Không dùng công thức; dán giá trị. Mỗi lần nhập, cơ quan có trong tệp được thay toàn bộ bằng nội dung tệp.",
    "7. Nhập: secaudit inventory import TỆP.xlsx — lỗi được báo theo trang tính, dòng và cột; có lỗi thì"
    " không ghi gì vào workspace.",
]
HELP_EN = [
    "INFORMATION-SYSTEM INVENTORY TEMPLATE — secaudit",
    "Sheets 'Cơ quan' (agencies), 'Hệ thống' (systems) and 'Địa chỉ' (hosts), one record per row from row 3."
    " Row 2 holds the column keys secaudit reads: do not edit it (columns may be reordered). A blank cell means"
    " unknown. No formulas. Import with 'secaudit inventory import FILE.xlsx'; errors name sheet, row and column,"
    " and nothing is written when there is any error. Each agency in the file replaces its stored inventory.",
]


def _write_help(sheet: Any) -> None:
    from openpyxl.styles import Alignment, Font

    row = 1
    for line in [*HELP_VI, "", *HELP_EN, ""]:
        _text_cell(sheet.cell(row=row, column=1), line or None)
        sheet.cell(row=row, column=1).alignment = Alignment(wrap_text=False)
        row += 1
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    header = ["Trang tính / sheet", "Cột / column", "Mã cột / key", "Tiêu đề", "Meaning", "Bắt buộc / required",
              "Giá trị / values"]
    for column, text in enumerate(header, 1):
        cell = sheet.cell(row=row, column=column)
        _text_cell(cell, text)
        cell.font = Font(bold=True)
    for sheet_name, specs in LAYOUT.items():
        for column, spec in enumerate(specs, 1):
            row += 1
            values = [sheet_name, _col(column), spec.key, spec.title, spec.description,
                      "có / yes" if spec.required else "", spec.allowed()]
            for c, value in enumerate(values, 1):
                _text_cell(sheet.cell(row=row, column=c), value)
    for letter, width in zip("ABCDEFG", (14, 8, 28, 40, 60, 12, 60), strict=True):
        sheet.column_dimensions[letter].width = width

