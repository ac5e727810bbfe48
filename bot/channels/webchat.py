"""Local web chat: a small page and a JSON API so ``rounds demo`` runs in a browser.

The adapter translates HTTP/JSON into :class:`~bot.messages.Incoming` and
:class:`~bot.messages.Reply` into JSON. Every decision stays with the backend (the coach).
Logs carry persona ids and action ids, never message text.
"""
from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from aiohttp import web

from bot.messages import Incoming, Reply
from bot.words import Words

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("webchat_static")
MAX_TEXT_CHARS = 20_000
MAX_ACTION_CHARS = 500
MAX_FORM_VALUES = 40
MAX_FIELD_ID_CHARS = 64
MAX_ADVANCE = timedelta(days=366)
ZONE = "UTC"
"""Default zone the page shows the clock in (``rounds demo`` passes the hospital's); instants are UTC."""

_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhdw])")
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_SEQ = re.compile(r"[0-9]{1,18}")
# 'unsafe-eval' lets browser-test tools evaluate predicates in the page; inline script stays blocked.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Persona:
    """Someone the demo lets you chat as."""

    id: str
    name: str
    department: str
    role: Literal["physician", "admin"]
    detail: str = ""
    """Short description shown in the picker, e.g. the specialty."""

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "department": self.department,
            "role": self.role,
            "detail": self.detail,
        }


class WebChatBackend(Protocol):
    """What the web chat needs from the application (the coach and the demo clock)."""

    async def personas(self) -> list[Persona]:
        """Everyone the page may chat as."""
        ...

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message or button press."""
        ...

    def now(self) -> datetime:
        """The current (simulated) instant, timezone-aware, in UTC."""
        ...

    async def advance_clock(self, delta: timedelta) -> datetime:
        """Move simulated time forward and return the new instant."""
        ...

    async def inbox(self, persona_id: str, after: int) -> list[tuple[int, Reply]]:
        """Proactive messages delivered to a persona, with sequence numbers above ``after``."""
        ...


def parse_duration(text: str) -> timedelta:
    """Parse ``"30m"``, ``"3h"``, ``"1d"`` or ``"1w"``: a whole positive number and one unit."""
    match = _DURATION.fullmatch(text)
    if match is None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise ValueError(
            f"{shown!r} is not a duration: use a whole number followed by m (minutes), "
            'h (hours), d (days) or w (weeks), e.g. "30m", "3h", "1d" or "1w"'
        )
    delta = int(match[1]) * _UNITS[match[2]]
    if delta > MAX_ADVANCE:
        raise ValueError(f"{text!r} is too far: advance at most {MAX_ADVANCE.days} days at a time")
    return delta


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """Render every field of a :class:`Reply` as JSON-safe data."""
    checklist = None
    if reply.checklist is not None:
        checklist = {
            "title": reply.checklist.title,
            "done_count": reply.checklist.done_count,
            "items": [
                {
                    "id": item.id,
                    "label": item.label,
                    "done": item.done,
                    "action": item.action,
                    "detail": item.detail,
                    "due": item.due,
                }
                for item in reply.checklist.items
            ],
        }
    table = None
    if reply.table is not None:
        table = {
            "headers": list(reply.table.headers),
            "rows": [list(row) for row in reply.table.rows],
        }
    form = None
    if reply.form is not None:
        form = {
            "submit_action": reply.form.submit_action,
            "submit_label": reply.form.submit_label,
            "title": reply.form.title,
            "fields": [
                {
                    "id": f.id,
                    "label": f.label,
                    "kind": f.kind,
                    "required": f.required,
                    "placeholder": f.placeholder,
                    "value": f.value,
                    "hint": f.hint,
                    "options": [{"label": label, "value": value} for label, value in f.options],
                    "error": f.error,
                }
                for f in reply.form.fields
            ],
        }
    progress = None
    if reply.progress is not None:
        progress = {
            "score": reply.progress.score,
            "stage": reply.progress.stage,
            "next_step": reply.progress.next_step,
        }
    return {
        "kind": reply.kind,
        "text": reply.text,
        "title": reply.title,
        "body": reply.body,
        "buttons": [
            {"label": b.label, "action": b.action, "style": b.style} for b in reply.buttons
        ],
        "checklist": checklist,
        "table": table,
        "progress": progress,
        "footer": reply.footer,
        "replace_original": reply.replace_original,
        "ephemeral": reply.ephemeral,
        "fields": [{"label": label, "value": value} for label, value in reply.fields],
        "image": None if reply.image is None else {
            "src": "data:image/png;base64," + base64.b64encode(reply.image.png).decode("ascii"),
            "alt": reply.image.alt,
        },
        "form": form,
    }


def add_webchat_routes(
    app: web.Application, backend: WebChatBackend, *, clock_control: bool = True, token: str | None = None,
    zone: str = ZONE, quiet_until: Callable[[datetime], datetime | None] | None = None, words: Words,
) -> None:
    """Mount the page (``/``), its assets (``/static/``) and the ``/chat/api/`` routes; with ``token``,
    the page and every API call need it (see :class:`_TokenGate`).

    ``zone``: the IANA zone the page shows the clock in (the hospital's); ``quiet_until``: when quiet
    hours holding reminders back end, for an instant inside them (the page says so beside the clock);
    ``words``: the content's words (what the page says to a visitor without the token).
    """
    chat = _WebChat(backend, clock_control, zone, quiet_until)
    gate = _TokenGate(token, words) if token else None

    def guarded(handler: Handler) -> Handler:
        return gate.wrap(handler) if gate else handler

    app.router.add_get("/", gate.page(chat.page) if gate else chat.page)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    app.router.add_get("/chat/api/personas", guarded(chat.personas))
    app.router.add_post("/chat/api/message", guarded(chat.message))
    app.router.add_get("/chat/api/clock", guarded(chat.clock))
    app.router.add_post("/chat/api/clock", guarded(chat.advance))
    app.router.add_get("/chat/api/inbox", guarded(chat.inbox))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_COOKIE = "rounds_chat"


class _TokenGate:
    """The local chat behind a secret: the address printed at start-up carries it (``/?token=…``); the
    page then keeps it in an HttpOnly, same-site cookie that every API call carries. Scripts and API
    clients may send ``Authorization: Bearer <token>`` instead."""

    def __init__(self, token: str, words: Words) -> None:
        self.token = token
        self.words = words

    def allowed(self, request: web.Request) -> bool:
        given = request.cookies.get(TOKEN_COOKIE) or ""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            given = header[len("Bearer "):]
        return hmac.compare_digest(given.encode(), self.token.encode())

    def wrap(self, handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if not self.allowed(request):
                log.warning("web chat: request without the chat token rejected path=%s", request.path)
                raise _error(web.HTTPUnauthorized, "open the local chat with the address printed at start-up")
            return await handler(request)
        return checked

    def page(self, handler: Handler) -> Handler:
        async def page(request: web.Request) -> web.StreamResponse:
            given = request.query.get("token")
            if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
                response = web.HTTPFound("/")  # the token leaves the address bar and the history
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict", path="/")
                raise response
            if not self.allowed(request):
                log.warning("web chat: page requested without the chat token")
                return web.Response(status=401, text=self.words.say("webchat_without_token") + "\n")
            return await handler(request)
        return page


def _error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=json.dumps({"error": message}), content_type="application/json")


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise _error(web.HTTPUnsupportedMediaType, "send the body as application/json")
    try:
        data = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise _error(web.HTTPBadRequest, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _error(web.HTTPBadRequest, "the request body must be a JSON object")
    return data


def _optional_string(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _error(web.HTTPBadRequest, f'"{key}" must be a non-empty string')
    if len(value) > limit:
        raise _error(web.HTTPBadRequest, f'"{key}" is too long (at most {limit} characters)')
    return value


def _form_values(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """``"values"``: a submitted form's ``{field id: text}`` (empty strings allowed)."""
    values = data.get("values")
    if values is None:
        return ()
    if not isinstance(values, dict) or len(values) > MAX_FORM_VALUES:
        raise _error(web.HTTPBadRequest, f'"values" must be an object of at most {MAX_FORM_VALUES} fields')
    for key, value in values.items():
        if not 0 < len(key) <= MAX_FIELD_ID_CHARS or not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
            raise _error(web.HTTPBadRequest, '"values" must map field ids to text')
    return tuple(values.items())


def _utc_iso(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise TypeError("the backend clock must return a timezone-aware instant")
    return instant.astimezone(UTC).isoformat()


class _WebChat:
    """Request handlers bound to one backend."""

    def __init__(self, backend: WebChatBackend, clock_control: bool, zone: str = ZONE,
                 quiet_until: Callable[[datetime], datetime | None] | None = None) -> None:
        self.backend = backend
        self.clock_control = clock_control
        self.zone = zone
        self.quiet_until = quiet_until

    async def _persona(self, persona_id: object) -> Persona:
        if not isinstance(persona_id, str) or not persona_id:
            raise _error(web.HTTPBadRequest, '"persona" is required: a persona id')
        for persona in await self.backend.personas():
            if persona.id == persona_id:
                return persona
        raise _error(
            web.HTTPBadRequest,
            f"unknown persona {persona_id[:80]!r}; GET /chat/api/personas lists them",
        )

    def _clock_json(self, instant: datetime) -> dict[str, Any]:
        clock: dict[str, Any] = {"now": _utc_iso(instant), "zone": self.zone, "control": self.clock_control}
        if self.quiet_until is not None:
            until = self.quiet_until(instant)
            clock["quiet_until"] = _utc_iso(until) if until is not None else None
        return clock

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(
            STATIC_DIR / "index.html",
            headers={
                "Content-Security-Policy": _CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )

    async def personas(self, request: web.Request) -> web.Response:
        people = await self.backend.personas()
        return web.json_response({"personas": [p.to_json() for p in people]})

    async def message(self, request: web.Request) -> web.Response:
        data = await _json_object(request)
        persona = await self._persona(data.get("persona"))
        text = _optional_string(data, "text", MAX_TEXT_CHARS)
        action = _optional_string(data, "action", MAX_ACTION_CHARS)
        message_id = _optional_string(data, "message_id", MAX_ACTION_CHARS)
        if (text is None) == (action is None):
            raise _error(web.HTTPBadRequest, 'send exactly one of "text" or "action"')
        values = _form_values(data)
        if values and action is None:
            raise _error(web.HTTPBadRequest, '"values" go with a form\'s "action"')
        incoming = Incoming(
            platform="web",
            user_id=persona.id,
            text=text,
            action=action,
            display_name=persona.name,
            message_id=message_id,
            values=values,
        )
        log.info("web chat: %s from persona %s", f"action {action}" if action else "text", persona.id)
        try:
            replies = await self.backend.handle(incoming)
        except Exception:
            log.exception("web chat: the coach failed for persona %s", persona.id)
            raise _error(
                web.HTTPInternalServerError, "the bot could not answer; the server log has details"
            ) from None
        pressed = message_id if action is not None else None
        rendered = []
        for reply in replies:
            # An in-place update keeps the id of the message it replaces, as Slack and Teams do.
            if pressed is not None and reply.replace_original:
                reply_id, pressed = pressed, None
            else:
                reply_id = f"web-{uuid.uuid4().hex[:16]}"
            rendered.append({**reply_to_json(reply), "message_id": reply_id})
        return web.json_response({"replies": rendered})

    async def clock(self, request: web.Request) -> web.Response:
        return web.json_response(self._clock_json(self.backend.now()))

    async def advance(self, request: web.Request) -> web.Response:
        if not self.clock_control:
            raise _error(web.HTTPForbidden, "the clock cannot be moved on this server")
        data = await _json_object(request)
        advance = data.get("advance")
        if not isinstance(advance, str):
            raise _error(web.HTTPBadRequest, 'send {"advance": "1d"}: one of m, h, d, w after a number')
        try:
            delta = parse_duration(advance)
            instant = await self.backend.advance_clock(delta)
        except ValueError as exc:
            raise _error(web.HTTPBadRequest, str(exc)) from None
        log.info("web chat: simulated clock advanced by %s", advance)
        return web.json_response(self._clock_json(instant))

    async def inbox(self, request: web.Request) -> web.Response:
        persona = await self._persona(request.query.get("persona"))
        after_text = request.query.get("after", "0")
        if _SEQ.fullmatch(after_text) is None:
            raise _error(web.HTTPBadRequest, '"after" must be a whole number, 0 or more')
        delivered = await self.backend.inbox(persona.id, int(after_text))
        return web.json_response(
            {
                "messages": [
                    {"seq": seq, "reply": {**reply_to_json(reply), "message_id": f"inbox-{seq}"}}
                    for seq, reply in delivered
                ]
            }
        )
