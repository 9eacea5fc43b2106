"""Machine-readable exports of an agency report: XLSX, JSON and OSCAL assessment-results.

Each format is one module with a ``render(data) -> bytes`` function over the same
``secaudit.reporting.data.ReportData``; none opens a file, reads the clock or draws a random number, so the
same workspace and as-of date give byte-identical output. The CLI picks one by name through
:func:`render`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from secaudit.errors import InputError

if TYPE_CHECKING:
    from secaudit.reporting.data import ReportData

Formatter = Callable[["ReportData"], bytes]
FORMATS = ("xlsx", "json", "oscal")


def formatter(fmt: str) -> Formatter:
    """The ``render`` function of the export named ``fmt`` (imported on demand: openpyxl is heavy)."""
    if fmt == "xlsx":
        from secaudit.reporting.exports import xlsx

        return xlsx.render
    if fmt == "json":
        from secaudit.reporting.exports import json_export

        return json_export.render
    if fmt == "oscal":
        from secaudit.reporting.exports import oscal

        return oscal.render
    raise InputError(f"Định dạng xuất không hỗ trợ: {fmt}",
                     en=f"unsupported export format {fmt!r} ({', '.join(FORMATS)})")


def render(fmt: str, data: ReportData) -> bytes:
    """Export ``data`` as ``fmt``."""
    return formatter(fmt)(data)
