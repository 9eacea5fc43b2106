"""Security levels: the criteria of NĐ 331/2026 Đ11–16 and NĐ 85/2016 as data, approval checks, outputs.

The big table below judges each system under both regimes (as of 18/08/2026, the last day of NĐ
85/2016, and as of 20/08/2026 under NĐ 331/2026) and names the criterion that must have decided.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from secaudit import levels
from secaudit.errors import InputError, ValidationError
from secaudit.inventory import records as inventory
from secaudit.inventory.models import System
from secaudit.reporting import yearly
from secaudit.reporting.assessment import evaluate_agency
from secaudit.requirements.answers import record_answer
from secaudit.requirements.content import Library
from secaudit.requirements.results import Status
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES, ROOT

OLD = dt.date(2026, 8, 18)  # last day of NĐ 85/2016
NEW = dt.date(2026, 8, 20)  # NĐ 331/2026 in force (from 19/08/2026)
LEGAL = Path("/work/shared/legal")
SEEDS = Path("/work/shared/seeds")

#: Every attribute known and harmless: an internal system handling public information only.
BASE: dict[str, Any] = {
    "online_service": False, "admin_procedures": False, "conditional_business": False, "users": 50,
    "data_subjects_basic": 0, "data_subjects_sensitive": 0, "state_secrets": False,
    "national_security_impact": False, "industrial_control_grade": "none", "infrastructure_scope": "none",
    "national_egov_247": False, "go_live": dt.date(2020, 1, 1),
}
BASE_LEVEL: dict[str, Any] = {"private_info": False}


def make(level: dict[str, Any] | None = None, **attrs: Any) -> System:
    """A system built from BASE with overrides; ``None`` values make an attribute unknown."""
    data = {"code": "s", "name": "Hệ thống thử", **BASE, **attrs}
    data = {k: v for k, v in data.items() if v is not None}
    lvl = {**BASE_LEVEL, **(level or {})}
    data["level"] = {k: v for k, v in lvl.items() if v is not None}
    return System.model_validate(data)


ONLINE_PERSONAL = {"online_service": True, "data_subjects_basic": 500, "users": 5000}

# (id, attributes, level inputs, NĐ 331: (min, max, deciding rule), NĐ 85: (min, max, deciding rule or None))
CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[int, int, str | None], tuple[int, int, str | None]]] = [
    ("noi-bo-cong-cong", {}, {}, (1, 1, "nd331-d11-1"), (1, 1, "nd85-cd1")),
    ("noi-bo-thong-tin-rieng", {}, {"private_info": True}, (2, 2, "nd331-d12-1"), (2, 2, "nd85-cd2-noi-bo")),
    ("noi-bo-du-lieu-ca-nhan", {"data_subjects_basic": 800}, {}, (2, 2, "nd331-d12-1"), (2, 2, "nd85-cd2-noi-bo")),
    ("dvtt-khong-dieu-kien", {"online_service": True}, {}, (2, 2, "nd331-d12-2-a"), (2, 2, "nd85-cd2-dvtt")),
    ("dvtt-co-dieu-kien", {"online_service": True, "conditional_business": True}, {},
     (3, 3, "nd331-d13-2-a"), (3, 3, "nd85-cd3-kddk")),
    ("tthc-khong-truc-tuyen", {"admin_procedures": True, "data_subjects_basic": 42000}, {},
     (3, 3, "nd331-d13-2-b"), (2, 2, "nd85-cd2-noi-bo")),
    ("tthc-truc-tuyen", {"admin_procedures": True, "public_service_stage": 4, **ONLINE_PERSONAL}, {},
     (3, 3, "nd331-d13-2-b"), (3, 3, "nd85-cd3-dvc")),
    # the stage of the online public service decides NĐ 85/2016 only (NĐ 331 Đ13.2.b: any procedure)
    ("tthc-truc-tuyen-muc-do-2", {"admin_procedures": True, "public_service_stage": 2, **ONLINE_PERSONAL}, {},
     (3, 3, "nd331-d13-2-b"), (2, 2, "nd85-cd2-duoi-10k")),
    ("co-ban-99999", {**ONLINE_PERSONAL, "data_subjects_basic": 99_999}, {},
     (2, 2, "nd331-d12-2-b"), (2, 2, "nd85-cd2-duoi-10k")),
    ("co-ban-100000", {**ONLINE_PERSONAL, "data_subjects_basic": 100_000}, {},
     (3, 3, "nd331-d13-2-c"), (2, 2, "nd85-cd2-duoi-10k")),
    ("nhay-cam-9999", {**ONLINE_PERSONAL, "data_subjects_basic": 0, "data_subjects_sensitive": 9_999}, {},
     (2, 2, "nd331-d12-2-b"), (2, 2, "nd85-cd2-duoi-10k")),
    ("nhay-cam-10000", {**ONLINE_PERSONAL, "data_subjects_basic": 0, "data_subjects_sensitive": 10_000}, {},
     (3, 3, "nd331-d13-2-c"), (2, 2, "nd85-cd2-duoi-10k")),
    ("nguoi-dung-9999", {**ONLINE_PERSONAL, "users": 9_999}, {}, (2, 2, "nd331-d12-2-b"), (2, 2, "nd85-cd2-duoi-10k")),
    ("nguoi-dung-10000", {**ONLINE_PERSONAL, "users": 10_000}, {}, (2, 2, "nd331-d12-2-b"), (3, 3, "nd85-cd3-tu-10k")),
    ("ha-tang-co-quan", {"infrastructure_scope": "co-quan"}, {}, (2, 2, "nd331-d12-3"), (2, 2, "nd85-cd2-ha-tang")),
    ("ha-tang-tinh", {"infrastructure_scope": "tinh"}, {}, (3, 3, "nd331-d13-3"), (3, 3, "nd85-cd3-ha-tang")),
    ("ha-tang-bo-nganh", {"infrastructure_scope": "bo-nganh"}, {}, (3, 3, "nd331-d13-3"), (3, 3, "nd85-cd3-ha-tang")),
    ("ha-tang-toan-quoc", {"infrastructure_scope": "quoc-gia", "runs_247": True}, {},
     (4, 4, "nd331-d14-2-hatang"), (4, 4, "nd85-cd4-ha-tang")),
    ("ha-tang-toan-quoc-khong-247", {"infrastructure_scope": "quoc-gia", "runs_247": False}, {},
     (3, 3, "nd331-d13-3"), (3, 3, "nd85-cd3-ha-tang")),
    ("dkcn-cong-trinh-anqg", {"industrial_control_grade": "III", "ns_works": True}, {},
     (5, 5, "nd331-d15-4-anqg"), (3, 3, "nd85-cd3-dkcn")),
    ("dkcn-cap-iv", {"industrial_control_grade": "IV"}, {}, (3, 3, "nd331-d13-4"), (3, 3, "nd85-cd3-dkcn")),
    ("dkcn-cap-ii", {"industrial_control_grade": "II"}, {}, (3, 3, "nd331-d13-4"), (3, 3, "nd85-cd3-dkcn")),
    ("dkcn-cap-i", {"industrial_control_grade": "I"}, {}, (4, 4, "nd331-d14-3"), (4, 4, "nd85-cd4-dkcn")),
    ("dkcn-dac-biet", {"industrial_control_grade": "dac-biet"}, {}, (5, 5, "nd331-d15-4"), (5, 5, "nd85-cd5-dkcn")),
    ("cpdt-quoc-gia-247", {"national_egov_247": True}, {}, (4, 4, "nd331-d14-2-cpdt"), (4, 4, "nd85-cd4-cpdt")),
    ("bmnn-ton-hai", {"state_secrets": True}, {"security_harm": "ton-hai"}, (3, 3, "nd331-d13-1"),
     (3, 3, "nd85-cd3-bmnn")),
    ("bmnn-nghiem-trong", {"state_secrets": True}, {"security_harm": "nghiem-trong"}, (4, 4, "nd331-d14-1"),
     (4, 4, "nd85-cd4-bmnn")),
    ("bmnn-chien-luoc", {"state_secrets": True}, {"security_harm": "dac-biet-nghiem-trong"},
     (5, 5, "nd331-d15-1"), (5, 5, "nd85-cd5-bmnn")),
    ("quoc-phong-nghiem-trong", {"restricted_sector": "quoc-phong", "national_security_impact": True},
     {"security_harm": "nghiem-trong"}, (4, 4, "nd331-d14-1"), (4, 4, "nd85-cd4-bmnn")),
    ("co-yeu-chua-ro-muc-ton-hai", {"restricted_sector": "co-yeu", "state_secrets": True}, {},
     (3, 5, "nd331-d13-1"), (3, 5, "nd85-cd3-bmnn")),
    ("du-lieu-dac-biet-quan-trong", {}, {"national_data_store": True}, (5, 5, "nd331-d15-2"),
     (5, 5, "nd85-cd5-du-lieu")),
    ("ket-noi-quoc-te", {"infrastructure_scope": "quoc-gia"}, {"international_link": True},
     (5, 5, "nd331-d15-3"), (5, 5, "nd85-cd5-quoc-te")),
    ("thu-tuong-quyet-dinh", {}, {"assigned_level": 4, "assigned_by": "thu-tuong"}, (4, 4, "nd331-d14-4"),
     (1, 1, "nd85-cd1")),
    ("danh-gia-rui-ro-cap-1", {}, {"assigned_level": 1, "assigned_by": "danh-gia-rui-ro"},
     (1, 1, "nd331-d11-2"), (1, 1, "nd85-cd1")),
    # unknown attributes: the minimum, the maximum still possible, and no deciding rule above the minimum
    ("chua-ro-thong-tin-rieng", {}, {"private_info": None}, (1, 2, None), (1, 2, None)),
    ("chua-ro-an-ninh-quoc-gia", {"national_security_impact": None}, {}, (1, 5, "nd331-d11-1"),
     (1, 5, "nd85-cd1")),
    ("chua-ro-dieu-kien-va-so-chu-the",
     {"online_service": True, "conditional_business": None, "data_subjects_basic": None,
      "data_subjects_sensitive": 100, "users": 200}, {},
     (2, 3, "nd331-d12-2-b"), (2, 3, "nd85-cd2-duoi-10k")),
]


def _suggest(system: System, day: dt.date) -> levels.Suggestion:
    return levels.suggest(levels.facts_of(system), as_of=day)


@pytest.mark.parametrize(("case", "attrs", "lvl", "new", "old"), CASES, ids=[c[0] for c in CASES])
def test_level_table(case: str, attrs: dict[str, Any], lvl: dict[str, Any], new: tuple[int, int, str | None],
                     old: tuple[int, int, str | None]) -> None:
    system = make(lvl, **attrs)
    for day, (low, high, rule), book in ((NEW, new, "nd331"), (OLD, old, "nd85")):
        s = _suggest(system, day)
        assert s.book.id == book
        assert (s.level, s.ceiling) == (low, high), (case, day, [c.rule.id for c in s.fired])
        if rule is not None:
            assert rule in [c.rule.id for c in s.deciding], (case, day, [c.rule.id for c in s.deciding])
        else:
            assert not s.deciding
        assert s.certain == (low == high)
        if book == "nd85" and s.fired:
            assert s.unverified, "every NĐ 85/2016 criterion is marked unverified"
        if book == "nd331":
            assert not s.unverified


def test_table_is_big_enough_and_covers_every_firable_criterion_of_d11_to_d15() -> None:
    assert len(CASES) >= 25
    decided = {c[3][2] for c in CASES} | {c[4][2] for c in CASES}
    book = levels.load_rules().books["nd331"]
    level_rules = {r.id for r in book.rules if r.effect == "level"}
    assert level_rules <= decided | {"nd331-d12-4", "nd331-d13-5", "nd331-d15-5"}
    # the three "Thủ tướng / đánh giá rủi ro" rules at levels 2, 3, 5 behave as Đ14.4 does:
    for level, rule in ((2, "nd331-d12-4"), (3, "nd331-d13-5"), (5, "nd331-d15-5")):
        s = _suggest(make({"assigned_level": level, "assigned_by": "danh-gia-rui-ro"}), NEW)
        assert s.level == level and rule in [c.rule.id for c in s.deciding]


def test_rules_that_differ_between_the_regimes_on_the_changeover() -> None:
    """The same system judged on 18/08/2026 (NĐ 85/2016) and 20/08/2026 (NĐ 331/2026)."""
    boundary = make(**{**ONLINE_PERSONAL, "data_subjects_basic": 100_000})
    assert (_suggest(boundary, OLD).level, _suggest(boundary, NEW).level) == (2, 3)
    many_users = make(**{**ONLINE_PERSONAL, "users": 10_000})
    assert (_suggest(many_users, OLD).level, _suggest(many_users, NEW).level) == (3, 2)
    one_stop = make(admin_procedures=True, data_subjects_basic=42_000)
    assert (_suggest(one_stop, OLD).level, _suggest(one_stop, NEW).level) == (2, 3)
    assert _suggest(one_stop, dt.date(2026, 8, 19)).book.id == "nd331"


def test_unknown_attributes_list_what_each_answer_would_give() -> None:
    s = _suggest(make(national_security_impact=None), NEW)
    by_attr = {a.attr: a for a in s.alternatives}
    nsi = by_attr["system.national_security_impact"]
    assert {o.label: (o.level, o.ceiling) for o in nsi.options} == {"có": (3, 5), "không": (1, 1)}
    harm = by_attr["system.security_harm"]  # bounds the maximum even while the first answer is open
    assert [(o.level, o.ceiling) for o in harm.options] == [(1, 3), (1, 4), (1, 5)]
    s = _suggest(make(national_security_impact=None, industrial_control_grade=None), NEW)
    assert not {a.attr: a for a in s.alternatives}["system.security_harm"].decisive  # the ICS grade could give 5
    s = _suggest(make(online_service=True, conditional_business=None, data_subjects_basic=None,
                      data_subjects_sensitive=100, users=200), NEW)
    basic = {a.attr: a for a in s.alternatives}["system.data_subjects_basic"]
    assert [(o.label, o.level) for o in basic.options] == [
        ("0", 2), ("từ 1 đến 99.999", 2), ("từ 100.000 trở lên", 3)]
    conditional = {a.attr: a for a in s.alternatives}["system.conditional_business"]
    assert {o.label: o.level for o in conditional.options} == {"có": 3, "không": 2}
    text = levels.suggestion_text(levels.Assessed("a", make(national_security_impact=None), _suggest(
        make(national_security_impact=None), NEW), []))
    assert "system.national_security_impact" in text and "có → 3–5; không → 1" in text


def test_rare_criteria_are_assumed_not_met_and_said_so() -> None:
    s = _suggest(make(), NEW)
    assumed = {c.rule.id for c in s.assumed}
    assert {"nd331-d15-2", "nd331-d16"} <= assumed
    assert s.certain and s.ns_important is False
    assert _suggest(make({"ns_important": True}), NEW).ns_important is True
    assert _suggest(make(industrial_control_grade="dac-biet"), NEW).ns_important is True  # Đ16.4


# -- the data files ---------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text)).casefold()


@pytest.mark.skipif(not LEGAL.is_dir() or not SEEDS.is_dir(), reason="shared legal texts are not on this machine")
def test_every_quote_is_in_the_legal_text() -> None:
    texts = {
        "nd-331-2026": _norm((LEGAL / "nd-331-2026-nd-cp-bao-ve-anm-httt.txt").read_text()),
        "luat-116-2025": _norm((LEGAL / "luat-116-2025-qh15-an-ninh-mang.txt").read_text()),
        "tt-12-2022": _norm((LEGAL / "tt-12-2022-tt-btttt-chi-tiet-nd-85-2016.txt").read_text()),
        "kh92a-ubnd-nghe-an": _norm((SEEDS / "004_3ecad1e4bf92538d.txt").read_text()),
    }
    checked = 0
    rules = levels.load_rules()
    for book in rules.books.values():
        quotes = [(book.document, r.quote) for r in book.rules]
        quotes += [(book.document, a.quote) for a in book.authority]
        quotes += [(book.document, t.quote) for t in book.time_limits]
        for cit in (book.regulation, book.appraisal_required_from_level, book.ns_from_level):
            if cit is not None:
                quotes.append((cit.doc or book.document, cit.quote))
        if book.transition:
            quotes.append((book.document, book.transition.quote))
        if book.keeps_level:
            quotes.append((book.keeps_level.doc, book.keeps_level.quote))
        for doc, quote in quotes:
            if quote and doc in texts:
                assert _norm(quote) in texts[doc], (book.id, quote)
                checked += 1
    lib = Library()
    for cid in ("cap-do-nd331", "cap-do-tt12"):
        checklist = lib.checklist(cid)
        for item in checklist.items:
            for basis in item.basis:
                if basis.quote and basis.doc in texts:
                    assert _norm(basis.quote) in texts[basis.doc], (cid, item.id, basis.quote)
                    checked += 1
    assert checked > 60


def test_nd85_criteria_are_all_unverified_with_a_source_and_nd331_ones_are_not() -> None:
    rules = levels.load_rules()
    assert all(r.unverified and r.secondary_source for r in rules.books["nd85"].rules)
    assert not any(r.unverified for r in rules.books["nd331"].rules)
    assert rules.books["nd85"].verified is False
    for r in rules.books["nd85"].rules:  # article numbers only where a source gives them
        assert re.fullmatch(r"Đ(7|8|9|10|11)(\.\d)?", r.ref), r.ref


def _copy_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "checklists"
    shutil.copytree(ROOT / "checklists", folder)
    return folder


@pytest.mark.parametrize(("old", "new", "needle"), [
    ("{attr: system.admin_procedures, eq: true}", "{attr: system.procedures, eq: true}", "thuộc tính không biết"),
    ("    ref: Đ13.2.b\n", "    ref: Đ13.2.b\n    reff: x\n", "khóa không được phép"),
    ("id: nd331\n", "id: nd-331\n", "phải trùng tên tệp"),
    ("  - id: nd331-d13-2-c\n    level: 3\n", "  - id: nd331-d13-2-c\n    level: 6\n", "level"),
])
def test_bad_rule_file_is_an_error_naming_file_and_line(tmp_path: Path, old: str, new: str, needle: str) -> None:
    folder = _copy_rules(tmp_path)
    path = folder / "_level-rules-nd331.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises((ValidationError, InputError)) as err:
        levels.load_rules(folder)
    message = err.value.diagnostics()
    assert "_level-rules-nd331.yaml:" in message and needle in message


# -- bodies, authority, time limits ------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kind"), [
    ("Cục An ninh mạng và phòng, chống tội phạm sử dụng công nghệ cao (A05), Bộ Công an", "bo-cong-an"),
    ("Cục A05", "bo-cong-an"),
    ("Phòng An ninh mạng và phòng, chống tội phạm sử dụng công nghệ cao (PA05)", "don-vi-chuyen-trach"),
    ("Bộ Tư lệnh 86, Bộ Quốc phòng", "bo-quoc-phong"),
    ("Ban Cơ yếu Chính phủ", "ban-co-yeu"),
    ("Giám đốc Sở Y tế (chủ quản)", "chu-quan"),
    ("Hội đồng thẩm định độc lập của Sở", "hoi-dong-doc-lap"),
    ("Văn phòng Sở Y tế (bộ phận công nghệ thông tin)", "don-vi-chuyen-trach"),
    ("Văn phòng HĐND và UBND phường Thành Vinh", None),
])
def test_body_kind_is_inferred_from_the_name(name: str, kind: str | None) -> None:
    spec = levels.infer_body(name, levels.load_rules().bodies)
    assert (spec.kind.value if spec else None) == kind


def _approved(level: int, appraised: str, approved: str, *, day: dt.date = dt.date(2026, 9, 30),
              sector: str = "none", **extra: Any) -> System:
    lvl = {"proposed": level, "approved": level, "dossier_state": "da-phe-duyet", "decision_number": "1/QĐ",
           "decision_date": day, "appraised_by": appraised, "approved_by": approved,
           "regulation_date": day - dt.timedelta(days=10), **extra}
    return make(lvl, restricted_sector=sector)


def _codes(system: System, day: dt.date = dt.date(2026, 11, 1)) -> set[str]:
    s = _suggest(system, day)
    return {f.code for f in levels.review(system, s, as_of=day)}


@pytest.mark.parametrize(("system", "expected", "absent"), [
    (_approved(4, "Bộ Công an", "Giám đốc Sở (chủ quản)"), set(), {"sai-tham-quyen-tham-dinh"}),
    (_approved(4, "Phòng CNTT (đơn vị chuyên trách)", "Giám đốc Sở (chủ quản)"), {"sai-tham-quyen-tham-dinh"}, set()),
    (_approved(4, "Bộ Công an", "Giám đốc (chủ quản)", sector="quoc-phong"), {"sai-tham-quyen-tham-dinh"}, set()),
    (_approved(4, "Bộ Quốc phòng", "Chỉ huy (chủ quản)", sector="quan-su"), set(), {"sai-tham-quyen-tham-dinh"}),
    (_approved(4, "Ban Cơ yếu Chính phủ", "Chủ tịch UBND (chủ quản)", sector="co-yeu"), set(),
     {"sai-tham-quyen-tham-dinh"}),
    (_approved(4, "Văn phòng HĐND và UBND phường", "Chủ tịch (chủ quản)"), {"khong-ro-tham-dinh"}, set()),
    (_approved(3, "Phòng CNTT (đơn vị chuyên trách)", "Phòng CNTT (đơn vị chuyên trách)"),
     {"sai-tham-quyen-phe-duyet"}, set()),
    (_approved(3, "Phòng CNTT (đơn vị chuyên trách)", "Giám đốc (chủ quản)", appraised_by_kind="bo-cong-an"),
     {"sai-tham-quyen-tham-dinh"}, set()),
    (_approved(5, "Bộ Công an", "Giám đốc (chủ quản)"), {"sai-tham-quyen-phe-duyet"}, set()),
    (_approved(2, "Phòng CNTT (đơn vị chuyên trách)", "Phòng CNTT (đơn vị chuyên trách)"), set(),
     {"sai-tham-quyen-phe-duyet", "sai-tham-quyen-tham-dinh"}),
], ids=["l4-bca", "l4-own-unit", "l4-defence-by-bca", "l4-military-by-bqp", "l4-coyeu-by-bcy", "l4-unknown-body",
        "l3-approved-by-unit", "l3-declared-kind-wins", "l5-not-pm", "l2-unit"])
def test_authority_against_the_level(system: System, expected: set[str], absent: set[str]) -> None:
    codes = _codes(system)
    assert expected <= codes, codes
    assert not (absent & codes), codes


def test_level4_appraisal_under_the_old_regime_accepts_mic_or_mps_and_says_unverified() -> None:
    system = _approved(4, "Văn phòng Sở (bộ phận công nghệ thông tin)", "Giám đốc (chủ quản)",
                       day=dt.date(2026, 2, 5))
    s = _suggest(system, dt.date(2026, 11, 1))
    flags = {f.code: f for f in levels.review(system, s, as_of=dt.date(2026, 11, 1))}
    assert "chưa kiểm chứng" in flags["sai-tham-quyen-tham-dinh"].message
    assert "Bộ Công an" in flags["sai-tham-quyen-tham-dinh"].message
    ok = _approved(4, "Bộ Thông tin và Truyền thông", "Giám đốc (chủ quản)", day=dt.date(2024, 2, 5))
    assert "sai-tham-quyen-tham-dinh" not in _codes(ok)


def test_regulation_after_approval_and_missing_regulation() -> None:
    late = _approved(3, "Phòng CNTT (đơn vị chuyên trách)", "Giám đốc (chủ quản)",
                     regulation_date=dt.date(2026, 10, 5))
    assert "quy-che-sau-phe-duyet" in _codes(late)
    missing = _approved(3, "Phòng CNTT (đơn vị chuyên trách)", "Giám đốc (chủ quản)", regulation_date=None)
    assert {"chua-ro-quy-che"} <= _codes(missing) and "quy-che-sau-phe-duyet" not in _codes(missing)


def test_working_days_and_time_limits() -> None:
    assert levels.working_days(dt.date(2026, 9, 4), dt.date(2026, 9, 7)) == 1  # Friday -> Monday
    assert levels.working_days(dt.date(2026, 9, 1), dt.date(2026, 9, 22)) == 15
    on_time = _approved(3, "Phòng CNTT (đơn vị chuyên trách)", "Giám đốc (chủ quản)",
                        submitted_date=dt.date(2026, 9, 1), appraised_date=dt.date(2026, 9, 22),
                        day=dt.date(2026, 9, 30))
    assert not {"tham-dinh-qua-han", "phe-duyet-qua-han"} & _codes(on_time)
    late = _approved(3, "Phòng CNTT (đơn vị chuyên trách)", "Giám đốc (chủ quản)",
                     submitted_date=dt.date(2026, 9, 1), appraised_date=dt.date(2026, 9, 23),
                     day=dt.date(2026, 10, 5))
    assert {"tham-dinh-qua-han", "phe-duyet-qua-han"} <= _codes(late)
    pending = make({"proposed": 4, "dossier_state": "da-trinh-tham-dinh", "submitted_date": dt.date(2026, 9, 1)},
                   infrastructure_scope="quoc-gia")
    assert "cho-tham-dinh-qua-han" not in _codes(pending, dt.date(2026, 10, 6))  # 25 working days
    assert "cho-tham-dinh-qua-han" in _codes(pending, dt.date(2026, 10, 7))


def test_missing_approval_and_low_proposal() -> None:
    system = make({"proposed": 2, "dossier_state": "da-lap"}, admin_procedures=True)
    assert {"chua-phe-duyet", "de-xuat-thap"} <= _codes(system)
    low = _approved(2, "Phòng CNTT (đơn vị chuyên trách)", "Phòng CNTT (đơn vị chuyên trách)")
    low = low.model_copy(update={"admin_procedures": True})
    assert "thap-hon-tieu-chi" in _codes(low)


def test_transition_of_systems_under_construction_before_july_2026() -> None:
    building = make({"project_start": dt.date(2026, 3, 1), "dossier_state": "da-lap"},
                    **{**ONLINE_PERSONAL, "go_live": dt.date(2026, 10, 1), "data_subjects_basic": 100_000})
    during = _suggest(building, dt.date(2026, 9, 1))
    assert during.book.id == "nd85" and during.regime_note and "Đ39.1" in during.regime_note
    assert during.level == 2  # NĐ 85/2016: under 10,000 users
    after = _suggest(building, dt.date(2027, 1, 5))
    assert after.book.id == "nd331" and after.level == 3
    assert "chuyen-tiep" in _codes(building, dt.date(2026, 9, 1))
    assert "chuyen-tiep-qua-han" in _codes(building, dt.date(2027, 1, 5))
    existing = make({"project_start": dt.date(2015, 3, 1)}, go_live=dt.date(2016, 1, 1))
    assert _suggest(existing, dt.date(2026, 9, 1)).book.id == "nd331"
    unknown = make({"dossier_state": "da-lap"}, go_live=dt.date(2026, 12, 1))
    assert "chuyen-tiep-chua-ro" in _codes(unknown, dt.date(2026, 9, 1))


# -- the inventory: new fields round-trip ------------------------------------------------------------
def test_new_level_fields_round_trip_through_the_store(ws: Workspace, tmp_path: Path) -> None:
    text = (EXAMPLES / "inventory" / "so-y-te.yaml").read_text()
    anchor = "      appraised_by: Văn phòng Sở Y tế (bộ phận công nghệ thông tin)\n      approved_by: Giám đốc"
    text = text.replace(anchor,
                        "      appraised_by: Văn phòng Sở Y tế (bộ phận công nghệ thông tin)\n"
                        "      appraised_by_kind: don-vi-chuyen-trach\n      submitted_date: 2026-01-02\n"
                        "      security_harm: ton-hai\n      private_info: true\n      assigned_level: 4\n"
                        "      assigned_by: danh-gia-rui-ro\n      approved_by: Giám đốc", 1)
    source = tmp_path / "so-y-te.yaml"
    source.write_text(text)
    agencies = inventory.load_agencies([source])
    inventory.import_agencies(ws, agencies, actor="pytest", source="t")
    back = inventory.get_system(ws, "so-y-te", "hssk-dien-tu").level
    assert back.appraised_by_kind and back.appraised_by_kind.value == "don-vi-chuyen-trach"
    assert back.submitted_date == dt.date(2026, 1, 2) and back.private_info is True and back.assigned_level == 4
    out = inventory.export_agencies(ws, tmp_path / "out", ["so-y-te"])[0].read_text()
    assert "appraised_by_kind: don-vi-chuyen-trach" in out and "security_harm: ton-hai" in out


def test_bad_body_kind_in_inventory_names_file_and_line(tmp_path: Path, cli) -> None:
    text = (EXAMPLES / "inventory" / "so-y-te.yaml").read_text().replace(
        "      approved_by: Giám đốc Sở Y tế (chủ quản)\n",
        "      approved_by: Giám đốc Sở Y tế (chủ quản)\n      approved_by_kind: bo-y-te\n", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = cli("inventory", "validate", str(bad))
    assert result.code == 1 and re.search(r"bad\.yaml:\d+", result.err) and "approved_by_kind" in result.err


def test_migration_is_idempotent(ws: Workspace) -> None:
    from secaudit.store.migrations import v0005_levels

    columns = set(ws.db["systems"].columns_dict)
    assert set(v0005_levels.COLUMNS) <= columns
    v0005_levels.upgrade(ws.db)  # a second run changes nothing and does not fail
    assert set(ws.db["systems"].columns_dict) == columns


# -- the examples ------------------------------------------------------------------------------------
def _rows(cli, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = cli("level", "list", "--format", "json", *args)
    return result.code, {r["system"]: r for r in json.loads(result.out)}


@pytest.mark.parametrize("day", ["2026-08-18", "2026-11-22"])
def test_level_list_flags_the_example_problems(example_ws: Workspace, cli, day: str) -> None:
    code, rows = _rows(cli, "--as-of", day)
    assert code == 3  # errors present
    assert "thap-hon-tieu-chi" in rows["cchn-y-duoc"]["flags"]  # administrative procedures, approved at level 2
    assert rows["cchn-y-duoc"]["suggested_min"] == 3 and rows["cchn-y-duoc"]["approved"] == 2
    assert "sai-tham-quyen-tham-dinh" in rows["hssk-dien-tu"]["flags"]  # level 4 without a Bộ Công an appraisal
    assert "chua-phe-duyet" in rows["tthc-tinh"]["flags"]  # no decision
    # complete and correct; approved under NĐ 85/2016 on 10/04/2026, so the level is kept and only the
    # new law's measures are due by 30/06/2027 (Luật 116/2025 Đ45.1) — a dated warning, not an error
    assert rows["lgsp-tinh"]["flags"] == ["bien-phap-luat-moi"] and rows["lgsp-tinh"]["due"] == "2027-06-30"
    assert rows["cchn-y-duoc"]["regime"] == ("nd85" if day == "2026-08-18" else "nd331")


def test_level_list_table_and_agency_filter(example_ws: Workspace, cli) -> None:
    result = cli("level", "list", "--agency", "so-khcn", "--as-of", "2026-11-22")
    assert result.code == 3  # thu-dien-tu-cong-vu has no decision
    assert "lgsp-tinh" in result.out and "tthc-tinh" not in result.out
    assert "chưa rõ ngày ban hành quy chế" in result.out  # ha-tang-ttdl-tinh: approved, quy chế date unknown
    assert cli("level", "list", "--agency", "khong-co").code == 1


def test_level_suggest_text_json_and_errors(example_ws: Workspace, cli) -> None:
    result = cli("level", "suggest", "tthc-tinh", "--as-of", "2026-11-22")
    assert result.code == 0
    assert "Cấp độ tối thiểu đề xuất: 3" in result.out and "Đ13.2.b" in result.out
    result = cli("level", "suggest", "cchn-y-duoc", "--as-of", "2026-08-18")
    assert "chưa kiểm chứng" in result.out  # relies on NĐ 85/2016 criteria
    result = cli("level", "suggest", "--all", "--agency", "vp-ubnd-tinh", "--format", "json", "--as-of", "2026-11-22")
    docs = {d["system"]: d for d in json.loads(result.out)}
    coyeu = docs["mang-ttdr-co-yeu"]
    assert (coyeu["level"], coyeu["max_level"], coyeu["certain"]) == (3, 5, False)
    assert [u["attribute"] for u in coyeu["unknown"]] == ["system.security_harm"]
    assert [o["level"] for o in coyeu["unknown"][0]["options"]] == [3, 4, 5]
    assert cli("level", "suggest").code == 2
    assert cli("level", "suggest", "x", "--all").code == 2
    missing = cli("level", "suggest", "khong-co")
    assert missing.code == 1 and missing.err.startswith("Error:")


def test_baseline_checklists_follow_the_level(example_ws: Workspace) -> None:
    lib = Library()
    profile = lib.resolve_profile("tu-danh-gia")
    assert {"cap-do-nd331", "cap-do-tt12"} <= set(profile.checklists)
    result = evaluate_agency(example_ws, lib, "vp-ubnd-tinh", as_of=dt.date(2026, 11, 22), profile=profile)
    assert "cap-do-nd331" in result.checklists and "cap-do-tt12" not in result.checklists
    rows = {(r.item, r.system): r for r in result.system_results if r.checklist == "cap-do-nd331"}
    # tthc-tinh: no approval, suggested level 3 is certain -> level-3 items apply
    assert rows[("hs-tham-dinh", "tthc-tinh")].status is not Status.NOT_APPLICABLE
    assert rows[("hs-y-kien-chuyen-trach", "tthc-tinh")].status is Status.NOT_APPLICABLE
    # mang-ttdr-co-yeu: 3–5, not certain -> level-dependent items say the level is unknown, not N/A
    coyeu = rows[("hs-tham-dinh", "mang-ttdr-co-yeu")]
    assert coyeu.status is Status.NOT_ASSESSED and any("system.level" in r for r in coyeu.reasons)
    # the cơ yếu system is excluded from the monitoring connection
    assert rows[("bp-ket-noi-giam-sat", "mang-ttdr-co-yeu")].status is Status.NOT_APPLICABLE
    old = evaluate_agency(example_ws, lib, "vp-ubnd-tinh", as_of=dt.date(2026, 8, 18), profile=profile)
    assert "cap-do-tt12" in old.checklists and "cap-do-nd331" not in old.checklists


def test_level_sheet_pdf_and_html(example_ws: Workspace, cli, tmp_path: Path) -> None:
    pdf = tmp_path / "phieu.pdf"
    result = cli("level", "sheet", "cchn-y-duoc", "-o", str(pdf), "--as-of", "2026-11-22")
    assert result.code == 0, result.err
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "PHIẾU XÁC ĐỊNH CẤP ĐỘ HỆ THỐNG THÔNG TIN" in flat
    assert "Cấp độ 3" in flat and "Đ13.2.b" in flat and "Hệ thống thông tin giải quyết thủ tục hành chính" in flat
    assert "thấp hơn cấp độ tối thiểu" in flat  # approved at level 2
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "A4" in info
    html = tmp_path / "phieu.html"
    assert cli("level", "sheet", "mang-ttdr-co-yeu", "-o", str(html), "--format", "html",
               "--as-of", "2026-11-22").code == 0
    page = html.read_text()
    assert "có thể đến cấp độ 5" in page and "system.security_harm" in page and "<script" not in page


def test_level_sheet_escapes_hostile_names(ws: Workspace, cli, tmp_path: Path) -> None:
    text = (EXAMPLES / "inventory" / "so-y-te.yaml").read_text().replace(
        "name: Hệ thống quản lý cấp chứng chỉ", "name: <img src=x onerror=alert(1)> Hệ thống quản lý cấp chứng chỉ")
    source = tmp_path / "so-y-te.yaml"
    source.write_text(text)
    inventory.import_agencies(ws, inventory.load_agencies([source]), actor="pytest", source="t")
    out = tmp_path / "p.html"
    assert cli("level", "sheet", "cchn-y-duoc", "-o", str(out), "--format", "html").code == 0
    page = out.read_text()
    assert "<img src=x" not in page and "&lt;img src=x" in page


# -- the yearly report -------------------------------------------------------------------------------
def test_period_runs_from_15_december_to_14_december() -> None:
    assert yearly.period(2026) == (dt.date(2025, 12, 15), dt.date(2026, 12, 14))


def test_yearly_report_contents(pinned_now: str, example_ws: Workspace, tmp_path: Path) -> None:
    lib = Library()
    profile = lib.resolve_profile("tu-danh-gia")
    # so-y-te: answer every measure item of hssk-dien-tu, and its periodic assessment
    checklist = lib.checklist("cap-do-nd331")
    plan = tmp_path / "phuong-an.pdf"
    plan.write_bytes(b"%PDF-1.4 phuong an bao dam an ninh mang")
    for item in checklist.items:
        if item.scope == "system" and not checklist.children(item.id) and (
                item.id.startswith("bp-") or item.id == "dg-dinh-ky"):
            files = [plan] if not item.evidence.attestation else []  # items that need a document get one
            record_answer(example_ws, agency="so-y-te", system="hssk-dien-tu", checklist="cap-do-nd331",
                          item=item.id, status="dat", note="đã triển khai", files=files, actor="pytest")
    data = yearly.build_yearly(example_ws, lib, "so-y-te", year=2026, as_of=dt.date(2026, 12, 20), profile=profile)
    assert (data.period_start, data.period_end, data.data_as_of) == (
        dt.date(2025, 12, 15), dt.date(2026, 12, 14), dt.date(2026, 12, 14))
    assert not data.provisional and data.checklist == "cap-do-nd331"
    rows = {r["code"]: r for r in data.systems}
    hssk, cchn = rows["hssk-dien-tu"], rows["cchn-y-duoc"]
    assert hssk["decision"]["in_period"] is True and cchn["decision"]["in_period"] is False
    assert cchn["suggested"] == "3" and cchn["proposed"] == 2
    assert data.counts["total"] == 2 and data.counts["approved"] == 2
    assert data.counts["approved_assessed"] == 1 and "Định kỳ" in hssk["checked"]
    # measures that do not apply to hssk (level 4, cloud) are not counted; the rest were answered đạt
    assert hssk["measures_total"] > 10 and hssk["measures_met"] == hssk["measures_total"]
    assert hssk["deployment_label"] == "Đã triển khai đầy đủ"
    assert cchn["deployment_label"] == "Chưa triển khai"
    assert any("thấp hơn cấp độ tối thiểu" in f for f in cchn["flags"])
    # a draft before the period ends is marked as such
    draft = yearly.build_yearly(example_ws, lib, "so-y-te", year=2026, as_of=dt.date(2026, 9, 1), profile=profile)
    assert draft.provisional and draft.data_as_of == dt.date(2026, 9, 1) and draft.notes
    old = yearly.build_yearly(example_ws, lib, "so-y-te", year=2025, as_of=dt.date(2025, 12, 20), profile=profile)
    assert old.checklist == "cap-do-tt12" and "TT 12/2022" in old.basis["contents"]
    assert old.systems[0]["decision"] is None  # hssk was approved on 05/02/2026, after that period


def test_report_yearly_pdf_and_errors(example_ws: Workspace, cli, tmp_path: Path) -> None:
    out = tmp_path / "nam.pdf"
    result = cli("report", "yearly", "--agency", "vp-ubnd-tinh", "--year", "2026", "--as-of", "2026-12-20",
                 "-o", str(out))
    assert result.code == 0, result.err
    text = " ".join(subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "BÁO CÁO" in text and "từ ngày 15/12/2025 đến ngày 14/12/2026" in text
    assert "Hệ thống thông tin giải quyết thủ tục hành chính tỉnh Nghệ An" in text
    assert "Đang dự thảo" in text and "Đã được phê duyệt" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "VĂN PHÒNG UBND TỈNH" in text
    assert "Đ36" in text and "Mẫu số 08" in text
    html = cli("report", "yearly", "--agency", "vp-ubnd-tinh", "--year", "2026", "--format", "html",
               "--as-of", "2026-12-20")
    assert html.code == 0 and "<!DOCTYPE html>" in html.out and "2841/QĐ-UBND" in html.out
    early = cli("report", "yearly", "--agency", "vp-ubnd-tinh", "--year", "2027", "--as-of", "2026-12-01",
                "-o", str(tmp_path / "x.pdf"))
    assert early.code == 1 and "Error:" in early.err and not (tmp_path / "x.pdf").exists()
    assert cli("report", "yearly", "--agency", "khong-co", "--year", "2026", "-o", str(tmp_path / "y.pdf")).code == 1
    assert cli("report", "yearly", "--agency", "vp-ubnd-tinh").code == 2


def test_dossier_documents_are_evidence_shown_in_list_and_sheet(example_ws: Workspace, cli, tmp_path: Path) -> None:
    decision = tmp_path / "QD-phe-duyet-cap-do.pdf"
    decision.write_bytes(b"%PDF-1.4 quyet dinh phe duyet cap do")
    record_answer(example_ws, agency="vp-ubnd-tinh", system="qlvb-dieu-hanh", checklist="cap-do-nd331",
                  item="hs-phe-duyet", status="dat", note="QĐ 2841/QĐ-UBND", files=[decision],
                  actor="pytest", kind="quyet-dinh")
    _, rows = _rows(cli, "--agency", "vp-ubnd-tinh")
    assert rows["qlvb-dieu-hanh"]["dossier_files"] == 1 and rows["tthc-tinh"]["dossier_files"] == 0
    out = tmp_path / "sheet.html"
    assert cli("level", "sheet", "qlvb-dieu-hanh", "-o", str(out), "--format", "html").code == 0
    page = out.read_text()
    assert "QD-phe-duyet-cap-do.pdf" in page and hashlib.sha256(decision.read_bytes()).hexdigest() in page
