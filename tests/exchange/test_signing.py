"""Signatures: PAdES on reports (checked by pyHanko and poppler's pdfsig), CMS on bundle manifests.

Every certificate is made here at run time: a throwaway CA, a signer whose subject is the
Vietnamese name of the agency whose bundle it signs, and a second, unrelated CA that must not be
trusted. The clock is pinned and the certificates are dated around it, so no test depends on the
day it runs.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

pytest.importorskip("pyhanko", reason="pyHanko is not installed (pip install 'secaudit[sign]'): signing untested")

from bundle_helpers import (
    AS_OF,
    CERT_PASSWORD,
    LIB,
    PINNED_NOW,
    cert_name,
    flip_byte,
    make_ca,
    make_cert,
    make_identity,
    populate,
    read_entries,
    write_zip,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from secaudit.exchange import signing, submissions
from secaudit.exchange.export import export_bundle
from secaudit.exchange.manifest import BundleError
from secaudit.exchange.receive import import_bundle
from secaudit.exchange.verify import verify_bundle
from secaudit.inventory import records as inventory
from secaudit.reporting.data import build_report
from secaudit.reporting.render import render_html, render_pdf
from secaudit.store.workspace import Workspace

# The signed bundle below is so-y-te's, so its signer is Sở Y tế (the signature is bound to it in
# test_verify_and_import_commands_with_trust).
SIGNER_CN = "Sở Y tế tỉnh Nghệ An"
PASSWORD = CERT_PASSWORD


@pytest.fixture(scope="module", autouse=True)
def pinned_clock() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECAUDIT_NOW", PINNED_NOW)
        yield


@dataclass
class Pki:
    ca: Path
    other_ca: Path
    p12: Path
    password_file: Path
    expired_p12: Path
    cert: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca_path, ca, ca_key = make_ca(root)
    other_path, _, _ = make_ca(root, "CA khác")
    signer = make_identity(root, "signer", SIGNER_CN, ca, ca_key)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expired = make_cert(cert_name(SIGNER_CN), ca.subject, key.public_key(), ca_key, ca=False,
                        start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), days=30)
    enc = serialization.BestAvailableEncryption(PASSWORD.encode())
    (root / "expired.p12").write_bytes(pkcs12.serialize_key_and_certificates(b"old", key, expired, [ca], enc))
    (root / "password").write_text(PASSWORD + "\n", encoding="utf-8")
    return Pki(ca_path, other_path, signer.p12, root / "password", root / "expired.p12", signer.cert)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("signing-source")
    ws = Workspace.create(root / "ws")
    populate(ws, root)
    return ws


@pytest.fixture(scope="module")
def report_pdf(source: Workspace) -> bytes:
    """The real so-y-te report, rendered by weasyprint."""
    data = build_report(source, LIB, "so-y-te", as_of=AS_OF, profile=LIB.resolve_profile("tu-danh-gia"))
    return render_pdf(render_html(data), title="Báo cáo", author="Sở Y tế", as_of=AS_OF)


@pytest.fixture(scope="module")
def signed_pdf(report_pdf: bytes, pki: Pki) -> bytes:
    return signing.sign_pdf(report_pdf, pki.p12, PASSWORD)


def _pdfsig(path: Path) -> str:
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    run = subprocess.run(["pdfsig", str(path)], capture_output=True, timeout=60)
    return (run.stdout + run.stderr).decode("utf-8", "replace")


def _signed_range_offset(pdf: bytes) -> int:
    """A byte inside the first signed range, in the report's own content (not the signature)."""
    start = pdf.index(b"/ByteRange")
    first_len = int(pdf[start:start + 200].split(b"[")[1].split()[1])
    return first_len // 2


# -- PDF ----------------------------------------------------------------------------------------
def test_signed_report_verifies_with_pyhanko(signed_pdf: bytes, pki: Pki) -> None:
    checks = signing.verify_pdf(signed_pdf, [pki.ca])
    assert len(checks) == 1
    check = checks[0]
    assert check.ok and check.intact and check.valid and check.trusted is True
    assert check.coverage == "ENTIRE_FILE"
    assert check.common_name == SIGNER_CN and unicodedata.is_normalized("NFC", check.signer)
    assert f"CN={SIGNER_CN}" in check.signer and "O=UBND tỉnh Nghệ An" in check.signer


def test_signed_report_verifies_with_pdfsig(signed_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdf)
    out = _pdfsig(path)
    assert "Signature is Valid." in out, out
    assert f"Signer Certificate Common Name: {SIGNER_CN}" in out, out
    assert "Total document signed" in out


def test_one_byte_change_breaks_the_pdf_signature(signed_pdf: bytes, pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "tampered.pdf"
    path.write_bytes(signed_pdf)
    flip_byte(path, _signed_range_offset(signed_pdf))
    tampered = path.read_bytes()
    assert len(tampered) == len(signed_pdf) and tampered != signed_pdf
    checks = signing.verify_pdf(tampered, [pki.ca])
    assert checks and not any(c.ok for c in checks)
    assert not checks[0].intact
    out = _pdfsig(path)
    assert "Signature is Valid." not in out, out


def test_pdf_signed_by_an_untrusted_ca_is_not_trusted(signed_pdf: bytes, pki: Pki) -> None:
    check = signing.verify_pdf(signed_pdf, [pki.other_ca])[0]
    assert check.intact and check.trusted is False and not check.ok
    # without a trust anchor nothing is called trusted, but the signature is intact
    untrusted = signing.verify_pdf(signed_pdf)[0]
    assert untrusted.intact and untrusted.trusted is None and untrusted.ok


def test_unsigned_pdf_has_no_signatures(report_pdf: bytes) -> None:
    assert signing.verify_pdf(report_pdf) == []


def test_wrong_password_and_expired_certificate_are_clear_errors(report_pdf: bytes, pki: Pki) -> None:
    with pytest.raises(signing.SignatureError, match="sai mật khẩu"):
        signing.sign_pdf(report_pdf, pki.p12, "không đúng")
    with pytest.raises(signing.SignatureError, match="không còn hoặc chưa có hiệu lực"):
        signing.sign_pdf(report_pdf, pki.expired_p12, PASSWORD)


def test_sign_pdf_and_verify_pdf_commands(cli, report_pdf: bytes, pki: Pki, tmp_path: Path) -> None:
    source = tmp_path / "bao-cao.pdf"
    source.write_bytes(report_pdf)
    out = tmp_path / "bao-cao-da-ky.pdf"
    signed = cli("sign-pdf", str(source), "-o", str(out), "--cert", str(pki.p12), "--password-file",
                 str(pki.password_file))
    assert signed.code == 0, signed.err
    assert SIGNER_CN in signed.err
    good = cli("verify-pdf", str(out), "--trust", str(pki.ca))
    assert good.code == 0 and "tin cậy" in good.out and SIGNER_CN in good.out
    assert cli("verify-pdf", str(out), "--trust", str(pki.other_ca)).code == 1
    assert cli("verify-pdf", str(source)).code == 1  # not signed
    wrong = tmp_path / "wrong"
    wrong.write_text("sai\n", encoding="utf-8")
    bad = cli("sign-pdf", str(source), "-o", str(tmp_path / "x.pdf"), "--cert", str(pki.p12), "--password-file",
              str(wrong))
    assert bad.code == 1 and "sai mật khẩu" in bad.err and not (tmp_path / "x.pdf").exists()


def test_sign_output_option_signs_what_a_report_command_writes(report_pdf: bytes, pki: Pki, tmp_path: Path) -> None:
    """The decorator offered to ``report``: options added, file replaced by its signed version."""
    from click.testing import CliRunner

    from secaudit.cli.bundle import sign_output_option

    @click.command()
    @click.option("--format", "fmt", default="pdf")
    @click.option("-o", "--output", "output", type=click.Path(path_type=Path))
    @sign_output_option
    def fake_report(fmt: str, output: Path) -> None:
        output.write_bytes(report_pdf)

    out = tmp_path / "r.pdf"
    result = CliRunner().invoke(fake_report, ["-o", str(out), "--sign", str(pki.p12), "--password-file",
                                              str(pki.password_file)])
    assert result.exit_code == 0, result.output
    assert signing.verify_pdf(out.read_bytes(), [pki.ca])[0].ok
    unsigned = CliRunner().invoke(fake_report, ["-o", str(tmp_path / "plain.pdf")])
    assert unsigned.exit_code == 0 and signing.verify_pdf((tmp_path / "plain.pdf").read_bytes()) == []
    html = CliRunner().invoke(fake_report, ["--format", "html", "-o", str(tmp_path / "r.html"), "--sign",
                                            str(pki.p12)])
    assert html.exit_code == 2 and not (tmp_path / "r.html").exists()


# -- bundle manifests ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def signed_bundle(source: Workspace, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    signer = signing.load_signer(pki.p12, PASSWORD)
    out = tmp_path_factory.mktemp("signed") / "so-y-te.zip"
    return export_bundle(source, LIB, "so-y-te", out, as_of=AS_OF, actor="it", signer=signer).path


def test_signed_manifest_verifies_with_trust_and_fails_with_another_ca(signed_bundle: Path, pki: Pki) -> None:
    info = verify_bundle(signed_bundle, trust=[pki.ca])
    assert info.ok, info.problems
    assert info.signed and info.signature.trusted is True and info.signature.common_name == SIGNER_CN
    other = verify_bundle(signed_bundle, trust=[pki.other_ca])
    assert not other.ok and other.signature.intact and other.signature.trusted is False
    assert any("manifest.p7s" in where for where, _ in other.problems)
    # without --trust: intact, and trust is reported as not checked
    plain = verify_bundle(signed_bundle)
    assert plain.ok and plain.signature.trusted is None


def test_report_in_a_signed_bundle_is_pades_signed(signed_bundle: Path, pki: Pki) -> None:
    import zipfile

    with zipfile.ZipFile(signed_bundle) as zf:
        pdf = zf.read("report/so-y-te.pdf")
    check = signing.verify_pdf(pdf, [pki.ca])[0]
    assert check.ok and check.common_name == SIGNER_CN


def test_changed_manifest_breaks_the_signature(signed_bundle: Path, pki: Pki, tmp_path: Path) -> None:
    entries = read_entries(signed_bundle)
    for entry in entries:
        if entry.name == "manifest.json":
            entry.data = entry.data.replace(b'"exported_by": "it"', b'"exported_by": "xx"')
    path = write_zip(tmp_path / "edited.zip", entries)
    info = verify_bundle(path)  # even without --trust: the signature no longer matches
    assert not info.ok and info.signature is not None and not info.signature.intact


def test_verify_and_import_commands_with_trust(cli, signed_bundle: Path, pki: Pki, tmp_path: Path) -> None:
    good = cli("bundle", "verify", str(signed_bundle), "--trust", str(pki.ca))
    assert good.code == 0, good.err
    assert f"CN={SIGNER_CN}" in good.out and "hợp lệ, tin cậy" in good.out
    bad = cli("bundle", "verify", str(signed_bundle), "--trust", str(pki.other_ca))
    assert bad.code == 1 and "KHÔNG được CA tin cậy" in bad.out
    assert cli("init").code == 0
    refused = cli("bundle", "import", str(signed_bundle), "--trust", str(pki.other_ca))
    assert refused.code == 1
    # A CA-trusted chain alone no longer makes a signature speak for so-y-te (issue 13): the receiver
    # binds the agency's certificate once, then the same import goes through.
    unbound = cli("bundle", "import", str(signed_bundle), "--trust", str(pki.ca))
    assert unbound.code == 1 and "secaudit trust add so-y-te" in unbound.err
    assert cli("trust", "add", "so-y-te", str(pki.cert)).code == 0
    accepted = cli("bundle", "import", str(signed_bundle), "--trust", str(pki.ca))
    assert accepted.code == 0 and SIGNER_CN in accepted.err
    ws = Workspace.open(tmp_path / "ws")
    row = submissions.list_submissions(ws)[0]
    assert row["signature"] == "bound" and SIGNER_CN in row["signer"]
    assert "gắn với cơ quan so-y-te" in cli("bundle", "verify", str(signed_bundle), "--trust", str(pki.ca)).out


def test_unsigned_bundle_is_refused_when_trust_is_required(source: Workspace, pki: Pki, tmp_path: Path) -> None:
    path = export_bundle(source, LIB, "vp-ubnd-tinh", tmp_path / "plain.zip", as_of=AS_OF, actor="it",
                         include_report=False).path
    receiver = Workspace.create(tmp_path / "police")
    with pytest.raises(BundleError, match="không được ký"):
        import_bundle(receiver, path, actor="pa05", trust=[pki.ca])
    assert inventory.agency_codes(receiver) == []


def test_export_cli_signs_with_a_password_file(cli, pki: Pki, tmp_path: Path) -> None:
    from conftest import EXAMPLES

    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory" / "so-y-te.yaml")).code == 0
    out = tmp_path / "b.zip"
    result = cli("bundle", "export", "--agency", "so-y-te", "-o", str(out), "--no-report", "--sign", str(pki.p12),
                 "--password-file", str(pki.password_file))
    assert result.code == 0, result.err
    assert verify_bundle(out, trust=[pki.ca]).ok


def test_names_are_shown_nfc_without_control_characters() -> None:
    decomposed = unicodedata.normalize("NFD", SIGNER_CN)
    assert decomposed != SIGNER_CN
    assert signing.clean_text(decomposed) == SIGNER_CN
    assert signing.clean_text("Sở Y tế\x1b[2J\u202e") == "Sở Y tế[2J"
