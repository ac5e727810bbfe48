"""Microsoft Teams: the Bot Framework adapter, the ``/api/messages`` endpoint and proactive sends.

This is the only module that imports ``botbuilder`` (moving to the Microsoft 365 Agents SDK
touches this file and its tests). It translates Teams activities into
:class:`~bot.messages.Incoming`, hands them to the coach, and sends the replies back as
Adaptive Cards (:mod:`bot.channels.teams_render`). It decides nothing.

- Personal chat: typed commands; card buttons are ``Action.Execute`` invokes answered with the
  refreshed card (in place). ``Action.Submit`` from older clients updates the card with
  ``update_activity``. A card form's submit carries the inputs' values beside the action; they
  reach the coach as ``Incoming.values``.
- Team channels: the bot answers when mentioned. A reply that shows one person's own data
  (``Reply.ephemeral``) goes to that person's personal chat; the channel gets a short note.
- Installation (``conversationUpdate`` / ``installationUpdate``) stores the conversation
  reference; uninstalling deletes it. :class:`TeamsTransport` sends through stored references.

Logs carry activity types and ids, never message text.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity, ActivityTypes, ChannelAccount, ConversationAccount, ConversationParameters, ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.channels.teams_render import (
    invoke_card_response, invoke_error_response, invoke_message_response, message_payload,
)
from bot.config import ConfigError
from bot.delivery.transport import Envelope, SendResult
from bot.messages import Incoming, Reply
from bot.runtime import Runtime

log = logging.getLogger(__name__)

PLATFORM = "teams"
ROUTE = "/api/messages"
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}
MAX_ACTION_CHARS = 500
MAX_FORM_VALUES = 40
MAX_VALUE_CHARS = 5000
MAX_BODY_BYTES = 256 * 1024
PRIVATE_NOTE = "{name}, I've sent my answer to you in our personal chat."
APOLOGY = "Sorry, something went wrong on my side. Please try again in a minute."

_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_LEADING_AT = re.compile(r"^\s*<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<(?!/?at\b)[^>]+>", re.IGNORECASE)


# -- settings --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TeamsSettings:
    """What the environment says about Teams (see DESIGN.md, run-time interface)."""

    app_id: str = ""
    app_password: str = ""
    tenant_id: str = ""
    app_type: str = "MultiTenant"
    anonymous: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.app_id) or self.anonymous

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "TeamsSettings":
        """Read and check the ``MICROSOFT_APP_*`` variables; raises ConfigError on a bad combination."""
        env = os.environ if environ is None else environ
        app_id = env.get("MICROSOFT_APP_ID", "").strip()
        anonymous = env.get("ROUNDS_TEAMS_ANONYMOUS", "").strip() == "1"
        if app_id and anonymous:
            raise ConfigError("ROUNDS_TEAMS_ANONYMOUS=1 is refused while MICROSOFT_APP_ID is set: anonymous mode "
                              "is for local testing only; unset one of the two")
        raw_type = env.get("MICROSOFT_APP_TYPE", "").strip() or "MultiTenant"
        app_type = APP_TYPES.get(raw_type.lower())
        if app_type is None:
            raise ConfigError(f"MICROSOFT_APP_TYPE={raw_type!r} is not one of MultiTenant, SingleTenant, "
                              "UserAssignedMSI")
        settings = cls(app_id, env.get("MICROSOFT_APP_PASSWORD", ""), env.get("MICROSOFT_APP_TENANT_ID", "").strip(),
                       app_type, anonymous)
        if app_id:
            settings._check_credentials()
        return settings

    def _check_credentials(self) -> None:
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and not self.tenant_id:
            raise ConfigError(f"MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE={self.app_type}")
        if self.app_type != "UserAssignedMSI" and not self.app_password:
            raise ConfigError(f"MICROSOFT_APP_PASSWORD is required when MICROSOFT_APP_TYPE={self.app_type}")


class _SdkConfiguration:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads."""

    def __init__(self, settings: TeamsSettings) -> None:
        self.APP_ID = settings.app_id or None
        self.APP_PASSWORD = settings.app_password or None
        self.APP_TENANTID = settings.tenant_id or None
        self.APP_TYPE = settings.app_type


def build_adapter(settings: TeamsSettings) -> CloudAdapter:
    """A CloudAdapter that validates Teams' JWTs; with no app id, authentication is disabled."""
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(_SdkConfiguration(settings)))


# -- activity helpers (pure) ------------------------------------------------------------------------------
def clean_text(text: str, bot_mentions: list[str]) -> str:
    """Message text without the bot's @mention and Teams' HTML, whitespace collapsed."""
    for mention in bot_mentions:
        if mention:
            text = text.replace(mention, " ")
    text = _HTML_TAG.sub(" ", text)
    text = _LEADING_AT.sub(" ", text)
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    return " ".join(html.unescape(text).replace("\xa0", " ").split())


def _mentions(activity: Activity) -> list[dict[str, Any]]:
    found = []
    for entity in activity.entities or []:
        if (entity.type or "").lower() == "mention":
            found.append(getattr(entity, "additional_properties", None) or {})
    return found


def _bot_mentions(activity: Activity) -> list[str]:
    bot_id = activity.recipient.id if activity.recipient else None
    return [m.get("text") or "" for m in _mentions(activity) if (m.get("mentioned") or {}).get("id") == bot_id]


def _channel_data(activity: Activity) -> dict[str, Any]:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def _is_personal(activity: Activity) -> bool:
    conversation = activity.conversation
    return conversation is None or (conversation.conversation_type or "personal") == "personal"


def _tenant(activity: Activity) -> str | None:
    tenant = (_channel_data(activity).get("tenant") or {}).get("id")
    conversation = activity.conversation
    if not tenant and conversation is not None:
        tenant = conversation.tenant_id or (getattr(conversation, "additional_properties", None) or {}).get("tenantId")
    return tenant or None


def user_address(activity: Activity) -> str:
    """A person's Teams identity and the key of their personal-chat reference: the AAD object id
    (lowercase, as a roster import stores it), else the Teams user id (``29:…``)."""
    user = activity.from_property
    if user is None:
        return ""
    return user.aad_object_id.lower() if user.aad_object_id else (user.id or "")


def channel_address(activity: Activity) -> str:
    """A channel's conversation id without the ``;messageid=`` of the thread."""
    channel = _channel_data(activity).get("channel") or {}
    conversation_id = activity.conversation.id if activity.conversation else ""
    return channel.get("id") or conversation_id.split(";", 1)[0]


def submitted_action(value: Any) -> str | None:
    """The coach action in an ``Action.Submit``/``Action.Execute`` data object, if well-formed."""
    action = value.get("action") if isinstance(value, dict) else None
    if isinstance(action, str) and 0 < len(action) <= MAX_ACTION_CHARS:
        return action
    return None


def submitted_values(value: Any) -> tuple[tuple[str, str], ...]:
    """The form inputs in a submit's data object: every string beside ``action`` (within limits)."""
    if not isinstance(value, dict):
        return ()
    found = tuple((key, text) for key, text in value.items()
                  if key != "action" and isinstance(key, str) and 0 < len(key) <= 64
                  and isinstance(text, str) and len(text) <= MAX_VALUE_CHARS)
    return found[:MAX_FORM_VALUES]


def card_activity(reply: Reply) -> Activity:
    return Activity().deserialize(message_payload(reply))


def _reference_json(reference: ConversationReference) -> str:
    return json.dumps(reference.serialize(), separators=(",", ":"))


# -- the bot ------------------------------------------------------------------------------------------------
class TeamsBot(ActivityHandler):
    """Activities → Incoming → coach → cards."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # messages
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        action = submitted_action(activity.value)
        personal = _is_personal(activity)
        mentions = _bot_mentions(activity)
        if not personal and action is None and not mentions:
            return
        text = None if action else clean_text(activity.text or "", mentions)
        incoming = await self._incoming(turn_context, text=text, action=action,
                                        message_id=activity.reply_to_id if action else None,
                                        values=submitted_values(activity.value) if action else ())
        replies = await self.runtime.coach.handle(incoming)
        await self._remember(turn_context)
        if personal:
            await self._post(turn_context, replies, pressed=incoming.message_id)
        else:
            await self._post_shared(turn_context, replies, pressed=incoming.message_id)

    # Action.Execute
    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            log.info("teams invoke not handled name=%s conversation=%s", activity.name, _conversation_id(activity))
            return InvokeResponse(status=501)
        invoke = activity.value if isinstance(activity.value, dict) else {}
        card_action = invoke.get("action") if isinstance(invoke.get("action"), dict) else {}
        if card_action.get("type") != "Action.Execute":
            return InvokeResponse(status=200, body=invoke_error_response(
                400, "NotSupported", "Only Action.Execute is supported."))
        action = submitted_action(card_action.get("data"))
        if action is None:
            return InvokeResponse(status=200, body=invoke_error_response(
                400, "BadRequest", "The button carries no action."))
        incoming = await self._incoming(turn_context, action=action, message_id=activity.reply_to_id,
                                        values=submitted_values(card_action.get("data")))
        replies = await self.runtime.coach.handle(incoming)
        await self._remember(turn_context)
        personal = _is_personal(activity)
        if not personal:
            private = [r for r in replies if r.ephemeral]
            if private:
                await self._send_privately(turn_context, private)
            replies = [r for r in replies if not r.ephemeral]
            if not replies:
                return InvokeResponse(status=200, body=invoke_message_response(
                    PRIVATE_NOTE.format(name=_display_name(activity))))
        replacement = next((r for r in replies if r.replace_original), None)
        for reply in replies:
            if reply is not replacement:
                await turn_context.send_activity(card_activity(reply))
        if replacement is not None:
            return InvokeResponse(status=200, body=invoke_card_response(replacement))
        return InvokeResponse(status=200, body=invoke_message_response(replies[0].text if replies else "Done."))

    # installation
    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(m.id == bot_id for m in activity.members_removed or []):
            await self._forget(turn_context)
            return
        if not any(m.id == bot_id for m in activity.members_added or []):
            return
        log.info("teams bot added conversation=%s personal=%s", _conversation_id(activity), _is_personal(activity))
        if _is_personal(activity):
            incoming = await self._incoming(turn_context, text="help")
            replies = await self.runtime.coach.handle(incoming)
            await self._remember(turn_context)
            for reply in replies:
                await turn_context.send_activity(card_activity(reply))
        else:
            await self._remember(turn_context)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        log.info("teams installation action=%s conversation=%s", activity.action, _conversation_id(activity))
        if activity.action in ("add", "add-upgrade"):
            await self._remember(turn_context, lookup=True)
        elif activity.action == "remove":
            await self._forget(turn_context)

    # -- identity and references ------------------------------------------------------------------------
    async def _incoming(self, turn_context: TurnContext, *, text: str | None = None, action: str | None = None,
                        message_id: str | None = None, values: tuple[tuple[str, str], ...] = ()) -> Incoming:
        activity = turn_context.activity
        user = activity.from_property or ChannelAccount()
        user_id = await self._known_user_id(activity)
        email = None
        if await self.runtime.store.person_by_identity(PLATFORM, user_id) is None:
            email = await _member_email(turn_context)
        log.info("teams turn type=%s conversation=%s user=%s", activity.type, _conversation_id(activity), user_id)
        return Incoming(platform=PLATFORM, user_id=user_id, text=text, action=action, email=email,
                        display_name=user.name, timezone=activity.local_timezone,
                        conversation_id=_conversation_id(activity), message_id=message_id, values=values)

    async def _known_user_id(self, activity: Activity) -> str:
        """The AAD object id, unless the roster linked this person by their ``29:…`` Teams id instead."""
        user_id = user_address(activity)
        teams_id = activity.from_property.id if activity.from_property else None
        store = self.runtime.store
        if teams_id and teams_id != user_id and await store.person_by_identity(PLATFORM, user_id) is None \
                and await store.person_by_identity(PLATFORM, teams_id) is not None:
            return teams_id
        return user_id

    async def _person_id(self, turn_context: TurnContext, lookup: bool) -> int | None:
        store = self.runtime.store
        person = await store.person_by_identity(PLATFORM, await self._known_user_id(turn_context.activity))
        if person is None and lookup:
            email = await _member_email(turn_context)
            person = await store.person_by_email(email) if email else None
        return person.id if person is not None and person.active else None

    async def _remember(self, turn_context: TurnContext, lookup: bool = False) -> None:
        """Store this conversation's reference: per person in personal chat, per channel in a team."""
        activity = turn_context.activity
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        tenant = _tenant(activity)
        now = self.runtime.clock.now()
        if _is_personal(activity):
            reference.conversation.tenant_id = tenant
            address = user_address(activity)
            person_id = await self._person_id(turn_context, lookup)
        else:
            address = channel_address(activity)
            reference.conversation = ConversationAccount(
                id=address, is_group=True, tenant_id=tenant,
                conversation_type=activity.conversation.conversation_type if activity.conversation else None)
            reference.user = None
            person_id = None
        if address:
            await self.runtime.store.save_conversation_ref(PLATFORM, address, _reference_json(reference),
                                                           person_id, now)

    async def _forget(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        address = user_address(activity) if _is_personal(activity) else channel_address(activity)
        removed = await self.runtime.store.delete_conversation_ref(PLATFORM, address)
        log.info("teams reference removed conversation=%s existed=%s", _conversation_id(activity), removed)

    # -- sending ------------------------------------------------------------------------------------------
    async def _post(self, turn_context: TurnContext, replies: list[Reply], pressed: str | None) -> None:
        """Send replies; the first ``replace_original`` one updates the pressed card instead."""
        replaced = False
        for reply in replies:
            activity = card_activity(reply)
            if reply.replace_original and pressed and not replaced:
                activity.id = pressed
                await turn_context.update_activity(activity)
                replaced = True
            else:
                await turn_context.send_activity(activity)

    async def _post_shared(self, turn_context: TurnContext, replies: list[Reply], pressed: str | None) -> None:
        """In a channel or group chat: personal replies go to a personal chat, the rest stay here."""
        private = [r for r in replies if r.ephemeral]
        if private:
            await self._send_privately(turn_context, private)
            await turn_context.send_activity(Activity(
                type=ActivityTypes.message, text=PRIVATE_NOTE.format(name=_display_name(turn_context.activity))))
        await self._post(turn_context, [r for r in replies if not r.ephemeral], pressed)

    async def _send_privately(self, turn_context: TurnContext, replies: list[Reply]) -> None:
        """Open (or reuse) the personal chat with the sender and deliver the replies there."""
        activity = turn_context.activity
        connector = turn_context.turn_state[turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY]
        tenant = _tenant(activity)
        user = ChannelAccount(id=activity.from_property.id, name=activity.from_property.name,
                              aad_object_id=activity.from_property.aad_object_id)
        created = await connector.conversations.create_conversation(ConversationParameters(
            is_group=False, bot=activity.recipient, members=[user], tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None))
        conversation = ConversationAccount(id=created.id, conversation_type="personal", tenant_id=tenant)
        for reply in replies:
            message = card_activity(reply)
            message.conversation, message.from_property, message.recipient = conversation, activity.recipient, user
            message.channel_id, message.service_url = activity.channel_id, activity.service_url
            await connector.conversations.send_to_conversation(created.id, message)
        reference = ConversationReference(bot=activity.recipient, user=user, conversation=conversation,
                                          channel_id=activity.channel_id, service_url=activity.service_url)
        person_id = await self._person_id(turn_context, lookup=False)
        await self.runtime.store.save_conversation_ref(PLATFORM, user_address(activity), _reference_json(reference),
                                                       person_id, self.runtime.clock.now())


def _conversation_id(activity: Activity) -> str:
    return activity.conversation.id if activity.conversation else ""


def _display_name(activity: Activity) -> str:
    name = (activity.from_property.name if activity.from_property else "") or ""
    return " ".join(name.split()) or "Hi"


async def _member_email(turn_context: TurnContext) -> str | None:
    """The sender's email (or UPN) from the Teams roster; None when Teams will not say."""
    user = turn_context.activity.from_property
    if user is None or not user.id:
        return None
    try:
        member = await TeamsInfo.get_member(turn_context, user.id)
    except Exception as exc:  # an unknown member or a connector fault: identity stays unknown
        log.warning("teams member lookup failed user=%s error=%s", user.id, type(exc).__name__)
        return None
    return member.email or member.user_principal_name or None


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Log the failure by type and place (never its message), apologise to the user."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    activity = turn_context.activity
    log.error("teams turn failed type=%s conversation=%s error=%s at %s", activity.type,
              _conversation_id(activity), type(error).__name__, where)
    try:
        if activity.type == ActivityTypes.invoke:
            await turn_context.send_activity(Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(
                status=200, body=invoke_error_response(500, "InternalError", APOLOGY))))
        elif activity.type == ActivityTypes.message:
            await turn_context.send_activity(Activity(type=ActivityTypes.message, text=APOLOGY))
    except Exception as exc:  # the apology itself failed; nothing more to do
        log.warning("teams apology failed conversation=%s error=%s", _conversation_id(activity), type(exc).__name__)


# -- HTTP endpoint --------------------------------------------------------------------------------------
class TeamsEndpoint:
    """``POST /api/messages``: authenticate, run the turn, answer with the invoke response ourselves.

    ``CloudAdapter.process`` answers 500 to invokes whose response has a body, so this handler
    calls ``process_activity`` and writes the status and body itself.
    """

    def __init__(self, adapter: CloudAdapter, bot: TeamsBot) -> None:
        self.adapter = adapter
        self.bot = bot

    async def handle(self, request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "send the activity as application/json"}, status=415)
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"error": "activity too large"}, status=413)
        try:
            body = json.loads(await request.text())
            activity = Activity().deserialize(body) if isinstance(body, dict) else None
        except (ValueError, UnicodeDecodeError, TypeError, AttributeError):
            activity = None
        if activity is None or not activity.type:
            return web.json_response({"error": "the body is not a Bot Framework activity"}, status=400)
        auth_header = request.headers.get("Authorization", "")
        try:
            authenticated = await self.adapter.bot_framework_authentication.authenticate_request(activity, auth_header)
        except Exception as exc:  # PermissionError, malformed or foreign JWT: all mean "not authenticated"
            log.warning("teams request rejected type=%s channel=%s reason=%s", activity.type, activity.channel_id,
                        type(exc).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            invoke_response = await self.adapter.process_activity(authenticated, activity, self.bot.on_turn)
        except Exception as exc:  # a failure after authentication; on_turn_error has logged the turn
            log.error("teams activity failed type=%s conversation=%s error=%s", activity.type,
                      _conversation_id(activity), type(exc).__name__)
            return web.json_response({"error": "internal error"}, status=500)
        if invoke_response is None:
            return web.Response(status=200)
        if invoke_response.body is None:
            return web.Response(status=invoke_response.status)
        return web.json_response(invoke_response.body, status=invoke_response.status)


def mount_teams(app: web.Application, runtime: Runtime) -> str | None:
    """Mount ``POST /api/messages`` when Teams is configured; a one-line description, or None.

    Raises ConfigError (exit code 2) for contradictory or incomplete settings.
    """
    settings = TeamsSettings.from_env()
    if not settings.enabled:
        log.debug("Teams: not mounted (MICROSOFT_APP_ID is not set; ROUNDS_TEAMS_ANONYMOUS=1 mounts it "
                 "without authentication for local testing)")
        return None
    adapter = build_adapter(settings)
    adapter.on_turn_error = _on_turn_error
    endpoint = TeamsEndpoint(adapter, TeamsBot(runtime))
    app.router.add_post(ROUTE, endpoint.handle)
    if settings.anonymous:
        log.warning("!!! Teams: %s is mounted WITHOUT AUTHENTICATION (ROUNDS_TEAMS_ANONYMOUS=1). Anyone who can "
                    "reach this port can act as any user. Use it only for local testing. !!!", ROUTE)
        return f"Teams: {ROUTE} without authentication (ROUNDS_TEAMS_ANONYMOUS=1, local testing only)"
    return f"Teams: {ROUTE} for app {settings.app_id} ({settings.app_type})"


# -- proactive sends ------------------------------------------------------------------------------------
class TeamsTransport:
    """One delivery attempt through a stored conversation reference (the sender retries and paces)."""

    platform = PLATFORM

    def __init__(self, adapter: CloudAdapter, runtime: Runtime, app_id: str) -> None:
        self.adapter = adapter
        self.runtime = runtime
        self.app_id = app_id

    def pace_key(self, envelope: Envelope) -> str:
        return f"{PLATFORM}:{envelope.address}"

    async def send(self, envelope: Envelope) -> SendResult:
        stored = await self.runtime.store.conversation_ref(PLATFORM, envelope.address)
        if stored is None:
            return SendResult("failed", error="no conversation reference (app not installed for this address)")
        try:
            reference = ConversationReference().deserialize(json.loads(stored))
        except (ValueError, TypeError, AttributeError):
            return SendResult("failed", error="stored conversation reference is unreadable")
        if reference.conversation is None or not reference.conversation.id or not reference.service_url:
            return SendResult("failed", error="stored conversation reference is incomplete")
        sent: list[str | None] = []
        try:
            await self.adapter.continue_conversation(reference, _deliver(reference, envelope.reply, sent),
                                                     bot_app_id=self.app_id or None)
        except HttpOperationError as exc:
            result = _http_failure(exc)
        except (ClientRequestError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            result = SendResult("retry", error=f"network error ({type(exc).__name__})")
        except Exception as exc:  # credentials or SDK faults: worth another attempt later, never a crash
            result = SendResult("retry", error=f"send failed ({type(exc).__name__})")
        else:
            result = SendResult("sent", message_id=sent[0] if sent else None)
        log.info("teams send outbox=%s address=%s status=%s %s", envelope.outbox_id, envelope.address,
                 result.status, result.error)
        return result


def _deliver(reference: ConversationReference, reply: Reply,
             sent: list[str | None]) -> Callable[[TurnContext], Awaitable[None]]:
    async def callback(turn_context: TurnContext) -> None:
        connector = turn_context.turn_state[turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY]
        connector.config.retry_policy.retries = 0  # exactly one attempt; the sender owns retries
        activity = card_activity(reply)
        activity.conversation, activity.from_property = reference.conversation, reference.bot
        activity.recipient, activity.channel_id = reference.user, reference.channel_id
        activity.service_url = reference.service_url
        response = await connector.conversations.send_to_conversation(reference.conversation.id, activity)
        sent.append(response.id if response is not None else None)
    return callback


def _http_failure(exc: HttpOperationError) -> SendResult:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", 0) or 0
    headers = getattr(response, "headers", None) or {}
    if status == 429:
        return SendResult("retry", retry_after=retry_after_seconds(headers.get("Retry-After")),
                          error="429 rate limited")
    if status in (408, 412) or status >= 500:
        return SendResult("retry", retry_after=retry_after_seconds(headers.get("Retry-After")),
                          error=f"{status} Bot Connector error")
    reasons = {401: "401 bot credentials rejected", 403: "403 bot not installed or blocked by the user",
               404: "404 conversation not found", 413: "413 message too large"}
    return SendResult("failed", error=reasons.get(status, f"{status} rejected by the Bot Connector"))


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def teams_transport(runtime: Runtime) -> TeamsTransport | None:
    """The Teams transport for the sender, or None when Teams is not configured."""
    settings = TeamsSettings.from_env()
    if not settings.enabled:
        return None
    return TeamsTransport(build_adapter(settings), runtime, settings.app_id)
