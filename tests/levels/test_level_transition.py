"""Level verdicts that were false before issue 11 (items 2–6): transition, public services, Đ14–16, baselines.

Each test names the article it enforces; the articles were checked against ``shared/legal``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError as PydanticError

from secaudit import levels
from secaudit.inventory import records as inventory
from secaudit.inventory.models import System
from secaudit.requirements.content import Library
from secaudit.store.workspace import Workspace

LEGAL = Path("/work/shared/legal")
BASE: dict[str, Any] = {
    "online_service": False, "admin_procedures": False, "conditional_business": False, "users": 50,
    "data_subjects_basic": 0, "data_subjects_sensitive": 0, "state_secrets": False,
    "national_security_impact": False, "industrial_control_grade": "none", "infrastructure_scope": "none",
    "national_egov_247": False, "go_live": dt.date(2020, 1, 1),
}


def make(level: dict[str, Any] | None = None, **attrs: Any) -> System:
    data = {"code": "s", "name": "Hệ thống thử", **BASE, **attrs}
    data = {k: v for k, v in data.items() if v is not None}
    data["level"] = {k: v for k, v in {"private_info": False, **(level or {})}.items() if v is not None}
    return System.model_validate(data)


def flags(system: System, day: dt.date) -> dict[str, levels.Flag]:
    s = levels.suggest(levels.facts_of(system), as_of=day)
    return {f.code: f for f in levels.review(system, s, as_of=day)}


UNIT = "Phòng CNTT (đơn vị chuyên trách)"
#: one-stop-shop system, not online: level 2 under NĐ 85/2016, level 3 under NĐ 331/2026 Đ13.2.b
OLD_APPROVAL = {"proposed": 2, "approved": 2, "dossier_state": "da-phe-duyet", "decision_number": "12/QĐ-VP",
                "decision_date": dt.date(2024, 5, 1), "appraised_by": UNIT, "approved_by": UNIT,
                "regulation_date": dt.date(2024, 4, 1)}
ONE_STOP = {"admin_procedures": True, "public_service_stage": 0, "data_subjects_basic": 5000}


# -- item 2 -------------------------------------------------------------------------------------------
def test_level_approved_under_nd85_is_kept_and_the_new_measures_are_a_dated_duty() -> None:
    """Luật 116/2025 Đ45.1 (in force 01/07/2026 by Đ44.1): the old level is kept; measures within 12 months."""
    system = make(OLD_APPROVAL, **ONE_STOP)
    day = dt.date(2026, 9, 1)
    assert levels.suggest(levels.facts_of(system), as_of=day).level == 3  # NĐ 331 would give 3
    got = flags(system, day)
    assert "thap-hon-tieu-chi" not in got and not [f for f in got.values() if f.severity == "loi"]
    duty = got["bien-phap-luat-moi"]
    assert duty.severity == "canh-bao" and duty.due == dt.date(2027, 6, 30)
    assert duty.ref == "Luật 116/2025 Đ45.1" and "30/06/2027" in duty.message
    assert got["giu-cap-do"].severity == "thong-tin" and "cấp độ 3" in got["giu-cap-do"].message
    late = flags(system, dt.date(2027, 7, 1))["bien-phap-luat-moi"]
    assert late.severity == "loi" and "quá hạn" in late.message
    # an approval already wrong under NĐ 85/2016 is not protected: online public service of stage 4
    wrong = make(OLD_APPROVAL, admin_procedures=True, online_service=True, public_service_stage=4,
                 data_subjects_basic=5000, users=200)
    assert flags(wrong, day)["thap-hon-tieu-chi"].ref == "Luật 116/2025 Đ45.1"


def test_cli_level_list_kept_level_shows_no_error_and_the_deadline(ws: Workspace, cli, tmp_path: Path) -> None:
    """Luật 116/2025 Đ45.1: `level list` as of 01/09/2026 on a level-2 approval of 01/05/2024 under NĐ 85/2016."""
    source = tmp_path / "vp.yaml"
    source.write_text(
        "code: vp\nname: Văn phòng thử\nkind: so-ban-nganh\nsystems:\n"
        "  - code: mot-cua\n    name: Hệ thống một cửa\n    admin_procedures: true\n    public_service_stage: 0\n"
        "    online_service: false\n    conditional_business: false\n    users: 40\n"
        "    data_subjects_basic: 5000\n    data_subjects_sensitive: 0\n    state_secrets: false\n"
        "    national_security_impact: false\n    industrial_control_grade: none\n    infrastructure_scope: none\n"
        "    national_egov_247: false\n    go_live: 2019-03-01\n"
        "    level:\n      proposed: 2\n      approved: 2\n      dossier_state: da-phe-duyet\n"
        "      decision_number: 12/QĐ-VP\n      decision_date: 2024-05-01\n"
        f"      appraised_by: {UNIT}\n      approved_by: {UNIT}\n      regulation_date: 2024-04-01\n"
        "      private_info: true\n")
    inventory.import_agencies(ws, inventory.load_agencies([source]), actor="pytest", source="t")
    table = cli("level", "list", "--as-of", "2026-09-01")
    assert table.code == 0, table.out + table.err  # no error
    assert "bổ sung biện pháp theo Luật An ninh mạng 2025" in table.out and "30/06/2027" in table.out
    rows = json.loads(cli("level", "list", "--as-of", "2026-09-01", "--format", "json").out)
    assert rows[0]["errors"] == 0 and rows[0]["due"] == "2027-06-30" and rows[0]["suggested"] == "3"
    assert cli("level", "list", "--as-of", "2027-07-01").code == 3  # the deadline passed: an error


# -- item 3 -------------------------------------------------------------------------------------------
def test_transition_is_unknown_without_project_start_or_go_live() -> None:
    """NĐ 331/2026 Đ39.1: with neither date the transition state is unknown and names the date to declare."""
    tr = levels.load_rules().books["nd331"].transition
    assert tr is not None
    blank = make({"dossier_state": "da-lap"}, go_live=None)
    assert levels.in_transition(levels.facts_of(blank), tr) is None
    s = levels.suggest(levels.facts_of(blank), as_of=dt.date(2026, 9, 1))
    assert s.transition is None and s.regime_note and "go_live" in s.regime_note
    flag = flags(blank, dt.date(2026, 9, 1))["chuyen-tiep-chua-ro"]
    assert "chưa rõ" in flag.message and "go_live" in flag.message and flag.ref == "NĐ 331/2026 Đ39.1"
    building = make({"dossier_state": "da-lap"}, go_live=dt.date(2026, 12, 1))
    assert "level.project_start" in flags(building, dt.date(2026, 9, 1))["chuyen-tiep-chua-ro"].message


# -- item 4 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("attrs", "nd85", "nd331"), [
    ({"admin_procedures": True, "online_service": True, "public_service_stage": 3, "data_subjects_basic": 10},
     3, 3),
    ({"admin_procedures": True, "online_service": True, "public_service_stage": 2, "data_subjects_basic": 10},
     2, 3),
    ({"admin_procedures": True, "online_service": False, "public_service_stage": 0}, 1, 3),
])
def test_public_service_stage_decides_nd85_and_procedures_decide_nd331(attrs: dict[str, Any], nd85: int,
                                                                       nd331: int) -> None:
    """NĐ 85/2016 Đ9.2 (public services of mức độ 3–4 → level 3; unverified, DOMAIN.md) and NĐ 331/2026 Đ13.2.b."""
    system = make(**attrs)
    old = levels.suggest(levels.facts_of(system), as_of=dt.date(2026, 8, 18))
    new = levels.suggest(levels.facts_of(system), as_of=dt.date(2026, 8, 20))
    assert (old.book.id, old.level, old.certain) == ("nd85", nd85, True)
    assert (new.book.id, new.level, new.certain) == ("nd331", nd331, True)
    assert ("nd85-cd3-dvc" in [c.rule.id for c in old.fired]) == (attrs.get("public_service_stage", 0) >= 3)


def test_public_service_stage_is_validated_and_round_trips(ws: Workspace, tmp_path: Path) -> None:
    """NĐ 85/2016 Đ9.2 vs NĐ 331/2026 Đ13.2.b: the split field is stored (v0007), contradictions refused."""
    with pytest.raises(PydanticError):
        make(admin_procedures=False, online_service=True, public_service_stage=3)
    source = tmp_path / "a.yaml"
    source.write_text(
        "code: a\nname: Cơ quan thử\nkind: so-ban-nganh\nsystems:\n"
        "  - code: dvc\n    name: Cổng dịch vụ công\n    admin_procedures: true\n    online_service: true\n"
        "    public_service_stage: 4\n    runs_247: false\n    ns_sector: true\n    ns_consequence: c\n")
    inventory.import_agencies(ws, inventory.load_agencies([source]), actor="pytest", source="t")
    back = inventory.get_system(ws, "a", "dvc")
    assert back.public_service_stage == 4 and back.runs_247 is False and back.ns_sector is True
    assert back.ns_consequence is not None and back.ns_consequence.value == "c"
    from secaudit.store.migrations import v0007_level_criteria

    v0007_level_criteria.upgrade(ws.db)  # idempotent
    assert set(v0007_level_criteria.COLUMNS) <= set(ws.db["systems"].columns_dict)


# -- item 5 -------------------------------------------------------------------------------------------
def test_nd331_criteria_that_had_no_attribute() -> None:
    """NĐ 331/2026 Đ15.4 (second alternative), Đ14.2 (24/7), Đ16.1–16.3 (sub-criteria)."""
    day = dt.date(2026, 9, 1)

    def sug(**attrs: Any) -> levels.Suggestion:
        return levels.suggest(levels.facts_of(make(**attrs)), as_of=day)

    ics = sug(industrial_control_grade="III", ns_works=True)
    assert ics.level == 5 and "nd331-d15-4-anqg" in [c.rule.id for c in ics.deciding]
    assert sug(industrial_control_grade="III", ns_works=False).level == 3
    assert (sug(infrastructure_scope="quoc-gia", runs_247=False).level,
            sug(infrastructure_scope="quoc-gia", runs_247=True).level) == (3, 4)
    unknown = sug(infrastructure_scope="quoc-gia")
    assert (unknown.level, unknown.ceiling) == (3, 4)
    assert "system.runs_247" in [a.attr for a in unknown.alternatives]
    assert sug(ns_works=True).ns_important is True  # Đ16.1, not an ICS: important, not a level
    assert sug(ns_works=True).level == 1
    assert sug(ns_telecom_works=True).ns_important is True  # Đ16.2
    assert sug(ns_sector=True, ns_consequence="c").ns_important is True  # Đ16.3.c
    assert sug(ns_sector=True, ns_consequence="khong").ns_important is False
    assert sug(ns_sector=False, ns_consequence="a").ns_important is False


@pytest.mark.parametrize(("level", "appraised", "approved", "expected"), [
    (4, "Bộ Công an", "Giám đốc Sở (chủ quản)", {"sai-tham-quyen-phe-duyet"}),
    (4, "Bộ Công an", "Thủ tướng Chính phủ", set()),
    (3, UNIT, "Giám đốc Sở (chủ quản)", {"sai-tham-quyen-tham-dinh", "sai-tham-quyen-phe-duyet"}),
])
def test_ns_important_levels_3_4_follow_the_level_5_authority(level: int, appraised: str, approved: str,
                                                              expected: set[str]) -> None:
    """NĐ 331/2026 Đ20.4 with Đ18.3.a, Đ18.3.đ: levels 3–4 on the national-security list go as level 5."""
    lvl = {"proposed": level, "approved": level, "dossier_state": "da-phe-duyet", "decision_number": "1/QĐ",
           "decision_date": dt.date(2026, 9, 30), "appraised_by": appraised, "approved_by": approved,
           "approved_by_kind": "thu-tuong" if "Thủ tướng" in approved else None,
           "regulation_date": dt.date(2026, 9, 1)}
    attrs = {"infrastructure_scope": "quoc-gia", "runs_247": True} if level == 4 else {"infrastructure_scope": "tinh"}
    system = make(lvl, ns_telecom_works=True, **attrs)
    got = flags(system, dt.date(2026, 11, 1))
    authority = {c for c in got if c.startswith("sai-tham-quyen")}
    assert authority == expected, got
    for code in expected:
        assert "Đ20.4" in (got[code].ref or "")
    plain = make(lvl, ns_telecom_works=False, **attrs)  # not NS-important: the ordinary Đ18 authority
    assert ("sai-tham-quyen-phe-duyet" in flags(plain, dt.date(2026, 11, 1))) == (level == 4 and
                                                                                 "Thủ tướng" in approved)


# -- item 6 -------------------------------------------------------------------------------------------
def _attrs(cond: Any) -> set[str]:
    if isinstance(cond, dict):
        found = {cond["attr"]} if "attr" in cond else set()
        for value in cond.values():
            found |= _attrs(value)
        return found
    if isinstance(cond, list):
        return set().union(*(_attrs(c) for c in cond)) if cond else set()
    return set()


def test_baseline_scope_and_citations() -> None:
    """NĐ 331/2026 Đ33.5, Luật 116/2025 Đ40.1.b (every level), Đ31.2.c (no cycle), Đ34.1.e (Bộ Công an's)."""
    lib = Library()
    items = {i.id: i for i in lib.checklist("cap-do-nd331").items}
    link = items["bp-ket-noi-giam-sat"]
    cond = link.applies_if.model_dump() if hasattr(link.applies_if, "model_dump") else link.applies_if
    assert "system.level" not in _attrs(cond)
    refs = {(b.doc, b.ref) for b in link.basis}
    assert ("nd-331-2026", "Đ33.5") in refs and ("luat-116-2025", "Đ40.1.b") in refs
    assert ("nd-331-2026", "Đ34.1.e") not in refs
    assert items["dg-doc-lap"].recurrence is None
    t4 = {i.id: i for i in lib.checklist("kh04-bcdtw").items}["t4-lop-4"]
    t4_refs = {(b.doc, b.ref) for b in t4.basis}
    assert ("nd-331-2026", "Đ34.1.e") not in t4_refs and ("nd-331-2026", "Đ33.5") in t4_refs


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text)).casefold()


@pytest.mark.skipif(not LEGAL.is_dir(), reason="shared legal texts are not on this machine")
def test_each_d16_quote_is_under_the_clause_it_cites() -> None:
    """NĐ 331/2026 Đ16: the lead-in is Đ16 itself, each clause's quote comes from that clause."""
    text = (LEGAL / "nd-331-2026-nd-cp-bao-ve-anm-httt.txt").read_text()
    article = text.split("Điều 16. ", 1)[1].split("Điều 17. ", 1)[0]
    lines = article.splitlines()[1:]
    clauses: dict[str, str] = {"Đ16": lines[0]}
    for line in lines[1:]:
        m = re.match(r"(\d)\. ", line)
        if m:
            clauses[f"Đ16.{m.group(1)}"] = line
        else:
            key = list(clauses)[-1]
            clauses[key] += line
    rules = [r for r in levels.load_rules().books["nd331"].rules if r.ref.startswith("Đ16")]
    assert {r.ref for r in rules} == {"Đ16", "Đ16.1", "Đ16.2", "Đ16.3"}
    for rule in rules:
        assert rule.quote and _norm(rule.quote) in _norm(clauses[rule.ref]), (rule.id, rule.ref)
