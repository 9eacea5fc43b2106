"""Shared fixtures: a fresh workspace, the bundled examples, and a way to run the CLI in-process.

Tests use real parts: a real SQLite workspace in a temp folder, the real example inventory, and
(in the scan and report tests) real nmap and real weasyprint.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from secaudit.cli import main
from secaudit.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


# Modules whose tests never read a date: they are not re-run under a shifted system clock.
CLOCK_FREE = {"test_concurrency", "test_workspace", "test_models", "test_xlsx", "test_records", "test_conditions",
              "test_nmap_run", "test_nmap_parse", "test_targets", "test_rules", "test_clock", "test_architecture",
              "test_layout"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every other test ``dates``: CI runs those again with the system clock in 2027 and early 2026
    (``faketime``), which proves that they pass whatever day they run on."""
    for item in items:
        # ``system_clock``: compares our clock with a child's (nmap's XML times), which only agree when
        # the system clock is not moved inside the test process; such a test never reads a date itself.
        if item.path.stem not in CLOCK_FREE and item.get_closest_marker("system_clock") is None:
            item.add_marker(pytest.mark.dates)


_TRAVELLER: list[object] = []


def pytest_configure(config: pytest.Config) -> None:
    """With ``$SECAUDIT_TEST_SYSTEM_CLOCK`` set (CI does, twice), the whole run — module-level code
    included, hence before collection — sees that date on the system clock (wall-clock functions
    only; monotonic time stays real), ticking from there. Child processes get the date through the
    tests that start them (e.g. the loopback services' ``now``)."""
    when = os.environ.get("SECAUDIT_TEST_SYSTEM_CLOCK")
    if when:
        import datetime as dt

        import time_machine

        traveller = time_machine.travel(dt.datetime.fromisoformat(when), tick=True)
        traveller.start()
        _TRAVELLER.append(traveller)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _TRAVELLER:
        _TRAVELLER.pop().stop()  # type: ignore[attr-defined]


@pytest.fixture
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pin secaudit's clock (``$SECAUDIT_NOW``) to the morning of 22/11/2026, Vietnam time."""
    value = "2026-11-22T09:00:00+07:00"
    monkeypatch.setenv("SECAUDIT_NOW", value)
    return value


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _neutral_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listings follow ``$LANG`` (English when it starts with "en"): every test starts from a neutral
    locale so a machine set to English does not change what the tests read; a test that wants English
    sets ``LANG`` itself."""
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def cli(capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run ``secaudit ARGS`` in-process through ``main`` (so exit codes and errors are the real ones)."""
    monkeypatch.setenv("SECAUDIT_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("SECAUDIT_ACTOR", "pytest")

    def run(*args: str) -> CliResult:
        code = main(list(args))
        captured = capsysbinary.readouterr()
        return CliResult(code, captured.out.decode("utf-8"), captured.err.decode("utf-8"))

    return run


@pytest.fixture
def example_services(tmp_path: Path) -> Iterator[Path]:
    """The bundled example province's loopback services (``examples/services.py``), stopped afterwards."""
    state = tmp_path / "services"
    script = EXAMPLES / "services.py"
    subprocess.run([sys.executable, str(script), "start", "--state-dir", str(state)], check=True, timeout=60)
    try:
        yield state
    finally:
        subprocess.run([sys.executable, str(script), "stop", "--state-dir", str(state)], check=False, timeout=60)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A new, empty workspace."""
    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def example_ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace with the example province imported."""
    from secaudit.inventory import records as inventory

    workspace = Workspace.create(tmp_path / "ws")
    agencies = inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory"))
    inventory.import_agencies(workspace, agencies, actor="pytest", source="examples")
    yield workspace
    workspace.close()


def is_root() -> bool:
    return os.geteuid() == 0


@dataclass
class MarkerBinary:
    """An executable standing in for nmap that only records that it was started."""

    path: Path
    marker: Path

    @property
    def ran(self) -> bool:
        return self.marker.exists()


@pytest.fixture
def marker_binary(tmp_path: Path) -> MarkerBinary:
    """A real executable that writes a marker file when run: proof that nothing was launched."""
    marker = tmp_path / "nmap-was-run"
    script = tmp_path / "fake-nmap"
    script.write_text(f"#!/bin/sh\necho \"$@\" > '{marker}'\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return MarkerBinary(script, marker)
