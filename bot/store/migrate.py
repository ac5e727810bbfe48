"""Schema versions: upgrade to the newest, or tell whether a database is current.

Serving only checks the version (one query); Alembic and the migration scripts (about 14 MB of a
server's memory) load only to migrate."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA = "0016"
"""The newest migration's revision: the schema this version of the bot runs on (a test checks it
against the migration scripts, so a new migration must move it)."""


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision among the migration scripts (loads Alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's schema revision; None when it was never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str]:
    """Apply every pending migration; returns (revision before, revision after)."""
    async with engine.begin() as conn:
        before = await conn.run_sync(_current)
        await conn.run_sync(_upgrade_to_head)
        after = await conn.run_sync(_current)
    return before, after or head_revision()


def _upgrade_to_head(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")
