"""The bundled example data: inventories that validate, and loopback services that answer as documented.

The services script (``examples/services.py``) is run as a user would run it, in a temporary state
directory; every listener is then checked by a real connection (HTTP, TLS, SSH banner, Redis reply),
the declared-but-switched-off standby host must refuse, and ``stop`` must leave no process behind.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import socket
import ssl
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from secaudit.inventory.models import Agency, DossierState, Hosting, RestrictedSector

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPT = EXAMPLES / "services.py"
INVENTORY_FILES = sorted((EXAMPLES / "inventory").glob("*.yaml"))

HTTP_SERVICES = [("127.0.10.1", 8080), ("127.0.11.1", 8080), ("127.0.14.1", 8080)]
HTTPS_SERVICES = {("127.0.10.2", 8443): True, ("127.0.12.1", 8443): False}  # -> certificate expired?
SSH_SERVICE = ("127.0.13.1", 2222)
REDIS_SERVICE = ("127.0.10.1", 6379)  # listens, but no inventory declares it
STANDBY_OFF = ("127.0.12.9", 8080)  # declared, nothing listens
ALL_LISTENERS = {*HTTP_SERVICES, *HTTPS_SERVICES, SSH_SERVICE, REDIS_SERVICE}
SECURITY_HEADERS = ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options",
                    "X-Content-Type-Options")


def load(path: Path) -> Agency:
    return Agency.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def agencies() -> dict[str, Agency]:
    return {path.stem: load(path) for path in INVENTORY_FILES}


# -- inventories ------------------------------------------------------------------------------------


def test_five_example_agencies() -> None:
    assert {p.stem for p in INVENTORY_FILES} == {
        "so-khcn", "cong-an-tinh", "so-y-te", "vp-ubnd-tinh", "phuong-thanh-vinh"}


@pytest.mark.parametrize("path", INVENTORY_FILES, ids=lambda p: p.stem)
def test_inventory_validates(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text), "Vietnamese text must be NFC"
    agency = load(path)
    assert agency.code == path.stem
    assert agency.systems
    for system in agency.systems:
        for host in system.hosts:
            assert host.address.startswith("127."), f"{system.code}: {host.address} is not loopback"
            assert host.ports, f"{system.code}: {host.address} declares no ports"


def test_inventory_scenarios() -> None:
    """The situations other tests and features rely on (each is named in a YAML comment)."""
    data = agencies()
    skhcn = data["so-khcn"]
    assert skhcn.private_data_centre is True
    assert any(s.critical and s.hosting is Hosting.OWN_DC for s in skhcn.systems)
    systems = [s for a in data.values() for s in a.systems]
    assert any(s.admin_procedures and s.level.approved == 2 for s in systems)
    assert any(s.level.approved == 4 and "Bộ Công an" not in (s.level.appraised_by or "") for s in systems)
    assert any(s.critical and s.level.approved is None
               and s.level.dossier_state in (DossierState.NONE, DossierState.DRAFTED) for s in systems)
    lgsp = next(s for s in skhcn.systems if s.code == "lgsp-tinh")
    level = lgsp.level
    assert (level.approved, level.decision_number) == (3, "123/QĐ-SKHCN")
    assert level.appraised_by and level.approved_by and level.decision_date and level.regulation_date
    assert level.regulation_date < level.decision_date
    assert any(s.critical is None for s in systems), "some attribute must be left unknown"
    restricted = [s for s in systems if s.restricted_sector is not RestrictedSector.NONE]
    assert [s.restricted_sector for s in restricted] == [RestrictedSector.CIPHER]


def test_declared_hosts_match_service_map() -> None:
    declared = {(h.address, p.port) for a in agencies().values() for s in a.systems for h in s.hosts for p in h.ports}
    assert declared == (ALL_LISTENERS - {REDIS_SERVICE}) | {STANDBY_OFF}


# -- services ---------------------------------------------------------------------------------------


def test_script_binds_only_loopback() -> None:
    spec = importlib.util.spec_from_file_location("example_services", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        assert {(s.host, s.port) for s in module.SERVICES} == ALL_LISTENERS
        module.require_loopback("127.0.13.1")
        for address in ("10.0.0.1", "0.0.0.0", "192.168.1.10", "::1"):
            with pytest.raises(SystemExit):
                module.require_loopback(address)
    finally:
        del sys.modules[spec.name]


def accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    """Running and not a zombie (an orphan may wait unreaped when PID 1 does not reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    return True


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Start the example services once for this module; stop them at the end whatever happened."""
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.10.1", 0))
    except OSError:
        pytest.skip("127.0.10.1 cannot be bound here (on macOS add loopback aliases first)")
    busy = sorted(a for a in ALL_LISTENERS if accepts(a))
    if busy:
        pytest.fail(f"already in use, is another copy of examples/services.py running? {busy}")
    state = tmp_path_factory.mktemp("services")
    started = run_script("start", "--state-dir", str(state))
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield state
    finally:
        run_script("stop", "--state-dir", str(state))


def test_ready_file_lists_every_listener(services: Path) -> None:
    ready = json.loads((services / "services.ready.json").read_text(encoding="utf-8"))
    listed = {(e["address"], e["port"]) for e in ready["listeners"]}
    assert listed == ALL_LISTENERS
    assert [(e["address"], e["port"]) for e in ready["listeners"] if not e["declared"]] == [REDIS_SERVICE]
    assert int((services / "services.pid").read_text()) == ready["pid"]


@pytest.mark.parametrize("address", HTTP_SERVICES, ids=lambda a: f"{a[0]}:{a[1]}")
def test_http_page(services: Path, address: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*address, timeout=5)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read().decode("utf-8")
    finally:
        conn.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert "TÀI LIỆU MẪU" in body
    present = {h for h in SECURITY_HEADERS if response.getheader(h)}
    expected = {("127.0.10.1", 8080): set(SECURITY_HEADERS), ("127.0.11.1", 8080): set(),
                ("127.0.14.1", 8080): {"X-Frame-Options"}}
    assert present == expected[address]


@pytest.mark.parametrize("address", sorted(HTTPS_SERVICES), ids=lambda a: f"{a[0]}:{a[1]}")
def test_https_certificate(services: Path, address: tuple[str, int]) -> None:
    host = address[0]
    unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with socket.create_connection(address, timeout=5) as raw, unverified.wrap_socket(raw) as tls:
        assert tls.getpeercert(binary_form=True)
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert tls.recv(64).startswith(b"HTTP/1.1 200")

    # Trust the self-signed certificate itself: then only its dates can make verification fail.
    trusting = ssl.create_default_context(cafile=str(services / "tls" / f"{host}.crt"))
    expired = HTTPS_SERVICES[address]
    with socket.create_connection(address, timeout=5) as raw:
        if expired:
            with pytest.raises(ssl.SSLCertVerificationError) as caught:
                trusting.wrap_socket(raw, server_hostname=host)
            assert caught.value.verify_code == 10  # X509_V_ERR_CERT_HAS_EXPIRED
        else:
            with trusting.wrap_socket(raw, server_hostname=host) as tls:
                cert = tls.getpeercert()
                assert cert is not None
                assert cert["subjectAltName"] == (("IP Address", host),)


def test_ssh_banner(services: Path) -> None:
    with socket.create_connection(SSH_SERVICE, timeout=5) as conn:
        data = b""
        while chunk := conn.recv(256):
            data += chunk
    assert data == b"SSH-2.0-OpenSSH_7.4\r\n"


def test_undeclared_redis(services: Path) -> None:
    with socket.create_connection(REDIS_SERVICE, timeout=5) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(256) == b"-NOAUTH Authentication required.\r\n"


def test_switched_off_standby_refuses(services: Path) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(STANDBY_OFF, timeout=5).close()


def test_check_command(services: Path) -> None:
    result = run_script("check", "--state-dir", str(services))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("UP  ") == len(ALL_LISTENERS)


def test_refuses_a_second_start(services: Path) -> None:
    result = run_script("start", "--state-dir", str(services))
    assert result.returncode == 1
    assert "already running" in result.stderr


def test_stop_leaves_nothing(services: Path) -> None:
    """Runs last in this module: stop, then the process and its listeners are gone."""
    pid = int((services / "services.pid").read_text())
    assert alive(pid)
    result = run_script("stop", "--state-dir", str(services))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not alive(pid)
    assert not (services / "services.pid").exists()
    assert not (services / "services.ready.json").exists()
    assert not any(accepts(a) for a in ALL_LISTENERS)
    assert run_script("check", "--state-dir", str(services)).returncode == 1
