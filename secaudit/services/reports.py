"""Report operations: an agency's report, the province roll-up, the yearly report (as bytes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from secaudit.services.workspace import Where, library, open_workspace


def agency_report(where: Where, agency: str, *, fmt: str = "pdf", as_of: dt.date, profile: str = "tu-danh-gia",
                  lang: str = "vi", template_dir: Path | None = None) -> bytes:
    """An agency's evidence report: pdf, html, xlsx, json or oscal."""
    from secaudit.reporting.documents import render_agency

    ws = open_workspace(where)
    lib = library()
    return render_agency(ws, lib, agency, fmt=fmt, as_of=as_of, profile=lib.resolve_profile(profile), lang=lang,
                         template_dir=template_dir)


def province_report(where: Where, province: str | None = None, *, fmt: str = "pdf", as_of: dt.date,
                    profile: str = "tu-danh-gia", lang: str = "vi", template_dir: Path | None = None) -> bytes:
    """The province roll-up (every agency × the KH 04 tasks): pdf or html."""
    from secaudit.reporting.documents import render_province

    ws = open_workspace(where)
    lib = library()
    return render_province(ws, lib, province or None, fmt=fmt, as_of=as_of, profile=lib.resolve_profile(profile),
                           lang=lang, template_dir=template_dir)


def yearly_report(where: Where, agency: str, *, year: int, fmt: str = "pdf", as_of: dt.date,
                  profile: str = "tu-danh-gia", template_dir: Path | None = None) -> bytes:
    """The yearly report to the Ministry of Public Security (NĐ 331/2026 Đ35–36): pdf or html."""
    from secaudit.reporting import yearly

    ws = open_workspace(where)
    lib = library()
    data = yearly.build_yearly(ws, lib, agency, year=year, as_of=as_of, profile=lib.resolve_profile(profile))
    return yearly.render(data, fmt=fmt, template_dir=template_dir)
