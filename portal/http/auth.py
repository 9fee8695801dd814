"""Who is asking: the session cookie or an API token, and whether the view lets them in.

Every view needs a signed-in caller allowed to read the library, unless it is
marked otherwise: :func:`public` (no account: sign-in, setup, share links, the
API's documentation), :func:`viewable` (no account either when
``PUBLIC_VIEWING`` is on: listing and watching), :func:`signed_in` (any
account, whatever the token's scopes), or :func:`requires` (an action beyond
reading). The check runs before anything reads the request body, so a refused
upload stores nothing. Finer rules that need a row (deleting someone else's
video) are asked by the view through :func:`portal.accounts.permissions.check`.
"""

from __future__ import annotations

import enum
from typing import Callable
from typing import TypeVar

from flask import Flask
from flask import current_app
from flask import g
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.wrappers import Response as BaseResponse
from wtforms import ValidationError

from .. import errors
from ..accounts import service as accounts
from ..accounts.permissions import Action
from ..accounts.permissions import Caller
from ..accounts.permissions import check
from ..extensions import login_manager
from ..uploads.request import portal_request

View = TypeVar("View", bound=Callable[..., object])

#: Methods that change nothing; any other, sent with the session cookie to the API, needs the CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Served without asking who is there at all: static files, and the health checks (no session look-up).
UNIDENTIFIED_ENDPOINTS = frozenset({"static", "health.healthz", "health.readyz"})
#: Where the API's scripts send the CSRF token when they use the session cookie.
CSRF_HEADER = "X-CSRFToken"
#: The 401 of an ``Authorization`` header that is not ``Bearer <token>``.
MALFORMED_AUTHORIZATION = "Send the API token as 'Authorization: Bearer <token>'."
#: The 401 of a token that names nobody, or nobody who may still use it.
UNUSABLE_TOKEN = "The API token is unknown, expired or revoked, or its owner is disabled."


class Access(str, enum.Enum):
    PUBLIC = "public"
    VIEWING = "viewing"
    SIGNED_IN = "signed in"


def _mark(view: View, access: Access, action: Action | None) -> View:
    view.portal_access = access  # type: ignore[attr-defined]
    view.portal_action = action  # type: ignore[attr-defined]
    return view


def public(view: View) -> View:
    """Open to everyone: no account is asked for."""
    return _mark(view, Access.PUBLIC, None)


def viewable(view: View) -> View:
    """Listing and watching: open to visitors too when ``PUBLIC_VIEWING`` is on."""
    return _mark(view, Access.VIEWING, Action.READ)


def signed_in(view: View) -> View:
    """Any signed-in caller, whatever the token's scopes (the caller's own account)."""
    return _mark(view, Access.SIGNED_IN, None)


def requires(action: Action) -> Callable[[View], View]:
    """A signed-in caller allowed to do ``action`` (role and, with a token, its scope)."""
    return lambda view: _mark(view, Access.SIGNED_IN, action)


def current_caller() -> Caller | None:
    """The caller of this request, as :func:`authenticate_request` found them (None: a visitor)."""
    return g.get("caller")


def caller_required() -> Caller:
    """The caller of a view that let only signed-in callers in."""
    caller = current_caller()
    if caller is None:
        raise errors.Unauthorized()
    return caller


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def bearer_caller() -> Caller | None:
    """The caller an ``Authorization`` header names; raises when the header is there but names nobody.

    :func:`identify` asks it under ``/api/`` only; ``/metrics`` asks it too (a scraper sends a token).
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise errors.Unauthorized(MALFORMED_AUTHORIZATION)
    found = accounts.authenticate_token(value.strip())
    if found is None:
        raise errors.Unauthorized(UNUSABLE_TOKEN)
    user, token = found
    return Caller(user, token=token)


def identify() -> Caller | None:
    """A token (API only) wins over the cookie, so a script's rights never depend on a browser's session."""
    if is_api_request():
        caller = bearer_caller()
        if caller is not None:
            return caller
    return _session_caller()


def _session_caller() -> Caller | None:
    """The caller the session cookie names, if any."""
    user = current_user._get_current_object()
    return user if isinstance(user, Caller) else None


def _check_csrf_header() -> None:
    try:
        validate_csrf(request.headers.get(CSRF_HEADER))
    except ValidationError:
        raise errors.CsrfTokenMissing() from None


def authenticate_request() -> BaseResponse | None:
    """Let the request in, send a visitor to sign in, or refuse: before any view or form reads the body."""
    if request.routing_exception is not None:
        # No view answers (an unknown path, a wrong method): the 404 or 405 says nothing an account
        # guards. Its page still shows who is signed in.
        g.caller = _session_caller()
        return None
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    access = getattr(view, "portal_access", Access.SIGNED_IN)
    if request.endpoint in UNIDENTIFIED_ENDPOINTS:
        return None
    if access is Access.PUBLIC:
        # Open to all, but a signed-in caller still sees their name in the page's header; a bad
        # token is no reason to refuse what needs none.
        try:
            g.caller = identify()
        except errors.Unauthorized:
            g.caller = None
        return None
    caller = identify()
    g.caller = caller
    if caller is None:
        if access is Access.VIEWING and current_app.config["PUBLIC_VIEWING"]:
            return None
        if is_api_request():
            raise errors.Unauthorized()
        wanted = request.full_path.rstrip("?") if request.method in SAFE_METHODS else None
        return redirect(url_for("web.login", next=wanted))
    if is_api_request() and caller.token is None and request.method not in SAFE_METHODS:
        _check_csrf_header()
    action = getattr(view, "portal_action", Action.READ)
    if action is not None:
        check(caller, action)
    # Known before any form is parsed: the files it carries are held to this user's quota as they stream in.
    portal_request().uploader = caller.user
    return None


@login_manager.user_loader
def load_session_caller(session_key: str) -> Caller | None:
    """Flask-Login's look-up of the session cookie's key: a row that still exists, of an enabled user."""
    user = accounts.session_user(session_key)
    return Caller(user, session_key=session_key) if user is not None else None


def register_authentication(app: Flask) -> None:
    """Flask-Login, the check, then the answer from headers: before CSRFProtect, so a refused form is never parsed."""
    from .headers_first import register_headers_first

    # Templates get ``caller`` from the web's context processor instead of ``current_user``:
    # Flask-Login's processor would look the session up again while an error page renders,
    # even when that look-up is what failed (the database is down).
    login_manager.init_app(app, add_context_processor=False)
    # The portal keeps its own session rows; Flask-Login's "remember me" cookie is not used.
    login_manager.session_protection = None
    app.before_request(authenticate_request)
    register_headers_first(app)
