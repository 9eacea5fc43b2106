"""Text hygiene for everything secaudit writes from data it did not write itself.

Names, notes and file names come from agencies' files and bundles. Two kinds of such text lie to
the reader of a document: invisible format characters (Unicode category Cf — bidi overrides such
as U+202E turn "gnp.exe" into what looks like "exe.png", zero-width characters hide differences
between two names) and, in CSV opened by a spreadsheet, cells that start a formula. ``visible``
shows the first kind as ``<U+202E>``; ``csv_cell`` also defuses the second (OWASP CSV injection
advice: prefix a leading ``=``, ``+``, ``-``, ``@``, tab or CR with an apostrophe).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["UTF8_BOM", "csv_cell", "is_invisible", "visible", "visible_data", "visible_html"]

# Written first in CSV so that Excel on Windows reads the file as UTF-8, not the ANSI code page.
UTF8_BOM = "\ufeff"
_FORMULA_START = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)*|\d*\.\d+)(?:[eE][+-]?\d+)?")


def is_invisible(ch: str) -> bool:
    """Whether ``ch`` is a format character (Cf): it changes how text displays but shows nothing."""
    return unicodedata.category(ch) == "Cf"


def visible(text: str) -> str:
    """``text`` with every format character written as a visible ``<U+XXXX>`` escape."""
    if text.isascii():  # the common case, and ASCII has no format characters
        return text
    return "".join(f"<U+{ord(ch):04X}>" if is_invisible(ch) else ch for ch in text)


def visible_html(html: str) -> str:
    """Like ``visible`` for text that is already HTML: the escape is written as ``&lt;U+XXXX&gt;``."""
    if html.isascii():
        return html
    return "".join(f"&lt;U+{ord(ch):04X}&gt;" if is_invisible(ch) else ch for ch in html)


def visible_data(value: Any) -> Any:
    """``visible`` applied to every string (keys too) inside nested lists, tuples and mappings."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, Mapping):
        return {visible_data(k): visible_data(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [visible_data(v) for v in value]
    return value


def csv_cell(value: Any) -> Any:
    """A value safe to put in a CSV cell: visible, and never read as a formula by a spreadsheet.

    Plain numbers ("-5", "+3.2") are left alone: a spreadsheet reads them as numbers, not formulas.
    """
    if not isinstance(value, str):
        return value
    text = visible(value)
    if text and text[0] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
