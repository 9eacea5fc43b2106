"""Benchmark: report rendering against bare weasyprint on the same HTML.

Two synthetic workspaces (made here, written through the store like real data):

* one agency with 20 systems, 200 open scan findings, 40 evidence files and answers;
* a province of 150 agencies with 1,500 systems (10 each), every agency answered in part.

Measured, each in a fresh Python process so peak memory is that of one render:

* ``agency-pdf``      secaudit end to end: evaluate, build, HTML, PDF/A-3b with the manifest and scan XML;
* ``agency-bare``     ``weasyprint.HTML(string=…).write_pdf()`` on the same HTML (plain PDF, default options);
* ``agency-docx``     the same report as a Word document (python-docx; no weasyprint);
* ``province-pdf``    the roll-up end to end (150 evaluations, matrix, PDF/A-3b);
* ``province-bare``   bare weasyprint on the same roll-up HTML;
* ``province-html``   the interactive roll-up page (evaluations + template only).

Prints a Markdown table of medians (wall time, the process's CPU time over the same span — steadier than
wall time when other work shares the machine —, pages, pages/s, peak RSS) and the ratio to bare weasyprint.
Usage: ``.venv/bin/python bench/bench_report.py [--runs 5] [--workdir DIR] [--only agency|province]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = dt.date(2026, 5, 1)
#: The synthetic data is written "before" the scan it reports on (secaudit's clock, ``$SECAUDIT_NOW``): hosts
#: declared after the scan would add a "declared after the latest scan" note to every system.
WRITTEN_AT = "2026-04-20T09:00:00+07:00"
ROOT = Path(__file__).resolve().parent.parent


# -- synthetic data ------------------------------------------------------------------------------
def _agency(code: str, name: str, systems: int, first_octet: int) -> dict:
    return {
        "code": code, "name": name, "kind": "so-ban-nganh", "parent": "UBND TỈNH NGHỆ AN", "symbol": code.upper()[:8],
        "private_data_centre": False,
        "security_contact": {"name": "Nguyễn Văn Đầu Mối", "title": "Chuyên viên"},
        "signer": {"authority": "KT.", "on_behalf_of": "GIÁM ĐỐC", "title": "PHÓ GIÁM ĐỐC", "name": "Trần Thị Ký"},
        "recipients": ["Công an tỉnh (PA05)", "Lưu: VT"],
        "systems": [{
            "code": f"he-thong-{i:02d}", "name": f"Hệ thống thông tin số {i} của {name}",
            "purpose": "Phục vụ quản lý, điều hành và cung cấp dịch vụ công trực tuyến", "critical": i % 3 == 0,
            "admin_procedures": i % 2 == 0, "online_service": i % 2 == 0, "users": 1000 * i,
            "hosting": "trung-tam-du-lieu-tinh",
            "level": ({"proposed": 3, "approved": 3, "dossier_state": "da-phe-duyet", "decision_number": f"{i}/QĐ-X",
                       "decision_date": "2026-03-01"} if i % 2 else {"proposed": 2, "dossier_state": "da-lap"}),
            "hosts": [{"address": f"127.0.{first_octet}.{i + 1}", "ports": [{"port": 443}]}],
        } for i in range(systems)],
    }


def build_agency_workspace(root: Path) -> None:
    """One agency, 20 systems, 200 findings from one scan, 40 evidence files, a few answers."""
    from secaudit.inventory import records as inventory
    from secaudit.inventory.models import Agency
    from secaudit.requirements import answers as assess
    from secaudit.store.workspace import Workspace, dumps, now

    ws = Workspace.create(root)
    inventory.import_agencies(ws, [Agency.model_validate(_agency("so-thu-nghiem", "Sở Thử Nghiệm", 20, 60))],
                              actor="bench", source="bench")
    files = root.parent / "evidence-files"
    files.mkdir(exist_ok=True)
    for i in range(20):
        paths = []
        for j in range(2):
            p = files / f"bien-ban-{i:02d}-{j}.pdf"
            p.write_bytes(f"%PDF-1.4 bien ban {i} {j}\n".encode() * 50)
            paths.append(p)
        assess.record_answer(ws, agency="so-thu-nghiem", system=f"he-thong-{i:02d}", checklist="kh04-bcdtw",
                             item="t1-lo-hong", status="dat", note="đã khắc phục", files=paths, actor="bench",
                             kind="bien-ban", effective=dt.date(2026, 4, 1))
    xml = b'<?xml version="1.0"?><nmaprun scanner="nmap" version="7.93">' + b"<!-- synthetic -->" * 2000 + b"</nmaprun>"
    with ws.transaction() as db:
        with_refs = "bears_on" in db["findings"].columns_dict
        sha = ws.store_blob(xml, media_type="application/xml")
        scan_id = db["scans"].insert({
            "agency": "so-thu-nghiem", "system": "", "profile": "nhanh", "status": "complete",
            "started": "2026-04-28T08:00:00+00:00", "finished": "2026-04-28T08:05:00+00:00",
            "argv": dumps(["nmap", "-sT", "-p", "1-1024", "--", "127.0.60.0/27"]), "nmap_version": "7.93",
            "operator": "bench", "xml_sha256": sha, "targets": dumps([])}).last_pk
        for i in range(20):
            hid = db["scan_hosts"].insert({"scan_id": scan_id, "system": f"he-thong-{i:02d}",
                                           "address": f"127.0.60.{i + 1}", "declared": 1, "state": "up",
                                           "reason": "syn-ack"}).last_pk
            for k in range(10):
                port = 8000 + k
                db["scan_ports"].insert({"scan_host_id": hid, "port": port, "protocol": "tcp", "state": "open",
                                         "service": "http", "product": "nginx", "version": "1.18",
                                         "tunnel": None, "scripts": "{}"})
                db["findings"].insert({
                    "scan_id": scan_id, "agency": "so-thu-nghiem", "system": f"he-thong-{i:02d}",
                    "address": f"127.0.60.{i + 1}", "port": port, "rule": "cong-chua-khai-bao",
                    "severity": ("cao", "trung-binh", "thap", "nghiem-trong")[k % 4], "checklist": "kh04-bcdtw",
                    "item": "t1-lo-hong", "title": "Cổng mở không có trong danh mục khai báo",
                    "detail": f"http nginx 1.18 ({k})",
                    # the requirements a problem bears on, where the store keeps them in one column
                    **({"bears_on": "kh04-bcdtw:t1-lo-hong"} if with_refs else {})})
        db["evidence_refs"].insert({"sha256": sha, "original_name": f"scan-{scan_id}.xml", "agency": "so-thu-nghiem",
                                    "system": "", "checklist": "", "item": "", "kind": "ket-qua-quet",
                                    "effective": "2026-04-28", "expires": None, "added_at": now(), "actor": "bench"})
    ws.close()


def build_province_workspace(root: Path) -> None:
    """150 agencies × 10 systems; every third agency answered a few KH 04 tasks."""
    from secaudit.inventory import records as inventory
    from secaudit.inventory.models import Agency
    from secaudit.requirements import answers as assess
    from secaudit.store.workspace import Workspace

    ws = Workspace.create(root)
    agencies = [Agency.model_validate(_agency(f"co-quan-{n:03d}", f"Cơ quan thử nghiệm số {n}", 10, 100 + n % 100))
                for n in range(150)]
    inventory.import_agencies(ws, agencies, actor="bench", source="bench")
    for n in range(0, 150, 3):
        for item in ("t4-lop-1", "t4-lop-2", "t5-giam-sat"):
            assess.record_answer(ws, agency=f"co-quan-{n:03d}", system=None, checklist="kh04-bcdtw", item=item,
                                 status="dat" if n % 2 else "chua-dat", note="bench", files=[], actor="bench")
    ws.close()


# -- one measurement (runs in a child process) -------------------------------------------------
def measure(mode: str, workdir: Path) -> dict:
    import weasyprint

    from secaudit.reporting import documents as report
    from secaudit.reporting import rollup
    from secaudit.requirements.content import Library
    from secaudit.store.workspace import Workspace

    lib = Library()
    profile = lib.resolve_profile("tu-danh-gia")
    province = mode.startswith("province")
    ws = Workspace.open(workdir / ("province" if province else "agency"))
    html_file = workdir / ("province.html" if province else "agency.html")
    start, cpu = time.perf_counter(), time.process_time()
    if mode == "agency-pdf":
        out = report.render_agency(ws, lib, "so-thu-nghiem", fmt="pdf", as_of=AS_OF, profile=profile)
    elif mode == "agency-docx":
        out = report.render_agency(ws, lib, "so-thu-nghiem", fmt="docx", as_of=AS_OF, profile=profile)
    elif mode == "province-pdf":
        out = rollup.render_province(ws, lib, None, fmt="pdf", as_of=AS_OF, profile=profile)
    elif mode == "province-html":
        out = rollup.render_province(ws, lib, None, fmt="html", as_of=AS_OF, profile=profile)
    elif mode.endswith("-bare"):
        out = weasyprint.HTML(string=html_file.read_text("utf-8")).write_pdf()
    else:
        raise SystemExit(f"unknown mode {mode}")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    pages = 0
    if out[:4] == b"%PDF":
        import io

        import pypdf

        pages = len(pypdf.PdfReader(io.BytesIO(out)).pages)
    return {"mode": mode, "seconds": elapsed, "cpu": cpu, "pages": pages, "bytes": len(out),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _prepare_html(workdir: Path) -> None:
    """The exact HTML secaudit hands to weasyprint, saved for the bare runs."""
    from secaudit.reporting.data import build_report
    from secaudit.reporting.province import build_province
    from secaudit.reporting.render import render_html
    from secaudit.reporting.rollup import render_html as render_rollup_html
    from secaudit.requirements.content import Library
    from secaudit.store.workspace import Workspace

    lib = Library()
    profile = lib.resolve_profile("tu-danh-gia")
    ws = Workspace.open(workdir / "agency")
    data = build_report(ws, lib, "so-thu-nghiem", as_of=AS_OF, profile=profile)
    (workdir / "agency.html").write_bytes(render_html(data))
    ws = Workspace.open(workdir / "province")
    pdata = build_province(ws, lib, None, as_of=AS_OF, profile=profile)
    (workdir / "province.html").write_bytes(render_rollup_html(pdata, interactive=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "WORKDIR"), help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["agency", "province"], default=None,
                        help="measure only the agency report (pdf, bare, docx) or only the roll-up")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return
    os.environ.setdefault("SECAUDIT_NOW", WRITTEN_AT)  # the children inherit it: the same clock throughout
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="secaudit-bench-"))
    if not (workdir / "agency").exists():
        t = time.perf_counter()
        build_agency_workspace(workdir / "agency")
        build_province_workspace(workdir / "province")
        _prepare_html(workdir)
        print(f"synthetic workspaces in {workdir} ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
    modes = ["agency-pdf", "agency-bare", "agency-docx", "province-pdf", "province-bare", "province-html"]
    if args.only:
        modes = [m for m in modes if m.startswith(args.only)]
    results: dict[str, list[dict]] = {m: [] for m in modes}
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for run in range(args.runs):
        for mode in modes:
            done = subprocess.run([sys.executable, __file__, "--child", mode, str(workdir)], capture_output=True,
                                  text=True, env=env, check=True)
            results[mode].append(json.loads(done.stdout))
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "cpu", "pages", "peak_mb", "bytes")}
           for m, rs in results.items()}
    print(f"\nmachine: {os.cpu_count()} cores; runs: {args.runs} (medians); as-of {AS_OF}\n")
    print("| case | wall time (s) | CPU time (s) | pages | pages/s | peak RSS (MB) | PDF size (KB) |"
          " time vs bare weasyprint |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in modes:
        m = med[mode]
        base = med.get(mode.split("-")[0] + "-bare")
        ratio = f"{m['seconds'] / base['seconds']:.2f}×" if base and mode != mode.split("-")[0] + "-bare" else "—"
        pps = f"{m['pages'] / m['seconds']:.1f}" if m["pages"] else "—"
        print(f"| {mode} | {m['seconds']:.2f} | {m['cpu']:.2f} | {m['pages']:.0f} | {pps} | {m['peak_mb']:.0f} | "
              f"{m['bytes'] / 1024:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
