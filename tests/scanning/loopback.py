"""Real loopback services for the scan tests, run as their own process (optionally inside a netns).

``python tests/scanning/loopback.py --spec FILE --ready FILE`` starts the listeners the spec names
and writes the ready file once all of them accept connections; it serves until SIGTERM/SIGINT.
Running them in a separate process lets the same services run inside a network namespace
(``ip netns exec NS python loopback.py …``) next to an nmap that runs there too.

Kinds (each binds only 127.0.0.0/8, which the script checks):

* ``https-old``: TLS 1.0–1.3 with every cipher OpenSSL 3 can still offer (``ALL:@SECLEVEL=0``:
  anonymous and other grade-F suites), an **expired** self-signed certificate for its own IP,
  no security headers. OpenSSL 3.0 here accepts TLS 1.0 once the security level is 0; where the
  library refuses (a build without TLS 1.0), the spec can fall back and the test says so.
* ``https-good``: TLS 1.2+ with default ciphers, a self-signed certificate that **expires in 10
  days** and names another address (``cert_ip``), full security headers.
* ``http-plain``: HTTP without any security header, ``Server: Apache/2.4.29 (Ubuntu)``.
* ``http-redirect``: HTTP answering ``301 Location: https://…`` with full headers.
* ``telnet``: sends a Cisco-style telnet option negotiation (``IAC WILL ECHO …``), as nmap's
  ``-sV`` recognises, then waits a little and hangs up.
* ``banner``: sends one line and hangs up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import ipaddress
import json
import signal
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
FULL_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
TELNET_NEGOTIATION = b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f"


def certificate(
    workdir: Path, name: str, ip: str, *, not_before: dt.datetime, not_after: dt.datetime
) -> tuple[Path, Path]:
    """A self-signed certificate (RSA 2048) for ``ip`` with the given validity, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "secaudit test")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = workdir / f"{name}.crt", workdir / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def tls_context(kind: str, workdir: Path, spec: dict[str, Any]) -> ssl.SSLContext:
    # validity is relative to the test's clock (which CI may move), not this child's system clock
    now = dt.datetime.fromisoformat(spec["now"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if kind == "https-old":
        cert, key = certificate(workdir, f"old-{spec['port']}", spec["address"],
                                not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=20))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    else:
        cert, key = certificate(workdir, f"good-{spec['port']}", spec.get("cert_ip", spec["address"]),
                                not_before=now - dt.timedelta(days=5), not_after=now + dt.timedelta(days=10))
    ctx.load_cert_chain(cert, key)
    return ctx


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, spec: dict[str, Any], handler: type[socketserver.BaseRequestHandler],
                 tls: ssl.SSLContext | None) -> None:
        self.spec = spec
        self.tls = tls
        super().__init__((spec["address"], spec["port"]), handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(5)
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                request.close()
                return
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # scanners send junk; that is the point


class Page(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def version_string(self) -> str:
        return "Apache/2.4.29 (Ubuntu)" if self.server.spec["kind"] == "http-plain" else "secaudit-test"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, body: bool) -> None:
        kind = self.server.spec["kind"]
        data = ("<!DOCTYPE html><html><head><title>Trang thử nghiệm</title></head><body>ok</body></html>").encode()
        if kind == "http-redirect":
            self.send_response(301)
            self.send_header("Location", f"https://{self.server.spec['address']}:8443/")
            data = b""
        else:
            self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if kind in ("https-good", "http-redirect"):
            for name, value in FULL_HEADERS.items():
                self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(True)

    def do_HEAD(self) -> None:
        self._send(False)


class Greeter(socketserver.BaseRequestHandler):
    server: Server

    def handle(self) -> None:
        if self.server.spec["kind"] == "telnet":
            self.request.sendall(TELNET_NEGOTIATION)
            time.sleep(1.0)
        else:
            self.request.sendall(self.server.spec.get("banner", "hello\r\n").encode())


def start(specs: list[dict[str, Any]], workdir: Path) -> list[Server]:
    servers = []
    for spec in specs:
        address = ipaddress.ip_address(spec["address"])
        if address not in LOOPBACK:
            raise SystemExit(f"loopback.py: refusing to bind {address}: only 127.0.0.0/8")
        kind = spec["kind"]
        tls = tls_context(kind, workdir, spec) if kind.startswith("https") else None
        handler = Page if kind.startswith("http") else Greeter
        servers.append(Server(spec, handler, tls))
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--ready", required=True, type=Path)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="secaudit-loopback-") as tmp:
        servers = start(json.loads(args.spec.read_text()), Path(tmp))
        for server in servers:
            with socket.create_connection(server.server_address[:2], timeout=5):
                pass
        args.ready.write_text(json.dumps({"pid": 0, "listening": [list(s.server_address[:2]) for s in servers]}))
        stop.wait(600)  # bounded: a forgotten process ends by itself
        for server in servers:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
