"""Rules as data: turn what nmap observed on one host into findings tied to requirements.

The rules live in ``checklists/_scan-rules.yaml``; this module only knows the *kinds* of check
(``check:``) and how to read nmap's structured NSE output for each: open ports against the
declared ones, risky and management services, TLS protocol versions and cipher grades
(``ssl-enum-ciphers``), the certificate (``ssl-cert``), HTTP headers and redirects
(``http-headers``, ``http-security-headers``, ``http-title``), version banners (``-sV`` or the
``Server`` header) and SSH algorithms (``ssh2-enum-algos``).

It also answers the question that keeps findings honest over time: *could this scan have seen
that finding again?* A quick scan without TLS scripts cannot prove that an old TLS problem is
fixed, so :func:`rechecked` says which earlier findings a scan really looked at again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from secaudit.inventory.models import Strict
from secaudit.scanning.nmap_argv import ALLOWED_SCRIPTS

if TYPE_CHECKING:  # annotations only: planning a scan loads rules, the XML reader loads while nmap runs
    from secaudit.scanning.nmap_xml import HostResult, PortResult

__all__ = [
    "CHECK_NEEDS",
    "Coverage",
    "DeclaredService",
    "HostView",
    "Observation",
    "ScanRule",
    "ScanRules",
    "evaluate",
    "http_headers",
    "rechecked",
]

Severity = Literal["thap", "trung-binh", "cao", "nghiem-trong"]
Check = Literal[
    "undeclared_port", "declared_port_missing", "undeclared_host", "risky_service", "tls_protocol",
    "weak_cipher", "cert_expired", "cert_expiring", "cert_self_signed", "cert_name_mismatch",
    "http_no_https_redirect", "missing_header", "version_disclosed", "weak_ssh_algorithm",
]
GRADES = "ABCDEF"  # ssl-enum-ciphers strength grades, best first
OLD_TLS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")

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


@dataclass(frozen=True)
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


# -- reading NSE output ------------------------------------------------------------------------
_HEADER_LINE = re.compile(r"^\s{0,4}([A-Za-z0-9-]{1,64}):\s?(.*)$")
_VERSIONED = re.compile(r"[A-Za-z][A-Za-z0-9._-]*/\d")
_NSE_HEX = re.compile(r"\\x([0-9A-Fa-f]{2})")


def nse_text(value: str) -> str:
    """Undo NSE's ``\\xHH`` escaping of non-ASCII bytes (titles, certificate names) and decode UTF-8."""
    if "\\x" not in value:
        return value
    raw = _NSE_HEX.sub(lambda m: chr(int(m.group(1), 16)), value).encode("latin-1", "replace")
    return raw.decode("utf-8", "replace")


def http_headers(port: PortResult) -> dict[str, str] | None:
    """Response headers (lower-case names) from ``http-headers``; presence only from ``http-security-headers``.

    ``None`` when neither script produced output on the port (so nothing is known about headers).
    """
    script = port.scripts.get("http-headers")
    if script is not None and script.output.strip():
        headers: dict[str, str] = {}
        for line in script.output.splitlines():
            if not line.strip():
                if headers:
                    break
                continue
            match = _HEADER_LINE.match(line)
            if match and not line.strip().startswith("("):
                headers.setdefault(match.group(1).lower(), match.group(2).strip())
        return headers
    security = port.scripts.get("http-security-headers")
    if security is not None:
        data = security.data if isinstance(security.data, dict) else {}
        return {str(k).replace("_", "-").lower(): "" for k in data
                if not any("not configured" in str(v) for v in (data[k] or []))}
    return None


def _headers_of(port: PortResult, parsed: dict[int, dict[str, str] | None] | None) -> dict[str, str] | None:
    """:func:`http_headers` of ``port``, parsed once per port when ``parsed`` remembers them."""
    if parsed is None:
        return http_headers(port)
    if port.port not in parsed:
        parsed[port.port] = http_headers(port)
    return parsed[port.port]


def _is_web(port: PortResult) -> bool:
    return any(s in port.scripts for s in _WEB)


def _is_tls(port: PortResult) -> bool:
    service = port.service or ""
    return (port.tunnel == "ssl" or service in ("https", "https-alt", "ssl") or "ssl-cert" in port.scripts
            or "ssl-enum-ciphers" in port.scripts)


def _cert_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _cert_names(cert: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) a certificate is valid for: SAN entries, else the subject CN."""
    dns: list[str] = []
    ips: list[str] = []
    for ext in cert.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "X509v3 Subject Alternative Name":
            for part in str(ext.get("value", "")).split(","):
                kind, _, value = part.strip().partition(":")
                if kind == "DNS":
                    dns.append(value.strip().lower().rstrip("."))
                elif kind == "IP Address":
                    ips.append(value.strip())
    if not dns and not ips:
        subject = cert.get("subject")
        common = subject.get("commonName") if isinstance(subject, dict) else None
        if isinstance(common, str):
            try:
                ipaddress.ip_address(common)
                ips.append(common)
            except ValueError:
                dns.append(common.lower().rstrip("."))
    return dns, ips


def _name_matches(name: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return name == pattern


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


# -- the checks --------------------------------------------------------------------------------
#: Scripts at least one of which must have run on a port for a check to be able to fire there.
_WEB = ("http-headers", "http-title", "http-security-headers")  # what makes a port web (see _is_web)
_NEEDS_A_SCRIPT: dict[str, frozenset[str]] = {check: frozenset(scripts) for check, scripts in {
    **dict.fromkeys(("tls_protocol", "weak_cipher"), ("ssl-enum-ciphers",)), "weak_ssh_algorithm": ("ssh2-enum-algos",),
    **dict.fromkeys(("cert_expired", "cert_expiring", "cert_self_signed", "cert_name_mismatch"), ("ssl-cert",)),
    "http_no_https_redirect": _WEB, "missing_header": _WEB}.items()}


def _check_port(rule: ScanRule, host: HostView, port: PortResult, as_of: dt.datetime,
                parsed: dict[int, dict[str, str] | None] | None = None) -> str | None:
    """Detail text when ``rule`` fires on an open ``port``, else ``None`` (``parsed``: headers by port, filled)."""
    check = rule.check
    if check == "risky_service":
        trusted_name = port.method != "table" and (port.service or "") in rule.services
        if port.port in rule.ports or trusted_name:
            return " ".join(x for x in (port.service or "?", port.product or "", port.version or "") if x)
        return None
    if check in ("tls_protocol", "weak_cipher"):
        script = port.scripts.get("ssl-enum-ciphers")
        data = script.data if script is not None and isinstance(script.data, dict) else None
        if data is None:
            return None
        if check == "tls_protocol":
            offered = [v for v in data if v in rule.protocols]
            return ", ".join(offered) or None
        limit = GRADES.index(rule.min_grade or "B")
        weak: list[str] = []
        for version, table in data.items():
            if not isinstance(table, dict):
                continue
            for cipher in table.get("ciphers") or []:
                grade = cipher.get("strength") if isinstance(cipher, dict) else None
                if isinstance(grade, str) and grade in GRADES and GRADES.index(grade) > limit:
                    weak.append(f"{version} {cipher.get('name', '?')} ({grade})")
        least = data.get("least strength")
        if not weak and isinstance(least, str) and least in GRADES and GRADES.index(least) > limit:
            weak.append(f"least strength {least}")
        return "; ".join(weak[:12]) + (f" (+{len(weak) - 12})" if len(weak) > 12 else "") if weak else None
    if check.startswith("cert_"):
        script = port.scripts.get("ssl-cert")
        cert = script.data if script is not None and isinstance(script.data, dict) else None
        if cert is None:
            return None
        raw_validity = cert.get("validity")
        validity: dict[str, Any] = raw_validity if isinstance(raw_validity, dict) else {}
        not_after = _cert_time(validity.get("notAfter"))
        if check == "cert_expired":
            return f"hết hạn / expired {not_after:%Y-%m-%d}" if not_after and not_after < as_of else None
        if check == "cert_expiring":
            if not_after and as_of <= not_after <= as_of + dt.timedelta(days=rule.days or 30):
                return f"hết hạn ngày / expires {not_after:%Y-%m-%d}"
            return None
        if check == "cert_self_signed":
            subject, issuer = cert.get("subject"), cert.get("issuer")
            if isinstance(subject, dict) and subject and subject == issuer:
                return nse_text(", ".join(f"{k}={v}" for k, v in subject.items() if isinstance(v, str)))[:300]
            return None
        dns, ips = _cert_names(cert)
        wanted_names = [n for n in host.names if n]
        if wanted_names:
            ok = any(_name_matches(n, p) for n in wanted_names for p in dns)
        else:  # declared by IP: only a certificate naming other IPs and no DNS name is a mismatch
            ok = bool(dns) or any(_same_ip(host.address, ip) for ip in ips)
        return None if ok else f"chứng thư cho / certificate for: {', '.join(dns + ips) or '?'}"[:300]
    if check == "http_no_https_redirect":
        if not _is_web(port) or _is_tls(port):
            return None
        headers = _headers_of(port, parsed) or {}
        title = port.scripts.get("http-title")
        redirect = headers.get("location", "")
        if not redirect and title is not None and isinstance(title.data, dict):
            redirect = str(title.data.get("redirect_url", ""))
        if redirect.lower().startswith("https://"):
            return None
        if "http-headers" not in port.scripts and not redirect and title is None:
            return None
        return f"chuyển hướng tới / redirects to {redirect}"[:300] if redirect else "không chuyển hướng / no redirect"
    if check == "missing_header":
        if not _is_web(port) or (rule.https_only and not _is_tls(port)):
            return None
        present = _headers_of(port, parsed)
        if present is None:
            return None
        if not _is_tls(port) and present.get("location", "").lower().startswith("https://"):
            return None  # a plain-HTTP answer that only sends the browser to HTTPS carries no page
        return None if (rule.header or "").lower() in present else f"thiếu / missing {rule.header}"
    if check == "version_disclosed":
        banners: list[str] = []
        if port.version and port.method == "probed":
            banners.append(" ".join(x for x in (port.product, port.version) if x))
        server = (_headers_of(port, parsed) or {}).get("server", "")
        if not server and "http-server-header" in port.scripts:
            server = port.scripts["http-server-header"].output.strip()
        if server and _VERSIONED.search(server):
            banners.append(f"Server: {server}")
        return "; ".join(dict.fromkeys(banners))[:300] or None
    if check == "weak_ssh_algorithm":
        script = port.scripts.get("ssh2-enum-algos")
        algos = script.data if script is not None and isinstance(script.data, dict) else None
        if algos is None:
            return None
        available = {str(a) for values in algos.values() if isinstance(values, list) for a in values}
        return ", ".join(a for a in rule.algorithms if a in available) or None
    return None


def evaluate(
    rules: Iterable[ScanRule], host: HostView, observed: HostResult, *, as_of: dt.datetime
) -> list[Observation]:
    """Every finding the rules produce for one observed host (which must be ``up``)."""
    open_ports = {p.port: p for p in observed.ports if p.state == "open" and p.protocol == "tcp"}
    in_order = sorted(open_ports.items())
    found: list[Observation] = []
    parsed: dict[int, dict[str, str] | None] = {}  # each port's headers parsed once, whatever asks
    for rule in rules:
        if rule.public_web_only and not host.public_web:
            continue
        if rule.check == "undeclared_host":
            if not host.declared and open_ports:
                found.append(Observation(rule, host.address, None,
                                         "cổng mở / open: " + ", ".join(str(p) for p in sorted(open_ports))))
            continue
        if rule.check == "undeclared_port":
            for number, port in in_order:
                if number not in host.declared_ports:
                    found.append(Observation(rule, host.address, number,
                                             " ".join(x for x in (port.service or "?", port.product or "") if x)))
            continue
        if rule.check == "declared_port_missing":
            for number in sorted(host.declared_ports):
                if number in open_ports:
                    continue
                listed = observed.port(number)
                if listed is None and not observed.extraports:
                    continue  # not scanned at all (an imported file): nothing to say
                if listed is not None:
                    state = listed.state
                else:  # summarised by nmap; name the state when the summary has only one
                    state = next(iter(observed.extraports)) if len(observed.extraports) == 1 else "closed/filtered"
                found.append(Observation(rule, host.address, number, f"trạng thái / state: {state}"))
            continue
        needs = _NEEDS_A_SCRIPT.get(rule.check)
        for number, port in in_order:
            if needs is not None and needs.isdisjoint(port.scripts):
                continue  # the check reads a script that did not run here: it cannot fire
            detail = _check_port(rule, host, port, as_of, parsed)
            if detail:
                found.append(Observation(rule, host.address, number, detail))
    return found


def rechecked(check: str, port: int | None, coverage: Coverage, observed: HostResult | None) -> bool:
    """Whether a scan with ``coverage`` that saw ``observed`` looked again at a finding of ``check`` on ``port``.

    Only then may the absence of that finding count as "fixed". A host that was not up, a port
    outside the scanned list, or a script that did not run (or printed nothing) proves nothing.
    """
    if observed is None or observed.state != "up" or not coverage.runs(check):
        return False
    if port is None:
        return True
    listed = observed.port(port)
    if coverage.ports is not None:
        if port not in coverage.ports:
            return False
    elif listed is None:
        return False
    if listed is None or listed.state != "open":
        return True  # the port is no longer open: whatever was on it is gone
    needs = CHECK_NEEDS.get(check, ())
    if not needs:
        return True
    return any((n == "-sV" and listed.method == "probed") or n in listed.scripts for n in needs)
