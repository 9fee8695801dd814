"""Signing in and out through the pages: fresh sessions, ended sessions, safe redirects, cookie flags,
the brute-force limit, the audit lines, and the one-time setup of the first admin."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer

from portal import create_app
from portal.accounts import service as accounts
from portal.accounts.service import SETUP_CODE
from portal.extensions import db
from tests.helpers import TEST_PASSWORD
from tests.helpers import add_user
from tests.support import found
from tests.web.conftest import csrf_token

SESSION_COOKIE = "session"


def session_cookie(client) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie is not None else None


def sign_in(client, username: str = "uma", password: str = TEST_PASSWORD, next_path: str | None = None, **environ):
    """Fill in the sign-in form as a person would: open it, then post it with its CSRF token."""
    token = csrf_token(client, "/login")
    form = {"csrf_token": token, "username": username, "password": password}
    if next_path is not None:
        form["next"] = next_path
    return client.post("/login", data=form, environ_overrides=environ)


def is_sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


@pytest.fixture
def uma(app) -> str:
    add_user(app, "uma", "uploader")
    return "uma"


def test_sign_in_starts_a_new_session_and_the_old_cookie_signs_nobody_in(app, uma):
    browser = app.test_client()
    assert browser.get("/login").status_code == 200
    before = session_cookie(browser)
    assert before, "the form's CSRF token is kept in the session: a cookie exists before sign-in"
    assert sign_in(browser).status_code == 303
    after = session_cookie(browser)
    assert after and after != before
    assert browser.get("/").status_code == 200

    attacker = app.test_client()
    attacker.set_cookie(SESSION_COOKIE, before)
    assert is_sent_to_sign_in(attacker.get("/"))


def test_sign_out_ends_the_session_on_the_server(app, uma):
    browser = app.test_client()
    sign_in(browser)
    copy = session_cookie(browser)
    logout = browser.post("/logout", data={"csrf_token": csrf_token(browser, "/")})
    assert logout.status_code == 303 and urlsplit(logout.headers["Location"]).path == "/login"
    assert is_sent_to_sign_in(browser.get("/"))

    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, copy)
    assert is_sent_to_sign_in(replay.get("/"))
    assert replay.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
     "/\t/evil.example", "/\n/evil.example", " //evil.example", "evil.example"],
)
def test_next_never_leaves_the_site(app, uma, target):
    """Browsers drop tabs and newlines from a URL, so ``/\t/evil`` would be ``//evil``: refused too."""
    response = sign_in(app.test_client(), next_path=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_next_returns_to_the_page_asked_for(app, uma):
    visitor = app.test_client()
    asked = visitor.get("/upload")
    assert urlsplit(asked.headers["Location"]).query == "next=/upload"
    response = sign_in(visitor, next_path="/upload?from=library")
    assert response.headers["Location"] == "/upload?from=library"
    assert visitor.get("/upload").status_code == 200


def set_cookie_header(response) -> str:
    (header,) = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(SESSION_COOKIE + "=")]
    return header


def test_session_cookie_is_http_only_and_same_site_lax(app, uma):
    header = set_cookie_header(sign_in(app.test_client()))
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"] == "SameSite=Lax"
    assert "secure" not in attributes


def test_session_cookie_is_secure_when_the_setting_says(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("PORTAL_SESSION_COOKIE_SECURE", "true")
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        add_user(app, "uma", "uploader")
        browser = app.test_client()
        # A Secure cookie is sent back over HTTPS only: the form is opened and sent as a browser would there.
        token = csrf_token_over_https(browser)
        response = browser.post(
            "/login",
            data={"csrf_token": token, "username": "uma", "password": TEST_PASSWORD},
            base_url="https://localhost",
            headers={"Referer": "https://localhost/login"},  # Flask-WTF checks it over HTTPS
        )
        assert response.status_code == 303
        assert "Secure" in [part.strip() for part in set_cookie_header(response).split(";")]
    finally:
        with app.app_context():
            db.engine.dispose()


def csrf_token_over_https(client) -> str:
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    return found(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


# --- brute force ---------------------------------------------------------------------


def test_five_failures_for_a_name_block_the_sixth_attempt_even_with_the_right_password(app, uma):
    browser = app.test_client()
    for _ in range(5):
        assert sign_in(browser, password="wrong-password").status_code == 401
    blocked = sign_in(browser)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    # The count is per name: another person from another address signs in.
    add_user(app, "otto", "viewer")
    assert sign_in(app.test_client(), "otto", REMOTE_ADDR="192.0.2.7").status_code == 303
    assert sign_in(app.test_client(), "uma", REMOTE_ADDR="192.0.2.8").status_code == 429


@pytest.mark.parametrize("username", ["uma\x00", "\x00" * 300])
def test_a_name_with_a_nul_signs_nobody_in_and_counts_as_a_failure(app, uma, username):
    """PostgreSQL's text holds no NUL: such a name once made the sign-in a 500 there (found by the form fuzz)."""
    response = sign_in(app.test_client(), username)
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    with app.app_context():
        assert accounts.find_user(username) is None
        assert db.session.scalar(db.select(db.func.count()).select_from(accounts.SignInFailure)) == 1


def test_five_failures_from_one_address_block_it_for_every_name(app, uma):
    for index in range(5):
        assert sign_in(app.test_client(), f"nobody{index}", "wrong-password", REMOTE_ADDR="198.51.100.1").status_code == 401
    blocked = sign_in(app.test_client(), "uma", REMOTE_ADDR="198.51.100.1")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert sign_in(app.test_client(), "uma", REMOTE_ADDR="198.51.100.2").status_code == 303


# --- device cookies (OWASP's scheme) ----------------------------------------------------------

DEVICE_COOKIE = "portal_device"
OWNER_ADDRESS = "192.0.2.50"


def fail_from_elsewhere(app, username: str = "uma") -> None:
    """Five wrong passwords for ``username``, each from another address and a browser without a device cookie."""
    for index in range(5):
        assert sign_in(app.test_client(), username, "wrong-password", REMOTE_ADDR=f"203.0.113.{index + 1}").status_code == 401


def owners_browser(app):
    """A browser that has signed in as uma before, from the owner's address: it carries her device cookie."""
    browser = app.test_client()
    assert sign_in(browser, REMOTE_ADDR=OWNER_ADDRESS).status_code == 303
    assert browser.get_cookie(DEVICE_COOKIE) is not None
    browser.delete_cookie(SESSION_COOKIE)  # her session ended since; the device cookie stays
    return browser


def test_failures_from_elsewhere_never_lock_out_the_owners_browser(app, uma, caplog):
    browser = owners_browser(app)
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        fail_from_elsewhere(app)
    assert "sign-in locked: username='uma' until " in caplog.text
    assert sign_in(browser, REMOTE_ADDR=OWNER_ADDRESS).status_code == 303
    # Without the cookie, from the very same address, the name's lock holds.
    blocked = sign_in(app.test_client(), REMOTE_ADDR=OWNER_ADDRESS)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0


def test_a_device_cookie_counts_for_its_own_user_only(app, uma):
    browser = owners_browser(app)
    add_user(app, "otto", "viewer")
    fail_from_elsewhere(app, "otto")
    # Uma's cookie vouches for nothing when the same browser tries otto.
    assert sign_in(browser, "otto", REMOTE_ADDR=OWNER_ADDRESS).status_code == 429


def test_a_forged_device_cookie_counts_for_nothing(app, uma):
    fail_from_elsewhere(app)
    forger = app.test_client()
    forged = URLSafeTimedSerializer("another secret", salt=accounts.DEVICE_COOKIE_SALT).dumps(
        {"user": "uma", "id": "made-up"}
    )
    forger.set_cookie(DEVICE_COOKIE, forged)
    assert sign_in(forger, REMOTE_ADDR=OWNER_ADDRESS).status_code == 429


def test_the_device_cookies_own_failures_lock_that_cookie(app, uma, caplog):
    browser = owners_browser(app)
    fail_from_elsewhere(app)
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        for _ in range(5):
            assert sign_in(browser, password="wrong-password", REMOTE_ADDR=OWNER_ADDRESS).status_code == 401
    assert "sign-in locked: device cookie of username='uma' until " in caplog.text
    # The cookie is used up for the window: the browser now counts as any other, and the name is locked.
    assert sign_in(browser, REMOTE_ADDR=OWNER_ADDRESS).status_code == 429
    # Another browser of hers, with a cookie of its own, still signs in.
    with app.app_context():
        accounts.unlock("uma")
    other = owners_browser(app)
    fail_from_elsewhere(app)
    assert sign_in(other, REMOTE_ADDR=OWNER_ADDRESS).status_code == 303


def test_device_cookie_is_long_lived_http_only_and_same_site_lax(app, uma):
    response = sign_in(app.test_client())
    (header,) = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(DEVICE_COOKIE + "=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")}
    assert "httponly" in attributes and attributes["samesite"] == "SameSite=Lax"
    assert attributes["max-age"] == f"Max-Age={365 * 24 * 3600}"
    assert "secure" not in attributes  # over plain HTTP, as the session cookie


def test_an_address_lock_is_logged_with_until_when(app, uma, caplog):
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        for index in range(6):
            sign_in(app.test_client(), f"nobody{index}", "wrong-password", REMOTE_ADDR="198.51.100.9")
    locks = [record.getMessage() for record in caplog.records if "sign-in locked" in record.getMessage()]
    assert len(locks) == 1, locks
    assert found(r"sign-in locked: address=198\.51\.100\.9 until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 ", locks[0])


# --- audit -------------------------------------------------------------------------


def test_sign_ins_are_logged_with_name_and_address_never_the_password(app, uma, caplog):
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        sign_in(app.test_client(), "uma", "wrong-password-123", REMOTE_ADDR="203.0.113.5")
        sign_in(app.test_client(), "uma", REMOTE_ADDR="203.0.113.6")
    lines = [record.getMessage() for record in caplog.records if record.name == "portal.audit"]
    failed = [line for line in lines if "sign-in failed" in line]
    succeeded = [line for line in lines if line.startswith("sign-in:")]
    assert len(failed) == 1 and "uma" in failed[0] and "203.0.113.5" in failed[0]
    assert len(succeeded) == 1 and "uma" in succeeded[0] and "203.0.113.6" in succeeded[0]
    everything = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert "wrong-password-123" not in everything and TEST_PASSWORD not in everything


# --- the first admin -----------------------------------------------------------------


def setup_form(client, code: str):
    return client.get(f"/setup?code={code}")


def test_setup_code_exists_only_while_no_account_does(app, uma):
    assert app.extensions.get(SETUP_CODE) is not None, "made at start-up, when the library had no account"
    again = create_app({"TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": "test",
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        assert again.extensions.get(SETUP_CODE) is None
        assert again.test_client().get(f"/setup?code={app.extensions[SETUP_CODE]}").status_code == 404
    finally:
        with again.app_context():
            db.engine.dispose()


def test_setup_creates_the_first_admin_once(app):
    code = app.extensions[SETUP_CODE]
    visitor = app.test_client()
    assert visitor.get("/setup").status_code == 404
    assert visitor.get("/setup?code=wrong").status_code == 404
    page = setup_form(visitor, code)
    assert page.status_code == 200
    token = csrf_token(visitor, f"/setup?code={code}")
    created = visitor.post(
        "/setup",
        data={"csrf_token": token, "code": code, "username": "root", "password": "a-long-password", "confirm": "a-long-password"},
    )
    assert created.status_code == 303
    with app.app_context():
        assert accounts.get_user("root").role == "admin"
    me = visitor.get("/api/v1/me").get_json()
    assert (me["username"], me["role"]) == ("root", "admin"), "the new admin is signed in"
    for client in (visitor, app.test_client()):
        assert client.get(f"/setup?code={code}").status_code == 404
    assert app.extensions.get(SETUP_CODE) is None


def test_five_wrong_setup_codes_block_the_right_one(app):
    code = app.extensions[SETUP_CODE]
    visitor = app.test_client()
    for index in range(5):
        assert visitor.get(f"/setup?code=wrong{index}").status_code == 404
    blocked = setup_form(visitor, code)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    with app.app_context():
        assert accounts.setup_needed()


def test_server_prints_the_setup_link_while_no_account_exists(app):
    from portal.ops.server import setup_line

    code = app.extensions[SETUP_CODE]
    line = setup_line(app, "0.0.0.0", 8080)
    assert line is not None and line.endswith(f" http://localhost:8080/setup?code={code}")
    assert len(code) >= 22, "128 bits or more, URL-safe"
    add_user(app, "root", "admin")
    restarted = create_app({"TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": "test",
                            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        assert setup_line(restarted, "0.0.0.0", 8080) is None
    finally:
        with restarted.app_context():
            db.engine.dispose()
