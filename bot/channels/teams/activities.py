"""Teams activities in and out (pure): text without mentions, addresses, submitted card data,
reply cards, stored conversation references, and the checks every incoming activity passes."""
from __future__ import annotations

import html
import json
import re
from typing import Any, Final

from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference

from bot.actions import FOREIGN
from bot.channels.http_guard import Rejected
from bot.channels.teams.render import message_payload
from bot.messages import Reply
from bot.words import Words

PLATFORM: Final = "teams"
MAX_ACTION_CHARS = 500
MAX_FORM_VALUES = 40
MAX_VALUE_CHARS = 5000

_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_LEADING_AT = re.compile(r"^\s*<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<(?!/?at\b)[^>]+>", re.IGNORECASE)


def clean_text(text: str, bot_mentions: list[str]) -> str:
    """Message text without the bot's @mention and Teams' HTML, whitespace collapsed."""
    for mention in bot_mentions:
        if mention:
            text = text.replace(mention, " ")
    text = _HTML_TAG.sub(" ", text)
    text = _LEADING_AT.sub(" ", text)
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    return " ".join(html.unescape(text).replace("\xa0", " ").split())


def mentions(activity: Activity) -> list[dict[str, Any]]:
    found = []
    for entity in activity.entities or []:
        if (entity.type or "").lower() == "mention":
            found.append(getattr(entity, "additional_properties", None) or {})
    return found


def bot_mentions(activity: Activity) -> list[str]:
    bot_id = activity.recipient.id if activity.recipient else None
    return [m.get("text") or "" for m in mentions(activity) if (m.get("mentioned") or {}).get("id") == bot_id]


def channel_data(activity: Activity) -> dict[str, Any]:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def is_personal(activity: Activity) -> bool:
    conversation = activity.conversation
    return conversation is None or (conversation.conversation_type or "personal") == "personal"


def tenant_of(activity: Activity) -> str | None:
    tenant = (channel_data(activity).get("tenant") or {}).get("id")
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
    channel = channel_data(activity).get("channel") or {}
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


def card_activity(reply: Reply, words: Words) -> Activity:
    return Activity().deserialize(message_payload(reply, words))


def model_json(model: ChannelAccount | ConversationAccount | None) -> dict[str, Any] | None:
    """An account's or conversation's Bot Framework JSON, built directly: the keys are msrest's own (its
    attribute map: ``tenantID``, not ``tenantId``), so ``deserialize`` reads every field back."""
    if model is None:
        return None
    found = {spec["key"]: getattr(model, attribute) for attribute, spec in type(model)._attribute_map.items()}
    return {key: value for key, value in found.items() if value is not None}


def reference_json(reference: ConversationReference) -> str:
    """A conversation reference as stored: its Bot Framework JSON (``ConversationReference().deserialize``
    reads it back), built directly rather than through msrest's serialiser on every turn."""
    found = {"activityId": reference.activity_id, "user": model_json(reference.user),
             "bot": model_json(reference.bot), "conversation": model_json(reference.conversation),
             "channelId": reference.channel_id, "locale": reference.locale, "serviceUrl": reference.service_url}
    return json.dumps({key: value for key, value in found.items() if value is not None}, separators=(",", ":"))


def conversation_id(activity: Activity) -> str:
    return activity.conversation.id if activity.conversation else ""


def display_name(activity: Activity) -> str:
    name = (activity.from_property.name if activity.from_property else "") or ""
    return " ".join(name.split()) or "Hi"


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
    for mention in mentions(activity):
        if not isinstance(mention.get("mentioned"), (dict, type(None))) or \
                not isinstance(mention.get("text"), (str, type(None))):
            raise bad
    return activity


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


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
    return reference_json(reference)


def reference_service_url(stored: str) -> str | None:
    """The Bot Connector address in a stored reference, or None."""
    try:
        return ConversationReference().deserialize(json.loads(stored)).service_url or None
    except (ValueError, TypeError, AttributeError):
        return None
