"""A Vietnamese report reads as Vietnamese: no English words, no internal codes, one spelling, local time.

The demo's so-khcn report (loopback example services, real nmap scan, the example answers) is rendered
as PDF and DOCX through the CLI; the text pdftotext and python-docx read back must contain none of a
maintained list of English words and raw codes. Evidence file names are the officer's own data and are
taken out before the check (``bien-ban-khac-phuc.pdf`` is a name, not a code). The helpers that make
the sentences are checked on their own too.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from secaudit import clock
from secaudit.reporting.render import _environment, balanced, reason_text, spelling

from conftest import EXAMPLES

NOW = "2026-11-22T09:00:00+07:00"
#: English left over from the evaluator's "vi / en" reasons, the templates, or Python's own values.
ENGLISH = ("no answer recorded", "applicability unknown", "self-assessed", "not verified", "not applicable",
           "workspace", "claimed met", "evidence without", "no declared hosts", "host state", "task 1", "task 2",
           "waiver", "expired", "unverified", "Security levels under", "None", "True", "False", "null", "UTC")
#: Raw codes a reader should never meet: statuses, kinds, severities, dossier states, checklist ids, fields.
CODES = ("chua-dat", "chua-danh-gia", "khong-ap-dung", "mien-tru", "nghiem-trong", "trung-binh", "van-ban",
         "ket-qua-quet", "quyet-dinh", "ho-so-cap-do", "da-phe-duyet", "da-lap", "chua-lap", "kh04-bcdtw",
         "kh92a-ubnd", "cap-do-nd331", "t1-lo-hong", "t2-kenh", "system.", "agency.", "(số để trống)",
         "system.level", "tu-danh-gia", "trung-tam-du-lieu", "so-khcn", "lgsp-tinh", "cong-ttdt", "nd85-",
         "shared/DOMAIN", ";;")
#: The old tone placement the NĐ 30/2020 texts do not use ("hoá" -> "hóa", "thuỷ" -> "thủy").
OLD_TONE = re.compile(r"(?<![qQ])(o[áàảãạ]|o[éèẻẽẹ]|u[ýỳỷỹỵ])(?!\w)", re.IGNORECASE)


def _pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    return re.sub(r"\s+", " ", out.decode("utf-8"))


def _docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return re.sub(r"\s+", " ", " ".join(parts))


def _problems(text: str, file_names: list[str]) -> list[str]:
    for name in sorted(file_names, key=len, reverse=True):  # the officer's file names are data, not codes
        text = text.replace(name, " ")
    text = re.sub(r"PL2-\d\d-\S+", " ", text)  # attachment names are built from those file names
    text = re.sub(r"Lệnh quét lần \d+: .*?(?=Lệnh quét lần|$)", " ", text)  # the raw nmap command, kept as is
    found = [w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]
    found += [c for c in CODES if c in text]
    found += [m.group(0) for m in OLD_TONE.finditer(text)]
    return found


@pytest.mark.slow
def test_the_demo_report_is_vietnamese_only_in_pdf_and_docx(cli, example_services: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    assert cli("assess", "so-khcn", "--answers", str(EXAMPLES / "answers" / "so-khcn.yaml")).code == 0
    assert cli("scan", "so-khcn").code == 0
    names = [p.name for p in (EXAMPLES / "evidence" / "so-khcn").iterdir()]

    pdf, word = tmp_path / "so-khcn.pdf", tmp_path / "so-khcn.docx"
    assert cli("report", "so-khcn", "-o", str(pdf), "--as-of", "2026-11-22").code == 0
    assert cli("report", "so-khcn", "-o", str(word), "--as-of", "2026-11-22").code == 0  # docx by its extension
    text = _pdf_text(pdf)
    assert "Khắc phục lỗ hổng bảo mật" in text and "6379" in text  # the report is there …
    # Annex II's narrow file-name cells wrap names at their hyphens between other columns' words, so the
    # names cannot be taken out of the PDF text; that annex is checked in the Word file, cell by cell
    register = text[text.index("DANH MỤC TÀI LIỆU MINH CHỨNG"):text.index("KẾT QUẢ QUÉT KIỂM TRA KỸ THUẬT")]
    assert "quyết định" in register and "biên bản" in register  # kinds by their names
    assert _problems(text.replace(register, " "), names) == []  # … and none of it is English or a code
    word_text = _docx_text(word)
    assert "Khắc phục lỗ hổng bảo mật" in word_text and "DANH MỤC TÀI LIỆU MINH CHỨNG" in word_text
    assert _problems(word_text, names) == []

    # scan times in Vietnam local time: the scan ran at 09:00 (UTC+7) on the pinned morning
    started = clock.now().astimezone(clock.VIETNAM)
    assert started.strftime("%d/%m/%Y %H:") in text
    assert re.search(r"\d\d/\d\d/\d{4} 02:\d\d", text) is None  # not the UTC hour

    # the same report in English says it in English
    english = tmp_path / "en.html"
    assert cli("report", "so-khcn", "--format", "html", "--lang", "en", "-o", str(english),
               "--as-of", "2026-11-22").code == 0
    page = english.read_text(encoding="utf-8")
    assert "SHORTCOMINGS AND THEIR CAUSES" in page and "REMEDIATION PLAN" in page and "Annex I" in page


def test_the_checker_finds_what_the_old_report_printed() -> None:
    """The list is not vacuous: the phrases the old report carried are caught."""
    old = ("chưa có câu trả lời / no answer recorded; lgsp-tinh: CHƯA ĐẠT; kh04-bcdtw:t1-lo-hong; van-ban;"
           " Công văn (số để trống)-CV/TU; 22/11/2026 02:00:00 UTC; hoá; Lưu: VT;;")
    found = _problems(old, [])
    for expected in ("no answer recorded", "UTC", "lgsp-tinh", "kh04-bcdtw", "van-ban", "(số để trống)", ";;",
                     "oá"):
        assert expected in found, expected


def _strings() -> dict[str, Any]:
    import yaml

    from secaudit.resources import data_dir

    return yaml.safe_load((data_dir("reports") / "strings.yaml").read_text(encoding="utf-8"))


def test_reasons_keep_the_vietnamese_half_and_name_what_codes_stand_for() -> None:
    t = _strings()["vi"]
    names = {"systems": {"lgsp-tinh": "Nền tảng LGSP"}, "items": {"kh04-bcdtw:t2-van-ban": "Văn bản hướng dẫn"}}
    cases = {
        "chưa có câu trả lời / no answer recorded": "chưa có câu trả lời",
        "chưa đủ thông tin để xác định áp dụng: system.critical / applicability unknown: system.critical":
            "chưa đủ thông tin để xác định áp dụng: hệ thống có phải hệ thống trọng yếu hay không",
        "chưa khai báo địa chỉ máy chủ để quét kiểm chứng / no declared hosts to scan: chưa kiểm chứng / not verified":
            "chưa khai báo địa chỉ máy chủ để quét kiểm chứng: chưa kiểm chứng",
        "lgsp-tinh: CHƯA ĐẠT — lần quét #3 ngày 2026-12-06 phát hiện 1 vấn đề":
            "“Nền tảng LGSP”: CHƯA ĐẠT — lần quét #3 ngày 06/12/2026 phát hiện 1 vấn đề",
        "mục con t2-van-ban: ĐẠT": "mục con “Văn bản hướng dẫn”: ĐẠT",
        "quét lúc 2026-11-22T02:00:00+00:00": "quét lúc 22/11/2026 09:00",
        "Kết luận dựa trên tiêu chí chưa kiểm chứng (nd85-cd3-ha-tang); nguồn thứ cấp: shared/DOMAIN.md":
            "Kết luận dựa trên tiêu chí chưa kiểm chứng",
    }
    for raw, expected in cases.items():
        assert reason_text(raw, t, names, "vi") == expected, raw


def test_one_spelling_convention_as_in_nd30() -> None:
    assert spelling("mã hoá, khoá, thuỷ, Uỷ ban, hoà") == "mã hóa, khóa, thủy, Ủy ban, hòa"
    assert spelling("quý, toán, hoạch, khoản, Thuý") == "quý, toán, hoạch, khoản, Thúy"  # closed syllables stay
    legal = Path("/work/shared/legal/nd-30-2020-nd-cp-cong-tac-van-thu.txt")
    if legal.exists():  # the decree itself writes "hóa", "khóa"
        decree = legal.read_text(encoding="utf-8")
        assert "hóa" in decree and "hoá" not in decree


def test_recipients_typed_with_their_own_semicolon_print_one() -> None:
    env = _environment(None)
    page = env.from_string('{% from "_header.html.j2" import nd30_signature %}{{ nd30_signature(a, T) }}').render(
        a={"recipients": ["UBND tỉnh;", " Công an tỉnh (PA05); ", "Lưu: VT."], "signer": None},
        T={"recipients": "Nơi nhận"})
    lines = re.findall(r'<div class="recipient">(.*?)</div>', page)
    assert lines == ["- UBND tỉnh;", "- Công an tỉnh (PA05);", "- Lưu: VT."]


def test_agency_name_breaks_between_words_only() -> None:
    assert str(balanced("SỞ KHOA HỌC VÀ CÔNG NGHỆ")) == "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    long = "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP VÀ KHU KINH TẾ ĐÔNG NAM"
    first, second = str(balanced(long)).split("<br>")
    assert f"{first} {second}" == long and abs(len(first) - len(second)) < 12
    assert "&lt;" in str(balanced("<b>TÊN CƠ QUAN RẤT DÀI ĐỂ THỬ THOÁT KÝ TỰ</b>"))  # still escaped


def test_vietnam_local_time_helper() -> None:
    from secaudit.reporting.render import vndatetime

    assert vndatetime("2026-11-22T02:30:00+00:00") == "22/11/2026 09:30"
    assert vndatetime(dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC).isoformat()) == "01/01/2027 03:00"
