"""The agency report as a Word document, for an office to number, edit and sign like any other.

Same structure and words as the PDF (``agency.html.j2``): the NĐ 30/2020 header, parts I–IV, Nơi
nhận and the signature block, then Phụ lục I–IV. Written with python-docx (a plain library over the
OOXML parts, no template file to maintain and no office suite needed at run time); docxtpl would add
a jinja layer over a .docx template, which is a second copy of the layout to keep in step. Page: A4,
NĐ 30 margins (20 / 15 / 20 / 30 mm), Times New Roman 13 pt (Liberation Serif has the same metrics
where Times is absent). The file is the same bytes for the same data (fixed dates inside and in the zip).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from secaudit.reporting.data import ReportData
from secaudit.reporting.render import agency_context, prepare_env, spelling, vndate, vndatetime

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 10
SMALL_PT = 8.5
TEXT_WIDTH_MM = 165  # A4 210 mm less the 30 mm and 15 mm side margins


class Wide(str):
    """A table row that is one line of small italic text across every column but the first (the list
    of requirements a grouped row stands for), as the PDF prints it under its row."""


class DocxWriter:
    """A thin layer over python-docx for the few shapes the report uses."""

    def __init__(self, lang: str) -> None:
        from docx import Document
        from docx.shared import Mm, Pt

        self.lang = lang
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.left_margin, section.right_margin = Mm(30), Mm(15)
        section.different_first_page_header_footer = True
        normal = self.doc.styles["Normal"]
        normal.font.name = FONT
        normal.font.size = Pt(BODY_PT)
        rpr = normal.element.get_or_add_rPr()
        fonts = rpr.get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(_qn(attr), FONT)
        normal.paragraph_format.space_after = Pt(6)
        normal.paragraph_format.space_before = Pt(0)
        self._page_number(section)

    def text(self, value: Any) -> str:
        value = "" if value is None else str(value)
        return spelling(value) if self.lang == "vi" else value

    def _page_number(self, section: Any) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement

        para = section.header.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        field = OxmlElement("w:fldSimple")
        field.set(_qn("w:instr"), "PAGE")
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "2"
        run.append(text)
        field.append(run)
        para._p.append(field)

    def para(self, text: str = "", *, bold: bool = False, italic: bool = False, size: float | None = None,
             align: str = "justify", indent: bool = False, after: float = 6, container: Any = None) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm, Pt

        target = container if container is not None else self.doc
        para = target.add_paragraph()
        para.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                          "left": WD_ALIGN_PARAGRAPH.LEFT}[align]
        para.paragraph_format.space_after = Pt(after)
        if indent:
            para.paragraph_format.first_line_indent = Cm(1)
        if text:
            self.run(para, text, bold=bold, italic=italic, size=size)
        return para

    def run(self, para: Any, text: str, *, bold: bool = False, italic: bool = False, size: float | None = None,
            underline: bool = False) -> Any:
        from docx.shared import Pt

        run = para.add_run(self.text(text))
        run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
        if size:
            run.font.size = Pt(size)
        return run

    def heading(self, text: str, *, level: int = 2) -> None:
        para = self.para(text, bold=True, italic=level == 3, align="left", after=4)
        para.paragraph_format.keep_with_next = True

    def table(self, header: list[str] | None, rows: list[Any], *, widths: list[float] | None = None,
              size: float = TABLE_PT) -> Any:
        from docx.shared import Pt

        table = self.doc.add_table(rows=0 if header is None else 1, cols=len(header or rows[0]))
        table.style = "Table Grid"
        if header is not None:
            self._head(table, header, size)
        for values in rows:
            cells = table.add_row().cells
            if isinstance(values, Wide):
                para = cells[1].merge(cells[-1]).paragraphs[0]
                para.paragraph_format.space_after = Pt(0)
                self.run(para, str(values), italic=True, size=SMALL_PT)
                continue
            for cell, value in zip(cells, values, strict=True):
                lines = value if isinstance(value, list) else [value]
                para = cell.paragraphs[0]
                for n, line in enumerate(lines):
                    if n:
                        para = cell.add_paragraph()
                    para.paragraph_format.space_after = Pt(0)
                    bold = isinstance(line, tuple)
                    self.run(para, line[0] if bold else ("" if line is None else str(line)), bold=bold, size=size)
        if widths:
            scale = TEXT_WIDTH_MM / sum(widths)
            _set_widths(table, [x * scale for x in widths])
        self.doc.add_paragraph().paragraph_format.space_after = Pt(2)
        return table

    def _head(self, table: Any, header: list[str], size: float) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement

        head = table.rows[0]
        repeat = OxmlElement("w:tblHeader")  # repeat the header row on every page
        repeat.set(_qn("w:val"), "true")
        head._tr.get_or_add_trPr().append(repeat)
        for cell, label in zip(head.cells, header, strict=True):
            para = cell.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            self.run(para, label, bold=True, size=size)

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK

        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def save(self, stamp: dt.datetime, author: str, title: str) -> bytes:
        props = self.doc.core_properties
        props.author = props.last_modified_by = author
        props.title = title
        props.created = props.modified = stamp.replace(tzinfo=None)
        props.revision = 1
        raw = io.BytesIO()
        self.doc.save(raw)
        return _fixed_zip(raw.getvalue(), stamp)


def _set_widths(table: Any, widths_mm: list[float]) -> None:
    """Fixed column widths that Word and LibreOffice both honour (grid columns and every cell)."""
    from docx.shared import Mm

    table.autofit = False
    for col, width in zip(table._tbl.tblGrid.gridCol_lst, widths_mm, strict=True):
        col.w = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return str(qn(tag))


def _fixed_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """The same package with every member dated ``stamp`` (so equal data gives equal bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def render_docx(data: ReportData, *, template_dir: Path | None = None) -> bytes:
    """The agency report as .docx bytes (same parts and words as the PDF; no embedded evidence)."""
    _env, t, labels = prepare_env(template_dir, data.lang)
    ctx = agency_context(data, t)
    body, say, kinds = ctx["B"], ctx["say"], ctx["kinds"]
    ar, a = t["ar"], data.agency
    w = DocxWriter(data.lang)
    status_of = labels["status"]

    def status(code: str, overdue: bool) -> list[Any]:
        return [status_of[code]] + ([t["overdue"]] if overdue else [])

    docx_header(w, t, a, data.as_of)
    w.para(t["title"], bold=True, size=14, align="center", after=0)
    w.para(t["subtitle"], bold=True, align="center", after=12)
    docs = ", ".join(t["document_ref"].format(kind=c["document_kind"] or "", number=c["document"],
                                              date=vndate(c["document_date"])) for c in data.checklists)
    w.para(t["intro"].format(documents=docs, agency=a["name"]), indent=True)

    w.heading(ar["b1"])
    for p in body["assessment"]:
        w.para(p, indent=True)
    w.heading(ar["b1_tasks"].format(plan=body["plan"]), level=3)
    w.table([t["col_no"], t["col_task"], t["col_deadline"], t["col_status"], ar["col_evidence"]],
            [[str(n), x["short"], vndate(x["deadline"]), status(x["status"], x["overdue"]),
              x["evidence_text"] or "—"] for n, x in enumerate(body["tasks"], 1)],
            widths=[10, 70, 24, 32, 29])
    w.para(ar["evidence_note_docx"], italic=True, size=10)
    if body["other"]:
        w.heading(ar["b1_other"], level=3)
        w.table([ar["col_plan"], ar["col_applicable"], ar["col_met"], ar["col_not_met"], ar["col_not_assessed"],
                 ar["col_overdue"]],
                [[o["title"], o["applicable"], o["met"], o["not_met"], o["not_assessed"], o["overdue"]]
                 for o in body["other"]], widths=[65, 20, 20, 20, 20, 20])
    w.heading(ar["b1_levels"], level=3)
    w.table([t["col_level"], t["col_total"], *t["dossier"].values()],
            [[t["level_n"].format(n=row["level"]) if row["level"] else t["level_unknown"], row["total"],
              *(row[k] for k in t["dossier"])] for row in data.summary["levels"] if row["total"]])

    w.heading(ar["b2"])
    w.heading(ar["b2_issues"], level=3)
    for p in body["issues"]:
        w.para(p, indent=True)
    w.heading(ar["b2_causes"], level=3)
    if body["causes_intro"]:
        w.para(body["causes_intro"], indent=True)
        for n, c in enumerate(body["causes"]):
            w.para(f"- {c}{'.' if n == len(body['causes']) - 1 else ';'}", indent=True)
    else:
        for c in body["causes"] or [ar["none"] + "."]:
            w.para(c, indent=True)

    w.heading(ar["b3"])
    for p in body["plan_text"]:
        w.para(p, indent=True)
    if body["plan_rows"]:
        w.table([t["col_no"], ar["col_what"], ar["col_who"], ar["col_when"]],
                [[str(n), x["what"], x["who"], x["when"]] for n, x in enumerate(body["plan_rows"], 1)],
                widths=[10, 85, 45, 25])
    w.heading(ar["b4"])
    for p in body["proposals"]:
        w.para(p, indent=True)
    w.para(t["verify_note"].format(generator=data.generator, as_of=vndate(data.as_of)), italic=True, size=SMALL_PT)
    docx_signature(w, t, a)

    # Phụ lục I: từng hệ thống
    annex_head = _annex_heads(w, t, data)
    annex_head("I", ar["pl1"])
    common = data.annex["common"]
    sec_common = 2 if common else None
    w.para(ar["pl1_intro"] + (" " + ar["pl1_intro_common"].format(sec=sec_common) if common else ""),
           italic=True, size=SMALL_PT)
    everyone = len(data.systems)

    def systems_ref(numbers: list[int], names: list[str]) -> str:
        if len(numbers) == everyone and everyone > 1:
            return str(ar["all_systems"].format(n=everyone))
        if len(numbers) <= 2:
            return "; ".join(names)
        return str(ar["systems_numbered"].format(list=", ".join(map(str, numbers))))

    def row_cells(n: int, x: dict[str, Any]) -> list[Any]:
        if x["common"]:
            what = [f"{ar['pl1_group'].format(n=x['n'], checklist=x['checklist']) if x['group'] else x['short']}"
                    f" ({ar['pl1_see_common'].format(n=x['common'])})"]
        elif x["group"]:
            what = [ar["pl1_group"].format(n=x["n"], checklist=x["checklist"])]
        else:
            what = [x["short"]]
        return [str(n), what, vndate(x["deadline"]), status(x["status"], x["overdue"]),
                [say(r) for r in x["reasons"][:3]] or [""]]

    def with_items(row: list[Any], x: dict[str, Any]) -> list[Any]:
        """The row, then the requirements of a group it stands for on a line of their own (as in the PDF)."""
        return [row, Wide("; ".join(x["items"]))] if x["group"] and not x["common"] else [row]

    def rows_table(rows: list[dict[str, Any]]) -> None:
        w.table([t["col_no"], t["col_item"], t["col_deadline"], t["col_status"], t["col_reason"]],
                [line for n, x in enumerate(rows, 1) for line in with_items(row_cells(n, x), x)],
                widths=[9, 50, 20, 30, 56], size=9)

    # 1. the systems, one row each; the review flags of their levels written once below
    w.heading(f"1. {ar['pl1_systems']}", level=3)
    facts = []
    for n, s in enumerate(data.systems, 1):
        level = s["level"]
        suggested = s["suggested_level"]["range"] if s["suggested_level"] else "—"
        hosting = ar["hosting"].get(s["hosting"], t["unknown"]) if s["hosting"] else ar["trait_hosting_unknown"]
        scope = (ar["scope"]["none"] if s["infrastructure_scope"] == "none" else
                 f"{ar['trait_scope']}: " + (ar["scope"].get(s["infrastructure_scope"], t["unknown"])
                                             if s["infrastructure_scope"] else t["unknown"]).lower())
        traits = [ar["trait_critical"][str(s["critical"]).lower() if s["critical"] is not None else "none"]]
        if s["restricted_sector"] != "none":
            traits.append(f"{t['fact']['restricted_sector']}: {ar['restricted'][s['restricted_sector']]}")
        traits += [hosting, scope]
        lvl = (f"{level['proposed'] or '—'} / {level['approved'] or '—'} / {suggested}"
               f" ({t['dossier'][level['dossier_state']]})")
        if level.get("decision_number"):
            lvl += f"; {t['level_decision'].lower()} {level['decision_number']}, {vndate(level['decision_date'])}"
        if s["code"] in data.annex["level_refs"]:
            refs = ", ".join(map(str, data.annex["level_refs"][s["code"]]))
            lvl += " (" + ar["level_note_ref"].format(list=refs) + ")"
        facts.append([str(n), [(s["name"],), s["purpose"] or ""],
                      f"{s['owner'] or '—'} / {s['operator'] or '—'}", traits,
                      "; ".join(h["address"] + (f" ({', '.join(map(str, h['ports']))})" if h["ports"] else "")
                                for h in s["hosts"]) or "—", lvl])
    w.table([t["col_no"], ar["col_system_name"], ar["col_owner_operator"], ar["col_traits"], t["fact"]["hosts"],
             ar["col_level_triple"]], facts, widths=[9, 45, 25, 35, 22, 29], size=9)
    if data.annex["level_notes"]:
        w.para(ar["pl1_level_notes"], bold=True, size=SMALL_PT, align="left", after=2)
        for x in data.annex["level_notes"]:
            w.para(f"{x['no']}. {say(x['text'])} ({systems_ref(x['system_numbers'], x['systems'])}).",
                   size=SMALL_PT, align="left", after=2)
    section = 1
    # 2. rows alike in several systems, once
    if common:
        section += 1
        w.heading(f"{section}. {ar['pl1_common']}", level=3)
        w.table([ar["col_ref"], t["col_item"], t["col_status"], t["col_reason"], ar["col_systems"]],
                [line for x in common for line in with_items(
                    [ar["common_no"].format(n=x["no"]),
                     [ar["pl1_group"].format(n=x["n"], checklist=x["checklist"]) if x["group"] else x["short"]],
                     status(x["status"], x["overdue"]), [say(r) for r in x["reasons"][:1]] or [""],
                     systems_ref(x["system_numbers"], x["systems"])], {**x, "common": None})],
                widths=[9, 60, 30, 33, 33], size=9)
    # 3. each system's own rows
    section += 1
    w.heading(f"{section}. {ar['pl1_own']}", level=3)
    for n, s in enumerate(data.systems, 1):
        rows = data.annex["systems"][s["code"]]
        own = [x for x in rows if not x["common"]]
        shared = sorted({x["common"] for x in rows if x["common"]})
        w.para(f"{section}.{n}. {s['name']}", bold=True, size=11, align="left", after=2).paragraph_format \
            .keep_with_next = True
        if own:
            rows_table(own)
        note = (ar["pl1_common_refs"].format(sec=sec_common, list=", ".join(map(str, shared))) + " " if shared
                else ar["pl1_no_own"] + " " if not own else "")
        w.para(note + t["not_applicable_count"].format(n=s["not_applicable"]), size=SMALL_PT, align="left")
    # 4. the agency-wide rows
    if data.annex["agency"]:
        section += 1
        w.heading(f"{section}. {ar['pl1_agency']}", level=3)
        rows_table(data.annex["agency"])

    # Phụ lục II: minh chứng
    annex_head("II", ar["pl2"])
    w.para(ar["pl2_intro_docx"], italic=True, size=SMALL_PT)
    if data.evidence_register:
        unlinked = t.get("evidence_unlinked") or ("not linked to any requirement" if data.lang == "en"
                                                  else "chưa gắn với yêu cầu nào")
        def used_for(e: dict[str, Any]) -> list[str]:
            return [f"{b['item']} ({'; '.join(b['systems'])})" if b["systems"] else b["item"]
                    for b in e["used_for"]] or [unlinked]

        w.table([ar["col_ref"], t["col_file"], t["col_kind"], ar["col_used_for"], t["col_effective"], t["col_sha"]],
                [[e["ref"], e["names"], "; ".join(kinds.get(k, k) for k in e["kinds"]), used_for(e),
                  vndate(e["effective"]), e["sha256"]] for e in data.evidence_register],
                widths=[16, 35, 22, 45, 20, 27], size=8)
    else:
        w.para(t["no_evidence"])

    # Phụ lục III: quét kỹ thuật
    annex_head("III", ar["pl3"])
    names = data.names["systems"]
    if not data.scans:
        w.para(t["no_scans"])
    else:
        w.heading(ar["pl3_problems"], level=3)
        if data.annex["problems"]:
            w.table([t["col_no"], ar["col_problem"], t["col_severity"], ar["col_systems"], ar["col_where"]],
                    [[str(n), f["title"], t["severity"][f["severity"]], "; ".join(f["systems"]), ", ".join(f["where"])]
                     for n, f in enumerate(data.annex["problems"], 1)], widths=[9, 60, 22, 42, 32], size=9)
        else:
            w.para(t["no_findings"])
        w.heading(ar["pl3_scans"], level=3)
        w.table([t["scan_no"], t["col_system"], t["scan_time"], t["scan_status"], t["scan_tool"]],
                [[str(sc["id"]), names.get(sc["system"], sc["system"]) if sc["system"] else "—",
                  vndatetime(sc["started"]), ar["scan_status"].get(sc["status"], t["scan_incomplete"]),
                  f"nmap {sc['nmap_version'] or '?'}; {sc['operator']}"] for sc in data.scans],
                widths=[14, 50, 32, 27, 42], size=9)
        for sc in data.scans:
            line = f"{ar['pl3_cmd'].format(id=sc['id'])}: {' '.join(sc['argv'] or [])}"
            if sc["xml_sha256"]:
                line += "; " + ar["pl3_xml"].format(name=f"scan-{sc['id']}.xml", sha=sc["xml_sha256"])
            w.para(line, size=7.5, align="left", after=2)

    # Phụ lục IV: miễn trừ
    annex_head("IV", ar["pl4"])
    if data.waivers:
        w.table([t["col_item"], t["col_system"], t["col_reason_w"], t["col_approver"], t["col_until"]],
                [[data.names["items"].get(f"{x['checklist']}:{x['item']}", x["item"]),
                  names.get(x["system"], x["system"]) if x["system"] else "—", x["reason"], x["approved_by"],
                  [vndate(x["until"])] + ([t["waiver_expired"]] if not x["active"] else [])] for x in data.waivers],
                widths=[45, 35, 45, 25, 20], size=9)
    else:
        w.para(t["no_waivers"])

    stamp = dt.datetime.combine(data.as_of, dt.time(0, 0))
    return w.save(stamp, a["name"], f"{t['title']} — {a['name']}")


def docx_header(w: DocxWriter, t: dict[str, Any], a: dict[str, Any], day: dt.date) -> None:
    """NĐ 30 boxes 1–4: issuer on the left, Quốc hiệu and Tiêu ngữ on the right, number and place-date."""
    table = w.doc.add_table(rows=2, cols=2)
    left, right = table.rows[0].cells
    if a.get("parent"):
        w.run(left.paragraphs[0], a["parent"].upper(), size=12.5)
        name_para = left.add_paragraph()
    else:
        name_para = left.paragraphs[0]
    for n, line in enumerate(_balanced_lines(a["name"].upper())):
        if n:
            name_para.add_run().add_break()
        w.run(name_para, line, bold=True, size=12.5, underline=True)
    w.run(right.paragraphs[0], t["national_name"], bold=True, size=12.5)
    w.run(right.add_paragraph(), t["motto"], bold=True, size=13.5, underline=True)
    symbol = f"-{a['symbol'].upper()}" if a.get("symbol") else ""
    w.run(table.rows[1].cells[0].paragraphs[0], f"{t['number']}:      /BC{symbol}", size=13)
    w.run(table.rows[1].cells[1].paragraphs[0],
          t["date_line"].format(place=a.get("place") or a.get("province"), d=f"{day.day:02d}", m=f"{day.month:02d}",
                                y=day.year), italic=True, size=13)
    _centre(table)
    _set_widths(table, [62, 103])
    w.para("", after=6)


def _balanced_lines(name: str, width: int = 24) -> list[str]:
    """The issuer's name on one line, or two split between words near the middle (never mid-name)."""
    words = name.split()
    if len(name) <= width or len(words) < 2:
        return [name]
    cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return [" ".join(words[:cut]), " ".join(words[cut:])]


def _centre(table: Any) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    for row in table.rows:
        for cell in row.cells:
            for para in cell.paragraphs:
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
                para.paragraph_format.space_after = Pt(0)


def docx_signature(w: DocxWriter, t: dict[str, Any], a: dict[str, Any]) -> None:
    """NĐ 30 boxes 7 and 9b: Nơi nhận on the left, the signer on the right."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    table = w.doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    w.run(left.paragraphs[0], f"{t['recipients']}:", bold=True, italic=True, size=12)
    recipients = [str(x).strip().strip(";.,").strip() for x in a.get("recipients") or []]
    for n, x in enumerate(recipients):
        para = left.add_paragraph()
        para.paragraph_format.space_after = Pt(0)
        w.run(para, f"- {x}{'.' if n == len(recipients) - 1 else ';'}", size=11)
    signer = a.get("signer")
    if signer:
        first = right.paragraphs[0]
        if signer.get("authority"):
            w.run(first, f"{signer['authority']} {(signer.get('on_behalf_of') or '').upper()}", bold=True)
            first = right.add_paragraph()
        w.run(first, (signer.get("title") or "").upper(), bold=True)
        for _ in range(4):
            right.add_paragraph()
        w.run(right.add_paragraph(), signer.get("name") or "", bold=True)
        for para in right.paragraphs:
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            para.paragraph_format.space_after = Pt(0)
    _set_widths(table, [75, 90])


def _annex_heads(w: DocxWriter, t: dict[str, Any], data: ReportData) -> Any:
    ar, a = t["ar"], data.agency

    def head(number: str, title: str) -> None:
        w.page_break()
        w.para(ar["annex"].format(n=number), bold=True, align="center", after=0)
        w.para(title, bold=True, align="center", after=0)
        w.para(ar["annex_of"].format(symbol=f"-{a['symbol'].upper()}" if a.get("symbol") else "",
                                     date=vndate(data.as_of), agency=a["name"]), italic=True, align="center")

    return head
