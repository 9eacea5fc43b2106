"""The interactive walk: the steps to ask, a resumable session, and saving each answer.

The walk saves after every answer and keeps a bookmark, so a stopped walk resumes at the next item.
It asks the evaluator itself whether a saved answer counts, so there is no second copy of the rules.

Steps are asked by item (``Group``): an item that applies per system is asked once for all the
agency's systems, with per-system exceptions (``parse_answer``). On resume, the items skipped earlier
in the same session and still unanswered are asked again first, then the walk continues after the
bookmark (``walk_order``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from secaudit.errors import InputError, NotFoundError
from secaudit.requirements.answers import Evidence, kind_problem, record_answer
from secaudit.requirements.content import UNCLASSIFIED, Checklist, Item, Library, ResolvedProfile
from secaudit.requirements.evaluate import Collaborators, evaluate_agency, keyed
from secaudit.requirements.results import Result
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, now


@dataclass
class Step:
    """One question of the walk: an item for the agency or for one system, with what is known now."""

    checklist: Checklist
    item: Item
    system: str | None
    result: Result
    answer: dict[str, Any] | None
    evidence: list[dict[str, Any]]

    @property
    def key(self) -> str:
        """The bookmark key of this step: ``checklist:item:system``."""
        return f"{self.checklist.id}:{self.item.id}:{self.system or ''}"


def walk_steps(
    ws: Workspace, library: Library, agency: str, *, system: str | None, as_of: dt.date, profile: ResolvedProfile,
    using: Collaborators,
) -> list[Step]:
    """The items to ask about, in checklist order: applicable (or undecided) items, per system when
    the item is per system. Parent items are not asked: they follow from their sub-items.
    With ``system`` only that system's items are walked."""
    ws.require_agency(agency)
    if system is not None:
        ws.system_id(agency, system)
    assessment = evaluate_agency(ws, library, agency, as_of=as_of, profile=profile, using=using)
    by_key = {(r.checklist, r.item, r.system): r for r in [*assessment.results, *assessment.system_results]}
    answers = {(r["checklist"], r["item"], r["system"]): r
               for r in ws.db.query("select * from answers where agency = ?", [agency])}
    evidence = keyed(ws.db.query("select * from evidence_refs where agency = ? and item != '' order by id",
                                  [agency]))
    codes = [r[0] for r in ws.db.execute(
        "select code from systems where agency = ? order by position, code", [agency]).fetchall()]
    steps = []
    for cid in assessment.checklists:
        checklist = library.checklist(cid)
        for item in checklist.items:
            if f"{cid}:{item.id}" in profile.excluded or checklist.children(item.id):
                continue
            targets: list[str | None]
            if item.scope == "agency":
                targets = [] if system is not None else [None]
            else:
                targets = [system] if system is not None else list(codes)
            for target in targets:
                result = by_key.get((cid, item.id, target))
                if result is None or result.applicable is False:
                    continue
                key = (cid, item.id, target or "")
                steps.append(Step(checklist, item, target, result, answers.get(key), evidence.get(key, [])))
    return steps


@dataclass
class Session:
    """A walk in progress: ``cursor`` is the key of the last step answered or skipped."""

    id: int
    agency: str
    system: str | None
    profile: str
    cursor: str | None
    answered: int
    skipped: int
    resumed: bool
    positions: dict[str, int] = field(default_factory=dict)  # step key -> index, set by ``resume_index``

    def advance(self, key: str) -> None:
        """Move the bookmark to ``key`` unless it is already further on: answering an item asked
        again (skipped earlier) must not send the walk back."""
        if self.cursor is None or self.positions.get(key, -1) > self.positions.get(self.cursor, -1):
            self.cursor = key


def open_session(
    ws: Workspace, *, agency: str, system: str | None, profile: str, as_of: dt.date, actor: str,
    restart: bool = False,
) -> Session:
    """Resume the unfinished walk of ``agency`` (and ``system``), or start a new one."""
    ws.require_agency(agency)
    row = ws.db.execute(
        "select id, profile, cursor, answered, skipped from assess_sessions where agency = ? and system = ?"
        " and finished is null order by id desc limit 1", [agency, system or ""]).fetchone()
    if row is not None and not restart:
        return Session(row[0], agency, system, row[1], row[2], row[3] or 0, row[4] or 0, resumed=True)
    with ws.transaction() as db:
        if row is not None:
            db.execute("update assess_sessions set finished = ? where id = ?", [now(), row[0]])
        sid = int(db.table("assess_sessions").insert({
            "agency": agency, "system": system or "", "profile": profile, "as_of": as_of.isoformat(),
            "started": now(), "updated": now(), "cursor": None, "answered": 0, "skipped": 0, "actor": actor,
        }).last_pk or 0)
        auditlog.append(ws, actor=actor, action="assess.start", agency=agency, subject=f"session-{sid}",
                        detail={"system": system, "profile": profile, "as_of": as_of.isoformat(),
                                "replaces": row[0] if row else None})
    return Session(sid, agency, system, profile, None, 0, 0, resumed=False)


def resume_index(session: Session, steps: list[Step]) -> int:
    """Where the walk continues: after the bookmarked step (from the start if it is gone)."""
    session.positions = {step.key: index for index, step in enumerate(steps)}
    if session.cursor is None:
        return 0
    for index, step in enumerate(steps):
        if step.key == session.cursor:
            return index + 1
    return 0


def answer_step(
    ws: Workspace, session: Session, step: Step, *, status: str, note: str | None, evidence: list[Evidence],
    actor: str, effective: dt.date | None = None,
) -> None:
    """Save one answer of the walk and move the bookmark past it, together."""
    for ev in evidence:
        if (problem := kind_problem(ev.kind)) is not None:
            raise InputError(problem)
    with ws.transaction() as db:
        record_answer(ws, agency=session.agency, system=step.system, checklist=step.checklist.id,
                      item=step.item.id, status=status, note=note, files=evidence, actor=actor,
                      effective=effective, source=f"assess session-{session.id}")
        session.answered += 1
        session.advance(step.key)
        db.execute("update assess_sessions set cursor = ?, answered = ?, updated = ? where id = ?",
                   [session.cursor, session.answered, now(), session.id])


def evaluate_step(
    ws: Workspace, library: Library, step: Step, *, agency: str, as_of: dt.date, profile: ResolvedProfile,
    using: Collaborators,
) -> Result:
    """The evaluated state of one step now, by the evaluator itself, so the walk can say whether a
    saved answer counts without a second copy of the evidence rules."""
    assessment = evaluate_agency(ws, library, agency, as_of=as_of, profile=profile, using=using)
    rows = assessment.system_results if step.system is not None else assessment.results
    for result in rows:
        if (result.checklist, result.item, result.system) == (step.checklist.id, step.item.id, step.system):
            return result
    raise NotFoundError(f"Không còn mục {step.key} trong đánh giá", en=f"{step.key} is no longer evaluated")


def answer_counts(status: str, result: Result) -> bool:
    """Whether the evaluation took a recorded answer as given (``dat`` evaluated ĐẠT, and so on)."""
    return result.status.value == status


def default_evidence_kind(item: Item) -> str:
    """The kind offered first for a file a person attaches: the first document kind the item asks for.

    A scan result is skipped when the item accepts other documents: secaudit's own scans are kept
    apart, so a file attached by hand is far more often a report or minutes than a scan result.
    """
    documents = [k for k in item.evidence.documents if k != "ket-qua-quet"] or list(item.evidence.documents)
    return documents[0] if documents else UNCLASSIFIED


def skip_step(ws: Workspace, session: Session, step: Step) -> None:
    """Leave a step as it is and move the bookmark past it."""
    session.skipped += 1
    session.advance(step.key)
    with ws.transaction() as db:
        db.execute("update assess_sessions set cursor = ?, skipped = ?, updated = ? where id = ?",
                   [session.cursor, session.skipped, now(), session.id])


def finish_session(ws: Workspace, session: Session, *, actor: str) -> None:
    """Close a walk that reached its end (a stopped walk stays open, to be resumed)."""
    with ws.transaction() as db:
        db.execute("update assess_sessions set finished = ?, updated = ? where id = ?", [now(), now(), session.id])
        auditlog.append(ws, actor=actor, action="assess.finish", agency=session.agency,
                        subject=f"session-{session.id}",
                        detail={"answered": session.answered, "skipped": session.skipped})



# -- asking by item ---------------------------------------------------------------------------------
@dataclass
class Group:
    """The steps of one item asked together: the agency's one step, or one step per system."""

    steps: list[Step]
    first: int  # index of the first step in the walk's step list

    @property
    def checklist(self) -> Checklist:
        return self.steps[0].checklist

    @property
    def item(self) -> Item:
        return self.steps[0].item

    @property
    def systems(self) -> list[str]:
        """The systems asked about (empty for an agency item)."""
        return [s.system for s in self.steps if s.system is not None]

    @property
    def unanswered(self) -> bool:
        return any(s.answer is None for s in self.steps)


def group_steps(steps: list[Step]) -> list[Group]:
    """Consecutive steps of the same item, together (``walk_steps`` lists an item's systems in a row)."""
    groups: list[Group] = []
    for index, step in enumerate(steps):
        last = groups[-1] if groups else None
        if last is not None and (last.checklist.id, last.item.id) == (step.checklist.id, step.item.id):
            last.steps.append(step)
        else:
            groups.append(Group([step], index))
    return groups


def walk_order(steps: list[Step], start: int) -> tuple[list[Group], list[Group]]:
    """What a (resumed) walk asks: first the items before the bookmark that are still unanswered
    for some system (skipped earlier in this session), then the items from the bookmark on."""
    groups = group_steps(steps)
    again = [g for g in groups if g.first + len(g.steps) <= start and g.unanswered]
    rest = [g for g in groups if g.first + len(g.steps) > start]
    return again, rest


STATUS_WORDS = {
    "d": "dat", "đ": "dat", "dat": "dat", "đạt": "dat",
    "c": "chua-dat", "chua-dat": "chua-dat", "chưa đạt": "chua-dat", "chua dat": "chua-dat",
    "k": "khong-ap-dung", "khong-ap-dung": "khong-ap-dung", "không áp dụng": "khong-ap-dung",
    "khong ap dung": "khong-ap-dung",
}
_EXCEPT = re.compile(r"^(?:ngoại trừ|ngoai tru|trừ|tru|except)\s+", re.IGNORECASE)
_PAIR = re.compile(r"^(\S+?)\s*[:=]\s*(.+)$")
_STATUS_HELP = "d (đạt), c (chưa đạt) hoặc k (không áp dụng)"


def parse_answer(text: str, systems: list[str]) -> dict[str | None, str]:
    """An answer typed in the walk, as target -> status; targets not named are left as they are.

    ``d`` answers the agency item, or every system of a per-system item; ``d, ngoại trừ 2: c`` (or
    ``d, trừ mot-cua: c; 3: k``) gives exceptions by number in the list or by system code;
    ``2: c`` answers one system only. Raises ``InputError`` in Vietnamese for anything else.
    """
    parts = [p.strip() for p in re.split(r"[,;]", text.strip().lower()) if p.strip()]
    if not parts:
        return {}
    if not systems:
        if len(parts) == 1 and parts[0] in STATUS_WORDS:
            return {None: STATUS_WORDS[parts[0]]}
        raise InputError(f"Trả lời '{text.strip()}' không hợp lệ: chọn {_STATUS_HELP}",
                         en="answer d, c or k")
    chosen: dict[str | None, str] = {}
    if parts[0] in STATUS_WORDS:
        chosen = dict.fromkeys(systems, STATUS_WORDS[parts[0]])
        parts = parts[1:]
    for part in parts:
        match = _PAIR.match(_EXCEPT.sub("", part))
        if match is None:
            raise InputError(f"Không hiểu '{part}': viết trạng thái chung rồi ngoại lệ, ví dụ"
                             f" 'd, ngoại trừ 2: c' (2 là số thứ tự hoặc mã hệ thống)",
                             en="write a status for all, then exceptions such as 'd, except 2: c'")
        who, word = match[1], match[2].strip()
        if who.isdigit() and 1 <= int(who) <= len(systems):
            target = systems[int(who) - 1]
        elif who in systems:
            target = who
        else:
            numbers = f"1–{len(systems)}" if len(systems) > 1 else "1"
            raise InputError(f"Không có hệ thống '{who}' trong mục này: dùng số thứ tự {numbers} hoặc mã"
                             f" ({', '.join(systems)})", en=f"no system {who!r} in this item")
        if word not in STATUS_WORDS:
            raise InputError(f"Trạng thái '{word}' cho {target} không hợp lệ: chọn {_STATUS_HELP}",
                             en="status d, c or k")
        chosen[target] = STATUS_WORDS[word]
    return chosen
