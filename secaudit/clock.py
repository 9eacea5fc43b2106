"""The one clock secaudit reads "now" from.

Every timestamp the program records (scans, evidence, the audit log, bundles, submissions) and
every default "as of" date comes from here, so a test or the demo can pin time with one
environment variable instead of depending on the day it runs:

    SECAUDIT_NOW=2026-11-22T09:00:00+07:00   (an instant; a bare date means 12:00 Vietnam time)

A pinned clock is frozen: every call returns that instant. Unset, the system clock is used.
"Today" is the calendar day in Vietnam (UTC+7, no daylight saving), where the users are, not the
machine's own time zone.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from secaudit.errors import InputError

ENV_VAR = "SECAUDIT_NOW"
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")


def _pinned(text: str) -> dt.datetime:
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(12, 0), VIETNAM).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"${ENV_VAR}={text!r} không phải ngày giờ ISO (vd. 2026-11-22 hoặc 2026-11-22T09:00:00+07:00).",
            en="not an ISO date or date-time",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    return moment.astimezone(dt.UTC)


def now() -> dt.datetime:
    """The current instant, timezone-aware UTC (pinned by ``$SECAUDIT_NOW`` when set)."""
    pinned = os.environ.get(ENV_VAR)
    if pinned:
        return _pinned(pinned)
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in Vietnam, from :func:`now`."""
    return now().astimezone(VIETNAM).date()


def now_text() -> str:
    """:func:`now` as ISO text at second precision, the form every stored row records."""
    return now().replace(microsecond=0).isoformat()


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_day(text: str) -> dt.date | None:
    """A calendar day as people write it: dd/mm/yyyy (``/``, ``.`` or ``-`` between; how Vietnamese
    documents write dates) or yyyy-mm-dd. None when ``text`` is not a real day (31/02/2026 included);
    each caller words its own error, with the file, cell or option it came from."""
    text = text.strip()
    parts: tuple[str, ...] | None = None
    if m := _DMY.fullmatch(text):
        parts = (m[3], m[2], m[1])
    elif m := _YMD.fullmatch(text):
        parts = (m[1], m[2], m[3])
    if parts is None:
        return None
    try:
        return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None
