"""The province roll-up built from what the agencies submitted equals the shared workspace's roll-up for the
same data, and an agency that sent nothing by the deadline is flagged late."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundle_helpers import AS_OF, LIB, PINNED_NOW, populate

from secaudit.exchange.export import export_bundle
from secaudit.exchange.receive import import_bundle
from secaudit.inventory import records as inventory
from secaudit.reporting.province import build_province
from secaudit.services.exchange import province_from_submissions
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

SILENT = "phuong-thanh-vinh"  # sends nothing


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", PINNED_NOW)


@pytest.fixture
def shared(tmp_path: Path, pinned: None) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "shared")
    populate(ws, tmp_path)
    yield ws
    ws.close()


def _cells(data: object) -> dict[str, list[tuple[str | None, bool]]]:
    return {a.code: [(c.status, c.overdue) for c in a.cells] for a in data.agencies}  # type: ignore[attr-defined]


def test_rollup_from_bundles_equals_the_shared_workspace_and_flags_the_silent_agency_late(
        shared: Workspace, tmp_path: Path) -> None:
    profile = LIB.resolve_profile("tu-danh-gia")
    expected = build_province(shared, LIB, None, as_of=AS_OF, profile=profile)
    police = Workspace.create(tmp_path / "police")
    silent = inventory.load_agencies([EXAMPLES / "inventory" / f"{SILENT}.yaml"])
    inventory.import_agencies(police, silent, actor="pa05", source="examples")
    for code in inventory.agency_codes(shared):
        if code == SILENT:
            continue
        bundle = export_bundle(shared, LIB, code, tmp_path / f"{code}.zip", as_of=AS_OF, actor=code,
                               include_report=False).path
        import_bundle(police, bundle, actor="pa05")
    deadline = dt.date(2026, 11, 30)  # the bundles were made on 22/11/2026 (the pinned clock)
    got = province_from_submissions(police, as_of=AS_OF, deadline=deadline)
    assert got.source == "submissions"
    want, have = _cells(expected), _cells(got)
    assert set(have) == set(want)
    for code in want:
        if code != SILENT:
            assert have[code] == want[code], code
    rows = {a.code: a for a in got.agencies}
    assert rows[SILENT].late is True and rows[SILENT].submitted is None
    assert all(rows[c].late is False and rows[c].submitted == "2026-11-22" for c in rows if c != SILENT)
    # per task, the same counts once the silent agency is left out of both
    for i, _task in enumerate(got.tasks):
        def counted(data: object, i: int = i) -> list[str]:
            return sorted(a.cells[i].counted for a in data.agencies if a.code != SILENT)  # type: ignore[attr-defined]
        assert counted(got) == counted(expected)
    # against a deadline before the bundles were made, every agency is late
    early = province_from_submissions(police, as_of=AS_OF, deadline=dt.date(2026, 11, 1))
    assert all(a.late for a in early.agencies)
    police.close()
    # the roll-up command itself, in the police workspace: the late agency and the submission column show
    from secaudit.cli import main

    pdf = tmp_path / "tong-hop.html"
    code = main(["-w", str(tmp_path / "police"), "report", "--province", "--from-submissions", "--format", "html",
                 "-o", str(pdf), "--as-of", "22/11/2026", "--deadline", "30/11/2026"])
    assert code == 0
    page = pdf.read_text("utf-8")
    assert "Nộp báo cáo" in page and "chưa nộp" in page and "muộn" in page
    assert main(["-w", str(tmp_path / "police"), "report", "--province", "--deadline", "30/11/2026",
                 "--format", "html", "-o", str(pdf)]) == 2  # --deadline without --from-submissions
