"""The province roll-up that fits (issue 15): landscape A4, honest totals, matching colours, a working page.

Read back with the real tools: pdfinfo and ``pdftotext -bbox`` (where every word sits on the page), pypdf
(the link annotations), headless Chromium (the filter recounting the totals; the page without JavaScript).
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import AS_OF, answer_example

from secaudit.inventory import records as inventory
from secaudit.reporting import rollup
from secaudit.reporting.province import COUNT_ORDER, AgencyRow, Cell, TaskColumn, assemble, build_province
from secaudit.reporting.render import STATUS_COLOURS
from secaudit.requirements.content import Library
from secaudit.requirements.results import LABELS, Status
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

A4_LANDSCAPE = (841.89, 595.276)
MM = 72 / 25.4
VI = {s.value: label for s, label in LABELS["vi"].items()}


def _pdftotext(pdf: bytes, *args: str) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", *args, "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def _pdfinfo(pdf: bytes) -> dict[str, str]:
    done = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in done.stdout.decode().splitlines())}


def _workspace(tmp: Path, *, skip: tuple[str, ...] = ()) -> tuple[Workspace, Library]:
    ws = Workspace.create(tmp / "ws")
    files = [f for f in inventory.inventory_files(EXAMPLES / "inventory") if f.stem not in skip]
    inventory.import_agencies(ws, inventory.load_agencies(files), actor="pytest", source="examples")
    lib = Library()
    if "so-khcn" not in skip:
        answer_example(ws, lib, tmp)
    return ws, lib


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example province (so-khcn answered), rolled up on 22/11/2026: every KH 04 deadline has passed."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils is not installed")
    tmp = tmp_path_factory.mktemp("rollup")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")  # answers are recorded at the clock's time
        ws, lib = _workspace(tmp)
        profile = lib.resolve_profile("tu-danh-gia")
        data = build_province(ws, lib, None, as_of=dt.date(2026, 11, 22), profile=profile)
        out = {"data": data, "html": rollup.render_html(data).decode("utf-8"),
               "pdf": rollup.render(data, fmt="pdf"), "tmp": tmp}
    yield out
    ws.close()


# -- totals -----------------------------------------------------------------------------------------
def test_every_cell_is_counted_in_exactly_one_status_and_overdue_apart(rolled: Any) -> None:
    data = rolled["data"]
    assert len(data.agencies) == 5 and len(data.tasks) == 6
    for i, task in enumerate(data.totals["per_task"]):
        shown = [a.cells[i].counted for a in data.agencies]
        assert sum(task["counts"].values()) == len(data.agencies)
        for status in COUNT_ORDER:
            assert task["counts"][status] == shown.count(status), (task["id"], status)
        assert task["overdue"] == sum(1 for a in data.agencies if a.cells[i].overdue)
    # the case of the issue: cells read CHƯA ĐẠT + QUÁ HẠN, and the totals say so (not "Chưa đạt: 0")
    t5 = data.totals["per_task"][4]  # so-khcn answered t5 "chưa đạt"; the deadline has passed for everyone
    assert t5["counts"]["chua-dat"] == 1 and t5["counts"]["chua-danh-gia"] == 4 and t5["overdue"] == 5
    assert data.totals["classes"] == {"overdue": 5, "not_met": 0, "pending": 0, "met": 0}


def test_pdf_totals_row_shows_the_same_counts_as_the_cells(rolled: Any) -> None:
    text = " ".join(_pdftotext(rolled["pdf"]).split())
    for line in (f"{VI['chua-dat']}: 1", f"{VI['chua-danh-gia']}: 4", "Quá hạn: 5"):  # task 5's totals cell
        assert line in text, line
    assert "Chưa đạt: 0" not in text and "CHƯA ĐẠT: 0" not in text  # zero lines are not printed


def test_cells_are_the_kh04_results_of_the_full_profile(rolled: Any) -> None:
    """The roll-up evaluates only KH 04 (three times cheaper); the cells are what the whole profile gives."""
    from secaudit.reporting.assessment import evaluate_agency

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
        ws = Workspace.open(rolled["tmp"] / "ws")
        lib = Library()
        try:
            for agency in rolled["data"].agencies:
                full = evaluate_agency(ws, lib, agency.code, as_of=dt.date(2026, 11, 22),
                                       profile=lib.resolve_profile("tu-danh-gia"))
                by_id = {r.item: r for r in full.results if r.checklist == "kh04-bcdtw"}
                assert [(c.status, c.overdue) for c in agency.cells] == [
                    (by_id[t["id"]].status.value, by_id[t["id"]].overdue) for t in rolled["data"].tasks]
        finally:
            ws.close()


# -- fits the page ----------------------------------------------------------------------------------
def test_pdf_is_landscape_a4_and_every_word_lies_inside_the_page(rolled: Any) -> None:
    info = _pdfinfo(rolled["pdf"])
    assert info["Page size"].startswith("841.89 x 595.276")
    boxes = _pdftotext(rolled["pdf"], "-bbox")
    words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', boxes)
    assert len(words) > 300
    right = A4_LANDSCAPE[0] - 15 * MM + 1  # right margin 15 mm
    outside = [(w, float(x1)) for x0, x1, w in words if float(x1) > right or float(x0) < 20 * MM - 1]
    assert not outside, outside[:10]
    text = " ".join(_pdftotext(rolled["pdf"]).split())
    assert "6. Trung tâm giám sát" in text  # the last task column, clipped in portrait
    assert {w for _, _, w in words} >= {"Phát", "hiện", "mở"}  # the last column's heading


# -- charts and legend ------------------------------------------------------------------------------
def test_chart_colours_match_the_legend_and_each_status_has_its_own(rolled: Any) -> None:
    page = rolled["html"]
    legend = dict((htmllib.unescape(label), colour) for colour, label in re.findall(
        r'<span class="swatch" style="background: (#[0-9a-f]{6})"></span>([^<]+)</span>', page))
    assert {VI[s] for s in COUNT_ORDER} <= set(legend)
    for status in COUNT_ORDER:
        assert legend[VI[status]] == STATUS_COLOURS[status]
    assert legend[VI["chua-danh-gia"]] != legend[VI["chua-dat"]]  # not folded into red
    data = rolled["data"]
    segments = re.findall(r'<rect data-s="([a-z-]+)" x="[\d.]+" y="(\d+)" width="[\d.]+" height="\d+"'
                          r' fill="(#[0-9a-f]{6})"/>', page)
    assert segments
    for status, _, colour in segments:
        assert colour == STATUS_COLOURS[status]
    drawn = {(s, int(y)) for s, y, _ in segments}
    rows = sorted({int(y) for _, y, _ in segments})
    for task, y in zip(data.totals["per_task"], rows, strict=True):
        assert {s for s, yy in drawn if yy == y} == {s for s, n in task["counts"].items() if n}


# -- the page: links, ordering, JavaScript on and off ------------------------------------------------
def test_each_agency_links_to_its_detail_row_in_html_and_pdf(rolled: Any) -> None:
    import io

    import pypdf

    page = rolled["html"]
    for agency in rolled["data"].agencies:
        assert f'<a href="#ag-{agency.code}">' in page
        assert page.count(f'id="ag-{agency.code}"') == 1
    reader = pypdf.PdfReader(io.BytesIO(rolled["pdf"]))
    links = [a.get_object() for p in reader.pages for a in (p.get("/Annots") or [])
             if a.get_object().get("/Subtype") == "/Link"]
    assert len(links) >= len(rolled["data"].agencies)
    assert all("/URI" not in (link.get("/A") or {}) for link in links)  # internal links only


def test_contradictions_then_overdue_come_first_and_submissions_are_shown() -> None:
    tasks = [TaskColumn(id=f"t{i}", short=f"Nhiệm vụ {i}", title=f"Nhiệm vụ {i}", deadline="2026-04-30")
             for i in (1, 2)]

    def row(code: str, *cells: Cell, submitted: str | None = None, late: bool | None = None) -> AgencyRow:
        return AgencyRow(code=code, name=code.upper(), cells=list(cells), submitted=submitted, late=late)

    rows = [
        row("met", Cell("dat"), Cell("khong-ap-dung"), submitted="2026-05-20", late=False),
        row("late", Cell("chua-dat", overdue=True), Cell("dat"), late=True),
        row("contra", Cell("chua-dat", claim="dat", verification="chua-dat", agreement="mau-thuan"), Cell("dat"),
            submitted="2026-05-28", late=True),
        row("pending", Cell(None), Cell("dat"), submitted="2026-05-01", late=False),
    ]
    data = assemble(tasks, rows, lang="vi", as_of=dt.date(2026, 11, 22), province="Nghệ An", issuer=None,
                    source="submissions")
    assert [a.code for a in data.agencies] == ["contra", "late", "pending", "met"]
    assert data.totals["contradictions"] == 1 and data.totals["late"] == 2
    assert data.totals["per_task"][0]["counts"]["chua-danh-gia"] == 1  # no result at all counts as not assessed
    page = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", rollup.render_html(data).decode())).split())
    for expected in ("Nộp báo cáo", "Mâu thuẫn", "MÂU THUẪN", "khai: ĐẠT", "20/05/2026", "chưa nộp", "(muộn)",
                     "(đúng hạn)", "báo cáo các cơ quan, đơn vị đã gửi"):
        assert expected in page, expected
    plain = rollup.render_html(assemble(tasks, [row("a", Cell("dat"), Cell("dat"))], lang="vi",
                                        as_of=dt.date(2026, 11, 22), province="Nghệ An", issuer=None)).decode()
    assert "Nộp báo cáo" not in plain and "Mâu thuẫn" not in plain  # only when the data has them


def test_header_without_a_known_issuer_leaves_blank_lines(tmp_path: Path, pinned_now: str) -> None:
    ws, lib = _workspace(tmp_path, skip=("cong-an-tinh", "so-khcn"))
    try:
        data = build_province(ws, lib, None, as_of=AS_OF, profile=lib.resolve_profile("tu-danh-gia"))
        pdf = rollup.render(data, fmt="pdf")
    finally:
        ws.close()
    first = _pdftotext(pdf, "-f", "1", "-l", "1")
    flat = " ".join(first.split())
    assert "TỈNH NGHỆ AN" not in first and "Tỉnh Nghệ An" not in first
    assert not re.search(r"/BC(?:\s|-|$)", first) and "Hình thức" not in first
    assert "Số:" in flat and "Nghệ An, ngày 01 tháng 05 năm 2026" in flat
    assert "Nguồn số liệu" in flat


def _chromium(args: list[str], tmp_path: Path) -> str:
    exe = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
    if exe is None:
        pytest.skip("Chromium is not installed")
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", *args]
    done = subprocess.run(argv, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    return done.stdout.decode("utf-8")


def _footer_counts(dom: str) -> list[dict[str, int]]:
    foot = dom[dom.index("<tfoot>"):dom.index("</tfoot>")]
    cells = re.findall(r'<td class="tot">(.*?)</td>', foot, re.S)
    return [{s: int(n) for s, n in re.findall(r'data-s="([a-z-]+)" data-n="(\d+)"', c)} for c in cells]


def test_html_totals_follow_the_filter_in_chromium(rolled: Any, tmp_path: Path) -> None:
    page = tmp_path / "tong-hop.html"
    page.write_text(rolled["html"], encoding="utf-8")
    data = rolled["data"]
    dom = _chromium(["--dump-dom", page.as_uri() + "#q=khoa%20hoc"], tmp_path)
    assert '<html lang="vi" class="js">' in dom  # the script ran and took the no-js class off
    khcn = next(a for a in data.agencies if a.code == "so-khcn")
    footer = _footer_counts(dom)
    for i, counts in enumerate(footer):
        expected = {s: int(khcn.cells[i].counted == s) for s in COUNT_ORDER}
        assert {s: counts[s] for s in COUNT_ORDER} == expected, i
        assert counts["overdue"] == int(khcn.cells[i].overdue)
    assert re.search(r'class="shown-count">1<', dom)
    everything = _footer_counts(_chromium(["--dump-dom", page.as_uri()], tmp_path))
    assert [c["chua-dat"] for c in everything] == [t["counts"]["chua-dat"] for t in data.totals["per_task"]]


def test_without_javascript_the_controls_are_hidden(rolled: Any, tmp_path: Path) -> None:
    html = rolled["html"]
    assert '<html lang="vi" class="no-js">' in html and 'class="controls needs-js"' in html
    # a browser that runs no script: the same page with the script refused by its own CSP
    blocked = re.sub(r"script-src 'sha256-[^']+'", "script-src 'none'", html)
    assert blocked != html
    texts = {}
    for name, page_html in (("js", html), ("no-js", blocked)):
        page = tmp_path / f"{name}.html"
        page.write_text(page_html, encoding="utf-8")
        _chromium(["--no-pdf-header-footer", f"--print-to-pdf={tmp_path / name}.pdf", page.as_uri()], tmp_path)
        texts[name] = " ".join(_pdftotext((tmp_path / f"{name}.pdf").read_bytes()).split())
    assert "Lọc:" in texts["js"] and "Bấm vào tiêu đề cột" in texts["js"]
    assert "Lọc:" not in texts["no-js"] and "Bấm vào tiêu đề cột" not in texts["no-js"]
    assert "Sở Khoa học và Công nghệ" in texts["no-js"]  # the page itself is all there
    assert 'id="controls"' not in rollup.render_html(rolled["data"], interactive=False).decode()  # PDF path


def test_status_order_counts_every_status() -> None:
    assert set(COUNT_ORDER) == {s.value for s in Status}
