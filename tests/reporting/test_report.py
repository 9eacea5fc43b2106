"""Agency report (PDF/A-3b and HTML) and province roll-up, checked with real tools.

The PDF is read back with pdftotext/pdfinfo (poppler) and pypdf: Vietnamese text intact, NĐ 30/2020
layout (A4, margins, page numbers from page 2, repeated table headers, signature block, Nơi nhận),
PDF/A-3b identification, fixed metadata, embedded fonts, and the embedded manifest and raw scan XML
whose hashes must match the evidence store. The roll-up HTML is loaded in headless Chromium.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pypdf
import pytest
from report_fixtures import (
    AS_OF,
    answer_example,
    hostile_services,
    import_file,
    live_scan,
    record_recorded_scan,
)

from secaudit import clock
from secaudit.errors import InputError, NotFoundError, RenderError
from secaudit.inventory import records as inventory
from secaudit.reporting import rollup
from secaudit.reporting.data import MANIFEST_NAME, MANIFEST_SCHEMA, build_report
from secaudit.reporting.documents import render_agency
from secaudit.reporting.province import build_province
from secaudit.reporting.render import render_pdf
from secaudit.requirements.content import Library
from secaudit.resources import data_dir
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

TODAY = clock.today()


def _pdftotext(pdf: bytes, *args: str) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", *args, "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def _pdfinfo(pdf: bytes) -> dict[str, str]:
    done = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    info = {}
    for line in done.stdout.decode("utf-8").splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The example province with so-khcn answered (evidence files, a waiver); reports rendered once."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext, pdfinfo) is not installed")
    tmp = tmp_path_factory.mktemp("report")
    ws = Workspace.create(tmp / "ws")
    inventory.import_agencies(ws, inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory")),
                              actor="pytest", source="examples")
    lib = Library()
    files = answer_example(ws, lib, tmp)
    profile = lib.resolve_profile("tu-danh-gia")
    out = {fmt: render_agency(ws, lib, "so-khcn", fmt=fmt, as_of=AS_OF, profile=profile)
           for fmt in ("pdf", "html")}
    data = build_report(ws, lib, "so-khcn", as_of=AS_OF, profile=profile)
    yield {"ws": ws, "lib": lib, "profile": profile, "files": files, "data": data, "tmp": tmp, **out}
    ws.close()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An agency scanned twice: live nmap against a loopback HTTP service, and a recorded real nmap run."""
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed")
    tmp = tmp_path_factory.mktemp("scanned")
    ws = Workspace.create(tmp / "ws")
    with hostile_services() as hostile:
        from report_fixtures import hostile_inventory

        import_file(ws, hostile_inventory(hostile, tmp))
        live = live_scan(ws, "co-quan-doc-hai", "he-thong-doc-hai")
        recorded = record_recorded_scan(ws, "co-quan-doc-hai", "may-chu-ghi-san")
    lib = Library()
    profile = lib.resolve_profile("tu-danh-gia")
    pdf = render_agency(ws, lib, "co-quan-doc-hai", fmt="pdf", as_of=TODAY, profile=profile)
    yield {"ws": ws, "lib": lib, "profile": profile, "pdf": pdf, "live": live, "recorded": recorded}
    ws.close()


# -- the administrative-document layout ----------------------------------------------------------
def test_pdf_has_the_nd30_header_title_signature_and_recipients(example: dict[str, Any]) -> None:
    text = _pdftotext(example["pdf"])
    first = _pdftotext(example["pdf"], "-f", "1", "-l", "1")
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "UBND TỈNH NGHỆ AN",
                     "SỞ KHOA HỌC VÀ CÔNG NGHỆ", "/BC-SKHCN", "Nghệ An, ngày 01 tháng 05 năm 2026", "BÁO CÁO"):
        assert expected in first, expected
    for expected in ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Thị Thu Hằng", "Nơi nhận:", "- Công an tỉnh (PA05);",
                     "- Lưu: VT, CĐS."):
        assert expected in text, expected
    # Vietnamese diacritics survive as precomposed (NFC) text, not as look-alike glyph sequences
    assert "Kết quả thực hiện các nhiệm vụ bảo đảm an ninh mạng" in " ".join(text.split())


def test_pdf_is_a4_with_nd30_margins_and_page_numbers_from_page_two(example: dict[str, Any]) -> None:
    info = _pdfinfo(example["pdf"])
    assert info["Page size"].startswith("595.276 x 841.89")  # A4 in points
    pages = int(info["Pages"])
    assert pages >= 3
    mm = 72 / 25.4
    layout = _pdftotext(example["pdf"], "-bbox")
    for page in re.findall(r"<page (.*?)</page>", layout, re.S):
        words = [tuple(float(v) for v in m) for m in
                 re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', page)]
        assert min(w[0] for w in words) >= 30 * mm - 1  # left margin 30 mm (NĐ 30 Phụ lục I, I.3)
        assert max(w[2] for w in words) <= 595.276 - 15 * mm + 1  # right margin 15 mm
        assert max(w[3] for w in words) <= 841.89 - 20 * mm + 1  # bottom margin 20 mm
    assert _pdftotext(example["pdf"], "-f", "1", "-l", "1").split()[0] != "1"
    for number in (2, pages):
        assert _pdftotext(example["pdf"], "-f", str(number), "-l", str(number)).split()[0] == str(number)


def test_long_tables_repeat_their_header_on_every_page(example: dict[str, Any]) -> None:
    reader = pypdf.PdfReader(io.BytesIO(example["pdf"]))
    pages = [_pdftotext(example["pdf"], "-f", str(i + 1), "-l", str(i + 1)) for i in range(len(reader.pages))]
    first = next(i for i, page in enumerate(pages) if "KẾT QUẢ ĐÁNH GIÁ THEO TỪNG HỆ THỐNG" in page)
    last = next(i for i, page in enumerate(pages) if "DANH MỤC TÀI LIỆU MINH CHỨNG" in page)
    # Annex I's per-system tables run over several pages: each of them repeats the table header
    assert last - first >= 2
    assert all("Ghi chú" in page and "Kết quả" in page for page in pages[first:last])


def test_pdf_is_pdfa3b_with_fixed_metadata_and_embedded_fonts(example: dict[str, Any]) -> None:
    reader = pypdf.PdfReader(io.BytesIO(example["pdf"]))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]
    info = _pdfinfo(example["pdf"])
    assert info["Author"] == "Sở Khoa học và Công nghệ"
    assert info["Title"] == "Báo cáo an ninh mạng — Sở Khoa học và Công nghệ"
    assert reader.metadata["/CreationDate"].startswith("D:20260501000000")
    assert reader.metadata["/ModDate"].startswith("D:20260501000000")
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
            fonts.add(str(font["/BaseFont"]).split("+")[-1])
    assert "Liberation-Serif" in fonts and "Liberation-Serif-Bold" in fonts, fonts
    assert all(name.startswith("Liberation-") for name in fonts), fonts  # no fallback font: full coverage


def test_pdf_embeds_the_evidence_manifest_and_its_hash_is_printed(example: dict[str, Any]) -> None:
    reader = pypdf.PdfReader(io.BytesIO(example["pdf"]))
    attachments = reader.attachments
    # no scan in this workspace: the manifest and the evidence documents themselves (Phụ lục II numbers)
    assert MANIFEST_NAME in attachments
    assert all(name.startswith("PL2-") for name in attachments if name != MANIFEST_NAME)
    manifest_bytes = attachments[MANIFEST_NAME][0]
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    assert digest in _pdftotext(example["pdf"]).replace("\n", "")
    assert digest.encode() in example["html"]
    manifest = json.loads(manifest_bytes)
    assert manifest["schema"] == MANIFEST_SCHEMA and manifest["as_of"] == "2026-05-01"
    expected = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in example["files"].values()}
    listed = {e["sha256"]: e["original_name"] for e in manifest["evidence"]}
    assert listed == expected
    for sha in listed:  # and the evidence store holds exactly those bytes
        assert hashlib.sha256(example["ws"].read_blob(sha)).hexdigest() == sha
    relationships = {a.get_object()["/F"]: a.get_object()["/AFRelationship"] for a in reader.trailer["/Root"]["/AF"]}
    assert relationships[MANIFEST_NAME] == "/Data"  # PDF/A-3 associated files
    assert {rel for name, rel in relationships.items() if name != MANIFEST_NAME} == {"/Supplement"}


def test_pdf_of_a_scanned_agency_embeds_each_raw_scan_xml(scanned: dict[str, Any]) -> None:
    reader = pypdf.PdfReader(io.BytesIO(scanned["pdf"]))
    attachments = reader.attachments
    ws = scanned["ws"]
    rows = {r["id"]: r["xml_sha256"] for r in ws.db.query("select id, xml_sha256 from scans")}
    assert set(attachments) == {MANIFEST_NAME, *(f"scan-{i}.xml" for i in rows)}
    manifest = json.loads(attachments[MANIFEST_NAME][0])
    for entry in manifest["attachments"]:
        blob = attachments[entry["name"]][0]
        assert hashlib.sha256(blob).hexdigest() == entry["sha256"] == rows[entry["scan_id"]]
        assert blob.startswith(b"<?xml") and b"<nmaprun" in blob
    text = " ".join(_pdftotext(scanned["pdf"]).split())
    for row in ws.db.query("select nmap_version from scans"):
        assert row["nmap_version"] and row["nmap_version"] in text  # the version nmap reported
    for sha in rows.values():
        assert sha in _pdftotext(scanned["pdf"]).replace("\n", "")


def test_pdf_shows_summary_systems_findings_register_and_remaining(example: dict[str, Any],
                                                                   scanned: dict[str, Any]) -> None:
    text = " ".join(_pdftotext(example["pdf"]).split())
    for expected in ("I. KẾT QUẢ CHUNG", "Khắc phục lỗ hổng bảo mật", "30/04/2026", "QUÁ HẠN", "MIỄN TRỪ",
                     "Cấp độ 3", "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN", "III. KẾ HOẠCH KHẮC PHỤC",
                     "IV. KIẾN NGHỊ, ĐỀ XUẤT", "KẾT QUẢ ĐÁNH GIÁ THEO TỪNG HỆ THỐNG THÔNG TIN", "123/QĐ-SKHCN",
                     "DANH MỤC TÀI LIỆU MINH CHỨNG", "Giám đốc Sở KH&CN", "31/12/2026", "Trần Quốc Bảo"):
        assert expected in text, expected
    # the file name wraps at its hyphens in its cell (pdftotext drops a hyphen at a line end), and pdftotext
    # reads the row's other cells between the two lines of the name
    assert re.search(r"QĐphâncônglựclượng.{0,160}tạichỗ\.pdf", text.replace(" ", "").replace("-", ""))
    scan_text = " ".join(_pdftotext(scanned["pdf"]).split())
    for expected in ("Phụ lục III KẾT QUẢ QUÉT KIỂM TRA KỸ THUẬT",
                     "Cổng thông tin thử nghiệm",  # nmap's \\x escapes decoded
                     "Dịch vụ đã khai báo không phản hồi", "127.0.7.1:18099"):
        assert expected in scan_text, expected


def test_html_is_self_contained_and_has_no_script(example: dict[str, Any]) -> None:
    html = example["html"].decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in html
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|file:|//)""", html)


def test_english_report(example: dict[str, Any]) -> None:
    page = render_agency(example["ws"], example["lib"], "so-khcn", fmt="html", as_of=AS_OF,
                         profile=example["profile"], lang="en").decode("utf-8")
    assert '<html lang="en">' in page
    for expected in ("SOCIALIST REPUBLIC OF VIETNAM", "Independence - Freedom - Happiness", "EVIDENCE REGISTER",
                     "OVERDUE", "NOT ASSESSED"):
        assert expected in page, expected


def test_same_workspace_and_date_give_identical_pdf_and_html(example: dict[str, Any]) -> None:
    for fmt in ("pdf", "html"):
        again = render_agency(example["ws"], example["lib"], "so-khcn", fmt=fmt, as_of=AS_OF,
                              profile=example["profile"])
        assert again == example[fmt], fmt


# -- templates --------------------------------------------------------------------------------------
def test_template_dir_overrides_one_file_and_may_serve_its_own_font(example: dict[str, Any], tmp_path: Path) -> None:
    packaged = data_dir("reports")
    (tmp_path / "_header.html.j2").write_text(
        (packaged / "_header.html.j2").read_text("utf-8").replace(
            '<div class="national">', '<div class="extra">BẢN THỬ MẪU TỈNH</div><div class="national">'),
        "utf-8")
    fonts = sorted(Path("/usr/share/fonts").rglob("LiberationSerif-Regular.ttf"))
    if not fonts:
        pytest.skip("fonts-liberation2 is not installed")
    (tmp_path / "fonts").mkdir()
    shutil.copy(fonts[0], tmp_path / "fonts" / "ProvinceSerif.ttf")
    (tmp_path / "style.css").write_text(
        '@font-face { font-family: "Province Serif"; src: url(fonts/ProvinceSerif.ttf); }\n'
        + (packaged / "style.css").read_text("utf-8").replace('"Liberation Serif", "Times New Roman"',
                                                               '"Province Serif", "Liberation Serif"'), "utf-8")
    pdf = render_agency(example["ws"], example["lib"], "so-khcn", fmt="pdf", as_of=AS_OF,
                        profile=example["profile"], template_dir=tmp_path)
    assert "BẢN THỬ MẪU TỈNH" in _pdftotext(pdf, "-f", "1", "-l", "1")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in _pdftotext(pdf, "-f", "1", "-l", "1")


def test_template_asset_outside_the_template_folders_stops_the_report(example: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "style.css").write_text('@font-face { font-family: "X"; src: url("file:///etc/passwd"); }\n'
                                        'html { font-family: "X", serif; }', "utf-8")
    before = list(example["ws"].db.query("select count(*) as n from log"))
    with pytest.raises(RenderError, match="tài nguyên ngoài"):
        render_agency(example["ws"], example["lib"], "so-khcn", fmt="pdf", as_of=AS_OF,
                      profile=example["profile"], template_dir=tmp_path)
    assert list(example["ws"].db.query("select count(*) as n from log")) == before


@pytest.mark.parametrize("url", ["../../../../../../etc/hostname", "/etc/hostname", "http://127.0.60.1:9/x.css",
                                 "data:font/ttf;base64,AAAA", "fonts/../../outside.ttf"])
def test_fetcher_serves_only_files_inside_the_template_folders(tmp_path: Path, url: str) -> None:
    (tmp_path / "templates" / "fonts").mkdir(parents=True)
    (tmp_path / "outside.ttf").write_bytes(b"not a font")
    page = (f'<html><head><style>@font-face {{ font-family: "X"; src: url("{url}"); }}'
            f' p {{ font-family: "X"; }}</style></head><body><p>x</p></body></html>')
    with pytest.raises(RenderError, match="tài nguyên ngoài"):
        render_pdf(page.encode(), title="t", author="a", as_of=AS_OF, template_dir=tmp_path / "templates")


def test_broken_template_is_a_clear_error(example: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "agency.html.j2").write_text("{% for x in %}", "utf-8")
    with pytest.raises(RenderError, match="Lỗi mẫu báo cáo"):
        render_agency(example["ws"], example["lib"], "so-khcn", fmt="html", as_of=AS_OF,
                      profile=example["profile"], template_dir=tmp_path)


def test_unknown_agency_language_and_format_are_errors(example: dict[str, Any]) -> None:
    args = {"as_of": AS_OF, "profile": example["profile"]}
    with pytest.raises(NotFoundError):
        render_agency(example["ws"], example["lib"], "khong-co", fmt="pdf", **args)
    with pytest.raises(InputError):
        render_agency(example["ws"], example["lib"], "so-khcn", fmt="odt", **args)
    with pytest.raises(InputError):
        render_agency(example["ws"], example["lib"], "so-khcn", fmt="html", lang="fr", **args)


def test_corrupted_scan_xml_in_the_store_stops_the_pdf(scanned: dict[str, Any], tmp_path: Path) -> None:
    ws = scanned["ws"]
    sha = next(iter(ws.db.query("select xml_sha256 from scans order by id limit 1")))["xml_sha256"]
    path = ws.evidence_path(sha)
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"<!-- edited -->")
        with pytest.raises(RenderError, match="không khớp mã SHA-256"):
            render_agency(ws, scanned["lib"], "co-quan-doc-hai", fmt="pdf", as_of=TODAY,
                          profile=scanned["profile"])
    finally:
        path.write_bytes(original)


# -- command line ------------------------------------------------------------------------------------
def test_cli_writes_every_format(cli: Any, tmp_path: Path) -> None:
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    for fmt in ("pdf", "html", "xlsx", "json", "oscal"):
        out = tmp_path / f"r.{fmt}"
        res = cli("report", "so-y-te", "--format", fmt, "-o", str(out), "--as-of", "2026-05-01")
        assert res.code == 0, res.err
        assert out.stat().st_size > 1000 and str(out) in res.err and res.out == ""
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-1.7")
    res = cli("report", "khong-co", "-o", str(tmp_path / "x.pdf"))
    assert res.code == 1 and res.err.startswith("Error: ") and "khong-co" in res.err
    assert not (tmp_path / "x.pdf").exists()
    res = cli("report", "so-y-te", "--format", "odt", "-o", str(tmp_path / "x.odt"))
    assert res.code == 2
    res = cli("report", "so-y-te", "--format", "pdf", "-o", str(tmp_path / "x.docx"))  # a PDF named .docx
    assert res.code == 2 and "docx" in res.err and not (tmp_path / "x.docx").exists()
    res = cli("report", "so-y-te", "--template-dir", str(tmp_path / "missing"), "-o", str(tmp_path / "x.pdf"))
    assert res.code == 2
    assert "--province" in cli("report", "--help").out


def test_cli_province_roll_up(cli: Any, tmp_path: Path) -> None:
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    res = cli("report", "--province", "--format", "html", "-o", str(tmp_path / "p.html"), "--as-of", "2026-05-01")
    assert res.code == 0, res.err
    res = cli("report", "--province", "nghệ an", "-o", str(tmp_path / "p.pdf"), "--as-of", "2026-05-01")
    assert res.code == 0, res.err
    assert "BÁO CÁO TỔNG HỢP" in _pdftotext((tmp_path / "p.pdf").read_bytes())
    res = cli("report", "--province", "Hà Tĩnh", "-o", str(tmp_path / "q.pdf"))
    assert res.code == 1 and "Hà Tĩnh" in res.err and "Nghệ An" in res.err
    res = cli("report", "--province", "--format", "json", "-o", str(tmp_path / "q.json"))
    assert res.code == 2


# -- the province roll-up -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def province(example: dict[str, Any]) -> dict[str, Any]:
    data = build_province(example["ws"], example["lib"], None, as_of=AS_OF, profile=example["profile"])
    html = rollup.render_html(data)
    pdf = rollup.render_province(example["ws"], example["lib"], "Nghệ An", fmt="pdf", as_of=AS_OF,
                                 profile=example["profile"])
    return {"data": data, "html": html, "pdf": pdf}


def test_roll_up_puts_overdue_and_non_compliant_agencies_first(province: dict[str, Any]) -> None:
    data = province["data"]
    assert len(data.agencies) == 5 and len(data.tasks) == 6
    keys = [(-a.contradictions, -a.overdue, a.met, -a.not_met) for a in data.agencies]
    assert keys == sorted(keys)
    for i, counts in enumerate(data.totals["per_task"]):
        cells = [a.cells[i] for a in data.agencies]
        assert sum(counts["counts"].values()) == len(cells)  # each cell in exactly one status
        assert counts["overdue"] == sum(1 for c in cells if c.overdue)  # overdue counted apart
    assert data.totals["systems"] == 14
    assert data.issuer["name"] == "Công an tỉnh Nghệ An"  # the police issue the roll-up when present


def test_roll_up_pdf_has_the_matrix_and_no_script(province: dict[str, Any]) -> None:
    text = " ".join(_pdftotext(province["pdf"]).split())
    for expected in ("CÔNG AN TỈNH NGHỆ AN", "BÁO CÁO TỔNG HỢP", "Sở Khoa học và Công nghệ", "UBND phường Thành Vinh",
                     "Tổng cộng", "TL. GIÁM ĐỐC"):
        assert expected in text, expected
    data = province["data"]
    assert b"<script" not in rollup.render_html(data, interactive=False)
    assert "'sha256-" in province["html"].decode()


def test_roll_up_html_has_a_script_allowed_by_its_hash_only(province: dict[str, Any]) -> None:
    html = province["html"].decode("utf-8")
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)  # type: ignore[union-attr]
    import base64

    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    assert "default-src 'none'" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|file:|//)""", html)


# -- headless Chromium ----------------------------------------------------------------------------
def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (apt-get install chromium); the roll-up page is not browser-tested")


def _run_chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / "chromium-profile"
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG with zlib (no image library needed); returns width, height, rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            assert body[8] == 8, "8-bit PNG expected"
            channels = {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = prev[x], prev[x - channels] if x >= channels else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, stride, channels)]


def test_roll_up_renders_in_headless_chromium(province: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "tong-hop.html"
    page.write_bytes(province["html"])
    shot = tmp_path / "shot.png"
    done = _run_chromium([f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()], tmp_path)
    assert shot.is_file(), done.stderr.decode(errors="replace")[-2000:]
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    dark = sum(1 for p in pixels if sum(p) < 3 * 128)
    coloured = sum(1 for p in pixels if max(p) - min(p) > 60)
    assert dark > 0.005 * len(pixels)  # text was drawn
    assert coloured > 500  # the matrix cells and the charts are coloured


def test_roll_up_filters_and_sorts_in_headless_chromium(province: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "tong-hop.html"
    page.write_bytes(province["html"])
    data = province["data"]

    def rows(fragment: str) -> list[tuple[str, bool]]:
        done = _run_chromium(["--dump-dom", page.as_uri() + fragment], tmp_path)
        dom = done.stdout.decode("utf-8")
        assert 'id="matrix"' in dom, done.stderr.decode(errors="replace")[-2000:]
        found = re.finditer(r'<tr data-code="([^"]+)"[^>]*?( hidden="")?>', dom)
        return [(m.group(1), bool(m.group(2))) for m in found]

    overdue = {a.code for a in data.agencies if a.overdue}
    shown = rows("#show=overdue")
    assert {c for c, hidden in shown if not hidden} == overdue
    assert len(shown) == len(data.agencies)
    by_systems = [c for c, _ in rows("#sort=2:asc")]
    assert by_systems == [a.code for a in sorted(data.agencies, key=lambda a: (a.systems, a.rank))]
    assert by_systems != [a.code for a in data.agencies]  # the sort changed the order
    found = rows("#q=khoa%20hoc")  # diacritics-insensitive filter
    assert [c for c, hidden in found if not hidden] == ["so-khcn"]
