"""Assessment results: the status vocabulary, per-item results and their roll-up.

Kept apart from the evaluator so that answers, the walk, reports and bundles can name statuses
and read results without loading the evaluation rules.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from secaudit import clock


class Status(StrEnum):
    """Outcome of one requirement for one agency or system."""

    PASS = "dat"
    FAIL = "chua-dat"
    NOT_APPLICABLE = "khong-ap-dung"
    NOT_ASSESSED = "chua-danh-gia"
    WAIVED = "mien-tru"
    ERROR = "loi"

    @property
    def met(self) -> bool:
        """Whether this status satisfies a requirement (for exit codes and roll-ups)."""
        return self in _MET


_MET = frozenset((Status.PASS, Status.NOT_APPLICABLE, Status.WAIVED))


LABELS = {
    "vi": {
        Status.PASS: "ĐẠT", Status.FAIL: "CHƯA ĐẠT", Status.NOT_APPLICABLE: "KHÔNG ÁP DỤNG",
        Status.NOT_ASSESSED: "CHƯA ĐÁNH GIÁ", Status.WAIVED: "MIỄN TRỪ", Status.ERROR: "LỖI",
    },
    "en": {
        Status.PASS: "PASS", Status.FAIL: "FAIL", Status.NOT_APPLICABLE: "NOT APPLICABLE",
        Status.NOT_ASSESSED: "NOT ASSESSED", Status.WAIVED: "WAIVED", Status.ERROR: "ERROR",
    },
}

# Aggregation precedence: the first status present among the parts decides the whole.
ROLLUP_ORDER = (Status.FAIL, Status.ERROR, Status.NOT_ASSESSED)


@dataclass
class Result:
    """The evaluated state of one item for one agency (``system`` None) or one system."""

    checklist: str
    item: str
    agency: str
    system: str | None
    status: Status
    reasons: list[str] = field(default_factory=list)
    deadline: dt.date | None = None
    overdue: bool = False
    note: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    applicable: bool | None = True  # what the applicability condition said (None: unknown)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``status --format json`` and bundles."""
        return {
            "checklist": self.checklist, "item": self.item, "agency": self.agency, "system": self.system,
            "status": self.status.value, "overdue": self.overdue, "applicable": self.applicable,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "reasons": self.reasons, "note": self.note,
            "evidence": [e["sha256"] for e in self.evidence], "findings": [f["id"] for f in self.findings],
        }


@dataclass
class ReportDue:
    """The next progress report an agency owes under a reporting duty (KH 92A IV.1)."""

    checklist: str
    duty: str
    title: str
    every: str
    due_before: dt.date  # the report must arrive before this day
    days_left: int  # whole days from the evaluation day to the last day allowed (due_before - 1)
    recipient: str | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``status --format json``."""
        return {
            "checklist": self.checklist, "duty": self.duty, "title": self.title, "every": self.every,
            "due_before": self.due_before.isoformat(), "days_left": self.days_left, "recipient": self.recipient,
            "basis": self.basis,
        }


@dataclass
class AgencyAssessment:
    """Everything evaluated for one agency as of one date: item rows and per-system details."""

    agency: str
    as_of: dt.date
    profile: str
    checklists: list[str]
    results: list[Result]  # agency-level rows (system-scope items rolled up), one per item
    system_results: list[Result]  # per-system rows for system-scope items
    reports: list[ReportDue] = field(default_factory=list)  # next reports due, soonest first

    @property
    def met(self) -> bool:
        """True when every applicable item is met and nothing is overdue (else ``status`` exits 3)."""
        return all(r.status.met and not r.overdue for r in self.results)


def rollup(statuses: Iterable[Status]) -> Status:
    """Combine the statuses of several systems (or sub-items) into one."""
    parts = list(statuses)
    if not parts or all(s is Status.NOT_APPLICABLE for s in parts):
        return Status.NOT_APPLICABLE
    for status in ROLLUP_ORDER:
        if status in parts:
            return status
    relevant = [s for s in parts if s is not Status.NOT_APPLICABLE]
    return Status.WAIVED if all(s is Status.WAIVED for s in relevant) else Status.PASS



def results_json(assessments: Iterable[AgencyAssessment]) -> bytes:
    """Machine-readable status (stable key order): the chunks of ``results_json_chunks`` joined."""
    return b"".join(results_json_chunks(assessments))


def results_json_chunks(assessments: Iterable[AgencyAssessment]) -> Iterator[bytes]:
    """The status document one agency at a time, so a province is never held in memory whole.

    Byte for byte what ``json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True)`` wrote, but
    without its pure-Python indenting encoder (``indent`` turns the C encoder off): strings go through
    the C string encoder and the fixed shape of a result row is written by a template, its middle (all
    but the agency and the system) encoded once for every row with the same content.
    """
    first = True
    for a in assessments:
        yield _agency_bytes(a, b"[\n" if first else b",\n")
        first = False
    yield b"[]\n" if first else b"\n]\n"


_str = json.encoder.encode_basestring  # the C one when available; ensure_ascii=False escaping


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value)


def _value(value: Any, level: int) -> str:
    """``value`` as json.dumps(indent=2, sort_keys=True) writes it at nesting ``level``."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = "\n" + "  " * (level + 1)
        return ("{" + pad + ("," + pad).join(f"{_str(k)}: {_value(value[k], level + 1)}" for k in sorted(value))
                + "\n" + "  " * level + "}")
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        pad = "\n" + "  " * (level + 1)
        return "[" + pad + ("," + pad).join(_value(v, level + 1) for v in value) + "\n" + "  " * level + "]"
    return _scalar(value)


# result rows sit at level 3 (document list > agency > items/systems list): keys at 8 spaces
_KEY = ",\n        "
_ITEM = ",\n          "


def _list(values: list[Any]) -> str:
    if not values:
        return "[]"
    return "[\n          " + _ITEM.join(map(_scalar, values)) + "\n        ]"


def _texts(values: list[str]) -> str:
    if not values:
        return "[]"
    return "[\n          " + _ITEM.join(map(_str, values)) + "\n        ]"


def _flag(value: Any) -> str:
    return "true" if value is True else "false" if value is False else _scalar(value)


#: The middle of a result row (from "applicable" to the "system" key) as UTF-8, by the row's content,
#: for rows without evidence or findings: those repeat across systems and agencies. Bounded.
_MIDDLES: dict[tuple[Any, ...], bytes] = {}
#: The opening of a row up to its agency, and its end from the system value, by agency / system code.
_HEADS: dict[str, bytes] = {}
_TAILS: dict[str | None, bytes] = {}
_CACHE_LIMIT = 4096  # rows that repeat are a few thousand kinds at most; roll-up rows naming systems rarely repeat
_ROW_SEP = b",\n      "


def _middle_text(r: Result) -> str:
    """A result row of ``_value(r.to_dict(), 3)`` between the agency value and the system value."""
    return (
        _KEY + '"applicable": ' + _flag(r.applicable) + _KEY
        + '"checklist": ' + _str(r.checklist) + _KEY
        + '"deadline": ' + (_str(r.deadline.isoformat()) if r.deadline else "null") + _KEY
        + '"evidence": ' + (_texts([e["sha256"] for e in r.evidence]) if r.evidence else "[]") + _KEY
        + '"findings": ' + (_list([f["id"] for f in r.findings]) if r.findings else "[]") + _KEY
        + '"item": ' + _str(r.item) + _KEY + '"note": ' + ("null" if r.note is None else _scalar(r.note)) + _KEY
        + '"overdue": ' + _flag(r.overdue) + _KEY + '"reasons": ' + _texts(r.reasons) + _KEY
        + '"status": ' + _str(r.status.value) + _KEY + '"system": '
    )


def _rows(out: list[bytes], results: list[Result]) -> None:
    """Append the rows of ``results`` as ``_value([r.to_dict() ...], 2)`` writes them, in UTF-8, to ``out``."""
    if not results:
        out.append(b"[]")
        return
    append = out.append
    start = len(out)
    middles, heads, tails = _MIDDLES, _HEADS, _TAILS
    for r in results:
        append(_ROW_SEP)
        head = heads.get(r.agency)
        if head is None:
            head = heads[r.agency] = ('{\n        "agency": ' + _str(r.agency)).encode("utf-8")
        append(head)
        if r.evidence or r.findings:
            append(_middle_text(r).encode("utf-8"))
        else:
            key = (r.applicable, r.applicable.__class__, r.checklist, r.deadline, r.item, r.note, r.note.__class__,
                   r.overdue, r.overdue.__class__, tuple(r.reasons), r.status)
            middle = middles.get(key)
            if middle is None:
                if len(middles) >= _CACHE_LIMIT:
                    middles.clear()
                middle = middles[key] = _middle_text(r).encode("utf-8")
            append(middle)
        tail = tails.get(r.system)
        if tail is None:
            tail = tails[r.system] = (("null" if r.system is None else _str(r.system)) + "\n      }").encode("utf-8")
        append(tail)
    out[start] = b"[\n      "
    out.append(b"\n    ]")
    if len(heads) >= _CACHE_LIMIT or len(tails) >= _CACHE_LIMIT:
        heads.clear()
        tails.clear()


def _agency_bytes(a: AgencyAssessment, before: bytes) -> bytes:
    """``before`` and one agency's object of the status document, at level 1 (keys sorted, as before)."""
    out = [before, ('  {\n    "agency": ' + _str(a.agency) + ',\n    "as_of": ' + _str(a.as_of.isoformat())
                    + ',\n    "checklists": ' + _value(a.checklists, 2) + ',\n    "items": ').encode("utf-8")]
    _rows(out, a.results)
    out.append((',\n    "met": ' + _scalar(a.met) + ',\n    "profile": ' + _str(a.profile)
                + ',\n    "reports": ' + _value([r.to_dict() for r in a.reports], 2)
                + ',\n    "systems": ').encode("utf-8"))
    _rows(out, a.system_results)
    out.append(b"\n  }")
    return b"".join(out)


# -- reasons as readers see them ------------------------------------------------------------------
#: The evaluator writes each reason as "Vietnamese / English" (an English tail, or an English part
#: before a Vietnamese continuation after ": ").
_EN_TAIL = re.compile(r" / [\x20-\x7e]*$")
_EN_MIDDLE = re.compile(r" / [\x20-\x7e]*?(?=: [^/]*[^\x00-\x7f])")
_ISO_STAMP = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)?\b")


def drop_english(text: str) -> str:
    """The Vietnamese half of an evaluator's "vi / en" text."""
    while True:
        shorter = _EN_MIDDLE.sub("", _EN_TAIL.sub("", text))
        if shorter == text:
            return text
        text = shorter


def _local(m: re.Match[str]) -> str:
    if not m.group(4):
        return f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    stamp = dt.datetime.fromisoformat(m.group(0).replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(clock.VIETNAM).strftime("%d/%m/%Y %H:%M")


def local_dates(text: str) -> str:
    """ISO dates as dd/mm/yyyy and ISO instants (stored in UTC) as dd/mm/yyyy HH:MM in Vietnam."""
    return _ISO_STAMP.sub(_local, text)


def one_language(text: str, lang: str = "vi") -> str:
    """The half of a "vi / en" reason in ``lang`` (a reason without an English half stays whole)."""
    text = unicodedata.normalize("NFC", str(text))
    if lang == "vi":
        return drop_english(text)
    if text.count(" / ") == 1 and _EN_TAIL.search(text):
        return text.split(" / ", 1)[1]
    return text


def reader_reason(text: str, lang: str = "vi") -> str:
    """A reason in the reader's one language with local dates (listings; the reports also name codes)."""
    return local_dates(one_language(text, lang))
