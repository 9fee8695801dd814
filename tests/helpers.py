"""Small helpers for tests: upload, and look at what is stored (child servers: :mod:`tests.support`)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.storage import storage_of
from portal.storage.local import INCOMING
from portal.storage.local import LocalStorage

if TYPE_CHECKING:
    from portal.storage.s3 import S3Storage


def upload(client, data: bytes, filename: str = "clip.mp4", **form):
    return client.post(
        "/api/v1/files",
        data={"file": (io.BytesIO(data), filename), **form},
        content_type="multipart/form-data",
    )


def json_body(response: TestResponse) -> Any:
    """The JSON a response of the test client carries (it must carry some)."""
    body = response.json
    assert body is not None, f"not JSON: {response.status} {response.get_data(as_text=True)[:500]}"
    return body


def local_storage_of(app: Flask) -> LocalStorage:
    """The storage of an ``app`` that keeps its files in a folder (the tests' default)."""
    storage = storage_of(app)
    assert isinstance(storage, LocalStorage), storage
    return storage


def s3_storage_of(app: Flask) -> S3Storage:
    """The storage of an ``app`` that keeps its files in an S3 bucket."""
    from portal.storage.s3 import S3Storage

    storage = storage_of(app)
    assert isinstance(storage, S3Storage), storage
    return storage


def stored_files(data_dir: Path) -> list[Path]:
    """Every file in the storage folder, temporary ones included."""
    return sorted(path for path in (data_dir / "files").rglob("*") if path.is_file())


def incoming_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "files" / INCOMING).iterdir())


def row_count(app) -> int:
    from portal.extensions import db
    from portal.library.models import Video

    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Video))


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server and its worker processes), from Linux's /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(descendant for child in children for descendant in process_tree(int(child)))]


def process_state(pid: int) -> str | None:
    """The state letter Linux's /proc gives ``pid`` ("Z": exited, not yet reaped), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def open_descriptors(pid: int) -> list[str]:
    """What the open file descriptors of ``pid`` point at (paths, ``socket:[...]``), from /proc."""
    targets: list[str] = []
    try:
        links = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return targets
    for link in links:
        try:
            targets.append(os.readlink(link))
        except OSError:
            continue  # closed meanwhile
    return targets


# --- signed-in clients ---------------------------------------------------------

#: The password of every user the tests make with :func:`add_user` unless told otherwise.
TEST_PASSWORD = "test-password"
_password_hashes: dict[tuple[str, str], str] = {}


def _password_hash(password: str, profile: str) -> str:
    """A hash as the app makes it under its PORTAL_PASSWORD_HASH_PROFILE, made once per session."""
    if (password, profile) not in _password_hashes:
        from portal.accounts.service import _hasher_of

        _password_hashes[password, profile] = _hasher_of(profile).hash(password)
    return _password_hashes[password, profile]


def add_user(app, username: str = "tester", role: str = "admin", password: str = TEST_PASSWORD) -> int:
    """A user row as the account service makes it (the same Argon2id hash), made cheaply; returns its id."""
    from portal.accounts.models import User
    from portal.extensions import db
    from portal.library.service import adopt_ownerless_videos

    with app.app_context():
        user = User(
            username=username, username_key=username.casefold(), password_hash=_password_hash(password, app.config["PASSWORD_HASH_PROFILE"]),
            role=role, disabled=False,
        )
        db.session.add(user)
        db.session.commit()
        if role == "admin":
            adopt_ownerless_videos(user)
        return user.id


class SignedInClient(FlaskClient):
    """A test client signed in twice over: the session cookie for pages, a bearer token for the API.

    The token goes in every request's environment, so a request that names its
    own ``Authorization`` header (or none: ``without_token()``) wins.
    """

    username: str
    token: str
    session_key: str

    def without_token(self) -> SignedInClient:
        """The same session, no bearer token: the API then goes by the cookie (and wants CSRF)."""
        self.environ_base.pop("HTTP_AUTHORIZATION", None)
        return self


def signed_in_client(app, username: str = "tester", role: str = "admin", scopes=None) -> SignedInClient:
    """A client of ``app`` signed in as a new user ``username`` with ``role`` (a token of every scope it allows)."""
    from portal.accounts import service
    from portal.accounts.models import ROLE_SCOPES
    from portal.accounts.models import Role

    with app.app_context():
        exists = service.find_user(username) is not None
    if not exists:
        add_user(app, username, role)
    with app.app_context():
        user = service.get_user(username)
        wanted = scopes if scopes is not None else [scope.value for scope in ROLE_SCOPES[Role(user.role)]]
        _, token = service.create_token(username, wanted, label="tests")
        session_key = service.start_session(user)
    client = SignedInClient(app, app.response_class, use_cookies=True)
    client.username, client.token, client.session_key = username, token, session_key
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    with client.session_transaction() as session:
        session["_user_id"] = session_key
        session["_fresh"] = True
    return client
