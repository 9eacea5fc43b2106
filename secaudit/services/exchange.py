"""Exchange operations: bundles, submissions, agency ↔ certificate trust, PDF signatures."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secaudit.errors import SecauditError
from secaudit.services.workspace import Where, actor_name, library, open_workspace, workspace_exists

if TYPE_CHECKING:
    from secaudit.exchange.archive import BundleInfo
    from secaudit.exchange.export import ExportResult
    from secaudit.exchange.signing import SignatureCheck, Signer


# -- signing --------------------------------------------------------------------------------------
def load_signer(cert: Path, password: bytes | None = None, password_file: Path | None = None) -> Signer:
    """Open a PKCS#12 certificate; the password comes from ``password_file`` when given."""
    from secaudit.exchange import signing

    if password_file is not None:
        password = signing.read_password(password_file)
    return signing.load_signer(cert, password)


def _replace(output: Path, data: bytes, suffix: str) -> None:
    tmp = output.with_name(f".{output.name}.{suffix}")
    tmp.write_bytes(data)
    os.replace(tmp, output)


def sign_pdf_in_place(output: Path, signer: Signer) -> None:
    """Replace a written PDF by its signed version; on failure remove it rather than leave it unsigned."""
    from secaudit.exchange.signing import sign_pdf

    try:
        _replace(output, sign_pdf(output.read_bytes(), signer), "signing")
    except BaseException:
        output.unlink(missing_ok=True)
        raise


def sign_pdf_file(source: Path, output: Path, signer: Signer) -> None:
    """Write a signed copy (PAdES) of ``source`` to ``output``."""
    from secaudit.exchange.signing import sign_pdf

    signed = sign_pdf(source.read_bytes(), signer)
    output.parent.mkdir(parents=True, exist_ok=True)
    _replace(output, signed, "tmp")


def verify_pdf_file(file: Path, trust: list[Path] | None = None) -> list[SignatureCheck]:
    """Every signature of a PDF, checked; raises when the PDF carries none."""
    from secaudit.exchange.signing import verify_pdf

    checks = verify_pdf(file.read_bytes(), trust or None)
    if not checks:
        raise SecauditError("Tệp PDF không có chữ ký số", en="the PDF is not signed", where=str(file))
    return checks


# -- trust ----------------------------------------------------------------------------------------
def trust_add(where: Where, agency: str, cert: Path, *, actor: str | None = None,
              auto_apply: bool = False) -> tuple[dict[str, Any], bool, bool]:
    """Bind a certificate to an agency; returns (binding, newly bound, agency is in the inventory)."""
    from secaudit.exchange.trust import add_binding

    ws = open_workspace(where)
    row, new = add_binding(ws, agency, cert, actor=actor_name(actor), auto_apply=auto_apply)
    return row, new, ws.agency_exists(agency)


def trust_list(where: Where, agency: str | None = None) -> list[dict[str, Any]]:
    from secaudit.exchange.trust import list_bindings

    return list_bindings(open_workspace(where), agency)


def trust_remove(where: Where, agency: str, cert: str, *, actor: str | None = None) -> list[dict[str, Any]]:
    """Unbind a certificate (a file or a SHA-256 fingerprint); returns the removed bindings."""
    from secaudit.exchange.trust import remove_binding

    return remove_binding(open_workspace(where), agency, cert, actor=actor_name(actor))


# -- bundles --------------------------------------------------------------------------------------
def export_bundle(where: Where, agency: str, output: Path, *, as_of: dt.date, actor: str | None = None,
                  profile: str = "tu-danh-gia", lang: str = "vi", include_report: bool = True,
                  signer: Signer | None = None) -> ExportResult:
    """Write an agency's submission bundle (ZIP with a SHA-256 manifest, signed when ``signer``)."""
    from secaudit.exchange import export

    return export.export_bundle(open_workspace(where), library(), agency, output, as_of=as_of,
                                actor=actor_name(actor), profile=profile, lang=lang,
                                include_report=include_report, signer=signer)


def verify_bundle(file: Path, *, trust: list[Path] | None = None, workspace: str | Path | None = None,
                  use_workspace: bool = True) -> BundleInfo:
    """Check a bundle without writing; the workspace's certificate bindings are used when it exists."""
    from secaudit.exchange import verify
    from secaudit.exchange.trust import load_bindings

    bindings = load_bindings(open_workspace(workspace)) if use_workspace and workspace_exists(workspace) else None
    return verify.verify_bundle(file, trust=trust or None, bindings=bindings)


def require_valid(info: BundleInfo) -> None:
    """Raise ``BundleError`` listing the problems of a bundle that failed verification."""
    from secaudit.exchange.manifest import BundleError

    if not info.ok:
        raise BundleError(info.problems, en="bundle verification failed")


def import_bundle(where: Where, file: Path, *, actor: str | None = None,
                  trust: list[Path] | None = None) -> Any:
    """Import a bundle as a new submission (all or nothing; importing again changes nothing)."""
    from secaudit.exchange import receive

    return receive.import_bundle(open_workspace(where), file, actor=actor_name(actor), trust=trust or None)


# -- submissions ----------------------------------------------------------------------------------
def list_submissions(where: Where, agency: str | None = None) -> list[dict[str, Any]]:
    from secaudit.exchange import submissions

    return submissions.list_submissions(open_workspace(where), agency)


def submission_status(where: Where, submission: int, *, profile: str = "tu-danh-gia",
                      as_of: dt.date | None = None) -> tuple[dict[str, Any], Any]:
    """A submission's record and the evaluation of what it claims: (submission, agency result)."""
    from secaudit.exchange import claims, submissions

    ws = open_workspace(where)
    lib = library()
    sub = submissions.get(ws, submission)
    result = claims.evaluate_submission(ws, lib, submission, profile=lib.resolve_profile(profile), as_of=as_of)
    return sub, result


def submission_report(where: Where, submission: int) -> bytes:
    """The report PDF a submission carried; raises ``NotFoundError`` when it carried none."""
    from secaudit.errors import NotFoundError
    from secaudit.exchange import submissions

    ws = open_workspace(where)
    sub = submissions.get(ws, submission)
    if not sub["report_sha256"]:
        raise NotFoundError("Gói này không kèm báo cáo", en="this submission carries no report")
    return bytes(ws.read_blob(sub["report_sha256"]))


def diff_submissions(where: Where, a: int, b: int, *, profile: str = "tu-danh-gia") -> list[dict[str, Any]]:
    """What changed from submission A to B: data, log, status."""
    from secaudit.exchange import claims

    lib = library()
    return claims.diff(open_workspace(where), a, b, library=lib, profile=lib.resolve_profile(profile))


def compare_submission(where: Where, agency: str, *, profile: str = "tu-danh-gia", as_of: dt.date,
                       submission: int | None = None) -> Any:
    """An agency's claims (latest or given submission) side by side with own assessment and scans."""
    from secaudit.exchange import claims

    lib = library()
    return claims.compare(open_workspace(where), lib, agency, profile=lib.resolve_profile(profile), as_of=as_of,
                          submission_id=submission)


def accept_submission(where: Where, agency: str, submission: int, *, actor: str | None = None,
                      dry_run: bool = False) -> Any:
    """Adopt a submission's inventory, declared hosts included, as the scan scope."""
    from secaudit.exchange import submissions

    return submissions.accept(open_workspace(where), agency, submission, actor=actor_name(actor), dry_run=dry_run)
