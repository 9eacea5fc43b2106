"""Real nmap against real loopback services (and, as root, an unreachable host in a netns).

What these tests pin down about nmap 7.93 with our base options (``-sT -Pn -n``):

* every 127.x.y.z address answers: a port nobody listens on is ``closed`` (conn-refused), so a
  loopback "host with nothing listening" is still proven to exist;
* with ``-Pn`` nmap reports every host as ``up`` (reason ``user-set``), even a blackholed one
  whose ports are all ``filtered`` — our parser turns that into ``unknown``;
* ``--host-timeout`` marks the ``<host>`` element ``timedout="true"``, keeps ``status up`` and
  drops the port list — our parser turns that into ``unknown``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secaudit.errors import ScanError
from secaudit.scanning import ALLOWED_OPTIONS, NmapRun, build_argv, nmap_version, parse_target, run_nmap

# A scan that would take ~30 s: used to interrupt nmap or to hit our own timeout.
SLOW = ["--scan-delay=300ms", "--max-retries=0"]


def scan(address: str, ports: str, options: list[str] | None = None, *, timeout: float = 60, **kw) -> NmapRun:
    argv = build_argv([parse_target(address)], ports=ports, options=options or [], **kw)
    return run_nmap(argv, timeout=timeout)


def test_nmap_version(nmap_path: str) -> None:
    assert re.fullmatch(r"\d+\.\d+[0-9A-Za-z.+-]*", nmap_version())
    assert nmap_version(nmap_path) == nmap_version()


def test_open_and_closed_ports_found(nmap_path: str, loopback_ip, tcp_service, closed_port) -> None:
    address = loopback_ip()
    service = tcp_service(address)
    refused = closed_port(address)
    run = scan(address, f"{service.port},{refused}", ["--host-timeout=20s"], nmap_binary=nmap_path)
    assert run.ok and run.returncode == 0 and not run.interrupted and not run.timed_out
    assert run.started.tzinfo is not None and run.finished >= run.started
    assert run.argv[0] == nmap_path and run.argv[-2:] == ["--", address]
    result = run.parse()
    assert result.complete and result.error is None
    host = result.host_map()[address]
    assert host.state == "up" and host.reason == "user-set"
    assert {p.port: (p.state, p.reason) for p in host.ports} == {
        service.port: ("open", "syn-ack"),
        refused: ("closed", "conn-refused"),
    }


def test_banner_service(nmap_path: str, loopback_ip, tcp_service) -> None:
    address = loopback_ip()
    service = tcp_service(address, banner=b"220 secaudit banner <i>test</i>\r\n")
    run = scan(address, str(service.port), ["--script=banner", "--script-timeout=10s"], nmap_binary=nmap_path)
    port = run.parse().hosts[0].port(service.port)
    assert port is not None and port.state == "open"
    assert port.scripts["banner"].output == "220 secaudit banner <i>test</i>"


def test_host_with_nothing_listening(nmap_path: str, loopback_ip, closed_port) -> None:
    address = loopback_ip()
    refused = closed_port(address)
    result = scan(address, str(refused), nmap_binary=nmap_path).parse()
    (host,) = result.hosts
    assert host.address == address
    assert [(p.port, p.state, p.reason) for p in host.ports] == [(refused, "closed", "conn-refused")]
    assert host.state == "up"  # an RST is proof of life


def test_many_closed_ports_are_summarised(nmap_path: str, loopback_ip) -> None:
    address = loopback_ip()
    # 127/8 addresses answer RST on every port nobody listens on; listeners elsewhere do not matter.
    host = scan(address, "40000-40099", nmap_binary=nmap_path).parse().hosts[0]
    assert host.extraports == {"closed": 100 - len(host.ports)}
    assert host.state == "up"


def test_host_timeout_gives_unknown(nmap_path: str, loopback_ip) -> None:
    address = loopback_ip()
    run = scan(address, "1-100", [*SLOW, "--host-timeout=1s"], nmap_binary=nmap_path)
    result = run.parse()
    assert run.ok and result.complete  # nmap itself finished normally …
    (host,) = result.hosts
    assert host.timed_out and host.nmap_state == "up"
    assert host.state == "unknown" and host.ports == []  # … but learned nothing about the host


def test_our_timeout_keeps_partial_xml(nmap_path: str, loopback_ip) -> None:
    run = scan(loopback_ip(), "1-100", SLOW, timeout=1.5, nmap_binary=nmap_path)
    assert run.timed_out and not run.interrupted and not run.ok
    assert run.duration < 10
    assert b"<nmaprun" in run.xml
    result = run.parse()
    assert result.complete is False and result.error is not None and result.nmap_version


def test_ctrl_c_terminates_nmap_and_returns_partial_run(nmap_path: str, loopback_ip) -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not handled by Python's default handler in this run")
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        run = scan(loopback_ip(), "1-100", SLOW, timeout=30, nmap_binary=nmap_path)
    finally:
        timer.cancel()
    assert run.interrupted and not run.timed_out and not run.ok
    assert run.duration < 10
    result = run.parse()
    assert result.complete is False and result.nmap_version


CHILD = """
import json
from secaudit.scanning import build_argv, parse_target, run_nmap
argv = build_argv([parse_target({address!r})], ports="1-100", options={options!r})
print("ready", flush=True)
run = run_nmap(argv, timeout=30)
result = run.parse()
print(json.dumps({{"interrupted": run.interrupted, "returncode": run.returncode,
                  "complete": result.complete, "error": result.error, "duration": run.duration}}))
"""


def test_ctrl_c_on_the_terminal_process_group(nmap_path: str, loopback_ip, tmp_path: Path) -> None:
    """Ctrl-C in a terminal signals nmap *and* us; the partial run must still come back."""
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(address=loopback_ip(), options=SLOW), encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        os.killpg(child.pid, signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["interrupted"] is True and report["complete"] is False
    assert report["error"].startswith("truncated XML")
    assert report["duration"] < 10


def test_ipv6_loopback(nmap_path: str) -> None:
    try:
        server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        server.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with server:
        server.listen(8)
        port = server.getsockname()[1]
        run = scan("::1", str(port), nmap_binary=nmap_path)
    assert "-6" in run.argv
    host = run.parse().hosts[0]
    assert host.address == "::1" and host.addrtype == "ipv6"
    assert host.port(port) is not None and host.port(port).state == "open"  # type: ignore[union-attr]


def test_missing_binary_is_a_scan_error(tmp_path: Path) -> None:
    argv = build_argv([parse_target("127.0.0.1")], ports="80", nmap_binary=str(tmp_path / "nmap"))
    with pytest.raises(ScanError) as info:
        run_nmap(argv)
    assert "apt-get install nmap" in info.value.message and "apt-get install nmap" in (info.value.en or "")
    argv[0] = "secaudit-no-such-nmap"
    with pytest.raises(ScanError, match="apt-get install nmap"):
        run_nmap(argv)
    with pytest.raises(ScanError, match="apt-get install nmap"):
        nmap_version("secaudit-no-such-nmap")


def test_nmap_gets_a_scrubbed_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No HOME/NMAPDIR: nmap must not load scripts or data planted in ~/.nmap or $NMAPDIR."""
    monkeypatch.setenv("NMAPDIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    dumper = tmp_path / "env-dump"
    dumper.write_text("#!/bin/sh\nenv\n", encoding="utf-8")
    dumper.chmod(dumper.stat().st_mode | stat.S_IXUSR)
    run = run_nmap(build_argv([parse_target("127.0.0.1")], ports="80", nmap_binary=str(dumper)))
    names = {line.split("=", 1)[0] for line in run.xml.decode().splitlines()}
    assert "NMAPDIR" not in names and "HOME" not in names
    assert "PATH" in names


@pytest.mark.netns
def test_blackholed_host_in_netns_is_not_up(nmap_path: str, netns: str, in_netns) -> None:
    in_netns(netns, "ip", "route", "add", "blackhole", "127.0.5.5", "table", "local")
    run = scan("127.0.5.5", "22,80,443", nmap_binary=["ip", "netns", "exec", netns, nmap_path])
    result = run.parse()
    assert result.complete
    (host,) = result.hosts
    assert host.nmap_state == "up" and host.reason == "user-set"  # what -Pn makes nmap say
    assert host.state in ("down", "unknown") and host.state != "up"
    assert {p.state for p in host.ports} == {"filtered"}


@pytest.mark.netns
def test_unreachable_host_times_out_in_netns(nmap_path: str, netns: str, in_netns) -> None:
    in_netns(netns, "ip", "route", "add", "unreachable", "127.0.6.6", "table", "local")
    run = scan(
        "127.0.6.6", "1-100", [*SLOW, "--host-timeout=1s"], nmap_binary=["ip", "netns", "exec", netns, nmap_path]
    )
    (host,) = run.parse().hosts
    assert host.timed_out and host.state == "unknown"


SAMPLE_VALUES = {
    "--version-intensity": "5",
    "--host-timeout": "30s",
    "--script-timeout": "10s",
    "--scan-delay": "1ms",
    "--max-scan-delay": "10ms",
    "--initial-rtt-timeout": "100ms",
    "--min-rtt-timeout": "50ms",
    "--max-rtt-timeout": "500ms",
    "--stats-every": "10s",
    "--max-retries": "1",
    "--min-rate": "10.5",
    "--max-rate": "1000",
    "--min-parallelism": "1",
    "--max-parallelism": "16",
    "--min-hostgroup": "1",
    "--max-hostgroup": "8",
    "--script": "banner,ssl-cert",
    "--script-args": "tls.servername=portal.gov.vn,http.host=portal.gov.vn,http.useragent=secaudit/0.1",
}


@pytest.mark.parametrize("option", [*sorted(ALLOWED_OPTIONS), "-T2", "-T5"])
def test_real_nmap_accepts_every_allowed_option(option: str, nmap_path: str, loopback_ip, closed_port) -> None:
    """The canonical ``--opt=value`` forms we emit must be ones nmap really understands."""
    address = loopback_ip()
    port = closed_port(address)
    given = [option] if ALLOWED_OPTIONS.get(option) is None else [option, SAMPLE_VALUES[option]]
    run = scan(address, str(port), given, nmap_binary=nmap_path, timeout=30)
    assert run.ok, run.stderr
    result = run.parse()
    assert result.complete, run.stderr
    assert result.hosts[0].port(port) is not None


def test_scan_as_an_unprivileged_user(nmap_path: str, loopback_ip, tcp_service, closed_port) -> None:
    """The base options must work for an operator without root (run as root, we drop to nobody)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run nmap as an unprivileged user")
    address = loopback_ip()
    service = tcp_service(address, banner=b"SSH-2.0-OpenSSH_9.2\r\n")
    refused = closed_port(address)
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", nmap_path]
    run = scan(address, f"{service.port},{refused}", ["-sV", "--script=banner"], nmap_binary=drop)
    assert run.ok, run.stderr
    host = run.parse().hosts[0]
    assert host.port(service.port).state == "open"  # type: ignore[union-attr]
    assert host.port(service.port).service == "ssh"  # type: ignore[union-attr]
    assert host.port(refused).state == "closed"  # type: ignore[union-attr]


def test_unresolved_names_are_reported_from_stderr() -> None:
    """nmap 7.93 prints this line (three times) per unresolvable name and leaves it out of the XML."""
    now = datetime(2026, 11, 22, tzinfo=UTC)  # any instant: only stderr matters here
    stderr = 'Failed to resolve "nonexistent.invalid".\n' * 3 + 'Failed to resolve "db.example".\nother\n'
    run = NmapRun(["nmap"], b"", stderr, 0, now, now)
    assert run.unresolved == ["nonexistent.invalid", "db.example"]
