"""The inspector's operations for a served app: receive an uploaded bundle, scans in the background,
a scan's results next to the previous scan, the inspector's own verdict on a claim.

Each is built from the same functions the CLI calls (``bundle verify``/``import``, ``scan``,
``scan diff``, ``assess --item``); nothing here decides anything those do not already decide.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from secaudit.errors import InputError
from secaudit.services.workspace import Where, open_workspace

KH04 = "kh04-bcdtw"
#: The inspector's own conclusion on a claim: the statuses an answer can carry.
VERDICTS = ("dat", "chua-dat", "khong-ap-dung")


# -- bundles ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Received:
    """What became of one uploaded bundle: the verification, and the import when it verified."""

    ok: bool
    problems: list[tuple[str, str]]
    verification: dict[str, Any]
    imported: Any = None  # exchange.submissions.ImportResult


def receive_bundle(where: Where, file: Path, *, shown_name: str, actor: str) -> Received:
    """Verify ``file`` (as ``bundle verify`` does, against the workspace's certificate bindings) and,
    only when it verifies, import it (as ``bundle import`` does: all or nothing).

    Problems name the bundle by ``shown_name`` (what the user uploaded, neutralised) rather than the
    temporary file it was streamed to.
    """
    from secaudit.exchange.manifest import BundleError
    from secaudit.services import exchange

    ws = open_workspace(where)
    info = exchange.verify_bundle(file, workspace=ws.root)
    temp = str(file)

    def named(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(where_.replace(temp, shown_name), text) for where_, text in problems]

    summary = info.to_dict()
    summary["file"] = shown_name
    if not info.ok:
        return Received(False, named(info.problems), summary)
    try:
        result = exchange.import_bundle(ws, file, actor=actor)
    except BundleError as exc:
        problems = exc.problems if isinstance(getattr(exc, "problems", None), list) else [(shown_name, exc.message)]
        return Received(False, named(problems), summary)
    return Received(True, [], summary, result)


# -- scans in the background -------------------------------------------------------------------------------------
@dataclasses.dataclass
class ScanJob:
    """One scan started by the served app, run in a thread of the server."""

    agency: str
    actor: str
    state: str = "running"  # running | done | failed
    hosts_done: int = 0
    hosts_total: int = 0
    elapsed: float = 0.0
    percent: float | None = None
    batch: str | None = None
    scan_ids: list[int] = dataclasses.field(default_factory=list)
    error: str | None = None


_JOBS: dict[tuple[str, str], ScanJob] = {}
_LOCK = threading.Lock()


def scan_job(workspace: Path, agency: str) -> ScanJob | None:
    """The last scan this server process started for ``agency`` (None when it started none)."""
    with _LOCK:
        return _JOBS.get((str(workspace), agency))


def running_scans(where: Where, agency: str) -> list[int]:
    """Ids of ``agency``'s scans still running (in any process: abandoned ones were reaped on opening)."""
    from secaudit.scanning.owners import reap_abandoned

    ws = open_workspace(where)
    reap_abandoned(ws)
    return [r[0] for r in ws.db.execute("select id from scans where agency = ? and status = 'running'", [agency])]


DEFAULT_SCAN_PROFILE = "nhanh"


def scan_profiles(lang: str = "vi") -> list[dict[str, str]]:
    """The shipped scan profiles (``profiles/*.yaml`` that describe a scan), the default first: what the
    browser offers. Only these ids are accepted from a form; a path or another name never reaches nmap."""
    from secaudit.errors import NotFoundError
    from secaudit.resources import data_dir
    from secaudit.scanning.profiles import load_scan_profile

    found = []
    for path in sorted(data_dir("profiles").glob("*.yaml")):
        try:
            profile = load_scan_profile(path.stem)
        except NotFoundError:  # an assessment profile
            continue
        title = (profile.title_en or profile.title) if lang == "en" else profile.title
        found.append({"id": profile.id, "title": title})
    found.sort(key=lambda p: p["id"] != DEFAULT_SCAN_PROFILE)
    return found


def start_scan(workspace: Path, agency: str, *, actor: str, profile: str = DEFAULT_SCAN_PROFILE,
               runner: Callable[..., Any] | None = None) -> ScanJob:
    """Scan ``agency``'s declared hosts in a background thread (the CLI's ``scan AGENCY``: same targets,
    same scope rules, same records); one scan per agency at a time.

    What can be refused (no declared hosts, an over-wide range, an unknown agency) is checked here,
    before the thread starts, by the scan planning itself run once in dry form.
    """
    from secaudit.scanning.batch import declared_hosts

    if profile not in {p["id"] for p in scan_profiles()}:
        raise InputError(f"Không có hồ sơ quét '{profile[:80]}'", en=f"no scan profile {profile[:80]!r}")
    ws = open_workspace(workspace)
    try:
        ws.require_agency(agency)
        if not declared_hosts(ws, agency, None):
            raise InputError(f"Cơ quan '{agency}' chưa khai báo máy chủ nào để quét", en="no declared hosts to scan")
        key = (str(workspace), agency)
        with _LOCK:
            current = _JOBS.get(key)
            if (current is not None and current.state == "running") or running_scans(ws, agency):
                raise InputError("Đang có một lần quét của cơ quan này; chờ lần quét đó xong rồi quét lại",
                                 en="a scan of this agency is already running")
            job = ScanJob(agency=agency, actor=actor)
            _JOBS[key] = job
    finally:
        ws.close()

    def progress(p: Any) -> None:
        job.hosts_done, job.hosts_total, job.elapsed, job.percent = p.hosts_done, p.hosts_total, p.elapsed, p.percent

    def run() -> None:
        from secaudit.scanning import batch

        own = open_workspace(workspace)
        try:
            result = batch.scan_agency(own, agency, profile_id=profile, actor=actor, progress=progress,
                                       command={"face": "web", "user": actor}, runner=runner)
            job.batch, job.scan_ids = result.batch, [s.scan_id for s in result.scans]
            job.state = "done"
        except Exception as exc:  # noqa: BLE001 - the job reports it; the server must go on
            job.error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            job.state = "failed"
        finally:
            own.close()

    threading.Thread(target=run, name=f"scan-{agency}", daemon=True).start()
    return job


def scan_results(where: Where, agency: str, lang: str = "vi") -> dict[str, Any]:
    """The agency's scans (newest first), the latest batch's findings, and what changed from the scan
    before it of the same system (``scan diff``: new / fixed / changed / not rechecked).

    Findings' details come in the reader's language ``lang``, with local dates."""
    from secaudit.requirements.results import reader_reason
    from secaudit.scanning import history

    ws = open_workspace(where)
    scans = list(reversed(history.scan_rows(ws, agency)))
    batches = dict(ws.db.execute("select id, batch from scans where agency = ?", [agency]).fetchall())
    latest = [s for s in scans if batches.get(s["id"]) == batches.get(scans[0]["id"])] if scans else []
    ids = [s["id"] for s in latest]
    findings = list(ws.db.query(
        "select distinct system, address, port, rule, severity, title, detail from findings where scan_id in"
        f" ({','.join('?' * len(ids))}) order by system, address, port", ids)) if ids else []
    for finding in findings:
        finding["detail"] = reader_reason(finding["detail"] or "", lang)
    changes: list[dict[str, Any]] = []
    compared = False
    for scan in latest:
        before = ws.db.execute(
            "select id from scans where agency = ? and coalesce(system, '') = coalesce(?, '') and id < ?"
            " and status != 'running' order by id desc limit 1", [agency, scan["system"], scan["id"]]).fetchone()
        if before is not None and scan["status"] != "running":
            compared = True
            changes += history.diff_scans(ws, before[0], scan["id"])
    return {"agency": agency, "scans": scans, "latest": ids, "findings": findings, "changes": changes,
            "compared": compared}


# -- the inspector's verdict ---------------------------------------------------------------------------------------
def record_verdict(where: Where, agency: str, item: str, *, system: str | None, status: str, note: str,
                   actor: str) -> None:
    """Record the inspector's own conclusion on one KH 04 item (× system) as an answer of the receiving
    workspace — the same answer ``secaudit assess --item`` records — so it becomes the verification."""
    from secaudit.services.assessment import record_answer

    if status not in VERDICTS:
        raise InputError("Chọn kết luận: đạt, chưa đạt hoặc không áp dụng", en="choose a verdict")
    if not note.strip():
        raise InputError("Ghi căn cứ của kết luận (biên bản, kết quả kiểm tra…)", en="give the basis of the verdict")
    record_answer(where, agency, f"{KH04}:{item}", status=status, system=system or None, note=note.strip(),
                  actor=actor)


# -- the dashboard's contradictions column -------------------------------------------------------------------
def contradiction_counts(where: Where, *, as_of: Any, profile: str = "tu-danh-gia") -> dict[str, int]:
    """Per agency that sent a bundle: how many of its claims contradict the receiver's own verification
    (``submissions status``: rows whose agreement is ``mau-thuan``). Agencies that sent nothing are absent."""
    from secaudit.exchange.inspection import DISAGREE
    from secaudit.services import exchange

    ws = open_workspace(where)
    codes = [r[0] for r in ws.db.execute("select distinct agency from submissions order by agency")]
    return {code: exchange.inspect_agency(ws, code, profile=profile, as_of=as_of).count(DISAGREE) for code in codes}
