"""Review of a system's level approval against the rule books: the flags ``level list`` reports.

It checks the authority of NĐ 331 Đ18 (who must appraise and approve each level), the time limits of
Đ23–24, the quy chế-before-approval rule of Đ30.7, the transition deadlines of Đ39 and Luật 116/2025
Đ45.1, and the approved level against the minimum. Kept in one module because the checks share the
"which approval, judged under which rule book" reasoning (``Kept``); a little under 400 lines.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Literal

from secaudit.inventory.models import VALUE_LABELS, BodyKind, DossierState, System
from secaudit.levels.determine import Suggestion, in_transition, suggest, transition_dates_needed
from secaudit.levels.facts import facts_of
from secaudit.levels.rules import BodySpec, Rule, RuleBook, RuleSet, TimeLimit, load_rules

Severity = Literal["loi", "canh-bao", "thong-tin"]
SEVERITY_LABELS = {"loi": "LỖI", "canh-bao": "CẢNH BÁO", "thong-tin": "THÔNG TIN"}


@dataclass
class Flag:
    """A problem or notice about a system's level and its approval."""

    code: str
    severity: Severity
    message: str
    en: str
    ref: str | None = None
    due: dt.date | None = None  # the deadline the flag is about, when it has one

    def text(self) -> str:
        return f"[{SEVERITY_LABELS[self.severity]}] {self.message}" + (f" ({self.ref})" if self.ref else "")


def infer_body(name: str | None, bodies: list[BodySpec]) -> BodySpec | None:
    """The first body kind whose pattern occurs in ``name`` (case-insensitive, NFC)."""
    if not name:
        return None
    text = unicodedata.normalize("NFC", name).casefold()
    for spec in bodies:
        if any(unicodedata.normalize("NFC", p).casefold() in text for p in spec.patterns):
            return spec
    return None


def body_kind(declared: BodyKind | None, name: str | None, bodies: list[BodySpec]) -> tuple[str | None, str]:
    """(kind, how): how is 'khai-bao' (declared), 'suy-ra' (inferred from the name), 'khong-ro' or 'thieu'."""
    if declared is not None:
        return declared.value, "khai-bao"
    if not name:
        return None, "thieu"
    spec = infer_body(name, bodies)
    return (spec.kind.value, "suy-ra") if spec else (None, "khong-ro")


def kind_label(kind: str | None) -> str:
    """The Vietnamese name of a body kind ('không rõ' when unknown)."""
    return VALUE_LABELS["BodyKind"].get(kind or "", kind or "không rõ")


def working_days(start: dt.date, end: dt.date) -> int:
    """Monday–Friday days after ``start`` up to and including ``end`` (holidays are not subtracted)."""
    if end <= start:
        return 0
    days = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


def review(system: System, suggestion: Suggestion, *, as_of: dt.date, rules: RuleSet | None = None) -> list[Flag]:
    """Every flag about ``system``'s level: missing or low approval, authority, time limits, quy chế, transition."""
    rules = rules or load_rules()
    lvl = system.level
    flags: list[Flag] = []
    unverified: list[Rule] = []
    current = suggestion.book
    if lvl.approved is None:
        state = VALUE_LABELS["DossierState"].get(lvl.dossier_state.value, lvl.dossier_state.value)
        flags.append(Flag(
            "chua-phe-duyet", "loi",
            f"Chưa có quyết định phê duyệt cấp độ (hồ sơ: {state}); cấp độ tối thiểu theo tiêu chí: "
            f"{suggestion.range_text()}",
            f"no level approval decision (dossier: {lvl.dossier_state.value}); minimum level {suggestion.range_text()}",
            _duty_ref(current),
        ))
        if lvl.proposed is not None and lvl.proposed < suggestion.level:
            flags.append(Flag(
                "de-xuat-thap", "loi",
                f"Cấp độ đề xuất {lvl.proposed} thấp hơn cấp độ tối thiểu {suggestion.level} ({_why(suggestion)})",
                f"proposed level {lvl.proposed} is below the minimum {suggestion.level}",
                "NĐ 331/2026 Đ8.2" if current.id == "nd331" else None,
            ))
        if lvl.expected_approval is not None and lvl.expected_approval < as_of:
            flags.append(Flag("qua-du-kien", "canh-bao",
                              f"Đã quá thời điểm dự kiến phê duyệt {lvl.expected_approval:%d/%m/%Y}",
                              f"planned approval date {lvl.expected_approval} has passed"))
        flags.extend(_pending_time_limits(system, suggestion, as_of, rules))
    else:
        kept = _kept_level(system, as_of, rules)
        judged = suggestion
        if kept is not None and kept.book.id != suggestion.book.id:
            # the old approval stays valid: judge it by the rules it was made under, not today's
            judged = suggest(facts_of(system), as_of=as_of, rules=rules, book=kept.book)
            unverified = [r for r in judged.unverified if r not in suggestion.unverified]
        flags.extend(_approval_flags(system, judged, rules, kept))
        if kept is not None:
            flags.extend(_kept_flags(system, suggestion, judged, kept, as_of))
    flags.extend(_transition_flags(system, suggestion, as_of, rules))
    if suggestion.ns_important:
        flags.append(Flag(
            "anqg", "thong-tin",
            "Có căn cứ đề nghị đưa vào Danh mục hệ thống thông tin quan trọng về an ninh quốc gia; thủ tục như "
            "cấp độ 5", "grounds to list as important to national security; level-5 procedure",
            "NĐ 331/2026 Đ16, Đ17, Đ20.4",
        ))
    unverified = [*suggestion.unverified, *unverified]
    if unverified:
        ids = ", ".join(r.id for r in unverified)
        flags.append(Flag(
            "chua-kiem-chung", "thong-tin",
            f"Kết luận dựa trên tiêu chí chưa kiểm chứng với văn bản gốc ({ids}); nguồn thứ cấp: "
            f"{'; '.join(sorted({s.split(' — ')[0] for r in unverified for s in r.secondary_source}))}",
            f"relies on criteria not checked against the official text: {ids}",
        ))
    return flags


def _duty_ref(book: RuleBook) -> str:
    return "NĐ 331/2026 Đ31.2.a" if book.id == "nd331" else "TT 12/2022 Đ12.1.a"


def _why(suggestion: Suggestion) -> str:
    parts = [f"{c.rule.ref}: {c.rule.title}" for c in suggestion.deciding]
    return "; ".join(parts) if parts else "mức tối thiểu"


@dataclass
class Kept:
    """An approval made under the old regime that the law keeps valid, and the new measures' deadline."""

    book: RuleBook  # the rule book it was made under
    ref: str  # the article that keeps it
    measures_due: dt.date
    transition: bool  # kept by NĐ 331 Đ39.1 (system under construction), else by Luật 116/2025 Đ45.1


def _kept_level(system: System, as_of: dt.date, rules: RuleSet) -> Kept | None:
    """Whether ``system``'s approval was made under the old regime and stays valid on ``as_of``.

    Luật 116/2025 Đ45.1: a level determined under the old law (decision before the Law's entry into
    force) is kept. NĐ 331/2026 Đ39.1: a system under construction approved under NĐ 85/2016 within the
    six months. Either way the new measures are due 12 months after the Law's entry into force.
    """
    decided = system.level.decision_date
    if decided is None:
        return None
    facts = facts_of(system)
    for book in rules.books.values():
        tr = book.transition
        if tr is not None and as_of >= tr.construction_before and decided <= tr.approval_due \
                and in_transition(facts, tr):
            return Kept(rules.books[tr.rulebook], book.cite(tr.ref), tr.measures_due, True)
    for book in rules.books.values():
        keep = book.keeps_level
        if keep is not None and decided < keep.decided_before <= as_of:
            return Kept(rules.books[keep.rulebook], book.cite(keep.ref, keep.doc), keep.measures_due, False)
    return None


def _kept_flags(system: System, current: Suggestion, judged: Suggestion, kept: Kept, as_of: dt.date) -> list[Flag]:
    lvl = system.level
    assert lvl.approved is not None and lvl.decision_date is not None
    flags: list[Flag] = []
    approved = lvl.approved
    decision = f"QĐ {lvl.decision_number}, ngày {lvl.decision_date:%d/%m/%Y}"
    if judged is not current and approved >= judged.level and (current.level, current.ceiling) != (approved,) * 2:
        flags.append(Flag(
            "giu-cap-do", "thong-tin",
            f"Cấp độ {approved} phê duyệt theo {kept.book.cite('').strip()} ({decision}) tiếp tục được giữ; tiêu chí "
            f"{current.book.cite('').strip()} hiện cho cấp độ {current.range_text()} — không phải lỗi",
            f"level {approved} approved under the old regime is kept; the current criteria give "
            f"{current.range_text()}", kept.ref,
        ))
    if not kept.transition:  # under construction: the Đ39.1 flags below carry the same deadline
        late = as_of > kept.measures_due
        flags.append(Flag(
            "bien-phap-luat-moi", "loi" if late else "canh-bao",
            f"Cấp độ {approved} xác định theo quy định cũ ({decision}) được giữ; phải bảo đảm điều kiện, tiêu "
            f"chuẩn, biện pháp bảo vệ an ninh mạng tương ứng với cấp độ {approved} theo Luật An ninh mạng "
            f"116/2025 (bộ tiêu chí cap-do-nd331) trước hết ngày {kept.measures_due:%d/%m/%Y} (12 tháng kể từ "
            "ngày Luật có hiệu lực, 01/07/2026)" + (" — đã quá hạn" if late else ""),
            f"level {approved} kept; the new law's measures for it are due by {kept.measures_due}"
            + (" — overdue" if late else ""), kept.ref, kept.measures_due,
        ))
    return flags


def _approval_flags(system: System, suggestion: Suggestion, rules: RuleSet, kept: Kept | None = None) -> list[Flag]:
    lvl = system.level
    assert lvl.approved is not None and lvl.decision_date is not None
    flags: list[Flag] = []
    approved = lvl.approved
    if approved < suggestion.level:
        ref = "NĐ 331/2026 Đ8.2, Đ25" if suggestion.book.id == "nd331" else None
        if kept is not None and suggestion.book is kept.book:
            ref = kept.ref
        flags.append(Flag(
            "thap-hon-tieu-chi", "loi",
            f"Cấp độ được phê duyệt {approved} thấp hơn cấp độ tối thiểu {suggestion.level} theo "
            f"{suggestion.book.cite('').strip()} ({_why(suggestion)}); cần xác định lại cấp độ",
            f"approved level {approved} is below the minimum level {suggestion.level}", ref,
        ))
    elif approved < suggestion.ceiling:
        attrs = ", ".join(a.attr for a in suggestion.alternatives)
        flags.append(Flag(
            "co-the-thap-hon", "canh-bao",
            f"Cấp độ được phê duyệt {approved} có thể thấp hơn yêu cầu (có thể đến cấp độ {suggestion.ceiling}) — "
            f"cần khai báo: {attrs}",
            f"approved level {approved} may be too low (up to {suggestion.ceiling}); declare {attrs}",
        ))
    book = rules.in_force(lvl.decision_date)
    flags.extend(_authority_flags(system, book, rules, suggestion.ns_important))
    if book.regulation is not None:
        ref = book.cite(book.regulation.ref, book.regulation.doc)
        if lvl.regulation_date is None:
            flags.append(Flag("chua-ro-quy-che", "canh-bao",
                              "Chưa khai báo ngày ban hành quy chế bảo đảm an ninh mạng của hệ thống",
                              "the date of the system's security regulation is not declared", ref))
        elif lvl.regulation_date > lvl.decision_date:
            flags.append(Flag(
                "quy-che-sau-phe-duyet", "loi",
                f"Quy chế ban hành ngày {lvl.regulation_date:%d/%m/%Y}, sau quyết định phê duyệt cấp độ ngày "
                f"{lvl.decision_date:%d/%m/%Y}: quy chế phải ban hành trước khi hồ sơ được phê duyệt",
                "the security regulation was issued after the level approval", ref,
            ))
    flags.extend(_elapsed_time_limits(system, book))
    return flags


def _authority_flags(system: System, book: RuleBook, rules: RuleSet, ns_important: bool | None = False) -> list[Flag]:
    lvl = system.level
    approved = lvl.approved or 0
    entry = book.authority_for(approved, system.restricted_sector.value, ns_important)
    if entry is None:
        return []
    flags: list[Flag] = []
    caveat = " (thẩm quyền theo NĐ 85/2016: chưa kiểm chứng với văn bản gốc)" if entry.unverified else ""
    ref = book.cite(entry.ref)
    required_from = book.appraisal_required_from_level.level if book.appraisal_required_from_level else None
    for role, declared, name, allowed in (
        ("tham-dinh", lvl.appraised_by_kind, lvl.appraised_by, entry.appraise),
        ("phe-duyet", lvl.approved_by_kind, lvl.approved_by, entry.approvers(approved)),
    ):
        if not allowed:
            continue
        word = "thẩm định" if role == "tham-dinh" else "phê duyệt"
        expected = " hoặc ".join(kind_label(k.value) for k in allowed)
        kind, how = body_kind(declared, name, rules.bodies)
        if how == "thieu":
            severe = role == "phe-duyet" or (required_from is not None and approved >= required_from) or approved >= 4
            flags.append(Flag(
                f"thieu-{role}", "loi" if severe else "canh-bao",
                f"Cấp độ {approved}: không có thông tin cơ quan {word} (phải là {expected}){caveat}",
                f"level {approved}: no {'appraising' if role == 'tham-dinh' else 'approving'} body recorded",
                ref,
            ))
            continue
        if kind is None:
            flags.append(Flag(
                f"khong-ro-{role}", "loi" if approved >= 4 else "canh-bao",
                f"Cấp độ {approved} phải do {expected} {word}; không nhận ra loại cơ quan từ '{name}' — khai "
                f"level.{'appraised' if role == 'tham-dinh' else 'approved'}_by_kind{caveat}",
                f"level {approved} must be {'appraised' if role == 'tham-dinh' else 'approved'} by {expected}; "
                f"cannot tell the kind of '{name}'", ref,
            ))
            continue
        if kind not in {k.value for k in allowed}:
            inferred = " (suy ra từ tên)" if how == "suy-ra" else ""
            flags.append(Flag(
                f"sai-tham-quyen-{role}", "loi",
                f"Cấp độ {approved} phải do {expected} {word}; hồ sơ ghi '{name}' — {kind_label(kind)}{inferred}"
                f"{caveat}",
                f"level {approved} must be {'appraised' if role == 'tham-dinh' else 'approved'} by {expected}, "
                f"not {kind}", ref,
            ))
    return flags


def _limits(book: RuleBook, step: str, level: int) -> list[TimeLimit]:
    return [t for t in book.time_limits if t.step == step and level in t.levels]


def _elapsed_time_limits(system: System, book: RuleBook) -> list[Flag]:
    lvl = system.level
    level = lvl.approved or 0
    flags: list[Flag] = []
    for limit in _limits(book, "appraisal", level):
        if lvl.submitted_date and lvl.appraised_date:
            used = working_days(lvl.submitted_date, lvl.appraised_date)
            if used > limit.working_days:
                flags.append(Flag("tham-dinh-qua-han", "canh-bao",
                                  f"Thẩm định mất {used} ngày làm việc, quá thời hạn {limit.working_days} ngày",
                                  f"appraisal took {used} working days, limit {limit.working_days}",
                                  book.cite(limit.ref)))
    for limit in _limits(book, "approval", level):
        start = lvl.appraised_date
        if start and lvl.decision_date:
            used = working_days(start, lvl.decision_date)
            if used > limit.working_days:
                flags.append(Flag("phe-duyet-qua-han", "canh-bao",
                                  f"Phê duyệt sau {used} ngày làm việc kể từ ý kiến thẩm định, quá thời hạn "
                                  f"{limit.working_days} ngày", f"approval took {used} working days",
                                  book.cite(limit.ref)))
    return flags


def _pending_time_limits(system: System, suggestion: Suggestion, as_of: dt.date, rules: RuleSet) -> list[Flag]:
    lvl = system.level
    level = lvl.proposed or suggestion.level
    flags: list[Flag] = []
    if lvl.dossier_state is DossierState.SUBMITTED and lvl.submitted_date:
        book = rules.in_force(lvl.submitted_date)
        for limit in _limits(book, "appraisal", level):
            used = working_days(lvl.submitted_date, as_of)
            if used > limit.working_days:
                flags.append(Flag("cho-tham-dinh-qua-han", "canh-bao",
                                  f"Hồ sơ nộp ngày {lvl.submitted_date:%d/%m/%Y}, đã {used} ngày làm việc chưa có ý "
                                  f"kiến thẩm định (thời hạn {limit.working_days} ngày)",
                                  f"appraisal pending for {used} working days", book.cite(limit.ref)))
    if lvl.dossier_state is DossierState.APPRAISED and lvl.appraised_date:
        book = rules.in_force(lvl.appraised_date)
        for limit in _limits(book, "approval", level):
            used = working_days(lvl.appraised_date, as_of)
            if used > limit.working_days:
                flags.append(Flag("cho-phe-duyet-qua-han", "canh-bao",
                                  f"Đã thẩm định ngày {lvl.appraised_date:%d/%m/%Y}, {used} ngày làm việc chưa phê "
                                  f"duyệt (thời hạn {limit.working_days} ngày)",
                                  f"approval pending for {used} working days", book.cite(limit.ref)))
    return flags


def _transition_flags(system: System, suggestion: Suggestion, as_of: dt.date, rules: RuleSet) -> list[Flag]:
    flags: list[Flag] = []
    for book in rules.books.values():
        tr = book.transition
        if tr is None or as_of < tr.construction_before:
            continue
        facts = facts_of(system)
        inside = in_transition(facts, tr)
        ref = book.cite(tr.ref)
        if inside is None:
            if as_of <= tr.measures_due:  # afterwards the transition changes nothing
                needed = "go_live" if facts.get("go_live") is None else "level.project_start"
                flags.append(Flag("chuyen-tiep-chua-ro", "canh-bao",
                                  "Trạng thái chuyển tiếp: chưa rõ — chưa biết hệ thống có đang đầu tư, xây dựng "
                                  f"trước {tr.construction_before:%d/%m/%Y} không "
                                  f"({transition_dates_needed(facts, tr)})",
                                  f"transition state unknown: declare {needed}", ref))
            continue
        if not inside:
            continue
        approved_in_time = system.level.decision_date is not None and system.level.decision_date <= tr.approval_due
        if not approved_in_time:
            late = as_of > tr.approval_due
            flags.append(Flag(
                "chuyen-tiep-qua-han" if late else "chuyen-tiep", "loi" if late else "canh-bao",
                f"Hệ thống đang đầu tư, xây dựng trước {tr.construction_before:%d/%m/%Y}: phải hoàn thành thẩm "
                f"định, phê duyệt cấp độ theo NĐ 85/2016 trước hết ngày {tr.approval_due:%d/%m/%Y}"
                + (" — đã quá hạn" if late else ""),
                f"transition: approval under ND 85/2016 due by {tr.approval_due}", ref,
            ))
        late = as_of > tr.measures_due
        flags.append(Flag(
            "chuyen-tiep-bien-phap", "loi" if late else "canh-bao",
            f"Phải bảo đảm điều kiện, tiêu chuẩn, biện pháp bảo vệ an ninh mạng tương ứng với cấp độ theo NĐ "
            f"331/2026 trước hết ngày {tr.measures_due:%d/%m/%Y} (xem bộ tiêu chí cap-do-nd331)"
            + (" — đã quá hạn" if late else ""),
            f"transition: NĐ 331 measures due by {tr.measures_due}", ref, tr.measures_due,
        ))
    return flags
