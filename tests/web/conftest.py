"""Fixtures of the served app: the example province with one account per role, and signed-in clients."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web.helpers import ACCOUNTS, EXAMPLES, NOW, csrf_of, password

from secaudit.services.accounts import add_user
from secaudit.services.assessment import import_answers
from secaudit.store.workspace import Workspace


@pytest.fixture(scope="session")
def _web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once (argon2 is slow on purpose): the example province, its answers and one account per role."""
    from secaudit.inventory import records as inventory

    root = tmp_path_factory.mktemp("web-template") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECAUDIT_NOW", NOW)
        ws = Workspace.create(root)
        try:
            agencies = inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory"))
            inventory.import_agencies(ws, agencies, actor="pytest", source="examples")
            for answers in sorted((EXAMPLES / "answers").glob("*.yaml")):
                import_answers(ws, answers.stem, answers, actor="pytest")
            for name, (role, agency) in ACCOUNTS.items():
                add_user(ws, name, password(name), role=role, agency=agency, actor="pytest")
        finally:
            ws.close()
    return root


@pytest.fixture
def web_ws(_web_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the template workspace, with the clock pinned to 22/11/2026 09:00 (Vietnam)."""
    import shutil

    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    root = tmp_path / "ws"
    shutil.copytree(_web_template, root)
    return root


@pytest.fixture
def client_for(web_ws: Path) -> Iterator[Callable[[str | None], object]]:
    """``client_for(username)``: a Starlette TestClient signed in as that account (None: anonymous)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from secaudit.web.site import create_app

    app = create_app(web_ws)
    made: list[TestClient] = []

    def make(username: str | None) -> TestClient:
        client = TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=True)
        made.append(client)
        if username is not None:
            page = client.get("/dang-nhap")
            reply = client.post("/dang-nhap", data={"csrf": csrf_of(page.text), "username": username,
                                                    "password": password(username)}, follow_redirects=False)
            assert reply.status_code == 303, reply.text
        return client

    yield make
    for client in made:
        client.close()
