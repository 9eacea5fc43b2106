"""The assessment wired to the level engine and the scan records, for every caller above them.

``secaudit.requirements`` sits below ``levels`` and ``scanning`` in the domain order, so its
evaluator takes the level lookup and the scan-coverage check as ``Collaborators``. Reporting is
the first package that may read both, and every caller of the assessment (reports, bundles, the
services and the CLI) sits at or above it, so the real collaborators are assembled here once and
the functions below keep the signatures the callers know.
"""

from __future__ import annotations

import datetime as dt

from secaudit.levels.baseline import baseline_level
from secaudit.requirements import evaluate, templates, walk
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.requirements.evaluate import Collaborators
from secaudit.requirements.results import AgencyAssessment, Result
from secaudit.scanning.verification import unverified
from secaudit.store.workspace import Workspace


def collaborators() -> Collaborators:
    """The real level lookup (approved, else certain suggestion) and scan-coverage check."""
    return Collaborators(level_of=baseline_level, scan_gaps=unverified)


def evaluate_agency(
    ws: Workspace, library: Library, agency: str, *, as_of: dt.date, profile: ResolvedProfile
) -> AgencyAssessment:
    """Evaluate every item of the profile's checklists in force on ``as_of`` for ``agency``."""
    return evaluate.evaluate_agency(ws, library, agency, as_of=as_of, profile=profile, using=collaborators())


def walk_steps(
    ws: Workspace, library: Library, agency: str, *, system: str | None, as_of: dt.date, profile: ResolvedProfile,
) -> list[walk.Step]:
    """The items the interactive walk asks about (see ``requirements.walk.walk_steps``)."""
    return walk.walk_steps(ws, library, agency, system=system, as_of=as_of, profile=profile,
                           using=collaborators())


def evaluate_step(
    ws: Workspace, library: Library, step: walk.Step, *, agency: str, as_of: dt.date, profile: ResolvedProfile,
) -> Result:
    """The evaluated state of one walk step now (see ``requirements.walk.evaluate_step``)."""
    return walk.evaluate_step(ws, library, step, agency=agency, as_of=as_of, profile=profile,
                              using=collaborators())


def answers_template(
    ws: Workspace, library: Library, agency: str, *, system: str | None, as_of: dt.date, profile: ResolvedProfile,
) -> str:
    """An answers file to fill in (see ``requirements.templates.answers_template``)."""
    return templates.answers_template(ws, library, agency, system=system, as_of=as_of, profile=profile,
                                      using=collaborators())
