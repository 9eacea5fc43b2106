"""The one clock: ``$SECAUDIT_NOW`` pins every "now" the program reads."""

from __future__ import annotations

import datetime as dt

import pytest

from secaudit import clock
from secaudit.errors import InputError
from secaudit.store import workspace as store


def test_pinned_instant_is_returned_as_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    assert clock.now() == dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
    assert store.now() == "2026-11-22T02:00:00+00:00"  # what every stored row records


def test_today_is_the_vietnam_calendar_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # 18:30 UTC on the 21st is already 01:30 on the 22nd in Hà Nội
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-21T18:30:00Z")
    assert clock.today() == dt.date(2026, 11, 22)


def test_bare_date_means_noon_in_vietnam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2027-03-01")
    assert clock.now() == dt.datetime(2027, 3, 1, 5, 0, tzinfo=dt.UTC)
    assert clock.today() == dt.date(2027, 3, 1)


def test_naive_time_is_read_as_vietnam_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-05-01T08:00:00")
    assert clock.now() == dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC)


def test_unset_follows_the_system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECAUDIT_NOW", raising=False)
    before = dt.datetime.now(dt.UTC)
    read = clock.now()
    assert before <= read <= dt.datetime.now(dt.UTC) and read.tzinfo is not None


@pytest.mark.parametrize("bad", ["hôm nay", "2026-13-01", "22/11/2026"])
def test_a_bad_pin_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", bad)
    with pytest.raises(InputError, match="SECAUDIT_NOW"):
        clock.now()


def test_the_cli_reports_a_bad_pin_without_traceback(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "ngày mai")
    result = cli("init")
    assert result.code == 1
    assert "SECAUDIT_NOW" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(("text", "day"), [
    ("20/11/2026", dt.date(2026, 11, 20)), ("5/1/2026", dt.date(2026, 1, 5)), ("05.01.2026", dt.date(2026, 1, 5)),
    (" 2026-11-20 ", dt.date(2026, 11, 20)), ("31/02/2026", None), ("2026/11/20", None), ("20/11/26", None),
    ("hôm nay", None), ("", None),
])
def test_parse_day_reads_dates_as_people_write_them(text: str, day: dt.date | None) -> None:
    assert clock.parse_day(text) == day
