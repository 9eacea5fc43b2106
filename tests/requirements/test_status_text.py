"""`secaudit status` as the officer reads it: one language, dates as dd/mm/yyyy, the profile by its name."""

from __future__ import annotations

import re

import pytest

from secaudit.requirements.results import reader_reason

from conftest import EXAMPLES

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _answers(cli) -> None:  # the example answers carry dated notes and evidence
    for answers in sorted((EXAMPLES / "answers").glob("*.yaml")):
        assert cli("assess", answers.stem, "--answers", str(answers)).code == 0


def test_status_tables_have_no_english_half_and_no_iso_date(cli, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    _answers(cli)
    for args in (("status", "phuong-thanh-vinh"), ("status", "so-khcn"), ("status",)):
        out = cli(*args).out
        assert "no answer recorded" not in out and "not applicable" not in out, args
        assert "hồ sơ tu-danh-gia" not in out and "Tự đánh giá" in out, args
        assert not ISO.search(out), (args, ISO.search(out))
        assert "22/11/2026" in out
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    english = cli("status", "phuong-thanh-vinh").out
    assert "no answer recorded" in english and "chưa có câu trả lời" not in english


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("chưa có câu trả lời / no answer recorded", "vi", "chưa có câu trả lời"),
    ("chưa có câu trả lời / no answer recorded", "en", "no answer recorded"),
    ("lgsp-tinh: CHƯA ĐẠT — lần quét #3 ngày 2026-12-06 phát hiện 1 vấn đề", "vi",
     "lgsp-tinh: CHƯA ĐẠT — lần quét #3 ngày 06/12/2026 phát hiện 1 vấn đề"),
    ("quét lúc 2026-11-22T02:00:00+00:00", "vi", "quét lúc 22/11/2026 09:00"),
])
def test_reader_reason(text: str, lang: str, expected: str) -> None:
    assert reader_reason(text, lang) == expected
