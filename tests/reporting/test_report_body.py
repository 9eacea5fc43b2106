"""The agency report as a document people sign (issue 15): a short body, annexes, the officer's words,
the evidence inside the PDF/A-3, and the same report in Word.

Real parts throughout: the example province and answers through the CLI, weasyprint, poppler
(pdftotext, pdfdetach, pdfinfo), pypdf, python-docx and, for the slow test, LibreOffice headless.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from secaudit.reporting import data as report_data

from conftest import EXAMPLES

NOW = "2026-11-22T09:00:00+07:00"
AS_OF = "2026-11-22"
AGENCIES = ("cong-an-tinh", "phuong-thanh-vinh", "so-khcn", "so-y-te", "vp-ubnd-tinh")


@pytest.fixture
def province(cli, monkeypatch: pytest.MonkeyPatch):
    """The example province with the example answers (and their evidence files) recorded."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext, pdfdetach) is not installed")
    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    for answers in sorted((EXAMPLES / "answers").glob("*.yaml")):
        assert cli("assess", answers.stem, "--answers", str(answers)).code == 0
    return cli


def _pages(pdf: Path) -> list[str]:
    count = len(pypdf.PdfReader(str(pdf)).pages)
    return [subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", str(n), "-l", str(n), str(pdf), "-"],
                           capture_output=True, check=True).stdout.decode("utf-8") for n in range(1, count + 1)]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _report(cli, tmp_path: Path, name: str, *args: str, agency: str = "so-khcn") -> Path:
    out = tmp_path / name
    done = cli("report", agency, "-o", str(out), "--as-of", AS_OF, *args)
    assert done.code == 0, done.err
    return out


@pytest.mark.slow
def test_every_example_body_is_signed_within_five_pages_before_the_annexes(province, tmp_path: Path) -> None:
    for agency in AGENCIES:
        pages = _pages(_report(province, tmp_path, f"{agency}.pdf", agency=agency))
        signed = [n for n, page in enumerate(pages, 1) if "Nơi nhận:" in page]
        annex = next(n for n, page in enumerate(pages, 1) if "KẾT QUẢ ĐÁNH GIÁ THEO TỪNG HỆ THỐNG" in _flat(page))
        assert len(signed) == 1 and signed[0] <= 5, (agency, signed)
        assert annex == signed[0] + 1, agency  # the annexes start on the page after the signature
        body = _flat(" ".join(pages[:signed[0]]))
        for part in ("I. KẾT QUẢ CHUNG", "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN", "III. KẾ HOẠCH KHẮC PHỤC",
                     "IV. KIẾN NGHỊ, ĐỀ XUẤT"):
            assert part in body, (agency, part)
        rest = _flat(" ".join(pages[signed[0]:]))
        for annex_title in ("Phụ lục I", "Phụ lục II", "Phụ lục III", "Phụ lục IV", "(Kèm theo Báo cáo số"):
            assert annex_title in rest, (agency, annex_title)


def test_each_task_cites_its_evidence_by_annex_number(province, tmp_path: Path) -> None:
    page = _report(province, tmp_path, "so-khcn.html").read_text(encoding="utf-8")
    tasks = re.search(r'<table class="grid tasks">(.*?)</table>', page, re.S).group(1)
    register = re.search(r'<table class="grid evidence">(.*?)</table>', page, re.S).group(1)
    numbers = re.findall(r'<td class="ref">(PL2-\d\d)</td>', register)
    assert numbers == [f"PL2-{n:02d}" for n in range(1, len(numbers) + 1)] and numbers
    channel = next(row for row in re.findall(r"<tr.*?</tr>", tasks, re.S) if "Kênh kết nối giám sát" in row)
    cited = [f"PL2-{n:02d}" for first, last in re.findall(r"PL2-(\d\d)(?:–PL2-(\d\d))?", channel)
             for n in range(int(first), int(last or first) + 1)]  # three or more in a row print as a range
    assert cited and set(cited) <= set(numbers)  # the monitoring-channel task rests on registered documents
    # what the task cites is what backs it: the connection minutes are among its documents
    row = next(r for r in re.findall(r"<tr>.*?</tr>", register, re.S) if "bien-ban-ket-noi-giam-sat" in r)
    assert re.search(r'<td class="ref">(PL2-\d\d)</td>', row).group(1) in cited


def test_the_officers_words_replace_the_generated_ones_for_their_period(province, tmp_path: Path) -> None:
    cli = province
    generated = _flat(" ".join(_pages(_report(cli, tmp_path, "before.pdf"))))
    assert "Chi tiết từng yêu cầu tại Phụ lục I." in generated  # generated shortcomings
    assert "Không có kiến nghị, đề xuất." in generated or "Đề nghị cơ quan có thẩm quyền" in generated

    issue = "Hai hệ thống chưa khắc phục xong lỗ hổng do chờ kinh phí năm 2027."
    wish = tmp_path / "kien-nghi.txt"
    wish.write_text("Đề nghị Sở Tài chính bố trí kinh phí thuê dịch vụ giám sát.\n\nĐề nghị Công an tỉnh hỗ trợ"
                    " kiểm tra.\n", encoding="utf-8")
    assert cli("report", "note", "so-khcn", "--section", "ton-tai", "--text", issue).code == 0
    assert cli("report", "note", "so-khcn", "--section", "kien-nghi", "--file", str(wish)).code == 0
    stale = cli("report", "note", "so-khcn", "--section", "nguyen-nhan", "--text", "Kỳ trước.", "--period", "2025")
    assert stale.code == 0
    narrow = "Nguyên nhân riêng của kỳ báo cáo ngày 22/11/2026."
    assert cli("report", "note", "so-khcn", "--section", "nguyen-nhan", "--text", "Nguyên nhân cả năm.").code == 0
    assert cli("report", "note", "so-khcn", "--section", "nguyen-nhan", "--text", narrow,
               "--period", "22/11/2026").code == 0

    text = _flat(" ".join(_pages(_report(cli, tmp_path, "after.pdf"))))
    assert issue in text and "Chi tiết từng yêu cầu tại Phụ lục I." not in text
    assert "Đề nghị Sở Tài chính bố trí kinh phí thuê dịch vụ giám sát." in text
    assert "Đề nghị Công an tỉnh hỗ trợ kiểm tra." in text
    assert narrow in text and "Nguyên nhân cả năm." not in text and "Kỳ trước." not in text
    # the facts stay: the task table and the annexes do not depend on the words
    assert "Khắc phục lỗ hổng bảo mật" in text and "DANH MỤC TÀI LIỆU MINH CHỨNG" in text

    shown = cli("report", "note", "so-khcn", "--show")
    assert shown.code == 0 and issue in shown.out and "Tồn tại, hạn chế" in shown.out
    log = cli("log", "--agency", "so-khcn", "--format", "json")  # each write is in the audit log
    assert log.code == 0 and sum(1 for e in json.loads(log.out) if e["action"] == "report.note") == 5


def test_bad_notes_are_refused_and_change_nothing(province, tmp_path: Path) -> None:
    cli = province
    assert cli("report", "note", "so-khcn", "--section", "ton-tai").code == 2  # no text
    assert cli("report", "note", "so-khcn", "--section", "khac", "--text", "x").code == 2
    bad_period = cli("report", "note", "so-khcn", "--section", "ton-tai", "--text", "x", "--period", "31/02/2026")
    assert bad_period.code == 1 and "Kỳ báo cáo không hợp lệ" in bad_period.err and "Traceback" not in bad_period.err
    assert cli("report", "note", "khong-co", "--section", "ton-tai", "--text", "x").code == 1
    assert cli("report", "note", "so-khcn", "--section", "ton-tai", "--text", "  \n ").code == 1
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert cli("report", "note", "so-khcn", "--section", "ton-tai", "--file", str(binary)).code == 2
    assert cli("report", "note", "so-khcn", "--show").out == ""


def test_the_pdf_carries_every_evidence_document_listed_in_its_manifest(province, tmp_path: Path) -> None:
    pdf = _report(province, tmp_path, "so-khcn.pdf")
    listing = subprocess.run(["pdfdetach", "-list", str(pdf)], capture_output=True, check=True).stdout.decode()
    out = tmp_path / "detached"
    out.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(out), str(pdf)], check=True, capture_output=True)
    manifest = json.loads((out / report_data.MANIFEST_NAME).read_text(encoding="utf-8"))
    documents = manifest["documents"]
    sources = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (EXAMPLES / "evidence" / "so-khcn").iterdir()}
    assert {d["sha256"] for d in documents} == sources  # every evidence file of the agency …
    for doc in documents:  # … is inside the PDF under its annex number, with the bytes the manifest names
        assert doc["attachment"].startswith(doc["annex_no"] + "-") and doc["attachment"] in listing
        assert hashlib.sha256((out / doc["attachment"]).read_bytes()).hexdigest() == doc["sha256"]
    text = _flat(" ".join(_pages(pdf)))
    assert all(doc["attachment"] in text.replace(" ", "") or doc["annex_no"] in text for doc in documents)
    reader = pypdf.PdfReader(str(pdf))  # still PDF/A-3b, with each file an associated file
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    related = {a.get_object()["/F"] for a in reader.trailer["/Root"]["/AF"]}
    assert {d["attachment"] for d in documents} <= related

    bare = _report(province, tmp_path, "bare.pdf", "--no-embed-evidence")
    listing = subprocess.run(["pdfdetach", "-list", str(bare)], capture_output=True, check=True).stdout.decode()
    assert "PL2-" not in listing and report_data.MANIFEST_NAME in listing
    assert "không đính kèm" in _flat(" ".join(_pages(bare)))


def test_documents_over_the_size_cap_are_listed_but_not_embedded(province, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_data, "EMBED_MAX_FILE", 200)  # the example files are larger than 200 bytes
    pdf = _report(province, tmp_path, "capped.pdf")
    reader = pypdf.PdfReader(str(pdf))
    assert not [name for name in reader.attachments if name.startswith("PL2-")]
    text = _flat(" ".join(_pages(pdf)))
    assert "vượt giới hạn dung lượng" in text and "PL2-01" in text


def test_format_follows_the_extension_and_a_wrong_one_is_refused(province, tmp_path: Path) -> None:
    cli = province
    assert _report(cli, tmp_path, "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert _report(cli, tmp_path, "r.docx").read_bytes()[:2] == b"PK"
    for fmt, name in (("pdf", "x.docx"), ("docx", "x.pdf"), ("html", "x.xlsx")):
        done = cli("report", "so-khcn", "--format", fmt, "-o", str(tmp_path / name))
        assert done.code == 2 and fmt in done.err, (fmt, name)
        assert not (tmp_path / name).exists()


def test_word_report_has_the_nd30_layout_and_the_same_parts(province, tmp_path: Path) -> None:
    import docx
    from docx.shared import Mm

    path = _report(province, tmp_path, "so-khcn.docx")
    document = docx.Document(str(path))
    section = document.sections[0]
    assert (round(section.page_width / Mm(1)), round(section.page_height / Mm(1))) == (210, 297)
    margins = [round(m / Mm(1)) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                          section.right_margin)]
    assert 20 <= margins[0] <= 25 and 20 <= margins[1] <= 25 and 30 <= margins[2] <= 35 and 15 <= margins[3] <= 20
    assert document.styles["Normal"].font.name == "Times New Roman"
    header = " ".join(c.text for row in document.tables[0].rows for c in row.cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header and "SỞ KHOA HỌC VÀ CÔNG NGHỆ" in header
    tasks = next(t for t in document.tables if "Minh chứng" in [c.text for c in t.rows[0].cells])
    assert len(tasks.rows) == 7 and any("PL2-" in c.text for row in tasks.rows for c in row.cells)
    text = " ".join(p.text for p in document.paragraphs)
    for part in ("I. KẾT QUẢ CHUNG", "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN", "III. KẾ HOẠCH KHẮC PHỤC",
                 "IV. KIẾN NGHỊ, ĐỀ XUẤT", "Phụ lục I", "Phụ lục IV"):
        assert part in text, part
    # a group's requirements on a row of their own across the table, not squeezed into the narrow column
    grouped = [row for table in document.tables for row in table.rows
               if len({id(c._tc) for c in row.cells}) == 2 and row.cells[1].text.count("; ") >= 2]
    assert grouped and all(not row.cells[0].text for row in grouped)
    assert not any(c.text.count("; ") >= 2 for t in document.tables if "Yêu cầu" in [c.text for c in t.rows[0].cells]
                   for row in t.rows if len({id(c._tc) for c in row.cells}) > 2 for c in row.cells[1:2])
    assert _report(province, tmp_path, "again.docx").read_bytes() == path.read_bytes()  # same data, same bytes


@pytest.mark.slow
def test_word_report_renders_in_libreoffice(province, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (Debian package libreoffice-writer) is not installed: cannot render the .docx")
    path = _report(province, tmp_path, "so-khcn.docx")
    out = tmp_path / "lo"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                    "--convert-to", "pdf", "--outdir", str(out), str(path)], check=True, capture_output=True,
                   timeout=300)
    pages = _pages(out / "so-khcn.pdf")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in pages[0] and "Độc lập - Tự do - Hạnh phúc" in pages[0]
    text = _flat(" ".join(pages))
    for expected in ("Kênh kết nối giám sát với Bộ Công an", "Minh chứng", "Nơi nhận:", "Phụ lục II"):
        assert expected in text, expected
    assert io.BytesIO((out / "so-khcn.pdf").read_bytes()).read(5) == b"%PDF-"


def test_attachment_names_are_plain_ascii_under_their_annex_number() -> None:
    name = report_data._attachment_name
    assert name("PL2-01", "QĐ-phân-công-lực-lượng-tại-chỗ.pdf") == "PL2-01-QD-phan-cong-luc-luong-tai-cho.pdf"
    assert name("PL2-02", "../../etc/passwd") == "PL2-02-etc-passwd"  # no path survives into the name
    assert name("PL2-03", "") == "PL2-03-tai-lieu"
    assert all(ch.isascii() for ch in name("PL2-04", "Biên bản kiểm tra — bản ký số.pdf"))


def test_alike_rows_and_systems_are_written_once(province, tmp_path: Path) -> None:
    """Annex I and the body fold what several systems share instead of repeating it per system."""
    import datetime as dt
    import os

    from secaudit.inventory import records as inventory
    from secaudit.reporting.data import build_report
    from secaudit.requirements.content import Library
    from secaudit.store.workspace import Workspace

    page = _report(province, tmp_path, "so-khcn.html").read_text(encoding="utf-8")
    lib = Library()
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    data = build_report(ws, lib, "so-khcn", as_of=dt.date.fromisoformat(AS_OF),
                        profile=lib.resolve_profile("tu-danh-gia"))
    names = [s.name for s in inventory.get_agency(ws, "so-khcn").systems]
    ws.close()
    common = data.annex["common"]
    assert common and any(not row["group"] for row in common)  # single requirements alike, not only groups
    for row in common:  # each shared row is printed once and its systems refer to it, never repeat it
        assert len(row["system_numbers"]) >= 2
        for number in row["system_numbers"]:
            rows = data.annex["systems"][data.systems[number - 1]["code"]]
            assert [x["common"] for x in rows].count(row["no"]) == 1
    own = re.search(r'<table class="grid annex1 own">(.*?)</table>', page, re.S).group(1)
    assert "xem nhóm" not in own and own.count('<tr class="sys">') == len(names)
    notes = data.annex["level_notes"]  # a level flag is written once with the systems it concerns
    assert len({n["text"] for n in notes}) == len(notes)
    assert all(n["no"] in data.annex["level_refs"][data.systems[k - 1]["code"]]
               for n in notes for k in n["system_numbers"])
    # the body: systems in the same situation share one sentence, each system named in exactly one
    issues = page[page.index("1. Tồn tại, hạn chế"):page.index("2. Nguyên nhân")]
    sentences = re.findall(r'<p class="body">(.*?)</p>', issues, re.S)
    for name in names:
        assert sum(1 for s in sentences if f"“{name}”" in s) <= 1, name
    assert any("mỗi hệ thống:" in s for s in sentences)


def test_ranges_of_numbers_and_ports_read_as_ranges() -> None:
    from secaudit.reporting.narrative import ref_runs
    from secaudit.reporting.render import port_runs

    runs = ref_runs(["PL2-01", "PL2-02", "PL2-03", "PL2-05", "PL2-06", "PL2-08"])
    assert runs == "PL2-01–PL2-03, PL2-05, PL2-06, PL2-08"
    assert ref_runs([]) == "" and ref_runs(["PL2-07"]) == "PL2-07"
    web = {"protocol": "tcp", "service": "http", "tunnel": None, "product": "nginx", "version": "1.18", "observed": []}
    ports = [{**web, "port": p} for p in (8000, 8001, 8002, 8004)]
    ports.append({**web, "port": 8005, "observed": [{"script": "http-title", "output": "x"}]})
    ports.append({**web, "port": 8006, "product": "Apache"})
    assert [r["label"] for r in port_runs(ports)] == ["8000–8002", "8004", "8005", "8006"]
    assert port_runs([]) == []
