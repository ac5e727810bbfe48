"""A fresh PostgreSQL database per test on the server CI provides (127.0.0.1:5432)."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import NoReturn

import asyncpg
import pytest

from bench.pgcopy import scratch_database

ADMIN_URL = os.environ.get("ROUNDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _unavailable(reason: str) -> NoReturn:
    message = f"PostgreSQL at {ADMIN_URL} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Create ``rounds_test_<random>``, yield its URL, drop it afterwards; skip (fail in CI) without a server."""
    async with AsyncExitStack() as stack:
        try:
            url = await stack.enter_async_context(scratch_database(ADMIN_URL, "rounds_test_", timeout=5))
        except (OSError, asyncpg.PostgresError) as exc:
            _unavailable(str(exc))
        yield url
