"""``flask --app wsgi users ...`` and ``tokens ...``."""

from __future__ import annotations

import logging

import pytest

from portal import errors
from portal.accounts import service

PASSWORD = "correct horse battery"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(args=list(args), input=input)

    return invoke


def test_create_and_list_users(app, cli):
    result = cli("users", "create", "Alice", "--role", "uploader", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created user Alice (uploader)" in result.output
    assert PASSWORD not in result.output
    listing = cli("users", "list")
    assert listing.exit_code == 0
    assert listing.output.startswith("Alice\tuploader\tactive\t")
    with app.app_context():
        # One trailing newline is not part of the password.
        assert service.verify_password("alice", PASSWORD) is not None


def test_errors_go_to_stderr_with_a_non_zero_exit(cli):
    result = cli("users", "create", "bob", "--role", "viewer", "--password-stdin", input="short\n")
    assert result.exit_code == 1
    assert "at least 10 characters" in result.stderr
    assert result.stdout == ""
    cli("users", "create", "bob", "--role", "viewer", "--password-stdin", input=PASSWORD)
    again = cli("users", "create", "BOB", "--role", "viewer", "--password-stdin", input=PASSWORD)
    assert again.exit_code == 1 and "exists already" in again.stderr
    missing = cli("users", "set-role", "nobody", "admin")
    assert missing.exit_code == 1 and "No user is called 'nobody'" in missing.stderr
    assert cli("users", "set-role", "bob", "root").exit_code != 0


def test_set_role_disable_enable_and_reset_password(app, cli):
    cli("users", "create", "root", "--role", "admin", "--password-stdin", input=PASSWORD)
    cli("users", "create", "alice", "--role", "viewer", "--password-stdin", input=PASSWORD)
    assert cli("users", "set-role", "alice", "admin").exit_code == 0
    assert cli("users", "disable", "alice").exit_code == 0
    assert "\tadmin\tdisabled\t" in cli("users", "list").output
    assert cli("users", "enable", "alice").exit_code == 0
    result = cli("users", "reset-password", "alice", "--password-stdin", input="another long secret\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = service.verify_password("alice", "another long secret")
        assert user is not None and user.role == "admin"
        assert service.verify_password("alice", PASSWORD) is None


def test_the_last_enabled_admin_is_neither_disabled_nor_demoted(cli):
    cli("users", "create", "root", "--role", "admin", "--password-stdin", input=PASSWORD)
    for command in (("users", "disable", "root"), ("users", "set-role", "root", "viewer")):
        result = cli(*command)
        assert result.exit_code == 1 and "'root' is the last enabled admin" in result.stderr
    assert cli("users", "list").output.startswith("root\tadmin\tactive\t")


def test_tokens_create_prints_only_the_token(app, cli):
    cli("users", "create", "alice", "--role", "uploader", "--password-stdin", input=PASSWORD)
    result = cli("tokens", "create", "alice", "--scope", "read", "--scope", "upload", "--label", "ci", "--days", "7")
    assert result.exit_code == 0, result.output
    value = result.stdout.removesuffix("\n")
    assert value.startswith("ptl_") and "\n" not in value and " " not in value
    with app.app_context():
        authenticated = service.authenticate_token(value)
        assert authenticated is not None
        user, token = authenticated
        assert (user.username, token.scopes, token.label) == ("alice", "read upload", "ci")
    listing = cli("tokens", "list", "alice")
    assert listing.exit_code == 0
    assert listing.output.startswith(f"{token.id}\talice\tread upload\tci\t")
    assert value not in listing.output
    assert cli("tokens", "list").output == listing.output


def test_a_token_above_the_role_is_refused(cli):
    cli("users", "create", "viewer1", "--role", "viewer", "--password-stdin", input=PASSWORD)
    result = cli("tokens", "create", "viewer1", "--scope", "read", "--scope", "delete")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "may carry only: read" in result.stderr
    assert cli("tokens", "list").output == ""


def test_revoke_a_token(app, cli):
    cli("users", "create", "alice", "--role", "viewer", "--password-stdin", input=PASSWORD)
    value = cli("tokens", "create", "alice", "--scope", "read").stdout.strip()
    with app.app_context():
        token_id = service.list_tokens("alice")[0].id
    result = cli("tokens", "revoke", str(token_id))
    assert result.exit_code == 0, result.output
    assert "revoked" in cli("tokens", "list").output
    with app.app_context():
        assert service.authenticate_token(value) is None
    unknown = cli("tokens", "revoke", "9999")
    assert unknown.exit_code == 1 and "No token has the id 9999" in unknown.stderr
    assert cli("tokens", "list", "nobody").exit_code == 1


def test_unlock_lets_a_locked_out_name_sign_in_again(app, cli, caplog):
    cli("users", "create", "alice", "--role", "viewer", "--password-stdin", input=PASSWORD)
    with app.app_context():
        for index in range(5):
            with pytest.raises(errors.SignInFailed):
                service.sign_in("alice", "wrong password", f"203.0.113.{index}")
        with pytest.raises(errors.TooManyAttempts):
            service.sign_in("alice", PASSWORD, "192.0.2.1")
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        result = cli("users", "unlock", "ALICE")
    assert result.exit_code == 0, result.output
    assert result.output == "unlocked ALICE: 5 attempts forgotten\n"
    assert "sign-in unlocked: username='alice'" in caplog.text
    with app.app_context():
        assert service.sign_in("alice", PASSWORD, "192.0.2.1").username == "alice"
    refused = cli("users", "unlock", "not a name")
    assert refused.exit_code == 1 and refused.stderr
