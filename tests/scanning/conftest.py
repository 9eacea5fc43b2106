"""Fixtures for the scanner tests: real loopback services, a marker-writing stand-in binary, netns.

Nothing here mocks nmap. Services are plain sockets on 127.x.y.z addresses (Linux routes all of
127.0.0.0/8 to ``lo``), picked at random from 127.201–250.x.x so parallel runs and the example
services of other tests (127.0.1x.x) do not collide. A "closed" port is a socket that is bound but
never listens: the kernel answers RST, and nobody else can bind it while the test runs.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def scanner_data() -> Path:
    """The folder of nmap XML files recorded from real scans."""
    return DATA


@pytest.fixture(scope="session")
def nmap_path() -> str:
    """Absolute path of the real nmap; the run tests skip when it is not installed."""
    path = shutil.which("nmap")
    if path is None:
        pytest.skip("nmap is not installed (apt-get install nmap)")
    return path


@pytest.fixture
def loopback_ip() -> Callable[[], str]:
    """Return a factory of fresh, random 127.x.y.z addresses."""
    used: set[str] = set()

    def make() -> str:
        while True:
            ip = f"127.{random.randint(201, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
            if ip not in used:
                used.add(ip)
                return ip

    return make


@dataclass
class Service:
    """A listening loopback TCP service."""

    address: str
    port: int


@pytest.fixture
def tcp_service() -> Iterator[Callable[..., Service]]:
    """Start TCP listeners on loopback addresses; each optionally greets clients with a banner."""
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def start(address: str, banner: bytes | None = None) -> Service:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind((address, 0))
        server.listen(32)
        server.settimeout(0.2)
        sockets.append(server)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                with conn:
                    try:
                        if banner is not None:
                            conn.sendall(banner)
                    except OSError:
                        pass

        threading.Thread(target=serve, daemon=True).start()
        return Service(address, server.getsockname()[1])

    yield start
    stop.set()
    for server in sockets:
        server.close()


@pytest.fixture
def closed_port() -> Iterator[Callable[[str], int]]:
    """Reserve a port on an address without listening on it, so connections are refused."""
    sockets: list[socket.socket] = []

    def reserve(address: str) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((address, 0))
        sockets.append(sock)
        return int(sock.getsockname()[1])

    yield reserve
    for sock in sockets:
        sock.close()


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace with ``lo`` up; skipped without root or ``ip netns``."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    if shutil.which("ip") is None:
        pytest.skip("the 'ip' command (iproute2) is not installed")
    name = f"secaudit-t-{uuid.uuid4().hex[:10]}"
    created = _ip("netns", "add", name)
    if created.returncode != 0:
        pytest.skip(f"ip netns is unavailable here: {created.stderr.strip()}")
    try:
        up = _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        if up.returncode != 0:
            pytest.skip(f"cannot bring lo up in {name}: {up.stderr.strip()}")
        yield name
    finally:
        _ip("netns", "del", name)


def netns_exec(name: str, *args: str) -> None:
    """Run a command inside namespace ``name`` and fail the test if it fails."""
    done = _ip("netns", "exec", name, *args)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def in_netns() -> Callable[..., None]:
    """``in_netns(ns, "ip", "route", …)`` runs a setup command inside a namespace."""
    return netns_exec
