"""The database half of a backup on PostgreSQL: ``pg_dump`` in the snapshot the object list was read in.

One ``REPEATABLE READ`` transaction exports its snapshot
(``pg_export_snapshot()``), reads the video rows and everything the manifest
records, and stays open while ``pg_dump --snapshot`` dumps the portal's schema
in that same snapshot: the dump and the object list are one moment in time,
and uploads or deletes that commit meanwhile are in neither. The client tools
(``pg_dump``, ``pg_restore``, ``psql``) are Debian's ``postgresql-client``.

A restore drops the target's (empty) schema and replays the dump in one
``psql --single-transaction``: a failure half-way leaves the database as it was.
The dump names its own schema; when the target's differs, the replayed schema
is renamed to it in that transaction.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from typing import Callable
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url

from .errors import BackupError

#: A query's rows, as lists: how the manifest's parts are read from either database.
Rows = Callable[[str], list[list[Any]]]


class ClientMissing(BackupError):
    """A PostgreSQL client tool is not installed."""


def is_postgresql(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ClientMissing(
            f"{name} is not installed: backups of a PostgreSQL database need PostgreSQL's client tools "
            "(Debian's postgresql-client, of the server's major version or newer)"
        )
    return found


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the client tools, and their environment (the password out of the process list)."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain: URL = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{what} failed: " + (lines[-1] if lines else f"exit status {done.returncode}"))


@contextmanager
def snapshot(engine: sa.Engine, target: Path) -> Iterator[tuple[str, Rows]]:
    """Dump the portal's schema into ``target``; yield (the schema's name, rows read in the dump's snapshot).

    The caller reads what it needs inside the ``with``; the transaction ends
    after, once the dump is written.
    """
    pg_dump = _tool("pg_dump")
    url, env = _libpq(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()

            def rows(sql: str) -> list[list[Any]]:
                return [list(row) for row in connection.exec_driver_sql(sql).fetchall()]

            _run(
                [pg_dump, "--snapshot", snapshot_id, "--schema", schema, "--format", "custom", "--no-owner",
                 "--no-privileges", "--file", str(target), "--dbname", url],
                env, "pg_dump",
            )
            yield schema, rows


def check_dump(path: Path) -> str | None:
    """What keeps ``pg_restore`` from reading a dump (its table of contents), or None."""
    try:
        _run([_tool("pg_restore"), "--list", str(path)], dict(os.environ), "pg_restore --list")
    except BackupError as error:
        return error.message
    return None


def restore(engine: sa.Engine, dump: Path, dumped_schema: str) -> None:
    """Replace the target's empty schema by the dump's, in one transaction (renamed when the names differ)."""
    pg_restore = _tool("pg_restore")
    psql = _tool("psql")
    with engine.connect() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one_or_none()
        taken = connection.execute(
            sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": dumped_schema}
        ).first()
    if schema is None:
        raise BackupError("the database's search_path names no schema that exists: create it, then restore")
    if schema != dumped_schema and taken:
        raise BackupError(
            f"the backup's schema {dumped_schema!r} exists in this database already: restore into another "
            f"database, or into schema {dumped_schema!r} itself (its search_path)"
        )
    engine.dispose()
    url, env = _libpq(engine.url.render_as_string(hide_password=False))
    with tempfile.TemporaryDirectory(prefix="portal-restore-sql-") as folder:
        script = Path(folder) / "restore.sql"
        _run([pg_restore, "--no-owner", "--no-privileges", "--file", str(script), str(dump)], env, "pg_restore")
        before = Path(folder) / "before.sql"
        before.write_text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE;\n')
        after = Path(folder) / "after.sql"
        after.write_text(f'ALTER SCHEMA "{dumped_schema}" RENAME TO "{schema}";\n' if schema != dumped_schema else "")
        _run(
            [psql, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--single-transaction",
             "--file", str(before), "--file", str(script), "--file", str(after), "--dbname", url],
            env, "psql",
        )


@contextmanager
def throwaway_database(database_url: str, schema: str) -> Iterator[str]:
    """A new database on the same server, its search_path ``schema`` (made empty), dropped afterwards."""
    name = "portal_drill_" + uuid.uuid4().hex[:12]
    url = make_url(database_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        throwaway = url.set(database=name).update_query_dict({"options": f"-csearch_path={schema}"})
        made = sa.create_engine(throwaway, poolclass=sa.pool.NullPool)
        try:
            with made.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        finally:
            made.dispose()
        yield throwaway.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
