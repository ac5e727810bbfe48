"""Checks every inbound platform request passes before a platform SDK sees it.

Bolt and BotBuilder were written for well-formed traffic: an unsigned ``[1]``, bytes that are not
UTF-8, ``payload=%7Bx``, a timestamp that is not a number, or JSON nested a thousand levels deep
made them raise (a 500 with a traceback in the log), and Bolt logs a request whose signature fails
with its whole body. This layer answers such requests itself: 401 when the request is not
authenticated, 400 when it is malformed, 413 when it is too large, each with one short log line
that names the reason and the size, never the content.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

log = logging.getLogger(__name__)

MAX_SLACK_BODY_BYTES = 1024 * 1024
"""Slack's largest requests (a modal's submission with its whole view) stay far below this."""
MAX_JSON_DEPTH = 64
"""Slack and Teams payloads nest a dozen levels at most; deeper is an attack on a recursive parser."""
SLACK_MAX_AGE_SECONDS = 5 * 60
_JSON_SPECIAL = re.compile(r'[\[\]{}"\\]')


class Rejected(Exception):
    """A request answered here: ``status`` and a short public ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> web.Response:
        return web.json_response({"error": self.reason}, status=self.status)


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON ``text`` nests arrays and objects deeper than ``limit`` (linear, never recursive)."""
    if text.count("{") + text.count("[") <= limit:
        return False
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _JSON_SPECIAL.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def json_object(text: str) -> dict[str, Any]:
    """``text`` parsed as one JSON object of bounded depth; raises :class:`Rejected` (400) otherwise."""
    if too_deep(text):
        raise Rejected(400, "the JSON is nested too deeply")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Rejected(400, "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise Rejected(400, "the body must be a JSON object")
    return value


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes (413 before reading a larger declared body)."""
    if request.content_length is not None and request.content_length > limit:
        raise Rejected(413, "request too large")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Rejected(413, "request too large") from None
    if len(raw) > limit:
        raise Rejected(413, "request too large")
    return raw


def utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "the body is not UTF-8 text") from None


@dataclass(frozen=True)
class SlackRequest:
    """A request whose signature is valid and whose body Bolt can parse into an object."""

    body: str


def slack_signature_valid(secret: str, timestamp: str, body: bytes, signature: str, now: float) -> bool:
    """Slack's v0 signature over ``v0:{timestamp}:{body}``, the timestamp within five minutes of now."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > SLACK_MAX_AGE_SECONDS:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


async def check_slack(request: web.Request, secret: str) -> SlackRequest:
    """Read and check a ``POST /slack/events`` request; raises :class:`Rejected`.

    The signature is checked on the raw bytes before anything is parsed, so an unauthenticated
    request costs one HMAC and one log line. A signed body must parse the way Bolt parses it
    (JSON, a form, or a form with a JSON ``payload``) into an object of bounded depth."""
    raw = await read_body(request, MAX_SLACK_BODY_BYTES)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not slack_signature_valid(secret, timestamp, raw, signature, time.time()):
        raise Rejected(401, "invalid request")
    text = utf8(raw)
    _check_slack_body(text, request.headers.get("Content-Type", ""))
    return SlackRequest(text)


def _check_slack_body(text: str, content_type: str) -> None:
    """Mirror of Bolt's ``parse_body``: what it would parse must be a JSON object."""
    if not text:
        raise Rejected(400, "empty request")
    if content_type.split(";")[0].strip().lower() == "application/json" or text.startswith("{"):
        _check_slack_shape(json_object(text))
        return
    if "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            _check_slack_shape(json_object(payload))


_SLACK_OBJECTS = ("event", "view", "container", "channel", "team", "message", "enterprise", "state")
_SLACK_REQUIRED: dict[Any, tuple[tuple[str, type], ...]] = {
    "event_callback": (("event", dict),),
    "block_actions": (("actions", list), ("user", dict)),
    "view_submission": (("view", dict), ("user", dict)),
    "view_closed": (("view", dict), ("user", dict)),
    "shortcut": (("user", dict),),
    "message_action": (("user", dict),),
    "block_suggestion": (("user", dict),),
}
"""Per request type, what Slack always sends and Bolt reads without looking."""
_SLACK_STRINGS = ("type", "event_id", "trigger_id", "response_url", "callback_id", "api_app_id", "token")


def _check_slack_shape(body: dict[str, Any]) -> None:
    """The fields Bolt reads to route a request have the types Slack always sends (an object, a string,
    a list of objects); Bolt's routing assumes them and raises otherwise."""
    bad = Rejected(400, "the body is not a Slack request")
    for key, kind in _SLACK_REQUIRED.get(body.get("type"), ()):
        if not isinstance(body.get(key), kind):
            raise bad
    for key in _SLACK_STRINGS:
        if body.get(key) is not None and not isinstance(body[key], str):
            raise bad
    for key in _SLACK_OBJECTS:
        if key == "state" and str(body.get("type")).startswith("dialog_"):
            continue  # a legacy dialog's state is the string the app gave it
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise bad
    if body.get("user") is not None and not isinstance(body["user"], (dict, str)):
        raise bad
    for key in ("actions", "authorizations"):
        value = body.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, dict) for v in value)):
            raise bad
    for inner in ("event", "view"):
        if isinstance(body.get(inner), dict):
            _check_strings(body[inner], bad)
    for action in body.get("actions") or ():
        _check_strings(action, bad)


def _check_strings(obj: dict[str, Any], bad: Rejected) -> None:
    """What Bolt matches listeners on is a string (other fields vary by event and are left alone)."""
    for key in ("type", "subtype", "callback_id", "action_id", "block_id"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise bad


def log_rejected(platform: str, request: web.Request, rejected: Rejected, size: int | None = None) -> None:
    """One short line: platform, status, reason, size in bytes; nothing of the content."""
    length = size if size is not None else request.content_length
    log.warning("%s request rejected status=%s reason=%s bytes=%s", platform, rejected.status, rejected.reason,
                length if length is not None else "?")
