"""Bundles: export → verify → import round-trip, tamper detection, hostile archives refused."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import struct
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bundle_helpers import (
    AS_OF,
    KH04,
    LIB,
    PINNED_NOW,
    Entry,
    central_entries,
    db_rows,
    flip_byte,
    manifest_of,
    member_data_span,
    populate,
    read_entries,
    relist,
    set_manifest,
    snapshot,
    write_zip,
)

from secaudit import clock
from secaudit.errors import SecauditError
from secaudit.exchange import claims, submissions
from secaudit.exchange.export import export_bundle
from secaudit.exchange.manifest import BundleError, Limits
from secaudit.exchange.receive import import_bundle
from secaudit.exchange.verify import verify_bundle
from secaudit.inventory import records as inventory
from secaudit.reporting.assessment import evaluate_agency
from secaudit.requirements.answers import record_answer
from secaudit.requirements.results import Status, results_json
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

PROFILES = [LIB.resolve_profile("tu-danh-gia"), LIB.resolve_profile("kiem-tra")]


@pytest.fixture(scope="module", autouse=True)
def pinned_clock() -> Iterator[None]:
    """Bundles are dated by secaudit's clock and may not be newer than their import: pin it for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECAUDIT_NOW", PINNED_NOW)
        yield


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """An agency-side workspace with answers, evidence, a waiver and a scan (built once per module)."""
    root = tmp_path_factory.mktemp("source")
    ws = Workspace.create(root / "ws")
    populate(ws, root)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def bundles(source: Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One bundle per example agency; only so-y-te's carries the rendered report (slow to render)."""
    out = tmp_path_factory.mktemp("bundles")
    made = {}
    for code in inventory.agency_codes(source):
        made[code] = export_bundle(source, LIB, code, out / f"{code}.zip", as_of=AS_OF, actor="it",
                                   include_report=code == "so-y-te").path
    return made


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Workspace]:
    """Công an tỉnh's workspace, empty."""
    ws = Workspace.create(tmp_path / "police")
    yield ws
    ws.close()


def _copy(path: Path, tmp: Path, name: str = "copy.zip") -> Path:
    target = tmp / name
    target.write_bytes(path.read_bytes())
    return target


# -- round trip ---------------------------------------------------------------------------------
def test_round_trip_reproduces_every_agencys_status_matrix(source: Workspace, bundles: dict[str, Path],
                                                            receiver: Workspace) -> None:
    for code, path in bundles.items():
        info = verify_bundle(path)
        assert info.ok, info.problems
        result = import_bundle(receiver, path, actor="pa05")
        assert not result.duplicate and result.inventory == "applied-new"
        # as of the bundle's date (the default) and as of today, when the scans (dated by the clock) count too
        for profile in PROFILES:
            for day in (AS_OF, clock.today()):
                sent = results_json([evaluate_agency(source, LIB, code, as_of=day, profile=profile)])
                seen = results_json([claims.evaluate_submission(
                    receiver, LIB, result.submission_id, profile=profile, as_of=None if day == AS_OF else day)])
                assert seen == sent, f"{code} / {profile.id} / {day}"
        # the inventory arrived as sent, except the declared hosts: the receiver's scan scope takes them only
        # when the inspector accepts them (issue 13)
        sent_inventory = inventory.get_agency(source, code)
        declared = [h for s in sent_inventory.systems for h in s.hosts]
        assert result.scope == ("pending" if declared else "none")
        assert all(not s.hosts for s in inventory.get_agency(receiver, code).systems)
        submissions.accept(receiver, code, result.submission_id, actor="pa05")
        assert inventory.agency_document(inventory.get_agency(receiver, code)) == \
            inventory.agency_document(sent_inventory)
    # the matrix is not trivially empty: the example answers, evidence, waiver and scan all count
    statuses = {r["status"] for a in json.loads(results_json(
        [evaluate_agency(source, LIB, c, as_of=AS_OF, profile=PROFILES[0]) for c in bundles]))
        for r in a["items"]}
    assert {"dat", "chua-dat", "mien-tru"} <= statuses
    # claims stay out of the receiver's own tables
    for table in ("answers", "waivers", "evidence_refs", "scans", "findings"):
        assert db_rows(receiver, table) == [], table
    assert len(submissions.list_submissions(receiver)) == len(bundles)


def test_bundle_carries_every_kind_of_member(bundles: dict[str, Path], source: Workspace) -> None:
    info = verify_bundle(bundles["so-y-te"])
    roles = {m.role for m in info.members}
    assert roles == {"inventory", "table", "log", "evidence", "scan-xml", "report"}
    report = next(m for m in info.members if m.role == "report")
    with zipfile.ZipFile(bundles["so-y-te"]) as zf:
        assert zf.read(report.path).startswith(b"%PDF-")
    # every evidence file of the agency is in it, byte for byte
    shas = {r[0] for r in source.db.execute("select sha256 from evidence_refs where agency = 'so-y-te'")}
    assert shas and shas <= {m.sha256 for m in info.members}
    assert info.manifest is not None and info.manifest.log.agency_entries == info.log_entries_checked > 0


def test_reimport_of_the_same_bundle_changes_nothing(bundles: dict[str, Path], receiver: Workspace) -> None:
    first = import_bundle(receiver, bundles["so-khcn"], actor="pa05")
    before = snapshot(receiver)
    again = import_bundle(receiver, bundles["so-khcn"], actor="pa05")
    assert again.duplicate and again.submission_id == first.submission_id
    assert snapshot(receiver) == before


def test_newer_bundle_is_a_new_submission_with_history_and_diff(tmp_path: Path, receiver: Workspace) -> None:
    agency_ws = Workspace.create(tmp_path / "agency")
    populate(agency_ws, tmp_path)
    first = export_bundle(agency_ws, LIB, "so-y-te", tmp_path / "v1.zip", as_of=AS_OF, actor="it",
                          include_report=False)
    r1 = import_bundle(receiver, first.path, actor="pa05")
    record_answer(agency_ws, agency="so-y-te", system="hssk-dien-tu", checklist=KH04, item="t3-cap-do",
                  status="chua-dat", note="Đang lập hồ sơ cấp độ", files=[], actor="it")
    second = export_bundle(agency_ws, LIB, "so-y-te", tmp_path / "v2.zip", as_of=AS_OF, actor="it",
                           include_report=False)
    r2 = import_bundle(receiver, second.path, actor="pa05")
    assert r2.submission_id != r1.submission_id and r2.supersedes == r1.submission_id
    assert [s["id"] for s in submissions.list_submissions(receiver, "so-y-te")] == [r1.submission_id, r2.submission_id]
    assert submissions.latest(receiver, "so-y-te")["id"] == r2.submission_id
    changes = claims.diff(receiver, r1.submission_id, r2.submission_id, library=LIB, profile=PROFILES[0])
    keyed = {(c["area"], c["key"]): c for c in changes}
    assert keyed[("answers", f"{KH04}:t3-cap-do:hssk-dien-tu")]["change"] == "added"
    status = keyed[("status", f"{KH04}:t3-cap-do:hssk-dien-tu")]
    assert (status["before"], status["after"]) == ("chua-danh-gia", "chua-dat")
    # the first submission is still evaluable as it was sent
    old = claims.evaluate_submission(receiver, LIB, r1.submission_id, profile=PROFILES[0])
    assert next(r for r in old.system_results if r.item == "t3-cap-do" and r.system == "hssk-dien-tu") \
        .status is Status.NOT_ASSESSED


def test_diff_flags_a_rewritten_audit_log(tmp_path: Path, receiver: Workspace) -> None:
    """An agency that rebuilt its workspace (new log) between submissions shows up in the diff."""
    one = Workspace.create(tmp_path / "one")
    populate(one, tmp_path)
    a = import_bundle(receiver, export_bundle(one, LIB, "so-y-te", tmp_path / "a.zip", as_of=AS_OF,
                                                            actor="it", include_report=False).path, actor="pa05")
    two = Workspace.create(tmp_path / "two")
    auditlog.append(two, actor="it", action="workspace.init")  # a different history from the start
    populate(two, tmp_path)
    b = import_bundle(receiver, export_bundle(two, LIB, "so-y-te", tmp_path / "b.zip", as_of=AS_OF,
                                                            actor="it", include_report=False).path, actor="pa05")
    log_changes = [c for c in claims.diff(receiver, a.submission_id, b.submission_id) if c["area"] == "log"]
    assert log_changes and all(c["change"] in ("altered", "removed") for c in log_changes)


def test_receivers_own_answers_and_scans_are_never_overwritten(bundles: dict[str, Path], tmp_path: Path) -> None:
    from bundle_helpers import recorded_scan, replay

    from secaudit.scanning import batch as scan

    today = clock.today()  # scans are dated by the clock: compare as of today so both sides' scans count
    police = Workspace.create(tmp_path / "police")
    agencies = inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory"))
    inventory.import_agencies(police, agencies, actor="pa05", source="examples")
    # the police's own scan finds nothing open on the host where the agency's scan found services
    scan.scan_agency(police, "so-y-te", actor="pa05", runner=replay(recorded_scan({"127.0.7.2": "127.0.11.1"})))
    own_tables = ("answers", "waivers", "evidence_refs", "scans", "scan_hosts", "scan_ports", "findings")
    own = {t: db_rows(police, t) for t in own_tables}
    inventory_before = inventory.agency_document(inventory.get_agency(police, "so-y-te"))

    result = import_bundle(police, bundles["so-y-te"], actor="pa05")
    assert result.inventory == "same-as-own"
    assert {t: db_rows(police, t) for t in own_tables} == own
    assert inventory.agency_document(inventory.get_agency(police, "so-y-te")) == inventory_before

    claimed = claims.evaluate_submission(police, LIB, result.submission_id, profile=PROFILES[0], as_of=today)
    checklist = LIB.checklist(KH04)
    target = next(r for r in [*claimed.results, *claimed.system_results]
                  if r.checklist == KH04 and r.status is Status.PASS and not checklist.children(r.item))
    # the police's own inspection answer disagrees with the claim; a re-sent copy changes none of it
    record_answer(police, agency="so-y-te", system=target.system, checklist=KH04, item=target.item,
                  status="chua-dat", note="Kiểm tra thực tế: chưa đạt", files=[], actor="pa05")
    own = {t: db_rows(police, t) for t in own_tables}
    assert import_bundle(police, bundles["so-y-te"], actor="pa05").duplicate
    assert {t: db_rows(police, t) for t in own_tables} == own

    cmp = claims.compare(police, LIB, "so-y-te", profile=PROFILES[0], as_of=today)
    row = next(r for r in cmp.items if r["item"] == target.item and r["system"] == (target.system or ""))
    assert (row["claimed"], row["own"], row["verdict"]) == ("dat", "chua-dat", claims.DISAGREE)
    assert any(r["verdict"] == claims.UNVERIFIED for r in cmp.items)
    host = next(h for h in cmp.hosts if h["address"] == "127.0.11.1")
    assert host["claimed_ports"] and host["own_ports"] == [] and host["verdict"] == claims.DISAGREE


def test_inventory_edited_by_the_receiver_is_kept_and_shown(bundles: dict[str, Path], receiver: Workspace) -> None:
    import_bundle(receiver, bundles["so-y-te"], actor="pa05")
    edited = inventory.get_agency(receiver, "so-y-te")
    edited.systems[0].name = "Tên do Công an tỉnh ghi nhận"
    inventory.import_agencies(receiver, [edited], actor="pa05", source="edit")
    cmp = claims.compare(receiver, LIB, "so-y-te", profile=PROFILES[0], as_of=AS_OF)
    assert any(d["field"].endswith(".name") and d["own"] == "Tên do Công an tỉnh ghi nhận" for d in cmp.inventory)


# -- tamper detection ---------------------------------------------------------------------------
def test_one_flipped_byte_in_any_member_fails_verify(bundles: dict[str, Path], tmp_path: Path) -> None:
    original = bundles["so-y-te"]
    with zipfile.ZipFile(original) as zf:
        names = [i.filename for i in zf.infolist()]
    assert len(names) >= 10
    for name in names:
        copy = _copy(original, tmp_path)
        offset, length = member_data_span(copy, name)
        assert length > 0, name
        flip_byte(copy, offset + length // 2)
        info = verify_bundle(copy)
        assert not info.ok, name
        assert any(name in where or "manifest.json" in where for where, _ in info.problems), (name, info.problems)


def test_verify_cli_prints_contents_and_exits_1_on_mismatch(cli, bundles: dict[str, Path], tmp_path: Path) -> None:
    good = cli("bundle", "verify", str(bundles["so-y-te"]))
    assert good.code == 0, good.err
    assert "so-y-te — Sở Y tế" in good.out and "HỢP LỆ / VALID" in good.out
    assert "report/so-y-te.pdf" in good.out and "scans/scan-" in good.out
    copy = _copy(bundles["so-khcn"], tmp_path)
    offset, length = member_data_span(copy, "inventory/so-khcn.yaml")
    flip_byte(copy, offset + length // 2)
    bad = cli("bundle", "verify", str(copy))
    assert bad.code == 1
    assert "inventory/so-khcn.yaml" in bad.err and "KHÔNG HỢP LỆ" in bad.out
    as_json = cli("bundle", "verify", str(bundles["vp-ubnd-tinh"]), "--format", "json")
    assert json.loads(as_json.out)["agency"]["code"] == "vp-ubnd-tinh"


def test_export_refuses_an_evidence_file_altered_in_the_store(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    populate(ws, tmp_path)
    sha = ws.db.execute("select sha256 from evidence_refs where agency = 'so-y-te' limit 1").fetchone()[0]
    blob = ws.evidence_path(sha)
    blob.write_bytes(blob.read_bytes() + b"x")
    with pytest.raises(SecauditError, match="đã bị thay đổi"):
        export_bundle(ws, LIB, "so-y-te", tmp_path / "out" / "b.zip", as_of=AS_OF, actor="it",
                      include_report=False)
    assert list((tmp_path / "out").iterdir()) == []


# -- hostile archives ---------------------------------------------------------------------------
def _small(bundles: dict[str, Path]) -> list[Entry]:
    return read_entries(bundles["so-y-te"])


def _add(name: str, data: bytes = b"x", mode: int = stat.S_IFREG | 0o644) -> Callable[[list[Entry]], list[Entry]]:
    return lambda entries: relist([*entries, Entry(name, data, mode)])


def _hash_mismatch(entries: list[Entry]) -> list[Entry]:
    return [Entry(e.name, e.data.replace("Sở Y tế".encode(), "Sở Y TẾ".encode()), e.mode)
            if e.name.startswith("inventory/") else e for e in entries]


def _duplicate(entries: list[Entry]) -> list[Entry]:
    dup = next(e for e in entries if e.name.startswith("inventory/"))
    return [*entries, Entry(dup.name, dup.data + b"# other\n")]


def _not_in_manifest(entries: list[Entry]) -> list[Entry]:
    return [*entries, Entry("evidence/" + "0" * 64 + ".pdf", b"%PDF-1.4 smuggled")]


def _bomb(entries: list[Entry]) -> list[Entry]:
    return relist([*entries, Entry("evidence/" + hashlib.sha256(b"\0" * (4 << 20)).hexdigest(), b"\0" * (4 << 20))])


def _other_agency_rows(entries: list[Entry]) -> list[Entry]:
    rows = [{"id": 1, "agency": "so-khcn", "system": "", "checklist": KH04, "item": "t5-giam-sat",
             "status": "dat", "note": "giả mạo", "evidence": "[]", "answered_at": "2026-04-01T00:00:00+00:00",
             "actor": "x"}]
    data = json.dumps(rows).encode()
    return relist([Entry(e.name, data) if e.name == "data/answers.json" else e for e in entries])


def _altered_log(entries: list[Entry]) -> list[Entry]:
    out = []
    for e in entries:
        if e.name == "log/entries.json":
            rows = json.loads(e.data)
            rows[0]["actor"] = "người khác"
            e = Entry(e.name, json.dumps(rows, ensure_ascii=False).encode())
        out.append(e)
    return relist(out)


def _future_format(entries: list[Entry]) -> list[Entry]:
    manifest = manifest_of(entries)
    manifest["format_version"] = 2
    return set_manifest(entries, manifest)


HOSTILE: dict[str, tuple[Callable[[list[Entry]], list[Entry]], str]] = {
    "traversal": (_add("../../etc/cron.d/evil"), "../"),
    "traversal-inside": (_add("evidence/../../../evil"), "../"),
    "absolute": (_add("/etc/evil"), "tuyệt đối"),
    "drive-letter": (_add("C:/Windows/evil"), "tuyệt đối"),
    "backslash-traversal": (_add("..\\..\\evil"), "../"),
    "symlink": (_add("evidence/" + hashlib.sha256(b"/etc/passwd").hexdigest(), b"/etc/passwd",
                     stat.S_IFLNK | 0o777), "symlink"),
    "device": (_add("evidence/" + hashlib.sha256(b"").hexdigest(), b"", stat.S_IFCHR | 0o644), "thông thường"),
    "duplicate": (_duplicate, "lặp"),
    "not-in-manifest": (_not_in_manifest, "không có trong bản kê"),
    "hash-mismatch": (_hash_mismatch, "SHA-256"),
    "compression-ratio": (_bomb, "tỷ lệ nén"),
    "other-agency-rows": (_other_agency_rows, "cơ quan khác"),
    "altered-log": (_altered_log, "đã bị sửa"),
    "future-format": (_future_format, "phiên bản định dạng"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_archive_is_refused_and_nothing_is_written(case: str, bundles: dict[str, Path], tmp_path: Path,
                                                          receiver: Workspace) -> None:
    build, expected = HOSTILE[case]
    path = write_zip(tmp_path / f"{case}.zip", build(_small(bundles)))
    before = snapshot(receiver)
    with pytest.raises(BundleError) as caught:
        import_bundle(receiver, path, actor="pa05")
    assert expected in caught.value.diagnostics(), caught.value.diagnostics()
    assert snapshot(receiver) == before
    assert not verify_bundle(path).ok


def _patch_zip(path: Path, patch: Callable[[bytearray], None]) -> Path:
    data = bytearray(path.read_bytes())
    patch(data)
    path.write_bytes(bytes(data))
    return path


def test_members_sharing_data_like_a_hard_link_are_refused(bundles: dict[str, Path], tmp_path: Path,
                                                           receiver: Workspace) -> None:
    """ZIP has no hard links; its equivalent is two entries pointing at the same data."""
    entries = _small(bundles)
    path = write_zip(tmp_path / "link.zip", entries)
    data = path.read_bytes()
    heads = central_entries(data)
    first_offset = struct.unpack("<L", data[heads[0] + 42:heads[0] + 46])[0]

    def point_second_at_first(buf: bytearray) -> None:
        buf[heads[1] + 42:heads[1] + 46] = struct.pack("<L", first_offset)

    _patch_zip(path, point_second_at_first)
    before = snapshot(receiver)
    with pytest.raises(BundleError, match=r"liên kết cứng|hard link"):
        import_bundle(receiver, path, actor="pa05")
    assert snapshot(receiver) == before


def test_a_tar_with_a_hard_link_is_refused(tmp_path: Path, receiver: Workspace) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("evidence/a")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
        link = tarfile.TarInfo("evidence/b")
        link.type = tarfile.LNKTYPE
        link.linkname = "/etc/shadow"
        tar.addfile(link)
    path = tmp_path / "bundle.tar"
    path.write_bytes(buf.getvalue())
    before = snapshot(receiver)
    with pytest.raises(BundleError, match="Không phải tệp ZIP"):
        import_bundle(receiver, path, actor="pa05")
    assert snapshot(receiver) == before


def test_excessive_declared_size_is_refused_before_reading(bundles: dict[str, Path], tmp_path: Path,
                                                           receiver: Workspace) -> None:
    entries = relist([*_small(bundles), Entry("evidence/" + "a" * 64, b"tiny", compress=zipfile.ZIP_STORED)])
    path = write_zip(tmp_path / "huge.zip", entries)
    data = path.read_bytes()
    target = next(h for h in central_entries(data)
                  if data[h + 46:h + 46 + 73] == ("evidence/" + "a" * 64).encode())

    def claim_four_gib(buf: bytearray) -> None:  # the central directory says ~4 GiB, the data is 4 bytes
        buf[target + 20:target + 28] = struct.pack("<LL", 0xFFFFFFF0, 0xFFFFFFF0)

    _patch_zip(path, claim_four_gib)
    before = snapshot(receiver)
    with pytest.raises(BundleError, match="quá lớn"):
        import_bundle(receiver, path, actor="pa05")
    assert snapshot(receiver) == before


def test_too_many_members_is_refused_before_parsing(bundles: dict[str, Path], tmp_path: Path,
                                                    receiver: Workspace) -> None:
    entries = _small(bundles) + [Entry(f"evidence/{i:064x}", b"", compress=zipfile.ZIP_STORED) for i in range(60)]
    path = write_zip(tmp_path / "many.zip", relist(entries))
    before = snapshot(receiver)
    with pytest.raises(BundleError, match="quá nhiều thành phần"):
        import_bundle(receiver, path, actor="pa05", limits=Limits(max_members=50))
    assert snapshot(receiver) == before


def test_too_many_members_with_default_limits(bundles: dict[str, Path], tmp_path: Path, receiver: Workspace) -> None:
    """More than 65,535 entries also takes the ZIP64 end-record path of the up-front count."""
    path = tmp_path / "flood.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(max(Limits().max_members + 1, 0x10000 + 10)):
            zf.writestr(f"evidence/{i:064x}", b"")
    before = snapshot(receiver)
    with pytest.raises(BundleError, match="quá nhiều thành phần"):
        import_bundle(receiver, path, actor="pa05")
    assert snapshot(receiver) == before


@pytest.mark.parametrize("where", ["before", "after"])
def test_data_hidden_around_the_zip_is_refused(where: str, bundles: dict[str, Path], tmp_path: Path) -> None:
    raw = bundles["so-y-te"].read_bytes()
    junk = b"<html><script>alert(1)</script></html>"
    path = tmp_path / "polyglot.zip"
    path.write_bytes(junk + raw if where == "before" else raw + junk)
    info = verify_bundle(path)
    assert not info.ok and "dữ liệu lạ" in info.problems[0][1]


def test_hostile_bundle_through_the_cli_is_a_clear_error(cli, bundles: dict[str, Path], tmp_path: Path) -> None:
    assert cli("init").code == 0
    path = write_zip(tmp_path / "evil.zip", _add("../../evil")(_small(bundles)))
    result = cli("bundle", "import", str(path))
    assert result.code == 1
    assert result.err.startswith("Error: ") and "../evil" in result.err and "path traversal" in result.err


def test_failed_import_leaves_no_staged_blob(bundles: dict[str, Path], tmp_path: Path, receiver: Workspace) -> None:
    """A hash mismatch in a blob found mid-stream: the staged files are removed too."""
    entries = _small(bundles)
    blob = Entry("evidence/" + hashlib.sha256(b"real").hexdigest() + ".txt", b"real")
    entries = relist([*entries, blob])
    entries = [Entry(e.name, b"fake") if e.name == blob.name else e for e in entries]
    path = write_zip(tmp_path / "staged.zip", entries)
    before = snapshot(receiver)
    with pytest.raises(BundleError, match="SHA-256"):
        import_bundle(receiver, path, actor="pa05")
    assert snapshot(receiver) == before


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_export_import_list_show_diff_status(cli, tmp_path: Path) -> None:
    agency_ws, police_ws = str(tmp_path / "agency"), str(tmp_path / "police")
    examples = str(Path(__file__).resolve().parents[2] / "examples" / "inventory" / "so-y-te.yaml")
    for args in (("init", "--workspace", agency_ws), ("inventory", "import", examples, "--workspace", agency_ws),
                 ("init", "--workspace", police_ws)):
        assert cli(*args).code == 0
    out1 = str(tmp_path / "so-y-te-1.zip")
    exported = cli("bundle", "export", "--agency", "so-y-te", "-o", out1, "--as-of", "2026-05-01", "--no-report",
                   "--workspace", agency_ws)
    assert exported.code == 0, exported.err
    assert "SHA-256" in exported.err
    imported = cli("bundle", "import", out1, "--workspace", police_ws)
    assert imported.code == 0 and "#1" in imported.err
    again = cli("bundle", "import", out1, "--workspace", police_ws)
    assert again.code == 0 and "already imported" in again.err
    waiver = cli("waive", f"{KH04}:t4-lop-2", "--agency", "so-y-te", "--reason", "Chưa có kinh phí",
                 "--approved-by", "Giám đốc Sở", "--until", "2026-12-31", "--workspace", agency_ws)
    assert waiver.code == 0, waiver.err
    out2 = str(tmp_path / "so-y-te-2.zip")
    assert cli("bundle", "export", "--agency", "so-y-te", "-o", out2, "--as-of", "2026-05-01", "--no-report",
               "--workspace", agency_ws).code == 0
    assert cli("bundle", "import", out2, "--workspace", police_ws).code == 0
    listed = cli("submissions", "list", "--format", "json", "--workspace", police_ws)
    rows = json.loads(listed.out)
    assert [r["id"] for r in rows] == [1, 2] and rows[1]["supersedes"] == 1
    diff = cli("submissions", "diff", "1", "2", "--workspace", police_ws)
    assert diff.code == 0 and "waivers" in diff.out and "mien-tru" in diff.out
    show = cli("submissions", "show", "2", "--workspace", police_ws)
    assert show.code == 0 and "t4-lop-2" in show.out and "MIỄN TRỪ" in show.out
    shown = cli("submissions", "show", "2", "--format", "json", "--workspace", police_ws)
    assert json.loads(shown.out)[0]["agency"] == "so-y-te"
    status = cli("submissions", "status", "so-y-te", "--as-of", "2026-05-01", "--workspace", police_ws)
    assert status.code == 0 and "chưa kiểm chứng" in status.out
    # unverified rows are a count by default and listed with --all (the waiver claimed as MIỄN TRỪ among them)
    status = cli("submissions", "status", "so-y-te", "--as-of", "2026-05-01", "--all", "--workspace", police_ws)
    assert status.code == 0 and "MIỄN TRỪ" in status.out
    missing = cli("submissions", "show", "9", "--workspace", police_ws)
    assert missing.code == 1 and "no submission #9" in missing.err


def test_bundle_tables_leave_out_this_machines_process_details(tmp_path: Path) -> None:
    """A scan row records which local process ran it (pid, start time, host name) to recognise an
    abandoned scan; none of that describes the agency's evidence, so a bundle never carries it."""
    from secaudit.exchange.export import table_rows

    ws = Workspace.create(tmp_path / "ws")
    try:
        populate(ws, tmp_path)
        ws.db.execute("update scans set owner_pid = 4242, owner_start = '1', owner_host = 'may-cua-can-bo'")
        scans = table_rows(ws, "so-y-te")["scans"]
        assert scans and all(not {"owner_pid", "owner_start", "owner_host"} & row.keys() for row in scans)
    finally:
        ws.close()
