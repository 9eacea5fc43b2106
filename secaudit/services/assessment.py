"""Assessment operations: answers (file, single, template), waivers, status, the guided walk.

The walk's dialogue belongs to a face; the functions here are its steps: open a session, list the
items to answer, save or skip one answer, evaluate it, finish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.services.workspace import Where, actor_name, library, open_workspace


def import_answers(where: Where, agency: str, path: Path, *, actor: str | None = None) -> Any:
    """Record every answer of an answers file, YAML or Excel (.xlsx), all or nothing; returns the summary."""
    if path.suffix.lower() == ".xlsx":
        from secaudit.requirements.answers_xlsx import import_workbook

        return import_workbook(open_workspace(where), library(), path, agency=agency, actor=actor_name(actor))
    from secaudit.requirements.answers import import_answers as load

    return load(open_workspace(where), library(), path, agency=agency, actor=actor_name(actor))


def answers_workbook(where: Where, agency: str, output: Path, *, system: str | None = None, as_of: dt.date,
                     profile: str = "tu-danh-gia") -> int:
    """Write the answers workbook (.xlsx) to fill in, prefilled with the current answers; returns its rows."""
    from secaudit.reporting.assessment import walk_steps
    from secaudit.requirements.answers_xlsx import write_template

    ws = open_workspace(where)
    lib = library()
    resolved = lib.resolve_profile(profile)
    steps = walk_steps(ws, lib, agency, system=system, as_of=as_of, profile=resolved)
    return write_template(ws, lib, output, steps, agency=agency, as_of=as_of, profile=resolved.id)


def answers_template(where: Where, agency: str, *, system: str | None = None, as_of: dt.date,
                     profile: str = "tu-danh-gia") -> str:
    """An answers file to fill in, listing the applicable items with the current answers."""
    from secaudit.reporting.assessment import answers_template as template

    lib = library()
    return template(open_workspace(where), lib, agency, system=system, as_of=as_of,
                    profile=lib.resolve_profile(profile))


def record_answer(where: Where, agency: str, ref: str, *, status: str, system: str | None = None,
                  note: str | None = None, evidence: Sequence[Path] = (), kind: str | None = None,
                  effective: dt.date | None = None, expires: dt.date | None = None,
                  actor: str | None = None) -> None:
    """Record one answer for ``CHECKLIST:ITEM`` with its evidence files."""
    from secaudit.requirements import answers

    files = [answers.Evidence(p.resolve(), kind, effective, expires) for p in evidence]
    answers.set_answer(open_workspace(where), library(), agency=agency, ref=ref, system=system or None,
                       status=status, note=note, evidence=files, actor=actor_name(actor), effective=effective)


def list_answers(where: Where, agency: str) -> list[dict[str, Any]]:
    from secaudit.requirements import answers

    return answers.list_answers(open_workspace(where), agency)


def waive(where: Where, agency: str, ref: str, *, reason: str, approved_by: str, until: dt.date,
          system: str | None = None, actor: str | None = None) -> int:
    """Waive a requirement until a date; returns the waiver's number."""
    from secaudit.requirements import answers

    return int(answers.add_waiver(open_workspace(where), library(), agency=agency, system=system or None, ref=ref,
                                  reason=reason, approved_by=approved_by, until=until, actor=actor_name(actor)))


def assess_status(where: Where, agency: str | None = None, *, as_of: dt.date,
                  profile: str = "tu-danh-gia") -> list[Any]:
    """The evaluation of one agency, or of every agency in the workspace."""
    from secaudit.inventory.records import agency_codes
    from secaudit.reporting.assessment import evaluate_agency

    ws = open_workspace(where)
    lib = library()
    resolved = lib.resolve_profile(profile)
    codes = [agency] if agency else agency_codes(ws)
    if agency:
        ws.require_agency(agency)
    return [evaluate_agency(ws, lib, code, as_of=as_of, profile=resolved) for code in codes]


def status_json(results: list[Any]) -> bytes:
    """Evaluations as the JSON document ``status --format json`` prints."""
    from secaudit.requirements.results import results_json

    return results_json(results)


class StatusJson:
    """``status --format json`` as byte chunks, one agency evaluated and written at a time.

    A province of a thousand agencies is hundreds of megabytes of JSON; holding every evaluation
    and the whole text in memory before writing cost gigabytes. The workspace, the profile and the
    agency are checked when this is made (errors come before any output); ``met`` is known once
    the chunks have all been read.
    """

    def __init__(self, where: Where, agency: str | None = None, *, as_of: dt.date,
                 profile: str = "tu-danh-gia") -> None:
        from secaudit.inventory.records import agency_codes

        self._ws = open_workspace(where)
        self._library = library()
        self._profile = self._library.resolve_profile(profile)
        if agency:
            self._ws.require_agency(agency)
        self._codes = [agency] if agency else agency_codes(self._ws)
        self._as_of = as_of
        self.met = True
        self._library.checklists  # noqa: B018  read now, as the first evaluation would: loading is done here

    def __iter__(self) -> Iterator[bytes]:
        from secaudit.requirements.results import results_json_chunks

        return results_json_chunks(self._assessments())

    def _assessments(self) -> Iterator[Any]:
        from secaudit.reporting.assessment import evaluate_agency

        for code in self._codes:
            result = evaluate_agency(self._ws, self._library, code, as_of=self._as_of, profile=self._profile)
            self.met = self.met and result.met
            yield result


# -- the guided walk ------------------------------------------------------------------------------
@dataclass
class Walk:
    """An open walk: the items to answer, the session bookmark and where to continue."""

    ws: Any
    library: Any
    profile: Any  # the resolved profile
    agency: str
    system: str | None
    as_of: dt.date
    actor: str
    steps: list[Any] = field(default_factory=list)
    session: Any = None  # None when there is nothing to answer
    start: int = 0


def start_walk(where: Where, agency: str, *, system: str | None = None, as_of: dt.date,
               profile: str = "tu-danh-gia", actor: str | None = None, restart: bool = False) -> Walk:
    """Resume the agency's unfinished walk (or start one): the steps and the index to continue at."""
    from secaudit.reporting.assessment import walk_steps
    from secaudit.requirements.walk import open_session, resume_index

    ws = open_workspace(where)
    lib = library()
    resolved = lib.resolve_profile(profile)
    walk = Walk(ws, lib, resolved, agency, system, as_of, actor_name(actor))
    walk.steps = walk_steps(ws, lib, agency, system=system, as_of=as_of, profile=resolved)
    if walk.steps:
        walk.session = open_session(ws, agency=agency, system=system, profile=resolved.id, as_of=as_of,
                                    actor=walk.actor, restart=restart)
        walk.start = resume_index(walk.session, walk.steps)
    return walk


def save_walk_answer(walk: Walk, step: Any, *, status: str, note: str | None = None,
                     evidence: Sequence[tuple[Path, str]] = (), effective: dt.date | None = None) -> Any:
    """Save one answer with its evidence files (path, kind); returns the step's evaluation after it."""
    from secaudit.reporting.assessment import evaluate_step
    from secaudit.requirements.answers import Evidence
    from secaudit.requirements.walk import answer_step

    answer_step(walk.ws, walk.session, step, status=status, note=note,
                evidence=[Evidence(path, kind) for path, kind in evidence], actor=walk.actor, effective=effective)
    return evaluate_step(walk.ws, walk.library, step, agency=walk.agency, as_of=walk.as_of, profile=walk.profile)


def skip_walk_step(walk: Walk, step: Any) -> None:
    """Move the bookmark past a step without answering it."""
    from secaudit.requirements.walk import skip_step

    skip_step(walk.ws, walk.session, step)


def finish_walk(walk: Walk) -> None:
    """Close a walk that reached its end (a stopped walk stays open, to be resumed)."""
    from secaudit.requirements.walk import finish_session

    finish_session(walk.ws, walk.session, actor=walk.actor)
