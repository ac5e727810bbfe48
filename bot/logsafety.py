"""The process's logging, configured once by the composition root so that no request body reaches a log.

Our own code logs ids, never text. The libraries do not hold to that: Bolt logs a request whose
signature fails with its whole body (``slack_bolt.RequestVerification``, at INFO), and an unhandled
one too; slack_sdk, BotBuilder, msrest and aiohttp print requests and responses at DEBUG. So every
handler of the root logger gets :class:`NoBodies`: below WARNING, a library's record is dropped;
at WARNING and above it is kept, cut to :data:`LIBRARY_MESSAGE_CHARS`, without a traceback's
exception message. ``ROUNDS_LOG_LEVEL=DEBUG`` then shows our own debug lines and nothing of a body.
"""
from __future__ import annotations

import logging
import re
import traceback

LIBRARY_PREFIXES = ("slack_bolt", "slack_sdk", "slack", "botbuilder", "botframework", "msrest", "msal", "aiohttp",
                    "asyncio", "urllib3", "requests", "jwt", "bot.channels.slack.bolt", "bot.channels.slack.sdk",
                    "sqlalchemy", "alembic", "asyncpg", "aiosqlite")
"""Loggers of code that is not ours (Bolt and slack_sdk log under our names when given our loggers)."""
ACCESS_LOG = "aiohttp.access"
"""aiohttp's line per request (``ROUNDS_ACCESS_LOG=1``): method, path, status; no body."""
LIBRARY_MESSAGE_CHARS = 200
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_SECRET_QUERY = re.compile(r"([?&](?:token|sig)=)[^&\s\"]*")


def _library(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") or name.startswith(prefix + ":")
               for prefix in LIBRARY_PREFIXES)


class NoBodies(logging.Filter):
    """Keeps what libraries log about requests out of every handler it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOG:
            record.msg, record.args = _SECRET_QUERY.sub(r"\1…", record.getMessage()), ()
            return True
        if not _library(record.name):
            return True
        if record.levelno < logging.WARNING:
            return False
        message = record.getMessage()
        if len(message) > LIBRARY_MESSAGE_CHARS:
            message = message[:LIBRARY_MESSAGE_CHARS] + "…"
        record.msg, record.args = message, ()
        if record.exc_info and record.exc_info[1] is not None:  # the frames and the type, not the message
            error = record.exc_info[1]
            record.exc_text = "Traceback (most recent call last):\n" + "".join(
                traceback.format_tb(error.__traceback__)) + type(error).__name__
            record.exc_info = None
        return True


def level_from(value: str | None) -> int:
    """``ROUNDS_LOG_LEVEL``: one of :data:`LEVELS` (default INFO); ValueError names the choices."""
    name = (value or "INFO").strip().upper()
    if name not in LEVELS:
        raise ValueError(f"ROUNDS_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {value!r}")
    return logging.getLevelName(name)


def configure(level: int = logging.INFO) -> None:
    """Root handler on stderr at ``level`` (if none yet) and :class:`NoBodies` on every root handler."""
    logging.basicConfig(level=level, format=FORMAT)
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, NoBodies) for f in handler.filters):
            handler.addFilter(NoBodies())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger(__name__).debug("logging at %s; what libraries log below WARNING is dropped (request bodies)",
                                      logging.getLevelName(level))
