"""A system's fields as a form shows them (the served app's add/edit system page).

The fields, their labels, kinds and choices come from ``inventory.fields`` (the same catalogue the
CLI's options and the Excel sheets use); values are read and written through
``services.inventory`` (``add_system`` / ``edit_system``), so the checks are the inventory's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from secaudit.services.inventory import add_system, edit_system, field_specs, get_system, host_text, system_values
from secaudit.services.workspace import Where

#: Form groups: what the system is and does, then the level dossier (fields ``level.*``), apart.
GROUPS = (("co-ban", "Thông tin hệ thống", "About the system"),
          ("cap-do", "Cấp độ và hồ sơ cấp độ (NĐ 331/2026)", "Security level and its dossier"))


def _text(spec: Any, value: Any) -> str:
    if value is None:
        return ""
    if spec.kind == "date" and isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    if spec.kind == "choice":
        return str(value)
    return str(spec.text(value))


def system_form(where: Where, agency: str, code: str | None, posted: Mapping[str, str] | None = None,
                hosts_text: str | None = None) -> dict[str, Any]:
    """The form's fields (grouped) with the current values of ``code`` (None: a new system), or what
    was posted when a save was refused."""
    current: dict[str, Any] = {}
    hosts: list[str] = []
    if code is not None:
        system = get_system(where, agency, code)
        current = system_values(system)
        hosts = [host_text(h) for h in system.hosts]
    groups: dict[str, list[dict[str, Any]]] = {g[0]: [] for g in GROUPS}
    for spec in field_specs("system"):
        value = posted.get(spec.key, "") if posted is not None else _text(spec, current.get(spec.key))
        choices = [{"code": c, "label": spec.labels.get(c, c)} for c in spec.choices] if spec.kind == "choice" else []
        groups["cap-do" if spec.key.startswith("level.") else "co-ban"].append({
            "key": spec.key, "title": spec.title, "kind": spec.kind, "required": spec.required,
            "choices": choices, "value": value, "allowed": spec.allowed(),
            "readonly": spec.key == "code" and code is not None,
        })
    return {"code": code, "groups": [{"id": g[0], "title": g[1], "title_en": g[2], "fields": groups[g[0]]}
                                     for g in GROUPS],
            "hosts": hosts_text if hosts_text is not None else "\n".join(hosts)}


def save_system(where: Where, agency: str, code: str | None, posted: Mapping[str, str], hosts_text: str, *,
                actor: str) -> str:
    """Add (``code`` None) or replace the fields and hosts of a system from the posted form; its code."""
    keys = {spec.key for spec in field_specs("system")}
    values = {k: v for k, v in posted.items() if k in keys}
    hosts = [line for line in hosts_text.splitlines() if line.strip()]
    if code is None:
        return str(add_system(where, agency, values, hosts, actor=actor).code)
    values.pop("code", None)
    edit_system(where, agency, code, values, hosts, actor=actor)
    return code
