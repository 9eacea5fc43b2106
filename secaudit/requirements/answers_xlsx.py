"""Answers in Excel: a workbook to fill in, and its import, all or nothing, with cell-precise errors.

Officers work in Excel, so the answers file exists as a workbook too. Sheet ``Trả lời`` has one row
per item to answer: items per agency have one row; items per system have one row per system and,
when there are several systems, a ``Tất cả hệ thống`` row above them — an answer there holds for
every system whose own row has no status. Statuses are chosen from a drop-down of Vietnamese
labels; notes, evidence file names (relative to the workbook's folder), the evidence kind and the
effective/expiry dates (dd/mm/yyyy) are typed; the requirement, its legal basis, its deadline and
what is already stored are read-only columns. A hidden first column holds each row's key
(``agency/checklist:item/system``), which import reads, so rows may be sorted or filtered.

Import checks the whole workbook before writing: every problem is reported as ``Trả lời!D7: …``
(sheet and cell) in Vietnamese, and nothing is written while there is one. The container checks
(size, unpacked size, zip bomb) are the inventory workbook's; formulas and hidden format characters
(bidi overrides) are refused. Evidence files named in a row are stored and linked to that answer.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit import clock, text
from secaudit.errors import InputError, NotFoundError, ValidationError, os_reason
from secaudit.requirements.answers import Evidence, ImportSummary, evidence_problem, readable_name, record_answer
from secaudit.requirements.content import EVIDENCE_KINDS, UNCLASSIFIED, Library
from secaudit.requirements.walk import Step, default_evidence_kind
from secaudit.store.workspace import Workspace

SHEET = "Trả lời"
SHEET_HELP = "Hướng dẫn"
SHEET_LISTS = "Danh mục"
ALL_SYSTEMS = "*"
ALL_SYSTEMS_LABEL = "Tất cả hệ thống"
AGENCY_LABEL = "(cấp cơ quan)"
MAX_PROBLEMS = 200
MAX_ROWS = 100_000

#: Status labels of the drop-down, and the answer codes they stand for.
STATUS_LABELS = {"dat": "Đạt", "chua-dat": "Chưa đạt", "khong-ap-dung": "Không áp dụng"}

# Column titles (row 1). Import finds the columns by these titles, so they are a contract.
KEY = "Khóa (không sửa)"
REQUIREMENT = "Yêu cầu"
SYSTEM = "Hệ thống"
STATUS = "Trạng thái"
NOTE = "Ghi chú"
FILES = "Tệp minh chứng"
KIND = "Loại minh chứng"
EFFECTIVE = "Ngày hiệu lực"
EXPIRES = "Ngày hết hạn"
BASIS = "Căn cứ pháp lý"
DEADLINE = "Hạn"
EXPECTED = "Minh chứng cần"
STORED = "Minh chứng đã lưu"
CURRENT = "Đánh giá hiện tại"

#: (title, width, editable) in column order; the key column first and hidden.
COLUMNS: list[tuple[str, int, bool]] = [
    (KEY, 10, False), (REQUIREMENT, 40, False), (SYSTEM, 24, False), (STATUS, 15, True), (NOTE, 34, True),
    (FILES, 26, True), (KIND, 20, True), (EFFECTIVE, 13, True), (EXPIRES, 13, True), (BASIS, 40, False),
    (DEADLINE, 12, False), (EXPECTED, 26, False), (STORED, 24, False), (CURRENT, 40, False),
]
REQUIRED_COLUMNS = (KEY, STATUS, NOTE, FILES, KIND, EFFECTIVE, EXPIRES)

_FILE_SPLIT = re.compile(r"[;\n]")


def _fold(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold()


_STATUS_BY_TEXT = {**{_fold(label): code for code, label in STATUS_LABELS.items()},
                   **{code: code for code in STATUS_LABELS}}
_KIND_LABEL = {code: labels[0] for code, labels in EVIDENCE_KINDS.items()}
_KIND_BY_TEXT = {**{_fold(label): code for code, label in _KIND_LABEL.items()}, **{code: code for code in _KIND_LABEL}}


def row_key(agency: str, checklist: str, item: str, system: str | None) -> str:
    """The hidden key of a row: ``agency/checklist:item/system`` (``*``: all systems; empty: agency)."""
    return f"{agency}/{checklist}:{item}/{system or ''}"


def _ddmmyyyy(value: str | dt.date | None) -> str | None:
    if value is None or value == "":
        return None
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%d/%m/%Y}"


# -- writing ------------------------------------------------------------------------------------
def _text_cell(cell: Any, value: Any) -> None:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever a stored note starts with


@dataclass
class _Row:
    key: str
    values: dict[str, Any]
    group_head: bool = False
    member: bool = False


def _same_answer(answers: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The answer every system shares (status, note, effective), or None."""
    first = answers[0]
    if first is None:
        return None
    wanted = (first["status"], first["note"], first["effective"])
    if all(a is not None and (a["status"], a["note"], a["effective"]) == wanted for a in answers):
        return first
    return None


def _answer_values(answer: dict[str, Any] | None) -> dict[str, Any]:
    if not answer:
        return {}
    return {STATUS: STATUS_LABELS.get(answer["status"]), NOTE: answer["note"] or None,
            EFFECTIVE: _ddmmyyyy(answer["effective"])}


def _template_rows(ws: Workspace, library: Library, agency: str, steps: list[Step]) -> list[_Row]:
    from secaudit.requirements.evaluate import kinds_text
    from secaudit.requirements.results import LABELS

    names = {r[0]: r[1] for r in ws.db.execute("select code, name from systems where agency = ?", [agency])}
    registry = library.registry
    groups: dict[tuple[str, str], list[Step]] = {}
    for step in steps:
        groups.setdefault((step.checklist.id, step.item.id), []).append(step)
    rows: list[_Row] = []
    for (cid, iid), members in groups.items():
        item = members[0].item
        deadline = f"{item.deadline:%d/%m/%Y}" if item.deadline else "không có"
        if item.recurrence:
            deadline += f", lặp lại mỗi {item.recurrence.months} tháng"
        common: dict[str, Any] = {
            REQUIREMENT: f"{iid}: {' '.join((item.short or item.title).split())}",
            BASIS: "; ".join(b.cite(registry) for b in item.basis),
            DEADLINE: deadline,
            EXPECTED: (kinds_text(item.evidence.documents) or "không nêu")
            + ("; tự khai được chấp nhận" if item.evidence.attestation else "; cần tài liệu"),
            KIND: _KIND_LABEL[default_evidence_kind(item)],
        }

        def own(step: Step) -> dict[str, Any]:
            stored = ", ".join(dict.fromkeys(r["original_name"] for r in step.evidence)) or None
            reason = step.result.reasons[0].split(" / ")[0] if step.result.reasons else ""
            current = LABELS["vi"][step.result.status] + (f" — {reason}" if reason else "")
            return {STORED: stored, CURRENT: " ".join(current.split())}

        if members[0].system is None:
            step = members[0]
            rows.append(_Row(row_key(agency, cid, iid, None),
                             {**common, SYSTEM: AGENCY_LABEL, **own(step), **_answer_values(step.answer)}))
            continue
        shared = _same_answer([m.answer for m in members]) if len(members) > 1 else None
        if len(members) > 1:
            rows.append(_Row(row_key(agency, cid, iid, ALL_SYSTEMS),
                             {**common, SYSTEM: ALL_SYSTEMS_LABEL, **_answer_values(shared)}, group_head=True))
        for step in members:
            label = f"{step.system} — {names.get(step.system or '', '')}".rstrip(" —")
            values = {**common, SYSTEM: label, **own(step)}
            if shared is None:
                values.update(_answer_values(step.answer))
            rows.append(_Row(row_key(agency, cid, iid, step.system), values, member=len(members) > 1))
    return rows


_WIDTHS = {title: width for title, width, _ in COLUMNS}


def _height(values: dict[str, Any]) -> float:
    """A row height (points) that shows every wrapped line: spreadsheet apps do not measure on open."""
    lines = 1
    for title, value in values.items():
        if isinstance(value, str):
            per_line = max(int(_WIDTHS[title] * 0.95), 4)
            lines = max(lines, sum(-(-max(len(part), 1) // per_line) for part in value.split("\n")))
    return 14.5 * min(lines, 12)


def write_template(ws: Workspace, library: Library, path: Path, steps: list[Step], *, agency: str, as_of: dt.date,
                   profile: str) -> int:
    """Write the answers workbook for ``steps`` (prefilled with the current answers); returns its rows."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    rows = _template_rows(ws, library, agency, steps)
    name = ws.db.execute("select name from agencies where code = ?", [agency]).fetchone()[0]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    help_sheet = book.create_sheet(SHEET_HELP)
    lists = book.create_sheet(SHEET_LISTS)

    kinds = [label for code, label in _KIND_LABEL.items() if code != UNCLASSIFIED] + [_KIND_LABEL[UNCLASSIFIED]]
    for i, label in enumerate(STATUS_LABELS.values(), 1):
        _text_cell(lists.cell(row=i, column=1), label)
    for i, label in enumerate(kinds, 1):
        _text_cell(lists.cell(row=i, column=2), label)
    lists.sheet_state = "hidden"

    head_font, head_fill = Font(name="Calibri", bold=True), PatternFill("solid", fgColor="DDEBF7")
    edit_fill, group_fill = PatternFill("solid", fgColor="FFF9E5"), PatternFill("solid", fgColor="EEF3E2")
    wrap = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)
    column_of = {title: index for index, (title, _, _) in enumerate(COLUMNS, 1)}
    for index, (title, width, editable) in enumerate(COLUMNS, 1):
        cell = sheet.cell(row=1, column=index)
        _text_cell(cell, title + (" ✎" if editable else ""))
        cell.font, cell.fill, cell.alignment = head_font, head_fill, wrap
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        if title in (EFFECTIVE, EXPIRES):
            sheet.column_dimensions[letter].number_format = "@"  # 20/11/2026 stays as typed
    sheet.column_dimensions["A"].hidden = True
    sheet.row_dimensions[1].height = 32
    for offset, row in enumerate(rows, 2):
        _text_cell(sheet.cell(row=offset, column=1), row.key)
        for title, value in row.values.items():
            cell = sheet.cell(row=offset, column=column_of[title])
            _text_cell(cell, value)
        for index, (title, _, editable) in enumerate(COLUMNS, 1):
            cell = sheet.cell(row=offset, column=index)
            cell.alignment = wrap
            if editable:
                cell.protection = unlocked
                cell.fill = edit_fill
                if title in (EFFECTIVE, EXPIRES):
                    cell.number_format = "@"
            elif row.group_head:
                cell.fill = group_fill
            if row.group_head:
                cell.font = head_font
        if row.member:
            sheet.row_dimensions[offset].outline_level = 1
        sheet.row_dimensions[offset].height = _height(row.values)
    last = max(len(rows) + 1, 2)
    status_list = DataValidation(
        type="list", formula1=f"='{SHEET_LISTS}'!$A$1:$A${len(STATUS_LABELS)}", allow_blank=True,
        showErrorMessage=True, errorTitle=STATUS,
        error="Chọn Đạt, Chưa đạt hoặc Không áp dụng (để trống: chưa trả lời)")
    kind_list = DataValidation(
        type="list", formula1=f"='{SHEET_LISTS}'!$B$1:$B${len(kinds)}", allow_blank=True, showErrorMessage=True,
        errorTitle=KIND, error="Chọn một loại minh chứng trong danh sách")
    for validation, title in ((status_list, STATUS), (kind_list, KIND)):
        letter = get_column_letter(column_of[title])
        sheet.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{last}")
    sheet.freeze_panes = "D2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last}"
    sheet.sheet_properties.outlinePr.summaryBelow = False
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.protection.sheet = True  # read-only columns locked (no password): the yellow cells are to fill in
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.autoFilter = False
    sheet.protection.sort = False

    _write_help(help_sheet, agency=agency, name=name, as_of=as_of, profile=profile, rows=len(rows))
    book.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return len(rows)


def _write_help(sheet: Any, *, agency: str, name: str, as_of: dt.date, profile: str, rows: int) -> None:
    from openpyxl.styles import Alignment, Font

    lines = [
        f"TỰ ĐÁNH GIÁ — {name} ({agency})",
        f"Sổ tính do secaudit tạo ngày {as_of:%d/%m/%Y}, hồ sơ đánh giá '{profile}', {rows} dòng cần trả lời.",
        "",
        "Cách điền trang 'Trả lời' (chỉ điền các ô nền vàng; các cột khác chỉ để đọc):",
        "1. Trạng thái: chọn Đạt, Chưa đạt hoặc Không áp dụng trong danh sách thả xuống."
        " Để trống = chưa trả lời (bỏ qua khi nhập, câu trả lời cũ giữ nguyên).",
        "2. Mục theo hệ thống có dòng 'Tất cả hệ thống' (in đậm) và một dòng cho mỗi hệ thống."
        " Trả lời ở dòng 'Tất cả hệ thống' áp dụng cho mọi hệ thống của mục đó; dòng của một hệ thống"
        " có trạng thái thì thay hẳn dòng chung cho hệ thống ấy (ghi chú, ngày, tệp của riêng dòng đó).",
        "3. Ghi chú: nêu căn cứ tự đánh giá (số, ngày văn bản; việc đã làm).",
        "4. Tệp minh chứng: tên tệp, tính từ thư mục chứa sổ tính này (ví dụ: QD-12.pdf hoặc"
        " minh-chung/BB-kiem-tra.pdf); nhiều tệp cách nhau bằng dấu chấm phẩy. Tệp được lưu và gắn với câu"
        " trả lời của dòng. Cột 'Minh chứng đã lưu' cho biết tệp đã có, không cần gửi lại.",
        "5. Loại minh chứng: loại của các tệp trong dòng (đã điền sẵn loại mà yêu cầu cần).",
        "6. Ngày hiệu lực: ngày của quyết định, biên bản… mà câu trả lời dựa vào; Ngày hết hạn: ngày tệp"
        " minh chứng hết hiệu lực (nếu có). Ghi dạng dd/mm/yyyy, ví dụ 20/11/2026.",
        "7. Không dùng công thức, không thêm hay xóa dòng, không sửa cột ẩn A (khóa của dòng).",
        f"8. Nhập: secaudit assess {agency} --answers <tệp này>. Mọi lỗi được báo theo ô (ví dụ Trả lời!D7);"
        " có lỗi thì không ghi gì. Sau đó xem kết quả: secaudit status " + agency,
        "",
        "English: fill in the yellow cells of sheet 'Trả lời' (status, note, evidence files relative to this"
        " workbook's folder, kind, dates as dd/mm/yyyy); a 'Tất cả hệ thống' (all systems) row applies to every"
        " system whose own row has no status. Import with 'secaudit assess AGENCY --answers FILE.xlsx';"
        " nothing is written if any cell is wrong.",
    ]
    for row, line in enumerate(lines, 1):
        cell = sheet.cell(row=row, column=1)
        _text_cell(cell, line or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.cell(row=1, column=1).font = Font(name="Calibri", bold=True, size=13)
    sheet.column_dimensions["A"].width = 95
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    for row, line in enumerate(lines, 1):
        sheet.row_dimensions[row].height = 14.5 * max(1, -(-len(line) // 100))


# -- reading ------------------------------------------------------------------------------------
@dataclass
class _Answer:
    """One answer read from a row: what to record, and the row's cells for messages."""

    checklist: str
    item: str
    system: str  # "*" for the all-systems row, "" for an agency item
    status: str | None
    note: str | None
    files: list[Path]
    kind: str
    effective: dt.date | None
    expires: dt.date | None
    row: int


@dataclass
class _Reader:
    path: Path
    ws: Workspace
    library: Library
    agency: str
    problems: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, cell: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((f"{SHEET}!{cell}", message))


def _cell_text(reader: _Reader, cell: Any, ref: str) -> str | None:
    """The text of a cell, or None when empty; formulas, error values and hidden characters refused."""
    value = cell.value
    if value is None:
        return None
    if cell.data_type == "f" or not isinstance(value, str | int | float | dt.datetime | dt.date):
        reader.problem(ref, "ô chứa công thức; chỉ nhập giá trị (dán dạng giá trị)")
        return None
    if cell.data_type == "e":
        reader.problem(ref, f"ô chứa giá trị lỗi {value}")
        return None
    if isinstance(value, bool):
        reader.problem(ref, f"ô chứa giá trị đúng/sai ({value}); cần chữ")
        return None
    if isinstance(value, dt.datetime | dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        return f"{day:%d/%m/%Y}"
    if isinstance(value, int | float):
        return str(value)
    hidden = [ch for ch in value if text.is_invisible(ch)]
    if hidden:
        reader.problem(ref, f"ô chứa ký tự ẩn {', '.join(f'<U+{ord(c):04X}>' for c in dict.fromkeys(hidden))}"
                            " (có thể đảo chiều hay giấu chữ); xóa ký tự này")
        return None
    stripped = unicodedata.normalize("NFC", value).strip()
    if stripped.startswith("="):
        reader.problem(ref, f"ô bắt đầu bằng '=' như một công thức ('{_short(stripped)}'); bỏ dấu '=' ở đầu")
        return None
    return stripped or None


def _short(value: str, width: int = 40) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def _date(reader: _Reader, cell: Any, ref: str) -> dt.date | None:
    value = cell.value
    if isinstance(value, dt.datetime | dt.date) and cell.data_type != "f":
        return value.date() if isinstance(value, dt.datetime) else value
    raw = _cell_text(reader, cell, ref)
    if raw is None:
        return None
    day = clock.parse_day(raw)
    if day is not None:
        return day
    reader.problem(ref, f"'{_short(raw)}' không phải ngày hợp lệ; ghi dd/mm/yyyy, ví dụ 20/11/2026")
    return None


def _columns(reader: _Reader, sheet: Any) -> dict[str, int]:
    """Column number by title (the ✎ mark and spacing ignored); missing required columns reported."""
    found: dict[str, int] = {}
    header = next(sheet.iter_rows(min_row=1, max_row=1), ())
    for index, cell in enumerate(header, 1):
        if isinstance(cell.value, str):
            title = " ".join(cell.value.replace("✎", "").split())
            found.setdefault(title, index)
    missing = [title for title in REQUIRED_COLUMNS if title not in found]
    if missing:
        reader.problem("A1", f"thiếu cột {', '.join(repr(t) for t in missing)} ở dòng tiêu đề; đừng xóa hay đổi"
                              " tên cột (cột A ẩn là khóa của dòng) — hãy xuất lại mẫu nếu cần")
    return found


def _read_rows(reader: _Reader, sheet: Any) -> list[_Answer]:
    from openpyxl.utils import get_column_letter

    columns = _columns(reader, sheet)
    if reader.problems:
        return []
    systems = {r[0] for r in reader.ws.db.execute("select code from systems where agency = ?", [reader.agency])}
    seen: dict[tuple[str, str, str], int] = {}
    answers: list[_Answer] = []
    for number, cells in enumerate(sheet.iter_rows(min_row=2), 2):
        if number > MAX_ROWS:
            reader.problem(f"A{number}", f"quá {MAX_ROWS} dòng; đây không phải sổ tính trả lời do secaudit xuất")
            break
        if all(c.value is None for c in cells):
            continue

        def cell(title: str, cells: tuple[Any, ...] = cells) -> Any:
            index = columns[title] - 1
            return cells[index] if index < len(cells) else _Empty()

        def ref(title: str, number: int = number) -> str:
            return f"{get_column_letter(columns[title])}{number}"

        key = _cell_text(reader, cell(KEY), ref(KEY))
        if key is None:
            reader.problem(ref(KEY), "dòng không có khóa (cột A ẩn): đừng thêm dòng mới hay xóa khóa;"
                                     " hãy xuất lại mẫu")
            continue
        target = _target(reader, key, ref(KEY), systems)
        if target is None:
            continue
        checklist, item, system = target
        if (checklist, item, system) in seen:
            reader.problem(ref(KEY), f"dòng trùng với dòng {seen[(checklist, item, system)]} (cùng yêu cầu và"
                                     " hệ thống); xóa một trong hai dòng")
            continue
        seen[(checklist, item, system)] = number
        status_text = _cell_text(reader, cell(STATUS), ref(STATUS))
        status = None
        if status_text is not None:
            status = _STATUS_BY_TEXT.get(_fold(status_text))
            if status is None:
                reader.problem(ref(STATUS), f"'{_short(status_text)}' không phải một trạng thái; chọn một trong: "
                                            f"{', '.join(STATUS_LABELS.values())} (hoặc để trống)")
        note = _cell_text(reader, cell(NOTE), ref(NOTE))
        files = _files(reader, cell(FILES), ref(FILES))
        kind_text = _cell_text(reader, cell(KIND), ref(KIND))
        kind = UNCLASSIFIED
        if kind_text is not None:
            found = _KIND_BY_TEXT.get(_fold(kind_text))
            if found is None:
                reader.problem(ref(KIND), f"'{_short(kind_text)}' không phải một loại minh chứng; chọn trong danh"
                                          " sách thả xuống")
            else:
                kind = found
        effective = _date(reader, cell(EFFECTIVE), ref(EFFECTIVE))
        expires = _date(reader, cell(EXPIRES), ref(EXPIRES))
        if effective and expires and expires < effective:
            reader.problem(ref(EXPIRES), f"ngày hết hạn {expires:%d/%m/%Y} trước ngày hiệu lực {effective:%d/%m/%Y}")
        if status_text is None and (note or files or effective or expires):
            reader.problem(ref(STATUS), "dòng có ghi chú, tệp hoặc ngày nhưng chưa chọn trạng thái; chọn trạng thái"
                                        " hoặc xóa các ô đó")
        answers.append(_Answer(checklist, item, system, status, note, files, kind, effective, expires, number))
    return answers


class _Empty:
    value = None
    data_type = "n"


def _target(reader: _Reader, key: str, ref: str, systems: set[str]) -> tuple[str, str, str] | None:
    agency, sep, rest = key.partition("/")
    ref_text, sep2, system = rest.rpartition("/")
    if not sep or not sep2 or ":" not in ref_text:
        reader.problem(ref, f"khóa '{_short(key)}' không đúng dạng; đừng sửa cột A — hãy xuất lại mẫu")
        return None
    if agency != reader.agency:
        reader.problem(ref, f"dòng này của cơ quan '{agency}', không phải '{reader.agency}'; dùng sổ tính xuất cho"
                            f" {reader.agency}")
        return None
    try:
        checklist, item = reader.library.resolve_ref(ref_text)
    except (NotFoundError, InputError) as exc:
        reader.problem(ref, f"không có yêu cầu '{_short(ref_text)}' ({exc.message})")
        return None
    if item.scope == "agency" and system:
        reader.problem(ref, f"{item.id} là mục theo cơ quan, không theo hệ thống '{system}'")
        return None
    if item.scope == "system" and not system:
        reader.problem(ref, f"{item.id} là mục theo hệ thống, dòng này không nêu hệ thống")
        return None
    if system and system != ALL_SYSTEMS and system not in systems:
        reader.problem(ref, f"không có hệ thống '{_short(system)}' của cơ quan {reader.agency}")
        return None
    return checklist.id, item.id, system


def _files(reader: _Reader, cell: Any, ref: str) -> list[Path]:
    raw = _cell_text(reader, cell, ref)
    if raw is None:
        return []
    limit = reader.ws.evidence_max_bytes()
    found: list[Path] = []
    for name in (n.strip() for n in _FILE_SPLIT.split(raw)):
        if not name:
            continue
        path = reader.path.parent / name
        hint = f" (tìm trong thư mục của sổ tính: {reader.path.parent.resolve()})"
        if (problem := evidence_problem(path, name, max_bytes=limit, hint=hint)) is not None:
            reader.problem(ref, problem)
            continue
        path = path.resolve()
        if path not in found:
            found.append(path)
    return found


def _open_sheet(path: Path) -> Any:
    """The workbook (read-only), after the container checks; a readable message for every failure."""
    from secaudit.inventory.xlsx import check_container

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"Không đọc được tệp: {os_reason(exc)}", en=f"cannot read file: {exc.strerror}",
                         where=str(path)) from exc
    if size == 0:
        raise InputError("Tệp rỗng, không phải sổ tính Excel", en="empty file, not a workbook", where=str(path))
    check_container(path)
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for a malformed package
        raise InputError("Không mở được tệp .xlsx (hỏng hoặc không phải sổ tính Excel)",
                         en=f"cannot open workbook: {type(exc).__name__}", where=str(path)) from exc


def read_workbook(ws: Workspace, library: Library, path: Path, *, agency: str) -> list[_Answer]:
    """Every row of the workbook as an answer; one ``ValidationError`` listing every bad cell."""
    ws.require_agency(agency)
    book = _open_sheet(path)
    try:
        if SHEET not in book.sheetnames:
            raise InputError(f"Không có trang tính '{SHEET}' (có: {', '.join(book.sheetnames)}); đừng đổi tên trang"
                             " tính — hãy xuất lại mẫu", en=f"no sheet '{SHEET}'", where=str(path))
        reader = _Reader(path, ws, library, agency)
        sheet = book[SHEET]
        sheet.reset_dimensions()
        try:
            answers = _read_rows(reader, sheet)
        except (SyntaxError, ValueError, LookupError, TypeError) as exc:  # sheet XML parsed lazily
            raise InputError(f"Tệp .xlsx hỏng: trang tính '{SHEET}' có XML không hợp lệ",
                             en=f"damaged workbook ({type(exc).__name__})", where=str(path)) from exc
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # the sheet is also unpacked lazily
            raise InputError(f"Tệp .xlsx hỏng: phần nén của trang tính '{SHEET}' bị hỏng (sai CRC hoặc dữ liệu"
                             " nén lỗi); hãy lưu lại tệp từ Excel hoặc xuất lại mẫu",
                             en=f"damaged workbook: the sheet's compressed data is corrupt ({type(exc).__name__})",
                             where=str(path)) from exc
    finally:
        book.close()
    if reader.problems:
        raise ValidationError(reader.problems, en="answers workbook not imported: fix the cells named")
    return answers


@dataclass
class _Plan:
    checklist: str
    item: str
    system: str | None
    source: _Answer


def _plan(answers: list[_Answer], reader_problem: Any) -> tuple[list[_Plan], int]:
    """Expand all-systems rows over the item's systems whose own row has no status."""
    rows_by_item: dict[tuple[str, str], list[_Answer]] = {}
    for answer in answers:
        rows_by_item.setdefault((answer.checklist, answer.item), []).append(answer)
    plans: list[_Plan] = []
    skipped = 0
    for (checklist, item), rows in rows_by_item.items():
        shared = next((r for r in rows if r.system == ALL_SYSTEMS), None)
        for row in rows:
            if row.system == ALL_SYSTEMS:
                continue
            source = row if row.status is not None else (shared if shared and shared.status else None)
            if source is None:
                skipped += 1
                continue
            plans.append(_Plan(checklist, item, row.system or None, source))
        if shared is not None and shared.status is not None and not any(r.system != ALL_SYSTEMS for r in rows):
            reader_problem(shared, "dòng 'Tất cả hệ thống' không còn dòng hệ thống nào bên dưới; đừng xóa dòng")
    return plans, skipped


def import_workbook(ws: Workspace, library: Library, path: Path, *, agency: str, actor: str) -> ImportSummary:
    """Record every answered row of the workbook for ``agency`` in one transaction (all or nothing).

    Rows whose answer is already stored as written (same status, note and date, no new file) are
    left alone, so importing the same workbook twice adds nothing to the log.
    """
    answers = read_workbook(ws, library, path, agency=agency)
    problems: list[tuple[str, str]] = []

    def problem(answer: _Answer, message: str) -> None:
        problems.append((f"{SHEET}!A{answer.row}", message))

    plans, skipped = _plan(answers, problem)
    if problems:
        raise ValidationError(problems, en="answers workbook not imported")
    stored = {(r["checklist"], r["item"], r["system"]): r
              for r in ws.db.query("select * from answers where agency = ?", [agency])}
    recorded = files = unchanged = 0
    with ws.transaction():
        for plan in plans:
            src = plan.source
            assert src.status is not None
            old = stored.get((plan.checklist, plan.item, plan.system or ""))
            dated = src.effective.isoformat() if src.effective else None
            if (old is not None and not src.files and (old["status"], old["note"], old["effective"])
                    == (src.status, src.note, dated)):
                unchanged += 1
                continue
            evidence = [Evidence(p, src.kind, src.effective, src.expires) for p in src.files]
            record_answer(ws, agency=agency, system=plan.system, checklist=plan.checklist, item=plan.item,
                          status=src.status, note=src.note, files=evidence, actor=actor, effective=src.effective,
                          source=f"{readable_name(path.name)}!{SHEET}:{src.row}")
            recorded += 1
            files += len(evidence)
    return ImportSummary(recorded, skipped, files, unchanged)
