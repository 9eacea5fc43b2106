"""The scan rules as validated data, and the small records the checks pass around.

A rule (``checklists/_scan-rules.yaml``) names a kind of check with its parameters, a severity and
the requirements a finding bears on; :mod:`secaudit.scanning.checks` reads nmap's output for each
kind and :mod:`secaudit.scanning.rules` runs them over a host.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, model_validator

from secaudit.inventory.models import Strict
from secaudit.scanning.nmap_argv import ALLOWED_SCRIPTS

__all__ = [
    "CHECK_NEEDS",
    "Check",
    "Coverage",
    "DeclaredService",
    "HostView",
    "Observation",
    "ScanRule",
    "ScanRules",
    "Severity",
]

Severity = Literal["thap", "trung-binh", "cao", "nghiem-trong"]
Check = Literal[
    "undeclared_port", "declared_port_missing", "undeclared_host", "risky_service", "tls_protocol",
    "weak_cipher", "cert_expired", "cert_expiring", "cert_self_signed", "cert_name_mismatch",
    "http_no_https_redirect", "missing_header", "version_disclosed", "weak_ssh_algorithm",
]

#: What a scan must have run for a check to see anything: NSE script ids (any one of them) or
#: ``"-sV"``. An empty tuple means a port scan is enough.
CHECK_NEEDS: dict[str, tuple[str, ...]] = {
    "undeclared_port": (), "declared_port_missing": (), "undeclared_host": (), "risky_service": (),
    "tls_protocol": ("ssl-enum-ciphers",), "weak_cipher": ("ssl-enum-ciphers",),
    "cert_expired": ("ssl-cert",), "cert_expiring": ("ssl-cert",), "cert_self_signed": ("ssl-cert",),
    "cert_name_mismatch": ("ssl-cert",),
    "http_no_https_redirect": ("http-headers", "http-title"),
    "missing_header": ("http-headers", "http-security-headers"),
    "version_disclosed": ("-sV", "http-headers", "http-server-header"),
    "weak_ssh_algorithm": ("ssh2-enum-algos",),
}


class ScanRule(Strict):
    """One rule: a check with its parameters, a severity, and the requirements it bears on."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title: str
    title_en: str | None = None
    severity: Severity
    check: Check
    bears_on: list[str] = Field(min_length=1, description="'checklist:item' mà phát hiện ảnh hưởng")
    ports: list[int] = Field(default_factory=list, description="risky_service: cổng rủi ro")
    services: list[str] = Field(default_factory=list, description="risky_service: tên dịch vụ (nmap -sV)")
    protocols: list[str] = Field(default_factory=list, description="tls_protocol: phiên bản bị coi là cũ")
    min_grade: Literal["A", "B", "C", "D", "E"] | None = Field(
        default=None, description="weak_cipher: hạng thấp nhất chấp nhận được")
    days: int | None = Field(default=None, ge=1, le=3650, description="cert_expiring: số ngày báo trước")
    header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$", description="missing_header")
    https_only: bool = Field(default=False, description="missing_header: chỉ xét trên cổng HTTPS (HSTS)")
    public_web_only: bool = Field(default=False, description="chỉ xét máy chủ khai báo public_web: true")
    algorithms: list[str] = Field(default_factory=list, description="weak_ssh_algorithm: thuật toán yếu")

    @model_validator(mode="after")
    def _parameters(self) -> ScanRule:
        for ref in self.bears_on:
            checklist, sep, item = ref.partition(":")
            if not (checklist and sep and item):
                raise ValueError(f"bears_on '{ref}' phải có dạng 'checklist:item' / must be 'checklist:item'")
        needed = {
            "risky_service": bool(self.ports or self.services),
            "tls_protocol": bool(self.protocols),
            "weak_cipher": self.min_grade is not None,
            "cert_expiring": self.days is not None,
            "missing_header": self.header is not None,
            "weak_ssh_algorithm": bool(self.algorithms),
        }
        if not needed.get(self.check, True):
            raise ValueError(f"luật '{self.id}' (check: {self.check}) thiếu tham số / rule is missing its parameter")
        return self


class DeclaredService(Strict):
    """What a service declared in the inventory calls for, whatever scan profile runs.

    ``scripts`` always run when a scanned host declares the service; ``nmap_name`` is the name
    nmap is told for that port (its scripts pick ports by name, and a web app on 8081 is not
    named "http" by nmap's table); ``covered_by`` lists groups of scripts, each group needing
    output from one of its scripts on the port before the service counts as checked.
    """

    names: list[str] = Field(min_length=1, description="tên dịch vụ khai báo (chữ thường)")
    nmap_name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    scripts: list[str] = Field(min_length=1, description="script NSE luôn chạy trên cổng khai báo dịch vụ này")
    covered_by: list[list[str]] = Field(min_length=1, description="mỗi nhóm cần ít nhất một script có kết quả")

    @model_validator(mode="after")
    def _known_scripts(self) -> DeclaredService:
        unknown = sorted({x for x in [*self.scripts, *(x for g in self.covered_by for x in g)]
                          if x not in ALLOWED_SCRIPTS})
        if unknown:
            raise ValueError(f"script không được phép / script not allowed: {', '.join(unknown)}")
        if any(not group or not set(group) & set(self.scripts) for group in self.covered_by):
            raise ValueError("mỗi nhóm covered_by phải gồm một script trong scripts"
                             " / every covered_by group needs one of the scripts that run")
        if any(n != n.lower() or not n.strip() for n in self.names):
            raise ValueError("tên dịch vụ viết chữ thường / service names are lower-case")
        return self

    def covered(self, scripts: Iterable[str]) -> list[str]:
        """The groups of ``covered_by`` that none of ``scripts`` (with output) satisfies, as text."""
        have = set(scripts)
        return ["/".join(group) for group in self.covered_by if not have & set(group)]


class ScanRules(Strict):
    """The rules file."""

    rules: list[ScanRule] = Field(min_length=1)
    declared_services: list[DeclaredService] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ScanRules:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"luật '{rule.id}' bị lặp / rule id '{rule.id}' is duplicated")
            seen.add(rule.id)
        names: set[str] = set()
        for service in self.declared_services:
            if names & set(service.names):
                raise ValueError(f"dịch vụ khai báo bị lặp / declared service repeated: {names & set(service.names)}")
            names |= set(service.names)
        return self

    def service(self, name: str | None) -> DeclaredService | None:
        """What the declared service ``name`` calls for (``None``: nothing beyond the profile)."""
        wanted = (name or "").strip().lower()
        return next((s for s in self.declared_services if wanted in s.names), None) if wanted else None


@dataclass
class HostView:
    """What the inventory (or a scope) says about an observed address."""

    system: str
    address: str  # the address nmap reported
    declared_ports: set[int]
    public_web: bool
    declared: bool = True
    names: list[str] = field(default_factory=list)  # declared host name(s), for certificate matching


@dataclass(slots=True)
class Observation:
    """One finding before it is stored: which rule fired where, and what was seen."""

    rule: ScanRule
    address: str
    port: int | None
    detail: str

    @property
    def key(self) -> str:
        """Identity across scans: the same rule at the same place is the same finding."""
        return f"{self.rule.id}|{self.address}|{self.port or ''}"


@dataclass(frozen=True)
class Coverage:
    """What a scan looked at, so that a missing finding can be told from an unchecked one."""

    ports: frozenset[int] | None  # None: not known (an imported file without scaninfo)
    scripts: frozenset[str]
    service_detection: bool

    def runs(self, check: str) -> bool:
        needs = CHECK_NEEDS.get(check, ())
        if not needs:
            return True
        return any((n == "-sV" and self.service_detection) or n in self.scripts for n in needs)

    def to_json(self) -> dict[str, Any]:
        return {"ports": None if self.ports is None else sorted(self.ports), "scripts": sorted(self.scripts),
                "service_detection": self.service_detection}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Coverage:
        if not data:
            return cls(None, frozenset(), False)
        ports = data.get("ports")
        return cls(None if ports is None else frozenset(int(p) for p in ports),
                   frozenset(data.get("scripts") or ()), bool(data.get("service_detection")))
