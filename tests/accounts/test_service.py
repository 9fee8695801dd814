"""The account rules: names, passwords, roles, and which tokens are accepted."""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta

import pytest

from portal import errors
from portal.accounts import service
from portal.accounts.models import ApiToken
from portal.accounts.models import Scope
from portal.accounts.models import utcnow
from portal.config import Config
from portal.extensions import db

PASSWORD = "correct horse battery"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def test_usernames_are_unique_regardless_of_case(ctx):
    service.create_user("Alice", PASSWORD, "viewer")
    with pytest.raises(errors.UserExists):
        service.create_user("aLICE", PASSWORD, "admin")
    assert [user.username for user in service.list_users()] == ["Alice"]
    assert service.get_user("ALICE").username_key == "alice"


@pytest.mark.parametrize("name", ["", "a" * 65, "with space", "ünïcode", "semi;colon", "slash/name"])
def test_bad_usernames_are_refused(ctx, name):
    with pytest.raises(errors.InvalidUsername):
        service.create_user(name, PASSWORD, "viewer")


@pytest.mark.parametrize("name", ["a", "A" * 64, "first.last", "under_score", "dash-9"])
def test_good_usernames_are_taken(ctx, name):
    assert service.create_user(name, PASSWORD, "viewer").username == name


def test_a_short_password_and_an_unknown_role_are_refused(ctx):
    with pytest.raises(errors.InvalidPassword):
        service.create_user("bob", "123456789", "viewer")
    with pytest.raises(errors.InvalidRole):
        service.create_user("bob", PASSWORD, "root")
    assert service.list_users() == []


def test_passwords_are_stored_as_argon2id_hashes_only(ctx):
    user = service.create_user("alice", PASSWORD, "viewer")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert service.verify_password("ALICE", PASSWORD) is user
    assert service.verify_password("alice", PASSWORD + "x") is None
    assert service.verify_password("nobody", PASSWORD) is None


def test_the_production_profile_stores_rfc_9106_hashes(app):
    """The suite runs on the cheapest profile (tests/conftest.py); what a deployment gets is checked here."""
    assert Config.PASSWORD_HASH_PROFILE == "RFC_9106_LOW_MEMORY"
    app.config["PASSWORD_HASH_PROFILE"] = Config.PASSWORD_HASH_PROFILE
    with app.app_context():
        user = service.create_user("alice", PASSWORD, "viewer")
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert service.verify_password("alice", PASSWORD) is user
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_an_unknown_name_is_checked_against_a_hash_as_costly_as_a_real_one():
    """The default dummy hash is a literal: it must carry the profile's parameters, or an unknown name answers faster."""
    default = Config.PASSWORD_HASH_PROFILE
    assert service._dummy_hash_of(default) == service._DUMMY_HASH
    assert service._DUMMY_HASH.startswith("$argon2id$")
    assert not service._hasher_of(default).check_needs_rehash(service._DUMMY_HASH)
    # Under another profile the dummy is made with that profile's parameters, not the default's.
    assert service._hasher_of(default).check_needs_rehash(service._dummy_hash_of("CHEAPEST"))
    assert not service._hasher_of("CHEAPEST").check_needs_rehash(service._dummy_hash_of("CHEAPEST"))


def test_reset_password_replaces_the_old_one(ctx):
    service.create_user("alice", PASSWORD, "viewer")
    service.reset_password("alice", "another long secret")
    assert service.verify_password("alice", PASSWORD) is None
    assert service.verify_password("alice", "another long secret") is not None
    with pytest.raises(errors.InvalidPassword):
        service.reset_password("alice", "short")
    with pytest.raises(errors.UserNotFound):
        service.reset_password("nobody", "another long secret")


def test_a_disabled_user_cannot_sign_in_until_enabled(ctx):
    service.create_user("alice", PASSWORD, "viewer")
    service.disable_user("alice")
    assert service.verify_password("alice", PASSWORD) is None
    service.enable_user("alice")
    assert service.verify_password("alice", PASSWORD) is not None


def test_a_weaker_hash_is_replaced_on_sign_in(app, ctx):
    from argon2 import PasswordHasher

    app.config["PASSWORD_HASH_PROFILE"] = Config.PASSWORD_HASH_PROFILE
    user = service.create_user("alice", PASSWORD, "viewer")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    db.session.commit()
    assert service.verify_password("alice", PASSWORD) is user
    assert "m=8," not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")


def test_a_token_is_shown_once_and_only_its_hash_is_stored(ctx):
    service.create_user("alice", PASSWORD, "uploader")
    token, value = service.create_token("alice", ["read", "upload"], "ci", 30)
    assert value.startswith("ptl_") and len(value) >= 4 + 43
    assert token.token_hash == service.token_hash(value) and value not in token.token_hash
    assert token.scopes == "read upload"
    assert token.expires_at is not None
    assert service.authenticate_token(value) == (token.user, token)
    assert service.authenticate_token(value + "x") is None
    assert service.authenticate_token("not a token") is None


def test_using_a_token_records_when(ctx):
    service.create_user("alice", PASSWORD, "viewer")
    token, value = service.create_token("alice", ["read"])
    assert token.last_used_at is None
    before = utcnow()
    service.authenticate_token(value)
    db.session.expire_all()
    last_used = service.list_tokens("alice")[0].last_used_at
    assert last_used is not None
    assert service._as_utc(last_used) >= before - timedelta(seconds=1)


def test_last_used_is_written_at_most_once_a_minute(ctx):
    service.create_user("alice", PASSWORD, "viewer")
    token, value = service.create_token("alice", ["read"])
    service.authenticate_token(value)
    first = last_used_at(token.id)
    service.authenticate_token(value)
    db.session.expire_all()
    assert last_used_at(token.id) == first
    db.session.get_one(ApiToken, token.id).last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    service.authenticate_token(value)
    db.session.expire_all()
    assert last_used_at(token.id) > first - timedelta(seconds=1)


def last_used_at(token_id: int) -> datetime:
    last_used = db.session.get_one(ApiToken, token_id).last_used_at
    assert last_used is not None
    return service._as_utc(last_used)


def test_revoked_and_expired_tokens_are_refused(ctx):
    service.create_user("alice", PASSWORD, "viewer")
    revoked, revoked_value = service.create_token("alice", ["read"])
    expired, expired_value = service.create_token("alice", ["read"], days=1)
    service.revoke_token(revoked.id)
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert service.authenticate_token(revoked_value) is None
    assert service.authenticate_token(expired_value) is None
    with pytest.raises(errors.TokenNotFound):
        service.revoke_token(9999)


def test_a_disabled_users_tokens_stop_working(ctx):
    service.create_user("alice", PASSWORD, "viewer")
    _token, value = service.create_token("alice", ["read"])
    service.disable_user("alice")
    assert service.authenticate_token(value) is None
    service.enable_user("alice")
    assert service.authenticate_token(value) is not None


@pytest.mark.parametrize(
    "role, scopes",
    [("viewer", ["upload"]), ("viewer", ["read", "delete"])],
)
def test_a_token_may_not_carry_more_than_its_owners_role(ctx, role, scopes):
    service.create_user("alice", PASSWORD, role)
    with pytest.raises(errors.ScopeAboveRole):
        service.create_token("alice", scopes)
    assert service.list_tokens() == []


def test_each_role_gets_the_scopes_it_allows(ctx):
    service.create_user("up", PASSWORD, "uploader")
    service.create_user("boss", PASSWORD, "admin")
    assert service.create_token("up", ["read", "upload", "delete"])[0].scope_set == {Scope.READ, Scope.UPLOAD, Scope.DELETE}
    with pytest.raises(errors.ScopeAboveRole):
        service.create_token("up", ["metrics"])
    assert service.create_token("boss", ["metrics"])[0].scope_set == {Scope.METRICS}
    assert service.create_token("boss", ["delete"])[0].scopes == "delete"


def test_unknown_or_no_scopes_and_bad_days_are_refused(ctx):
    service.create_user("alice", PASSWORD, "admin")
    with pytest.raises(errors.InvalidScope):
        service.create_token("alice", ["write"])
    with pytest.raises(errors.InvalidScope):
        service.create_token("alice", [])
    with pytest.raises(errors.InvalidExpiry):
        service.create_token("alice", ["read"], days=0)
    for too_many in (service.MAX_TOKEN_DAYS + 1, 3_000_000, 99_999_999_999):
        with pytest.raises(errors.InvalidExpiry):
            service.create_token("alice", ["read"], days=too_many)
    with pytest.raises(errors.UserNotFound):
        service.create_token("nobody", ["read"])


def test_a_lowered_role_limits_the_tokens_it_made_before(ctx):
    user = service.create_user("alice", PASSWORD, "uploader")
    token, _value = service.create_token("alice", ["read", "upload"])
    service.set_role("alice", "viewer")
    assert service.effective_scopes(user, token) == {Scope.READ}


def test_changes_are_audited_without_secrets(ctx, caplog):
    caplog.set_level(logging.INFO, logger="portal.audit")
    service.create_user("alice", PASSWORD, "uploader")
    service.set_role("alice", "viewer")
    service.disable_user("alice")
    service.enable_user("alice")
    service.reset_password("alice", "another long secret")
    token, value = service.create_token("alice", ["read"], "laptop")
    service.revoke_token(token.id)
    messages = [record.getMessage() for record in caplog.records if record.name == "portal.audit"]
    assert len(messages) == 7
    text = "\n".join(messages)
    assert PASSWORD not in text and "another long secret" not in text
    assert value not in text and token.token_hash not in text


def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(ctx):
    service.create_user("root", PASSWORD, "admin")
    service.create_user("spare", PASSWORD, "admin")
    service.disable_user("spare")  # a disabled admin manages nothing: root is the last one
    with pytest.raises(errors.LastAdmin, match="'root' is the last enabled admin"):
        service.set_role("root", "uploader")
    with pytest.raises(errors.LastAdmin):
        service.disable_user("root")
    root = service.get_user("root")
    assert (root.role, root.disabled) == ("admin", False)
    service.enable_user("spare")
    service.set_role("root", "uploader")
    assert service.get_user("root").role == "uploader"
    with pytest.raises(errors.LastAdmin):
        service.disable_user("spare")


def test_disabling_ends_the_users_sessions_for_good(ctx):
    user = service.create_user("alice", PASSWORD, "viewer")
    key = service.start_session(user)
    service.disable_user("alice")
    service.enable_user("alice")
    assert service.session_user(key) is None


def test_a_token_is_revoked_on_behalf_of_its_owner_only(ctx):
    service.create_user("alice", PASSWORD, "viewer")
    service.create_user("bob", PASSWORD, "viewer")
    token, _value = service.create_token("alice", ["read"])
    with pytest.raises(errors.TokenNotFound):
        service.revoke_token(token.id, owner="bob")
    assert token.revoked_at is None
    assert service.revoke_token(token.id, owner="ALICE").revoked_at is not None


def test_active_token_counts_leave_out_revoked_and_expired_tokens(ctx):
    alice = service.create_user("alice", PASSWORD, "viewer")
    bob = service.create_user("bob", PASSWORD, "viewer")
    service.create_token("alice", ["read"])
    revoked, _ = service.create_token("alice", ["read"])
    service.revoke_token(revoked.id)
    expired, _ = service.create_token("bob", ["read"], days=1)
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert service.active_token_counts() == {alice.id: 1}
    assert bob.id not in service.active_token_counts()
