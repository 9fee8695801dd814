"""Make room for case-folded names, and order them the same on every database.

``"ß" * 255`` case-folds to 510 characters, which PostgreSQL refused in the old
VARCHAR(255) (SQLite never checks lengths). On PostgreSQL the column also gets
the "C" collation, so sorting by name follows code points as on SQLite instead
of the server's locale.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_TYPE = sa.String(length=255)
NEW_LENGTH = 3 * 255


def upgrade():
    new_type = sa.String(length=NEW_LENGTH)
    if op.get_bind().dialect.name == "postgresql":
        new_type = sa.String(length=NEW_LENGTH, collation="C")
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.alter_column("search_name", existing_type=OLD_TYPE, type_=new_type, existing_nullable=False)


def downgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.alter_column("search_name", existing_type=sa.String(length=NEW_LENGTH), type_=OLD_TYPE, existing_nullable=False)
