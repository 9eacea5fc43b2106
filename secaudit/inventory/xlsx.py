"""The inventory as an Excel workbook: a fill-in template, import with cell-precise errors, export.

Agencies keep their inventories in Excel today, so secaudit meets them there. The workbook has
one sheet per level of the model — agencies, systems, the systems' security levels (the ``level.*``
fields, which need NĐ 331 knowledge, apart on "Cấp độ"), hosts — with a Vietnamese title row, a
hidden row of field keys that import reads (so columns may be moved), drop-down lists for coded
values, a note with the Vietnamese meaning on every title, an instructions sheet, and in the
template an example row (agency code ``vi-du``) that import always skips. Workbooks of the older
layout, with the level columns on "Hệ thống" and no "Cấp độ" sheet, still import. Every column
comes from the field catalogue (``secaudit.fields``), which is built from the pydantic models: a
field added to the model appears here, in the prompts and in the published schema at once.

Import is strict and bounded like the YAML path: the file's size and its unpacked size are capped
before openpyxl opens it (a zip bomb costs nothing), XML is parsed by defusedxml (openpyxl uses it
when installed), formulas and error cells are refused (their cached value cannot be trusted), and
every problem names the sheet, row and column. Text cells are always written as text, never as
formulas, so a name such as ``=HYPERLINK(…)`` cannot turn into one in someone's Excel.
"""

from __future__ import annotations

import ipaddress
import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InputError, ValidationError
from secaudit.inventory import fields
from secaudit.inventory.fields import FieldSpec
from secaudit.inventory.models import CODE_PATTERN, Agency

MAX_BYTES = 20 * 1024 * 1024  # the .xlsx file itself
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # sum of the uncompressed parts
MAX_PARTS = 2_000
MAX_ROWS = 100_000  # per sheet
MAX_PROBLEMS = 200

SHEET_HELP = "Hướng dẫn"
SHEET_AGENCIES = "Cơ quan"
SHEET_SYSTEMS = "Hệ thống"
SHEET_HOSTS = "Địa chỉ"
SHEET_LEVELS = "Cấp độ"
SHEET_LISTS = "Danh mục"
FIRST_DATA_ROW = 3  # row 1: Vietnamese titles; row 2: field keys (hidden)
EXAMPLE_AGENCY = "vi-du"  # rows of this agency are the template's example: import skips them

_AGENCY_REF = FieldSpec(key="agency", kind="text", title="Mã cơ quan", description="Code of the agency", required=True)
_SYSTEM_REF = FieldSpec(key="system", kind="text", title="Mã hệ thống", description="Code of the system",
                        required=True)
_LEVEL_FIELDS = [s for s in fields.SYSTEM_FIELDS if s.key.startswith("level.")]

#: The data sheets and their columns, in order, as written.
LAYOUT: dict[str, list[FieldSpec]] = {
    SHEET_AGENCIES: list(fields.AGENCY_FIELDS),
    SHEET_SYSTEMS: [_AGENCY_REF, *(s for s in fields.SYSTEM_FIELDS if not s.key.startswith("level."))],
    SHEET_LEVELS: [_AGENCY_REF, _SYSTEM_REF, *_LEVEL_FIELDS],
    SHEET_HOSTS: [_AGENCY_REF, _SYSTEM_REF, *fields.HOST_FIELDS],
}
#: The columns import accepts: "Hệ thống" may still carry the level columns (the older layout).
READ_LAYOUT: dict[str, list[FieldSpec]] = {**LAYOUT, SHEET_SYSTEMS: [_AGENCY_REF, *fields.SYSTEM_FIELDS]}
OPTIONAL_SHEETS = (SHEET_LEVELS,)


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
def check_container(path: Path) -> None:
    """Refuse what is not a reasonably sized .xlsx before any XML is parsed."""
    size = yamlio.check_regular_file(path)  # a named pipe would block zipfile forever
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
    check_container(path)
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for a malformed package
        raise InputError("Không mở được tệp .xlsx", en=f"cannot open workbook: {exc}", where=str(path)) from exc
    reader = _Reader(str(path), book)
    try:
        return reader.read()
    except (SyntaxError, ValueError, LookupError, TypeError) as exc:  # sheet XML openpyxl parses lazily
        raise InputError(
            f"Tệp .xlsx hỏng: {reader.sheet_name()} có XML không hợp lệ",
            en=f"damaged workbook: invalid sheet XML ({exc})", where=str(path),
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # the sheet's compressed data, read as it streams
        raise InputError(
            f"Tệp .xlsx hỏng: dữ liệu nén của {reader.sheet_name()} bị hỏng (tệp chép hoặc tải về không trọn vẹn?)",
            en=f"damaged workbook: the compressed data of a sheet is corrupt ({exc})", where=str(path),
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

    def sheet_name(self) -> str:
        """The sheet being read, for an error from its XML or its compressed data."""
        return f"trang tính/sheet '{self.sheet}'" if self.sheet else "một trang tính/a sheet"

    def fail(self) -> None:
        raise ValidationError(self.problems[:MAX_PROBLEMS], en="the workbook does not match the template")

    def read(self) -> list[Agency]:
        sheets = {name: self._sheet(name) for name in READ_LAYOUT}
        expected = [n for n in READ_LAYOUT if n not in OPTIONAL_SHEETS or n in self.book.sheetnames]
        if any(n not in self.columns for n in expected):  # a sheet or its key row is unusable: nothing below
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
        levelled: set[tuple[str, str]] = set()
        for row, values in sheets[SHEET_LEVELS]:
            agency, code = values.pop("agency", None), values.pop("system", None)
            if (agency, code) not in systems:
                self.problem(self._where(SHEET_LEVELS, row, "system"),
                             f"không có hệ thống '{agency}/{code}' trong trang '{SHEET_SYSTEMS}' / unknown system")
                continue
            if (agency, code) in levelled:
                self.problem(self._where(SHEET_LEVELS, row, "system"),
                             f"hệ thống '{code}' có hai dòng cấp độ / two level rows for system '{code}'")
                continue
            levelled.add((agency, code))
            system = systems[(agency, code)]
            sindex = documents[agency]["systems"].index(system)
            system["level"] = {**system.get("level", {}), **fields.nest(values).get("level", {})}
            self._remember(("systems", sindex), SHEET_LEVELS, row, values, agency, whole_row=False)
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
        title = next((s.title for s in READ_LAYOUT[sheet] if s.key == key), None)
        return cell_where(self.path, sheet, row, column, title)

    def _remember(self, prefix: yamlio.Loc, sheet: str, row: int, values: dict[str, Any], agency: str, *,
                  whole_row: bool = True) -> None:
        cells = self.cells.setdefault(agency, {})
        titles = {s.key: s.title for s in READ_LAYOUT[sheet]}
        if whole_row:
            cells[prefix] = (sheet, row, None, None)
        else:  # the "Cấp độ" row: a rule across the level cells names this row
            cells[(*prefix, "level")] = (sheet, row, None, None)
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
            if name not in OPTIONAL_SHEETS:
                self.problem(self.path,
                             f"thiếu trang tính '{name}' (hãy dùng mẫu của secaudit) / missing sheet '{name}'")
            return []
        specs = {s.key: s for s in READ_LAYOUT[name]}
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
                if (message := _cell_problem(specs[key], raw)) is not None:
                    self._bad(where, message)
                    if key in _CODE_KEYS:  # keep it, so rows that name it are not reported again
                        values[key] = str(raw).strip()
                    continue
                try:
                    values[key] = specs[key].parse(raw)
                except ValueError as exc:
                    self._bad(where, _choice_message(specs[key], raw) or f"{specs[key].key}: {exc}")
            if values.get("code" if name == SHEET_AGENCIES else "agency") == EXAMPLE_AGENCY:
                continue  # the template's example row
            if filled:
                out.append((number, values))
        return out


_CODE = re.compile(CODE_PATTERN)
_CODE_KEYS = ("code", "agency", "system")


def suggest_code(text: str) -> str:
    """A code made from a name: no accents, lower case, words joined by '-' ("Một cửa" -> "mot-cua")."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:64] or "ma-moi"


def _cell_problem(spec: FieldSpec, raw: Any) -> str | None:
    """A Vietnamese explanation for a cell the model would refuse with a technical message: a code
    that is not a code (instead of the pattern), a web address without its scheme (instead of "dải
    CIDR không hợp lệ")."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if spec.key in _CODE_KEYS and not _CODE.match(text):
        what = {"code": spec.title.lower(), "agency": "mã cơ quan", "system": "mã hệ thống"}[spec.key]
        return (f"{what} '{text}' không dùng được: mã chỉ gồm chữ thường không dấu (a–z), chữ số (0–9), dấu '-'"
                f" hoặc '_', không có dấu cách, bắt đầu bằng chữ hoặc số, tối đa 64 ký tự — ví dụ"
                f" '{suggest_code(text)}' / a code uses only a-z, 0-9, '-' and '_', e.g. '{suggest_code(text)}'")
    if spec.key == "address" and "://" not in text and "/" in text:
        head = text.split("/", 1)[0]
        try:
            ipaddress.ip_address(head)
        except ValueError:  # a name (with a path): a URL written without http:// or https://
            return (f"'{text}' có vẻ là một địa chỉ web (URL) nhưng thiếu 'https://' hoặc 'http://' ở đầu — hãy ghi"
                    f" 'https://{text}'. Cột này nhận một IP, một dải CIDR (ví dụ 10.0.0.0/24), một tên máy hoặc một"
                    f" URL đầy đủ / looks like a URL without its scheme: write 'https://{text}'")
    return None


def _choice_message(spec: FieldSpec, raw: Any) -> str | None:
    """For a drop-down column, the refusal quoting the drop-down's labels (what the officer sees),
    not the codes behind them."""
    if spec.kind != "choice":
        return None
    labels = [f"“{spec.labels.get(c, c)}”" for c in spec.choices if c]
    return (f"“{raw}” không có trong danh sách thả xuống; chọn một trong: {', '.join(labels)}"
            f" / {raw!r} is not one of the drop-down values")


# -- writing -----------------------------------------------------------------------------------
#: What each column means, in Vietnamese, for the instructions sheet and the header notes. Every
#: field of the catalogue must have one (a test checks it), so no English meaning reaches an officer.
MEANING_VI: dict[str, str] = {
    # Cơ quan
    "code": "Mã ngắn, không trùng, dùng để liên kết các trang: chữ thường không dấu, số, '-' hoặc '_'"
            " (ví dụ phuong-thanh-vinh).",
    "name": "Tên chính thức, viết như trên văn bản.",
    "kind": "Cơ quan thuộc loại nào (sở, ban, ngành; UBND tỉnh; UBND xã, phường; công an; cơ quan Đảng; khác).",
    "role": "Vai trò riêng mà văn bản của tỉnh giao cho cơ quan này (ví dụ Sở Khoa học và Công nghệ là"
            " thường trực Ban Chỉ đạo); đa số cơ quan không có.",
    "parent": "Cơ quan cấp trên, in phía trên tên cơ quan ở đầu báo cáo.",
    "province": "Tỉnh nơi cơ quan đặt trụ sở.",
    "place": "Địa danh ghi ở dòng ngày tháng của văn bản (mặc định là tên tỉnh).",
    "symbol": "Chữ viết tắt của cơ quan dùng trong số, ký hiệu văn bản.",
    "private_data_centre": "Cơ quan có vận hành trung tâm dữ liệu dùng riêng hay không (nhiệm vụ 6 Kế hoạch 04).",
    "security_contact.name": "Họ tên người làm đầu mối an ninh mạng của cơ quan.",
    "security_contact.title": "Chức vụ của người làm đầu mối.",
    "security_contact.phone": "Số điện thoại liên hệ của đầu mối.",
    "security_contact.email": "Địa chỉ thư điện tử của đầu mối.",
    "signer.authority": "Thẩm quyền ký ghi trước chức vụ (TM., KT., TL., Q., TUQ.); để trống nếu ký trực tiếp.",
    "signer.on_behalf_of": "Chức danh được ký thay, ký thừa lệnh (ví dụ GIÁM ĐỐC khi ký KT.).",
    "signer.title": "Chức vụ của người ký báo cáo.",
    "signer.name": "Họ tên người ký báo cáo.",
    "recipients": "Nơi nhận báo cáo, mỗi nơi một dòng trong ô (Alt+Enter để xuống dòng).",
    # Hệ thống
    "agency": "Mã của cơ quan sở hữu, đúng như cột Mã cơ quan ở trang 'Cơ quan'.",
    "system": "Mã của hệ thống, đúng như cột Mã hệ thống ở trang 'Hệ thống'.",
    "purpose": "Hệ thống dùng để làm gì.",
    "sector": "Lĩnh vực mà hệ thống phục vụ.",
    "owner": "Chủ quản hệ thống thông tin.",
    "operator": "Đơn vị trực tiếp vận hành hệ thống.",
    "critical": "Hệ thống có thuộc danh mục hệ thống thông tin trọng yếu hay không.",
    "restricted_sector": "Hệ thống thuộc lĩnh vực quân sự, quốc phòng hoặc cơ yếu (các hệ thống này không"
                         " thuộc nhiệm vụ 2 Kế hoạch 04 và khoản 5 Điều 33 NĐ 331).",
    "admin_procedures": "Hệ thống có phục vụ giải quyết thủ tục hành chính (trực tuyến hay không) hay không"
                        " (điểm b khoản 2 Điều 13 NĐ 331).",
    "public_service_stage": "Mức độ cao nhất (1–4) của dịch vụ công trực tuyến mà hệ thống cung cấp; ghi 0 nếu"
                            " không cung cấp.",
    "online_service": "Hệ thống có cung cấp dịch vụ trực tuyến cho người dân, doanh nghiệp hay không.",
    "conditional_business": "Dịch vụ trực tuyến có thuộc ngành, nghề kinh doanh có điều kiện hay không.",
    "users": "Số người dùng của hệ thống.",
    "data_subjects_basic": "Số người có dữ liệu cá nhân cơ bản được lưu trong hệ thống.",
    "data_subjects_sensitive": "Số người có dữ liệu cá nhân nhạy cảm được lưu trong hệ thống.",
    "state_secrets": "Hệ thống có xử lý thông tin bí mật nhà nước hay không.",
    "national_security_impact": "Nếu hệ thống bị xâm phạm thì có gây tổn hại tới an ninh quốc gia hay không.",
    "industrial_control_grade": "Nếu là hệ thống điều khiển công nghiệp: cấp của công trình mà nó điều khiển;"
                                " chọn 'Không phải hệ thống điều khiển công nghiệp' nếu không phải.",
    "infrastructure_scope": "Hệ thống có cung cấp hạ tầng dùng chung hay không, và dùng chung ở phạm vi nào.",
    "national_egov_247": "Hệ thống Chính phủ điện tử cấp quốc gia phải vận hành liên tục 24/7"
                         " (khoản 2 Điều 14 NĐ 331).",
    "runs_247": "Hệ thống phải vận hành 24/7 và không chấp nhận ngừng ngoài kế hoạch (khoản 2 Điều 14 NĐ 331).",
    "ns_works": "Hệ thống điều khiển, hoặc phục vụ chỉ đạo, vận hành công trình quan trọng liên quan đến"
                " an ninh quốc gia (khoản 4 Điều 15, khoản 1 Điều 16 NĐ 331).",
    "ns_telecom_works": "Hệ thống phục vụ chỉ đạo, vận hành, điều khiển công trình viễn thông quan trọng liên"
                        " quan đến an ninh quốc gia (khoản 2 Điều 16 NĐ 331).",
    "ns_sector": "Hệ thống thuộc một lĩnh vực nêu tại khoản 2 Điều 9 Luật An ninh mạng 2025"
                 " (khoản 3 Điều 16 NĐ 331).",
    "ns_consequence": "Nếu xảy ra sự cố thì gây hậu quả nào trong các điểm a–g khoản 3 Điều 16 NĐ 331"
                      " (chọn 'Không gây hậu quả nào' nếu không).",
    "hosting": "Hệ thống đặt ở đâu: trung tâm dữ liệu riêng, trung tâm dữ liệu tỉnh, đám mây, hạ tầng"
               " nhà cung cấp hay phòng máy tại cơ quan.",
    "go_live": "Ngày hệ thống chính thức đưa vào vận hành.",
    # Cấp độ
    "level.proposed": "Cấp độ (1–5) mà hồ sơ đề xuất cho hệ thống.",
    "level.approved": "Cấp độ (1–5) ghi trong quyết định phê duyệt; chỉ điền khi đã có quyết định.",
    "level.dossier_state": "Hồ sơ đề xuất cấp độ đang ở bước nào: chưa lập, đã lập, đã trình thẩm định, đã"
                           " thẩm định hay đã phê duyệt.",
    "level.decision_number": "Số, ký hiệu của quyết định phê duyệt cấp độ.",
    "level.decision_date": "Ngày ký quyết định phê duyệt cấp độ.",
    "level.appraised_by": "Tên đơn vị đã thẩm định hồ sơ cấp độ.",
    "level.approved_by": "Tên cơ quan hoặc người có thẩm quyền đã phê duyệt cấp độ.",
    "level.regulation_date": "Ngày ban hành quy chế bảo đảm an toàn thông tin của hệ thống (khoản 7 Điều 30"
                             " NĐ 331).",
    "level.appraised_by_kind": "Loại đơn vị thẩm định; để trống thì secaudit đoán theo tên và ghi rõ là đoán.",
    "level.approved_by_kind": "Loại cấp phê duyệt; để trống thì secaudit đoán theo tên.",
    "level.submitted_date": "Ngày đơn vị thẩm định nhận đủ hồ sơ (để tính thời hạn theo khoản 3 Điều 23"
                            " NĐ 331).",
    "level.appraised_date": "Ngày có văn bản ý kiến thẩm định (Mẫu 04).",
    "level.regulation_number": "Số quyết định ban hành quy chế bảo đảm an toàn thông tin của hệ thống.",
    "level.expected_approval": "Khi chưa được phê duyệt: thời điểm dự kiến phê duyệt (cột 9 Mẫu 08).",
    "level.project_start": "Ngày bắt đầu đầu tư, xây dựng hệ thống; dùng để xác định quy định chuyển tiếp"
                           " tại khoản 1 Điều 39 NĐ 331.",
    "level.private_info": "Hệ thống có xử lý thông tin riêng, thông tin cá nhân (không chỉ thông tin công"
                          " khai) hay không (khoản 1 Điều 9 NĐ 331).",
    "level.security_harm": "Nếu bị phá hoại thì mức tổn hại tới an ninh quốc gia là bao nhiêu (khoản 1 các"
                           " Điều 13, 14, 15 NĐ 331).",
    "level.national_data_store": "Hệ thống có lưu trữ tập trung dữ liệu đặc biệt quan trọng của quốc gia hay"
                                 " không (khoản 2 Điều 15 NĐ 331).",
    "level.international_link": "Hệ thống có phải hạ tầng quốc gia kết nối Việt Nam với quốc tế hay không"
                                " (khoản 3 Điều 15 NĐ 331).",
    "level.ns_important": "Hệ thống có đáp ứng một tiêu chí hệ thống thông tin quan trọng về an ninh quốc"
                          " gia tại khoản 1–3 Điều 16 NĐ 331 hay không.",
    "level.assigned_level": "Cấp độ do Thủ tướng Chính phủ quyết định hoặc xác định theo kết quả đánh giá"
                            " rủi ro (nếu có).",
    "level.assigned_by": "Cấp độ ấn định ở cột trước là do ai xác định: Thủ tướng hay đánh giá rủi ro.",
    # Địa chỉ
    "address": "Một địa chỉ IP, một dải CIDR (ví dụ 10.0.0.0/24), một tên máy hoặc một URL bắt đầu bằng"
               " http:// hoặc https://.",
    "ports": "Các cổng dự kiến mở, cách nhau bởi dấu ';' — ví dụ '443/tcp https; 22/tcp ssh'.",
    "public_web": "Địa chỉ này có phục vụ trang web công khai hay không.",
    "note": "Ghi chú tự do (vai trò của máy chủ).",
}
MEANING_BY_SHEET: dict[tuple[str, str], str] = {
    (SHEET_SYSTEMS, "code"): "Mã ngắn của hệ thống, không trùng trong cùng cơ quan: chữ thường không dấu, số,"
                             " '-' hoặc '_' (ví dụ mot-cua-phuong).",
    (SHEET_SYSTEMS, "name"): "Tên đầy đủ của hệ thống thông tin.",
}


def write_workbook(path: Path, agencies: list[Agency]) -> None:
    """Write the workbook (the template when ``agencies`` is empty)."""
    import openpyxl

    book = openpyxl.Workbook()
    help_sheet = book.active
    help_sheet.title = SHEET_HELP
    lists = book.create_sheet(SHEET_LISTS)
    list_ranges = _write_lists(lists)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in LAYOUT}
    for agency in agencies:
        dump = agency.model_dump(mode="python")
        rows[SHEET_AGENCIES].append(fields.flatten(dump, fields.AGENCY_FIELDS))
        for system in dump["systems"]:
            rows[SHEET_SYSTEMS].append({"agency": agency.code, **fields.flatten(system, fields.SYSTEM_FIELDS)})
            rows[SHEET_LEVELS].append({"agency": agency.code, "system": system["code"],
                                       **fields.flatten(system, _LEVEL_FIELDS)})
            for host in system["hosts"]:
                rows[SHEET_HOSTS].append({"agency": agency.code, "system": system["code"],
                                          **fields.flatten(host, fields.HOST_FIELDS)})
    for name in LAYOUT:
        sheet = book.create_sheet(name, index=len(book.sheetnames) - 1)
        _write_data_sheet(sheet, name, rows[name], list_ranges, example=not agencies)
    _write_help(help_sheet)
    lists.sheet_state = "hidden"
    book.active = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # a failed save leaves no half workbook
    try:
        book.save(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


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


def meaning(sheet: str, key: str) -> str:
    """The Vietnamese meaning of a column, for the instructions sheet and the note on its title."""
    return MEANING_BY_SHEET.get((sheet, key)) or MEANING_VI[key]


def _write_data_sheet(sheet: Any, name: str, rows: list[dict[str, Any]], list_ranges: dict[str, str], *,
                      example: bool = False) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    specs = LAYOUT[name]
    head_font, key_font = Font(bold=True), Font(italic=True, color="808080", size=9)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for column, spec in enumerate(specs, 1):
        title = sheet.cell(row=1, column=column)
        _text_cell(title, spec.title + (" *" if spec.required and "." not in spec.key else ""))
        title.font, title.fill, title.alignment = head_font, head_fill, wrap
        title.comment = Comment(meaning(name, spec.key), "secaudit", width=320, height=110)
        key = sheet.cell(row=2, column=column)
        _text_cell(key, spec.key)
        key.font = key_font
        width = 14 if spec.kind in ("bool", "int", "date") else 24 if spec.kind == "choice" else 30
        sheet.column_dimensions[_col(column)].width = width
        # the whole column, so that Excel keeps "0238 3000 101" or "12/QĐ" as typed in new rows too
        sheet.column_dimensions[_col(column)].number_format = _number_format(spec)
    sheet.row_dimensions[2].hidden = True  # the keys import reads: out of the way, not to be edited
    sheet.row_dimensions[1].height = 45
    sheet.page_setup.orientation = "landscape"
    sheet.print_title_rows = "1:1"
    if example:
        _write_example(sheet, name, specs)
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


def _write_example(sheet: Any, name: str, specs: list[FieldSpec]) -> None:
    """Row 3 of the template: a filled-in example, grey and italic, that import skips (agency ``vi-du``)."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    font, fill = Font(italic=True, color="7F7F7F"), PatternFill("solid", fgColor="FFF2CC")
    values = EXAMPLE_ROWS[name]
    for column, spec in enumerate(specs, 1):
        cell = sheet.cell(row=FIRST_DATA_ROW, column=column)
        _text_cell(cell, values.get(spec.key))
        cell.font, cell.fill = font, fill
    sheet.cell(row=FIRST_DATA_ROW, column=1).comment = Comment(
        "Dòng ví dụ: secaudit bỏ qua mọi dòng có mã cơ quan 'vi-du' khi nhập. Có thể để nguyên hoặc xóa;"
        " điền dữ liệu thật từ dòng 4.", "secaudit", width=320, height=90)


_EXAMPLE_NOTE = "VÍ DỤ — dòng này được bỏ qua khi nhập"
#: The template's example row on each sheet (what an officer would type, labels not codes).
EXAMPLE_ROWS: dict[str, dict[str, Any]] = {
    SHEET_AGENCIES: {
        "code": EXAMPLE_AGENCY, "name": f"UBND phường Mẫu ({_EXAMPLE_NOTE})", "kind": "UBND xã, phường, đặc khu",
        "role": "Không có vai trò riêng", "parent": "UBND TỈNH NGHỆ AN", "province": "Nghệ An",
        "place": "Mẫu", "symbol": "UBND", "private_data_centre": fields.NO,
        "security_contact.name": "Nguyễn Văn A", "security_contact.title": "Công chức phụ trách chuyển đổi số",
        "security_contact.phone": "0238 3000 000", "security_contact.email": "dau-moi@vi-du.example",
        "signer.authority": "TM.", "signer.on_behalf_of": "ỦY BAN NHÂN DÂN", "signer.title": "CHỦ TỊCH",
        "signer.name": "Trần Văn B", "recipients": "Công an tỉnh (PA05)\nSở Khoa học và Công nghệ\nLưu: VT",
    },
    SHEET_SYSTEMS: {
        "agency": EXAMPLE_AGENCY, "code": "mot-cua", "name": f"Hệ thống Một cửa phường ({_EXAMPLE_NOTE})",
        "purpose": "Tiếp nhận, trả kết quả hồ sơ thủ tục hành chính", "sector": "Cải cách hành chính",
        "owner": "UBND phường Mẫu", "operator": "Văn phòng HĐND và UBND phường", "critical": fields.NO,
        "restricted_sector": "Không thuộc quân sự, quốc phòng, cơ yếu", "admin_procedures": fields.YES,
        "public_service_stage": 2, "online_service": fields.NO, "users": 30, "data_subjects_basic": 42000,
        "data_subjects_sensitive": 0, "state_secrets": fields.NO, "hosting": "Trung tâm dữ liệu tỉnh",
    },
    SHEET_LEVELS: {
        "agency": EXAMPLE_AGENCY, "system": "mot-cua", "level.proposed": 2,
        "level.dossier_state": "Đã lập hồ sơ", "level.private_info": fields.YES,
    },
    SHEET_HOSTS: {
        "agency": EXAMPLE_AGENCY, "system": "mot-cua", "address": "https://motcua.vi-du.example/tra-cuu",
        "ports": "443/tcp https", "public_web": fields.YES, "note": f"Trang tra cứu hồ sơ ({_EXAMPLE_NOTE})",
    },
}


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
    " cột 'Mã cơ quan' chỉ cơ quan sở hữu. Trang 'Cấp độ': mỗi hệ thống một dòng về cấp độ theo NĐ 331"
    " (có thể để trống nếu chưa lập hồ sơ). Trang 'Địa chỉ': mỗi dòng một địa chỉ (IP, dải CIDR, tên máy"
    " hoặc URL đầy đủ https://…) của một hệ thống, kèm các cổng dự kiến mở.",
    "2. Dòng 1 là tiêu đề (rê chuột lên tiêu đề để xem ý nghĩa cột); dòng 2 (đã ẩn) là mã cột mà secaudit"
    " đọc: KHÔNG sửa (được phép đổi thứ tự cột). Dòng 3 là DÒNG VÍ DỤ (chữ nghiêng, nền vàng, mã cơ quan"
    " 'vi-du'): secaudit luôn bỏ qua khi nhập, để nguyên hoặc xóa đều được. Điền dữ liệu thật từ dòng 4."
    " Cột có dấu * là bắt buộc.",
    "3. Ô để trống nghĩa là CHƯA RÕ — secaudit sẽ báo là chưa rõ thay vì tự đoán. Chỉ điền 'không' khi chắc chắn.",
    "4. Cột có/không và cột danh mục có danh sách thả xuống. Ngày ghi dạng dd/mm/yyyy hoặc yyyy-mm-dd.",
    "5. Cổng ghi dạng '443/tcp https; 22/tcp ssh' (giao thức mặc định tcp). Nơi nhận: mỗi dòng một nơi (Alt+Enter).",
    "6. Không dùng công thức; dán giá trị. Mỗi lần nhập, cơ quan có trong tệp được thay toàn bộ bằng nội dung tệp.",
    "7. Nhập: secaudit inventory import TỆP.xlsx — lỗi được báo theo trang tính, dòng và cột; có lỗi thì"
    " không ghi gì vào workspace.",
]
HELP_EN = [
    "INFORMATION-SYSTEM INVENTORY TEMPLATE — secaudit",
    "Sheets 'Cơ quan' (agencies), 'Hệ thống' (systems), 'Cấp độ' (each system's security level) and 'Địa chỉ'"
    " (hosts), one record per row. Row 2 (hidden) holds the column keys secaudit reads: do not edit it (columns"
    " may be reordered). Row 3 of the template is an example (agency code 'vi-du') that import always skips."
    " A blank cell means unknown. No formulas. Import with 'secaudit inventory import FILE.xlsx'; errors name"
    " sheet, row and column, and nothing is written when there is any error. Each agency in the file replaces"
    " its stored inventory.",
]


def _write_help(sheet: Any) -> None:
    from openpyxl.styles import Alignment, Font

    row = 1
    for line in [*HELP_VI, "", *HELP_EN, ""]:
        _text_cell(sheet.cell(row=row, column=1), line or None)
        sheet.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)  # one wide, wrapped line
        sheet.row_dimensions[row].height = 15 * max(1, -(-len(line) // 190))
        row += 1
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.print_title_rows = f"{row}:{row}"
    header = ["Trang tính", "Cột", "Mã cột", "Tiêu đề", "Ý nghĩa", "Bắt buộc", "Giá trị được nhận",
              "Meaning (English)"]
    for column, text in enumerate(header, 1):
        cell = sheet.cell(row=row, column=column)
        _text_cell(cell, text)
        cell.font = Font(bold=True)
    for sheet_name, specs in LAYOUT.items():
        for column, spec in enumerate(specs, 1):
            row += 1
            values = [sheet_name, _col(column), spec.key, spec.title, meaning(sheet_name, spec.key),
                      "có" if spec.required else "", _allowed_vi(spec), spec.description]
            for c, value in enumerate(values, 1):
                _text_cell(sheet.cell(row=row, column=c), value)
                sheet.cell(row=row, column=c).alignment = Alignment(wrap_text=True, vertical="top")
            # spreadsheet programs do not always grow a row to its wrapped text: say how tall it is
            lines = max(-(-len(str(v)) // int(w * 1.1)) for v, w in zip(values, _HELP_WIDTHS, strict=True))
            sheet.row_dimensions[row].height = 13 * max(1, lines) + 2
    for letter, width in zip("ABCDEFGH", _HELP_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width


_HELP_WIDTHS = (12, 6, 24, 36, 60, 9, 50, 40)


def _allowed_vi(spec: FieldSpec) -> str:
    """What a column accepts, in Vietnamese: the drop-down labels (not the codes behind them)."""
    if spec.kind == "choice":
        return "; ".join(spec.labels.get(c, c) for c in spec.choices if c) + " (chọn trong danh sách)"
    return {
        "text": "văn bản",
        "int": "số nguyên (1–5 với cấp độ)" if spec.key.startswith("level.") else "số nguyên, không âm",
        "bool": "có / không (để trống = chưa rõ)",
        "date": "ngày dd/mm/yyyy",
        "lines": "mỗi dòng một mục (Alt+Enter)",
        "ports": "cổng/giao thức dịch vụ, cách nhau bởi ';' — ví dụ '443/tcp https; 22/tcp ssh'",
    }[spec.kind]

