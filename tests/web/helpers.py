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
