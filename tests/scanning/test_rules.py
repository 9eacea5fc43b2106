"""The scan rules applied to XML that real nmap wrote (no network here).

* ``tieu-chuan-loopback.xml`` — the ``tieu-chuan`` profile (top 1000 ports, ``-sV --version-light``,
  ssl-cert, ssl-enum-ciphers, http-headers, http-security-headers, http-title, ssh2-enum-algos)
  against the services of ``tests/scanning/loopback.py`` as ``tests/test_scan.py`` lays them out:
  127.0.70.11:8443 TLS 1.0–1.3 with grade-F suites and an expired self-signed certificate;
  127.0.70.12:8443 TLS 1.2+ with a certificate for 127.0.70.99 expiring 10 days after the scan and
  :8080 redirecting to HTTPS with every security header; 127.0.70.13:8080 plain HTTP without
  security headers (``Server: Apache/2.4.29 (Ubuntu)``) and :5000 a one-line banner; 127.0.70.14:2323
  a telnet negotiation; 127.0.70.15 nothing listening.
* ``ssh-algos.xml`` and ``loopback-services.xml`` — see ``test_nmap_parse.py``.

Certificate dates are judged at the scan's own start time, so these results do not drift.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from secaudit.scanning import HostResult, PortResult, ScanResult, ScriptOutput, load_xml
from secaudit.scanning.rules import Coverage, HostView, ScanRule, evaluate, http_headers, nse_text, rechecked

RULES_FILE = Path(__file__).resolve().parents[2] / "checklists" / "_scan-rules.yaml"


@pytest.fixture(scope="module")
def rules() -> list[ScanRule]:
    from secaudit.scanning.profiles import load_rules

    return load_rules(RULES_FILE)


@pytest.fixture(scope="module")
def standard(scanner_data: Path) -> ScanResult:
    return load_xml(scanner_data / "tieu-chuan-loopback.xml")


def fired(rules: list[ScanRule], result: ScanResult, address: str, ports: set[int], *, public_web: bool = True,
          names: list[str] | None = None) -> dict[tuple[int | None, str], str]:
    host = result.host_map()[address]
    view = HostView("he-thong", address, ports, public_web, True, names or [])
    assert result.started is not None
    return {(o.port, o.rule.id): o.detail for o in evaluate(rules, view, host, as_of=result.started)}


def test_old_tls_service(rules, standard) -> None:
    found = fired(rules, standard, "127.0.70.11", {8443})
    assert {r for p, r in found if p == 8443} >= {"chung-thu-het-han", "chung-thu-tu-ky", "tls-phien-ban-cu",
                                                   "tls-bo-ma-yeu", "thieu-hsts", "thieu-csp",
                                                   "thieu-x-frame-options", "thieu-x-content-type-options"}
    assert found[(8443, "tls-phien-ban-cu")] == "TLSv1.0, TLSv1.1"
    assert "chung-thu-sai-ten" not in {r for _, r in found}
    assert "http-khong-chuyen-https" not in {r for _, r in found}  # HTTPS itself


def test_good_tls_service_and_redirect(rules, standard) -> None:
    found = fired(rules, standard, "127.0.70.12", {8443, 8080})
    assert set(found) == {(8443, "chung-thu-sap-het-han"), (8443, "chung-thu-tu-ky"), (8443, "chung-thu-sai-ten")}
    assert "127.0.70.99" in found[(8443, "chung-thu-sai-ten")]


def test_certificate_checked_against_a_declared_name(rules, standard) -> None:
    named = fired(rules, standard, "127.0.70.12", {8443, 8080}, names=["portal.example.vn"])
    assert (8443, "chung-thu-sai-ten") in named  # the certificate names an IP only


def test_plain_http_and_drift(rules, standard) -> None:
    found = fired(rules, standard, "127.0.70.13", {8080})
    assert set(found) == {(8080, "http-khong-chuyen-https"), (8080, "thieu-csp"), (8080, "thieu-x-frame-options"),
                          (8080, "thieu-x-content-type-options"), (8080, "lo-phien-ban"),
                          (5000, "cong-mo-ngoai-khai-bao")}
    internal = fired(rules, standard, "127.0.70.13", {8080, 5000}, public_web=False)
    assert set(internal) == {(8080, "http-khong-chuyen-https"), (8080, "lo-phien-ban")}


def test_telnet_and_declared_port_gone(rules, standard) -> None:
    assert set(fired(rules, standard, "127.0.70.14", {2323})) == {(2323, "dich-vu-rui-ro-cao")}
    assert fired(rules, standard, "127.0.70.15", {8080}) == {(8080, "dich-vu-khai-bao-khong-phan-hoi"):
                                                             "trạng thái: closed / state: closed"}


def test_details_keep_the_observed_value_in_each_language(rules, standard) -> None:
    # Readers keep one half of a "vi / en" detail; the date, header, address or state seen must be in both.
    from secaudit.requirements.results import one_language

    values = re.compile(r"\d[\d.:/-]*|[A-Z][A-Za-z-]{2,}|https?://\S+")
    details: list[str] = []
    for host in standard.hosts:
        if host.state == "up":
            view = HostView("he-thong", host.address, {8080, 5000}, True, False, ["other.example"])
            assert standard.started is not None
            details += [o.detail for o in evaluate(rules, view, host, as_of=standard.started)]
    paired = [d for d in details if " / " in d]
    for start in ("hết hạn ngày 20", "thiếu ", "cổng mở: "):  # a certificate, a header, an undeclared host
        assert any(d.startswith(start) for d in paired), start
    for detail in paired:
        vi, en = one_language(detail, "vi"), one_language(detail, "en")
        assert vi != en and " / " not in vi, detail
        assert values.findall(vi) == values.findall(en), detail


def test_weak_ssh_algorithms(rules, scanner_data: Path) -> None:
    result = load_xml(scanner_data / "ssh-algos.xml")
    (host,) = result.hosts
    found = fired(rules, result, host.address, {2222})
    assert found[(2222, "ssh-thuat-toan-yeu")] == "diffie-hellman-group1-sha1, ssh-dss, 3des-cbc, hmac-md5"


def test_hostile_banners_stay_data(rules, scanner_data: Path) -> None:
    result = load_xml(scanner_data / "loopback-services.xml")
    found = fired(rules, result, "127.0.7.1", {8443, 8080})
    assert found[(18025, "cong-mo-ngoai-khai-bao")].startswith("smtp")
    assert (8443, "tls-bo-ma-yeu") in found and (8443, "tls-phien-ban-cu") in found
    assert "lo-phien-ban" not in {r for p, r in found if p == 8080}  # "url(http://…/x)" is no version
    headers = http_headers(result.host_map()["127.0.7.1"].port(8080))  # type: ignore[arg-type]
    assert headers is not None and headers["x-hostile"] == "<script>alert(1)</script>"


def port(number: int, state: str = "open", scripts: tuple[str, ...] = (), method: str = "table") -> PortResult:
    return PortResult(number, "tcp", state, "", method=method, scripts={s: ScriptOutput(s, "x") for s in scripts})


def host(*ports: PortResult, state: str = "up") -> HostResult:
    return HostResult("127.0.70.1", "ipv4", [], state, "", False, list(ports))  # type: ignore[arg-type]


@pytest.mark.parametrize(("check", "finding_port", "coverage", "observed", "expected"), [
    ("undeclared_port", 80, Coverage(frozenset({80}), frozenset(), False), host(port(80, "closed")), True),
    ("undeclared_port", 80, Coverage(frozenset({22}), frozenset(), False), host(port(22)), False),
    ("undeclared_port", 80, Coverage(frozenset({80}), frozenset(), False), host(port(80), state="unknown"), False),
    ("undeclared_port", 80, Coverage(None, frozenset(), False), host(port(22)), False),
    ("tls_protocol", 443, Coverage(frozenset({443}), frozenset({"ssl-cert"}), False), host(port(443)), False),
    ("tls_protocol", 443, Coverage(frozenset({443}), frozenset({"ssl-enum-ciphers"}), False), host(port(443)),
     False),
    ("tls_protocol", 443, Coverage(frozenset({443}), frozenset({"ssl-enum-ciphers"}), False),
     host(port(443, scripts=("ssl-enum-ciphers",))), True),
    ("tls_protocol", 443, Coverage(frozenset({443}), frozenset({"ssl-enum-ciphers"}), False),
     host(port(443, "closed")), True),
    ("version_disclosed", 22, Coverage(frozenset({22}), frozenset(), True), host(port(22, method="probed")), True),
    ("version_disclosed", 22, Coverage(frozenset({22}), frozenset(), False), host(port(22, method="probed")), False),
    ("declared_port_missing", 8080, Coverage(frozenset({8080}), frozenset(), False), host(port(8080)), True),
    ("undeclared_host", None, Coverage(frozenset({1}), frozenset(), False), host(), True),
    ("undeclared_host", None, Coverage(frozenset({1}), frozenset(), False), None, False),
], ids=["port-closed", "port-not-scanned", "host-unknown", "import-port-absent", "script-not-run",
        "script-silent", "script-ran", "tls-port-closed", "sV-probed", "sV-not-run", "declared-now-open",
        "host-level", "host-missing"])
def test_rechecked(check: str, finding_port: int | None, coverage: Coverage, observed: HostResult | None,
                   expected: bool) -> None:
    assert rechecked(check, finding_port, coverage, observed) is expected


def test_coverage_round_trip() -> None:
    coverage = Coverage(frozenset({22, 80}), frozenset({"ssl-cert"}), True)
    assert Coverage.from_json(coverage.to_json()) == coverage
    assert Coverage.from_json(None) == Coverage(None, frozenset(), False)


def test_nse_text_decodes_escaped_utf8() -> None:
    assert nse_text("C\\xE1\\xBB\\x95ng th\\xC3\\xB4ng tin") == "Cổng thông tin"
    assert nse_text("plain") == "plain"


def test_rule_parameters_are_required() -> None:
    base = {"id": "x-y", "title": "t", "severity": "cao", "bears_on": ["a:b"]}
    for check in ("risky_service", "tls_protocol", "weak_cipher", "cert_expiring", "missing_header",
                  "weak_ssh_algorithm"):
        with pytest.raises(ValueError, match=r"tham số|parameter"):
            ScanRule.model_validate({**base, "check": check})
    with pytest.raises(ValueError, match="checklist:item"):
        ScanRule.model_validate({**base, "check": "undeclared_port", "bears_on": ["khong-co-hai-cham"]})
    assert ScanRule.model_validate({**base, "check": "cert_expiring", "days": 14}).days == 14


def test_expiry_judged_at_scan_time(rules, standard) -> None:
    later = standard.host_map()["127.0.70.12"]
    view = HostView("s", "127.0.70.12", {8443, 8080}, True)
    assert standard.started is not None
    far = {o.rule.id for o in evaluate(rules, view, later, as_of=standard.started + dt.timedelta(days=60))}
    assert "chung-thu-het-han" in far and "chung-thu-sap-het-han" not in far
