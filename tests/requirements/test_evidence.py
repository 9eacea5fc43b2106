"""The evidence store: content-addressed, names as metadata only, dates, size limit, verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from secaudit.errors import InputError, NotFoundError
from secaudit.requirements import evidence
from secaudit.store.workspace import Workspace

HOSTILE_NAMES = ["../../../etc/passwd", "Biên bản; rm -rf ~.pdf", "$(reboot).docx", "-oN x", ".hidden", "a\\b.pdf"]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _counts(ws: Workspace) -> tuple[int, int, int]:
    return ws.db["evidence"].count, ws.db["evidence_refs"].count, ws.db["log"].count


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_original_name_is_metadata_only(example_ws: Workspace, tmp_path: Path, name: str) -> None:
    folder = tmp_path / "in" / "sub" / "deeper"
    folder.mkdir(parents=True)
    source = folder / name.replace("/", "_")
    source.write_bytes(b"noi dung " + name.encode())
    before_outside = _files(tmp_path / "in")
    row = evidence.add(example_ws, source, actor="t", agency="so-khcn")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert row["sha256"] == digest and row["original_name"] == source.name
    assert _files(example_ws.evidence_dir) == [example_ws.evidence_dir / digest[:2] / digest]
    assert _files(tmp_path / "in") == before_outside  # nothing written next to the source


def test_duplicates_are_stored_once_with_two_references(example_ws: Workspace, tmp_path: Path) -> None:
    a, b = tmp_path / "qd-1.pdf", tmp_path / "qd-copy.pdf"
    a.write_bytes(b"%PDF quyet dinh")
    b.write_bytes(b"%PDF quyet dinh")
    first = evidence.add(example_ws, a, actor="t", agency="so-khcn", kind="quyet-dinh")
    second = evidence.add(example_ws, b, actor="t", agency="so-y-te", system="hssk-dien-tu", kind="quyet-dinh")
    assert first["sha256"] == second["sha256"]
    assert example_ws.db["evidence"].count == 1 and example_ws.db["evidence_refs"].count == 2
    assert len(_files(example_ws.evidence_dir)) == 1
    assert [r["original_name"] for r in evidence.show(example_ws, first["sha256"][:8])["refs"]] == ["qd-1.pdf",
                                                                                                     "qd-copy.pdf"]


def test_effective_date_is_not_the_upload_date(example_ws: Workspace, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")  # the upload day, pinned
    path = tmp_path / "bien-ban.pdf"
    path.write_bytes(b"bien ban kiem tra")
    row = evidence.add(example_ws, path, actor="cán bộ", agency="vp-ubnd-tinh", system="tthc-tinh", kind="bien-ban",
                       effective=dt.date(2025, 12, 20), expires=dt.date(2026, 12, 20), note="Biên bản kiểm tra")
    listed = evidence.list_refs(example_ws, "vp-ubnd-tinh")
    assert [(r["effective"], r["expires"], r["note"]) for r in listed] == [("2025-12-20", "2026-12-20",
                                                                           "Biên bản kiểm tra")]
    assert listed[0]["added_at"][:10] == "2026-11-22" != row["effective"]
    default = evidence.add(example_ws, path, actor="t", agency="so-khcn")
    assert default["effective"] == "2026-11-22" and default["expires"] is None


def test_add_is_logged_in_the_same_transaction(example_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"x")
    before = example_ws.db["log"].count
    row = evidence.add(example_ws, path, actor="cán bộ A", agency="so-khcn", kind="bao-cao")
    entry = next(example_ws.db.query("select * from log order by seq desc limit 1"))
    assert (entry["action"], entry["agency"], entry["subject"], entry["actor"]) == (
        "evidence.add", "so-khcn", row["sha256"], "cán bộ A")
    assert json.loads(entry["detail"])["name"] == "x.pdf" and example_ws.db["log"].count == before + 1
    # a failure after the file is copied rolls back the reference and the log entry together
    example_ws.db.execute("create trigger boom before insert on log begin select raise(abort, 'boom'); end")
    before = _counts(example_ws)
    other = tmp_path / "y.pdf"
    other.write_bytes(b"y")
    with pytest.raises(sqlite3.IntegrityError):
        evidence.add(example_ws, other, actor="t", agency="so-khcn")
    assert _counts(example_ws) == before
    # the copied file is left as an intact, unreferenced blob: verify notes it, it is not a failure
    report = evidence.verify(example_ws)
    assert report.ok and report.strays == [hashlib.sha256(b"y").hexdigest()]


@pytest.mark.parametrize("kwargs, needle", [
    ({"kind": "thu-tay"}, "unknown evidence kind"),
    ({"system": "lgsp-tinh"}, "--system needs --agency"),
    ({"agency": "khong-co"}, "no agency"),
    ({"agency": "so-khcn", "system": "khong-co"}, "no system"),
    ({"agency": "so-khcn", "effective": dt.date(2026, 5, 1), "expires": dt.date(2026, 4, 1)}, "before"),
    ({"agency": "so-khcn", "item": "kh04-bcdtw:t3-cap-do"}, "give --system"),
    ({"agency": "so-khcn", "item": "kh04-bcdtw:khong-co"}, "khong-co"),
    ({"agency": "so-khcn", "item": "khong-co-dau-hai-cham"}, "CHECKLIST:ITEM"),
])
def test_bad_additions_change_nothing(example_ws: Workspace, tmp_path: Path, kwargs: dict, needle: str) -> None:
    path = tmp_path / "f.pdf"
    path.write_bytes(b"f")
    before = _counts(example_ws)
    with pytest.raises((InputError, NotFoundError), match=needle):
        evidence.add(example_ws, path, actor="t", **kwargs)
    assert _counts(example_ws) == before
    assert _files(example_ws.evidence_dir) == []


def test_item_link_is_checked_against_the_checklists(example_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "qd.pdf"
    path.write_bytes(b"qd")
    row = evidence.add(example_ws, path, actor="t", agency="so-khcn", system="lgsp-tinh",
                       item="kh04-bcdtw:t3-cap-do", kind="quyet-dinh")
    assert (row["checklist"], row["item"], row["system"]) == ("kh04-bcdtw", "t3-cap-do", "lgsp-tinh")


def test_size_limit_is_a_workspace_setting(example_ws: Workspace, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 4096)
    evidence.set_limit(example_ws, 1024, actor="t")
    assert example_ws.evidence_max_bytes() == 1024
    reopened = Workspace.open(example_ws.root)  # the setting lives in the workspace, not the process
    before = _counts(reopened)
    with pytest.raises(InputError, match="size limit"):
        evidence.add(reopened, big, actor="t", agency="so-khcn")
    with pytest.raises(InputError, match="size limit"):
        reopened.store_file(big)  # every caller of the store gets the limit, not only 'evidence add'
    assert _counts(reopened) == before
    evidence.set_limit(reopened, None, actor="t")
    assert evidence.add(reopened, big, actor="t", agency="so-khcn")["size"] == 4096
    assert [json.loads(r[0]) for r in reopened.db.execute(
        "select detail from log where action = 'evidence.limit' order by seq")][-1]["after"] > 4096
    assert evidence.parse_size("50MB") == 50 * 1024 * 1024 and evidence.parse_size("1024") == 1024
    with pytest.raises(InputError):
        evidence.parse_size("rất to")


def _stored(ws: Workspace, tmp_path: Path, content: bytes = b"bien ban hop") -> str:
    path = tmp_path / "e.pdf"
    path.write_bytes(content)
    return str(evidence.add(ws, path, actor="t", agency="so-khcn")["sha256"])


def test_verify_catches_a_flipped_byte(example_ws: Workspace, tmp_path: Path, cli) -> None:
    digest = _stored(example_ws, tmp_path)
    _stored(example_ws, tmp_path, b"another file")
    assert evidence.verify(example_ws).ok
    blob = example_ws.evidence_path(digest)
    data = bytearray(blob.read_bytes())
    data[3] ^= 0x01
    blob.write_bytes(bytes(data))
    report = evidence.verify(example_ws)
    assert report.checked == 2 and [p[0] for p in report.problems] == [digest]
    assert "altered" in report.problems[0][1]
    assert evidence.show(example_ws, digest[:10])["state"].startswith("nội dung đã bị thay đổi")
    result = cli("evidence", "verify", "-w", str(example_ws.root))
    assert result.code == 1 and digest in result.err and "altered" in result.err


def test_verify_catches_missing_truncated_and_foreign_files(example_ws: Workspace, tmp_path: Path) -> None:
    gone = _stored(example_ws, tmp_path, b"will be deleted")
    cut = _stored(example_ws, tmp_path, b"will be truncated")
    example_ws.evidence_path(gone).unlink()
    example_ws.evidence_path(cut).write_bytes(b"will be")
    (example_ws.evidence_dir / "ab").mkdir(exist_ok=True)
    (example_ws.evidence_dir / "ab" / "notes.txt").write_text("slipped in")
    report = evidence.verify(example_ws)
    found = dict(report.problems)
    assert "missing" in found[gone] and "size" in found[cut] and "unexpected" in found["ab/notes.txt"]


def test_show_needs_a_unique_prefix(example_ws: Workspace, tmp_path: Path) -> None:
    digest = _stored(example_ws, tmp_path)
    assert evidence.show(example_ws, digest.upper()[:12])["sha256"] == digest
    with pytest.raises(InputError, match="hex digits"):
        evidence.show(example_ws, digest[:4])
    with pytest.raises(NotFoundError):
        evidence.show(example_ws, "0" * 64 if not digest.startswith("0") else "f" * 64)


def test_evidence_cli(cli, tmp_path: Path) -> None:
    from conftest import EXAMPLES

    cli("init")
    cli("inventory", "import", str(EXAMPLES / "inventory"))
    path = tmp_path / "Quyết định 123.pdf"
    path.write_bytes(b"%PDF-1.4 quyet dinh")
    added = cli("evidence", "add", str(path), "--agency", "so-khcn", "--system", "lgsp-tinh", "--kind", "quyet-dinh",
                "--effective", "10/04/2026", "--expires", "2027-04-10", "--item", "kh04-bcdtw:t3-cap-do")
    assert added.code == 0, added.err
    digest = added.out.strip()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    listed = json.loads(cli("evidence", "list", "--agency", "so-khcn", "--format", "json").out)
    assert [(r["original_name"], r["effective"], r["expires"]) for r in listed] == [
        ("Quyết định 123.pdf", "2026-04-10", "2027-04-10")]
    assert "Quyết định 123.pdf" in cli("evidence", "list").out
    shown = cli("evidence", "show", digest[:8])
    assert shown.code == 0 and "state: ok" in shown.out and "item: t3-cap-do" in shown.out
    assert cli("evidence", "verify").code == 0
    assert cli("evidence", "limit").out.strip().isdigit()
    assert cli("evidence", "limit", "10B").code == 0
    refused = cli("evidence", "add", str(path), "--agency", "so-khcn")
    assert refused.code == 1 and "size limit" in refused.err
    assert cli("evidence", "add", str(tmp_path / "khong-co.pdf")).code == 1
