"""Scan profiles and the scan rules file: what a scan looks at, checked before anything runs.

A profile (``profiles/<id>.yaml``) names the ports and the allow-listed nmap options; the rules
file (``checklists/_scan-rules.yaml``) turns observations into findings, each rule naming the
requirements it bears on, so every reference is checked against the shipped checklists on load.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InputError, InvalidTargetError, NotFoundError, ValidationError
from secaudit.inventory.models import Strict
from secaudit.resources import data_dir
from secaudit.scanning.nmap_argv import compress_ports, port_set, top_ports, validate_options, validate_ports
from secaudit.scanning.rules import ScanRule, ScanRules

__all__ = [
    "RULES_FILE", "STATS_EVERY", "ScanProfile", "ScanSettings", "load_rule_set", "load_rules",
    "load_scan_profile", "shipped_rule_set",
]

RULES_FILE = "_scan-rules.yaml"
STATS_EVERY = "--stats-every=2s"


class ScanSettings(Strict):
    """The ``scan:`` part of a scan profile: which ports, which allow-listed nmap options, how long results count."""

    ports: str | None = Field(default=None, description="danh sách cổng (22,80,8000-8100)")
    top_ports: int | None = Field(default=None, ge=1, le=65535, description="N cổng phổ biến nhất theo nmap")
    options: list[str] = Field(default_factory=list, description="tuỳ chọn nmap trong danh sách cho phép")
    freshness_days: int = Field(default=30, ge=1, le=3650, description="kết quả quét còn giá trị chứng minh (ngày)")
    timeout_seconds: int = Field(default=1800, ge=10, le=86400, description="giới hạn thời gian một tiến trình nmap")
    max_prefix_v4: int = Field(default=24, ge=8, le=32, description="dải IPv4 rộng hơn /N cần --allow-large")
    max_prefix_v6: int = Field(default=120, ge=32, le=128, description="dải IPv6 rộng hơn /N cần --allow-large")

    @model_validator(mode="after")
    def _some_ports(self) -> ScanSettings:
        if self.ports is None and self.top_ports is None:
            raise ValueError("cần 'ports' hoặc 'top_ports' / needs 'ports' or 'top_ports'")
        return self


class ScanProfile(Strict):
    """A named scan profile from ``profiles/<id>.yaml`` (or a file the operator names)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    title_en: str | None = None
    description: str | None = None
    scan: ScanSettings

    def port_spec(self) -> str:
        """The profile's own ports (top ports written out, plus the explicit list)."""
        numbers: set[int] = set()
        if self.scan.top_ports:
            numbers |= port_set(top_ports(self.scan.top_ports))
        if self.scan.ports:
            numbers |= port_set(self.scan.ports)
        return compress_ports(numbers)


def load_scan_profile(ref: str) -> ScanProfile:
    """A scan profile by id (``profiles/<id>.yaml``) or by path to a YAML file; options are checked up front."""
    if ref.endswith((".yaml", ".yml")) or os.sep in ref:
        path = Path(ref)
        if not path.is_file():
            raise NotFoundError(f"Không có tệp hồ sơ quét {ref}", en=f"no scan profile file {ref}", where=ref)
    else:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", ref):
            raise NotFoundError(f"Không có hồ sơ quét '{ref[:80]}'", en=f"no scan profile {ref[:80]!r}")
        path = data_dir("profiles") / f"{ref}.yaml"
        if not path.is_file():
            raise NotFoundError(f"Không có hồ sơ quét '{ref}'", en=f"no scan profile '{ref}'")
    located = yamlio.load(path)
    if isinstance(located.data, dict) and "scan" not in located.data:
        raise NotFoundError(f"'{ref}' là hồ sơ đánh giá, không phải hồ sơ quét", en=f"'{ref}' is not a scan profile",
                            where=str(path))
    try:
        profile = ScanProfile.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise
    try:
        if profile.scan.ports is not None:
            validate_ports(profile.scan.ports)
        validate_options(profile.scan.options)
        if any(o == STATS_EVERY.split("=")[0] or o.startswith("--stats-every") for o in profile.scan.options):
            raise InvalidTargetError("--stats-every do secaudit tự thêm khi hiện tiến độ",
                                     en="--stats-every is added by secaudit itself for the progress display")
    except InvalidTargetError as exc:
        raise InvalidTargetError(exc.message, en=exc.en, where=located.where(("scan", "options"))) from None
    return profile


def load_rules(path: Path | None = None, *, full_check: bool = True) -> list[ScanRule]:
    """The scan rules, each ``bears_on`` checked against the shipped checklists (see :func:`load_rule_set`)."""
    return load_rule_set(path, full_check=full_check).rules


def load_rule_set(path: Path | None = None, *, full_check: bool = True) -> ScanRules:
    """The rules file: the rules, each ``bears_on`` checked, and what declared services call for.

    ``full_check`` loads every checklist and resolves each reference (what ``checklist validate``
    and the tests do); scans use the light check — the item id must be declared in that
    checklist's file — because loading all checklists costs more than a quick scan of a host.
    """
    path = path or data_dir("checklists") / RULES_FILE
    located = yamlio.load(path)
    try:
        rule_set = ScanRules.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise
    rules = rule_set.rules
    problems: list[tuple[str, str]] = []
    resolve = _full_resolver() if full_check else _light_resolver()
    for index, rule in enumerate(rules):
        for ref_index, ref in enumerate(rule.bears_on):
            problem = resolve(ref)
            if problem:
                where = located.where(("rules", index, "bears_on", ref_index))
                problems.append((where, f"bears_on '{ref}': {problem}"))
    if problems:
        raise ValidationError(problems, en="scan rules refer to unknown requirements")
    return rule_set


def _full_resolver() -> Callable[[str], str | None]:
    from secaudit.requirements.content import Library

    library = Library()

    def resolve(ref: str) -> str | None:
        try:
            library.resolve_ref(ref)
        except (NotFoundError, InputError) as exc:
            return exc.message
        return None

    return resolve


def _light_resolver() -> Callable[[str], str | None]:
    folder = data_dir("checklists")
    ids: dict[str, set[str]] = {}

    def resolve(ref: str) -> str | None:
        checklist, _, item = ref.partition(":")
        if checklist not in ids:
            path = folder / f"{checklist}.yaml"
            text = path.read_text(encoding="utf-8") if re.fullmatch(r"[a-z0-9-]+", checklist) and path.is_file() else ""
            ids[checklist] = set(re.findall(r"^\s*-\s+id:\s*([a-z0-9-]+)\s*$", text, flags=re.MULTILINE))
        if not ids[checklist]:
            return f"không có bộ tiêu chí '{checklist}' / no checklist '{checklist}'"
        return None if item in ids[checklist] else f"không có mục '{item}' / no item '{item}'"

    return resolve


_RULE_SET_CACHE: dict[str, Any] = {}


def shipped_rule_set() -> ScanRules:
    """The shipped rules file, read once per change of the file (evaluations ask for it per item)."""
    path = data_dir("checklists") / RULES_FILE
    key = (str(path), path.stat().st_mtime_ns)
    if _RULE_SET_CACHE.get("key") != key:
        _RULE_SET_CACHE.update(key=key, value=load_rule_set(path, full_check=False))
    value: ScanRules = _RULE_SET_CACHE["value"]
    return value

