"""The table of resumable uploads: made by migration 0011, and exactly as the model describes it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_migrations_make_the_uploads_table_the_model_describes(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert [difference for difference in differences if "uploads" in repr(difference)] == []
    with app.app_context():
        assert "uploads" in db.inspect(db.engine).get_table_names()
