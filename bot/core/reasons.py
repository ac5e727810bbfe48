"""Why a message or a physician cannot be reached, as stored in the database: a short stable code,
``code`` or ``code:detail`` (an id, a status, an exception's class name), never words.

The admins' ``roster`` says a stored reason from ``prompts/words.yaml`` (:func:`said`). A value that
is not a known code (a Slack error code, or English stored by an earlier version) is shown as it is.
``rounds outbox`` says it the same way and shows the code after the words; logs show the code itself.
"""
from __future__ import annotations

from collections.abc import Callable

NO_SLACK_ACCOUNT = "no_slack_account"
SLACK_APP_UNINSTALLED = "slack_app_uninstalled"
"""Detail: the Slack workspace (team) id, when Slack gave it."""
SLACK_TOKEN_REVOKED = "slack_token_revoked"
"""Detail: the Slack workspace (team) id, when Slack gave it."""
SLACK_SERVER_ERROR = "slack_server_error"
"""Detail: the HTTP status."""
CONNECTION_ERROR = "connection_error"
"""Detail: the exception's class name (the request may not have left)."""
NO_ANSWER = "no_answer"
"""Detail: the exception's class name (the request left; no answer came back)."""
TOO_MANY_REQUESTS = "too_many_requests"
"""HTTP 429 from Slack or the Bot Connector."""
TEAMS_BOT_REMOVED = "teams_bot_removed"
TEAMS_APP_UNINSTALLED = "teams_app_uninstalled"
TEAMS_NOT_INSTALLED = "teams_not_installed"
TEAMS_APP_REMOVED = "teams_app_removed"
NO_TEAMS_USER = "no_teams_user"
TEAMS_BLOCKED = "teams_blocked"
TEAMS_CHAT_PENDING = "teams_chat_pending"
"""The app was installed for the person; Teams has not reported its chat yet."""
GRAPH_ERROR = "graph_error"
"""Detail: the HTTP status, and ``:`` Graph's error code when it gave one."""
GRAPH_PERMISSION_MISSING = "graph_permission_missing"
"""Detail: the Graph permission the app registration lacks."""
NO_CONVERSATION = "no_conversation"
CONVERSATION_UNREADABLE = "conversation_unreadable"
CONVERSATION_INCOMPLETE = "conversation_incomplete"
NETWORK_ERROR = "network_error"
"""Detail: the exception's class name."""
SEND_FAILED = "send_failed"
"""Detail: the exception's class name."""
CONNECTOR_ERROR = "connector_error"
"""Detail: the HTTP status (a Bot Connector error a later attempt may get past)."""
CONNECTOR_CREDENTIALS = "connector_credentials"
CONNECTOR_BLOCKED = "connector_blocked"
CONNECTOR_NOT_FOUND = "connector_not_found"
CONNECTOR_TOO_LARGE = "connector_too_large"
CONNECTOR_REJECTED = "connector_rejected"
"""Detail: the HTTP status."""
BOT_ERROR = "bot_error"
"""Detail: the exception's class name (an error in the bot itself)."""
SLACK_DIRECTORY_WAITING = "slack_directory_waiting"
"""Not yet sent: the Slack directory (``users.list``) has not been read yet."""
SLACK_LOOKUP_WAITING = "slack_lookup_waiting"
"""Not yet sent: ``users.lookupByEmail`` failed for now. Detail: Slack's error code, or the exception's
class name."""
SLACK_DND_WAITING = "slack_dnd_waiting"
"""Not yet sent: held until the user's Slack Do Not Disturb ends."""
SLACK_DND_STALE = "slack_dnd_stale"
"""Not sent: the reminder would be out of date by the end of the user's Slack Do Not Disturb."""
IN_DOUBT = "in_doubt"
"""A message that may have arrived, whose delivery check failed for now; asked again later. Detail:
what the check ran into (the platform's error code, or the exception's class name)."""
NO_LONGER_RELEVANT = "no_longer_relevant"
NOT_CONFIGURED = "not_configured"
"""Detail: the platform."""
UNKNOWN = "unknown_error"


def coded(code: str, detail: object = None) -> str:
    """The stored form: ``code``, or ``code:detail`` when there is a detail."""
    return f"{code}:{detail}" if detail not in (None, "") else code


Saying = Callable[[Callable[..., str], str], str]
"""How one code is said: ``(say, detail) -> words``."""

SAID_WITH_DETAIL: dict[str, Saying] = {
    SLACK_APP_UNINSTALLED: lambda say, detail: say("reason_slack_app_uninstalled_from", workspace=detail),
    SLACK_TOKEN_REVOKED: lambda say, detail: say("reason_slack_token_revoked_in", workspace=detail),
    SLACK_SERVER_ERROR: lambda say, detail: say("reason_slack_server_error", status=detail),
    CONNECTION_ERROR: lambda say, detail: say("reason_connection_error", error=detail),
    NO_ANSWER: lambda say, detail: say("reason_no_answer", error=detail),
    GRAPH_ERROR: lambda say, detail: _graph_error(detail, say),
    GRAPH_PERMISSION_MISSING: lambda say, detail: say("reason_graph_permission_missing", permission=detail),
    NETWORK_ERROR: lambda say, detail: say("reason_network_error", error=detail),
    SEND_FAILED: lambda say, detail: say("reason_send_failed", error=detail),
    CONNECTOR_ERROR: lambda say, detail: say("reason_connector_error", status=detail),
    CONNECTOR_REJECTED: lambda say, detail: say("reason_connector_rejected", status=detail),
    BOT_ERROR: lambda say, detail: say("reason_bot_error", error=detail),
    NOT_CONFIGURED: lambda say, detail: say("reason_not_configured", platform=detail),
    SLACK_LOOKUP_WAITING: lambda say, detail: say("reason_slack_lookup_waiting_for", error=detail),
    IN_DOUBT: lambda say, detail: say("reason_in_doubt_for", error=detail),
}
"""``code:detail`` said from ``prompts/words.yaml``, built once. Each key is written out where it is
said, so that ``rounds content check`` finds it and the placeholders the detail fills."""

SAID_PLAIN: dict[str, Saying] = {
    NO_SLACK_ACCOUNT: lambda say, _: say("roster_no_slack_account"),
    SLACK_APP_UNINSTALLED: lambda say, _: say("reason_slack_app_uninstalled"),
    SLACK_TOKEN_REVOKED: lambda say, _: say("reason_slack_token_revoked"),
    TOO_MANY_REQUESTS: lambda say, _: say("reason_too_many_requests"),
    TEAMS_BOT_REMOVED: lambda say, _: say("reason_teams_bot_removed"),
    TEAMS_APP_UNINSTALLED: lambda say, _: say("reason_teams_app_uninstalled"),
    TEAMS_NOT_INSTALLED: lambda say, _: say("reason_teams_not_installed"),
    TEAMS_APP_REMOVED: lambda say, _: say("reason_teams_app_removed"),
    NO_TEAMS_USER: lambda say, _: say("reason_no_teams_user"),
    TEAMS_BLOCKED: lambda say, _: say("reason_teams_blocked"),
    TEAMS_CHAT_PENDING: lambda say, _: say("reason_teams_chat_pending"),
    NO_CONVERSATION: lambda say, _: say("reason_no_conversation"),
    CONVERSATION_UNREADABLE: lambda say, _: say("reason_conversation_unreadable"),
    CONVERSATION_INCOMPLETE: lambda say, _: say("reason_conversation_incomplete"),
    CONNECTOR_CREDENTIALS: lambda say, _: say("reason_connector_credentials"),
    CONNECTOR_BLOCKED: lambda say, _: say("reason_connector_blocked"),
    CONNECTOR_NOT_FOUND: lambda say, _: say("reason_connector_not_found"),
    CONNECTOR_TOO_LARGE: lambda say, _: say("reason_connector_too_large"),
    SLACK_DIRECTORY_WAITING: lambda say, _: say("reason_slack_directory_waiting"),
    SLACK_LOOKUP_WAITING: lambda say, _: say("reason_slack_lookup_waiting"),
    SLACK_DND_WAITING: lambda say, _: say("reason_slack_dnd_waiting"),
    SLACK_DND_STALE: lambda say, _: say("reason_slack_dnd_stale"),
    IN_DOUBT: lambda say, _: say("reason_in_doubt"),
    NO_LONGER_RELEVANT: lambda say, _: say("reason_no_longer_relevant"),
    UNKNOWN: lambda say, _: say("reason_unknown_error"),
}
"""A code stored without a detail, said from ``prompts/words.yaml`` (built once, like :data:`SAID_WITH_DETAIL`)."""


def said(stored: str, say: Callable[..., str]) -> str:
    """A stored reason in the words of ``prompts/words.yaml``; an unknown value as it is."""
    code, _, detail = stored.partition(":")
    spoken = (SAID_WITH_DETAIL if detail else SAID_PLAIN).get(code)
    return spoken(say, detail) if spoken is not None else stored


def _graph_error(detail: str, say: Callable[..., str]) -> str:
    status, _, code = detail.partition(":")
    return say("reason_graph_error", status=status, code=code) if code else say("reason_graph_error_no_code",
                                                                                 status=status)
