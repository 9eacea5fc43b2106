#!/usr/bin/env python3
"""Loopback test services for the secaudit examples (TÀI LIỆU MẪU: fake services, not real systems).

The example inventories in ``examples/inventory/`` declare hosts on loopback addresses
(127.0.x.y). This script makes those hosts answer, so scans, reports and tests have something
real but harmless to look at. It only ever binds addresses inside 127.0.0.0/8 and refuses to
start otherwise. It needs Python 3.11 and the standard library; TLS certificates are made with
the ``openssl`` command (or, if that is missing, with the ``cryptography`` package).

Service map (address:port -> what answers; the inventory file that declares it):

    127.0.10.1:8080  HTTP, LGSP admin page, full security headers      so-khcn / lgsp-tinh
    127.0.10.1:6379  fake Redis, "-NOAUTH ..." reply                    NOT declared anywhere
    127.0.10.2:8443  HTTPS, EXPIRED self-signed certificate, no CSP    so-khcn / cong-ttdt-skhcn
    127.0.11.1:8080  HTTP, public page with NO security headers        so-y-te / hssk-dien-tu
    127.0.12.1:8443  HTTPS, valid self-signed certificate, all headers vp-ubnd-tinh / tthc-tinh
    127.0.12.9:8080  nothing listens (declared standby server, off)    vp-ubnd-tinh / tthc-tinh
    127.0.13.1:2222  SSH-like banner "SSH-2.0-OpenSSH_7.4", then close cong-an-tinh / thu-thap-giam-sat-anm
    127.0.14.1:8080  HTTP, kiosk page, only X-Frame-Options            phuong-thanh-vinh / mot-cua-phuong

Usage:

    python examples/services.py start --state-dir DIR [--foreground]
    python examples/services.py check --state-dir DIR
    python examples/services.py stop  --state-dir DIR

``start`` runs the services in a background process and returns once every listener accepts
connections; ``--foreground`` runs them in this process until SIGTERM or SIGINT. The state
directory receives ``services.pid``, ``services.ready.json`` (what listens where), the
certificates under ``tls/`` and the log ``services.log``. Exit codes: 0 ok, 1 error.
Linux routes all of 127.0.0.0/8 to the loopback interface; on macOS the extra addresses must
first be added (``ifconfig lo0 alias 127.0.10.1`` and so on).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import ipaddress
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
PID_FILE = "services.pid"
READY_FILE = "services.ready.json"
LOG_FILE = "services.log"
START_TIMEOUT = 30.0  # seconds to wait for every listener to accept
CONN_TIMEOUT = 10.0  # seconds of silence before a connection is dropped
MAX_CONNECTIONS = 64  # concurrent connections per listener; more are closed at once

FULL_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@dataclass(frozen=True)
class Service:
    """One listener: where it binds, what kind of answer it gives, and for which example system."""

    host: str
    port: int
    kind: str  # "http" | "https" | "ssh-banner" | "redis"
    agency: str | None
    system: str | None
    title: str = ""
    server_header: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    cert_expired: bool = False
    note: str = ""


SERVICES: tuple[Service, ...] = (
    Service(
        "127.0.10.1", 8080, "http", "so-khcn", "lgsp-tinh",
        title="Nền tảng tích hợp, chia sẻ dữ liệu tỉnh Nghệ An (LGSP) — trang quản trị",
        server_header="nginx", headers=dict(FULL_HEADERS),
        note="HTTP, đủ tiêu đề bảo mật (HSTS vô tác dụng trên HTTP)",
    ),
    Service(
        "127.0.10.1", 6379, "redis", None, None,
        note="Redis giả, KHÔNG khai báo trong kiểm kê (dịch vụ lạ)",
    ),
    Service(
        "127.0.10.2", 8443, "https", "so-khcn", "cong-ttdt-skhcn",
        title="Cổng thông tin điện tử Sở Khoa học và Công nghệ",
        server_header="Apache",
        headers={k: v for k, v in FULL_HEADERS.items() if k != "Content-Security-Policy"},
        cert_expired=True,
        note="HTTPS, chứng thư tự ký ĐÃ HẾT HẠN, thiếu CSP",
    ),
    Service(
        "127.0.11.1", 8080, "http", "so-y-te", "hssk-dien-tu",
        title="Tra cứu hồ sơ sức khỏe điện tử — Sở Y tế Nghệ An",
        server_header="Apache/2.4.29 (Ubuntu)", headers={},
        note="HTTP công khai, không có tiêu đề bảo mật nào, lộ phiên bản máy chủ",
    ),
    Service(
        "127.0.12.1", 8443, "https", "vp-ubnd-tinh", "tthc-tinh",
        title="Hệ thống thông tin giải quyết thủ tục hành chính tỉnh Nghệ An",
        server_header="nginx", headers=dict(FULL_HEADERS),
        note="HTTPS, chứng thư tự ký còn hạn, đủ tiêu đề bảo mật",
    ),
    Service(
        "127.0.13.1", 2222, "ssh-banner", "cong-an-tinh", "thu-thap-giam-sat-anm",
        note="Biểu ngữ SSH OpenSSH 7.4 (cũ) rồi đóng kết nối",
    ),
    Service(
        "127.0.14.1", 8080, "http", "phuong-thanh-vinh", "mot-cua-phuong",
        title="Tra cứu hồ sơ — Bộ phận Một cửa phường Thành Vinh",
        server_header="Microsoft-IIS/8.5", headers={"X-Frame-Options": "SAMEORIGIN"},
        note="HTTP nội bộ, chỉ có X-Frame-Options",
    ),
)

# Declared in the inventory but deliberately left without a listener.
DECLARED_CLOSED: tuple[tuple[str, int, str], ...] = (
    ("127.0.12.9", 8080, "vp-ubnd-tinh / tthc-tinh: máy chủ dự phòng, tắt"),
)

SSH_BANNER = b"SSH-2.0-OpenSSH_7.4\r\n"
REDIS_NOAUTH = b"-NOAUTH Authentication required.\r\n"


def require_loopback(host: str) -> None:
    """Refuse any address outside 127.0.0.0/8: these fake services must never face a network."""
    address = ipaddress.ip_address(host)
    if address.version != 4 or address not in LOOPBACK:
        raise SystemExit(f"services.py: refusing to bind {host}: only 127.0.0.0/8 is allowed")
    assert address in LOOPBACK


def log(message: str) -> None:
    """One timestamped line on stderr (the log file when running in the background)."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- certificates


def make_certificate(tls_dir: Path, host: str, *, expired: bool) -> tuple[Path, Path]:
    """Create a self-signed certificate for ``host`` (CN and IP SAN); expired ones lie in the past."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert, key = tls_dir / f"{host}.crt", tls_dir / f"{host}.key"
    if shutil.which("openssl"):
        _openssl_certificate(cert, key, host, expired=expired)
    else:
        _cryptography_certificate(cert, key, host, expired=expired)
    key.chmod(0o600)
    return cert, key


def _run_openssl(args: list[str], cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _openssl_certificate(cert: Path, key: Path, host: str, *, expired: bool) -> None:
    # `openssl req -x509` only learnt -not_before/-not_after in 3.4, so dates in the past go
    # through `openssl ca -selfsign`, which has had -startdate/-enddate for a long time.
    now = dt.datetime.now(dt.UTC)
    if expired:
        start, end = now - dt.timedelta(days=400), now - dt.timedelta(days=35)
    else:
        start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=365)
    with tempfile.TemporaryDirectory(prefix="services-ca-") as tmp:
        work = Path(tmp)
        (work / "index.txt").write_text("")
        (work / "serial").write_text("01" + os.urandom(8).hex() + "\n")
        config = work / "openssl.cnf"
        config.write_text(
            "[ ca ]\ndefault_ca = example_ca\n"
            "[ example_ca ]\n"
            f"dir = {work}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir\nserial = $dir/serial\n"
            "default_md = sha256\npolicy = any_policy\nunique_subject = no\ncopy_extensions = none\n"
            "[ any_policy ]\norganizationName = optional\ncommonName = supplied\n"
            "[ req ]\ndistinguished_name = dn\nprompt = no\n"
            f"[ dn ]\nO = secaudit examples (TAI LIEU MAU)\nCN = {host}\n"
            "[ server_ext ]\nbasicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            f"extendedKeyUsage = serverAuth\nsubjectAltName = IP:{host}\n",
            encoding="utf-8",
        )
        _run_openssl(
            ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-config", str(config),
             "-keyout", str(key), "-out", str(work / "req.csr")],
            work,
        )
        _run_openssl(
            ["ca", "-batch", "-selfsign", "-notext", "-config", str(config), "-keyfile", str(key),
             "-extensions", "server_ext", "-in", str(work / "req.csr"), "-out", str(cert),
             "-startdate", start.strftime("%Y%m%d%H%M%SZ"), "-enddate", end.strftime("%Y%m%d%H%M%SZ")],
            work,
        )


def _cryptography_certificate(cert: Path, key: Path, host: str, *, expired: bool) -> None:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise SystemExit("services.py: need the `openssl` command or the `cryptography` package for TLS") from None
    now = dt.datetime.now(dt.UTC)
    start, end = (now - dt.timedelta(days=400), now - dt.timedelta(days=35)) if expired else (
        now - dt.timedelta(days=1), now + dt.timedelta(days=365))
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "secaudit examples (TAI LIEU MAU)"),
        x509.NameAttribute(NameOID.COMMON_NAME, host),
    ])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


# --------------------------------------------------------------------------- servers


class GuardedServer(socketserver.ThreadingTCPServer):
    """A threaded TCP server that survives scanners: bounded, time-limited, errors logged per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, service: Service, handler: type[socketserver.BaseRequestHandler],
                 tls: ssl.SSLContext | None = None) -> None:
        require_loopback(service.host)
        self.service = service
        self.tls = tls
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((service.host, service.port), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: drop, do not queue threads
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(CONN_TIMEOUT)
        if self.tls is not None:
            # Handshake in the connection's own thread, so a silent client never blocks accept().
            request = self.tls.wrap_socket(request, server_side=True)
        try:
            super().finish_request(request, client_address)
        finally:
            if self.tls is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        log(f"{self.service.host}:{self.service.port} connection from {client_address[0]}: "
            f"{type(exc).__name__}: {exc}")


class PageHandler(http.server.BaseHTTPRequestHandler):
    """A one-page Vietnamese website; the headers come from the server's ``Service``."""

    protocol_version = "HTTP/1.1"
    server: GuardedServer
    error_content_type = "text/html; charset=utf-8"
    error_message_format = (
        '<!DOCTYPE html>\n<html lang="vi">\n<head><meta charset="utf-8"><title>Lỗi %(code)d</title></head>\n'
        "<body>\n<h1>Lỗi %(code)d</h1>\n<p>%(message)s</p>\n</body>\n</html>\n"
    )

    def version_string(self) -> str:
        return self.server.service.server_header or "secaudit-example"

    def log_message(self, format: str, *args: Any) -> None:
        log(f"{self.server.service.host}:{self.server.service.port} {self.address_string()} {format % args}")

    def _page(self) -> tuple[int, bytes]:
        service = self.server.service
        if self.path.split("?", 1)[0] in ("/", "/index.html"):
            status, heading = 200, service.title
            body = ("<p>Đây là <strong>trang mẫu</strong> do <code>examples/services.py</code> giả lập "
                    "cho bộ ví dụ của secaudit (TÀI LIỆU MẪU). Không phải hệ thống thật.</p>"
                    f"<p>Cơ quan: {service.agency} — hệ thống: {service.system}.</p>")
        else:
            status, heading = 404, "Không tìm thấy trang"
            body = "<p>Trang bạn yêu cầu không tồn tại.</p>"
        html = (f'<!DOCTYPE html>\n<html lang="vi">\n<head><meta charset="utf-8"><title>{heading}</title></head>\n'
                f"<body>\n<h1>{heading}</h1>\n{body}\n</body>\n</html>\n")
        return status, html.encode("utf-8")

    def _send(self, with_body: bool) -> None:
        status, data = self._page()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in self.server.service.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(with_body=True)

    def do_HEAD(self) -> None:
        self._send(with_body=False)


class SshBannerHandler(socketserver.BaseRequestHandler):
    """Sends an old OpenSSH identification string and hangs up, like a server refusing to talk."""

    def handle(self) -> None:
        self.request.sendall(SSH_BANNER)


class RedisHandler(socketserver.BaseRequestHandler):
    """Answers the first commands with Redis's NOAUTH error (a password-protected Redis), then hangs up.

    Hanging up after one reply keeps version scans short: nmap otherwise waits out its full
    timeout on every probe of a connection that answers but stays open.
    """

    def handle(self) -> None:
        data = self.request.recv(4096)
        if data:
            self.request.sendall(REDIS_NOAUTH * min(self.commands(data), 16))

    @staticmethod
    def commands(data: bytes) -> int:
        """How many commands a chunk holds: RESP arrays (``*N``) or inline lines; at least one."""
        lines = [line for line in data.split(b"\n") if line.strip()]
        if data.startswith(b"*"):
            return max(1, sum(1 for line in lines if line.startswith(b"*")))
        return max(1, len(lines))


def build_servers(state_dir: Path) -> list[GuardedServer]:
    """Bind every listener (certificates first); a failure closes whatever was already bound."""
    servers: list[GuardedServer] = []
    try:
        for service in SERVICES:
            require_loopback(service.host)
            tls = None
            handler: type[socketserver.BaseRequestHandler]
            if service.kind in ("http", "https"):
                handler = PageHandler
            elif service.kind == "ssh-banner":
                handler = SshBannerHandler
            elif service.kind == "redis":
                handler = RedisHandler
            else:
                raise ValueError(f"unknown service kind {service.kind}")
            if service.kind == "https":
                cert, key = make_certificate(state_dir / "tls", service.host, expired=service.cert_expired)
                tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                tls.load_cert_chain(cert, key)
            try:
                servers.append(GuardedServer(service, handler, tls))
            except OSError as exc:
                where = f"{service.host}:{service.port}"
                raise SystemExit(f"services.py: cannot listen on {where}: {exc.strerror}") from None
    except BaseException:
        for server in servers:
            server.server_close()
        raise
    return servers


def ready_document(state_dir: Path) -> dict[str, Any]:
    """What listens where, as written to the ready file and printed by ``check``."""
    listeners = []
    for s in SERVICES:
        entry: dict[str, Any] = {
            "address": s.host, "port": s.port, "protocol": "tcp", "kind": s.kind,
            "agency": s.agency, "system": s.system, "declared": s.agency is not None, "note": s.note,
        }
        if s.kind in ("http", "https"):
            entry["security_headers"] = sorted(s.headers)
        if s.kind == "https":
            entry["certificate"] = str(state_dir / "tls" / f"{s.host}.crt")
            entry["certificate_expired"] = s.cert_expired
        listeners.append(entry)
    closed = [{"address": h, "port": p, "note": n} for h, p, n in DECLARED_CLOSED]
    return {"pid": os.getpid(), "listeners": listeners, "declared_not_listening": closed}


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run_foreground(state_dir: Path) -> int:
    """Serve until SIGTERM/SIGINT; pid and ready files exist exactly while serving."""
    state_dir.mkdir(parents=True, exist_ok=True)
    existing = running_pid(state_dir)
    if existing is not None and existing != os.getpid():
        log(f"already running with pid {existing} (state dir {state_dir})")
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    servers = build_servers(state_dir)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                name=f"{s.service.host}:{s.service.port}", daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    pid_path, ready_path = state_dir / PID_FILE, state_dir / READY_FILE
    write_atomically(pid_path, f"{os.getpid()}\n")
    document = ready_document(state_dir)
    write_atomically(ready_path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    for entry in document["listeners"]:
        log(f"listening {entry['address']}:{entry['port']} {entry['kind']} - {entry['note']}")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        log("stopping")
        for server in servers:
            server.shutdown()
            server.server_close()
        for path in (ready_path, pid_path):
            if read_pid(pid_path) in (os.getpid(), None):
                path.unlink(missing_ok=True)
    return 0


# --------------------------------------------------------------------------- control


def read_pid(pid_path: Path) -> int | None:
    try:
        return int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None


def is_ours(pid: int) -> bool:
    """True if ``pid`` is alive and is this script (guards against a recycled pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return Path(__file__).name.encode() in cmdline.read_bytes()
        except OSError:
            return False
    return True  # no /proc (macOS): trust the pid file


def running_pid(state_dir: Path) -> int | None:
    pid = read_pid(state_dir / PID_FILE)
    return pid if pid is not None and is_ours(pid) else None


def accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_background(state_dir: Path) -> int:
    """Start the foreground server as a detached child; return once every listener accepts."""
    state_dir.mkdir(parents=True, exist_ok=True)
    pid = running_pid(state_dir)
    if pid is not None:
        print(f"services already running (pid {pid}); stop them first", file=sys.stderr)
        return 1
    (state_dir / READY_FILE).unlink(missing_ok=True)
    log_path = state_dir / LOG_FILE
    with open(log_path, "ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "start", "--foreground",
             "--state-dir", str(state_dir)],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    pending = {(s.host, s.port) for s in SERVICES}
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            print(f"services exited with code {child.returncode} during start; log {log_path}:",
                  file=sys.stderr)
            print("\n".join(tail), file=sys.stderr)
            return 1
        if (state_dir / READY_FILE).exists():
            pending = {(h, p) for h, p in pending if not accepts(h, p)}
            if not pending:
                print(f"services started (pid {child.pid}); listeners in {state_dir / READY_FILE}")
                return 0
        time.sleep(0.1)
    print(f"services did not become ready within {START_TIMEOUT:.0f} s; still waiting on "
          f"{sorted(pending)}; stopping pid {child.pid}", file=sys.stderr)
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
    return 1


def stop(state_dir: Path) -> int:
    """SIGTERM the process in the pid file and wait for it; SIGKILL after 10 s."""
    pid = running_pid(state_dir)
    if pid is None:
        print("services are not running")
        (state_dir / PID_FILE).unlink(missing_ok=True)
        (state_dir / READY_FILE).unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and is_ours(pid):
        time.sleep(0.1)
    if is_ours(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    (state_dir / PID_FILE).unlink(missing_ok=True)
    (state_dir / READY_FILE).unlink(missing_ok=True)
    print(f"services stopped (pid {pid})")
    return 0


def check(state_dir: Path) -> int:
    """Print which listeners accept connections; 0 if all of them do."""
    pid = running_pid(state_dir)
    print(f"pid: {pid if pid is not None else 'not running'}")
    ok = pid is not None
    for s in SERVICES:
        up = accepts(s.host, s.port)
        ok = ok and up
        print(f"{'UP  ' if up else 'DOWN'} {s.host}:{s.port:<5} {s.kind:<10} {s.note}")
    for host, port, note in DECLARED_CLOSED:
        up = accepts(host, port)
        print(f"{'UP?!' if up else 'off '} {host}:{port:<5} {'(none)':<10} {note}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Loopback test services for the secaudit examples.")
    parser.add_argument("command", choices=("start", "stop", "check"))
    parser.add_argument("--state-dir", required=True, type=Path, help="pid, ready file, certificates and log")
    parser.add_argument("--foreground", action="store_true", help="with start: serve in this process")
    args = parser.parse_args(argv)
    for service in SERVICES:
        require_loopback(service.host)
    state_dir = args.state_dir.resolve()
    if args.command == "start":
        return run_foreground(state_dir) if args.foreground else start_background(state_dir)
    if args.command == "stop":
        return stop(state_dir)
    return check(state_dir)


if __name__ == "__main__":
    sys.exit(main())
