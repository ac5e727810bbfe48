"""The Teams bot: activities → :class:`~bot.messages.Incoming` → coach → Adaptive Cards, and the
conversation references it stores on installation and on every turn."""
from __future__ import annotations

import logging
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)

from bot.channels.ports import Answering, Linked, TeamsRecords
from bot.channels.teams.activities import (
    PLATFORM,
    bot_mentions,
    card_activity,
    channel_address,
    channel_data,
    clean_text,
    conversation_id,
    display_name,
    is_personal,
    reference_json,
    submitted_action,
    submitted_values,
    submitted_version,
    tenant_of,
    user_address,
)
from bot.channels.teams.render import (
    invoke_card_response,
    invoke_error_response,
    invoke_message_response,
    message_payload,
)
from bot.channels.teams.replies import TurnConnector
from bot.channels.turns import TurnQueue
from bot.clock import Clock
from bot.core.reasons import TEAMS_APP_UNINSTALLED, TEAMS_BOT_REMOVED
from bot.messages import Incoming, Reply
from bot.words import Words

log = logging.getLogger(__package__)
"""Every module of the Teams channel logs under ``bot.channels.teams``."""

MAX_REMEMBERED_REFERENCES = 20_000
"""Conversation references whose last write this process remembers (a hash and a person id each)."""


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

    def __init__(self, coach: Answering, records: TeamsRecords, clock: Clock, words: Words,
                 connector: TurnConnector,
                 turns: TurnQueue | None = None) -> None:
        self.coach = coach
        self.words = words
        self.records = records
        self.clock = clock
        self.connector = connector
        self.turns = turns or TurnQueue()
        self._written = _WrittenReferences()

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.type not in self.HANDLED:
            log.debug("teams ignored type=%s name=%s conversation=%s", activity.type, activity.name or "-",
                      conversation_id(activity))
            return
        # one person's turns one at a time, in the order they arrived (as on every platform)
        await self.turns.serially(f"{PLATFORM}:{user_address(activity)}", super().on_turn(turn_context))

    # messages
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        action = submitted_action(activity.value)
        personal = is_personal(activity)
        mentions = bot_mentions(activity)
        if not personal and action is None and not mentions:
            return
        text = None if action else clean_text(activity.text or "", mentions)
        incoming = await self._incoming(turn_context, text=text, action=action,
                                        message_id=activity.reply_to_id if action else None,
                                        values=submitted_values(activity.value) if action else (),
                                        version=submitted_version(activity.value) if action else None)
        replies = await self.coach.handle(incoming, turn_context.turn_state.get(_PERSON))
        await self._remember(turn_context)
        if personal:
            await self._post(turn_context, replies, pressed=incoming.message_id)
        else:
            await self._post_shared(turn_context, replies, pressed=incoming.message_id)

    # Action.Execute
    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            log.info("teams invoke not handled name=%s conversation=%s", activity.name, conversation_id(activity))
            return InvokeResponse(status=501)
        invoke: dict[str, Any] = activity.value if isinstance(activity.value, dict) else {}
        found = invoke.get("action")
        card_action: dict[str, Any] = found if isinstance(found, dict) else {}
        if card_action.get("type") != "Action.Execute":
            return InvokeResponse(status=200, body=invoke_error_response(
                400, "NotSupported", self.words.say("teams_only_execute")))
        action = submitted_action(card_action.get("data"))
        if action is None:
            return InvokeResponse(status=200, body=invoke_error_response(
                400, "BadRequest", self.words.say("teams_no_action")))
        incoming = await self._incoming(turn_context, action=action, message_id=activity.reply_to_id,
                                        values=submitted_values(card_action.get("data")),
                                        version=submitted_version(card_action.get("data")))
        replies = await self.coach.handle(incoming, turn_context.turn_state.get(_PERSON))
        await self._remember(turn_context)
        personal = is_personal(activity)
        if not personal:
            private = [r for r in replies if r.ephemeral]
            if private:
                await self._send_privately(turn_context, private)
            replies = [r for r in replies if not r.ephemeral]
            if not replies:
                return InvokeResponse(status=200, body=invoke_message_response(
                    self.words.say("teams_private_note", name=display_name(activity))))
        replacement = next((r for r in replies if r.replace_original), None)
        for reply in replies:
            if reply is not replacement:
                await self.connector.reply(turn_context, message_payload(reply, self.words))
        if replacement is not None:
            return InvokeResponse(status=200, body=invoke_card_response(replacement, self.words))
        return InvokeResponse(status=200, body=invoke_message_response(replies[0].text if replies else
                                                                               self.words.say("teams_done")))

    # installation
    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(m.id == bot_id for m in activity.members_removed or []):
            await self._forget(turn_context, TEAMS_BOT_REMOVED)
            return
        if not any(m.id == bot_id for m in activity.members_added or []):
            log.debug("teams ignored type=conversationUpdate event=%s conversation=%s",
                      channel_data(activity).get("eventType") or "members", conversation_id(activity))
            return
        log.info("teams bot added conversation=%s personal=%s", conversation_id(activity), is_personal(activity))
        if is_personal(activity):
            incoming = await self._incoming(turn_context, text="help")
            replies = await self.coach.handle(incoming, turn_context.turn_state.get(_PERSON))
            await self._remember(turn_context, always=True)
            for reply in replies:
                await self.connector.reply(turn_context, message_payload(reply, self.words))
        else:
            await self._remember(turn_context, always=True)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        log.info("teams installation action=%s conversation=%s", activity.action, conversation_id(activity))
        if activity.action in ("add", "add-upgrade"):
            await self._remember(turn_context, lookup=True, always=True)
        elif activity.action == "remove":
            await self._forget(turn_context, TEAMS_APP_UNINSTALLED)
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
        email = await self._member_email(turn_context) if person is None else None
        log.info("teams turn type=%s conversation=%s user=%s", activity.type, conversation_id(activity), user_id)
        return Incoming(platform=PLATFORM, user_id=user_id, text=text, action=action, email=email,
                        display_name=user.name, timezone=activity.local_timezone,
                        conversation_id=conversation_id(activity), message_id=message_id, values=values,
                        action_version=version)

    async def _sender(self, activity: Activity) -> tuple[str, Linked | None]:
        """The sender's identity and the physician linked to it: the AAD object id, unless the roster
        linked this person by their ``29:…`` Teams id instead."""
        user_id = user_address(activity)
        records = self.records
        person = await records.person_by_identity(PLATFORM, user_id)
        teams_id = activity.from_property.id if activity.from_property else None
        if person is None and teams_id and teams_id != user_id:
            linked = await records.person_by_identity(PLATFORM, teams_id)
            if linked is not None:
                return teams_id, linked
        return user_id, person

    async def _person_id(self, turn_context: TurnContext, lookup: bool) -> int | None:
        person = turn_context.turn_state.get(_PERSON)
        if person is None:  # unknown before the turn: the coach may have linked them by email just now
            _, person = await self._sender(turn_context.activity)
        if person is None and lookup:
            email = await self._member_email(turn_context)
            person = await self.records.person_by_email(email) if email else None
        return person.id if person is not None and person.active else None

    async def _save_reference(self, address: str, reference: ConversationReference, person_id: int | None,
                              *, always: bool = False) -> None:
        stored = reference_json(reference)
        if not always and self._written.unchanged(address, stored, person_id):
            return
        await self.records.save_reference(PLATFORM, address, stored, person_id, self.clock.now())
        self._written.wrote(address, stored, person_id)

    async def _remember(self, turn_context: TurnContext, lookup: bool = False, *, always: bool = False) -> None:
        """Store this conversation's reference: per person in personal chat, per channel in a team
        (``always``: even when this process wrote the same one before)."""
        activity = turn_context.activity
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        tenant = tenant_of(activity)
        if is_personal(activity):
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
                resumed = await self.records.resume(PLATFORM, address, self.clock.now())
                if resumed:
                    log.info("teams installed again conversation=%s: %s parked messages resumed",
                             conversation_id(activity), resumed)

    async def _forget(self, turn_context: TurnContext, reason: str) -> None:
        """Removed from a chat or team: forget its reference and park its unsent messages at once."""
        activity = turn_context.activity
        address = user_address(activity) if is_personal(activity) else channel_address(activity)
        self._written.forget(address)
        removed = await self.records.delete_reference(PLATFORM, address)
        parked = await self.records.park(PLATFORM, address, reason, self.clock.now())
        log.info("teams reference removed conversation=%s existed=%s parked=%s", conversation_id(activity),
                 removed, parked)

    # -- sending ------------------------------------------------------------------------------------------
    async def _post(self, turn_context: TurnContext, replies: list[Reply], pressed: str | None) -> None:
        """Send replies; the first ``replace_original`` one updates the pressed card instead."""
        replaced = False
        for reply in replies:
            if reply.replace_original and pressed and not replaced:
                activity = card_activity(reply, self.words)
                activity.id = pressed
                await turn_context.update_activity(activity)
                replaced = True
            else:
                await self.connector.reply(turn_context, message_payload(reply, self.words))

    async def _post_shared(self, turn_context: TurnContext, replies: list[Reply], pressed: str | None) -> None:
        """In a channel or group chat: personal replies go to a personal chat, the rest stay here."""
        private = [r for r in replies if r.ephemeral]
        if private:
            await self._send_privately(turn_context, private)
            await self.connector.reply(turn_context, {
                "type": "message",
                "text": self.words.say("teams_private_note", name=display_name(turn_context.activity))})
        await self._post(turn_context, [r for r in replies if not r.ephemeral], pressed)

    async def _send_privately(self, turn_context: TurnContext, replies: list[Reply]) -> None:
        """Open (or reuse) the personal chat with the sender and deliver the replies there."""
        activity = turn_context.activity
        connector = turn_context.turn_state[turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY]
        tenant = tenant_of(activity)
        user = ChannelAccount(id=activity.from_property.id, name=activity.from_property.name,
                              aad_object_id=activity.from_property.aad_object_id)
        created = await connector.conversations.create_conversation(ConversationParameters(
            is_group=False, bot=activity.recipient, members=[user], tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None))
        conversation = ConversationAccount(id=created.id, conversation_type="personal", tenant_id=tenant)
        for reply in replies:
            message = card_activity(reply, self.words)
            message.conversation, message.from_property, message.recipient = conversation, activity.recipient, user
            message.channel_id, message.service_url = activity.channel_id, activity.service_url
            await connector.conversations.send_to_conversation(created.id, message)
        reference = ConversationReference(bot=activity.recipient, user=user, conversation=conversation,
                                          channel_id=activity.channel_id, service_url=activity.service_url)
        person_id = await self._person_id(turn_context, lookup=False)
        await self._save_reference(user_address(activity), reference, person_id)

    async def _member_email(self, turn_context: TurnContext) -> str | None:
        """The sender's email (or UPN) from the Teams roster; None when Teams will not say."""
        user = turn_context.activity.from_property
        if user is None or not user.id:
            return None
        try:
            member = await self.connector.member(turn_context, user.id)
        except Exception as exc:  # an unknown member or a connector fault: identity stays unknown
            log.warning("teams member lookup failed user=%s error=%s", user.id, type(exc).__name__)
            return None
        found = member.get("email") or member.get("userPrincipalName")
        return found if isinstance(found, str) and found else None


TurnErrorHandler = Callable[[TurnContext, Exception], Awaitable[None]]


def turn_error_handler(apology: str) -> TurnErrorHandler:
    """What a failed turn does: log the failure by type and place (never its message), and say
    ``apology`` to the user."""

    async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
        await _apologise(turn_context, error, apology)

    return on_turn_error


async def _apologise(turn_context: TurnContext, error: Exception, apology: str) -> None:
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    activity = turn_context.activity
    log.error("teams turn failed type=%s conversation=%s error=%s at %s", activity.type,
              conversation_id(activity), type(error).__name__, where)
    try:
        if activity.type == ActivityTypes.invoke:
            await turn_context.send_activity(Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(
                status=200, body=invoke_error_response(500, "InternalError", apology))))
        elif activity.type == ActivityTypes.message:
            await turn_context.send_activity(Activity(type=ActivityTypes.message, text=apology))
    except Exception as exc:  # the apology itself failed; nothing more to do
        log.warning("teams apology failed conversation=%s error=%s", conversation_id(activity), type(exc).__name__)
