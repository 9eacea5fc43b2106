"""What the interactive walk says after an answer, and which evidence kind it offers first.

The walk is driven through click's ``CliRunner`` with typed input on the example province; the
verdict it prints is checked against ``status --format json`` so the two can never disagree.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from secaudit.cli import cli as root
from secaudit.requirements.content import Library
from secaudit.requirements.walk import default_evidence_kind
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

NOW = "2026-05-01T09:00:00+07:00"
WALK = ["assess", "so-khcn", "--system", "lgsp-tinh"]  # step 1 t1-lo-hong, step 2 t2-van-ban
NOT_COUNTED = "nhưng chưa được tính"


@pytest.fixture
def province(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    return cli


def _walk(args: list[str], keys: list[str]) -> str:
    result = CliRunner().invoke(root, args, input="\n".join(keys) + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _status(cli, item: str, profile: str = "tu-danh-gia") -> str:
    out = json.loads(cli("status", "so-khcn", "--profile", profile, "--format", "json").out)
    return next(r["status"] for r in out[0]["systems"] if r["item"] == item and r["system"] == "lgsp-tinh")


def _doc(tmp_path: Path) -> Path:
    path = tmp_path / "cong-van.pdf"
    path.write_bytes(b"%PDF-1.4 cong van huong dan ket noi")
    return path


def test_a_pass_without_the_required_documents_is_not_reported_as_saved_pass(province) -> None:
    # t2-van-ban accepts no attestation: "đạt" with no file cannot count
    out = _walk(WALK, ["", "d", "", "", "", "q"])
    assert "Đã lưu / saved: ĐẠT" not in out
    assert f"Đã lưu câu trả lời ĐẠT, {NOT_COUNTED}: đánh giá hiện tại là CHƯA ĐẠT" in out
    assert "thiếu tài liệu minh chứng" in out
    assert _status(province, "t2-van-ban") == "chua-dat"  # the prompt said what status says


def test_a_document_of_the_wrong_kind_is_flagged_under_inspection(province, tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    inspect = [*WALK, "--profile", "kiem-tra"]
    wrong = _walk(inspect, ["", "d", "", "", str(doc), "tai-lieu", "", "q"])
    assert NOT_COUNTED in wrong and "không thuộc loại yêu cầu" in wrong
    assert _status(province, "t2-van-ban", "kiem-tra") == "chua-dat"
    right = _walk([*inspect, "--restart"], ["", "d", "", "", str(doc), "van-ban", "", "q"])
    assert "Đã lưu / saved: ĐẠT, 1 tệp minh chứng" in right and NOT_COUNTED not in right
    assert _status(province, "t2-van-ban", "kiem-tra") == "dat"


def test_an_answer_dated_after_the_walk_day_is_said_not_to_count(province) -> None:
    out = _walk(WALK, ["", "c", "", "2026-06-01", "", "q"])
    assert f"Đã lưu câu trả lời CHƯA ĐẠT, {NOT_COUNTED}" in out and "chỉ có hiệu lực từ 2026-06-01" in out


def test_default_kind_is_a_document_the_item_asks_for_not_a_scan_result(province, tmp_path: Path) -> None:
    doc = tmp_path / "bao-cao-khac-phuc.pdf"
    doc.write_bytes(b"%PDF-1.4 bao cao")
    out = _walk(WALK, ["d", "", "", str(doc), "", "", "q"])  # Enter at "Loại": take the default
    assert "[báo cáo]" in out and "[kết quả dò quét]" not in out  # offered by its label, not its code
    ws = Workspace.open(Path(os.environ["SECAUDIT_WORKSPACE"]))
    try:
        assert next(ws.db.query("select kind from evidence_refs where item = 't1-lo-hong'"))["kind"] == "bao-cao"
    finally:
        ws.close()


def test_default_kind_rule_over_every_shipped_item() -> None:
    library = Library()
    for checklist in library.checklists.values():
        for item in checklist.items:
            kind = default_evidence_kind(item)
            documents = item.evidence.documents
            assert kind in documents if documents else kind == "tai-lieu", (checklist.id, item.id)
            if any(k != "ket-qua-quet" for k in documents):
                assert kind != "ket-qua-quet", (checklist.id, item.id)
