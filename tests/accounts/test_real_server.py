"""Accounts on the real server (``python wsgi.py``, two worker processes): the setup link and the sign-in limit.

Both are about more than one process: the setup code is made before the
workers fork, and the count of failed sign-ins must be the same whichever
worker answers (it lives in the database).
"""

from __future__ import annotations

import re
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.databases import POSTGRES_URL
from tests.databases import postgres_schema
from tests.databases import sqlite_url
from tests.support import ADMIN_PASSWORD
from tests.support import ADMIN_USERNAME
from tests.support import RunningPortal

#: Every test here starts `python wsgi.py`.
pytestmark = pytest.mark.server

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
SETUP_LINK = re.compile(r"create the first admin at (http://\S+/setup\?code=(\S+))")
#: ``[pid] portal.audit: sign-in failed: ...`` (the server's log format: portal.ops.logs.TEXT_FORMAT).
AUDIT_LINE = re.compile(r"\[(\d+)\] portal\.audit: sign-in (failed|refused)")


def form_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.text
    match = CSRF_INPUT.search(page.text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def test_the_setup_link_printed_at_start_creates_the_first_admin_once(tmp_path):
    log = tmp_path / "portal.log"
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", log_path=log, processes=2, seed_admin=False)
    try:
        printed = log.read_text()
        match = SETUP_LINK.search(printed)
        assert match, printed
        link, code = match.groups()
        assert len(code) >= 22  # 128 bits or more of URL-safe base64
        assert link.startswith(f"http://127.0.0.1:{portal.port}/setup?code=")
        assert requests.get(f"{portal.url}/setup", timeout=10).status_code == 404
        assert requests.get(f"{portal.url}/setup?code={code[:-1]}x", timeout=10).status_code == 404
        assert requests.get(f"{portal.url}/api/v1/files", timeout=10).status_code == 401

        browser = requests.Session()
        token = form_token(browser, link)
        made = browser.post(
            f"{portal.url}/setup",
            data={"csrf_token": token, "code": code, "username": "Root", "password": "a long passphrase",
                  "confirm": "a long passphrase"},
            allow_redirects=False, timeout=20,
        )
        assert made.status_code == 303, made.text
        assert "Root" in browser.get(f"{portal.url}/", timeout=10).text
        # Closed for good, on every worker, even with the right code.
        for _ in range(6):
            assert requests.get(link, headers={"Connection": "close"}, timeout=10).status_code == 404
    finally:
        portal.stop()


def test_failed_sign_ins_are_counted_across_worker_processes(tmp_path):
    log = tmp_path / "portal.log"
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", log_path=log, processes=2)
    try:
        browser = requests.Session()
        token = form_token(browser, f"{portal.url}/login")

        def attempt(password: str) -> requests.Response:
            # A new connection each time, so the kernel picks a worker each time.
            return browser.post(
                f"{portal.url}/login",
                data={"csrf_token": token, "username": ADMIN_USERNAME, "password": password},
                headers={"Connection": "close"}, allow_redirects=False, timeout=20,
            )

        assert [attempt("wrong password").status_code for _ in range(5)] == [401] * 5
        failures_by_worker = Counter(pid for pid, what in audit_lines(log) if what == "failed")
        # Keep asking (bounded) until a worker that saw fewer than five of the failures itself
        # has refused: only the shared count can make it refuse.
        refused_by: set[str] = set()
        for _ in range(40):
            refused = attempt(ADMIN_PASSWORD)  # the right password: refused all the same
            assert refused.status_code == 429, refused.text
            assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
            refused_by = {pid for pid, what in audit_lines(log) if what == "refused"}
            if any(failures_by_worker[pid] < 5 for pid in refused_by):
                break
        assert any(failures_by_worker[pid] < 5 for pid in refused_by), (failures_by_worker, refused_by)
    finally:
        portal.stop()
    # The audit trail names the user and the address, never the password.
    text = log.read_text()
    assert "sign-in failed: username='admin' address=127.0.0.1" in text
    assert "wrong password" not in text and ADMIN_PASSWORD not in text


def audit_lines(log: Path) -> list[tuple[str, str]]:
    return [(match[1], match[2]) for match in AUDIT_LINE.finditer(log.read_text())]


def test_behind_a_trusted_proxy_failures_count_by_the_forwarded_address(tmp_path):
    log = tmp_path / "portal.log"
    portal = RunningPortal(
        [sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_TRUSTED_PROXY": "127.0.0.1"}, log_path=log
    )
    try:
        browser = requests.Session()
        token = form_token(browser, f"{portal.url}/login")
        for client in ("203.0.113.7", "203.0.113.8"):
            answer = browser.post(
                f"{portal.url}/login",
                data={"csrf_token": token, "username": f"someone-{client}", "password": "wrong password"},
                headers={"X-Forwarded-For": client}, allow_redirects=False, timeout=20,
            )
            assert answer.status_code == 401
    finally:
        portal.stop()
    text = log.read_text()
    assert "address=203.0.113.7" in text and "address=203.0.113.8" in text


def test_behind_a_trusted_proxy_https_gets_secure_cookies_and_hsts_and_http_does_not(tmp_path):
    portal = RunningPortal(
        [sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_TRUSTED_PROXY": "127.0.0.1", "PORTAL_HSTS": "true"},
        log_path=tmp_path / "portal.log",
    )
    try:
        over_https = requests.get(f"{portal.url}/login", headers={"X-Forwarded-Proto": "https"}, timeout=20)
        over_http = requests.get(f"{portal.url}/login", timeout=20)
    finally:
        portal.stop()
    assert over_https.status_code == over_http.status_code == 200
    secure_cookie = over_https.headers["Set-Cookie"]
    assert "; Secure" in secure_cookie and "HttpOnly" in secure_cookie, secure_cookie
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" not in over_http.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in over_http.headers


# --- concurrent attempts: counting and checking are one step ---------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def racing_portal(request, tmp_path_factory):
    """Two worker processes of 8 threads on SQLite or PostgreSQL, addresses taken from X-Forwarded-For."""
    folder = tmp_path_factory.mktemp(f"racing-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = sqlite_url(folder)
        elif POSTGRES_URL:
            url = stack.enter_context(postgres_schema(POSTGRES_URL))
        else:
            pytest.skip("no PostgreSQL server: set PORTAL_TEST_POSTGRES_URL (.ci/run starts one)")
        portal = RunningPortal(
            [sys.executable, "wsgi.py"], folder / "data",
            {"PORTAL_SQLALCHEMY_DATABASE_URI": url, "PORTAL_TRUSTED_PROXY": "127.0.0.1"},
            log_path=folder / "portal.log", processes=2,
        )
        try:
            yield portal
        finally:
            portal.stop()


def burst(portal: RunningPortal, names: list[str], address: str) -> Counter[int]:
    """One wrong password per name, all sent at the same moment from ``address``, on new connections."""
    browser = requests.Session()
    token = form_token(browser, f"{portal.url}/login")
    cookies = browser.cookies
    start = threading.Barrier(len(names))

    def attempt(name: str) -> int:
        start.wait(timeout=30)
        return requests.post(
            f"{portal.url}/login", data={"csrf_token": token, "username": name, "password": "wrong password"},
            cookies=cookies, headers={"X-Forwarded-For": address, "Connection": "close"}, allow_redirects=False,
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return Counter(pool.map(attempt, names))


@pytest.mark.parametrize("at_once", [16, 40])
def test_concurrent_wrong_passwords_for_one_name_are_checked_five_times_at_most(racing_portal, at_once):
    address = f"198.51.100.{at_once}"
    # A name nobody has is checked against the dummy hash: an Argon2 verify all the same.
    name = f"racer{at_once}"
    assert burst(racing_portal, [name] * at_once, address) == {401: 5, 429: at_once - 5}
    assert failed_checks(racing_portal, address) == 5
    assert f"sign-in locked: username={name!r} until " in racing_portal.output()


@pytest.mark.parametrize("at_once", [16, 40])
def test_concurrent_wrong_passwords_from_one_address_are_checked_five_times_at_most(racing_portal, at_once):
    address = f"203.0.113.{at_once}"
    assert burst(racing_portal, [f"guess{at_once}-{index}" for index in range(at_once)], address) == {
        401: 5, 429: at_once - 5
    }
    assert failed_checks(racing_portal, address) == 5
    assert f"sign-in locked: address={address} until " in racing_portal.output()


def failed_checks(portal: RunningPortal, address: str) -> int:
    """How many wrong passwords from ``address`` were verified: each is logged after its Argon2 check, never before."""
    return len(re.findall(rf"sign-in failed: username='[^']*' address={re.escape(address)}$", portal.output(), re.M))


def test_the_owners_browser_signs_in_through_a_lock_made_elsewhere(racing_portal):
    """The device cookie end to end: given over HTTPS behind the proxy (so Secure), honoured by every worker."""
    url = f"{racing_portal.url}/login"
    owner = requests.Session()
    # requests keeps a Secure cookie for https:// addresses only: what the proxy's scheme says is read from the header.
    over_https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.77", "Connection": "close"}
    first = owner.post(
        url, data={"csrf_token": form_token(owner, url), "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        headers={**over_https, "Referer": f"https://127.0.0.1:{racing_portal.port}/login"}, allow_redirects=False, timeout=20,
    )
    assert first.status_code == 303, first.text
    device = next(cookie for cookie in owner.cookies if cookie.name == "portal_device")
    assert device.secure and device.has_nonstandard_attr("HttpOnly")
    assert burst(racing_portal, [ADMIN_USERNAME] * 5, "198.51.100.200") == {401: 5}  # a lock from elsewhere
    stranger = requests.Session()
    refused = stranger.post(
        url, data={"csrf_token": form_token(stranger, url), "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.77"}, allow_redirects=False, timeout=20,
    )
    assert refused.status_code == 429
    browser = requests.Session()  # the owner's browser, its session over: only the device cookie is left
    browser.cookies.set("portal_device", device.value)
    again = browser.post(
        url, data={"csrf_token": form_token(browser, url), "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.77", "Connection": "close"}, allow_redirects=False, timeout=20,
    )
    assert again.status_code == 303, again.text
