"""The publishable list of agencies that have not completed their KH 04 tasks (3130/UBND-VX).

Công văn 3130/UBND-VX ngày 31/3/2026 of UBND tỉnh Nghệ An asks Sở KH&CN, Sở Nội vụ and Công an tỉnh
to make public which agencies fall short, for accountability. The list is built from the same
:class:`~secaudit.reporting.province.ProvinceData` as the roll-up (so it follows whichever source filled
it) and carries, by design, only what may be published: the agency's name, the task, its deadline and
its state. Nothing technical reaches it — no system, address, port, host name or finding — because
those fields are never copied out of the roll-up data: :class:`Entry` has no room for them.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secaudit.errors import InputError
from secaudit.reporting.province import ProvinceData
from secaudit.reporting.render import render_pdf, render_template
from secaudit.reporting.rollup import strings

FORMATS = ("pdf", "html", "xlsx")
#: The letter that asks for the list (seed letter; see /work/shared/seeds and DOMAIN.md).
BASIS = "3130/UBND-VX"


@dataclass(frozen=True)
class Entry:
    """One unfinished task of one listed agency."""

    number: int  #: the task's number in the roll-up (1 = first KH 04 task)
    task: str  #: the task's short title
    deadline: str | None  #: ISO date
    state: str  #: the status it is counted in (chua-dat, loi, chua-danh-gia)
    overdue: bool


@dataclass(frozen=True)
class Listed:
    """One agency on the list, with its unfinished tasks."""

    rank: int
    name: str
    entries: list[Entry]

    @property
    def overdue(self) -> int:
        return sum(1 for e in self.entries if e.overdue)


@dataclass(frozen=True)
class NonCompliantList:
    """The whole list: what the template and the workbook show, and nothing more."""

    lang: str
    as_of: dt.date
    generator: str
    province: str
    issuer: dict[str, Any]
    total: int  #: agencies in the roll-up
    agencies: list[Listed]

    @property
    def with_overdue(self) -> int:
        return sum(1 for a in self.agencies if a.overdue)


def build_list(data: ProvinceData) -> NonCompliantList:
    """The agencies of the roll-up with an overdue or unmet task, in roll-up order (overdue first)."""
    listed: list[Listed] = []
    for agency in data.non_compliant:
        entries = [Entry(number=i + 1, task=task["short"], deadline=task["deadline"], state=cell.counted,
                         overdue=cell.overdue)
                   for i, (task, cell) in enumerate(zip(data.tasks, agency.cells, strict=True))
                   if not cell.met or cell.overdue]
        listed.append(Listed(rank=len(listed) + 1, name=agency.name, entries=entries))
    issuer = {k: data.issuer.get(k) for k in ("name", "parent", "place", "province", "symbol", "signer",
                                              "recipients")}
    return NonCompliantList(lang=data.lang, as_of=data.as_of, generator=data.generator, province=data.province,
                            issuer=issuer, total=len(data.agencies), agencies=listed)


def render_html(listing: NonCompliantList, *, template_dir: Path | None = None) -> bytes:
    return render_template("noncompliant.html.j2", listing, lang=listing.lang, template_dir=template_dir,
                           n=listing)


def render_xlsx(listing: NonCompliantList, *, template_dir: Path | None = None) -> bytes:
    """One sheet: title, basis and date above a filterable table, one row per agency × unfinished task."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    from secaudit.reporting.exports.xlsx import fixed_zip, put_row, write_table

    t = strings(listing.lang, template_dir)
    s = t["noncompliant"]
    wb = Workbook()
    ws = wb.active
    ws.title = s["sheet"]
    put_row(ws, 1, [s["sheet_title"]])
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    put_row(ws, 2, [s["basis_short"]])
    put_row(ws, 3, [f"{s['as_of']}: {listing.as_of.strftime('%d/%m/%Y')}"])
    put_row(ws, 4, [s["summary"].format(n=len(listing.agencies), total=listing.total, overdue=listing.with_overdue)
                    if listing.agencies else s["none"].format(as_of=listing.as_of.strftime("%d/%m/%Y"))])
    yes, no = t["yes_label"], t["no_label"]
    rows = [[a.rank, a.name, f"{e.number}. {e.task}", dt.date.fromisoformat(e.deadline) if e.deadline else None,
             s["state"][e.state], yes if e.overdue else no]
            for a in listing.agencies for e in a.entries]
    headers = [t["col_no"], s["col_agency"], s["col_task"], s["col_deadline"], s["col_state"], s["col_overdue"]]
    start = 6
    write_table(ws, headers, rows, widths=[6, 44, 48, 12, 26, 10], start=start)
    ws.freeze_panes = f"A{start + 1}"
    ws.auto_filter.ref = f"A{start}:{get_column_letter(len(headers))}{start + max(1, len(rows))}"
    put_row(ws, start + len(rows) + 2, [s["scope_note"]])
    ws.page_setup.orientation = "landscape"  # printed as one page wide, as many long as it takes
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{start}:{start}"
    stamp = dt.datetime.combine(listing.as_of, dt.time(0, 0))
    wb.properties.creator = listing.generator
    wb.properties.title = s["sheet_title"]
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.lastModifiedBy = listing.generator
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()  # writes and closes
    return fixed_zip(raw.getvalue(), listing.as_of)


def render(data: ProvinceData, *, fmt: str, template_dir: Path | None = None) -> bytes:
    """The list in ``fmt``: pdf (PDF/A-3b), html or xlsx."""
    if fmt not in FORMATS:
        raise InputError(f"Danh sách công khai chỉ có dạng {', '.join(FORMATS)}, không có {fmt}",
                         en=f"the non-compliant list is {', '.join(FORMATS)}, not {fmt}")
    listing = build_list(data)
    if fmt == "xlsx":
        return render_xlsx(listing, template_dir=template_dir)
    html = render_html(listing, template_dir=template_dir)
    if fmt == "html":
        return html
    title = ("Danh sách cơ quan chưa hoàn thành nhiệm vụ" if data.lang == "vi"
             else "Agencies with unfinished tasks") + f" — {data.province}"
    author = listing.issuer["name"] or listing.generator
    return render_pdf(html, title=title, author=author, as_of=data.as_of, template_dir=template_dir, lang=data.lang)


__all__ = ["BASIS", "FORMATS", "NonCompliantList", "build_list", "render"]
