"""The scan service end to end: real nmap against real loopback services on 127.0.70.x.

What is pinned down here:

* a scan with the ``tieu-chuan`` profile finds, with the requirement each bears on: an HTTPS
  service with an expired self-signed certificate offering TLS 1.0 and grade-F ciphers, an HTTPS
  service whose certificate expires within 30 days and names another address, an HTTP app without
  security headers and with a version banner, a telnet service, an undeclared open port, a declared
  port with nothing listening — and none of that on the well-configured controls;
* a host made unreachable (blackholed inside a network namespace, where the services and nmap then
  run) is *unknown*, never up (skipped with the reason where namespaces are unavailable);
* findings over time: new, still open, fixed only when a later scan looked again, reopened;
  ``scan diff`` and ``findings --status``;
* scope files, range widths, hostile targets and profile options are refused before nmap starts;
* ``scan import`` applies the same checks and refuses files covering undeclared hosts;
* Ctrl-C (a real SIGINT to a ``secaudit scan`` process) keeps what finished and marks the rest.

Services run in a child process (``tests/scanning/loopback.py``) so that they can run inside the
namespace too. This module owns 127.0.70.0/24.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from secaudit import clock
from secaudit.errors import InputError, InvalidTargetError, NotFoundError, OutOfScopeError, ScanError, ValidationError
from secaudit.inventory import records as inventory
from secaudit.reporting.assessment import evaluate_agency
from secaudit.requirements.content import Library
from secaudit.requirements.results import Status
from secaudit.scanning import parse_target, parse_xml
from secaudit.scanning.batch import ScanBatch, ScanProgress, scan_agency
from secaudit.scanning.history import diff_scans, list_findings
from secaudit.scanning.importer import import_scan
from secaudit.scanning.plan import DeclaredHost, _plan
from secaudit.scanning.profiles import load_rules, load_scan_profile
from secaudit.store.workspace import Workspace

from conftest import ROOT

LOOPBACK_SCRIPT = ROOT / "tests" / "scanning" / "loopback.py"
NMAP = shutil.which("nmap")
needs_nmap = pytest.mark.skipif(NMAP is None, reason="nmap is not installed (apt-get install nmap)")
KH04 = "kh04-bcdtw:t1-lo-hong"
KH92 = "kh92a-ubnd-nghe-an:ii12-danh-gia-csdl"


@functools.cache
def RULES() -> list[Any]:  # noqa: N802 - reads like the constant it is
    return load_rules()

# -- the scenario --------------------------------------------------------------------------------------
OLD_TLS, GOOD_TLS, PLAIN_HTTP, TELNET, NOTHING, DEAD = (f"127.0.70.{n}" for n in (11, 12, 13, 14, 15, 16))
SPECS = [
    {"kind": "https-old", "address": OLD_TLS, "port": 8443},
    {"kind": "https-good", "address": GOOD_TLS, "port": 8443, "cert_ip": "127.0.70.99"},
    {"kind": "http-redirect", "address": GOOD_TLS, "port": 8080},
    {"kind": "http-plain", "address": PLAIN_HTTP, "port": 8080},
    {"kind": "banner", "address": PLAIN_HTTP, "port": 5000, "banner": "secaudit undeclared\r\n"},
    {"kind": "telnet", "address": TELNET, "port": 2323},
]
INVENTORY = f"""\
code: co-quan-thu
name: Cơ quan thử nghiệm quét
kind: so-ban-nganh
systems:
  - code: cong-web
    name: Cổng thông tin thử nghiệm
    critical: true
    hosts:
      - address: {OLD_TLS}
        public_web: true
        ports: [{{port: 8443}}]
      - address: {PLAIN_HTTP}
        public_web: true
        ports: [{{port: 8080}}]
  - code: dich-vu-cong
    name: Dịch vụ công thử nghiệm
    hosts:
      - address: {GOOD_TLS}
        public_web: true
        ports: [{{port: 8443}}, {{port: 8080}}]
  - code: quan-tri
    name: Máy quản trị thử nghiệm
    critical: true
    hosts:
      - address: {TELNET}
        ports: [{{port: 2323}}]
  - code: du-phong
    name: Máy dự phòng thử nghiệm
    hosts:
      - address: {NOTHING}
        ports: [{{port: 8080}}]
      - address: {DEAD}
        ports: [{{port: 8080}}]
"""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)


def make_netns() -> tuple[str | None, str]:
    """A fresh namespace with lo up, or (None, why not)."""
    if os.geteuid() != 0:
        return None, "needs root to create a network namespace"
    if shutil.which("ip") is None:
        return None, "the 'ip' command (iproute2) is not installed"
    name = f"secaudit-s-{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        return None, f"ip netns is unavailable here: {made.stderr.strip()}"
    up = _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
    if up.returncode != 0:
        _ip("netns", "del", name)
        return None, f"cannot bring lo up in a namespace: {up.stderr.strip()}"
    return name, ""


class Services:
    """The loopback services process (in the namespace when one is given)."""

    def __init__(self, specs: list[dict[str, Any]], workdir: Path, netns: str | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        spec, self.ready = workdir / "spec.json", workdir / "ready.json"
        # certificate validity follows this process's clock, which CI may move
        spec.write_text(json.dumps([{**s, "now": clock.now().isoformat()} for s in specs]))
        prefix = ["ip", "netns", "exec", netns] if netns else []
        self.proc = subprocess.Popen([*prefix, sys.executable, str(LOOPBACK_SCRIPT), "--spec", str(spec),
                                      "--ready", str(self.ready)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.stop()
                raise RuntimeError(f"loopback services did not start: {err[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def import_inventory(ws: Workspace, text: str, tmp: Path, name: str = "co-quan-thu.yaml") -> None:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    inventory.import_agencies(ws, inventory.load_agencies([path]), actor="pytest", source=str(path))


@dataclass
class Scenario:
    ws: Workspace
    batch: ScanBatch
    netns: str | None
    why_no_netns: str
    findings: list[dict[str, Any]]

    def rules_at(self, address: str, port: int | None = None) -> set[str]:
        return {f["rule"] for f in self.findings if f["address"] == address and (port is None or f["port"] == port)}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    if NMAP is None:
        pytest.skip("nmap is not installed (apt-get install nmap)")
    tmp = tmp_path_factory.mktemp("scenario")
    netns, why = make_netns()
    services = None
    ws = Workspace.create(tmp / "ws")
    try:
        if netns:
            done = _ip("netns", "exec", netns, "ip", "route", "add", "blackhole", DEAD, "table", "local")
            assert done.returncode == 0, done.stderr
        services = Services(SPECS, tmp / "services", netns)
        import_inventory(ws, INVENTORY, tmp)
        binary: str | list[str] = ["ip", "netns", "exec", netns, NMAP] if netns else NMAP
        batch = scan_agency(ws, "co-quan-thu", profile_id="tieu-chuan", actor="pytest", nmap_binary=binary,
                                 command={"command": "pytest"})
        findings = list(ws.db.query("select * from findings where scan_id = ? order by id", [batch.scan_id]))
        yield Scenario(ws, batch, netns, why, findings)
    finally:
        if services is not None:
            services.stop()
        ws.close()
        if netns:
            _ip("netns", "del", netns)


EXPECTED = [
    # (address, port, rule)
    (OLD_TLS, 8443, "chung-thu-het-han"),
    (OLD_TLS, 8443, "chung-thu-tu-ky"),
    (OLD_TLS, 8443, "tls-phien-ban-cu"),
    (OLD_TLS, 8443, "tls-bo-ma-yeu"),
    (OLD_TLS, 8443, "thieu-hsts"),
    (OLD_TLS, 8443, "thieu-csp"),
    (GOOD_TLS, 8443, "chung-thu-sap-het-han"),
    (GOOD_TLS, 8443, "chung-thu-sai-ten"),
    (PLAIN_HTTP, 8080, "http-khong-chuyen-https"),
    (PLAIN_HTTP, 8080, "thieu-csp"),
    (PLAIN_HTTP, 8080, "thieu-x-frame-options"),
    (PLAIN_HTTP, 8080, "thieu-x-content-type-options"),
    (PLAIN_HTTP, 8080, "lo-phien-ban"),
    (PLAIN_HTTP, 5000, "cong-mo-ngoai-khai-bao"),
    (TELNET, 2323, "dich-vu-rui-ro-cao"),
    (NOTHING, 8080, "dich-vu-khai-bao-khong-phan-hoi"),
]


@pytest.mark.parametrize(("address", "port", "rule"), EXPECTED, ids=[f"{r}@{a}:{p}" for a, p, r in EXPECTED])
def test_expected_finding_with_its_requirements(scenario: Scenario, address: str, port: int, rule: str) -> None:
    rows = [f for f in scenario.findings if (f["address"], f["port"], f["rule"]) == (address, port, rule)]
    assert rows, f"{rule} not found at {address}:{port}; found {sorted(scenario.rules_at(address))}"
    wanted = next(r for r in RULES() if r.id == rule).bears_on
    assert len(rows) == 1  # one row per problem, naming every requirement it bears on, in the rule's order
    assert rows[0]["bears_on"].split(",") == wanted and rows[0]["checklist"] is None
    assert KH04 in wanted
    assert all(f["severity"] and f["title"] and f["fkey"] and f["track_id"] for f in rows)


def test_findings_details_say_what_was_seen(scenario: Scenario) -> None:
    detail = {(f["address"], f["port"], f["rule"]): f["detail"] for f in scenario.findings}
    assert "TLSv1.0" in detail[(OLD_TLS, 8443, "tls-phien-ban-cu")]
    assert "(F)" in detail[(OLD_TLS, 8443, "tls-bo-ma-yeu")]
    assert "127.0.70.99" in detail[(GOOD_TLS, 8443, "chung-thu-sai-ten")]
    assert "Apache/2.4.29" in detail[(PLAIN_HTTP, 8080, "lo-phien-ban")]
    assert "telnet" in detail[(TELNET, 2323, "dich-vu-rui-ro-cao")]


def test_well_configured_controls_raise_nothing(scenario: Scenario) -> None:
    good = scenario.rules_at(GOOD_TLS)
    for rule in ("tls-phien-ban-cu", "tls-bo-ma-yeu", "chung-thu-het-han", "thieu-hsts", "thieu-csp",
                 "thieu-x-frame-options", "http-khong-chuyen-https", "cong-mo-ngoai-khai-bao"):
        assert rule not in good, f"{rule} raised on the well-configured host"
    assert "chung-thu-sai-ten" not in scenario.rules_at(OLD_TLS, 8443)  # its certificate names its own IP
    assert "chung-thu-sap-het-han" not in scenario.rules_at(OLD_TLS, 8443)  # expired, not "expiring"
    assert "cong-mo-ngoai-khai-bao" not in scenario.rules_at(PLAIN_HTTP, 8080)


def test_host_states(scenario: Scenario) -> None:
    states = {r["address"]: r for r in scenario.ws.db.query(
        "select address, state, reason from scan_hosts where scan_id = ?", [scenario.batch.scan_id])}
    for address in (OLD_TLS, GOOD_TLS, PLAIN_HTTP, TELNET):
        assert states[address]["state"] == "up"
    assert states[NOTHING]["state"] == "up"  # the kernel's RST proves the host; the service is what is gone


def test_dead_host_is_unknown_never_up(scenario: Scenario) -> None:
    if scenario.netns is None:
        pytest.skip(f"no network namespace, so no unreachable host: {scenario.why_no_netns}")
    row = scenario.ws.db.execute("select state, reason from scan_hosts where scan_id = ? and address = ?",
                                 [scenario.batch.scan_id, DEAD]).fetchone()
    assert row[0] == "unknown" and row[1]
    assert not scenario.rules_at(DEAD)  # nothing claimed about a host nobody heard from
    lib = Library()
    result = evaluate_agency(scenario.ws, lib, "co-quan-thu", as_of=clock.today(),
                             profile=lib.resolve_profile("tu-danh-gia"))
    row = next(r for r in result.system_results if r.system == "du-phong" and r.item == "t1-lo-hong")
    assert any(DEAD in reason for reason in row.reasons)


def test_scan_row_records_provenance(scenario: Scenario) -> None:
    ws = scenario.ws
    row = next(iter(ws.db.query("select * from scans where id = ?", [scenario.batch.scan_id])))
    argv = json.loads(row["argv"])
    assert NMAP in argv and argv[argv.index(NMAP) + 1] == "-sT" and "--" in argv
    assert "-sV" in argv and any(a.startswith("--script=") and "ssl-enum-ciphers" in a for a in argv)
    assert row["nmap_version"] and row["operator"] == "pytest" and row["source"] == "nmap"
    assert row["started"] <= row["finished"] and row["status"] == "complete"
    assert row["fresh_until"] == (dt.date.fromisoformat(row["started"][:10]) + dt.timedelta(days=30)).isoformat()
    assert json.loads(row["command"]) == {"command": "pytest"}
    coverage = json.loads(row["coverage"])
    assert coverage["service_detection"] and "ssl-cert" in coverage["scripts"] and len(coverage["ports"]) >= 1000
    xml = ws.read_blob(row["xml_sha256"])
    assert parse_xml(xml).complete
    log = [r["action"] for r in ws.db.query("select action from log order by seq")]
    assert "scan.start" in log and "scan.run" in log


def test_evaluation_uses_the_latest_scan(scenario: Scenario) -> None:
    lib = Library()
    result = evaluate_agency(scenario.ws, lib, "co-quan-thu", as_of=clock.today(),
                             profile=lib.resolve_profile("tu-danh-gia"))
    by_system = {r.system: r for r in result.system_results if r.item == "t1-lo-hong"}
    assert by_system["cong-web"].status is Status.FAIL
    assert by_system["cong-web"].findings
    assert by_system["quan-tri"].status is Status.FAIL


def test_findings_tracked_as_new(scenario: Scenario) -> None:
    rows = list_findings(scenario.ws, agency="co-quan-thu", status="new")
    keys = {(r["address"], r["port"], r["rule"]) for r in rows}
    assert set(EXPECTED) <= keys
    assert all(r["first_seen"] == r["last_seen"] and r["resolved_at"] is None for r in rows)


# -- lifecycle with in-process listeners --------------------------------------------------------------
class Listener:
    """A TCP listener on a loopback address that can be closed and reopened on the same port."""

    def __init__(self, address: str, port: int = 0) -> None:
        self.address = address
        self.sock: socket.socket | None = None
        self.port = port
        self.open()

    def open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, self.port))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self.sock = sock
        threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(); close alone does not
            self.sock.close()
            self.sock = None


def write_profile(tmp: Path, ports: str, options: list[str] | None = None, name: str = "thu") -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(json.dumps({"id": name, "title": "Hồ sơ thử", "scan": {
        "ports": ports, "options": options or ["--max-retries=1", "--host-timeout=30s"]}}), encoding="utf-8")
    return path


@pytest.fixture
def lifecycle(ws: Workspace, tmp_path: Path) -> Iterator[tuple[Workspace, Listener, Listener, Path]]:
    declared, extra = Listener("127.0.70.21"), Listener("127.0.70.21")
    import_inventory(ws, f"""\
code: co-quan-vong-doi
name: Cơ quan thử vòng đời phát hiện
kind: so-ban-nganh
systems:
  - code: he-thong
    name: Hệ thống thử
    hosts:
      - address: 127.0.70.21
        ports: [{{port: {declared.port}}}]
""", tmp_path, "vong-doi.yaml")
    try:
        yield ws, declared, extra, write_profile(tmp_path, f"{declared.port},{extra.port}")
    finally:
        declared.close()
        extra.close()


@needs_nmap
def test_finding_lifecycle_new_fixed_reopened(lifecycle, tmp_path: Path) -> None:
    ws, _declared, extra, profile = lifecycle
    first = scan_agency(ws, "co-quan-vong-doi", profile_id=str(profile), actor="pytest").scan_id
    (track,) = list_findings(ws, agency="co-quan-vong-doi", status="open")
    assert (track["rule"], track["port"], track["status"]) == ("cong-mo-ngoai-khai-bao", extra.port, "open")
    assert [r["id"] for r in list_findings(ws, status="new")] == [track["id"]]

    second = scan_agency(ws, "co-quan-vong-doi", profile_id=str(profile), actor="pytest").scan_id
    (still,) = list_findings(ws, agency="co-quan-vong-doi")
    assert still["first_scan"] == first and still["last_scan"] == second and still["id"] == track["id"]
    assert list_findings(ws, status="new") == []

    extra.close()
    third = scan_agency(ws, "co-quan-vong-doi", profile_id=str(profile), actor="pytest").scan_id
    assert list_findings(ws, status="open") == []
    (fixed,) = list_findings(ws, status="resolved")
    assert fixed["resolved_scan"] == third and fixed["resolved_at"]
    diff = diff_scans(ws, second, third)
    assert [(d["change"], d["port"]) for d in diff if d["change"] in ("fixed", "port-closed")] == [
        ("fixed", extra.port), ("port-closed", extra.port)]

    extra.open()
    scan_agency(ws, "co-quan-vong-doi", profile_id=str(profile), actor="pytest")
    (again,) = list_findings(ws, status="open")
    assert again["id"] == track["id"] and again["reopened"] == 1 and again["first_scan"] == first


@needs_nmap
def test_a_scan_that_did_not_look_again_resolves_nothing(lifecycle, tmp_path: Path) -> None:
    ws, declared, extra, profile = lifecycle
    first = scan_agency(ws, "co-quan-vong-doi", profile_id=str(profile), actor="pytest").scan_id
    extra.close()
    narrow = write_profile(tmp_path, str(declared.port), name="hep")  # does not scan the extra port
    second = scan_agency(ws, "co-quan-vong-doi", profile_id=str(narrow), actor="pytest").scan_id
    assert [r["rule"] for r in list_findings(ws, status="open")] == ["cong-mo-ngoai-khai-bao"]
    diff = diff_scans(ws, first, second)
    assert [d["change"] for d in diff if d["rule"]] == ["not-rechecked"]
    assert not [d for d in diff if d["change"] == "port-closed"]  # B never looked at that port


def test_diff_refuses_unknown_or_foreign_scans(example_ws: Workspace) -> None:
    with pytest.raises(NotFoundError):
        diff_scans(example_ws, 1, 2)


# -- jobs, progress, IPv6 --------------------------------------------------------------------------
def test_plan_splits_families_and_systems() -> None:
    def host(system: str, address: str) -> DeclaredHost:
        return DeclaredHost(system, address, parse_target(address), {80}, False)

    hosts = [host("a", "127.0.70.1"), host("a", "127.0.70.2"), host("a", "::1"), host("b", "127.0.70.3")]
    one = _plan(hosts, 1)
    assert sorted(len(g) for g in one) == [1, 3]  # IPv6 never shares a process with IPv4
    many = _plan(hosts, 4)
    assert sorted((g[0].system, len(g)) for g in many) == [("a", 1), ("a", 2), ("b", 1)]


@needs_nmap
def test_jobs_run_one_scan_per_system(ws: Workspace, tmp_path: Path) -> None:
    a, b = Listener("127.0.70.31"), Listener("127.0.70.32")
    try:
        import_inventory(ws, f"""\
code: co-quan-song-song
name: Cơ quan thử song song
kind: so-ban-nganh
systems:
  - {{code: mot, name: Một, hosts: [{{address: 127.0.70.31, ports: [{{port: {a.port}}}]}}]}}
  - {{code: hai, name: Hai, hosts: [{{address: 127.0.70.32, ports: [{{port: {b.port}}}]}}]}}
""", tmp_path, "song-song.yaml")
        seen: list[ScanProgress] = []
        batch = scan_agency(ws, "co-quan-song-song", profile_id=str(write_profile(tmp_path, "1")),
                                 actor="pytest", jobs=2, progress=seen.append)
    finally:
        a.close()
        b.close()
    assert batch.status == "complete" and len(batch.scans) == 2
    assert {s.system for s in batch.scans} == {"mot", "hai"}
    rows = list(ws.db.query("select system, batch, argv from scans order by id"))
    assert len({r["batch"] for r in rows}) == 1 and all("--stats-every=2s" in json.loads(r["argv"]) for r in rows)
    assert seen and seen[-1].hosts_done == seen[-1].hosts_total == 2 and seen[-1].groups_done == 2


@needs_nmap
def test_ipv6_and_ipv4_hosts_go_to_separate_processes(ws: Workspace, tmp_path: Path) -> None:
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    import_inventory(ws, """\
code: co-quan-ipv6
name: Cơ quan thử IPv6
kind: so-ban-nganh
systems:
  - {code: hai-ho, name: Hai họ địa chỉ, hosts: [{address: "::1"}, {address: 127.0.70.41}]}
""", tmp_path, "ipv6.yaml")
    batch = scan_agency(ws, "co-quan-ipv6", profile_id=str(write_profile(tmp_path, "9")), actor="pytest")
    argvs = [json.loads(r["argv"]) for r in ws.db.query("select argv from scans order by id")]
    assert len(batch.scans) == 2 and sorted("-6" in a for a in argvs) == [False, True]
    assert batch.hosts == {"::1": "up", "127.0.70.41": "up"}


# -- scope, widths, hostile input ---------------------------------------------------------------------
SCOPE_AGENCY = """\
code: co-quan-pham-vi
name: Cơ quan thử phạm vi
kind: so-ban-nganh
systems:
  - {code: chinh, name: Chính, hosts: [{address: 127.0.70.51, ports: [{port: 9}]}]}
"""


def write_scope(tmp: Path, targets: list[str], *, until: dt.date | None = None, **extra: Any) -> Path:
    path = tmp / "pham-vi.yaml"
    doc = {"authorised_by": "Trưởng phòng PA05, Công an tỉnh (thử)", "reference": "KH kiểm tra số 1 (thử)",
           "valid_until": (until or clock.today() + dt.timedelta(days=5)).isoformat(), "targets": targets, **extra}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def counts(ws: Workspace) -> dict[str, int]:
    return {t: ws.db.execute(f"select count(*) from [{t}]").fetchone()[0]
            for t in ("scans", "scan_hosts", "findings", "finding_tracks", "evidence", "log")}


@needs_nmap
def test_scope_adds_authorised_undeclared_hosts(ws: Workspace, tmp_path: Path) -> None:
    import_inventory(ws, SCOPE_AGENCY, tmp_path, "pham-vi-co-quan.yaml")
    stray = Listener("127.0.70.54")
    try:
        scope = write_scope(tmp_path, ["127.0.70.52/30"])
        batch = scan_agency(ws, "co-quan-pham-vi", profile_id=str(write_profile(tmp_path, f"9,{stray.port}")),
                                 actor="pytest", scope_file=scope)
    finally:
        stray.close()
    row = next(iter(ws.db.query("select scope from scans where id = ?", [batch.scan_id])))
    recorded = json.loads(row["scope"])
    assert recorded["authorised_by"].startswith("Trưởng phòng") and recorded["targets"] == ["127.0.70.52/30"]
    assert ws.read_blob(recorded["sha256"]) == scope.read_bytes()
    hosts = {r["address"]: r for r in ws.db.query("select * from scan_hosts where scan_id = ?", [batch.scan_id])}
    assert hosts["127.0.70.54"]["declared"] == 0 and hosts["127.0.70.54"]["state"] == "up"
    assert hosts["127.0.70.51"]["declared"] == 1
    rules = {(f["address"], f["rule"]) for f in ws.db.query("select * from findings")}
    assert ("127.0.70.54", "may-chu-ngoai-khai-bao") in rules


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"until": clock.today() - dt.timedelta(days=1)}, OutOfScopeError),
    ({"valid_from": (clock.today() + dt.timedelta(days=2)).isoformat()}, OutOfScopeError),
    ({"agency": "co-quan-khac"}, OutOfScopeError),
    ({"targets_override": ["127.0.0.0/16"]}, InvalidTargetError),
    ({"unknown_key": 1}, ValidationError),
    ({"authorised_by": ""}, ValidationError),
], ids=["expired", "not-yet-valid", "other-agency", "too-wide", "unknown-key", "no-authoriser"])
def test_bad_scope_refused_and_nothing_written(ws: Workspace, tmp_path: Path, marker_binary, kwargs: dict[str, Any],
                                               error: type[Exception]) -> None:
    import_inventory(ws, SCOPE_AGENCY, tmp_path, "pham-vi-co-quan.yaml")
    targets = kwargs.pop("targets_override", ["127.0.70.52/30"])
    scope = write_scope(tmp_path, targets, **kwargs)
    before = counts(ws)
    with pytest.raises(error) as info:
        scan_agency(ws, "co-quan-pham-vi", actor="pytest", scope_file=scope, nmap_binary=str(marker_binary.path))
    assert str(scope) in info.value.diagnostics() and ":" in (info.value.where or info.value.diagnostics())
    assert counts(ws) == before and not marker_binary.ran


def test_many_ranges_in_one_scope_need_allow_large(tmp_path: Path) -> None:
    # each range within /24, but 32 of them: 8,192 addresses, twice the total a scope may name unconfirmed
    from secaudit.scanning.scope import MAX_SCOPE_ADDRESSES, load_scope

    path = write_scope(tmp_path, [f"127.1.{i}.0/24" for i in range(32)])
    with pytest.raises(InvalidTargetError, match=r"tổng cộng 8192 địa chỉ") as info:
        load_scope(path, today=clock.today())
    assert f"{path}:" in info.value.diagnostics() and str(MAX_SCOPE_ADDRESSES) in info.value.message
    assert len(load_scope(path, today=clock.today(), allow_large=True).targets) == 32
    sixteen = write_scope(tmp_path, [f"127.1.{i}.0/24" for i in range(16)])  # exactly the limit
    assert len(load_scope(sixteen, today=clock.today()).targets) == 16


def test_wide_scope_needs_allow_large() -> None:
    from secaudit.scanning.scope import load_scope

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"scope-{uuid.uuid4().hex}.yaml"
    path.write_text(json.dumps({"authorised_by": "PA05 (thử)", "valid_until": "2099-01-01",
                                "targets": ["127.0.0.0/20", "https://portal.example.vn:8443/x"]}))
    try:
        with pytest.raises(InvalidTargetError, match=r"quá rộng|too wide"):
            load_scope(path, today=clock.today())
        scope = load_scope(path, today=clock.today(), allow_large=True)
        assert [str(t) for t in scope.targets] == ["127.0.0.0/20", "portal.example.vn"]
        assert scope.covers("127.0.15.255") and not scope.covers("127.0.16.0") and scope.covers("PORTAL.example.vn")
    finally:
        path.unlink()


def test_wide_declared_range_needs_allow_large(ws: Workspace, tmp_path: Path, marker_binary) -> None:
    import_inventory(ws, """\
code: co-quan-dai-rong
name: Cơ quan thử dải rộng
kind: so-ban-nganh
systems:
  - {code: mang, name: Mạng, hosts: [{address: 127.0.64.0/20}]}
""", tmp_path, "dai-rong.yaml")
    with pytest.raises(InvalidTargetError) as info:
        scan_agency(ws, "co-quan-dai-rong", actor="pytest", nmap_binary=str(marker_binary.path))
    assert "--allow-large" in info.value.diagnostics() and "co-quan-dai-rong/mang" in (info.value.where or "")
    assert not marker_binary.ran


def _hostile_targets() -> list[str]:
    from inventory.test_targets import HOSTILE_TARGETS

    return [t for t in HOSTILE_TARGETS if t.strip() and "\x00" not in t and len(t) < 300]


def _hostile_options() -> list[list[str]]:
    from inventory.test_targets import HOSTILE_OPTIONS

    return [o for o in HOSTILE_OPTIONS if all("\x00" not in x for x in o)]


def test_hostile_corpora_are_large_enough() -> None:
    assert len(_hostile_targets()) >= 30 and len(_hostile_options()) >= 30


@pytest.fixture(scope="module")
def hostile_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path, Path]]:
    """One workspace for the hostile corpora: each case must leave it exactly as it was."""
    tmp = tmp_path_factory.mktemp("hostile")
    ws = Workspace.create(tmp / "ws")
    import_inventory(ws, SCOPE_AGENCY, tmp, "pham-vi-co-quan.yaml")
    marker = tmp / "ran"
    fake = tmp / "nmap"
    fake.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    fake.chmod(0o755)
    yield ws, fake, marker
    ws.close()


@pytest.mark.parametrize("target", _hostile_targets(), ids=lambda t: repr(t)[:40])
def test_hostile_scope_target_never_reaches_nmap(hostile_ws, tmp_path: Path, target: str) -> None:
    ws, fake, marker = hostile_ws
    scope = write_scope(tmp_path, ["127.0.70.52/30", target])
    before = counts(ws)
    with pytest.raises((InvalidTargetError, ValidationError, InputError)) as info:
        scan_agency(ws, "co-quan-pham-vi", actor="pytest", scope_file=scope, nmap_binary=str(fake))
    assert str(scope) in info.value.diagnostics()
    assert not marker.exists() and counts(ws) == before


@pytest.mark.parametrize("options", _hostile_options(), ids=lambda o: repr(o)[:40])
def test_hostile_profile_options_never_reach_nmap(hostile_ws, tmp_path: Path, options: list[str]) -> None:
    ws, fake, marker = hostile_ws
    profile = write_profile(tmp_path, "80", options, name="doc-hai")
    before = counts(ws)
    with pytest.raises(InvalidTargetError) as info:
        scan_agency(ws, "co-quan-pham-vi", profile_id=str(profile), actor="pytest", nmap_binary=str(fake))
    assert info.value.where and info.value.where.startswith(str(profile))
    assert not marker.exists() and counts(ws) == before


def test_syn_scan_only_when_asked_and_root(ws: Workspace, tmp_path: Path, marker_binary) -> None:
    import_inventory(ws, SCOPE_AGENCY, tmp_path, "pham-vi-co-quan.yaml")
    profile = write_profile(tmp_path, "80", ["-sS"], name="syn-trong-ho-so")
    with pytest.raises(InvalidTargetError):  # never from a profile, root or not
        scan_agency(ws, "co-quan-pham-vi", profile_id=str(profile), actor="pytest",
                         nmap_binary=str(marker_binary.path))
    if os.geteuid() != 0:
        with pytest.raises(InvalidTargetError):
            scan_agency(ws, "co-quan-pham-vi", actor="pytest", syn=True, nmap_binary=str(marker_binary.path))
    assert not marker_binary.ran


@needs_nmap
def test_syn_scan_as_root_when_asked(ws: Workspace, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a SYN scan needs root")
    import_inventory(ws, SCOPE_AGENCY, tmp_path, "pham-vi-co-quan.yaml")
    batch = scan_agency(ws, "co-quan-pham-vi", profile_id=str(write_profile(tmp_path, "9")), actor="pytest",
                             syn=True)
    argv = json.loads(ws.db.execute("select argv from scans where id = ?", [batch.scan_id]).fetchone()[0])
    assert "-sS" in argv and "-sT" not in argv and "--unprivileged" not in argv


def test_bad_jobs_and_unknown_profile(ws: Workspace, tmp_path: Path) -> None:
    import_inventory(ws, SCOPE_AGENCY, tmp_path, "pham-vi-co-quan.yaml")
    with pytest.raises(InputError):
        scan_agency(ws, "co-quan-pham-vi", actor="pytest", jobs=0)
    with pytest.raises(NotFoundError):
        scan_agency(ws, "co-quan-pham-vi", actor="pytest", profile_id="khong-co")
    with pytest.raises(NotFoundError):
        scan_agency(ws, "co-quan-pham-vi", actor="pytest", profile_id="tu-danh-gia")  # an assessment profile


def test_shipped_scan_profiles_and_rules_load() -> None:
    for pid in ("nhanh", "tieu-chuan", "web"):
        profile = load_scan_profile(pid)
        assert profile.id == pid and profile.scan.freshness_days >= 1
    standard = load_scan_profile("tieu-chuan")
    from secaudit.scanning import port_set

    ports = port_set(standard.port_spec())
    assert len(ports) >= 1000 and {6379, 27017, 11211, 2375} <= ports  # risky ports outside the top 1000 too
    assert "-sV" in standard.scan.options
    rules = load_rules()
    assert {r.check for r in rules} >= {"risky_service", "tls_protocol", "weak_cipher", "cert_expired",
                                        "cert_expiring", "cert_self_signed", "cert_name_mismatch",
                                        "http_no_https_redirect", "missing_header", "version_disclosed",
                                        "undeclared_port", "declared_port_missing", "weak_ssh_algorithm"}
    risky = {p for r in rules if r.check == "risky_service" for p in r.ports}
    assert {21, 23, 445, 3389, 1433, 3306, 5432, 27017, 6379, 9200} <= risky


@pytest.mark.parametrize("full_check", [True, False], ids=["library", "light"])
def test_rules_with_unknown_requirement_are_refused(tmp_path: Path, full_check: bool) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: thu\n    title: t\n    severity: cao\n    check: undeclared_port\n"
                    "    bears_on: ['kh04-bcdtw:khong-co', 'khong-co:t1']\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_rules(path, full_check=full_check)
    assert len(info.value.problems) == 2 and all(w == f"{path}:6" for w, _ in info.value.problems)


# -- import ------------------------------------------------------------------------------------------
def _scenario_xml(scenario: Scenario, tmp_path: Path, keep: set[str]) -> Path:
    """The scenario's real XML with only the hosts in ``keep``."""
    import re

    row = next(iter(scenario.ws.db.query("select xml_sha256 from scans where id = ?", [scenario.batch.scan_id])))
    text = scenario.ws.read_blob(row["xml_sha256"]).decode()
    hosts = re.findall(r"<host[ >].*?</host>", text, flags=re.S)
    for host in hosts:
        address = re.search(r'<address addr="([^"]+)"', host)
        if address and address.group(1) not in keep:
            text = text.replace(host, "")
    path = tmp_path / "mot-he-thong.xml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.system_clock  # the imported XML is dated by nmap's (real) clock, the live scan by ours
def test_import_of_one_system_matches_the_live_scan(scenario: Scenario, tmp_path: Path) -> None:
    xml = _scenario_xml(scenario, tmp_path, {OLD_TLS, PLAIN_HTTP})
    ws = Workspace.create(tmp_path / "ws2")
    try:
        import_inventory(ws, INVENTORY, tmp_path)
        out = import_scan(ws, xml, system="cong-web", actor="pytest")
        assert out.status == "complete" and out.hosts == {OLD_TLS: "up", PLAIN_HTTP: "up"}
        live = {(f["address"], f["port"], f["rule"], f["bears_on"]) for f in scenario.findings
                if f["address"] in (OLD_TLS, PLAIN_HTTP)}
        imported = {(f["address"], f["port"], f["rule"], f["bears_on"])
                    for f in ws.db.query("select * from findings")}
        assert imported == live
        row = next(iter(ws.db.query("select * from scans")))
        assert row["source"] == "import" and row["nmap_version"]
        assert json.loads(row["argv"])[0].split()[0].endswith("nmap")
        xml_started = parse_xml(xml.read_bytes()).started
        assert xml_started is not None and row["started"] == xml_started.isoformat()
        assert json.loads(row["coverage"])["service_detection"] is True
        assert ws.read_blob(row["xml_sha256"]) == xml.read_bytes()
    finally:
        ws.close()


def test_import_covering_undeclared_hosts_is_refused_whole(scenario: Scenario, tmp_path: Path) -> None:
    xml = _scenario_xml(scenario, tmp_path, {OLD_TLS, PLAIN_HTTP, TELNET})
    ws = Workspace.create(tmp_path / "ws2")
    try:
        import_inventory(ws, INVENTORY, tmp_path)
        before = counts(ws)
        with pytest.raises(OutOfScopeError) as info:
            import_scan(ws, xml, system="cong-web", actor="pytest")
        assert TELNET in info.value.message and str(xml) == info.value.where
        assert counts(ws) == before
        scope = write_scope(tmp_path, [f"{TELNET}/32"], agency="co-quan-thu")
        out = import_scan(ws, xml, system="cong-web", actor="pytest", scope_file=scope)
        flagged = {(f["address"], f["rule"]) for f in ws.db.query("select * from findings where scan_id = ?",
                                                                   [out.scan_id])}
        assert (TELNET, "may-chu-ngoai-khai-bao") in flagged
        assert ws.db.execute("select declared from scan_hosts where address = ?", [TELNET]).fetchone()[0] == 0
    finally:
        ws.close()


HOSTILE_XML = {
    "entity": b'<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x "y">]><nmaprun>&x;</nmaprun>',
    "external": b'<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]><nmaprun>&x;'
                b"</nmaprun>",
    "not-nmap": b"<html><body>hello</body></html>",
    "not-xml": b"\x00\x01binary",
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
def test_hostile_import_files_change_nothing(example_ws: Workspace, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.xml"
    path.write_bytes(HOSTILE_XML[name])
    before = counts(example_ws)
    with pytest.raises((ScanError, InputError)) as info:
        import_scan(example_ws, path, system="lgsp-tinh", actor="pytest")
    assert info.value.where == str(path)
    assert counts(example_ws) == before


def _xml_safe_targets() -> list[str]:
    return [t for t in _hostile_targets() if all(ch in "\t\n\r" or 32 <= ord(ch) != 127 for ch in t)]


@pytest.fixture(scope="module")
def import_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    tmp = tmp_path_factory.mktemp("import-hostile")
    ws = Workspace.create(tmp / "ws")
    import_inventory(ws, SCOPE_AGENCY, tmp, "pham-vi-co-quan.yaml")
    yield ws, tmp
    ws.close()


@pytest.mark.parametrize("target", _xml_safe_targets(), ids=lambda t: repr(t)[:40])
def test_import_of_hostile_host_addresses_stores_nothing(import_ws, target: str) -> None:
    """A file whose host address or name is a hostile string is outside every declared target: refused whole."""
    from xml.sax.saxutils import quoteattr

    ws, tmp = import_ws
    path = tmp / "doc-hai.xml"
    path.write_text(
        '<?xml version="1.0"?><nmaprun scanner="nmap" args="nmap" start="1790000000" version="7.93">'
        '<host><status state="up" reason="syn-ack"/><address addr="127.0.70.51" addrtype="ipv4"/>'
        '<ports><port protocol="tcp" portid="9"><state state="open" reason="syn-ack"/></port></ports></host>'
        f'<host><status state="up" reason="syn-ack"/><address addr={quoteattr(target)} addrtype="ipv4"/>'
        f'<hostnames><hostname name={quoteattr(target)} type="user"/></hostnames>'
        '<ports><port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/></port></ports></host>'
        '<runstats><finished time="1790000001" exit="success"/></runstats></nmaprun>', encoding="utf-8")
    scope = write_scope(tmp, ["127.0.70.52/30", "portal.example.vn"])
    before = counts(ws)
    with pytest.raises(OutOfScopeError):
        import_scan(ws, path, system="chinh", actor="pytest", scope_file=scope)
    assert counts(ws) == before


def test_import_hostile_corpus_is_large_enough() -> None:
    assert len(_xml_safe_targets()) >= 30


def test_import_refuses_unknown_system_and_missing_file(example_ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        import_scan(example_ws, tmp_path / "x.xml", system="khong-co; rm -rf /", actor="pytest")
    with pytest.raises(InputError):
        import_scan(example_ws, tmp_path / "khong-co.xml", system="lgsp-tinh", actor="pytest")


def test_truncated_import_is_kept_as_incomplete(scanner_xml: Path, example_ws: Workspace, tmp_path: Path) -> None:
    text = scanner_xml.read_bytes().replace(b'addr="127.0.7.1"', b'addr="127.0.10.1"')
    cut = text[: text.index(b"</host>") + len(b"</host>") + 10]
    path = tmp_path / "cut.xml"
    path.write_bytes(cut)
    out = import_scan(example_ws, path, system="lgsp-tinh", actor="pytest")
    assert out.status == "incomplete" and out.hosts == {"127.0.10.1": "up"}
    assert example_ws.db.execute("select error from scans where id = ?", [out.scan_id]).fetchone()[0]


@pytest.fixture
def scanner_xml() -> Path:
    return ROOT / "tests" / "scanning" / "data" / "loopback-services.xml"


def big_xml(path: Path, hosts: int, base: str = "127.64") -> None:
    """A synthetic nmap XML with ``hosts`` hosts, one open HTTP port each (same shape nmap writes)."""
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" '
                  'args="nmap -sT -Pn -n -p 80,8080 -oX - 127.64.0.0/18" start="1790000000" version="7.93" '
                  'xmloutputversion="1.05">\n<scaninfo type="connect" protocol="tcp" numservices="2" '
                  'services="80,8080"/>\n')
        for i in range(hosts):
            ip = f"{base}.{i // 256}.{i % 256}"
            out.write(f'<host starttime="1790000000" endtime="1790000001"><status state="up" reason="syn-ack"/>'
                      f'<address addr="{ip}" addrtype="ipv4"/><hostnames></hostnames><ports>'
                      '<extraports state="closed" count="1"/>'
                      '<port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/>'
                      '<service name="http" method="table" conf="3"/></port></ports></host>\n')
        out.write('<runstats><finished time="1790000100" exit="success"/><hosts up="1" down="0" total="1"/>'
                  "</runstats>\n</nmaprun>\n")


def test_import_streams_a_large_sweep_of_a_declared_range(ws: Workspace, tmp_path: Path) -> None:
    import_inventory(ws, """\
code: co-quan-lon
name: Cơ quan thử tệp lớn
kind: so-ban-nganh
systems:
  - {code: mang-lon, name: Mạng lớn, hosts: [{address: 127.64.0.0/18, ports: [{port: 80}]}]}
""", tmp_path, "lon.yaml")
    path = tmp_path / "sweep.xml"
    big_xml(path, 1500)
    out = import_scan(ws, path, system="mang-lon", actor="pytest")
    assert out.status == "complete" and len(out.hosts) == 1501  # 1,500 addresses plus the range itself
    assert ws.db.execute("select count(*) from scan_hosts where state = 'up'").fetchone()[0] == 1501
    reason = ws.db.execute("select reason from scan_hosts where address = '127.64.0.0/18'").fetchone()[0]
    assert reason.startswith("1500/1500 ")
    assert ws.db.execute("select count(*) from findings").fetchone()[0] == 0  # port 80 is declared for the range
    started = dt.datetime.fromtimestamp(1790000000, dt.UTC).date()
    assert ws.db.execute("select fresh_until from scans").fetchone()[0] == (started + dt.timedelta(days=30)).isoformat()


# -- CLI -------------------------------------------------------------------------------------------------
def test_cli_scan_help_and_subcommands(cli) -> None:
    for args in (["scan", "--help"], ["scan", "import", "--help"], ["scan", "diff", "--help"],
                 ["scan", "list", "--help"], ["findings", "--help"]):
        result = cli(*args)
        assert result.code == 0 and "Usage:" in result.out, args
    assert "--jobs" in cli("scan", "agency", "--help").out


def test_cli_findings_and_list_on_an_empty_workspace(cli) -> None:
    assert cli("init").code == 0
    result = cli("findings", "--format", "json")
    assert result.code == 0 and json.loads(result.out) == []
    assert cli("findings", "--status", "bogus").code == 2
    assert cli("scan", "diff", "1", "2").code == 1
    assert json.loads(cli("scan", "list", "--format", "json").out) == []


@needs_nmap
def test_cli_scan_import_diff_findings(cli, tmp_path: Path) -> None:
    listener = Listener("127.0.70.61")
    try:
        assert cli("init").code == 0
        inv = tmp_path / "cli.yaml"
        inv.write_text("""\
code: co-quan-cli
name: Cơ quan thử dòng lệnh
kind: so-ban-nganh
systems:
  - {code: may, name: Máy, hosts: [{address: 127.0.70.61, ports: [{port: 9}]}]}
""", encoding="utf-8")
        assert cli("inventory", "import", str(inv)).code == 0
        profile = write_profile(tmp_path, f"9,{listener.port}")
        first = cli("scan", "co-quan-cli", "--profile", str(profile))
        assert first.code == 0, first.err
        assert "phát hiện" in first.err and "\r" not in first.err  # no progress line when not a terminal
        listener.close()
        second = cli("scan", "co-quan-cli", "--profile", str(profile))
        assert second.code == 0, second.err
        diff = cli("scan", "diff", "1", "2", "--format", "json")
        changes = {(d["change"], d["port"]) for d in json.loads(diff.out)}
        assert ("fixed", listener.port) in changes and ("fixed", 9) not in changes
        resolved = json.loads(cli("findings", "--status", "resolved", "--format", "json").out)
        assert [r["rule"] for r in resolved] == ["cong-mo-ngoai-khai-bao"]
        still = json.loads(cli("findings", "--agency", "co-quan-cli", "--format", "json").out)
        assert [r["rule"] for r in still] == ["dich-vu-khai-bao-khong-phan-hoi"]
        listing = json.loads(cli("scan", "list", "--format", "json").out)
        assert [s["id"] for s in listing] == [1, 2] and listing[0]["findings"] == 2
    finally:
        listener.close()


def _run_cli(args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "secaudit", *args], env=env, **kw)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, SECAUDIT_WORKSPACE=str(tmp_path / "ws"), SECAUDIT_ACTOR="pytest",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


@needs_nmap
def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-m", "secaudit", "init"], env=env, check=True, capture_output=True)
    inv = tmp_path / "tty.yaml"
    inv.write_text("code: co-quan-tty\nname: Thử terminal\nkind: so-ban-nganh\nsystems:\n"
                   "  - {code: may, name: Máy, hosts: [{address: 127.0.70.71, ports: [{port: 9}]}]}\n")
    subprocess.run([sys.executable, "-m", "secaudit", "inventory", "import", str(inv)], env=env, check=True,
                   capture_output=True)
    profile = write_profile(tmp_path, "9")
    leader, follower = pty.openpty()
    proc = _run_cli(["scan", "co-quan-tty", "--profile", str(profile)], env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode in (0, 1)
    assert "\r" in text and "1/1 máy chủ / hosts" in text and "00:0" in text


SLOW_INVENTORY = """\
code: co-quan-ngat
name: Cơ quan thử ngắt quét
kind: so-ban-nganh
systems:
  - {{code: nhanh-xong, name: Xong nhanh, hosts: [{{address: 127.0.70.81, ports: [{{port: {fast}}}]}}]}}
  - code: cham
    name: Quét chậm
    hosts:
      - address: 127.0.70.82
        ports: [{ports}]
"""


@needs_nmap
def test_real_sigint_keeps_what_finished(tmp_path: Path) -> None:
    """SIGINT to a running ``secaudit scan --jobs 2``: the finished system is kept, the other marked."""
    fast = Listener("127.0.70.81")
    try:
        env = _env(tmp_path)
        subprocess.run([sys.executable, "-m", "secaudit", "init"], env=env, check=True, capture_output=True)
        inv = tmp_path / "ngat.yaml"
        inv.write_text(SLOW_INVENTORY.format(fast=fast.port, ports=", ".join(
            f"{{port: {p}}}" for p in range(41000, 41060))), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "secaudit", "inventory", "import", str(inv)], env=env, check=True,
                       capture_output=True)
        profile = write_profile(tmp_path, "9", ["--scan-delay=300ms", "--max-retries=0"], name="cham")
        proc = _run_cli(["scan", "co-quan-ngat", "--profile", str(profile), "--jobs", "2"], env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ws_db = tmp_path / "ws" / "secaudit.db"
        deadline = time.monotonic() + 30
        import sqlite3

        while time.monotonic() < deadline:  # wait until the fast system's scan is recorded
            time.sleep(0.2)
            with sqlite3.connect(ws_db) as conn:
                done = conn.execute("select count(*) from scans where status = 'complete'").fetchone()[0]
            if done:
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        fast.close()
    assert proc.returncode == 130, err.decode()
    ws = Workspace.open(tmp_path / "ws")
    try:
        rows = {r["system"]: r for r in ws.db.query("select * from scans")}
        assert rows["nhanh-xong"]["status"] == "complete"
        assert rows["cham"]["status"] == "interrupted" and rows["cham"]["finished"]
        assert parse_xml(ws.read_blob(rows["cham"]["xml_sha256"])).complete is False
        state = ws.db.execute("select state from scan_hosts where address = '127.0.70.82'").fetchone()[0]
        assert state == "unknown"
        assert ws.db.execute("select state from scan_hosts where address = '127.0.70.81'").fetchone()[0] == "up"
    finally:
        ws.close()
    assert "interrupted" in err.decode() or "Đã ngắt" in err.decode()

