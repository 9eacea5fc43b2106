"""The evaluator reads a system's level only through the collaborator its caller passes in.

requirements sits below levels in the domain order, so the level lookup is handed to
``evaluate_agency``; these tests show the seam is real: the level the collaborator gives decides
whether a level-bound item applies, and the wired collaborators give the level engine's answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from secaudit.reporting import assessment
from secaudit.requirements.content import Library
from secaudit.requirements.evaluate import Collaborators, evaluate_agency
from secaudit.requirements.results import Status
from secaudit.store.workspace import Workspace

LIB = Library()
AS_OF = dt.date(2026, 9, 1)
ITEM = ("cap-do-nd331", "hs-y-kien-chuyen-trach")  # applies_if: system.level >= 4 (NĐ 331 Đ21.5)


def _statuses(ws: Workspace, level: int | None) -> dict[str, Status]:
    def level_of(row: Mapping[str, Any], as_of: dt.date) -> int | None:
        return level

    using = Collaborators(level_of=level_of, scan_gaps=assessment.collaborators().scan_gaps)
    result = evaluate_agency(ws, LIB, "so-khcn", as_of=AS_OF, profile=LIB.resolve_profile("tu-danh-gia"),
                             using=using)
    return {r.system or "": r.status for r in result.system_results if (r.checklist, r.item) == ITEM}


def test_the_level_collaborator_decides_whether_a_level_bound_item_applies(example_ws: Workspace) -> None:
    low = _statuses(example_ws, 1)
    high = _statuses(example_ws, 4)
    unknown = _statuses(example_ws, None)
    assert low and set(low) == set(high) == set(unknown)
    assert set(low.values()) == {Status.NOT_APPLICABLE}
    assert Status.NOT_APPLICABLE not in set(high.values())
    assert Status.NOT_APPLICABLE not in set(unknown.values())  # an unknown level never hides a requirement


def test_the_wired_assessment_uses_the_level_engine(example_ws: Workspace) -> None:
    from secaudit import levels

    profile = LIB.resolve_profile("tu-danh-gia")
    wired = assessment.evaluate_agency(example_ws, LIB, "so-khcn", as_of=AS_OF, profile=profile)
    direct = evaluate_agency(example_ws, LIB, "so-khcn", as_of=AS_OF, profile=profile,
                             using=Collaborators(level_of=levels.baseline_level,
                                                 scan_gaps=assessment.collaborators().scan_gaps))
    assert [r.to_dict() for r in wired.system_results] == [r.to_dict() for r in direct.system_results]
    assert assessment.collaborators().level_of is levels.baseline_level
