"""Công an tỉnh's inspection: an agency's bundle imported into a separate workspace, scanned independently
with real nmap against the example loopback services, compared claim by claim, and reported in the
police's own name."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES

NOW = "2026-05-10T09:00:00+07:00"


@pytest.fixture
def inspector(tmp_path: Path, cli: Any, example_services: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """so-khcn exports its bundle (answers only, no scan of its own) from its own workspace; Công an tỉnh
    imports it into a separate workspace, accepts the declared hosts and scans them itself (real nmap)."""
    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    agency, police, bundle = tmp_path / "so-khcn-ws", tmp_path / "cong-an-ws", tmp_path / "so-khcn.zip"
    for args in (
        ("-w", str(agency), "init"),
        ("-w", str(agency), "inventory", "import", str(EXAMPLES / "inventory" / "so-khcn.yaml")),
        ("-w", str(agency), "assess", "so-khcn", "--answers", str(EXAMPLES / "answers" / "so-khcn.yaml")),
        ("-w", str(agency), "bundle", "export", "--agency", "so-khcn", "-o", str(bundle), "--no-report"),
        ("-w", str(police), "init"),
        ("-w", str(police), "bundle", "import", str(bundle)),
        ("-w", str(police), "submissions", "accept", "so-khcn", "1"),
        ("-w", str(police), "scan", "so-khcn"),
    ):
        result = cli(*args)
        assert result.code == 0, (args, result.err)
    return police


def test_claimed_met_but_open_redis_found_is_a_contradiction_and_first(inspector: Path, cli: Any) -> None:
    result = cli("-w", str(inspector), "submissions", "status", "so-khcn", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    rows = doc["rows"]
    first = rows[0]
    assert (first["item"], first["system"], first["task"]) == ("t1-lo-hong", "lgsp-tinh", 1)
    assert first["agreement"] == "mau-thuan"
    # the claim is what so-khcn answered, with its note, date, evidence and submission — not a recomputation
    assert first["claim"]["status"] == "dat" and first["claim"]["source"] == "tra-loi"
    assert first["claim"]["submission"] == 1 and first["claim"]["date"] == "2026-04-24"
    assert [e["name"] for e in first["claim"]["evidence"]] == ["bien-ban-khac-phuc.pdf"]
    # the verification is the police's own scan: the undeclared Redis on 6379
    assert first["verification"]["status"] == "chua-dat"
    assert any(f["port"] == 6379 and f["address"] == "127.0.10.1" for f in first["verification"]["findings"])
    assert first["text"].startswith("khai ĐẠT / kiểm tra CHƯA ĐẠT — mâu thuẫn")
    # one row per task × system, every row with the three keys and a known agreement value
    keys = [(r["item"], r["system"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert {r["agreement"] for r in rows} <= {"khop", "mau-thuan", "chua-kiem-chung"}
    assert all({"claim", "verification", "agreement"} <= set(r) for r in rows)
    # nothing the police did not observe is counted as verified
    unverified = [r for r in rows if r["agreement"] == "chua-kiem-chung"]
    assert unverified and all(r["verification"]["status"] == "chua-danh-gia" for r in unverified)
    # contradictions come before everything else
    order = [r["agreement"] == "mau-thuan" for r in rows]
    assert order == sorted(order, reverse=True)


def test_status_table_puts_contradictions_first_and_counts_the_unverified(inspector: Path, cli: Any) -> None:
    result = cli("-w", str(inspector), "submissions", "status", "so-khcn")
    assert result.code == 0, result.err
    text = result.out
    assert "Kiểm tra" in text and "Tự đánh giá" not in text
    lines = [line for line in text.splitlines() if "Khắc phục lỗ hổng" in line]
    assert "lgsp-tinh" in lines[0] and "MÂU THUẪN" in lines[0]
    # "chưa kiểm chứng" is a count line, not one row each
    assert re.search(r"Còn \d+ dòng chưa kiểm chứng", text)
    listed = sum(1 for line in text.splitlines() if "chưa kiểm chứng" in line and "quá hạn" not in line)
    assert listed <= 3
    full = cli("-w", str(inspector), "submissions", "status", "so-khcn", "--all").out
    assert full.count("chưa kiểm chứng") > text.count("chưa kiểm chứng")


def test_history_and_late_agencies(inspector: Path, cli: Any) -> None:
    history = json.loads(cli("-w", str(inspector), "submissions", "history", "so-khcn", "--format", "json").out)
    assert [h["id"] for h in history] == [1]
    assert history[0]["answers"]["t1-lo-hong:lgsp-tinh"] == "dat"
    late = cli("-w", str(inspector), "submissions", "late", "--deadline", "2026-05-31", "--format", "json")
    assert json.loads(late.out) == [{"agency": "so-khcn", "deadline": "2026-05-31", "late": False, "submission": 1,
                                     "submitted": "2026-05-10"}]
    early = json.loads(cli("-w", str(inspector), "submissions", "late", "--deadline", "2026-04-30", "--format",
                           "json").out)
    assert early[0]["late"] is True and early[0]["submitted"] == "2026-05-10"


def test_changes_between_submissions() -> None:
    from secaudit.exchange.inspection import changes_between

    before = {"t1-lo-hong:a": "chua-dat", "t1-lo-hong:b": "dat", "t5-giam-sat": "dat"}
    after = {"t1-lo-hong:a": "dat", "t1-lo-hong:b": "chua-dat", "t6-soc": "chua-dat", "t5-giam-sat": "dat"}
    assert {c["key"]: c["change"] for c in changes_between(before, after)} == {
        "t1-lo-hong:a": "da-khac-phuc", "t1-lo-hong:b": "thut-lui", "t6-soc": "moi"}


def pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_inspection_report_is_issued_in_the_police_name(inspector: Path, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "kiem-tra.pdf"
    missing = cli("-w", str(inspector), "report", "so-khcn", "--inspection", "--format", "pdf", "-o", str(out))
    assert missing.code != 0 and "issuer set" in missing.err and "Traceback" not in missing.err
    assert not out.exists()
    result = cli("-w", str(inspector), "issuer", "set", "--name", "Công an tỉnh Nghệ An", "--parent", "Bộ Công an",
                 "--symbol", "CAT-PA05", "--place", "Nghệ An", "--signer-title", "Trưởng phòng An ninh mạng",
                 "--signer-name", "Thái Bá Cường", "--signer-authority", "TL.", "--signer-on-behalf-of", "Giám đốc",
                 "--recipient", "Sở Khoa học và Công nghệ", "--recipient", "Lưu: VT, PA05")
    assert result.code == 0, result.err
    shown = json.loads(cli("-w", str(inspector), "issuer", "show", "--format", "json").out)
    assert shown["symbol"] == "CAT-PA05" and shown["recipients"] == ["Sở Khoa học và Công nghệ", "Lưu: VT, PA05"]
    with sqlite3.connect(inspector / "secaudit.db") as db:
        assert db.execute("select count(*) from log where action = 'issuer.set'").fetchone()[0] == 1
    result = cli("-w", str(inspector), "report", "so-khcn", "--inspection", "--format", "pdf", "-o", str(out))
    assert result.code == 0, result.err
    text = pdftotext(out)
    header = "\n".join(text.splitlines()[:4])
    assert "CÔNG AN TỈNH NGHỆ AN" in header and "BỘ CÔNG AN" in header and "/BC-CAT-PA05" in header
    assert "SỞ KHOA HỌC" not in header and "SKHCN" not in text
    flat = " ".join(text.split())
    assert "MÂU THUẪN VỚI KẾT QUẢ KIỂM TRA" in flat
    contradiction = flat[flat.index("II. NỘI DUNG"):flat.index("III. NHIỆM VỤ")]
    assert "ĐẠT" in contradiction and "CHƯA ĐẠT" in contradiction and "127.0.10.1:6379" in contradiction
    assert "Thái Bá Cường" in flat and "Nguyễn Thị Thu Hằng" not in flat  # the police's signer, not the Sở's
    assert "KẾT LUẬN" in flat and "YÊU CẦU, KIẾN NGHỊ" in flat
    # the same report as Word, through H15a's docx helpers: the police's header and the contradiction
    from docx import Document

    word = tmp_path / "kiem-tra.docx"
    result = cli("-w", str(inspector), "report", "so-khcn", "--inspection", "--format", "docx", "-o", str(word))
    assert result.code == 0, result.err
    doc = Document(str(word))
    head = " ".join(c.text for c in doc.tables[0].rows[0].cells)
    assert "CÔNG AN TỈNH NGHỆ AN" in head and "SỞ KHOA HỌC" not in head
    cells = " ".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "127.0.10.1:6379" in cells and "Thái Bá Cường" in cells
