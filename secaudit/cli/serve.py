"""``secaudit serve``: the workspace in a browser (issue 18).

Binds 127.0.0.1 by default. Any other address reaches other machines, so it needs TLS
(``--tls-cert``/``--tls-key``) or an explicit ``--insecure-http``. starlette and uvicorn are imported
only when the command runs, so ``secaudit --help`` stays light.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from secaudit.cli import _note, cli, workspace_option
from secaudit.errors import InputError


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, tls_cert: Path | None, tls_key: Path | None, insecure_http: bool) -> bool:
    """Refuse an exposed plain-HTTP server unless asked for; returns whether TLS is on."""
    if (tls_cert is None) != (tls_key is None):
        raise InputError("Cần cả --tls-cert và --tls-key", en="give both --tls-cert and --tls-key")
    tls = tls_cert is not None
    if not tls and not insecure_http and not is_loopback(host):
        raise InputError(
            f"Địa chỉ {host} cho máy khác truy cập: mật khẩu và phiên đăng nhập sẽ đi qua mạng không mã hóa."
            " Hãy dùng --tls-cert/--tls-key, hoặc nêu rõ --insecure-http nếu mạng đã được bảo vệ cách khác",
            en=f"{host} is reachable from other machines: give --tls-cert/--tls-key, or --insecure-http "
               "if the network is protected otherwise")
    return tls


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ lắng nghe (khác 127.0.0.1 thì cần TLS hoặc --insecure-http). / Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Cổng. / Port.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Chứng thư TLS (PEM). / TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Khóa riêng TLS (PEM). / TLS private key (PEM).")
@click.option("--insecure-http", is_flag=True,
              help="Cho phép HTTP không mã hóa trên địa chỉ không phải loopback. / Allow plain HTTP off loopback.")
@workspace_option
def serve(host: str, port: int, tls_cert: Path | None, tls_key: Path | None, insecure_http: bool,
          workspace: str | None) -> None:
    """Mở workspace trên trình duyệt (đăng nhập bằng tài khoản 'secaudit user add'). / Serve the workspace."""
    from secaudit.services.accounts import has_users
    from secaudit.services.workspace import open_workspace

    tls = check_binding(host, tls_cert, tls_key, insecure_http)
    ws = open_workspace(workspace)  # fails with the usual message when there is no workspace; migrates
    try:
        root = ws.root
        if not has_users(ws):
            _note("Chưa có tài khoản nào: tạo bằng 'secaudit user add TÊN --role admin' / no accounts yet: "
                  "create one with 'secaudit user add NAME --role admin'")
    finally:
        ws.close()
    import uvicorn

    from secaudit.web.site import create_app

    app = create_app(root, secure_cookies=tls)
    shown = f"[{host}]" if ":" in host else host
    _note(f"secaudit serve: {'https' if tls else 'http'}://{shown}:{port}/ (Ctrl+C để dừng / to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False,
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None,
                proxy_headers=False)
