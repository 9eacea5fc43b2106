"""Rules as data turned into findings: what nmap observed on one host, tied to requirements.

The rules live in ``checklists/_scan-rules.yaml`` and are validated by
:mod:`secaudit.scanning.rule_models`; :mod:`secaudit.scanning.checks` knows how to read nmap's
output for each *kind* of check (``check:``); this module runs the host-wide checks (undeclared
ports and hosts, declared ports gone) and each port check on every open port.

It also answers the question that keeps findings honest over time: *could this scan have seen
that finding again?* A quick scan without TLS scripts cannot prove that an old TLS problem is
fixed, so :func:`rechecked` says which earlier findings a scan really looked at again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from secaudit.scanning.checks import NEEDS_A_SCRIPT, both, check_port, http_headers, nse_text
from secaudit.scanning.rule_models import (
    CHECK_NEEDS,
    Coverage,
    DeclaredService,
    HostView,
    Observation,
    ScanRule,
    ScanRules,
)

if TYPE_CHECKING:  # annotations only: planning a scan loads rules, the XML reader loads while nmap runs
    from secaudit.scanning.nmap_xml import HostResult

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
    "nse_text",
    "rechecked",
]


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
                                         both("cổng mở:", "open:", ", ".join(str(p) for p in sorted(open_ports)))))
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
                found.append(Observation(rule, host.address, number, both("trạng thái:", "state:", state)))
            continue
        needs = NEEDS_A_SCRIPT.get(rule.check)
        for number, port in in_order:
            if needs is not None and needs.isdisjoint(port.scripts):
                continue  # the check reads a script that did not run here: it cannot fire
            detail = check_port(rule, host, port, as_of, parsed)
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
