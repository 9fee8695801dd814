"""The schema at start-up, and after a restore: upgraded once, even when several processes start together.

Every portal process brings the schema up to date when it starts. Replicas
sharing one PostgreSQL database start at the same moment, and two upgrades
running side by side would both try to create the same tables; a session-level
advisory lock makes them take turns, so the second finds the work done.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import flask_migrate
from sqlalchemy import Engine
from sqlalchemy import text

#: Any number the portal's processes agree on; the bytes spell "portal".
MIGRATION_LOCK_ID = 0x706F7274616C


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the database-wide migration lock (PostgreSQL), or nothing where none is needed."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()


def upgrade_schema(engine: Engine, directory: str) -> None:
    with migration_lock(engine):
        flask_migrate.upgrade(directory=directory)
