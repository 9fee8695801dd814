"""Databases for tests: a SQLite file per test, or a schema of its own on a PostgreSQL server.

``PORTAL_TEST_DATABASE_URL`` (a ``postgresql+psycopg://`` URL) runs the whole
suite on PostgreSQL: every test gets a fresh, empty schema, chosen through the
connection's ``search_path``, so tests never see each other's rows and nothing
is left on the server. ``PORTAL_TEST_POSTGRES_URL`` names a server for the
tests that are about PostgreSQL itself; ``.ci/run`` sets both.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
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


def schema_of(url: str) -> str:
    """The schema a URL of :func:`postgres_schema` works in."""
    options = make_url(url).query["options"]
    assert isinstance(options, str), options
    return options.removeprefix("-csearch_path=")


def run_script(url: str, script: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(script)
    finally:
        engine.dispose()


def find_pg_dump() -> str | None:
    """``pg_dump`` on the PATH, or the newest of Debian's PostgreSQL installations."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=lambda path: int(path.split("/")[4]))
    return shutil.which("pg_dump") or (found[-1] if found else None)


def schema_script(server_url: str, schema: str) -> str | None:
    """The tables, indexes and rows of ``schema`` as SQL that recreates them in the current schema.

    ``pg_dump`` writes the same objects the migrations made, under the same
    names; only the schema's name is left out. None without a ``pg_dump``
    that can dump the server (an older one refuses a newer server).
    """
    pg_dump = find_pg_dump()
    if pg_dump is None:
        return None
    url = make_url(server_url).set(drivername="postgresql", query={})
    try:
        dumped = subprocess.run(
            [pg_dump, "--schema", schema, "--no-owner", "--no-privileges", "--inserts", "--dbname",
             url.render_as_string(hide_password=False)],
            check=True, capture_output=True, text=True,
        ).stdout
    except subprocess.CalledProcessError:
        return None
    statements = []
    for statement in dumped.split(";\n"):
        # Comments, and psql's own commands (\restrict): not SQL.
        lines = [line for line in statement.splitlines() if line.strip() and not line.startswith(("--", "\\"))]
        text = "\n".join(lines).strip()
        # Session settings, and the schema itself: the copy goes into a schema that exists already.
        if not text or text.startswith(("SET ", "SELECT pg_catalog.set_config", "CREATE SCHEMA")):
            continue
        statements.append(text.replace(f'"{schema}".', "").replace(f"{schema}.", "") + ";")
    return "\n".join(statements)


@contextmanager
def database_for_test(folder: Path) -> Iterator[str]:
    """The database a test's portal uses: PostgreSQL when the run asks for it, else SQLite."""
    if DATABASE_URL:
        with postgres_schema(DATABASE_URL) as url:
            yield url
    else:
        yield sqlite_url(folder)


#: The columns of ``videos`` that every schema version has.
FIRST_VIDEO_COLUMNS = ("id", "filename", "search_name", "content_type", "size", "sha256", "status", "created_at")


def insert_video_rows(url: str, rows: list[dict], later_columns: tuple[str, ...] = ()) -> None:
    """Write rows into ``videos`` as older code did: the columns every schema version has, and the later ones named."""
    columns = FIRST_VIDEO_COLUMNS + later_columns
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"INSERT INTO videos ({', '.join(columns)}) VALUES ({', '.join(':' + name for name in columns)})"),
            rows,
        )
    engine.dispose()
