"""The published JSON Schema of an agency inventory file, generated from the pydantic models.

Agencies and their vendors fill inventories with their own tools; a JSON Schema lets an editor
(VS Code's YAML extension, for one) check a file as it is typed. It is generated from the same
models that validate imports, and ``docs/inventory.schema.json`` is the committed copy — a test
fails when the two drift apart. Regenerate with ``secaudit inventory schema -o docs/inventory.schema.json``.

Some rules cannot be said in JSON Schema (an approved level needs its decision, unique codes and
hosts, a host must be a plain scan target); the schema's description lists them, and secaudit
checks them on import.
"""

from __future__ import annotations

import json
from typing import Any

from secaudit.inventory.models import Agency

DIALECT = "https://json-schema.org/draft/2020-12/schema"

EXTRA_RULES = [
    "level.approved requires level.decision_number and level.decision_date, and goes with"
    " level.dossier_state = da-phe-duyet (and only with it)",
    "a decision number or date requires level.approved",
    "system codes are unique within the agency; host addresses are unique within a system;"
    " a port/protocol pair is listed once per host",
    "hosts[].address is one IP address, CIDR range, DNS host name or http(s) URL — anything else"
    " (options such as '-oN x', spaces, ranges, shell characters) is refused",
    "text fields contain no control characters; recipients are one line each",
]


def inventory_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one agency file."""
    schema = Agency.model_json_schema(mode="validation")
    described = schema.get("description", "")
    return {
        "$schema": DIALECT,
        "title": "secaudit — danh mục hệ thống thông tin của một cơ quan / agency inventory file",
        **{k: v for k, v in schema.items() if k != "title"},
        "description": described + "\n\nAlso checked by secaudit, beyond this schema:\n- " + "\n- ".join(EXTRA_RULES),
    }


def schema_text() -> str:
    """The schema as the exact text committed to ``docs/inventory.schema.json``."""
    return json.dumps(inventory_schema(), ensure_ascii=False, indent=2) + "\n"
