"""Signing in and out, and the one-time setup of the first admin.

A sign-in starts a new session (a fresh row and a cleared cookie, so a session
planted before sign-in is worth nothing after it); signing out deletes the row,
so a copy of the cookie signs nobody in. Attempts are counted by the account
service in the database, where every worker process sees them; a browser that
signed in before carries a device cookie whose attempts count apart.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import abort
from flask import after_this_request
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import login_user
from flask_login import logout_user
from werkzeug.wrappers import Response as BaseResponse

from .. import errors
from ..accounts import service as accounts
from ..accounts.models import Role
from ..accounts.models import User
from ..accounts.permissions import Caller
from ..http.auth import current_caller
from ..http.auth import public
from ..http.auth import signed_in
from .forms import SetupForm
from .forms import SignInForm
from .views import bp

#: The signed cookie of a browser that has signed in before (OWASP's device cookie).
DEVICE_COOKIE = "portal_device"


def client_address() -> str:
    """The address failures are counted by (waitress sets it from the proxy headers it is told to trust)."""
    return request.remote_addr or "unknown"


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/videos/...``), else None: never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(character) < 0x20 or character == "\\" for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def start_signed_in_session(user: User) -> None:
    """A brand-new session for ``user``: whatever the cookie held before is dropped.

    The browser also gets a new device cookie for ``user``: its later sign-ins
    as them count against that cookie alone, so that nobody's guesses from
    elsewhere lock it out (see :func:`portal.accounts.service.device_token`).
    """
    session.clear()
    key = accounts.start_session(user)
    login_user(Caller(user, session_key=key))
    token = accounts.device_token(user)

    @after_this_request
    def give_device_cookie(response: BaseResponse) -> BaseResponse:
        response.set_cookie(
            DEVICE_COOKIE, token, max_age=int(accounts.DEVICE_LIFETIME.total_seconds()), httponly=True,
            samesite="Lax", secure=current_app.session_interface.get_cookie_secure(current_app),
        )
        return response


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]] | str:
    form = SignInForm()
    next_path = safe_next(request.values.get("next"))
    form.next.data = next_path or ""
    if request.method != "POST":
        if current_caller() is not None:
            return redirect(next_path or url_for("web.library"), 303)
        return render_template("accounts/login.html", form=form)
    if not form.validate():
        return render_template("accounts/login.html", form=form), 400
    try:
        user = accounts.sign_in(
            form.username.data or "", form.password.data or "", client_address(), request.cookies.get(DEVICE_COOKIE)
        )
    except errors.TooManyAttempts as error:
        page = render_template("accounts/login.html", form=form, error=error.message)
        return page, 429, {"Retry-After": str(error.retry_after)}
    except errors.SignInFailed as error:
        return render_template("accounts/login.html", form=form, error=error.message), 401
    start_signed_in_session(user)
    return redirect(next_path or url_for("web.library"), 303)


@bp.post("/logout")
@signed_in
def logout() -> BaseResponse:
    caller = current_caller()
    if caller is not None and caller.session_key:
        accounts.end_session(caller.session_key)
    logout_user()
    session.clear()
    flash("Signed out.", "success")
    return redirect(url_for("web.login"), 303)


def _setup_code_matches(code: str) -> bool:
    expected = current_app.extensions.get(accounts.SETUP_CODE)
    return expected is not None and hmac.compare_digest(code.encode("utf-8"), expected.encode("utf-8"))


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup() -> BaseResponse | tuple[str, int] | str:
    """The first admin's account, with the code ``python wsgi.py`` printed; 404 for anyone else, and for good after."""
    if current_app.extensions.get(accounts.SETUP_CODE) is None or not accounts.setup_needed():
        abort(404)
    code = request.values.get("code", "")
    address = client_address()
    attempt = accounts.reserve_attempt(address)
    if not _setup_code_matches(code):
        if code:
            accounts.record_failure(attempt)
        else:
            accounts.release_attempt(attempt)
        abort(404)
    accounts.release_attempt(attempt)
    form = SetupForm()
    form.code.data = code
    if request.method != "POST":
        return render_template("accounts/setup.html", form=form)
    if not form.validate():
        return render_template("accounts/setup.html", form=form), 400
    try:
        user = accounts.create_user(form.username.data or "", form.password.data or "", Role.ADMIN)
    except (errors.InvalidInput, errors.UserExists) as error:
        return render_template("accounts/setup.html", form=form, error=error.message), 400
    current_app.extensions.pop(accounts.SETUP_CODE, None)
    start_signed_in_session(user)
    flash(f"Welcome, {user.username}: you are the portal's first admin.", "success")
    return redirect(url_for("web.library"), 303)
