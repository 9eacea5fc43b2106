"""Evidence linked where it is added (issue 17): ``evidence add FILE --for CHECKLIST:ITEM [--system S]``.

The file backs that requirement's answer (the evaluation counts it at once), ``--item`` is the same
option, and ``evidence list`` shows every file once with what it is linked to, unlinked files apart.
Real parts: the example province in a real workspace, the CLI through ``main``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLES

AGENCY = "phuong-thanh-vinh"
ITEM = "kh04-bcdtw:t2-van-ban"  # per system; a self-declared "đạt" needs a document (văn bản, biên bản)
UNLINKED_HEADING = "Tệp chưa gắn với yêu cầu nào"


@pytest.fixture
def officer(cli, pinned_now: str):
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    return cli


def _system_status(cli, item: str, system: str) -> str:
    data = json.loads(cli("status", AGENCY, "--format", "json").out)[0]
    return next(r["status"] for r in data["systems"] if r["item"] == item and r["system"] == system)


def test_for_links_the_file_to_the_answer_and_it_counts(officer, tmp_path: Path) -> None:
    cli = officer
    done = cli("answer", "set", ITEM, "--agency", AGENCY, "--system", "mot-cua-phuong", "--status", "dat")
    assert done.code == 0, done.err
    assert _system_status(cli, "t2-van-ban", "mot-cua-phuong") == "chua-dat"  # claimed without a document
    letter = tmp_path / "CV-huong-dan-ket-noi.pdf"
    letter.write_bytes(b"%PDF-1.4 cong van huong dan ket noi")

    added = cli("evidence", "add", str(letter), "--agency", AGENCY, "--for", ITEM, "--system", "mot-cua-phuong")
    assert added.code == 0, added.err
    assert "làm minh chứng cho kh04-bcdtw:t2-van-ban (mot-cua-phuong), gắn với câu trả lời hiện tại (ĐẠT)" \
        in added.err
    assert _system_status(cli, "t2-van-ban", "mot-cua-phuong") == "dat"  # the kind defaulted to what the item asks
    answers = json.loads(cli("answer", "list", "--agency", AGENCY, "--format", "json").out)
    assert answers[0]["evidence"] == 1
    shown = cli("evidence", "show", added.out.strip()[:12])
    assert "kind: van-ban" in shown.out and "item: t2-van-ban" in shown.out


def test_for_before_the_answer_counts_once_answered(officer, tmp_path: Path) -> None:
    cli = officer
    letter = tmp_path / "BB-kiem-tra.pdf"
    letter.write_bytes(b"%PDF-1.4 bien ban")
    added = cli("evidence", "add", str(letter), "--agency", AGENCY, "--for", ITEM, "--system", "trang-ttdt-phuong",
                "--kind", "bien-ban")
    assert added.code == 0 and "chưa có câu trả lời; tệp được tính khi trả lời mục này" in added.err
    assert cli("answer", "set", ITEM, "--agency", AGENCY, "--system", "trang-ttdt-phuong", "--status", "dat").code == 0
    assert _system_status(cli, "t2-van-ban", "trang-ttdt-phuong") == "dat"


def test_item_is_the_same_option_as_for(officer, tmp_path: Path) -> None:
    cli = officer
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(b"%PDF a")
    b.write_bytes(b"%PDF b")
    assert cli("evidence", "add", str(a), "--agency", AGENCY, "--for", ITEM, "--system", "mot-cua-phuong").code == 0
    assert cli("evidence", "add", str(b), "--agency", AGENCY, "--item", ITEM, "--system", "mot-cua-phuong").code == 0
    rows = json.loads(cli("evidence", "list", "--agency", AGENCY, "--format", "json").out)
    assert sorted((r["original_name"], tuple(r["links"]), r["kind"]) for r in rows) == [
        ("a.pdf", ("kh04-bcdtw:t2-van-ban (mot-cua-phuong)",), "van-ban"),
        ("b.pdf", ("kh04-bcdtw:t2-van-ban (mot-cua-phuong)",), "van-ban")]


def test_list_shows_each_file_once_with_its_links_and_unlinked_files_apart(officer, tmp_path: Path) -> None:
    cli = officer
    shared = tmp_path / "Quyết định phân công.pdf"
    shared.write_bytes(b"%PDF-1.4 quyet dinh")
    loose = tmp_path / "Ảnh phòng máy.png"
    loose.write_bytes(b"\x89PNG anh")
    assert cli("evidence", "add", str(shared), "--agency", AGENCY).code == 0  # first unlinked …
    for system in ("mot-cua-phuong", "trang-ttdt-phuong"):  # … then linked to both systems
        assert cli("evidence", "add", str(shared), "--agency", AGENCY, "--for", ITEM, "--system", system).code == 0
    assert cli("evidence", "add", str(loose), "--agency", AGENCY, "--kind", "anh-chup").code == 0

    listed = cli("evidence", "list", "--agency", AGENCY)
    assert listed.code == 0, listed.err
    linked, _, apart = listed.out.partition(UNLINKED_HEADING)
    assert apart, listed.out
    assert linked.count("Quyết định phân công.pdf") == 1 and "Quyết định phân công.pdf" not in apart
    assert "kh04-bcdtw:t2-van-ban (mot-cua-phuong); kh04-bcdtw:t2-van-ban (trang-ttdt-phuong)" in linked
    assert apart.count("Ảnh phòng máy.png") == 1 and "Ảnh phòng máy.png" not in linked
    assert "ảnh chụp màn hình" in apart and "anh-chup" not in listed.out  # kinds by their Vietnamese names
    assert "Gắn với yêu cầu" in linked and "—" not in listed.out

    csv_rows = cli("evidence", "list", "--agency", AGENCY, "--format", "csv").out.splitlines()
    assert len(csv_rows) == 3 and "chưa gắn với yêu cầu nào" in csv_rows[2]
    rows = json.loads(cli("evidence", "list", "--agency", AGENCY, "--format", "json").out)
    assert [len(r["refs"]) for r in rows] == [3, 1] and rows[1]["links"] == []


@pytest.mark.parametrize(("args", "message"), [
    (["--for", ITEM], "Mục kh04-bcdtw:t2-van-ban tính theo hệ thống: cần --system"),
    (["--for", "kh04-bcdtw:t4-lop-1", "--system", "mot-cua-phuong"], "tính theo cơ quan: bỏ --system"),
    (["--for", "kh04-bcdtw:khong-co", "--system", "mot-cua-phuong"], "khong-co"),
    (["--for", ITEM, "--system", "khong-co"], "Không có hệ thống 'khong-co'"),
])
def test_a_wrong_link_is_refused_and_nothing_is_stored(officer, tmp_path: Path, args: list[str],
                                                       message: str) -> None:
    cli = officer
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF x")
    result = cli("evidence", "add", str(path), "--agency", AGENCY, *args)
    assert result.code == 1 and message in result.err and "Traceback" not in result.err, result.err
    assert json.loads(cli("evidence", "list", "--format", "json").out) == []


def test_a_scans_raw_output_is_listed_as_that_scans_result_not_as_unlinked(officer) -> None:
    cli = officer
    scanned = cli("scan", AGENCY)  # real nmap against the phường's declared loopback address
    assert scanned.code == 0, scanned.err
    listed = cli("evidence", "list", "--agency", AGENCY)
    assert "scan-1.xml" in listed.out and "kết quả lần quét #1" in listed.out
    assert UNLINKED_HEADING not in listed.out
    rows = json.loads(cli("evidence", "list", "--agency", AGENCY, "--format", "json").out)
    assert [(r["original_name"], r["scans"], r["links"]) for r in rows] == [("scan-1.xml", [1], [])]
