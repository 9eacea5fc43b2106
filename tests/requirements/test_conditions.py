"""The applicability language: shape checks, three-valued evaluation, descriptions, JSON Schema."""

from __future__ import annotations

from typing import Any

import pytest

from secaudit.requirements import conditions
from secaudit.requirements.conditions import ConditionError, Outcome, check, evaluate


def lookup_from(values: dict[str, Any]) -> conditions.Lookup:
    return lambda attr: values.get(attr)


CIVILIAN = {"attr": "system.restricted_sector", "not_in": ["quan-su", "quoc-phong", "co-yeu"]}


@pytest.mark.parametrize(
    ("cond", "values", "expected"),
    [
        ({"attr": "system.level", "gte": 3}, {"system.level": 3}, True),
        ({"attr": "system.level", "gte": 3}, {"system.level": 2}, False),
        ({"attr": "system.level", "gt": 3}, {"system.level": 3}, False),
        ({"attr": "system.level", "lt": 3}, {"system.level": 2}, True),
        ({"attr": "system.level", "lte": 3}, {"system.level": 4}, False),
        ({"attr": "system.critical", "eq": True}, {"system.critical": True}, True),
        ({"attr": "system.critical", "ne": True}, {"system.critical": False}, True),
        ({"attr": "agency.kind", "in": ["cong-an", "ubnd-xa"]}, {"agency.kind": "ubnd-xa"}, True),
        (CIVILIAN, {"system.restricted_sector": "quoc-phong"}, False),
        (CIVILIAN, {"system.restricted_sector": "co-yeu"}, False),
        (CIVILIAN, {"system.restricted_sector": "none"}, True),
        ({"attr": "system.users", "known": True}, {"system.users": 0}, True),
        ({"attr": "system.users", "known": False}, {}, True),
        ({"not": {"attr": "system.critical", "eq": True}}, {"system.critical": False}, True),
    ],
)
def test_comparisons(cond: dict[str, Any], values: dict[str, Any], expected: bool) -> None:
    check(cond, scope="system")
    assert evaluate(cond, lookup_from(values)).value is expected


def test_unknown_attribute_value_is_unknown_and_named() -> None:
    cond = {"all": [{"attr": "system.critical", "eq": True}, {"attr": "system.level", "gte": 3}]}
    outcome = evaluate(cond, lookup_from({"system.level": 3}))
    assert outcome == Outcome(None, {"system.critical"})


def test_kleene_logic_decides_when_it_can() -> None:
    unknown_critical = lookup_from({"system.level": 1})
    # false AND unknown = false; true OR unknown = true: no need to know the missing attribute
    assert evaluate({"all": [{"attr": "system.level", "gte": 3}, {"attr": "system.critical", "eq": True}]},
                    unknown_critical).value is False
    assert evaluate({"any": [{"attr": "system.level", "lt": 3}, {"attr": "system.critical", "eq": True}]},
                    unknown_critical).value is True
    assert evaluate({"not": {"attr": "system.critical", "eq": True}}, unknown_critical).value is None


def test_any_system_and_all_systems() -> None:
    systems = [lookup_from({"system.critical": False}), lookup_from({"system.critical": None}),
               lookup_from({"system.critical": True})]
    cond_any = {"any_system": {"attr": "system.critical", "eq": True}}
    cond_all = {"all_systems": {"attr": "system.critical", "eq": True}}
    check(cond_any, scope="agency")
    assert evaluate(cond_any, lookup_from({}), systems).value is True
    assert evaluate(cond_all, lookup_from({}), systems).value is False
    assert evaluate(cond_any, lookup_from({}), systems[:2]) == Outcome(None, {"system.critical"})
    assert evaluate(cond_any, lookup_from({}), []).value is False  # no systems: nothing satisfies it


@pytest.mark.parametrize(
    ("cond", "scope", "message"),
    [
        ("critical", "system", "ánh xạ"),
        ({"attr": "system.critcal", "eq": True}, "system", "system.critcal"),
        ({"attr": "system.critical", "eq": True}, "agency", "system.critical"),  # agency items see agency.* only
        ({"attr": "system.level", "gte": 3, "lte": 4}, "system", "một toán tử"),
        ({"attr": "system.level", "between": [1, 3]}, "system", "một toán tử"),
        ({"attr": "system.level", "gte": "3"}, "system", "phải là số"),
        ({"attr": "system.critical", "gte": True}, "system", "phải là số"),
        ({"attr": "agency.kind", "in": "cong-an"}, "agency", "danh sách"),
        ({"attr": "system.users", "known": "yes"}, "system", "true/false"),
        ({"attr": "agency.kind", "eq": ["cong-an"]}, "agency", "giá trị đơn"),
        ({"all": []}, "system", "không rỗng"),
        ({"all": [], "any": []}, "system", "một khóa"),
        ({"xor": [CIVILIAN]}, "system", "khóa không biết"),
        ({"any_system": CIVILIAN}, "system", "chỉ dùng cho mục cấp cơ quan"),
        ({"eval": "__import__('os').system('id')"}, "agency", "khóa không biết"),
    ],
)
def test_malformed_conditions_are_refused(cond: Any, scope: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        check(cond, scope=scope)


def test_attributes_walks_every_comparison() -> None:
    cond = {"all": [{"attr": "agency.private_data_centre", "eq": True},
                    {"any_system": {"all": [{"attr": "system.critical", "eq": True},
                                            {"not": {"attr": "system.hosting", "eq": "tai-co-quan"}}]}}]}
    assert list(conditions.attributes(cond)) == ["agency.private_data_centre", "system.critical", "system.hosting"]


def test_describe_reads_like_the_condition() -> None:
    cond = {"all": [{"attr": "agency.private_data_centre", "eq": True},
                    {"any_system": {"attr": "system.level", "gte": 3}}]}
    assert conditions.describe(cond) == "(agency.private_data_centre = true và có hệ thống mà system.level ≥ 3)"
    assert conditions.describe(CIVILIAN, lang="en") == "system.restricted_sector ∉ {quan-su, quoc-phong, co-yeu}"
    assert conditions.describe(None) == "luôn áp dụng"


def test_json_schema_accepts_good_and_rejects_bad_conditions() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    defs = conditions.json_schema_defs()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "#/$defs/Condition",
              "$defs": defs}
    validator = jsonschema.Draft202012Validator(schema)
    good = {"all": [CIVILIAN, {"any_system": {"attr": "system.level", "gte": 3}}, {"not": CIVILIAN}]}
    assert list(validator.iter_errors(good)) == []
    for bad in ({"attr": "system.nope", "eq": 1}, {"attr": "system.level", "gte": 3, "lt": 5},
                {"all": []}, {"xor": [CIVILIAN]}, {"attr": "system.level"}):
        assert list(validator.iter_errors(bad)), bad
