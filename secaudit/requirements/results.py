"""Assessment results: the status vocabulary, per-item results and their roll-up.

Kept apart from the evaluator so that answers, the walk, reports and bundles can name statuses
and read results without loading the evaluation rules.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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
        return self in (Status.PASS, Status.NOT_APPLICABLE, Status.WAIVED)


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



def results_json(assessments: list[AgencyAssessment]) -> bytes:
    """Machine-readable status (stable key order)."""
    doc = [
        {
            "agency": a.agency, "as_of": a.as_of.isoformat(), "profile": a.profile, "checklists": a.checklists,
            "met": a.met, "items": [r.to_dict() for r in a.results],
            "systems": [r.to_dict() for r in a.system_results],
            "reports": [r.to_dict() for r in a.reports],
        }
        for a in assessments
    ]
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
