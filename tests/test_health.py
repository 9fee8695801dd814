"""/healthz tells whether the database and the storage folder are usable."""

from __future__ import annotations

import shutil


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_open_to_the_health_check_without_an_account(app):
    assert app.test_client().get("/healthz").status_code == 200


def test_unusable_storage_is_503(client, data_dir):
    shutil.rmtree(data_dir / "files")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "storage unavailable" in response.get_json()["problems"]


def test_unusable_database_is_503(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from portal.extensions import db

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("unable to open database file"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert "database unavailable" in response.get_json()["problems"]
