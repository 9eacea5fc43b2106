"""Report operations: an agency's report, the province roll-up, the yearly report (as bytes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from secaudit.errors import InputError
from secaudit.services.workspace import Where, library, open_workspace


def agency_report(where: Where, agency: str, *, fmt: str = "pdf", as_of: dt.date, profile: str = "tu-danh-gia",
                  lang: str = "vi", template_dir: Path | None = None, embed_evidence: bool = True) -> bytes:
    """An agency's evidence report: pdf, html, docx, xlsx, json or oscal."""
    from secaudit.reporting.documents import render_agency

    ws = open_workspace(where)
    lib = library()
    return render_agency(ws, lib, agency, fmt=fmt, as_of=as_of, profile=lib.resolve_profile(profile), lang=lang,
                         template_dir=template_dir, embed_evidence=embed_evidence)


def report_note(where: Where, agency: str, section: str, text: str, *, period: str | None = None,
                actor: str) -> dict[str, Any]:
    """Record the officer's text for one section of an agency's report over a period (audit-logged)."""
    from secaudit.reporting import narrative

    ws = open_workspace(where)
    return narrative.set_note(ws, agency, section, text, period=narrative.parse_period(period), actor=actor)


def _local(stamp: str) -> str:
    """A stored UTC timestamp as the officer reads it: dd/mm/yyyy HH:MM, Vietnam time."""
    from secaudit import clock

    return dt.datetime.fromisoformat(stamp).astimezone(clock.VIETNAM).strftime("%d/%m/%Y %H:%M")


def report_notes(where: Where, agency: str, *, period: str | None = None) -> list[dict[str, Any]]:
    """The texts a report for ``period`` (its last day) would print, one per written section."""
    from secaudit.reporting import narrative

    ws = open_workspace(where)
    ws.require_agency(agency)
    span = narrative.parse_period(period)
    found = narrative.notes_for(ws, agency, span.end)
    return [{"section": s, "title": narrative.SECTION_TITLES[s][0], "period": found[s]["period_label"],
             "actor": found[s]["actor"], "written_at": _local(found[s]["written_at"]), "text": found[s]["text"]}
            for s in narrative.SECTIONS if s in found]


def province_report(where: Where, province: str | None = None, *, fmt: str = "pdf", as_of: dt.date,
                    profile: str = "tu-danh-gia", lang: str = "vi", template_dir: Path | None = None,
                    non_compliant: bool = False) -> bytes:
    """The province roll-up (every agency × the KH 04 tasks): pdf or html; with ``non_compliant``, the
    publishable list of agencies with overdue or unmet tasks (3130/UBND-VX): pdf, html or xlsx.

    The rows come from the workspace's own assessment (``reporting.province.build_province``); a roll-up
    built from submissions fills the same ``ProvinceData`` rows and hands them to the same renderers.
    """
    from secaudit.reporting import noncompliant, rollup
    from secaudit.reporting.province import build_province

    allowed = noncompliant.FORMATS if non_compliant else rollup.FORMATS
    if fmt not in allowed:
        raise InputError(f"Định dạng {fmt} không dùng được ở đây; chọn: {', '.join(allowed)}",
                         en=f"format {fmt} is not available here; choose: {', '.join(allowed)}")
    ws = open_workspace(where)
    lib = library()
    data = build_province(ws, lib, province or None, as_of=as_of, profile=lib.resolve_profile(profile), lang=lang)
    if non_compliant:
        return noncompliant.render(data, fmt=fmt, template_dir=template_dir)
    return rollup.render(data, fmt=fmt, template_dir=template_dir)


def yearly_report(where: Where, agency: str, *, year: int, fmt: str = "pdf", as_of: dt.date,
                  profile: str = "tu-danh-gia", template_dir: Path | None = None) -> bytes:
    """The yearly report to the Ministry of Public Security (NĐ 331/2026 Đ35–36): pdf or html."""
    from secaudit.reporting import yearly

    ws = open_workspace(where)
    lib = library()
    data = yearly.build_yearly(ws, lib, agency, year=year, as_of=as_of, profile=lib.resolve_profile(profile))
    return yearly.render(data, fmt=fmt, template_dir=template_dir)
