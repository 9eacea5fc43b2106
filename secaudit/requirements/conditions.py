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

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

OPERATORS = ("eq", "ne", "in", "not_in", "gte", "gt", "lte", "lt", "known")

# Attribute name -> description. A condition naming anything else is rejected when content loads.
AGENCY_ATTRIBUTES = {
    "agency.kind": "loại cơ quan",
    "agency.role": "vai trò riêng được văn bản của tỉnh giao (ví dụ so-khcn)",
    "agency.private_data_centre": "có trung tâm dữ liệu dùng riêng",
    "agency.has_critical_system": "có hệ thống thông tin trọng yếu (chưa khai hệ thống nào = chưa rõ)",
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
        op, value = ops[0], cond[ops[0]]
        if op in ("in", "not_in") and not isinstance(value, list):
            raise ConditionError(f"{path}.{op}: phải là danh sách / must be a list")
        if op in ("gte", "gt", "lte", "lt") and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConditionError(f"{path}.{op}: phải là số / must be a number")
        if op == "known" and not isinstance(value, bool):
            raise ConditionError(f"{path}.known: phải là true/false / must be true or false")
        if op in ("eq", "ne") and isinstance(value, list | dict):
            raise ConditionError(f"{path}.{op}: phải là một giá trị đơn / must be a single value")
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


def attributes(cond: Any) -> Iterator[str]:
    """Every attribute name a (checked) condition mentions, depth first."""
    if not isinstance(cond, Mapping):
        return
    if "attr" in cond:
        yield cond["attr"]
        return
    for value in cond.values():
        for sub in value if isinstance(value, list) else [value]:
            yield from attributes(sub)


_OP_TEXT = {
    "eq": "=", "ne": "≠", "in": "∈", "not_in": "∉", "gte": "≥", "gt": ">", "lte": "≤", "lt": "<",
}


def describe(cond: Any, *, lang: str = "vi") -> str:
    """A one-line reading of a condition for people (prompts, ``checklist show``), not for parsing."""
    if cond is None:
        return "luôn áp dụng" if lang == "vi" else "always"
    if "attr" in cond:
        attr = cond["attr"]
        op = next(k for k in cond if k != "attr")
        value = cond[op]
        if op == "known":
            word = ("đã khai báo" if value else "chưa khai báo") if lang == "vi" else ("known" if value else "unknown")
            return f"{attr} {word}"
        if isinstance(value, list):
            shown = "{" + ", ".join(str(v) for v in value) + "}"
        elif isinstance(value, bool):
            shown = str(value).lower()
        else:
            shown = str(value)
        return f"{attr} {_OP_TEXT[op]} {shown}"
    (key, value), = cond.items()
    if key in ("all", "any"):
        joiner = {"all": (" và ", " and "), "any": (" hoặc ", " or ")}[key][0 if lang == "vi" else 1]
        parts = [describe(sub, lang=lang) for sub in value]
        return "(" + joiner.join(parts) + ")" if len(parts) > 1 else parts[0]
    if key == "not":
        return ("không " if lang == "vi" else "not ") + f"({describe(value, lang=lang)})"
    inner = describe(value, lang=lang)
    if key == "any_system":
        return f"có hệ thống mà {inner}" if lang == "vi" else f"some system has {inner}"
    return f"mọi hệ thống đều {inner}" if lang == "vi" else f"every system has {inner}"


# -- plain-language reading (prompts for officers) ------------------------------------------------
# Attribute -> the VALUE_LABELS table naming its coded values, and the verb (positive, negative)
# that joins the subject to those labels.
_VALUE_TABLES = {
    "agency.kind": ("AgencyKind", "là", "không phải là"),
    "agency.role": ("AgencyRole", "là", "không phải là"),
    "system.restricted_sector": ("RestrictedSector", "thuộc lĩnh vực", "không thuộc lĩnh vực"),
    "system.hosting": ("Hosting", "đặt tại", "không đặt tại"),
    "system.infrastructure_scope": ("InfraScope", "có phạm vi", "không có phạm vi"),
    "system.industrial_control_grade": ("IcsGrade", "thuộc", "không thuộc"),
}
# Yes/no attributes whose description does not read as a verb phrase after the subject.
_YES_NO_PHRASES = {
    "system.critical": ("được xác định là trọng yếu", "không phải hệ thống trọng yếu"),
    "system.national_egov_247": ("là hệ thống Chính phủ điện tử quốc gia vận hành 24/7",
                                 "không phải hệ thống Chính phủ điện tử quốc gia vận hành 24/7"),
    "agency.has_critical_system": ("có hệ thống thông tin trọng yếu", "không có hệ thống thông tin trọng yếu"),
}
_NOUNS = {"system.level": "cấp độ", "system.level_approved": "cấp độ đã phê duyệt"}
_NUMBER_OPS = {"gte": "từ {} trở lên", "gt": "trên {}", "lte": "từ {} trở xuống", "lt": "dưới {}",
               "eq": "{}", "ne": "khác {}"}


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " hoặc " + words[-1]


def _value_words(attr: str, values: list[Any]) -> list[str]:
    from secaudit.inventory.models import VALUE_LABELS

    table = VALUE_LABELS.get(_VALUE_TABLES[attr][0], {})
    words = [table.get(str(v), str(v)) for v in values]
    if attr == "system.restricted_sector":  # "quân sự" reads better than "Quân sự" mid-sentence
        words = [w[:1].lower() + w[1:] for w in words]
    return [f"“{w}”" if "," in w else w for w in words]  # "Sở, ban, ngành" stays one choice


def _explain_compare(cond: Mapping[str, Any]) -> str:
    attr = cond["attr"]
    op = next(k for k in cond if k != "attr")
    value = cond[op]
    subject = "cơ quan" if attr.startswith("agency.") else "hệ thống"
    desc = ATTRIBUTES.get(attr, attr)
    if op == "known":
        return f"đã khai báo {desc}" if value else f"chưa khai báo {desc}"
    if isinstance(value, bool) and op in ("eq", "ne"):
        yes = value if op == "eq" else not value
        if attr in _YES_NO_PHRASES:
            return f"{subject} {_YES_NO_PHRASES[attr][0 if yes else 1]}"
        return f"{subject} {desc}" if yes else f"{subject} không {desc}"
    if attr in _VALUE_TABLES and op in ("eq", "ne", "in", "not_in"):
        _, positive, negative = _VALUE_TABLES[attr]
        values = value if isinstance(value, list) else [value]
        verb = positive if op in ("eq", "in") else negative
        return f"{subject} {verb} {_either(_value_words(attr, values))}"
    noun = _NOUNS.get(attr, desc)
    if op in ("in", "not_in"):
        shown = _either([str(v) for v in value])
        return f"{subject} có {noun} {'' if op == 'in' else 'không phải '}{shown}".replace("  ", " ")
    return f"{subject} có {noun} {_NUMBER_OPS[op].format(value)}"


def explain(cond: Any) -> str:
    """A condition as a Vietnamese sentence for the officer answering the walk: attribute
    descriptions and the drop-down labels of coded values, never attribute names, codes or symbols
    (``describe`` keeps the compact form for ``checklist show``). Evaluation is not affected."""
    if cond is None:
        return "luôn áp dụng"
    if "attr" in cond:
        return _explain_compare(cond)
    (key, value), = cond.items()
    if key in ("all", "any"):
        parts = [explain(sub) for sub in value]
        if len(parts) == 1:
            return parts[0]
        return (", đồng thời " if key == "all" else "; hoặc ").join(parts)
    if key == "not":
        return f"không phải trường hợp: {explain(value)}"
    inner = explain(value)
    if key == "any_system":
        return f"có ít nhất một hệ thống thỏa điều kiện: {inner}"
    return f"mọi hệ thống đều thỏa điều kiện: {inner}"


def json_schema_defs() -> dict[str, Any]:
    """JSON Schema definitions (``Condition``, ``Comparison``) of the language, for editors and docs.

    The schema cannot say which attributes an agency-scope item may use (only ``agency.*`` outside
    ``any_system``/``all_systems``); the loader checks that.
    """
    ref = {"$ref": "#/$defs/Condition"}

    def one(key: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {key: value}, "required": [key], "additionalProperties": False}

    listed = {"type": "array", "minItems": 1, "items": ref}
    scalar = {"type": ["string", "number", "boolean"]}
    number = {"type": "number"}
    comparison = {
        "type": "object",
        "description": "So sánh một thuộc tính của danh mục với một giá trị / compare one inventory attribute",
        "properties": {
            "attr": {"enum": sorted(ATTRIBUTES)},
            "eq": scalar, "ne": scalar,
            "in": {"type": "array", "items": scalar}, "not_in": {"type": "array", "items": scalar},
            "gte": number, "gt": number, "lte": number, "lt": number,
            "known": {"type": "boolean"},
        },
        "required": ["attr"],
        "minProperties": 2,
        "maxProperties": 2,
        "additionalProperties": False,
    }
    condition = {
        "description": (
            "Điều kiện áp dụng (không bao giờ là mã lệnh): so sánh, all/any/not, any_system/all_systems /"
            " applicability condition (data, never code)"
        ),
        "oneOf": [
            {"$ref": "#/$defs/Comparison"},
            one("all", listed), one("any", listed), one("not", ref), one("any_system", ref),
            one("all_systems", ref),
        ],
    }
    return {"Condition": condition, "Comparison": comparison}


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
