"""Applicability conditions: a small declarative language over inventory attributes.

Checklist items say when they apply (``level >= 3``, ``critical``, not military/defence/cơ yếu, the
agency runs a private data centre, …). The language is data, evaluated here, never ``eval``. It is
three-valued: an attribute that the inventory leaves unknown (``None``) makes a comparison
*unknown*, and the result names the attributes that would be needed to decide.

Forms (each a one-key mapping, except a comparison which has ``attr`` plus one operator)::

    {all: [cond, ...]}   {any: [cond, ...]}   {not: cond}
    {any_system: cond}   # agency scope: true if some system of the agency satisfies cond
    {attr: system.critical, eq: true}
    {attr: system.level, gte: 3}
    {attr: system.restricted_sector, not_in: [quan-su, quoc-phong, co-yeu]}
    {attr: agency.private_data_centre, known: true}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

OPERATORS = ("eq", "ne", "in", "not_in", "gte", "gt", "lte", "lt", "known")

# Attribute name -> description. A condition naming anything else is rejected when content loads.
AGENCY_ATTRIBUTES = {
    "agency.kind": "loại cơ quan",
    "agency.private_data_centre": "có trung tâm dữ liệu dùng riêng",
    "agency.has_critical_system": "có hệ thống thông tin trọng yếu",
}
SYSTEM_ATTRIBUTES = {
    "system.critical": "hệ thống trọng yếu",
    "system.restricted_sector": "lĩnh vực quân sự/quốc phòng/cơ yếu",
    "system.admin_procedures": "xử lý thủ tục hành chính",
    "system.online_service": "cung cấp dịch vụ trực tuyến",
    "system.conditional_business": "dịch vụ trong ngành nghề kinh doanh có điều kiện",
    "system.users": "số người dùng",
    "system.data_subjects_basic": "số chủ thể dữ liệu cá nhân cơ bản",
    "system.data_subjects_sensitive": "số chủ thể dữ liệu cá nhân nhạy cảm",
    "system.state_secrets": "xử lý bí mật nhà nước",
    "system.national_security_impact": "ảnh hưởng an ninh quốc gia",
    "system.industrial_control_grade": "cấp công trình của hệ thống điều khiển công nghiệp",
    "system.infrastructure_scope": "phạm vi hạ tầng dùng chung",
    "system.national_egov_247": "hệ thống Chính phủ điện tử quốc gia vận hành 24/7",
    "system.hosting": "nơi đặt hệ thống",
    "system.level": "cấp độ (đã phê duyệt, nếu chưa thì đề xuất)",
    "system.level_approved": "cấp độ đã phê duyệt",
    "system.has_hosts": "có địa chỉ khai báo để quét",
}
ATTRIBUTES = {**AGENCY_ATTRIBUTES, **SYSTEM_ATTRIBUTES}

Lookup = Callable[[str], Any]


class ConditionError(ValueError):
    """A condition is malformed (unknown operator or attribute, wrong shape)."""


@dataclass
class Outcome:
    """Result of evaluating a condition: True, False or None (unknown) and what was missing."""

    value: bool | None
    unknown: set[str] = field(default_factory=set)


def check(cond: Any, *, scope: str, path: str = "applies_if") -> None:
    """Validate the shape of ``cond``; ``scope`` is 'agency' or 'system' (which attributes exist)."""
    if not isinstance(cond, Mapping):
        raise ConditionError(f"{path}: điều kiện phải là ánh xạ / a condition must be a mapping")
    if "attr" in cond:
        ops = [k for k in cond if k != "attr"]
        if len(ops) != 1 or ops[0] not in OPERATORS:
            raise ConditionError(f"{path}: cần đúng một toán tử trong {OPERATORS} / need exactly one operator")
        attr = cond["attr"]
        allowed = ATTRIBUTES if scope == "system" else AGENCY_ATTRIBUTES
        if attr not in allowed:
            raise ConditionError(f"{path}: thuộc tính không biết '{attr}' / unknown attribute '{attr}'")
        if ops[0] in ("in", "not_in") and not isinstance(cond[ops[0]], list):
            raise ConditionError(f"{path}.{ops[0]}: phải là danh sách / must be a list")
        return
    if len(cond) != 1:
        raise ConditionError(f"{path}: điều kiện ghép chỉ có một khóa / a compound condition has one key")
    (key, value), = cond.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{path}.{key}: phải là danh sách không rỗng / must be a non-empty list")
        for i, sub in enumerate(value):
            check(sub, scope=scope, path=f"{path}.{key}[{i}]")
    elif key == "not":
        check(value, scope=scope, path=f"{path}.not")
    elif key in ("any_system", "all_systems"):
        if scope != "agency":
            raise ConditionError(f"{path}: '{key}' chỉ dùng cho mục cấp cơ quan / only for agency-scope items")
        check(value, scope="system", path=f"{path}.{key}")
    else:
        raise ConditionError(f"{path}: khóa không biết '{key}' / unknown key '{key}'")


def evaluate(cond: Any, lookup: Lookup, systems: list[Lookup] | None = None) -> Outcome:
    """Evaluate a checked condition with Kleene three-valued logic."""
    if cond is None:
        return Outcome(True)
    if "attr" in cond:
        return _compare(cond, lookup)
    (key, value), = cond.items()
    if key == "not":
        inner = evaluate(value, lookup, systems)
        return Outcome(None if inner.value is None else not inner.value, inner.unknown)
    if key in ("all", "any", "any_system", "all_systems"):
        if key in ("all", "any"):
            parts = [evaluate(sub, lookup, systems) for sub in value]
        else:
            parts = [evaluate(value, sys_lookup, None) for sys_lookup in (systems or [])]
        want_all = key in ("all", "all_systems")
        unknown: set[str] = set()
        saw_unknown = False
        for part in parts:
            if part.value is (not want_all):
                return Outcome(not want_all)
            if part.value is None:
                saw_unknown = True
                unknown |= part.unknown
        return Outcome(None, unknown) if saw_unknown else Outcome(want_all)
    raise ConditionError(f"unknown condition {key}")  # unreachable after check()


def _compare(cond: Mapping[str, Any], lookup: Lookup) -> Outcome:
    attr = cond["attr"]
    op = next(k for k in cond if k != "attr")
    expected = cond[op]
    actual = lookup(attr)
    if op == "known":
        return Outcome((actual is not None) == bool(expected))
    if actual is None:
        return Outcome(None, {attr})
    actual = getattr(actual, "value", actual)  # enums compare by their data value
    if op == "eq":
        return Outcome(actual == expected)
    if op == "ne":
        return Outcome(actual != expected)
    if op == "in":
        return Outcome(actual in expected)
    if op == "not_in":
        return Outcome(actual not in expected)
    try:
        if op == "gte":
            return Outcome(actual >= expected)
        if op == "gt":
            return Outcome(actual > expected)
        if op == "lte":
            return Outcome(actual <= expected)
        return Outcome(actual < expected)
    except TypeError as exc:
        raise ConditionError(f"{attr}: không so sánh được {actual!r} với {expected!r}") from exc
