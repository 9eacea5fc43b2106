"""Section V.1 of the agency report: every stored document once, whatever its kind, and the summary
count equal to the list. Real parts: the example province, the interactive walk through click, an
nmap XML imported through ``scan import``, weasyprint and pdftotext."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from secaudit.cli import cli as root

from conftest import EXAMPLES, ROOT

NOW = "2026-11-22T09:00:00+07:00"
SOURCE = EXAMPLES / "evidence" / "so-khcn"
UNLINKED = "chưa gắn với yêu cầu nào"
# example files under names without hyphens, so no table cell of the PDF wraps them
PDF_NAME, LETTER_NAME = "bienbankhacphuc.pdf", "congvandaumoi.txt"
LGSP = "Nền tảng tích hợp, chia sẻ dữ liệu tỉnh Nghệ An (LGSP)"
PORTAL = "Cổng thông tin điện tử Sở Khoa học và Công nghệ"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    pdf, letter = folder / PDF_NAME, folder / LETTER_NAME
    pdf.write_bytes((SOURCE / "bien-ban-khac-phuc.pdf").read_bytes())
    letter.write_bytes((SOURCE / "cong-van-dang-ky-dau-moi.txt").read_bytes())
    return pdf, letter


@pytest.fixture
def province(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    return cli


def _import_scan(cli, tmp_path: Path) -> None:
    """A real nmap XML (the scanner tests' capture) moved onto lgsp-tinh's declared address."""
    text = (ROOT / "tests" / "scanning" / "data" / "loopback-services.xml").read_text(encoding="utf-8")
    hosts = re.findall(r"<host[ >].*?</host>", text, flags=re.S)
    for host in hosts[1:]:
        text = text.replace(host, "")
    path = tmp_path / "quet.xml"
    path.write_text(text.replace("127.0.7.1", "127.0.10.1"), encoding="utf-8")
    done = cli("scan", "import", str(path), "--system", "lgsp-tinh", "--agency", "so-khcn")
    assert done.code == 0, done.err


def _pdf_text(cli, tmp_path: Path) -> str:
    pdf = tmp_path / "so-khcn.pdf"
    done = cli("report", "so-khcn", "--format", "pdf", "-o", str(pdf))
    assert done.code == 0, done.err
    raw = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    return re.sub(r"\s+", " ", raw.decode("utf-8"))


def _section_v1(text: str) -> str:
    """Phụ lục II, the evidence register (it was section V.1 before the report had a body and annexes)."""
    return text[text.index("DANH MỤC TÀI LIỆU MINH CHỨNG"):text.index("KẾT QUẢ QUÉT KIỂM TRA KỸ THUẬT")]


def _summary_count(text: str) -> int:
    match = re.search(r"có (\d+) tệp minh chứng", text)
    assert match, text[:2000]
    return int(match.group(1))


def _html_rows(cli, tmp_path: Path) -> list[str]:
    html = tmp_path / "so-khcn.html"
    assert cli("report", "so-khcn", "--format", "html", "-o", str(html)).code == 0
    page = html.read_text(encoding="utf-8")
    table = re.search(r'<table class="grid evidence">(.*?)</table>', page, flags=re.S)
    assert table, "no evidence table"
    return re.findall(r"<tr><td class=\"ref\">.*?</tr>", table.group(1), flags=re.S)


def test_a_pdf_attached_as_a_scan_result_is_listed_in_v1(province, files, tmp_path: Path) -> None:
    cli = province
    pdf, _ = files
    walk = CliRunner().invoke(root, ["assess", "so-khcn", "--system", "lgsp-tinh"], input="\n".join([
        "d", "", "", str(pdf), "ket-qua-quet", "", "q"]) + "\n", catch_exceptions=False)
    assert walk.exit_code == 0, walk.output
    _import_scan(cli, tmp_path)  # the scanner's own XML is filed as a scan result too, and belongs in V.2

    text = _pdf_text(cli, tmp_path)
    section = _section_v1(text)
    assert PDF_NAME in section and "scan-1.xml" not in section
    rows = _html_rows(cli, tmp_path)
    # kinds, requirements and systems by their Vietnamese names, not their codes
    assert len(rows) == 1 and PDF_NAME in rows[0] and "kết quả dò quét" in rows[0] and "ket-qua-quet" not in rows[0]
    assert f"Khắc phục lỗ hổng bảo mật ({LGSP})" in rows[0]
    assert _summary_count(text) == len(rows)


def test_each_stored_file_is_listed_once_with_what_it_backs(province, files, tmp_path: Path) -> None:
    cli = province
    pdf, letter = files
    first = cli("evidence", "add", str(pdf), "--agency", "so-khcn", "--kind", "bien-ban")
    assert first.code == 0 and UNLINKED in first.err  # the command says the file backs nothing yet
    for system in ("lgsp-tinh", "cong-ttdt-skhcn"):
        done = cli("answer", "set", "kh04-bcdtw:t1-lo-hong", "--agency", "so-khcn", "--system", system,
                   "--status", "dat", "--evidence", str(pdf), "--kind", "bien-ban")
        assert done.code == 0, done.err
    assert cli("evidence", "add", str(letter), "--agency", "so-khcn", "--kind", "van-ban").code == 0
    listed = cli("evidence", "list", "--agency", "so-khcn")
    assert "kh04-bcdtw:t1-lo-hong (lgsp-tinh)" in listed.out and UNLINKED in listed.out

    rows = _html_rows(cli, tmp_path)
    assert len(rows) == 2  # three references to the PDF, one row; the letter on its own
    shared = next(r for r in rows if PDF_NAME in r)
    # the name once as the file (the attachment cell repeats it as "PL2-01-<name>")
    assert len(re.findall(rf"(?<![-\w]){re.escape(PDF_NAME)}", shared)) == 1
    assert "—" not in shared and UNLINKED not in shared
    # one line per requirement, naming every system the file backs it for
    assert shared.count("Khắc phục lỗ hổng bảo mật") == 1 and LGSP in shared and PORTAL in shared
    assert UNLINKED in next(r for r in rows if LETTER_NAME in r)

    text = _pdf_text(cli, tmp_path)
    section = _section_v1(text)
    def listed(name: str) -> int:  # as a file name, not inside its attachment name "PL2-01-<name>"
        return len(re.findall(rf"(?<![-\w]){re.escape(name)}", section))

    assert listed(PDF_NAME) == 1 and listed(LETTER_NAME) == 1
    assert "chưa gắn với yêu" in section and "—" not in section  # (the cell may wrap before "cầu nào")
    assert _summary_count(text) == len(rows) == 2


def test_english_report_names_an_unlinked_file(province, files, tmp_path: Path) -> None:
    cli = province
    _, letter = files
    assert cli("evidence", "add", str(letter), "--agency", "so-khcn").code == 0
    html = tmp_path / "en.html"
    assert cli("report", "so-khcn", "--format", "html", "--lang", "en", "-o", str(html)).code == 0
    assert "not linked to any requirement" in html.read_text(encoding="utf-8")


def test_item_link_without_an_agency_is_refused(province, files) -> None:
    """A link with no agency would back no assessment and appear in no report: refuse it up front."""
    result = province("evidence", "add", str(files[1]), "--item", "kh04-bcdtw:t4-lop-1")
    assert result.code == 1 and "--item cần đi kèm --agency" in result.err
