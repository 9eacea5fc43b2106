"""click's own usage errors reach the officer Vietnamese first, click's English after " / "."""

from __future__ import annotations

import pytest

from secaudit.cli import click_message_vi


@pytest.mark.parametrize(("args", "vietnamese", "english"), [
    (("scann",), "Lỗi: Không có lệnh 'scann'. Có phải là 'scan'?", "No such command 'scann'"),
    (("init", "--bogus"), "Không có tùy chọn '--bogus'.", "No such option"),
    (("assess", "so-khcn", "--answers", "khong-co.xlsx"),
     "Giá trị không hợp lệ cho '--answers': Không có tệp hoặc thư mục 'khong-co.xlsx'.", "does not exist"),
    (("report", "so-khcn", "--format", "odt", "-o", "x.odt"), "'odt' không phải một trong", "is not one of"),
    (("scan", "import"), "Thiếu đối số 'XML_FILE'.", "Missing argument"),
])
def test_usage_errors_are_vietnamese_first(cli, args: tuple[str, ...], vietnamese: str, english: str) -> None:
    result = cli(*args)
    assert result.code == 2
    assert vietnamese in result.err and english in result.err
    assert result.err.index(vietnamese) < result.err.index(english)
    assert "Xem 'secaudit" in result.err and "Traceback" not in result.err


def test_english_listing_language_keeps_clicks_own_words(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    result = cli("scann")
    assert result.code == 2 and "No such command 'scann'" in result.err and "Không có lệnh" not in result.err


def test_unknown_messages_pass_through_unchanged() -> None:
    assert click_message_vi("Something click says that we never saw.") == "Something click says that we never saw."
