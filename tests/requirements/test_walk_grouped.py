"""The short interactive walk (issue 17): one answer per item for all systems, with exceptions,
plain-language applicability, dd/mm/yyyy dates, and skipped items asked again on the next run.

The walk runs as the real ``secaudit`` on a pseudo-terminal (``pty.fork``) against an agency with
three systems — the example phường plus a third system copied from its first one.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from secaudit.cli import cli as root
from secaudit.errors import InputError
from secaudit.requirements.conditions import explain
from secaudit.requirements.content import Library
from secaudit.requirements.walk import parse_answer
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

AGENCY = "phuong-thanh-vinh"
SYSTEMS = ["mot-cua-phuong", "trang-ttdt-phuong", "mot-cua-du-phong"]


@pytest.fixture
def three_systems(cli, pinned_now: str, tmp_path: Path) -> Any:
    data = yaml.safe_load((EXAMPLES / "inventory" / f"{AGENCY}.yaml").read_text(encoding="utf-8"))
    third = dict(data["systems"][0])
    third.update(code=SYSTEMS[2], name="Hệ thống Một cửa dự phòng của phường", hosts=[])
    data["systems"].append(third)
    source = tmp_path / f"{AGENCY}.yaml"
    source.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert cli("init").code == 0
    assert cli("inventory", "import", str(source)).code == 0
    return cli


class _Terminal:
    """The parent side of a pseudo-terminal: send keys, wait for text."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.raw = b""
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        needle = pattern.encode("utf-8")
        while needle not in self.raw:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; got:\n{self.raw.decode(errors='replace')}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                raise AssertionError(f"{pattern!r} never appeared; got:\n{self.raw.decode(errors='replace')}")
            self.raw += chunk
        end = self.raw.index(needle) + len(needle)
        text, self.raw = self.raw[:end].decode("utf-8", errors="replace"), self.raw[end:]
        self.seen += text
        return text

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode("utf-8"))


def _run(args: list[str], script: Any) -> str:
    """Run secaudit on a terminal, let ``script(term)`` drive it; return everything it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the real secaudit on a real terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "secaudit", *args], os.environ.copy())
    term = _Terminal(fd)
    try:
        script(term)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                assert os.waitstatus_to_exitcode(status) == 0, term.seen
                return term.seen
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("secaudit did not exit")
    finally:
        os.close(fd)


def _answers() -> dict[tuple[str, str], dict[str, Any]]:
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    try:
        return {(r["item"], r["system"]): r for r in ws.db.query("select * from answers where agency = ?", [AGENCY])}
    finally:
        ws.close()


STATUS = "— ? xem đầy đủ"  # the end of the status prompt, after "Trạng thái (d/c/k/q) …"


def test_one_answer_for_three_systems_and_the_skipped_item_comes_back(three_systems, tmp_path: Path) -> None:
    letter = tmp_path / "cong-van-ket-noi.pdf"
    letter.write_bytes(b"%PDF-1.4 cong van")

    def first_run(term: _Terminal) -> None:
        screen = term.expect(STATUS)
        assert "[1/" in screen and "kh04-bcdtw:t1-lo-hong · 3 hệ thống" in screen
        assert "cho cả 3 hệ thống" in screen and "ngoại trừ 2: c" in screen  # the legend, once
        assert all(f". {code} — chưa trả lời" in screen for code in SYSTEMS)
        term.send("x\n")  # a typo: told in Vietnamese, asked again
        assert "Chọn d (đạt)" in term.expect(STATUS)
        term.send("?\n")  # the full text on demand
        assert "toàn văn" in term.expect(STATUS)
        term.send("d\n")  # one step: đạt for all three systems
        term.expect("Ghi chú")
        term.send("Đã khắc phục\n")
        term.expect("Ngày có hiệu lực")
        term.send("31/02/2026\n")  # no such day: a Vietnamese message, not click's English
        assert "không phải ngày hợp lệ; viết dd/mm/yyyy" in term.expect("Ngày có hiệu lực")
        term.send("20/11/2026\n")
        term.expect("Tệp minh chứng")
        term.send("\n")
        screen = term.expect(STATUS)  # item 2: skipped
        assert "[2/" in screen and "kh04-bcdtw:t2-van-ban · 3 hệ thống" in screen
        assert "Áp dụng khi: hệ thống không thuộc lĩnh vực quân sự, quốc phòng hoặc cơ yếu" in screen
        term.send("\n")
        screen = term.expect(STATUS)  # item 3: chưa đạt for all but the second system
        assert "[3/" in screen and "kh04-bcdtw:t2-dau-moi" in screen
        term.send("c, ngoại trừ trang-ttdt-phuong: k\n")
        term.expect("Ghi chú")
        term.send("\n")
        term.expect("Ngày có hiệu lực")
        term.send("\n")
        term.expect("Tệp minh chứng")
        term.send("\n")
        term.expect(STATUS)
        term.send("q\n")
        term.expect("Đã dừng ở mục 4/")

    out = _run(["assess", AGENCY], first_run)
    assert "Phiên đánh giá #1" in out and "Áp dụng khi" in out
    assert "system." not in out and "∉" not in out and "∈" not in out  # no raw expressions
    assert "does not match" not in out and "Error:" not in out
    answers = _answers()
    for code in SYSTEMS:
        lo_hong = answers[("t1-lo-hong", code)]
        assert lo_hong["status"] == "dat" and lo_hong["effective"] == "2026-11-20" and lo_hong["note"] == "Đã khắc phục"
        assert ("t2-van-ban", code) not in answers
    assert {code: answers[("t2-dau-moi", code)]["status"] for code in SYSTEMS} == {
        "mot-cua-phuong": "chua-dat", "trang-ttdt-phuong": "khong-ap-dung", "mot-cua-du-phong": "chua-dat"}

    def second_run(term: _Terminal) -> None:
        screen = term.expect(STATUS)  # the skipped item first, before the new ones
        assert "hỏi lại 1 mục đã bỏ qua" in screen and "tiếp từ mục 4/" in screen
        assert "[2/" in screen and "kh04-bcdtw:t2-van-ban · 3 hệ thống" in screen
        term.send("3: c\n")  # only the third system; the other two stay unanswered
        term.expect("Ghi chú")
        term.send("\n")
        term.expect("Ngày có hiệu lực")
        term.send("\n")
        term.expect("Tệp minh chứng")
        term.send(f"{letter}\n")
        listed = term.expect("Loại minh chứng")
        assert "5. biên bản" in listed and "bien-ban" not in listed  # kinds by label, picked by number
        term.send("99\n")
        assert "chọn số từ 1 đến" in term.expect("Loại minh chứng")
        term.send("5\n")
        term.expect("Tệp minh chứng")
        term.send("\n")
        screen = term.expect(STATUS)
        assert "[4/" in screen  # then on after the bookmark, not back to item 3
        term.send("q\n")
        term.expect("Đã dừng ở mục 4/")

    out = _run(["assess", AGENCY], second_run)
    assert "[1/" not in out and "[3/" not in out
    answers = _answers()
    assert answers[("t2-van-ban", "mot-cua-du-phong")]["status"] == "chua-dat"
    assert answers[("t2-van-ban", "mot-cua-du-phong")]["effective"] == "2026-11-22"
    assert ("t2-van-ban", "mot-cua-phuong") not in answers
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    try:
        refs = list(ws.db.query("select system, kind from evidence_refs where item = 't2-van-ban'"))
    finally:
        ws.close()
    assert refs == [{"system": "mot-cua-du-phong", "kind": "bien-ban"}]

    def third_run(term: _Terminal) -> None:  # still unanswered for two systems: asked once more
        screen = term.expect(STATUS)
        assert "[2/" in screen and "3. mot-cua-du-phong — CHƯA ĐẠT" in screen
        term.send("q\n")

    _run(["assess", AGENCY], third_run)


@pytest.mark.parametrize(("text", "expected"), [
    ("d", dict.fromkeys(SYSTEMS, "dat")),
    ("Đ", dict.fromkeys(SYSTEMS, "dat")),
    ("d, ngoại trừ 2: c", {SYSTEMS[0]: "dat", SYSTEMS[1]: "chua-dat", SYSTEMS[2]: "dat"}),
    ("c; trừ mot-cua-du-phong: k, 1=d", {SYSTEMS[0]: "dat", SYSTEMS[1]: "chua-dat", SYSTEMS[2]: "khong-ap-dung"}),
    ("2: k", {SYSTEMS[1]: "khong-ap-dung"}),
    ("", {}),
])
def test_answer_for_all_systems_with_exceptions(text: str, expected: dict[str, str]) -> None:
    assert parse_answer(text, SYSTEMS) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("x", "Không hiểu 'x'"),
    ("d, ngoại trừ 4: c", "Không có hệ thống '4'"),
    ("d, ngoại trừ he-thong-x: c", "Không có hệ thống 'he-thong-x'"),
    ("d, 2: z", "Trạng thái 'z' cho trang-ttdt-phuong không hợp lệ"),
])
def test_a_bad_answer_is_explained_in_vietnamese(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_answer(text, SYSTEMS)
    assert message in caught.value.message


def test_agency_items_take_a_plain_status_only() -> None:
    assert parse_answer("k", []) == {None: "khong-ap-dung"}
    with pytest.raises(InputError):
        parse_answer("d, 1: c", [])


def test_every_shipped_condition_reads_as_vietnamese_without_codes() -> None:
    library = Library()
    seen = 0
    for checklist in library.checklists.values():
        for item in checklist.items:
            if item.applies_if is None:
                continue
            text = explain(item.applies_if)
            seen += 1
            assert "system." not in text and "agency." not in text, text
            for symbol in ("∉", "∈", "≥", "≤", "{", "=", "so-ban-nganh", "quan-su", "trung-tam-du-lieu-tinh"):
                assert symbol not in text, (item.id, text)
    assert seen > 10
    civilian = {"attr": "system.restricted_sector", "not_in": ["quan-su", "quoc-phong", "co-yeu"]}
    assert explain(civilian) == "hệ thống không thuộc lĩnh vực quân sự, quốc phòng hoặc cơ yếu"
    assert explain({"attr": "system.level", "gte": 3}) == "hệ thống có cấp độ từ 3 trở lên"
    assert explain({"attr": "agency.kind", "in": ["so-ban-nganh", "cong-an"]}) == (
        "cơ quan là “Sở, ban, ngành cấp tỉnh” hoặc Công an")


def test_undecided_applicability_names_the_missing_fact_in_words(cli, pinned_now: str, tmp_path: Path) -> None:
    data = yaml.safe_load((EXAMPLES / "inventory" / f"{AGENCY}.yaml").read_text(encoding="utf-8"))
    for system in data["systems"]:
        system.pop("critical", None)  # not declared: items that apply to critical systems are undecided
    source = tmp_path / f"{AGENCY}.yaml"
    source.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert cli("init").code == 0 and cli("inventory", "import", str(source)).code == 0
    out = CliRunner().invoke(root, ["assess", AGENCY], input="\n" * 200, catch_exceptions=False).stdout
    assert "Chưa rõ có áp dụng không (mot-cua-phuong): danh mục chưa ghi rõ “hệ thống trọng yếu”" in out
    assert "system.critical" not in out and "Xong phiên" in out
