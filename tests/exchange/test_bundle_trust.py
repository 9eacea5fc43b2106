"""The trust model for bundles (issue 13): a bundle's inventory is the agency's claim.

- a bundle cannot be newer than the moment it is imported (the forged "2099" takeover);
- changes to the declared hosts — what Công an tỉnh scans — wait for the inspector's acceptance
  (or a signature by a certificate bound to the agency, when the binding's policy says so);
- a signature speaks for an agency only with a certificate bound to it: another agency's
  certificate is refused whatever CA issued it;
- a `bundle import` killed at any point leaves nothing that `evidence verify` calls tampering.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from bundle_helpers import (
    AS_OF,
    CERT_PASSWORD,
    LIB,
    PINNED_NOW,
    Entry,
    Identity,
    make_ca,
    make_identity,
    manifest_of,
    populate,
    read_entries,
    relist,
    set_manifest,
    snapshot,
    write_zip,
)

from secaudit.cli import main
from secaudit.exchange import claims, submissions
from secaudit.exchange.export import export_bundle
from secaudit.exchange.manifest import BundleError
from secaudit.exchange.receive import import_bundle
from secaudit.exchange.submissions import ImportResult
from secaudit.exchange.verify import verify_bundle
from secaudit.inventory import records as inventory
from secaudit.requirements import evidence
from secaudit.scanning import plan as scan
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

AGENCY = "so-khcn"
GENUINE_HOSTS = {"127.0.10.1", "127.0.10.2"}
FORGED_HOST = "127.0.66.6"
T0 = "2026-11-20T09:00:00+07:00"
T1 = "2026-11-21T09:00:00+07:00"
T2 = "2026-11-22T09:00:00+07:00"
T3 = "2026-11-23T09:00:00+07:00"


@pytest.fixture
def agency_ws(tmp_path: Path) -> Iterator[Workspace]:
    """Sở KHCN's own workspace: its example inventory."""
    ws = Workspace.create(tmp_path / "agency")
    inventory.import_agencies(ws, inventory.load_agencies([EXAMPLES / "inventory" / f"{AGENCY}.yaml"]),
                              actor="so-khcn-it", source="examples")
    yield ws
    ws.close()


@pytest.fixture
def police(tmp_path: Path) -> Iterator[Workspace]:
    """Công an tỉnh's workspace, empty."""
    ws = Workspace.create(tmp_path / "police")
    yield ws
    ws.close()


def _export(ws: Workspace, out: Path, monkeypatch: pytest.MonkeyPatch, when: str, signer: object = None) -> Path:
    monkeypatch.setenv("SECAUDIT_NOW", when)
    return export_bundle(ws, LIB, AGENCY, out, as_of=AS_OF, actor="so-khcn-it", include_report=False,
                         signer=signer).path


def _forge(genuine: Path, out: Path, *, created: str, host: str = FORGED_HOST) -> Path:
    """The attack of issue 13: the genuine bundle with the hosts replaced and ``created`` set, unsigned."""
    entries = [e for e in read_entries(genuine) if e.name != "manifest.p7s"]
    forged = []
    for e in entries:
        if e.name == f"inventory/{AGENCY}.yaml":
            doc = yaml.safe_load(e.data)
            for system in doc["systems"]:
                for h in system.get("hosts", []):
                    h["address"] = host
                    host = host[:-1] + str(int(host[-1]) + 1)
            e = Entry(e.name, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8"))
        forged.append(e)
    manifest = manifest_of(forged)
    manifest["created"] = created
    return write_zip(out, relist(set_manifest(forged, manifest)))


def _scope(ws: Workspace) -> set[str]:
    """What the receiver would scan for the agency."""
    return {h.address for h in scan.declared_hosts(ws, AGENCY)}


def _import(ws: Workspace, path: Path, monkeypatch: pytest.MonkeyPatch, when: str, **kwargs: object) \
        -> ImportResult:
    monkeypatch.setenv("SECAUDIT_NOW", when)
    return import_bundle(ws, path, actor="pa05", **kwargs)  # type: ignore[arg-type]


# -- created is bounded by the import time --------------------------------------------------------
def test_a_bundle_from_the_future_is_refused_and_changes_nothing(
        agency_ws: Workspace, police: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    genuine = _export(agency_ws, tmp_path / "g1.zip", monkeypatch, T0)
    _import(police, genuine, monkeypatch, T1)
    forged = _forge(genuine, tmp_path / "forged.zip", created="2099-12-31T00:00:00+00:00")
    before = snapshot(police)
    with pytest.raises(BundleError, match="không thể mới hơn lúc được nhập"):
        _import(police, forged, monkeypatch, T2)
    assert snapshot(police) == before
    monkeypatch.setenv("SECAUDIT_NOW", T2)
    info = verify_bundle(forged)
    assert not info.ok and any("created after the moment of import" in msg for _, msg in info.problems)


# -- the takeover sequence ---------------------------------------------------------------------------
def test_takeover_sequence_never_puts_forged_hosts_in_the_scan_scope(
        agency_ws: Workspace, police: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Genuine bundle, forged newer bundle, genuine bundle again (issue 13, item 1)."""
    g1 = _export(agency_ws, tmp_path / "g1.zip", monkeypatch, T0)
    first = _import(police, g1, monkeypatch, T0)
    # first contact: the agency exists at the receiver, its hosts wait for the inspector
    assert first.inventory == "applied-new" and first.scope == "pending"
    assert _scope(police) == set()
    assert {c["address"] for c in first.host_changes if c["change"] == "added"} == GENUINE_HOSTS
    submissions.accept(police, AGENCY, first.submission_id, actor="pa05")
    assert _scope(police) == GENUINE_HOSTS

    # the forged bundle of the issue, dated 2099: refused outright
    with pytest.raises(BundleError):
        _import(police, _forge(g1, tmp_path / "f2099.zip", created="2099-12-31T00:00:00+00:00"), monkeypatch, T1)
    # the same forgery dated within bounds is recorded as a claim, shown as a diff, not applied
    forged = _import(police, _forge(g1, tmp_path / "f.zip", created="2026-11-21T08:00:00+07:00"), monkeypatch, T1)
    assert forged.scope == "pending" and forged.binding is None
    assert {c["after"].split(" | ")[0] for c in forged.host_changes if c["after"]} >= {FORGED_HOST}
    assert _scope(police) == GENUINE_HOSTS

    # the agency's next genuine bundle is not "older" than the forgery, and nothing forged ever got in
    g2 = _export(agency_ws, tmp_path / "g2.zip", monkeypatch, T2)
    second = _import(police, g2, monkeypatch, T2)
    assert second.inventory in ("unchanged", "applied-update") and second.scope == "none" and second.newer is None
    assert _scope(police) == GENUINE_HOSTS
    assert submissions.latest(police, AGENCY)["id"] == second.submission_id
    comparison = claims.compare(police, LIB, AGENCY, profile=LIB.resolve_profile("tu-danh-gia"), as_of=AS_OF)
    assert comparison.host_changes == []

    # only an explicit acceptance puts claimed hosts into the scope (and the log says who did it)
    accepted = submissions.accept(police, AGENCY, forged.submission_id, actor="pa05", dry_run=True)
    assert accepted.newer == second.submission_id and _scope(police) == GENUINE_HOSTS
    submissions.accept(police, AGENCY, forged.submission_id, actor="pa05")
    assert FORGED_HOST in _scope(police)
    entry = police.db.execute("select actor, detail from log where action = 'submission.accept' order by seq desc"
                              " limit 1").fetchone()
    assert entry[0] == "pa05" and FORGED_HOST in entry[1]


def test_an_older_bundle_does_not_replace_a_newer_one(agency_ws: Workspace, police: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    old = _export(agency_ws, tmp_path / "old.zip", monkeypatch, T0)
    new = _export(agency_ws, tmp_path / "new.zip", monkeypatch, T1)
    _import(police, new, monkeypatch, T2)
    late = _import(police, old, monkeypatch, T2)
    assert late.inventory == "kept-newer" and late.newer is not None


def test_accept_command_shows_the_diff_then_applies(cli, agency_ws: Workspace, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    g1 = _export(agency_ws, tmp_path / "g1.zip", monkeypatch, T0)
    monkeypatch.setenv("SECAUDIT_NOW", T1)
    assert cli("init").code == 0
    imported = cli("bundle", "import", str(g1))
    assert imported.code == 0, imported.err
    assert "CHỜ CHẤP NHẬN" in imported.err and "127.0.10.1" in imported.err
    assert f"secaudit submissions accept {AGENCY} 1" in imported.err
    status = cli("submissions", "status", AGENCY, "--as-of", "2026-05-01")
    assert status.code == 0 and "127.0.10.2" in status.out and "submissions accept" in status.out
    dry = cli("submissions", "accept", AGENCY, "1", "--dry-run")
    assert dry.code == 0 and "127.0.10.1" in dry.out and "chưa áp dụng" in dry.err
    ws = Workspace.open(tmp_path / "ws")
    assert _scope(ws) == set()
    assert cli("submissions", "accept", "so-y-te", "1").code == 1  # the submission is another agency's
    done = cli("submissions", "accept", AGENCY, "1")
    assert done.code == 0 and "Đã chấp nhận" in done.err
    assert _scope(ws) == GENUINE_HOSTS
    listed = json.loads(cli("submissions", "list", "--format", "json").out)
    assert listed[0]["accepted_by"] == "pytest" and listed[0]["hosts_pending"] == 0


# -- signatures bound to agencies ----------------------------------------------------------------------
@dataclass
class Agencies:
    ca: Path
    khcn: Identity
    yte: Identity


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Agencies:
    pytest.importorskip("pyhanko", reason="pyHanko is not installed: signature binding untested")
    root = tmp_path_factory.mktemp("pki")
    ca_path, ca, key = make_ca(root)
    return Agencies(ca_path, make_identity(root, "so-khcn", "Sở Khoa học và Công nghệ Nghệ An", ca, key),
                    make_identity(root, "so-y-te", "Sở Y tế tỉnh Nghệ An", ca, key))


def _signer(identity: Identity) -> object:
    from secaudit.exchange import signing

    return signing.load_signer(identity.p12, CERT_PASSWORD)


def test_a_bundle_signed_with_another_agencys_certificate_is_refused(
        agency_ws: Workspace, police: Workspace, pki: Agencies, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        cli) -> None:
    """Issue 13, item 2: a so-khcn bundle signed with Sở Y tế's certificate, both issued by the trusted CA."""
    from secaudit.exchange.trust import add_binding

    monkeypatch.setenv("SECAUDIT_NOW", T0)
    add_binding(police, "so-y-te", pki.yte.cert, actor="pa05")
    add_binding(police, AGENCY, pki.khcn.cert, actor="pa05")
    cross = _export(agency_ws, tmp_path / "cross.zip", monkeypatch, T0, signer=_signer(pki.yte))
    before = snapshot(police)
    for trust in (None, [pki.ca]):
        with pytest.raises(BundleError, match=r"CƠ QUAN KHÁC|cơ quan 'so-y-te'"):
            _import(police, cross, monkeypatch, T1, trust=trust)
    assert snapshot(police) == before
    # `bundle verify` against the receiver's workspace says so, never "valid and trusted"
    monkeypatch.setenv("SECAUDIT_WORKSPACE", str(police.root))
    shown = cli("bundle", "verify", str(cross), "--trust", str(pki.ca))
    assert shown.code == 1 and "CƠ QUAN KHÁC (so-y-te)" in shown.out and "KHÔNG HỢP LỆ" in shown.out
    assert "hợp lệ, tin cậy" not in shown.out
    # the agency's own certificate goes through, and is recorded as bound
    own = _export(agency_ws, tmp_path / "own.zip", monkeypatch, T0, signer=_signer(pki.khcn))
    result = _import(police, own, monkeypatch, T1, trust=[pki.ca])
    assert result.binding == "bound"
    assert submissions.get(police, result.submission_id)["signature"] == "bound"


def test_a_certificate_not_among_the_agencys_is_refused(agency_ws: Workspace, police: Workspace, pki: Agencies,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from secaudit.exchange.trust import add_binding

    monkeypatch.setenv("SECAUDIT_NOW", T0)
    add_binding(police, AGENCY, pki.khcn.cert, actor="pa05")  # Sở Y tế's certificate is bound to no one
    cross = _export(agency_ws, tmp_path / "cross.zip", monkeypatch, T0, signer=_signer(pki.yte))
    with pytest.raises(BundleError, match="không thuộc các chứng thư đã gắn"):
        _import(police, cross, monkeypatch, T1)


def test_trust_required_without_a_binding_is_refused(agency_ws: Workspace, police: Workspace, pki: Agencies,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chain to the trusted CA says who holds the certificate, not which agency it speaks for."""
    signed = _export(agency_ws, tmp_path / "s.zip", monkeypatch, T0, signer=_signer(pki.yte))
    with pytest.raises(BundleError, match="chưa được gắn với 'so-khcn'"):
        _import(police, signed, monkeypatch, T1, trust=[pki.ca])
    # without --trust it is only a claim: recorded, signature intact, nothing in the scan scope
    result = _import(police, signed, monkeypatch, T1)
    assert result.binding == "unknown" and result.scope == "pending" and _scope(police) == set()
    assert submissions.get(police, result.submission_id)["signature"] == "intact"


def test_host_changes_signed_by_a_bound_certificate_apply_only_by_policy(
        agency_ws: Workspace, police: Workspace, pki: Agencies, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from secaudit.exchange.trust import add_binding

    monkeypatch.setenv("SECAUDIT_NOW", T0)
    add_binding(police, AGENCY, pki.khcn.cert, actor="pa05")
    first = _import(police, _export(agency_ws, tmp_path / "a.zip", monkeypatch, T0, signer=_signer(pki.khcn)),
                    monkeypatch, T0)
    assert first.binding == "bound" and first.scope == "pending" and _scope(police) == set()
    _, added = add_binding(police, AGENCY, pki.khcn.cert, actor="pa05", auto_apply=True)
    assert not added  # the same binding, its policy changed
    second = _import(police, _export(agency_ws, tmp_path / "b.zip", monkeypatch, T1, signer=_signer(pki.khcn)),
                     monkeypatch, T1)
    assert second.scope == "applied-signed" and _scope(police) == GENUINE_HOSTS


def test_trust_commands_add_list_remove(cli, pki: Agencies, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", T0)
    assert cli("init").code == 0
    added = cli("trust", "add", AGENCY, str(pki.khcn.cert))
    assert added.code == 0 and "Sở Khoa học và Công nghệ Nghệ An" in added.err
    fingerprint = hashlib.sha256(pki.khcn.cert.read_bytes()).hexdigest()  # PEM bytes: not the DER fingerprint
    rows = json.loads(cli("trust", "list", "--format", "json").out)
    assert [r["agency"] for r in rows] == [AGENCY] and rows[0]["fingerprint"] != fingerprint
    # one certificate speaks for one agency; a CA certificate for none
    other = cli("trust", "add", "so-y-te", str(pki.khcn.cert))
    assert other.code == 1 and "đã gắn với cơ quan 'so-khcn'" in other.err
    ca = cli("trust", "add", "so-y-te", str(pki.ca))
    assert ca.code == 1 and "chứng thư của CA" in ca.err
    garbage = tmp_path / "x.pem"
    garbage.write_text("không phải chứng thư", encoding="utf-8")
    assert cli("trust", "add", "so-y-te", str(garbage)).code == 1
    assert cli("trust", "remove", "so-y-te", rows[0]["fingerprint"][:12]).code == 1  # not bound to so-y-te
    removed = cli("trust", "remove", AGENCY, rows[0]["fingerprint"][:12])
    assert removed.code == 0 and "Đã gỡ" in removed.err
    assert "Chưa gắn chứng thư nào" in cli("trust", "list").out
    actions = [r[0] for r in Workspace.open(tmp_path / "ws").db.execute("select action from log order by seq")]
    assert actions[-2:] == ["trust.add", "trust.remove"]


# -- an import killed at random points --------------------------------------------------------------------
def _secaudit(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "secaudit", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_sigkill_during_import_leaves_a_store_that_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13, item 4: `bundle import` killed with SIGKILL at random points, then `evidence verify` passes.

    Each round kills a real `secaudit bundle import` process at a random moment of its run (seeded, so a
    failure repeats), then runs `evidence verify` as the next command, then imports again to the end.
    """
    monkeypatch.setenv("SECAUDIT_NOW", PINNED_NOW)
    source = Workspace.create(tmp_path / "source")
    populate(source, tmp_path)
    rng = random.Random(13)
    big = []
    for i in range(KILL_FILES):  # incompressible evidence: the import spends its time streaming into staging
        path = tmp_path / f"anh-chup-{i}.bin"
        path.write_bytes(rng.randbytes(KILL_FILE_BYTES))
        big.append(path)
    from secaudit.requirements.answers import record_answer

    record_answer(source, agency="so-y-te", system=None, checklist="kh04-bcdtw", item="t5-giam-sat",
                  status="dat", note="Ảnh chụp màn hình giám sát", files=big, actor="so-y-te-it")
    path = export_bundle(source, LIB, "so-y-te", tmp_path / "so-y-te.zip", as_of=AS_OF, actor="it",
                         include_report=False).path
    source.close()
    env = {**os.environ, "SECAUDIT_NOW": PINNED_NOW, "SECAUDIT_ACTOR": "pa05"}
    env.pop("SECAUDIT_WORKSPACE", None)

    empty = tmp_path / "empty"
    started = time.monotonic()
    assert _secaudit("init", "--workspace", str(empty), env=env).returncode == 0
    startup = time.monotonic() - started
    timing = tmp_path / "timing"
    shutil.copytree(empty, timing)
    started = time.monotonic()
    assert _secaudit("bundle", "import", str(path), "--workspace", str(timing), env=env).returncode == 0
    duration = time.monotonic() - started

    kills, residue, resumed = 0, 0, 0
    for round_ in range(KILL_ROUNDS):
        police = tmp_path / f"police-{round_}"
        shutil.copytree(empty, police)
        proc = subprocess.Popen([sys.executable, "-m", "secaudit", "bundle", "import", str(path), "--workspace",
                                 str(police)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if round_ % 2 == 0:  # every other round: wait for staging to begin, so some kills surely land in it
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline and not any(
                    p.name.startswith(".import-") for p in (police / "evidence").iterdir()):
                time.sleep(0.002)
        else:  # the other rounds: a random moment of the run, start-up included
            time.sleep(rng.uniform(startup * 0.7, duration * 0.95))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        left = any(p.name.startswith(".import-") for p in (police / "evidence").iterdir())
        residue += left
        # the next command, in-process (the same code path as a new process, without its start-up time)
        assert main(["evidence", "verify", "--workspace", str(police)]) == 0
        assert not any(p.name.startswith(".import-") for p in (police / "evidence").iterdir())
        if left and resumed < 2:  # the import then runs to the end, and the store still verifies
            resumed += 1
            assert main(["bundle", "import", str(path), "--workspace", str(police)]) == 0
            ws = Workspace.open(police)
            try:
                assert evidence.verify(ws).ok and len(submissions.list_submissions(ws, "so-y-te")) == 1
            finally:
                ws.close()
    assert kills >= KILL_ROUNDS // 2, f"only {kills} of {KILL_ROUNDS} imports were still running when killed"
    assert residue >= 1, "no kill landed while the import was staging: the test proved nothing"


KILL_ROUNDS = 8
KILL_FILES = 4
KILL_FILE_BYTES = 6 << 20
