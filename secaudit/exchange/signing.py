"""Digital signatures: PAdES on report PDFs and a detached CMS signature on bundle manifests.

Optional (``pip install 'secaudit[sign]'`` brings pyHanko): an agency signs what it sends with the
PKCS#12 certificate it already holds, and the receiver checks it against the CA it trusts
(``--trust CA.pem``). Two different questions are kept apart in every result: is the signature
*intact* (the signed bytes are unchanged and the key matches the certificate) and is the signer
*trusted* (the certificate chains to a CA the receiver named). Without ``--trust`` nothing is
called trusted. Nothing is fetched from the network (no OCSP/CRL/AIA): the province's networks are
often kept apart from the internet, so revocation is not checked — say so where it matters.

Certificate subjects are shown NFC-normalised with control characters removed, so a Vietnamese
name such as "Sở Khoa học và Công nghệ Nghệ An" displays as written and a hostile one cannot
rewrite the terminal.

Which agency a certificate may speak for is the receiver's own mapping, kept in ``trust``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit import clock
from secaudit.errors import InputError, SecauditError, os_reason

MAX_P12_BYTES = 1 << 20
MAX_PASSWORD_BYTES = 4096
DIGEST = "sha256"
INSTALL_HINT = "pip install 'secaudit[sign]'"


class SignatureError(InputError):
    """A certificate, password or signature could not be used or did not verify."""


class SigningUnavailableError(SecauditError):
    """pyHanko is not installed, so signatures can be neither made nor checked."""


def available() -> bool:
    """Whether the optional signing dependencies are importable."""
    try:
        import pyhanko.sign  # noqa: F401
        import pyhanko_certvalidator  # noqa: F401
    except ImportError:
        return False
    return True


def require_available() -> None:
    """Raise ``SigningUnavailableError`` when pyHanko is missing; quiet its chain-failure logging."""
    if not available():
        raise SigningUnavailableError(
            f"Chưa cài thành phần ký số (pyHanko): {INSTALL_HINT}",
            en=f"signing support is not installed: {INSTALL_HINT}",
        )
    for name in ("pyhanko", "pyhanko_certvalidator"):
        # pyHanko logs a traceback for every untrusted chain; the result object already says it.
        logging.getLogger(name).setLevel(logging.CRITICAL)


def clean_text(value: str) -> str:
    """NFC-normalise and drop control/format characters (for names shown to people)."""
    value = unicodedata.normalize("NFC", value)
    return "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cf"))


def read_password(path: Path | None) -> bytes | None:
    """The password in ``path`` (first line, without its newline), or None when no file is given.

    Passwords are read from a file rather than the command line, where ``ps`` would show them.
    """
    if path is None:
        return None
    try:
        raw = path.read_bytes()[: MAX_PASSWORD_BYTES + 1]
    except OSError as exc:
        raise InputError(f"Không đọc được tệp mật khẩu: {os_reason(exc)}", en="cannot read password file",
                         where=str(path)) from exc
    if len(raw) > MAX_PASSWORD_BYTES:
        raise InputError("Tệp mật khẩu quá dài", en="password file too long", where=str(path))
    return raw.splitlines()[0] if raw.strip() else b""


@dataclass
class Signer:
    """A loaded PKCS#12 identity: pyHanko's signer plus what to show about its certificate."""

    impl: Any
    subject: str
    common_name: str
    not_before: dt.datetime
    not_after: dt.datetime


def certificate_subject(cert_der: bytes) -> tuple[str, str]:
    """(subject, common name) of a DER certificate, cleaned for display."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(cert_der)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    return clean_text(cert.subject.rfc4514_string()), clean_text(cn)


def load_signer(p12_path: Path, password: bytes | str | None) -> Signer:
    """Open a PKCS#12 file (key + certificate + chain); refuses a certificate not valid today."""
    require_available()
    from pyhanko.sign import signers

    try:
        size = p12_path.stat().st_size
    except OSError as exc:
        raise SignatureError(f"Không đọc được tệp chứng thư số: {os_reason(exc)}", en="cannot read PKCS#12 file",
                             where=str(p12_path)) from exc
    if size > MAX_P12_BYTES:
        raise SignatureError("Tệp chứng thư số quá lớn", en="PKCS#12 file too large", where=str(p12_path))
    secret = password.encode("utf-8") if isinstance(password, str) else password
    attempts = [secret] if secret else [None, b""]
    impl = None
    for attempt in attempts:
        # load_pkcs12 (present in every pyHanko >= 0.25) returns None when the file or password is wrong
        impl = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=attempt)
        if impl is not None:
            break
    if impl is None:
        raise SignatureError(
            "Không mở được tệp chứng thư số (sai mật khẩu hoặc không phải PKCS#12)",
            en="cannot open the PKCS#12 file (wrong password or not PKCS#12)", where=str(p12_path),
        )
    cert = impl.signing_cert
    subject, cn = certificate_subject(cert.dump())
    not_before = cert["tbs_certificate"]["validity"]["not_before"].native
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    now = clock.now()
    if not (not_before <= now <= not_after):
        raise SignatureError(
            f"Chứng thư số của '{cn}' không còn hoặc chưa có hiệu lực ({not_before:%d/%m/%Y}–{not_after:%d/%m/%Y})",
            en="the signing certificate is not valid today", where=str(p12_path),
        )
    return Signer(impl, subject, cn, not_before, not_after)


def _as_signer(p12: Path | Signer, password: bytes | str | None) -> Signer:
    return p12 if isinstance(p12, Signer) else load_signer(Path(p12), password)


def sign_pdf(
    pdf_bytes: bytes, p12_path: Path | Signer, password: bytes | str | None = None, *,
    reason: str | None = "Báo cáo an ninh mạng / cyber-security report", location: str | None = None,
) -> bytes:
    """Sign a PDF (PAdES baseline B, SHA-256, invisible signature) as an incremental update."""
    signer = _as_signer(p12_path, password)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name=_free_field_name(pdf_bytes), subfilter=fields.SigSeedSubFilter.PADES, md_algorithm=DIGEST,
        reason=reason, location=location, name=signer.common_name or None,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        out = signers.sign_pdf(writer, meta, signer=signer.impl)
    except (PdfError, ValueError, KeyError) as exc:
        raise SignatureError(f"Không ký được tệp PDF: {exc}", en="cannot sign this PDF") from exc
    return bytes(out.getvalue())


def _free_field_name(pdf_bytes: bytes) -> str:
    """``Signature1``, or the next number when the PDF already carries signatures."""
    count = pdf_bytes.count(b"/ByteRange")
    return f"Signature{count + 1}"


def sign_data(data: bytes, p12: Path | Signer, password: bytes | str | None = None) -> bytes:
    """A detached CMS (PKCS#7) SignedData over ``data``, DER-encoded, with the signer's chain."""
    signer = _as_signer(p12, password)
    info = asyncio.run(signer.impl.async_sign_general_data(data, DIGEST, detached=True))
    return bytes(info.dump())


@dataclass
class SignatureCheck:
    """The outcome of checking one signature; ``trusted`` is None when no trust anchor was given."""

    intact: bool
    valid: bool
    trusted: bool | None
    signer: str = ""
    common_name: str = ""
    signed_at: str | None = None
    coverage: str | None = None
    problems: list[str] = field(default_factory=list)
    fingerprint: str = ""  # SHA-256 of the signing certificate (DER)
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    #: How the certificate relates to the agency the signed document speaks for (``BINDING_LABELS``);
    #: None when no mapping was consulted.
    binding: str | None = None
    bound_agency: str | None = None

    @property
    def ok(self) -> bool:
        """Intact, valid, covering what it should, and trusted when a trust anchor was given."""
        return self.intact and self.valid and self.trusted is not False and not self.problems

    def describe(self) -> str:
        """One line for people: what holds, who signed."""
        if not (self.intact and self.valid):
            state = "KHÔNG HỢP LỆ / INVALID"
        elif self.binding in ("other-agency", "not-bound"):
            state = BINDING_LABELS[self.binding].format(owner=self.bound_agency)
        elif self.trusted is False:
            state = "nguyên vẹn nhưng KHÔNG được CA tin cậy / intact but NOT trusted"
        elif self.binding == "bound":
            state = BINDING_LABELS["bound"].format(owner=self.bound_agency)
            if self.trusted:
                state += "; CA tin cậy / CA trusted"
        elif self.trusted is None:
            state = "nguyên vẹn, chưa kiểm tra tin cậy (thiếu --trust) / intact, trust not checked"
        elif self.binding == "unknown":
            state = "hợp lệ theo CA nhưng " + BINDING_LABELS["unknown"]
        else:
            state = ("hợp lệ, tin cậy theo CA — chưa đối chiếu chứng thư với cơ quan / valid and trusted by the CA"
                     " — not checked against the agency's certificates")
        text = f"{state} — {self.signer or '?'}"
        if self.signed_at:
            text += f" — {self.signed_at}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, "valid": self.valid, "trusted": self.trusted, "signer": self.signer,
                "common_name": self.common_name, "signed_at": self.signed_at, "coverage": self.coverage,
                "fingerprint": self.fingerprint, "binding": self.binding, "bound_agency": self.bound_agency,
                "problems": self.problems}


def load_trust(paths: list[Path]) -> list[Any]:
    """Trust anchors from PEM/DER files (several certificates per PEM file allowed)."""
    require_available()
    from pyhanko.keys import load_certs_from_pemder_data

    roots: list[Any] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"Không đọc được tệp CA: {os_reason(exc)}", en="cannot read CA file", where=str(path)) \
                from exc
        try:
            found = list(load_certs_from_pemder_data(data))
        except ValueError as exc:
            raise InputError("Tệp CA không chứa chứng thư hợp lệ (PEM/DER)", en="no certificate in CA file",
                             where=str(path)) from exc
        if not found:
            raise InputError("Tệp CA không chứa chứng thư nào", en="no certificate in CA file", where=str(path))
        roots.extend(found)
    return roots


def _context(trust: list[Path] | None) -> Any:
    from pyhanko_certvalidator import ValidationContext

    roots = load_trust(trust) if trust else []
    # Validity is judged at secaudit's clock, like every other date the program uses.
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail",
                             moment=clock.now())


def _check_from_status(status: Any, trust_given: bool) -> SignatureCheck:
    der = status.signing_cert.dump()
    subject, cn = certificate_subject(der)
    signed_at = getattr(status, "signer_reported_dt", None)
    validity = status.signing_cert["tbs_certificate"]["validity"]
    check = SignatureCheck(
        intact=bool(status.intact), valid=bool(status.valid),
        trusted=bool(status.trusted) if trust_given else None, signer=subject, common_name=cn,
        signed_at=signed_at.isoformat() if signed_at else None, fingerprint=hashlib.sha256(der).hexdigest(),
        not_before=validity["not_before"].native, not_after=validity["not_after"].native,
    )
    if not check.intact:
        check.problems.append("dữ liệu đã bị sửa sau khi ký / signed data was altered")
    elif not check.valid:
        check.problems.append("chữ ký không khớp khóa của chứng thư / signature does not verify")
    elif check.trusted is False:
        check.problems.append("chứng thư không chuỗi về CA được tin cậy / certificate does not chain to the trusted CA")
    return check


def verify_data(data: bytes, cms_der: bytes, trust: list[Path] | None = None) -> SignatureCheck:
    """Check a detached CMS signature over ``data`` (and its chain against ``trust`` if given)."""
    require_available()
    from asn1crypto import cms
    from pyhanko.sign.validation import async_validate_detached_cms

    context = _context(trust)
    try:
        info = cms.ContentInfo.load(cms_der)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed = info["content"]
        status = asyncio.run(async_validate_detached_cms(data, signed, signer_validation_context=context))
    except Exception as exc:  # noqa: BLE001 - untrusted input: any failure to parse is a failed check, reported
        return SignatureCheck(False, False, False if trust else None,
                              problems=[f"không đọc được chữ ký / unreadable signature: {type(exc).__name__}"])
    return _check_from_status(status, bool(trust))


def verify_pdf(pdf_bytes: bytes, trust: list[Path] | None = None) -> list[SignatureCheck]:
    """Check every signature embedded in a PDF; an empty list means the PDF is not signed."""
    require_available()
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    context = _context(trust)
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001 - a damaged PDF is a failed check, reported as such
        return [SignatureCheck(False, False, False if trust else None,
                               problems=[f"không đọc được PDF / unreadable PDF: {type(exc).__name__}"])]
    checks = []
    for index, sig in enumerate(embedded):
        try:
            status = validate_pdf_signature(sig, context)
        except Exception as exc:  # noqa: BLE001 - same: the result says what failed
            checks.append(SignatureCheck(False, False, False if trust else None,
                                         problems=[f"không kiểm tra được chữ ký: {type(exc).__name__}: {exc}"]))
            continue
        check = _check_from_status(status, bool(trust))
        check.coverage = status.coverage.name if status.coverage is not None else None
        last = index == len(embedded) - 1
        # The last signature must cover the whole file; an earlier one covers its own revision.
        if check.coverage != "ENTIRE_FILE" and (last or check.coverage != "ENTIRE_REVISION"):
            check.problems.append("chữ ký không phủ toàn bộ tệp (có nội dung thêm sau khi ký) / "
                                  "signature does not cover the whole file")
        checks.append(check)
    return checks


#: What a signature's certificate is to the agency a bundle speaks for (judged by ``trust.Bindings``).
BINDING_LABELS = {
    "bound": "hợp lệ, chứng thư đã gắn với cơ quan {owner} / valid, certificate bound to the agency",
    "other-agency": "BỊ TỪ CHỐI: chứng thư của CƠ QUAN KHÁC ({owner}) / REFUSED: certificate of ANOTHER agency",
    "not-bound": "BỊ TỪ CHỐI: chứng thư không thuộc các chứng thư đã gắn với cơ quan này / REFUSED: not one of the"
                 " agency's certificates",
    "unknown": "chứng thư CHƯA gắn với cơ quan nào (secaudit trust add) / certificate bound to no agency",
}

