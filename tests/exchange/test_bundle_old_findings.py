"""A bundle made before findings were one row per problem (schema ≤ 14) still verifies, imports and evaluates.

The old exporter wrote ``data/findings.json`` with one row per problem × requirement (``checklist``,
``item``, no ``bears_on``). The bundle here is made by today's exporter with its findings table
rewritten into that shape before it is packed, so the manifest and hashes are genuine.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import AS_OF, LIB, PINNED_NOW, populate

from secaudit import clock
from secaudit.exchange import claims
from secaudit.exchange import export as export_module
from secaudit.exchange.export import export_bundle
from secaudit.exchange.receive import import_bundle
from secaudit.exchange.verify import verify_bundle
from secaudit.reporting.assessment import evaluate_agency
from secaudit.requirements.results import results_json
from secaudit.store.workspace import Workspace, split_refs

AGENCY = "so-y-te"  # the example agency populate() scans
PROFILES = [LIB.resolve_profile("tu-danh-gia"), LIB.resolve_profile("kiem-tra")]


def _old_shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings rows as secaudit wrote them before v15: one per requirement, ids in that order."""
    out = []
    next_id = 1
    for row in rows:
        for ref in split_refs(row["bears_on"]):
            checklist, _, item = ref.partition(":")
            old = {k: v for k, v in row.items() if k != "bears_on"}
            out.append({**old, "id": next_id, "checklist": checklist, "item": item})
            next_id += 1
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path, Path]]:
    root = tmp_path_factory.mktemp("old-findings")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECAUDIT_NOW", PINNED_NOW)
        ws = Workspace.create(root / "ws")
        populate(ws, root)
        new = export_bundle(ws, LIB, AGENCY, root / "new.zip", as_of=AS_OF, actor="it", include_report=False).path
        real = export_module.table_rows

        def old_rows(w: Workspace, agency: str) -> dict[str, list[dict[str, Any]]]:
            tables = real(w, agency)
            tables["findings"] = _old_shape(tables["findings"])
            return tables

        mp.setattr(export_module, "table_rows", old_rows)
        old = export_bundle(ws, LIB, AGENCY, root / "old.zip", as_of=AS_OF, actor="it", include_report=False).path
        mp.undo()
        mp.setenv("SECAUDIT_NOW", PINNED_NOW)
        yield ws, new, old
        ws.close()


def _findings_member(path: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("findings.json"))
        rows: list[dict[str, Any]] = json.loads(zf.read(name))
        return rows


def test_the_old_bundle_really_has_one_row_per_requirement(made: tuple[Workspace, Path, Path]) -> None:
    _, new, old = made
    problems, requirement_rows = _findings_member(new), _findings_member(old)
    assert problems and all(r["bears_on"] for r in problems)
    assert len(requirement_rows) == sum(len(split_refs(r["bears_on"])) for r in problems) > len(problems)
    assert all("bears_on" not in r and r["checklist"] and r["item"] for r in requirement_rows)


def test_old_bundle_verifies_imports_and_gives_the_senders_results(made: tuple[Workspace, Path, Path],
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", PINNED_NOW)
    ws, _, old = made
    info = verify_bundle(old)
    assert info.ok, info.problems
    receiver = Workspace.create(tmp_path / "police")
    try:
        result = import_bundle(receiver, old, actor="pa05")
        mem = claims.claims_workspace(receiver, result.submission_id)
        try:  # materialised as problems, each naming every requirement, under the sender's first ids
            rows = list(mem.db.query("select id, bears_on, checklist from findings order by id"))
            assert [split_refs(r["bears_on"]) for r in rows] == \
                [split_refs(r["bears_on"]) for r in _findings_member(made[1])]
            assert all(r["checklist"] is None for r in rows)
        finally:
            mem.close()
        counted = 0
        for profile in PROFILES:  # as of the bundle's date and of today, when the scan (dated by the clock) counts
            for day in (AS_OF, clock.today()):
                sent = results_json([evaluate_agency(ws, LIB, AGENCY, as_of=day, profile=profile)])
                seen = results_json([claims.evaluate_submission(receiver, LIB, result.submission_id, profile=profile,
                                                                as_of=day)])
                # the same statuses, reasons and findings; only the finding ids differ (the old rows were
                # numbered per requirement), so they are compared by count
                assert _without_ids(json.loads(seen)) == _without_ids(json.loads(sent)), (profile.id, day)
                counted += _finding_count(json.loads(sent))
        assert counted  # the comparison covers results that rest on findings
    finally:
        receiver.close()


def _without_ids(doc: Any) -> Any:
    """The results document with every ``findings`` id list replaced by its length."""
    if isinstance(doc, dict):
        return {k: len(v) if k == "findings" and isinstance(v, list) else _without_ids(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_without_ids(v) for v in doc]
    return doc


def _finding_count(doc: Any) -> int:
    if isinstance(doc, dict):
        return sum(len(v) if k == "findings" and isinstance(v, list) else _finding_count(v) for k, v in doc.items())
    if isinstance(doc, list):
        return sum(_finding_count(v) for v in doc)
    return 0
