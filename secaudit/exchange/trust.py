"""The receiver's trust store: which signing certificate(s) speak for which agency.

A CA says who a certificate belongs to, not which agency it may speak for: a certificate that
chains to the province's CA may belong to any agency. So the receiver keeps its own mapping
agency → signing certificate(s) (``trusted_certs``, set up with ``secaudit trust add``), matched by
the SHA-256 fingerprint of the certificate; a bundle signed with a certificate bound to another
agency is refused, whatever CA issued it. ``signing`` checks signatures; this module judges them
against the mapping.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit import clock
from secaudit.errors import InputError, NotFoundError, os_reason
from secaudit.exchange.signing import MAX_P12_BYTES, SignatureCheck, certificate_subject, require_available


@dataclass
class CertificateFile:
    """One certificate read from a PEM or DER file, with what the trust store keeps about it."""

    der: bytes
    fingerprint: str
    subject: str
    common_name: str
    not_before: dt.datetime
    not_after: dt.datetime
    is_ca: bool

    def pem(self) -> str:
        body = base64.encodebytes(self.der).decode("ascii").replace("\n", "")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def read_certificate(path: Path) -> CertificateFile:
    """The one certificate in ``path`` (PEM or DER); several certificates or a key are refused."""
    require_available()
    from cryptography import x509

    try:
        data = path.read_bytes()[: MAX_P12_BYTES + 1]
    except OSError as exc:
        raise InputError(f"Không đọc được tệp chứng thư: {os_reason(exc)}", en="cannot read certificate file",
                         where=str(path)) from exc
    if len(data) > MAX_P12_BYTES:
        raise InputError("Tệp chứng thư quá lớn", en="certificate file too large", where=str(path))
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise InputError("Tệp không chứa chứng thư X.509 (PEM/DER) đọc được", en="no readable X.509 certificate",
                         where=str(path)) from None
    if len(certs) != 1:
        raise InputError(f"Tệp chứa {len(certs)} chứng thư; cần đúng một chứng thư ký của cơ quan",
                         en="the file must hold exactly one signing certificate", where=str(path))
    cert = certs[0]
    from cryptography.hazmat.primitives.serialization import Encoding

    der = cert.public_bytes(Encoding.DER)
    subject, cn = certificate_subject(der)
    try:
        is_ca = bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        is_ca = False
    return CertificateFile(der, hashlib.sha256(der).hexdigest(), subject, cn, cert.not_valid_before_utc,
                           cert.not_valid_after_utc, is_ca)


@dataclass
class Bindings:
    """The receiver's agency → certificate mapping, loaded once for a verification."""

    owners: dict[str, str] = field(default_factory=dict)  # fingerprint → agency
    auto: set[str] = field(default_factory=set)  # fingerprints whose signed host changes apply by policy

    def owner(self, fingerprint: str) -> str | None:
        return self.owners.get(fingerprint)

    def has(self, agency: str) -> bool:
        return agency in self.owners.values()

    def judge(self, check: SignatureCheck, agency: str) -> str | None:
        """Set ``check.binding`` for a signature on a document of ``agency``; returns the problem, if any."""
        if not (check.intact and check.valid) or not check.fingerprint:
            return None
        owner = self.owner(check.fingerprint)
        check.bound_agency = owner
        if owner is not None and owner != agency:
            check.binding = "other-agency"
            return (f"gói của '{agency}' nhưng được ký bằng chứng thư đã gắn với cơ quan '{owner}' — bị từ chối dù"
                    " CA nào cấp / signed with a certificate bound to another agency")
        if owner == agency:
            check.binding = "bound"
            now = clock.now()
            if check.not_before and check.not_after and not (check.not_before <= now <= check.not_after):
                return (f"chứng thư gắn với '{agency}' không còn hoặc chưa có hiệu lực"
                        f" ({check.not_before:%d/%m/%Y}–{check.not_after:%d/%m/%Y}) / certificate not valid now")
            return None
        if self.has(agency):
            check.binding = "not-bound"
            return (f"chứng thư ký không thuộc các chứng thư đã gắn với '{agency}' (secaudit trust list) /"
                    " the signing certificate is not one bound to this agency")
        check.binding = "unknown"
        return None


def load_bindings(ws: Any) -> Bindings:
    """Every binding in the workspace (empty when its schema predates them)."""
    out = Bindings()
    if "trusted_certs" not in ws.db.table_names():
        return out
    for agency, fingerprint, auto in ws.db.execute("select agency, fingerprint, auto_apply from trusted_certs"):
        out.owners[fingerprint] = agency
        if auto:
            out.auto.add(fingerprint)
    return out


def add_binding(ws: Any, agency: str, cert_path: Path, *, actor: str, auto_apply: bool = False) \
        -> tuple[dict[str, Any], bool]:
    """Bind the certificate in ``cert_path`` to ``agency``; returns (the binding, whether it is new).

    A CA certificate is refused (it would let every certificate it issued speak for the agency),
    and so is a certificate already bound to another agency: one certificate speaks for one agency.
    Adding the same binding again only updates its ``auto_apply`` policy.
    """
    from secaudit.inventory.models import slug_ok
    from secaudit.store import auditlog

    if not slug_ok(agency):
        raise InputError(f"Mã cơ quan không hợp lệ: '{agency}'", en="invalid agency code")
    cert = read_certificate(Path(cert_path))
    if cert.is_ca:
        raise InputError("Đây là chứng thư của CA; chỉ gắn chứng thư ký của chính cơ quan",
                         en="this is a CA certificate; bind the agency's own signing certificate",
                         where=str(cert_path))
    with ws.transaction() as db:
        row = db.execute("select id, agency from trusted_certs where fingerprint = ?", [cert.fingerprint]).fetchone()
        if row is not None and row[1] != agency:
            raise InputError(f"Chứng thư này đã gắn với cơ quan '{row[1]}'; gỡ ra trước (secaudit trust remove)",
                             en=f"this certificate is already bound to '{row[1]}'", where=str(cert_path))
        from secaudit.store.workspace import now

        if row is not None:
            db.execute("update trusted_certs set auto_apply = ? where id = ?", [int(auto_apply), row[0]])
        else:
            db.table("trusted_certs").insert({
                "agency": agency, "fingerprint": cert.fingerprint, "subject": cert.subject,
                "common_name": cert.common_name, "not_before": cert.not_before.isoformat(),
                "not_after": cert.not_after.isoformat(), "certificate": cert.pem(), "auto_apply": int(auto_apply),
                "added_at": now(), "actor": actor,
            })
        auditlog.append(ws, actor=actor, action="trust.add", agency=agency, subject=cert.fingerprint,
                        detail={"subject": cert.subject, "auto_apply": auto_apply, "new": row is None})
    return next(r for r in list_bindings(ws, agency) if r["fingerprint"] == cert.fingerprint), row is None


def list_bindings(ws: Any, agency: str | None = None) -> list[dict[str, Any]]:
    """The bindings, by agency then date added (without the certificate bytes)."""
    sql = ("select agency, fingerprint, common_name, subject, not_before, not_after, auto_apply, added_at, actor"
           " from trusted_certs")
    params: list[Any] = []
    if agency:
        sql += " where agency = ?"
        params.append(agency)
    return list(ws.db.query(sql + " order by agency, added_at, id", params))


def remove_binding(ws: Any, agency: str, which: str, *, actor: str) -> list[dict[str, Any]]:
    """Unbind from ``agency`` the certificate named by ``which``: a certificate file or a fingerprint prefix."""
    from secaudit.store import auditlog

    candidate = Path(which)
    prefix = read_certificate(candidate).fingerprint if candidate.is_file() else which.lower().replace(":", "")
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise InputError("Cần tệp chứng thư hoặc ít nhất 8 ký tự đầu của dấu vân tay SHA-256",
                         en="give the certificate file or at least 8 hex digits of its SHA-256 fingerprint")
    with ws.transaction() as db:
        rows = [r for r in list_bindings(ws, agency) if r["fingerprint"].startswith(prefix)]
        if not rows:
            raise NotFoundError(f"Không có chứng thư {prefix[:16]}… gắn với '{agency}'",
                                en=f"no certificate {prefix[:16]}… bound to '{agency}'")
        if len(rows) > 1:
            raise InputError(f"Tiền tố {prefix} khớp nhiều chứng thư", en="the prefix matches several certificates")
        db.execute("delete from trusted_certs where fingerprint = ?", [rows[0]["fingerprint"]])
        auditlog.append(ws, actor=actor, action="trust.remove", agency=agency, subject=rows[0]["fingerprint"],
                        detail={"subject": rows[0]["subject"]})
    return rows
