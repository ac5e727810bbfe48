"""Each physician's own quiet hours, weekend choice and lesson time (NULL: the hospital's).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("quiet_start", sa.String(5)))
        batch.add_column(sa.Column("quiet_end", sa.String(5)))
        batch.add_column(sa.Column("weekends_off", sa.Boolean))
        batch.add_column(sa.Column("lesson_time", sa.String(5)))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        for column in ("lesson_time", "weekends_off", "quiet_end", "quiet_start"):
            batch.drop_column(column)
