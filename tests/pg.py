"""A fresh PostgreSQL database per test on the server CI provides (127.0.0.1:5432)."""
from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg
import pytest

ADMIN_URL = os.environ.get("ROUNDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL at {ADMIN_URL} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Create ``rounds_test_<random>``, yield its URL, drop it afterwards."""
    name = f"rounds_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(str(exc))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
