"""Scanning commands: ``scan AGENCY``, ``scan import``, ``scan diff``, ``scan list`` and ``findings``."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import click

from secaudit.cli import (
    HOST_STATE_LABELS,
    SCAN_STATUS_LABELS,
    _emit,
    _note,
    _open,
    cli,
    format_rows,
    output_options,
    ui_lang,
    workspace_options,
)
from secaudit.errors import SecauditError

EXIT_INTERRUPTED = 130


class ScanGroup(click.Group):
    """``scan AGENCY …`` scans an agency; ``scan import|diff|list`` are subcommands.

    Anything that is not a subcommand name goes to the hidden default command ``agency``, so the
    original ``secaudit scan AGENCY`` form keeps working.
    """

    default = "agency"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


class ProgressLine:
    """One self-rewriting line on the terminal: hosts done / total, processes, elapsed, nmap's percent.

    Only used when stderr is a terminal; scripts and CI logs stay quiet.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.width = 0

    def __call__(self, p: Any) -> None:
        minutes, seconds = divmod(int(p.elapsed), 60)
        parts = [f"{p.agency}: {p.hosts_done}/{p.hosts_total} máy chủ / hosts", f"{minutes:02d}:{seconds:02d}"]
        if p.groups_total > 1:
            parts.insert(1, f"{p.groups_done}/{p.groups_total} tiến trình nmap")
        if p.percent is not None:
            parts.append(f"{p.task or 'nmap'} {p.percent:.0f}%")
        text = " · ".join(parts)[:150]
        with self.lock:
            self.stream.write("\r" + text.ljust(self.width))
            self.stream.flush()
            self.width = len(text)

    def close(self) -> None:
        with self.lock:
            if self.width:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()
                self.width = 0


def _command(ctx: click.Context) -> dict[str, Any]:
    """The secaudit command as the operator gave it (recorded with the scan)."""
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in ctx.params.items()
              if k not in ("workspace", "actor") and v not in (None, False, ())}
    return {"command": ctx.command_path.replace(" agency", ""), "params": params}


def _label(table: dict[str, tuple[str, str]], code: str) -> tuple[str, str]:
    """(Vietnamese, English) for a coded value; an unknown code stands for itself in both."""
    return table.get(code, (code, code))


@cli.group(cls=ScanGroup)
def scan() -> None:
    """Quét máy chủ đã khai báo bằng nmap; nhập, so sánh kết quả quét. / Scan declared hosts; import, compare.

    \b
    secaudit scan AGENCY [--system S] [--profile nhanh|tieu-chuan|web|FILE.yaml] [--jobs N]
                         [--scope FILE] [--allow-large] [--syn]
    secaudit scan --all | --agency A [--agency B …] [--profile P] [--jobs N] [--allow-large] [--syn]
    secaudit scan import FILE.xml --system S [--agency A] [--scope FILE]
    secaudit scan diff SCAN_A SCAN_B
    secaudit scan list [--agency A]

    Tuỳ chọn của lệnh quét: 'secaudit scan agency --help'. Ctrl-C giữ phần đã quét xong, mã thoát 130.
    Options of the scan itself: 'secaudit scan agency --help'. Ctrl-C keeps what finished, exit 130.
    """


@scan.command("agency", hidden=True)
@click.argument("agency", required=False)
@click.option("--all", "all_agencies", is_flag=True,
              help="Quét mọi cơ quan trong một lượt. / Scan every agency in one pass.")
@click.option("--agency", "agencies", multiple=True,
              help="Quét các cơ quan này trong một lượt (lặp lại được). / Scan these agencies in one pass.")
@click.option("--system", default=None, help="Chỉ quét hệ thống này. / Only this system.")
@click.option("--profile", "scan_profile", default="nhanh", show_default=True,
              help="Hồ sơ quét (nhanh, tieu-chuan, web) hoặc tệp YAML. / Scan profile id or YAML file.")
@click.option("--scope", "scope_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Tệp phạm vi được phép quét (ai cho phép, đến ngày nào, mục tiêu). / Authorised scope file.")
@click.option("--allow-large", is_flag=True, help="Cho phép dải địa chỉ rộng hơn giới hạn (/24). / Allow wide ranges.")
@click.option("--jobs", "-j", type=click.IntRange(1, 8), default=None,
              help="Số tiến trình nmap chạy song song (mặc định 1; 2 với --all/--agency). / Parallel nmap"
                   " processes (default 1; 2 with --all/--agency).")
@click.option("--syn", is_flag=True, help="Quét SYN (-sS), chỉ khi chạy với quyền root. / SYN scan, root only.")
@click.option("--progress/--no-progress", default=None,
              help="Hiện tiến độ (mặc định: khi stderr là terminal). / Progress display (default: on a terminal).")
@workspace_options
@click.pass_context
def scan_agency(ctx: click.Context, agency: str | None, all_agencies: bool, agencies: tuple[str, ...],
                system: str | None, scan_profile: str, scope_file: Path | None, allow_large: bool, jobs: int | None,
                syn: bool, progress: bool | None, workspace: str | None, actor: str | None) -> None:
    """Quét các địa chỉ đã khai báo bằng nmap, lưu kết quả làm minh chứng. / Scan declared hosts with nmap."""
    from secaudit.services import scanning as service

    chosen = [agency] if agency else []
    if all_agencies or agencies:
        if agency or (all_agencies and agencies):
            raise click.UsageError("dùng AGENCY, --all hoặc --agency, không kết hợp / give AGENCY, --all or --agency")
        if system or scope_file:
            raise click.UsageError("--system và --scope chỉ dùng khi quét một cơ quan (scan AGENCY)"
                                   " / --system and --scope only with a single agency")
        # two processes at once: on two cores, measured 0.89× one at a time when the plan needs two
        _scan_province(ctx, list(agencies) or None, scan_profile, allow_large, jobs or 2, syn, workspace, actor)
        return
    if not chosen:
        raise click.UsageError("cần AGENCY, --all hoặc --agency A / give AGENCY, --all or --agency A")
    agency = chosen[0]
    ws = _open(workspace)
    show = sys.stderr.isatty() if progress is None else progress
    line = ProgressLine(sys.stderr) if show else None
    _note(f"Đang quét {agency} (hồ sơ {scan_profile})… / scanning")
    try:
        out = service.scan_agency(ws, agency, system=system, profile=scan_profile, actor=actor,
                                  scope_file=scope_file, allow_large=allow_large, jobs=jobs or 1, syn=syn,
                                  progress=line,
                                  command=_command(ctx))
    finally:
        if line is not None:
            line.close()
    for one in out.scans:
        label = f" [{one.system}]" if one.system else ""
        for address, state in one.hosts.items():
            vi, en = _label(HOST_STATE_LABELS, state)
            _note(f"  #{one.scan_id}{label} {address}: {vi} / {en}")
    vi, en = _label(SCAN_STATUS_LABELS, out.status)
    _note(f"Quét {agency}: {vi}; {out.open_ports} cổng mở, {out.findings} phát hiện; lần quét "
          f"{', '.join('#' + str(o.scan_id) for o in out.scans)} / {en}, {out.open_ports} open ports,"
          f" {out.findings} findings")
    if out.interrupted:
        _note("Đã ngắt: phần đã quét xong được lưu, lần quét đánh dấu chưa hoàn tất"
              " / interrupted: partial results kept")
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if out.status != "complete":
        raise SecauditError(f"Lần quét không hoàn tất: {out.error or out.status}", en=f"scan incomplete ({out.status})")


def _scan_province(ctx: click.Context, agencies: list[str] | None, scan_profile: str, allow_large: bool, jobs: int,
                   syn: bool, workspace: str | None, actor: str | None) -> None:
    """``scan --all`` / ``scan --agency A --agency B``: one pass, one line per agency as it is scanned."""
    from secaudit.services import scanning as service

    lock = threading.Lock()

    def on_progress(p: Any) -> None:
        if p.finished:
            minutes, seconds = divmod(int(p.elapsed), 60)
            with lock:
                _note(f"  [{p.agencies_done}/{p.agencies_total}] {p.agency}: đã quét {p.hosts_done}/{p.hosts_total}"
                      f" máy chủ / hosts scanned ({minutes:02d}:{seconds:02d})")
                if p.hosts_done < p.hosts_total:
                    _note("    (nmap không báo kết quả cho số còn lại / nmap reported nothing on the rest)")

    ws = _open(workspace)
    _note(f"Đang quét {'mọi cơ quan' if agencies is None else ', '.join(agencies)} trong một lượt"
          f" (hồ sơ {scan_profile})… / scanning in one pass")
    out = service.scan_province(ws, agencies, profile=scan_profile, actor=actor, allow_large=allow_large, jobs=jobs,
                                syn=syn, progress=on_progress, command=_command(ctx))
    for code, one in out.agencies.items():
        vi, en = _label(SCAN_STATUS_LABELS, one.status)
        _note(f"  {code}: {vi}; {one.open_ports} cổng mở, {one.findings} phát hiện; lần quét "
              f"{', '.join('#' + str(o.scan_id) for o in one.scans)} / {en}, {one.open_ports} open ports,"
              f" {one.findings} findings")
    if out.skipped:
        _note(f"Bỏ qua {len(out.skipped)} cơ quan chưa khai báo máy chủ: {', '.join(out.skipped[:10])}"
              f"{' …' if len(out.skipped) > 10 else ''} / skipped, no declared hosts")
    vi, en = _label(SCAN_STATUS_LABELS, out.status)
    _note(f"Quét {len(out.agencies)} cơ quan bằng {out.processes} tiến trình nmap: {vi}"
          f" / {len(out.agencies)} agencies, {out.processes} nmap processes: {en}")
    if out.interrupted:
        _note("Đã ngắt: phần đã quét xong được lưu, lần quét đánh dấu chưa hoàn tất"
              " / interrupted: partial results kept")
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if out.status != "complete":
        failed = [code for code, one in out.agencies.items() if one.status != "complete"]
        raise SecauditError(f"Lần quét không hoàn tất ở {len(failed)} cơ quan: {', '.join(failed[:10])}",
                            en=f"scan incomplete for {len(failed)} agencies ({out.status})")


@scan.command("import")
@click.argument("xml_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--system", required=True, help="Hệ thống được quét. / The system the scan covers.")
@click.option("--agency", default=None, help="Cơ quan (khi mã hệ thống trùng). / Agency, when the code is ambiguous.")
@click.option("--scope", "scope_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Phạm vi được phép cho máy chủ ngoài khai báo. / Authorised scope for undeclared hosts.")
@click.option("--profile", "scan_profile", default="nhanh", show_default=True,
              help="Hồ sơ quét cho thời hạn giá trị kết quả. / Scan profile (for the freshness window).")
@workspace_options
@click.pass_context
def scan_import(ctx: click.Context, xml_file: Path, system: str, agency: str | None, scope_file: Path | None,
                scan_profile: str, workspace: str | None, actor: str | None) -> None:
    """Nhập tệp XML nmap quét ở nơi khác, kiểm tra như lần quét thường. / Import an nmap XML made elsewhere."""
    from secaudit.services import scanning as service

    out = service.import_scan(workspace, xml_file, system=system, agency=agency, actor=actor, scope_file=scope_file,
                              profile=scan_profile, command=_command(ctx))
    vi, en = _label(SCAN_STATUS_LABELS, out.status)
    _note(f"Đã nhập lần quét #{out.scan_id}: {vi}; {len(out.hosts)} máy chủ, {out.open_ports} cổng mở,"
          f" {out.findings} phát hiện / imported scan #{out.scan_id}: {en}, {len(out.hosts)} hosts,"
          f" {out.findings} findings")


@scan.command("diff")
@click.argument("scan_a", type=int)
@click.argument("scan_b", type=int)
@output_options
@workspace_options
def scan_diff(scan_a: int, scan_b: int, fmt: str, workspace: str | None, actor: str | None) -> None:
    """So sánh hai lần quét: phát hiện mới, đã khắc phục, thay đổi; cổng mở/đóng. / Compare two scans."""
    from secaudit.services import scanning as service

    rows = service.diff_scans(workspace, scan_a, scan_b)
    _emit(format_rows(rows, fmt))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["change"]] = counts.get(r["change"], 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in counts.items()) or "không thay đổi / no change"
    _note(f"#{scan_a} → #{scan_b}: {summary}")


@scan.command("list")
@click.option("--agency", default=None, help="Chỉ cơ quan này. / Only this agency.")
@output_options
@workspace_options
def scan_list(agency: str | None, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Liệt kê các lần quét đã lưu. / List recorded scans."""
    from secaudit.services import scanning as service

    _emit(format_rows(service.list_scans(workspace, agency), fmt))


@cli.command()
@click.option("--agency", default=None, help="Chỉ cơ quan này. / Only this agency.")
@click.option("--system", default=None, help="Chỉ hệ thống này. / Only this system.")
@click.option("--status", type=click.Choice(["open", "new", "resolved", "all"]), default="open", show_default=True,
              help="open: còn tồn tại; new: mới ở lần quét gần nhất; resolved: đã khắc phục. / Finding status.")
@output_options
@workspace_options
def findings(agency: str | None, system: str | None, status: str, fmt: str, workspace: str | None,
             actor: str | None) -> None:
    """Phát hiện qua các lần quét: lần đầu, lần cuối thấy, đã khắc phục. / Findings over time."""
    from secaudit.requirements.results import reader_reason
    from secaudit.services import scanning as service

    rows = service.list_findings(workspace, agency=agency, system=system, status=status)
    if fmt == "table":
        rows = [{"id": r["id"], "agency": r["agency"], "system": r["system"], "address": r["address"],
                 "port": r["port"], "severity": r["severity"], "rule": r["rule"],
                 "status": r["status"] + (" (cũ/stale)" if r["stale"] else ""), "first_seen": r["first_seen"],
                 "last_seen": r["last_seen"], "resolved": r["resolved_at"] or "",
                 "detail": reader_reason(r["detail"] or "", ui_lang())[:60]}
                for r in rows]
    _emit(format_rows(rows, fmt))
