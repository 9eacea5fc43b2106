"""Regressions found by the bundle fuzzer (scripts/fuzz/bundles.py, session 5).

A bundle's rows were checked for shape only (a list of objects with scalar values), so a bundle whose
rows the receiver's schema or readers cannot take was imported — even signed by a bound certificate —
and ``submissions status`` / ``show`` then stopped with a traceback (sqlite3.IntegrityError on a
duplicated key, ValueError on an unknown answer status or an impossible date, JSONDecodeError on a
JSON column that is not JSON, OverflowError on an integer SQLite cannot hold, in any column). Each case is the
smallest such change to a genuine bundle, re-hashed so only the row check can refuse it.
``answers-without-a-date`` was found by reading the evaluator (a recurring item reads ``answered_at``
when ``effective`` is empty), not by the fuzzer: the example answers reach no such item.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import AS_OF, LIB, PINNED_NOW, Entry, populate, read_entries, relist, snapshot, write_zip

from secaudit.cli import main
from secaudit.exchange import claims
from secaudit.exchange.export import export_bundle
from secaudit.exchange.manifest import BundleError
from secaudit.exchange.receive import import_bundle
from secaudit.exchange.verify import verify_bundle
from secaudit.store.workspace import Workspace, dumps

AGENCY = "so-y-te"


@pytest.fixture(scope="module", autouse=True)
def pinned_clock() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECAUDIT_NOW", PINNED_NOW)
        yield


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    """So-y-te's bundle (answers, waiver, evidence, a scan with hosts, ports and findings), no report."""
    root = tmp_path_factory.mktemp("source")
    ws = Workspace.create(root / "ws")
    populate(ws, root)
    out = export_bundle(ws, LIB, AGENCY, root / "so-y-te.zip", as_of=AS_OF, actor="it", include_report=False).path
    ws.close()
    return read_entries(out)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "police")
    yield ws
    ws.close()


def _set(column: str, value: Any) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0][column] = value
        return rows

    return edit


def _undated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ("answered_at", "effective")} for row in rows]


def _duplicate_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rows[0], *rows]


#: case → (table, edit of its rows, what the refusal names)
CASES: dict[str, tuple[str, Callable[[list[dict[str, Any]]], list[dict[str, Any]]], str]] = {
    "duplicated-evidence-row": ("evidence", _duplicate_first, "dòng 2: trùng khóa sha256"),
    "unknown-answer-status": ("answers", _set("status", "\u202egnp.exe"), "dòng 1, cột 'status'"),
    "impossible-waiver-date": ("waivers", _set("until", "2026-02-30"), "dòng 1, cột 'until'"),
    "port-scripts-not-json": ("scan_ports", _set("scripts", '{"http-title":'), "dòng 1, cột 'scripts'"),
    "answers-without-a-date": ("answers", _undated, "dòng 1: thiếu cột 'answered_at'"),
    "integer-sqlite-cannot-hold": ("scan_ports", _set("port", 10 ** 30), "dòng 1, cột 'port'"),
    "actor-sqlite-cannot-hold": ("answers", _set("actor", 2 ** 63), "dòng 1, cột 'actor'"),
}


def _bundle(genuine: list[Entry], table: str, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
            out: Path) -> Path:
    member = f"data/{table}.json"
    entries = []
    for e in genuine:
        if e.name == member:
            e = Entry(e.name, json.dumps(edit(json.loads(e.data)), ensure_ascii=False).encode(), e.mode, e.compress)
        entries.append(e)
    return write_zip(out, relist(entries))


@pytest.mark.parametrize("case", list(CASES))
def test_rows_the_receiver_cannot_read_are_refused_at_import(case: str, genuine: list[Entry], receiver: Workspace,
                                                            tmp_path: Path) -> None:
    table, edit, names = CASES[case]
    path = _bundle(genuine, table, edit, tmp_path / f"{case}.zip")
    info = verify_bundle(path)
    assert not info.ok and any(f"data/{table}.json" in w and names in m for w, m in info.problems), info.problems
    before = snapshot(receiver)
    with pytest.raises(BundleError) as refused:
        import_bundle(receiver, path, actor="pa05")
    assert f"data/{table}.json" in refused.value.diagnostics() and names in refused.value.diagnostics()
    assert snapshot(receiver) == before


def test_the_genuine_bundle_still_imports_and_its_claims_evaluate(genuine: list[Entry], receiver: Workspace,
                                                                   tmp_path: Path) -> None:
    path = write_zip(tmp_path / "genuine.zip", genuine)
    result = import_bundle(receiver, path, actor="pa05")
    assert not result.duplicate
    claims.claims_workspace(receiver, result.submission_id).close()


def test_rows_stored_before_the_check_are_a_clear_error_not_a_traceback(
        genuine: list[Entry], receiver: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A submission imported by an earlier version may hold such rows: reading it names them."""
    result = import_bundle(receiver, write_zip(tmp_path / "genuine.zip", genuine), actor="pa05")
    sid = result.submission_id
    with receiver.transaction() as db:
        row = db.execute("select id, data from submission_rows where submission_id = ? and kind = 'answers'"
                         " order by position limit 1", [sid]).fetchone()
        db.execute("update submission_rows set data = ? where id = ?",
                   [dumps({**json.loads(row[1]), "status": "khong-ro"}), row[0]])
    code = main(["submissions", "status", AGENCY, "--workspace", str(receiver.root), "--as-of", "22/11/2026"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"submission-{sid}:data/answers.json: dòng 1, cột 'status'" in err
