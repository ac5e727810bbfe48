"""Pooled PostgreSQL connections: checked before use only after sitting idle.

``pool_pre_ping`` costs a round trip at every checkout, and a sender checks connections out several
times per message. A connection that was used a moment ago is as alive as a ping would show, so
only one that sat idle for :data:`IDLE_PING_SECONDS` is pinged; a dead one (the database
restarted) is replaced before anyone uses it, as with ``pool_pre_ping``.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

IDLE_PING_SECONDS = 5.0


def ping_when_idle(engine: AsyncEngine) -> None:
    dialect = engine.sync_engine.dialect

    def checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in = record.info.get("checked_in")
        if checked_in is None or time.monotonic() - checked_in < IDLE_PING_SECONDS:
            return  # new, or used a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the database connection is gone") from exc
        if alive is False:
            raise DisconnectionError("the database connection is gone")

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)
