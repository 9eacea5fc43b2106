"""The checks behind the scan rules: what each kind of rule reads in nmap's output on one open port.

:mod:`secaudit.scanning.rules` holds the rules (validated data) and runs them; this module knows how
to read nmap's structured NSE output for each ``check:`` — TLS versions and cipher grades
(``ssl-enum-ciphers``), the certificate (``ssl-cert``), HTTP headers and redirects (``http-headers``,
``http-security-headers``, ``http-title``), version banners (``-sV`` or the ``Server`` header) and SSH
algorithms (``ssh2-enum-algos``) — and returns the detail text of a finding, or nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from secaudit.scanning.nmap_model import PortResult
    from secaudit.scanning.rule_models import HostView, ScanRule

__all__ = ["GRADES", "NEEDS_A_SCRIPT", "both", "check_port", "http_headers", "nse_text"]

GRADES = "ABCDEF"  # ssl-enum-ciphers strength grades, best first


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


def both(vi: str, en: str, value: str) -> str:
    """A detail in the evaluator's "vi / en" form with the observed value in both halves (cut to fit).

    Readers keep one half (:func:`secaudit.requirements.results.one_language`); the value must not be
    lost with the other.
    """
    value = value[:140]
    return f"{vi} {value} / {en} {value}"


# -- the checks --------------------------------------------------------------------------------
#: Scripts at least one of which must have run on a port for a check to be able to fire there.
_WEB = ("http-headers", "http-title", "http-security-headers")  # what makes a port web (see _is_web)
NEEDS_A_SCRIPT: dict[str, frozenset[str]] = {check: frozenset(scripts) for check, scripts in {
    **dict.fromkeys(("tls_protocol", "weak_cipher"), ("ssl-enum-ciphers",)), "weak_ssh_algorithm": ("ssh2-enum-algos",),
    **dict.fromkeys(("cert_expired", "cert_expiring", "cert_self_signed", "cert_name_mismatch"), ("ssl-cert",)),
    "http_no_https_redirect": _WEB, "missing_header": _WEB}.items()}


def check_port(rule: ScanRule, host: HostView, port: PortResult, as_of: dt.datetime,
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
            weak.append(f"hạng thấp nhất {least} / least strength {least}")
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
            if not_after and not_after < as_of:
                return both("hết hạn ngày", "expired on", f"{not_after:%Y-%m-%d}")
            return None
        if check == "cert_expiring":
            if not_after and as_of <= not_after <= as_of + dt.timedelta(days=rule.days or 30):
                return both("hết hạn ngày", "expires on", f"{not_after:%Y-%m-%d}")
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
        return None if ok else both("chứng thư cấp cho:", "certificate for:", ", ".join(dns + ips) or "?")
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
        return both("chuyển hướng tới", "redirects to", redirect) if redirect else "không chuyển hướng / no redirect"
    if check == "missing_header":
        if not _is_web(port) or (rule.https_only and not _is_tls(port)):
            return None
        present = _headers_of(port, parsed)
        if present is None:
            return None
        if not _is_tls(port) and present.get("location", "").lower().startswith("https://"):
            return None  # a plain-HTTP answer that only sends the browser to HTTPS carries no page
        return None if (rule.header or "").lower() in present else both("thiếu", "missing", rule.header or "")
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
