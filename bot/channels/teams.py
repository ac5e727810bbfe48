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
  reference; uninstalling deletes it and parks the outbox messages for that chat or channel with
  the reason (nothing more is sent there), and installing again resumes them.
- Every other activity type (reactions, typing, events, end of conversation, message edits …) is
  answered 200 with one DEBUG line naming it; invokes the app does not declare keep the SDK's 501.
  Card presses of any release are answered (:mod:`bot.actions`). Every turn refreshes it, but writes only when it (or the
  physician it belongs to) changed since this process last wrote it. :class:`TeamsTransport`
  sends through stored references.
- The Bot Connector clients botbuilder builds for each activity are kept and reused
  (:class:`ReusingAuthentication`).

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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity, ActivityTypes, ChannelAccount, ConversationAccount, ConversationParameters, ConversationReference,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult, AuthenticationConstants, ClaimsIdentity, ConnectorFactory, UserTokenClient,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.channels.http_guard import Rejected, json_object, log_rejected, read_body, utf8
from bot.channels.teams_render import (
    invoke_card_response, invoke_error_response, invoke_message_response, message_payload,
)
from bot.actions import FOREIGN
from bot.config import ConfigError
from bot.delivery.transport import Envelope, SendResult, retry_after_seconds
from bot.messages import Incoming, Reply
from bot.runtime import Runtime
from bot.store import Person

log = logging.getLogger(__name__)

PLATFORM = "teams"
ROUTE = "/api/messages"
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}
MAX_ACTION_CHARS = 500
MAX_FORM_VALUES = 40
MAX_VALUE_CHARS = 5000
MAX_BODY_BYTES = 256 * 1024
MAX_CONNECTORS = 64
CONNECTOR_TIMEOUT_SECONDS = 5
"""Each call to the Bot Connector (a reply, a member lookup, a proactive send) gives up after this."""
TURN_DEADLINE_SECONDS = 12
"""An activity is answered within this, whatever its outbound calls do (Teams waits about 15 s)."""
"""Bot Connector clients kept per adapter (one per app id, service URL and audience; Teams uses a few)."""
MAX_REMEMBERED_REFERENCES = 20_000
"""Conversation references whose last write this process remembers (a hash and a person id each)."""
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


class ReusingAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication, keeping the clients it builds for outbound calls.

    ``CloudAdapter`` asks for a new Bot Connector client and a new user-token client for every
    activity and every proactive send. Building one costs ~6 ms of CPU (msrest's retry policy
    builds its status list with a quadratic scan: 70% of the server's CPU under Teams load) and a
    new HTTP session, so no connection to the Bot Connector is ever reused. A client holds
    nothing of one activity: app id, service URL, audience and credentials (which renew their
    own token). So one is kept per (app id, service URL, audience), as botbuilder's older
    ``BotFrameworkAdapter`` did, and closed at shutdown (:meth:`close`).
    """

    def __init__(self, settings: TeamsSettings) -> None:
        super().__init__(_SdkConfiguration(settings))
        self._connectors: dict[tuple[str | None, str, str | None], ConnectorClient] = {}
        self._user_tokens: dict[str | None, UserTokenClient] = {}

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _ReusingConnectorFactory(self, result.connector_factory,
                                                                _app_id(result.claims_identity))
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _ReusingConnectorFactory(self, super().create_connector_factory(claims_identity),
                                        _app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = _app_id(claims_identity)
        client = self._user_tokens.get(app_id)
        if client is None:
            client = await super().create_user_token_client(claims_identity)
            client = self._user_tokens.setdefault(app_id, client)
        return client

    async def connector(self, factory: ConnectorFactory, app_id: str | None, service_url: str,
                        audience: str | None) -> ConnectorClient:
        key = (app_id, service_url, audience)
        client = self._connectors.get(key)
        if client is None:
            client = await factory.create(service_url, audience)
            client.config.connection.timeout = CONNECTOR_TIMEOUT_SECONDS
            if len(self._connectors) < MAX_CONNECTORS:  # beyond that (never in Teams), one per call as before
                client = self._connectors.setdefault(key, client)
        return client

    async def close(self) -> None:
        connectors, self._connectors = list(self._connectors.values()), {}
        self._user_tokens = {}
        for client in connectors:
            try:
                await client.__aexit__(None, None, None)  # closes its HTTP session
            except Exception as exc:  # closing at shutdown is best effort
                log.warning("teams connector close failed error=%s", type(exc).__name__)


class _ReusingConnectorFactory(ConnectorFactory):
    def __init__(self, owner: ReusingAuthentication, inner: ConnectorFactory, app_id: str | None) -> None:
        self._owner = owner
        self._inner = inner
        self._app_id = app_id

    async def create(self, service_url: str, audience: str = None) -> ConnectorClient:  # type: ignore[assignment]
        return await self._owner.connector(self._inner, self._app_id, service_url, audience)


def _app_id(claims_identity: ClaimsIdentity) -> str | None:
    """The bot's app id in the claims, as botbuilder reads it (audience, else app id claim)."""
    return (claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
            or claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM))


def build_adapter(settings: TeamsSettings) -> CloudAdapter:
    """A CloudAdapter that validates Teams' JWTs; with no app id, authentication is disabled."""
    return CloudAdapter(ReusingAuthentication(settings))


async def close_adapter(adapter: CloudAdapter) -> None:
    """Close the Bot Connector clients the adapter kept."""
    authentication = adapter.bot_framework_authentication
    if isinstance(authentication, ReusingAuthentication):
        await authentication.close()


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


def submitted_version(value: Any) -> int:
    """The action-grammar version a pressed card was drawn with (1: before cards carried it)."""
    version = value.get("version", 1) if isinstance(value, dict) else FOREIGN
    return version if isinstance(version, int) and not isinstance(version, bool) else FOREIGN


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


class _WrittenReferences:
    """What this process last wrote for each conversation reference: (hash of the JSON, person id).

    A turn writes the reference only when it differs, so a physician's every message does not
    rewrite (and mark for planning) an unchanged row. It is only ever a record of this process's
    own writes and deletes: the first turn of each address after a start writes, and installation
    events always write (an uninstall handled by another instance deleted the row).
    """

    def __init__(self, limit: int = MAX_REMEMBERED_REFERENCES) -> None:
        self.limit = limit
        self._written: OrderedDict[str, tuple[int, int | None]] = OrderedDict()

    def unchanged(self, address: str, reference: str, person_id: int | None) -> bool:
        if self._written.get(address) != (hash(reference), person_id):
            return False
        self._written.move_to_end(address)
        return True

    def wrote(self, address: str, reference: str, person_id: int | None) -> None:
        self._written[address] = (hash(reference), person_id)
        self._written.move_to_end(address)
        while len(self._written) > self.limit:
            self._written.popitem(last=False)

    def forget(self, address: str) -> None:
        self._written.pop(address, None)


_PERSON = "social_rounds.person"
"""turn_state key: the physician the turn's sender was linked to before the coach ran (or None)."""


# -- the bot ------------------------------------------------------------------------------------------------
class TeamsBot(ActivityHandler):
    """Activities → Incoming → coach → cards."""

    HANDLED = frozenset({ActivityTypes.message, ActivityTypes.invoke, ActivityTypes.conversation_update,
                         ActivityTypes.installation_update})

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._written = _WrittenReferences()

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.type not in self.HANDLED:
            log.debug("teams ignored type=%s name=%s conversation=%s", activity.type, activity.name or "-",
                      _conversation_id(activity))
            return
        await super().on_turn(turn_context)

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
                                        values=submitted_values(activity.value) if action else (),
                                        version=submitted_version(activity.value) if action else None)
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
                                        values=submitted_values(card_action.get("data")),
                                        version=submitted_version(card_action.get("data")))
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
            await self._forget(turn_context, "the bot was removed from this conversation")
            return
        if not any(m.id == bot_id for m in activity.members_added or []):
            log.debug("teams ignored type=conversationUpdate event=%s conversation=%s",
                      _channel_data(activity).get("eventType") or "members", _conversation_id(activity))
            return
        log.info("teams bot added conversation=%s personal=%s", _conversation_id(activity), _is_personal(activity))
        if _is_personal(activity):
            incoming = await self._incoming(turn_context, text="help")
            replies = await self.runtime.coach.handle(incoming)
            await self._remember(turn_context, always=True)
            for reply in replies:
                await turn_context.send_activity(card_activity(reply))
        else:
            await self._remember(turn_context, always=True)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        log.info("teams installation action=%s conversation=%s", activity.action, _conversation_id(activity))
        if activity.action in ("add", "add-upgrade"):
            await self._remember(turn_context, lookup=True, always=True)
        elif activity.action == "remove":
            await self._forget(turn_context, "the Teams app was uninstalled here")
        else:
            log.debug("teams ignored type=installationUpdate action=%s", activity.action)

    # -- identity and references ------------------------------------------------------------------------
    async def _incoming(self, turn_context: TurnContext, *, text: str | None = None, action: str | None = None,
                        message_id: str | None = None, values: tuple[tuple[str, str], ...] = (),
                        version: int | None = None) -> Incoming:
        activity = turn_context.activity
        user = activity.from_property or ChannelAccount()
        user_id, person = await self._sender(activity)
        turn_context.turn_state[_PERSON] = person
        email = await _member_email(turn_context) if person is None else None
        log.info("teams turn type=%s conversation=%s user=%s", activity.type, _conversation_id(activity), user_id)
        return Incoming(platform=PLATFORM, user_id=user_id, text=text, action=action, email=email,
                        display_name=user.name, timezone=activity.local_timezone,
                        conversation_id=_conversation_id(activity), message_id=message_id, values=values,
                        action_version=version)

    async def _sender(self, activity: Activity) -> tuple[str, Person | None]:
        """The sender's identity and the physician linked to it: the AAD object id, unless the roster
        linked this person by their ``29:…`` Teams id instead."""
        user_id = user_address(activity)
        store = self.runtime.store
        person = await store.person_by_identity(PLATFORM, user_id)
        teams_id = activity.from_property.id if activity.from_property else None
        if person is None and teams_id and teams_id != user_id:
            linked = await store.person_by_identity(PLATFORM, teams_id)
            if linked is not None:
                return teams_id, linked
        return user_id, person

    async def _person_id(self, turn_context: TurnContext, lookup: bool) -> int | None:
        person = turn_context.turn_state.get(_PERSON)
        if person is None:  # unknown before the turn: the coach may have linked them by email just now
            _, person = await self._sender(turn_context.activity)
        if person is None and lookup:
            email = await _member_email(turn_context)
            person = await self.runtime.store.person_by_email(email) if email else None
        return person.id if person is not None and person.active else None

    async def _save_reference(self, address: str, reference: ConversationReference, person_id: int | None,
                              *, always: bool = False) -> None:
        stored = _reference_json(reference)
        if not always and self._written.unchanged(address, stored, person_id):
            return
        await self.runtime.store.save_conversation_ref(PLATFORM, address, stored, person_id, self.runtime.clock.now())
        self._written.wrote(address, stored, person_id)

    async def _remember(self, turn_context: TurnContext, lookup: bool = False, *, always: bool = False) -> None:
        """Store this conversation's reference: per person in personal chat, per channel in a team
        (``always``: even when this process wrote the same one before)."""
        activity = turn_context.activity
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        tenant = _tenant(activity)
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
            await self._save_reference(address, reference, person_id, always=always)
            if always:  # installed (again): what was parked when it was removed goes out now
                resumed = await self.runtime.store.outbox.resume(PLATFORM, address, self.runtime.clock.now())
                if resumed:
                    log.info("teams installed again conversation=%s: %s parked messages resumed",
                             _conversation_id(activity), resumed)

    async def _forget(self, turn_context: TurnContext, reason: str) -> None:
        """Removed from a chat or team: forget its reference and park its unsent messages at once."""
        activity = turn_context.activity
        address = user_address(activity) if _is_personal(activity) else channel_address(activity)
        self._written.forget(address)
        removed = await self.runtime.store.delete_conversation_ref(PLATFORM, address)
        parked = await self.runtime.store.outbox.park(PLATFORM, address, reason, self.runtime.clock.now())
        log.info("teams reference removed conversation=%s existed=%s parked=%s", _conversation_id(activity),
                 removed, parked)

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
        await self._save_reference(user_address(activity), reference, person_id)


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


def activity_of(body: dict[str, Any]) -> Activity:
    """A Bot Framework activity with what every turn reads: a type, a conversation id, a sender id and a
    service URL (strings), as Teams always sends; raises :class:`Rejected` (400) otherwise."""
    bad = Rejected(400, "the body is not a Bot Framework activity")
    try:
        activity = Activity().deserialize(body)
    except Exception:  # msrest raises its own DeserializationError and plain TypeErrors on wrong shapes
        raise bad from None
    if not _text(activity.type) or not _text(activity.service_url) or activity.conversation is None \
            or not _text(activity.conversation.id) or activity.from_property is None \
            or not _text(activity.from_property.id) or not isinstance(activity.channel_id, (str, type(None))):
        raise bad
    if not activity.service_url.startswith(("https://", "http://")):
        raise bad
    for field in (activity.text, activity.name, activity.action, activity.locale, activity.conversation.tenant_id,
                  activity.conversation.conversation_type, activity.local_timezone):
        if field is not None and not isinstance(field, str):
            raise bad
    data = activity.channel_data
    if data is not None and (not isinstance(data, dict) or not all(
            isinstance(data.get(key), (dict, type(None))) and isinstance((data.get(key) or {}).get("id"), (str, type(None)))
            for key in ("tenant", "team", "channel"))):
        raise bad
    for mention in _mentions(activity):
        if not isinstance(mention.get("mentioned"), (dict, type(None))) or \
                not isinstance(mention.get("text"), (str, type(None))):
            raise bad
    return activity


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


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
        try:
            activity = activity_of(json_object(utf8(await read_body(request, MAX_BODY_BYTES))))
        except Rejected as rejected:
            log_rejected("teams", request, rejected)
            return rejected.response()
        auth_header = request.headers.get("Authorization", "")
        try:
            authenticated = await self.adapter.bot_framework_authentication.authenticate_request(activity, auth_header)
        except Exception as exc:  # PermissionError, malformed or foreign JWT: all mean "not authenticated"
            log.warning("teams request rejected type=%s channel=%s reason=%s", activity.type, activity.channel_id,
                        type(exc).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            invoke_response = await asyncio.wait_for(
                self.adapter.process_activity(authenticated, activity, self.bot.on_turn), TURN_DEADLINE_SECONDS)
        except asyncio.TimeoutError:  # the Bot Connector did not answer in time; answered so Teams does not resend
            log.warning("teams turn timed out type=%s conversation=%s after=%ss", activity.type,
                        _conversation_id(activity), TURN_DEADLINE_SECONDS)
            return web.Response(status=200)
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

    async def close(_: web.Application) -> None:
        await close_adapter(adapter)

    app.on_cleanup.append(close)
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

    async def close(self) -> None:
        await close_adapter(self.adapter)

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




def installed_reference(*, app_id: str, user_id: str, chat_id: str, tenant_id: str, service_url: str) -> str:
    """The conversation reference (stored JSON) of a personal chat Graph reported for an app installation.

    Teams sends the bot its own reference when the app is installed; this one lets the bot write
    first without waiting for that (as Company Communicator does): the chat id from Graph, the
    tenant, and a Bot Connector service URL.
    """
    reference = ConversationReference(
        bot=ChannelAccount(id=f"28:{app_id}"),
        user=ChannelAccount(id=user_id, aad_object_id=user_id),
        conversation=ConversationAccount(id=chat_id, conversation_type="personal", tenant_id=tenant_id or None),
        channel_id="msteams", service_url=service_url)
    return _reference_json(reference)


def reference_service_url(stored: str) -> str | None:
    """The Bot Connector address in a stored reference, or None."""
    try:
        return ConversationReference().deserialize(json.loads(stored)).service_url or None
    except (ValueError, TypeError, AttributeError):
        return None


def teams_transport(runtime: Runtime) -> TeamsTransport | None:
    """The Teams transport for the sender, or None when Teams is not configured."""
    settings = TeamsSettings.from_env()
    if not settings.enabled:
        return None
    return TeamsTransport(build_adapter(settings), runtime, settings.app_id)
