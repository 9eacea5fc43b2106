"""Text hygiene: invisible format characters shown as <U+XXXX> in every document and listing, CSV cells
that would start a formula escaped (issue 13, item 6).

The hostile names are the issue's own: a right-to-left override that makes "gnp.exe" show as
"exe.png", and a cell that Excel would run as a formula. Documents are rendered for real (HTML,
weasyprint PDF read back with pdftotext, openpyxl XLSX) through the CLI.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from secaudit.text import csv_cell, visible, visible_data, visible_html

from conftest import EXAMPLES

RLO = "\u202e"
SYSTEM_NAME = f"Cổng {RLO}gnp.exe"
SHOWN = "Cổng <U+202E>gnp.exe"
AGENCY_NAME = '=HYPERLINK("http://evil.example","Sở Y tế")'
FILE_NAME = f"bien-ban-{RLO}gnp.exe"


def _has_format_char(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cf" for ch in text)


# -- the helpers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "shown"), [
    (f"{RLO}gnp.exe", "<U+202E>gnp.exe"),
    ("a\u202ab\u202cc", "a<U+202A>b<U+202C>c"),
    ("x\u2066y\u2069", "x<U+2066>y<U+2069>"),
    ("zero\u200bwidth\u200d\u200e\u200f", "zero<U+200B>width<U+200D><U+200E><U+200F>"),
    ("\ufeffbom", "<U+FEFF>bom"),
    ("Sở Y tế Nghệ An", "Sở Y tế Nghệ An"),  # Vietnamese letters are not format characters
])
def test_visible_escapes_format_characters(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert not _has_format_char(visible(raw))


def test_visible_html_and_nested_data() -> None:
    assert visible_html(f"<b>{RLO}x</b>") == "<b>&lt;U+202E&gt;x</b>"
    assert visible_data({f"k{RLO}": [f"v{RLO}", 5, None, {"n": RLO}]}) == {
        "k<U+202E>": ["v<U+202E>", 5, None, {"n": "<U+202E>"}]}


@pytest.mark.parametrize(("raw", "cell"), [
    ("=1+1", "'=1+1"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-5", "-5"),  # a plain number is harmless
    ("+84.5", "+84.5"),
    ("-1.5e3", "-1.5e3"),
    ("Sở Y tế", "Sở Y tế"),
    ("a=b", "a=b"),
    ("", ""),
    (f"{RLO}=x", "<U+202E>=x"),
    (5, 5),
    (None, None),
])
def test_csv_cell(raw: object, cell: object) -> None:
    assert csv_cell(raw) == cell


# -- through the CLI ------------------------------------------------------------------------------
@pytest.fixture
def hostile(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """so-y-te with a formula for a name, an RLO in a system name and in an evidence file name."""
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    text = (EXAMPLES / "inventory" / "so-y-te.yaml").read_text(encoding="utf-8")
    text = text.replace("name: Sở Y tế\n", f"name: '{AGENCY_NAME}'\n", 1)
    text = text.replace("name: Hệ thống hồ sơ sức khỏe điện tử tỉnh Nghệ An", f"name: {SYSTEM_NAME}", 1)
    path = tmp_path / "so-y-te.yaml"
    path.write_text(text, encoding="utf-8")
    assert cli("init").code == 0
    result = cli("inventory", "import", str(path))
    assert result.code == 0, result.err
    evidence = tmp_path / FILE_NAME
    evidence.write_bytes(b"MZ not really an executable\n")
    result = cli("answer", "set", "kh04-bcdtw:t5-giam-sat", "--agency", "so-y-te", "--status", "dat",
                 "--note", f"Hợp đồng {RLO}fdp.exe", "--evidence", str(evidence))
    assert result.code == 0, result.err
    return tmp_path


def test_csv_listing_escapes_formulas_and_shows_bidi(cli, hostile: Path) -> None:
    out = cli("agency", "list", "--format", "csv")
    assert out.code == 0, out.err
    rows = list(csv.reader(io.StringIO(out.out)))
    assert any(cell == "'" + AGENCY_NAME for row in rows for cell in row), rows
    assert not any(cell[:1] in ("=", "+", "@") for row in rows for cell in row)
    systems = cli("system", "list", "--agency", "so-y-te", "--format", "csv")
    # the UTF-8 BOM that leads the CSV (issue 17, for Excel) is the file's signature, not data
    assert systems.code == 0 and SHOWN in systems.out and not _has_format_char(systems.out.removeprefix("\ufeff"))


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_table_and_json_listings_show_bidi(cli, hostile: Path, fmt: str) -> None:
    out = cli("system", "list", "--agency", "so-y-te", "--format", fmt)
    assert out.code == 0, out.err
    assert SHOWN in (out.out if fmt == "table" else json.dumps(json.loads(out.out), ensure_ascii=False))
    assert not _has_format_char(out.out)


def test_html_report_shows_bidi(cli, hostile: Path) -> None:
    html = hostile / "report.html"
    result = cli("report", "so-y-te", "--format", "html", "-o", str(html), "--as-of", "2026-11-22")
    assert result.code in (0, 3), result.err
    text = html.read_text(encoding="utf-8")
    assert not _has_format_char(text)
    assert "&lt;U+202E&gt;gnp.exe" in text  # the system name, and the evidence file name
    assert "bien-ban-&lt;U+202E&gt;gnp.exe" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext not installed")
def test_pdf_level_sheet_and_report_show_bidi(cli, hostile: Path) -> None:
    sheet = hostile / "sheet.pdf"
    result = cli("level", "sheet", "hssk-dien-tu", "--format", "pdf", "-o", str(sheet), "--as-of", "2026-11-22")
    assert result.code == 0, result.err
    text = subprocess.run(["pdftotext", str(sheet), "-"], capture_output=True, check=True, text=True).stdout
    assert "<U+202E>gnp.exe" in " ".join(text.split()) and RLO not in text
    report = hostile / "report.pdf"
    result = cli("report", "so-y-te", "--format", "pdf", "-o", str(report), "--as-of", "2026-11-22")
    assert result.code in (0, 3), result.err
    text = subprocess.run(["pdftotext", str(report), "-"], capture_output=True, check=True, text=True).stdout
    assert "<U+202E>gnp.exe" in " ".join(text.split()) and RLO not in text


def test_xlsx_report_shows_bidi(cli, hostile: Path) -> None:
    from openpyxl import load_workbook

    path = hostile / "report.xlsx"
    result = cli("report", "so-y-te", "--format", "xlsx", "-o", str(path), "--as-of", "2026-11-22")
    assert result.code in (0, 3), result.err
    book = load_workbook(path)
    cells = [str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value]
    assert not any(_has_format_char(c) for c in cells)
    assert any("<U+202E>gnp.exe" in c for c in cells)
