"""The service layer: one function per user operation, callable by any face without a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit import clock
from secaudit.errors import NotFoundError, SecauditError
from secaudit.services import assessment, inventory, log, workspace


def test_a_session_runs_on_services_alone_and_prints_nothing(tmp_path: Path, pinned_now: str,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    """Init, inventory edits, status and the log through services, by location: data back, no output."""
    where = tmp_path / "ws"
    assert workspace.init_workspace(where, actor="svc").name == "ws"
    inventory.add_agency(where, {"code": "so-thu", "name": "Sở Thử nghiệm", "kind": "Sở, ban, ngành cấp tỉnh"},
                         actor="svc")
    inventory.add_system(where, "so-thu", {"code": "cong-dvc", "name": "Cổng dịch vụ công", "critical": "có"},
                         ["127.0.30.1 | 443/tcp https | có | Máy chủ web"], actor="svc")

    assert [row["code"] for row in inventory.list_agencies(where)] == ["so-thu"]
    assert inventory.system_document(where, "so-thu", "cong-dvc")["hosts"][0]["address"] == "127.0.30.1"
    results = assessment.assess_status(where, "so-thu", as_of=clock.today())
    assert [r.agency for r in results] == ["so-thu"]
    assert not results[0].met  # nothing answered yet
    head = log.verify_log(where)
    assert head is not None and head[0] == len(log.log_entries(where)) >= 3
    assert {e["actor"] for e in log.log_entries(where)} == {"svc"}

    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_services_raise_the_projects_errors(tmp_path: Path) -> None:
    where = tmp_path / "ws"
    with pytest.raises(SecauditError):
        workspace.open_workspace(where)  # no workspace there yet
    workspace.init_workspace(where, actor="svc")
    with pytest.raises(NotFoundError):
        inventory.agency_document(where, "khong-co")
    inventory.add_agency(where, {"code": "so-thu", "name": "Sở Thử nghiệm", "kind": "Sở, ban, ngành cấp tỉnh"},
                         actor="svc")
    with pytest.raises(SecauditError, match="#"):
        log.verify_log(where, expect_head="0" * 16)  # a head recorded elsewhere that this log does not have
