"""Settings: defaults, PORTAL_* variables, the generated secret key, migrations at start-up."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from portal import MIGRATIONS
from portal import create_app
from portal.extensions import db


def test_portal_variables_override_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PORTAL_MAX_CONTENT_LENGTH", "1048576")
    monkeypatch.setenv("PORTAL_PORT", "9000")
    app = create_app()
    assert app.config["DATA_DIR"] == str(tmp_path / "elsewhere")
    assert app.config["MAX_CONTENT_LENGTH"] == 1048576
    assert app.config["PORT"] == 9000
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'elsewhere' / 'portal.db'}"
    assert (tmp_path / "elsewhere" / "portal.db").exists()


def test_defaults(tmp_path, monkeypatch):
    for name in ("PORTAL_MAX_CONTENT_LENGTH", "PORTAL_HOST", "PORTAL_PORT"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"DATA_DIR": str(tmp_path)})
    assert app.config["MAX_CONTENT_LENGTH"] == 4 * 1024**3
    assert (app.config["HOST"], app.config["PORT"]) == ("0.0.0.0", 8080)


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    first = create_app({"DATA_DIR": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"DATA_DIR": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "from-env")
    assert create_app({"DATA_DIR": str(tmp_path)}).config["SECRET_KEY"] == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_schema_is_migrated_at_start_up(app):
    with app.app_context():
        inspector = inspect(db.engine)
        assert "videos" in inspector.get_table_names()
        [head] = ScriptDirectory(str(MIGRATIONS)).get_heads()
        assert db.session.execute(db.text("SELECT version_num FROM alembic_version")).scalar() == head


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path)})
    with app.app_context():
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(db.text("PRAGMA busy_timeout")).scalar() == 30000


def test_leftovers_are_removed_at_start_up(tmp_path):
    incoming = tmp_path / "files" / ".incoming"
    incoming.mkdir(parents=True)
    (incoming / "999999999-x.part").write_bytes(b"half an upload")
    create_app({"DATA_DIR": str(tmp_path)})
    assert list(incoming.iterdir()) == []


def test_upload_expiry_defaults_to_a_day_and_follows_its_variable(tmp_path, monkeypatch):
    assert create_app({"DATA_DIR": str(tmp_path)}).config["UPLOAD_EXPIRY_HOURS"] == 24
    monkeypatch.setenv("PORTAL_UPLOAD_EXPIRY_HOURS", "2")
    assert create_app({"DATA_DIR": str(tmp_path)}).config["UPLOAD_EXPIRY_HOURS"] == 2


@pytest.mark.parametrize("value", [0, -1, "soon", True])
def test_upload_expiry_that_is_not_a_positive_number_is_refused_at_start_up(tmp_path, value):
    with pytest.raises(ValueError, match="PORTAL_UPLOAD_EXPIRY_HOURS"):
        create_app({"DATA_DIR": str(tmp_path), "UPLOAD_EXPIRY_HOURS": value})


def test_the_password_hash_profile_defaults_to_rfc_9106_and_a_typo_is_refused_at_start_up(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_PASSWORD_HASH_PROFILE")  # the suite's own cheap profile (tests/conftest.py)
    assert create_app({"DATA_DIR": str(tmp_path)}).config["PASSWORD_HASH_PROFILE"] == "RFC_9106_LOW_MEMORY"
    monkeypatch.setenv("PORTAL_PASSWORD_HASH_PROFILE", "cheap")
    with pytest.raises(ValueError, match="PORTAL_PASSWORD_HASH_PROFILE must be one of RFC_9106_LOW_MEMORY, "):
        create_app({"DATA_DIR": str(tmp_path)})


@pytest.mark.parametrize("value", ["videos.example.org", "ftp://videos.example.org", "https://", "https://a.org/?x=1"])
def test_a_base_url_links_could_not_be_built_on_is_refused_at_start_up(tmp_path, monkeypatch, value):
    monkeypatch.setenv("PORTAL_BASE_URL", value)
    with pytest.raises(ValueError, match="PORTAL_BASE_URL must be the http:// or https:// address"):
        create_app({"DATA_DIR": str(tmp_path)})


def test_the_base_url_follows_its_variable(tmp_path, monkeypatch):
    assert create_app({"DATA_DIR": str(tmp_path)}).config["BASE_URL"] is None
    monkeypatch.setenv("PORTAL_BASE_URL", "https://videos.example.org")
    assert create_app({"DATA_DIR": str(tmp_path)}).config["BASE_URL"] == "https://videos.example.org"


@pytest.mark.parametrize(("name", "value"), [("PORTAL_SESSION_COOKIE_SECURE", "sometimes"), ("PORTAL_HSTS", "yes")])
def test_a_cookie_or_hsts_setting_that_is_not_a_choice_is_refused_at_start_up(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        create_app({"DATA_DIR": str(tmp_path)})


def test_the_slow_sender_limits_default_to_mod_reqtimeouts_and_follow_their_variables(tmp_path, monkeypatch):
    config = create_app({"DATA_DIR": str(tmp_path)}).config
    assert (config["HEADER_TIMEOUT"], config["BODY_MIN_RATE"]) == (30, 1024)
    monkeypatch.setenv("PORTAL_HEADER_TIMEOUT", "2.5")
    monkeypatch.setenv("PORTAL_BODY_MIN_RATE", "500")
    config = create_app({"DATA_DIR": str(tmp_path)}).config
    assert (config["HEADER_TIMEOUT"], config["BODY_MIN_RATE"]) == (2.5, 500)


@pytest.mark.parametrize("name", ["PORTAL_HEADER_TIMEOUT", "PORTAL_BODY_MIN_RATE"])
@pytest.mark.parametrize("value", ["0", "-1", "soon", "true", "Infinity", "NaN"])
def test_a_slow_sender_limit_that_is_not_a_positive_number_is_refused_at_start_up(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} must be a positive number of "):
        create_app({"DATA_DIR": str(tmp_path)})
