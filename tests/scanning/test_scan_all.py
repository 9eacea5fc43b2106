"""``secaudit scan --all`` / ``--agency A --agency B``: one planned pass, the same results as separate scans.

Real nmap against the example province's loopback services (127.0.0.0/8 only), through the CLI:

* a province pass gives every agency the same hosts, ports and findings as its own ``scan AGENCY``,
  in fewer nmap processes than agencies, and each agency's evidence XML holds only its own hosts
  (the whole XML is kept and named in the audit log);
* the scope rules are those of ``scan AGENCY``: nothing runs for an unknown agency or a refused
  combination of options;
* SIGTERM keeps the hosts that were finished (exit 130, rows ``interrupted``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from secaudit.scanning.nmap_xml import parse_xml
from secaudit.scanning.province import host_spans, split_xml
from secaudit.store.workspace import Workspace

from conftest import ROOT

pytestmark = pytest.mark.usefixtures("nmap_path")

AGENCIES = ["cong-an-tinh", "phuong-thanh-vinh", "so-khcn", "so-y-te", "vp-ubnd-tinh"]
DATA = Path(__file__).resolve().parent / "data"


def _results(ws: Workspace, scan_ids: list[int]) -> dict[str, dict[str, Any]]:
    """Per agency: the hosts, ports and findings its scans recorded (without ids and times)."""
    marks = ",".join("?" * len(scan_ids))
    out: dict[str, dict[str, Any]] = {}
    for agency, status, system in ws.db.execute(
            f"select agency, status, system from scans where id in ({marks})", scan_ids):
        one = out.setdefault(agency, {"status": set(), "systems": set(), "hosts": set(), "ports": set(),
                                      "findings": set()})
        one["status"].add(status)
        one["systems"].add(system)
    for agency, system, address, declared, state, reason in ws.db.execute(
            "select s.agency, h.system, h.address, h.declared, h.state, h.reason from scan_hosts h"
            f" join scans s on s.id = h.scan_id where s.id in ({marks})", scan_ids):
        out[agency]["hosts"].add((system, address, declared, state, reason))
    for agency, address, port, state, service, scripts in ws.db.execute(
            "select s.agency, h.address, p.port, p.state, p.service, p.scripts from scan_ports p"
            " join scan_hosts h on h.id = p.scan_host_id join scans s on s.id = h.scan_id"
            f" where s.id in ({marks})", scan_ids):
        script_names = tuple(sorted(json.loads(scripts or "{}")))
        out[agency]["ports"].add((address, port, state, service, script_names))
    for row in ws.db.execute(
            "select agency, system, address, port, rule, severity, bears_on, detail from findings"
            f" where scan_id in ({marks})", scan_ids):
        out[row[0]]["findings"].add(tuple(row[1:]))
    return out


def test_province_pass_gives_each_agency_the_results_of_its_own_scan(
        cli, example_services: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    assert cli("init").code == 0
    assert cli("inventory", "import", str(ROOT / "examples" / "inventory")).code == 0
    province = cli("scan", "--all")
    assert province.code == 0, province.err
    for agency in AGENCIES:  # one progress line per agency as its hosts are scanned
        assert f"] {agency}: đã quét" in province.err
    ws = Workspace.open(tmp_path / "ws")
    try:
        pass_ids = [r[0] for r in ws.db.execute("select id from scans order by id")]
        batches = {r[0] for r in ws.db.execute("select batch from scans")}
        shared = [json.loads(r[0]) for r in ws.db.execute("select detail from log where action = 'scan.province'")]
    finally:
        ws.close()
    alone_runs = len(pass_ids) - sum(len(entry["scans"]) for entry in shared)
    assert len(batches) == 1 and len(shared) + alone_runs < len(AGENCIES)  # one pass, fewer processes than agencies
    for agency in AGENCIES:
        alone = cli("scan", agency)
        assert alone.code == 0, alone.err
    ws = Workspace.open(tmp_path / "ws")
    try:
        separate_ids = [r[0] for r in ws.db.execute("select id from scans where id > ? order by id", [pass_ids[-1]])]
        together, apart = _results(ws, pass_ids), _results(ws, separate_ids)
        assert sorted(together) == sorted(apart) == AGENCIES
        for agency in AGENCIES:
            assert together[agency] == apart[agency], agency
        assert sum(len(r["findings"]) for r in together.values()) > 0
        assert any(port == 6379 for _, port, *_ in together["so-khcn"]["ports"])  # the undeclared Redis

        declared: dict[str, set[str]] = {}
        for agency, address in ws.db.execute("select s.agency, h.address from hosts h"
                                              " join systems s on s.id = h.system_id"):
            declared.setdefault(agency, set()).add(address.split("://")[-1].split(":")[0].split("/")[0])
        for agency, sha, argv in ws.db.execute(f"select agency, xml_sha256, argv from scans where id in "
                                               f"({','.join('?' * len(pass_ids))})", pass_ids):
            result = parse_xml(ws.read_blob(sha))
            assert result.complete
            assert {h.address for h in result.hosts} <= declared[agency], agency  # its own hosts only
            # its command line and the XML's args name its own targets, never another agency's
            command = json.loads(argv)
            targets = command[command.index("--") + 1:]
            assert {t.split("/")[0] for t in targets} <= declared[agency], (agency, targets)
            assert result.args == " ".join(command), agency
        whole = [json.loads(r[0]) for r in ws.db.execute("select detail from log where action = 'scan.province'")]
        assert whole  # some process scanned several agencies; its whole XML is kept
        for entry in whole:
            assert entry["argv"][0].endswith("nmap") and "--" in entry["argv"]  # the command that really ran
            addresses = {h.address for h in parse_xml(ws.read_blob(entry["xml_sha256"])).hosts}
            owners = set(entry["scans"])
            assert len(owners) > 1 and addresses == set().union(*(declared[a] for a in owners))
    finally:
        ws.close()


def test_refusals_come_before_any_scan(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    assert cli("init").code == 0
    assert cli("inventory", "import", str(ROOT / "examples" / "inventory")).code == 0
    scope = tmp_path / "scope.yaml"
    scope.write_text("authorised_by: x\nvalid_until: 2026-12-31\ntargets: [127.0.99.1]\n", encoding="utf-8")
    assert cli("scan").code == 2
    assert cli("scan", "--all", "--scope", str(scope)).code == 2
    assert cli("scan", "--all", "--system", "lgsp-tinh").code == 2
    assert cli("scan", "so-khcn", "--all").code == 2
    unknown = cli("scan", "--agency", "so-khcn", "--agency", "khong-co")
    assert unknown.code != 0 and "khong-co" in unknown.err and "Traceback" not in unknown.err
    ws = Workspace.open(tmp_path / "ws")
    try:
        assert ws.db.execute("select count(*) from scans").fetchone()[0] == 0
    finally:
        ws.close()


def test_split_keeps_each_owners_host_elements_byte_for_byte() -> None:
    xml = (DATA / "tieu-chuan-loopback.xml").read_bytes()
    spans, _ = host_spans(xml)
    assert len(spans) == 5
    owner = {b"127.0.70.11": "a", b"127.0.70.12": "a", b"127.0.70.13": "b"}

    def owners(element: bytes) -> list[str]:
        return [o for address, o in owner.items() if b'addr="' + address + b'"' in element]

    parts = split_xml(xml, owners)
    assert sorted(parts) == ["a", "b"]
    for key, addresses in (("a", {"127.0.70.11", "127.0.70.12"}), ("b", {"127.0.70.13"})):
        result = parse_xml(parts[key])
        assert result.complete and {h.address for h in result.hosts} == addresses
        assert parts[key].startswith(xml[:spans[0][0]]) and parts[key].endswith(xml[spans[-1][1]:])
        for start, end in spans:
            element = xml[start:end]
            assert (element in parts[key]) == bool(owners(element) == [key])
    cut = xml[:spans[2][0] + 40]  # nmap stopped while writing the third host
    assert len(host_spans(cut)[0]) == 2
    assert {h.address for h in parse_xml(split_xml(cut, owners)["a"]).hosts} == {"127.0.70.11", "127.0.70.12"}


def test_sigterm_keeps_the_hosts_already_scanned(tmp_path: Path, loopback_ip: Any, tcp_service: Any) -> None:
    first, second = loopback_ip(), loopback_ip()
    fast, slow = tcp_service(first), tcp_service(second)
    env = dict(os.environ, SECAUDIT_WORKSPACE=str(tmp_path / "ws"), SECAUDIT_ACTOR="pytest",
               SECAUDIT_NOW="2026-11-22T09:00:00+07:00",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "secaudit", *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    assert run("init").returncode == 0
    for code, service in (("co-quan-mot", fast), ("co-quan-hai", slow)):
        inv = tmp_path / f"{code}.yaml"
        inv.write_text(f"code: {code}\nname: Cơ quan thử {code}\nkind: so-ban-nganh\nsystems:\n"
                       f"  - {{code: may, name: Máy, hosts: [{{address: {service.address},"
                       f" ports: [{{port: {service.port}}}]}}]}}\n", encoding="utf-8")
        assert run("inventory", "import", str(inv)).returncode == 0
    ports = f"{fast.port},{slow.port},41000-41019"  # 22 ports, one probe every 300 ms: ~7 s per host
    profile = tmp_path / "cham.yaml"
    profile.write_text(json.dumps({"id": "cham", "title": "Hồ sơ thử chậm", "scan": {
        "ports": ports, "options": ["--scan-delay=300ms", "--max-retries=0", "--max-hostgroup=1"]}}),
        encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "secaudit", "scan", "--all", "--profile", str(profile)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and "đã quét" not in line:  # the first agency's host is in
        line = proc.stderr.readline()
        assert line or proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    with sqlite3.connect(tmp_path / "ws" / "secaudit.db") as conn:
        rows = conn.execute("select s.agency, s.status, h.state from scans s join scan_hosts h on h.scan_id = s.id"
                            " order by s.agency").fetchall()
    done = "co-quan-hai" if line.split("]")[1].strip().startswith("co-quan-hai") else "co-quan-mot"
    states = {agency: state for agency, _, state in rows}
    assert {status for _, status, _ in rows} == {"interrupted"}
    assert states[done] == "up"  # finished before the stop: kept
    assert states[next(a for a in states if a != done)] == "unknown"


def test_a_host_goes_to_every_agency_that_declared_it_by_address_or_range() -> None:
    from secaudit.inventory.targets import parse_target
    from secaudit.scanning.plan import DeclaredHost
    from secaudit.scanning.province import _Owners

    def declared(address: str) -> DeclaredHost:
        return DeclaredHost("he-thong", address, parse_target(address), set(), False)

    xml = (DATA / "tieu-chuan-loopback.xml").read_bytes()
    owners = _Owners([("range", declared("127.0.70.12/31")), ("one", declared("127.0.70.13")),
                      ("other", declared("127.0.70.99"))])
    parts = split_xml(xml, owners.of)
    assert {h.address for h in parse_xml(parts["range"]).hosts} == {"127.0.70.12", "127.0.70.13"}
    assert {h.address for h in parse_xml(parts["one"]).hosts} == {"127.0.70.13"}
    assert "other" not in parts  # nothing of it in the file: recorded from the header and trailer alone
