"""What the answers fuzzing campaign (scripts/fuzz/answers.py) found, one smallest case per bug class.

Each case goes through the real CLI (``main``) on a workspace holding the example province and
must end as a clean ``Error:`` naming the file and line (or sheet and cell), no traceback, and
nothing written.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from bundle_helpers import workspace_state

from secaudit.store.workspace import Workspace

from conftest import EXAMPLES, CliResult

AGENCY = "so-khcn"
LONG_NAME = "t" * 300 + ".pdf"  # longer than any file system allows for one name (255 bytes)


@pytest.fixture
def workspace(cli, pinned_now: str, tmp_path: Path) -> Path:
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    return tmp_path / "ws"



def assert_clean_error(result: CliResult, where: str, *message: str) -> None:
    assert result.code == 1, (result.code, result.out, result.err)
    assert "Traceback" not in result.out + result.err
    assert result.err.startswith("Error: "), result.err
    assert where in result.err, result.err
    for part in message:
        assert part in result.err, result.err


def _answers_yaml(tmp_path: Path, evidence: str) -> Path:
    path = tmp_path / "tra-loi.yaml"
    path.write_text(f"agency: {AGENCY}\nchecklist: kh04-bcdtw\nanswers:\n  - item: t5-giam-sat\n    status: dat\n"
                    f"    evidence: [{evidence}]\n", encoding="utf-8")
    return path


# -- bug 1: an evidence name the file system refuses escaped as OSError / ValueError --------------
@pytest.mark.parametrize(("evidence", "message"), [
    (LONG_NAME, "tên tệp quá dài"),  # was: OSError [Errno 36] File name too long (Path.is_file)
    ('"bien-ban\\0.pdf"', "có ký tự NUL"),  # was: ValueError: embedded null byte (Path.resolve)
], ids=["name-too-long", "nul-in-name"])
def test_yaml_evidence_name_the_file_system_refuses(cli, workspace: Path, tmp_path: Path, evidence: str,
                                                    message: str) -> None:
    answers = _answers_yaml(tmp_path, evidence)
    before = workspace_state(workspace)
    assert_clean_error(cli("assess", AGENCY, "--answers", str(answers)), f"{answers}:6", message)
    assert workspace_state(workspace) == before


def test_xlsx_evidence_name_too_long(cli, workspace: Path, tmp_path: Path) -> None:
    """was: OSError [Errno 36] File name too long from ``answers_xlsx._files``."""
    book_path = tmp_path / "tra-loi.xlsx"
    assert cli("assess", AGENCY, "--export-template", "-o", str(book_path)).code == 0
    book = openpyxl.load_workbook(book_path)
    sheet = book["Trả lời"]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet[f"A{r}"].value == f"{AGENCY}/kh04-bcdtw:t5-giam-sat/")
    sheet[f"D{row}"] = "Đạt"
    sheet[f"F{row}"] = LONG_NAME
    book.save(book_path)
    before = workspace_state(workspace)
    assert_clean_error(cli("assess", AGENCY, "--answers", str(book_path)), f"Trả lời!F{row}", "tên tệp quá dài")
    assert workspace_state(workspace) == before


def test_yaml_evidence_over_the_limit_is_refused_at_its_line(cli, workspace: Path, tmp_path: Path) -> None:
    """An oversize file is refused with the answers file's line, before any file is copied (it used to
    fail inside the import, naming only the evidence path)."""
    assert cli("evidence", "limit", "10").code == 0
    (tmp_path / "nho.txt").write_bytes(b"small")
    (tmp_path / "lon.txt").write_bytes(b"x" * 11)
    answers = _answers_yaml(tmp_path, "nho.txt, lon.txt")
    before = workspace_state(workspace)
    assert_clean_error(cli("assess", AGENCY, "--answers", str(answers)), f"{answers}:6",
                       "lớn hơn giới hạn 10 byte")
    assert workspace_state(workspace) == before


# -- bug 2: a name that is not UTF-8 failed the database write (UnicodeEncodeError) ---------------
def test_yaml_evidence_whose_real_name_is_not_utf8_is_stored(cli, workspace: Path, tmp_path: Path) -> None:
    """An answers file names a link whose target is named in a legacy encoding (bytes that are not
    UTF-8): the file is stored, its name kept readable (U+FFFD for the bad bytes). Was:
    UnicodeEncodeError ``surrogates not allowed`` from ``record_answer``'s insert."""
    target = tmp_path / os.fsdecode(b"bien-ban-\xff.pdf")
    target.write_bytes(b"%PDF-1.4\n")
    (tmp_path / "bien-ban.pdf").symlink_to(target)
    answers = _answers_yaml(tmp_path, "bien-ban.pdf")
    result = cli("assess", AGENCY, "--answers", str(answers))
    assert result.code == 0, result.err
    ws = Workspace.open(workspace)
    try:
        names = [r[0] for r in ws.db.execute("select original_name from evidence_refs where item = 't5-giam-sat'")]
    finally:
        ws.close()
    assert names == ["bien-ban-\ufffd.pdf"]


@pytest.mark.parametrize("args", [
    ("evidence", "add", "{file}", "--agency", AGENCY, "--note", "ghi ch\udcfa"),
    ("evidence", "add", "{bad_file}", "--agency", AGENCY),
    ("waive", "kh04-bcdtw:t5-giam-sat", "--agency", AGENCY, "--reason", "l\udcfd do", "--approved-by", "GĐ",
     "--until", "31/12/2026"),
    ("answer", "set", "kh04-bcdtw:t5-giam-sat", "--agency", "so-khcn\udcff", "--status", "dat"),
], ids=["note", "file-name", "waiver-reason", "agency"])
def test_argument_not_utf8_is_refused(cli, workspace: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    """An argument typed or named in a legacy encoding reaches Python as lone surrogates; it used to
    escape as UnicodeEncodeError from the first database write that carried it."""
    file = tmp_path / "bien-ban.txt"
    file.write_bytes(b"x")
    bad_file = tmp_path / os.fsdecode(b"bien-ban-\xff.txt")
    bad_file.write_bytes(b"x")
    argv = [{"{file}": str(file), "{bad_file}": str(bad_file)}.get(a, a) for a in args]
    before = workspace_state(workspace)
    result = cli(*argv)
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.out + result.err
    assert "không phải UTF-8" in result.err, result.err
    assert workspace_state(workspace) == before


# -- bug 3: a date at the calendar's end (year 9999) broke the evaluation ---------------------------
def test_evaluation_as_of_the_last_day_of_the_calendar(workspace: Path) -> None:
    """Was: ValueError "year 10000 is out of range" from ``ReportingDuty.next_due`` (a monthly report's
    next "before" day falls in year 10000). The command line now keeps --as-of within 1900–2100; the
    evaluation itself is reached with any date (the services, the web, a bundle's answers)."""
    from secaudit.services.assessment import assess_status

    results = assess_status(workspace, as_of=dt.date(9999, 12, 31))
    assert {r.agency for r in results} >= {AGENCY}


def test_recurrence_of_an_answer_dated_at_the_calendar_end_never_lapses() -> None:
    """An answer (or a bundle's) effective 31/12/9999 on an item done again every 12 months: was an
    AssertionError ("unreachable") in ``_add_months``; the next time it is due is past any date."""
    from secaudit.requirements.content import Library
    from secaudit.requirements.evaluate import _add_months

    assert _add_months(dt.date(9999, 12, 31), 12) == dt.date.max
    assert _add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    duties = [d for c in Library().checklists.values() for d in c.reporting]
    assert duties, "no reporting duty in the checklists"
    assert {d.next_due(dt.date(9999, 12, 31)) for d in duties} == {dt.date.max}


# -- bug 4: a sheet whose compressed data fails its CRC escaped as zipfile.BadZipFile ---------------
def test_xlsx_sheet_with_a_bad_crc(cli, workspace: Path, tmp_path: Path) -> None:
    """The answers sheet is unpacked lazily, row by row, after the workbook opened: a CRC error at its
    end was raised from inside the row loop (was: zipfile.BadZipFile "Bad CRC-32")."""
    book = tmp_path / "tra-loi.xlsx"
    assert cli("assess", AGENCY, "--export-template", "-o", str(book)).code == 0
    with zipfile.ZipFile(book) as zin:
        members = [(info.filename, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(book, "w", zipfile.ZIP_STORED) as zout:  # stored: the sheet's bytes as written
        for name, data in members:
            zout.writestr(name, data)
    raw = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as zin:
        info = zin.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    digit = raw.index(b'ht="', start) + 4  # a row height: still a number, still valid XML
    raw[digit] = ord("2") if raw[digit] != ord("2") else ord("3")
    book.write_bytes(bytes(raw))
    before = workspace_state(workspace)
    assert_clean_error(cli("assess", AGENCY, "--answers", str(book)), str(book), "phần nén", "sai CRC")
    assert workspace_state(workspace) == before
