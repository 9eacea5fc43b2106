"""Security levels (cấp độ): the NĐ 85 and NĐ 331 rule books as data, the level suggestion and
the review of approvals. It computes; it never renders (the level sheet is drawn in reporting).

One module per concept — :mod:`.attributes` (what the rules may read), :mod:`.rules` (rule books as
validated data), :mod:`.facts`, :mod:`.determine` (the minimum level), :mod:`.review` (approval
flags), :mod:`.listing` (a workspace's systems), :mod:`.baseline` (the level the assessment's
baselines apply), :mod:`.sheet` (the determination sheet's data). The names below are the package's
public API, so callers write ``from secaudit import levels`` and ``levels.suggest(...)``.
"""

from secaudit.levels.attributes import ATTRIBUTES
from secaudit.levels.baseline import baseline_level
from secaudit.levels.determine import (
    Alternative,
    Criterion,
    Option,
    Suggestion,
    choose_book,
    in_transition,
    suggest,
    transition_dates_needed,
)
from secaudit.levels.facts import Facts, facts_of, facts_of_row
from secaudit.levels.listing import (
    DOSSIER_CHECKLISTS,
    Assessed,
    assess_all,
    assess_system,
    find_system,
    level_rows,
    suggest_for_report,
    suggestion_document,
    suggestion_text,
    suggestions_json,
)
from secaudit.levels.review import SEVERITY_LABELS, Flag, Severity, body_kind, infer_body, review, working_days
from secaudit.levels.rules import (
    BODIES_FILE,
    RULEBOOK_PREFIX,
    Authority,
    BodySpec,
    Citation,
    KeepsLevel,
    Rule,
    RuleBook,
    RuleSet,
    TimeLimit,
    Transition,
    check_condition,
    load_rules,
)
from secaudit.levels.sheet import SheetData, sheet_data

__all__ = [
    "ATTRIBUTES", "BODIES_FILE", "DOSSIER_CHECKLISTS", "RULEBOOK_PREFIX", "SEVERITY_LABELS", "Alternative",
    "Assessed", "Authority", "BodySpec", "Citation", "Criterion", "Facts", "Flag", "KeepsLevel", "Option", "Rule",
    "RuleBook", "RuleSet", "Severity", "SheetData", "Suggestion", "TimeLimit", "Transition", "assess_all",
    "assess_system", "baseline_level", "body_kind", "check_condition", "choose_book", "facts_of", "facts_of_row",
    "find_system", "in_transition", "infer_body", "level_rows", "load_rules", "review", "sheet_data", "suggest",
    "suggest_for_report", "suggestion_document", "suggestion_text", "suggestions_json", "transition_dates_needed",
    "working_days",
]
