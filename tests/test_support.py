"""The child portals of the tests come with an account: its token authenticates, and a restart keeps it."""

from __future__ import annotations

import re
import sys

import pytest

from portal import create_app
from portal.accounts import service
from portal.extensions import db
from tests.support import ADMIN_PASSWORD
from tests.support import RunningPortal

pytestmark = pytest.mark.server


def owner_of(data_dir, token: str) -> tuple[str, str, list[str]] | None:
    """(username, role, every username) as the portal on ``data_dir`` sees ``token``."""
    app = create_app({"DATA_DIR": str(data_dir)})
    with app.app_context():
        try:
            found = service.authenticate_token(token)
            names = [user.username for user in service.list_users()]
            return (found[0].username, found[0].role, names) if found else None
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_seeded_token_is_an_admins_with_every_scope_and_survives_a_restart(tmp_path):
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data")
    try:
        assert portal.token and portal.token.startswith("ptl_")
        assert portal.auth_headers == {"Authorization": f"Bearer {portal.token}"}
        assert portal.http.headers["Authorization"] == f"Bearer {portal.token}"
        assert portal.auth_line == f"Authorization: Bearer {portal.token}\r\n".encode()
        assert portal.http.get(portal.url + "/api/v1/files", timeout=10).status_code == 200
    finally:
        portal.stop()
    assert owner_of(portal.data_dir, portal.token) == ("admin", "admin", ["admin"])

    restarted = RunningPortal([sys.executable, "wsgi.py"], portal.data_dir)
    restarted.stop()
    assert restarted.token == portal.token
    assert owner_of(portal.data_dir, portal.token) == ("admin", "admin", ["admin"])
    app = create_app({"DATA_DIR": str(portal.data_dir)})
    with app.app_context():
        [token] = service.list_tokens("admin")
        assert {scope.value for scope in token.scope_set} == {"read", "upload", "delete"}
        assert service.verify_password("admin", ADMIN_PASSWORD) is not None
        db.session.remove()
        db.engine.dispose()


def test_a_portal_can_start_without_an_account(tmp_path):
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", seed_admin=False)
    portal.stop()
    assert portal.token is None and portal.auth_headers == {} and portal.auth_line == b""
    assert not (portal.data_dir / "admin-token").exists()


def test_the_shared_url_builders_are_the_ones_werkzeug_compiles_for_each_rule(app):
    """tests/conftest.py compiles each rule's URL builder once per process: it must be what werkzeug makes."""
    from tests.conftest import _werkzeug_compile_builder

    rules = list(app.url_map.iter_rules())
    assert len(rules) > 50
    for rule in rules:
        for append_unknown, bound in ((False, rule._build), (True, rule._build_unknown)):
            own = _werkzeug_compile_builder(rule, append_unknown)
            shared = bound.__func__
            assert shared.__code__.co_code == own.__code__.co_code, rule.rule
            assert shared.__code__.co_consts == own.__code__.co_consts, rule.rule
            assert shared.__code__.co_varnames == own.__code__.co_varnames, rule.rule
            assert shared.__defaults__ == own.__defaults__, rule.rule
    with app.test_request_context():
        from flask import url_for

        assert re.fullmatch(r"/static/css/portal\.[0-9a-f]{12}\.css\?v=1", url_for("static", filename="css/portal.css", v="1"))
