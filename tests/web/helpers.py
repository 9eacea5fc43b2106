"""Shared by the web tests: the accounts of the example province and small helpers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOW = "2026-11-22T09:00:00+07:00"
#: One account per role; officers of two agencies so isolation can be tried both ways.
ACCOUNTS = {
    "quantri": ("admin", None),
    "thanhtra": ("inspector", None),
    "canbo-khcn": ("officer", "so-khcn"),
    "canbo-phuong": ("officer", "phuong-thanh-vinh"),
    "xem-tinh": ("viewer", None),
    "xem-khcn": ("viewer", "so-khcn"),
}


def password(username: str) -> str:
    return f"mat-khau-cua-{username}-2026"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found[1]


def replaced(old: object) -> object:
    """A WebDriverWait condition: the page that held ``old`` (an element) has been replaced.

    selenium's ``staleness_of`` expects a StaleElementReferenceException; Chromium sometimes answers a
    node of an unloaded document with a generic "Node with given id does not belong to the document"
    error instead, which means the same thing here.
    """
    from selenium.common.exceptions import WebDriverException

    def gone(_driver: object) -> bool:
        try:
            old.is_enabled()  # type: ignore[attr-defined]
        except WebDriverException:  # StaleElementReferenceException is one of these
            return True
        return False

    return gone
