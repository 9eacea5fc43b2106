"""The inventory's fields as one flat catalogue, for every way of entering them by hand.

The pydantic models are nested (an agency has a contact, a system has a level and hosts). Excel
sheets, command-line options and interactive prompts are flat: one cell, option or question per
fact. This module walks the models once and produces a :class:`FieldSpec` per leaf with its dotted
key (``level.approved``), its Vietnamese title and English description (from the model), its kind
and allowed values. Each spec turns what a person typed — or what an Excel cell holds — into the
model's value and back, so the workbook, the CLI and the prompts agree on every spelling.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Union

from pydantic import BaseModel

from secaudit import clock
from secaudit.inventory import models
from secaudit.inventory.models import VALUE_LABELS, Agency, Host, System

Kind = Literal["text", "int", "bool", "date", "choice", "lines", "ports"]

TRUE_WORDS = {"có", "co", "c", "x", "yes", "y", "true", "1", "đúng", "dung"}
FALSE_WORDS = {"không", "khong", "k", "no", "n", "false", "0", "sai"}
UNKNOWN_WORDS = {"", "-", "?", "chưa rõ", "chua ro", "unknown"}
YES, NO = "có", "không"

_PORT_ITEM = re.compile(r"^(\d{1,6})\s*(?:/\s*([A-Za-z]+))?\s*(.*)$")
_INT_TEXT = re.compile(r"^-?\d+$")
_GROUPED_INT = re.compile(r"^\d{1,3}(?:[.,\s]\d{3})+$")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


@dataclass(frozen=True)
class FieldSpec:
    """One leaf fact of the inventory, as a person types it."""

    key: str  # dotted path inside the model's document: "name", "level.approved", "security_contact.email"
    kind: Kind
    title: str  # Vietnamese label (Excel header, prompt)
    description: str  # English meaning
    required: bool = False
    choices: tuple[str, ...] = ()  # the codes of a choice field, in model order
    labels: dict[str, str] = field(default_factory=dict)  # code -> Vietnamese label
    default: Any = None

    @property
    def option(self) -> str:
        """The command-line option for this field, e.g. ``--level-approved``."""
        return "--" + self.key.replace(".", "-").replace("_", "-")

    def allowed(self) -> str:
        """Human text listing what the field accepts (for help, prompts and the instructions sheet)."""
        if self.kind == "choice":
            return "; ".join(f"{c or '(trống)'} = {self.labels.get(c, c)}" for c in self.choices)
        return {
            "text": "văn bản / text",
            "int": "số nguyên ≥ 0 / whole number",
            "bool": "có / không (để trống = chưa rõ) / yes / no (blank = unknown)",
            "date": "ngày YYYY-MM-DD hoặc DD/MM/YYYY / date",
            "lines": "mỗi dòng một mục / one item per line",
            "ports": "cổng/giao thức dịch vụ, cách nhau bởi ';' — ví dụ '443/tcp https; 22/tcp ssh'",
        }[self.kind]

    # -- typed text or a cell -> model value ----------------------------------------------------
    def parse(self, raw: Any) -> Any:
        """The model value for ``raw`` (text, or a value read from an Excel cell); ``None`` = unknown.

        Raises ``ValueError`` with a Vietnamese / English message when ``raw`` cannot be this field.
        """
        if isinstance(raw, str):
            raw = unicodedata.normalize("NFC", raw).strip()
            if raw == "":
                return self.default if self.kind in ("choice", "lines", "ports") or self.default is not None else None
        if raw is None:
            return self.default
        return getattr(self, f"_parse_{self.kind}")(raw)

    def _parse_text(self, raw: Any) -> str:
        if isinstance(raw, bool) or isinstance(raw, dt.date):
            raise ValueError(
                "phải là văn bản (Excel đã tự đổi kiểu; hãy định dạng ô là Text)"
                " / must be text (Excel converted it; format the cell as Text)"
            )
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        if isinstance(raw, int | float):
            return str(raw)
        return str(raw)

    def _parse_int(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError("phải là số nguyên / must be a whole number")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str):
            if _INT_TEXT.match(raw):
                return int(raw)
            if _GROUPED_INT.match(raw):
                return int(re.sub(r"[.,\s]", "", raw))
        raise ValueError(f"phải là số nguyên, không phải {raw!r} / must be a whole number, not {raw!r}")

    def _parse_bool(self, raw: Any) -> bool | None:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw)
        word = _norm(str(raw))
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        if word in UNKNOWN_WORDS:
            return None
        raise ValueError(f"phải là 'có' hoặc 'không', không phải {raw!r} / must be yes or no, not {raw!r}")

    def _parse_date(self, raw: Any) -> dt.date:
        if isinstance(raw, dt.datetime):
            if raw.time() != dt.time(0, 0):
                raise ValueError("phải là ngày, không kèm giờ / must be a date without a time")
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        day = clock.parse_day(str(raw))
        if day is not None:
            return day
        raise ValueError(
            f"phải là ngày dạng YYYY-MM-DD hoặc DD/MM/YYYY, không phải {raw!r}"
            f" / must be a date (YYYY-MM-DD or DD/MM/YYYY), not {raw!r}"
        )

    def _parse_choice(self, raw: Any) -> str:
        word = _norm(str(raw))
        for code in self.choices:
            if word == _norm(code) or word == _norm(self.labels.get(code, code)):
                return code
        shown = ", ".join(repr(c) for c in self.choices if c)
        raise ValueError(f"giá trị {raw!r} không nằm trong danh sách ({shown}) / {raw!r} is not one of {shown}")

    def _parse_lines(self, raw: Any) -> list[str]:
        if isinstance(raw, list):
            return [str(x).strip() for x in raw if str(x).strip()]
        return [line.strip() for line in str(raw).splitlines() if line.strip()]

    def _parse_ports(self, raw: Any) -> list[dict[str, Any]]:
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if isinstance(raw, float) and raw.is_integer():
            raw = str(int(raw))
        items = [part.strip() for part in re.split(r"[;\n]", str(raw)) if part.strip()]
        ports: list[dict[str, Any]] = []
        for item in items:
            match = _PORT_ITEM.match(item)
            if not match:
                raise ValueError(
                    f"không đọc được cổng {item!r} (dạng '443/tcp https')"
                    f" / cannot read port {item!r} (use '443/tcp https')"
                )
            spec: dict[str, Any] = {"port": int(match.group(1))}
            if match.group(2):
                spec["protocol"] = match.group(2).lower()
            if match.group(3):
                spec["service"] = match.group(3).strip()
            ports.append(spec)
        return ports

    # -- model value -> text or a cell ----------------------------------------------------------
    def display(self, value: Any) -> Any:
        """What to write in a cell (or offer as a prompt default) for a model value."""
        if value is None:
            return None
        if self.kind == "bool":
            return YES if value else NO
        if self.kind == "choice":
            value = value.value if isinstance(value, StrEnum) else value
            return self.labels.get(value, value) if value != "" else None
        if self.kind == "lines":
            return "\n".join(value) if value else None
        if self.kind == "ports":
            return "; ".join(
                f"{p['port']}/{p.get('protocol', 'tcp')}" + (f" {p['service']}" if p.get("service") else "")
                for p in value
            ) or None
        if isinstance(value, StrEnum):
            return value.value
        return value

    def text(self, value: Any) -> str:
        """``display`` as plain text (prompts, tables): dates ISO, unknown as empty."""
        shown = self.display(value)
        if shown is None:
            return ""
        if isinstance(shown, dt.date):
            return shown.isoformat()
        return str(shown)


# -- building the catalogue from the models ----------------------------------------------------
#: Nested optional models: left out entirely when every one of their cells is empty.
OPTIONAL_GROUPS = ("security_contact", "signer")
_LITERAL_NAMES = {
    typing.get_args(models.IcsGrade): "IcsGrade",
    typing.get_args(models.SignerAuthority): "SignerAuthority",
}
_SCALAR_KINDS: dict[Any, Kind] = {bool: "bool", int: "int", dt.date: "date", str: "text"}


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation, optional = args[0], True
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation, optional


def _specs(model: type[BaseModel], prefix: str = "", skip: tuple[str, ...] = (), label: str = "") -> list[FieldSpec]:
    out: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        annotation, _ = _strip_optional(info.annotation)
        key = prefix + name
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            group = f"{info.title}: " if name in OPTIONAL_GROUPS else ""
            out.extend(_specs(annotation, key + ".", label=group))
            continue
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        kind: Kind
        choices: tuple[str, ...] = ()
        labels: dict[str, str] = {}
        if isinstance(annotation, type) and issubclass(annotation, StrEnum):
            kind, choices = "choice", tuple(m.value for m in annotation)
            labels = VALUE_LABELS.get(annotation.__name__, {})
            default = default.value if isinstance(default, StrEnum) else default
        elif typing.get_origin(annotation) is Literal:
            kind, choices = "choice", tuple(typing.get_args(annotation))
            labels = VALUE_LABELS.get(_LITERAL_NAMES.get(choices, ""), {})
        elif annotation in _SCALAR_KINDS:
            kind = _SCALAR_KINDS[annotation]
        elif typing.get_origin(annotation) is list:
            kind = "ports" if key.endswith("ports") else "lines"
        else:  # pragma: no cover - a new field type must be given a kind here
            raise TypeError(f"no field kind for {model.__name__}.{name}: {annotation!r}")
        out.append(FieldSpec(key=key, kind=kind, title=label + (info.title or name), description=info.description or "",
                             required=required, choices=choices, labels=labels, default=default))
    return out


AGENCY_FIELDS: list[FieldSpec] = _specs(Agency, skip=("systems",))
SYSTEM_FIELDS: list[FieldSpec] = _specs(System, skip=("hosts",))
HOST_FIELDS: list[FieldSpec] = _specs(Host)


def by_key(specs: list[FieldSpec]) -> dict[str, FieldSpec]:
    """Specs indexed by dotted key."""
    return {s.key: s for s in specs}


def flatten(document: dict[str, Any], specs: list[FieldSpec]) -> dict[str, Any]:
    """Leaf values of a model dump (``model_dump(mode='python')``), by dotted key."""
    flat: dict[str, Any] = {}
    for spec in specs:
        value: Any = document
        for part in spec.key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        flat[spec.key] = value
    return flat


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """The nested document for flat values; unknowns (``None``) and empty optional groups left out."""
    doc: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        parts = key.split(".")
        node = doc
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    for group in OPTIONAL_GROUPS:
        sub = doc.get(group)
        if isinstance(sub, dict) and all(v in (None, "", []) for v in sub.values()):
            del doc[group]
    return doc
