"""Verified presence on X and Bluesky: a physician's Bluesky handle and LinkedIn URL, and what each
network last said about their account (profile, photo, bio, link, pinned post, follows both ways),
each fact with when it was last verified.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("bluesky_handle", sa.String(253)))
        batch.add_column(sa.Column("linkedin_url", sa.String(500)))
    op.create_table(
        "network_presence",
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("network", sa.String(16), primary_key=True),
        sa.Column("handle", sa.String(253), nullable=False),
        sa.Column("account_id", sa.String(128)),
        sa.Column("profile", sa.String(12)),
        sa.Column("photo", sa.Boolean),
        sa.Column("bio_names", sa.Boolean),
        sa.Column("link", sa.Boolean),
        sa.Column("pinned", sa.Boolean),
        sa.Column("profile_verified_at", UTCDateTime),
        sa.Column("follows_hospital", sa.Boolean),
        sa.Column("follows_verified_at", UTCDateTime),
        sa.Column("follows_seen_at", UTCDateTime),
        sa.Column("followed_back", sa.Boolean),
        sa.Column("followed_back_verified_at", UTCDateTime),
        sa.Column("followed_back_seen_at", UTCDateTime),
        sa.Column("failed_at", UTCDateTime),
        sa.Column("failure", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_network_presence_account_id", "network_presence", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_network_presence_account_id", "network_presence")
    op.drop_table("network_presence")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("linkedin_url")
        batch.drop_column("bluesky_handle")
