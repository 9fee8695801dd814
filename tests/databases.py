"""Databases for tests: a SQLite file per test, or a schema of its own on a PostgreSQL server.

``PORTAL_TEST_DATABASE_URL`` (a ``postgresql+psycopg://`` URL) runs the whole
suite on PostgreSQL: every test gets a fresh, empty schema, chosen through the
connection's ``search_path``, so tests never see each other's rows and nothing
is left on the server. ``PORTAL_TEST_POSTGRES_URL`` names a server for the
tests that are about PostgreSQL itself; ``.ci/run`` sets both.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url

DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
POSTGRES_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL", "") or (
    DATABASE_URL if DATABASE_URL.startswith("postgresql") else ""
)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'portal.db'}"


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    schema = "test_" + uuid.uuid4().hex[:16]
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database_for_test(folder: Path) -> Iterator[str]:
    """The database a test's portal uses: PostgreSQL when the run asks for it, else SQLite."""
    if DATABASE_URL:
        with postgres_schema(DATABASE_URL) as url:
            yield url
    else:
        yield sqlite_url(folder)
