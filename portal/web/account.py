"""A user's own account (password, API tokens) and the admins' page of users and of the scheduled backups.

Every change is a POST form with its CSRF token. A refused change (a wrong
current password, a name taken, the last admin) renders the page again with
the service's message and status 400, and changes nothing. A new token's value
is rendered in the answer to the POST that made it, never put in the session
cookie, so that it is shown once and kept nowhere.
"""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response as BaseResponse

from .. import errors
from ..accounts import service as accounts
from ..accounts.models import ApiToken
from ..accounts.models import Role
from ..accounts.models import Scope
from ..accounts.permissions import Action
from ..backup.schedule import schedule_state
from ..http.auth import caller_required
from ..http.auth import requires
from ..http.auth import signed_in
from ..uploads import quota
from .forms import ROLE_CHOICES
from .forms import AddUserForm
from .forms import ChangePasswordForm
from .forms import CreateTokenForm
from .forms import ResetPasswordForm
from .forms import SetQuotaForm
from .forms import SetRoleForm
from .signin import DEVICE_COOKIE
from .signin import client_address
from .views import bp

#: A rendered page and its status.
Page = tuple[str, int]

#: What each scope lets a token do, beside its checkbox.
SCOPE_HELP = {
    Scope.READ.value: "list, watch and download",
    Scope.UPLOAD.value: "add videos",
    Scope.DELETE.value: "delete videos (your own, or any as an admin)",
    Scope.METRICS.value: "read /metrics, and nothing else (for a Prometheus server)",
}

#: A role as a sentence names it: "Signed in as admin (administrator)." reads well when a name equals its role.
ROLE_NAMES = {
    Role.ADMIN.value: "administrator",
    Role.UPLOADER.value: "uploader",
    Role.VIEWER.value: "viewer",
}



# --- one's own account -----------------------------------------------------------


def _token_form(blank: bool = False) -> CreateTokenForm:
    """The token form, offering the scopes the caller's role allows (read ticked on a fresh form)."""
    form = CreateTokenForm(formdata=None) if blank else CreateTokenForm()
    allowed = accounts.allowed_scopes(caller_required().role)
    form.scopes.choices = [scope.value for scope in Scope if scope in allowed]
    if form.scopes.data is None:
        form.scopes.data = [Scope.READ.value]
    return form


def _account_page(
    password_form: ChangePasswordForm | None = None,
    token_form: CreateTokenForm | None = None,
    new_token: tuple[ApiToken, str] | None = None,
    status: int = 200,
) -> Page:
    caller = caller_required()
    page = render_template(
        "accounts/account.html",
        section="account",
        password_form=password_form or ChangePasswordForm(formdata=None),
        token_form=token_form or _token_form(blank=True),
        new_token=new_token,
        tokens=accounts.list_tokens(caller.username),
        is_active=accounts.token_is_active,
        scope_help=SCOPE_HELP,
        role_names=ROLE_NAMES,
    )
    return page, status


@bp.get("/account")
@signed_in
def account() -> Page:
    return _account_page()


@bp.post("/account/password")
@signed_in
def change_password() -> BaseResponse | Page | tuple[str, int, dict[str, str]]:
    """A new password of one's own; every other session of the user ends, this one stays."""
    caller = caller_required()
    form = ChangePasswordForm()
    if not form.validate():
        return _account_page(password_form=form, status=400)
    try:
        accounts.change_password(
            caller.user, form.current.data or "", form.new.data or "", client_address(),
            keep_session=caller.session_key, device=request.cookies.get(DEVICE_COOKIE),
        )
    except errors.TooManyAttempts as error:
        form.current.errors = [error.message]
        page, status = _account_page(password_form=form, status=429)
        return page, status, {"Retry-After": str(error.retry_after)}
    except errors.WrongPassword as error:
        form.current.errors = [error.message]
        return _account_page(password_form=form, status=400)
    except errors.InvalidPassword as error:
        form.new.errors = [error.message]
        return _account_page(password_form=form, status=400)
    flash("Password changed. Every other place you were signed in has been signed out.", "success")
    return redirect(url_for("web.account"), 303)


@bp.post("/account/tokens")
@signed_in
def create_token() -> Page:
    caller = caller_required()
    form = _token_form()
    if not form.validate():
        return _account_page(token_form=form, status=400)
    try:
        made = accounts.create_token(caller.username, form.scopes.data or [], form.label.data or "", form.days.data)
    except errors.InvalidExpiry as error:
        form.days.errors = [error.message]
        return _account_page(token_form=form, status=400)
    except errors.InvalidScope as error:
        form.scopes.errors = [error.message]
        return _account_page(token_form=form, status=400)
    # A fresh form for the next token; the one made is shown above it, once.
    return _account_page(token_form=_token_form(blank=True), new_token=made)


@bp.post("/account/tokens/<row_id:token_id>/revoke")
@signed_in
def revoke_token(token_id: int) -> BaseResponse:
    """Revoke one of one's own tokens; another user's is not found (404), whatever the caller's role."""
    token = accounts.revoke_token(token_id, owner=caller_required().username)
    flash(f"Token “{token.label or token.id}” revoked: it no longer works.", "success")
    return redirect(url_for("web.account"), 303)


# --- the admins' page of users ---------------------------------------------------


def _admin_page(add_form: AddUserForm | None = None, error: str | None = None, status: int = 200) -> Page:
    page = render_template(
        "accounts/admin_users.html",
        section="users",
        usages=quota.usage_of_everyone(),
        token_counts=accounts.active_token_counts(),
        tokens=accounts.active_tokens(),
        add_form=add_form or AddUserForm(formdata=None),
        error=error,
        roles=ROLE_CHOICES,
        backups=schedule_state(),
    )
    return page, status


@bp.app_template_filter("every")
def every(seconds: float) -> str:
    """A schedule's period as PORTAL_BACKUP_EVERY writes it: ``24h``, ``1h 30m``, ``90s``."""
    left = int(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts) or f"{seconds:g}s"


def _refused(error: errors.PortalError) -> Page:
    """The page again, saying why nothing changed."""
    return _admin_page(error=error.message, status=400)


@bp.get("/admin/users")
@requires(Action.MANAGE_USERS)
def admin_users() -> Page:
    return _admin_page()


@bp.post("/admin/users")
@requires(Action.MANAGE_USERS)
def admin_add_user() -> BaseResponse | Page:
    form = AddUserForm()
    if not form.validate():
        return _admin_page(add_form=form, status=400)
    try:
        user = accounts.create_user(form.username.data or "", form.password.data or "", form.role.data or "")
    except (errors.InvalidInput, errors.UserExists) as error:
        return _admin_page(add_form=form, error=error.message, status=400)
    flash(f"Added {user.username} ({user.role}).", "success")
    return redirect(url_for("web.admin_users"), 303)


@bp.post("/admin/users/<username>/role")
@requires(Action.MANAGE_USERS)
def admin_set_role(username: str) -> BaseResponse | Page:
    try:
        user = accounts.set_role(username, SetRoleForm().role.data or "")
    except (errors.InvalidInput, errors.UserNotFound, errors.LastAdmin) as error:
        return _refused(error)
    flash(f"{user.username} is now {'an' if user.role[0] in 'aeiou' else 'a'} {user.role}.", "success")
    return redirect(url_for("web.admin_users"), 303)


@bp.post("/admin/users/<username>/quota")
@requires(Action.MANAGE_USERS)
def admin_set_quota(username: str) -> BaseResponse | Page:
    """A user's own quota; what they stored already stays, but no upload takes them further past it."""
    form = SetQuotaForm()
    if not form.validate():
        return _refused(errors.InvalidQuota(" ".join(form.quota.errors)))
    try:
        user = quota.set_quota(username, form.quota.data or "")
    except (errors.InvalidQuota, errors.UserNotFound) as error:
        return _refused(error)
    limit = quota.quota_of(user)
    flash(f"{user.username} may now keep {'unlimited bytes' if limit is None else errors.format_bytes(limit)}.", "success")
    return redirect(url_for("web.admin_users"), 303)


@bp.post("/admin/users/<username>/<any(disable, enable):change>")
@requires(Action.MANAGE_USERS)
def admin_set_disabled(username: str, change: str) -> BaseResponse | Page:
    try:
        user = accounts.set_disabled(username, change == "disable")
    except (errors.UserNotFound, errors.LastAdmin) as error:
        return _refused(error)
    if user.disabled:
        flash(f"Disabled {user.username}: they are signed out, and their tokens no longer work.", "success")
    else:
        flash(f"Enabled {user.username}: they may sign in again.", "success")
    return redirect(url_for("web.admin_users"), 303)


@bp.post("/admin/users/<username>/password")
@requires(Action.MANAGE_USERS)
def admin_reset_password(username: str) -> BaseResponse | Page:
    """A new password chosen by an admin; every session of the user ends."""
    form = ResetPasswordForm()
    if not form.validate():
        return _refused(errors.InvalidInput(" ".join(form.password.errors) or "Type the new password."))
    try:
        user = accounts.reset_password(username, form.password.data or "")
    except (errors.InvalidPassword, errors.UserNotFound) as error:
        return _refused(error)
    flash(f"New password set for {user.username}; they are signed out everywhere.", "success")
    return redirect(url_for("web.admin_users"), 303)


@bp.post("/admin/tokens/<row_id:token_id>/revoke")
@requires(Action.MANAGE_USERS)
def admin_revoke_token(token_id: int) -> BaseResponse | Page:
    """Any user's token, e.g. one that leaked while its owner is away."""
    try:
        token = accounts.revoke_token(token_id)
    except errors.TokenNotFound as error:
        return _refused(error)
    flash(f"Token “{token.label or token.id}” of {token.user.username} revoked: it no longer works.", "success")
    return redirect(url_for("web.admin_users"), 303)
