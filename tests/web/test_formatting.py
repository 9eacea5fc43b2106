"""Dates on the web pages: an instant stored in UTC is shown as its day in Vietnam, not the UTC day."""

from __future__ import annotations

import datetime as dt

from secaudit.web.app import _vndate


def test_an_instant_before_seven_in_the_morning_is_the_vietnamese_day() -> None:
    assert _vndate("2026-05-09T20:00:00+00:00") == "10/05/2026"  # 03:00 on 10/05 in Vietnam
    assert _vndate("2026-05-10T09:00:00+07:00") == "10/05/2026"
    assert _vndate("2026-05-10") == "10/05/2026" and _vndate(dt.date(2026, 1, 2)) == "02/01/2026"
    assert _vndate("không phải ngày") == "không phải ngày" and _vndate(None) == ""
