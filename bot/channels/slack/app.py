"""Slack adapter: a Bolt ``AsyncApp`` behind ``POST /slack/events`` (or Socket Mode).

It translates and decides nothing: slash command, DM, mention, button, checkbox, menu and modal
all become an :class:`~bot.messages.Incoming` for the coach, and the coach's replies become
Block Kit messages, in-place updates, modal errors, the draft checker's answer (shown in its
modal) and the App Home tab.

Every signed, well-formed request gets a 200 (Slack retries what fails, shows an error icon on a
button that fails, and disables the event subscriptions of an app whose events keep failing):
what the bot does not handle (other event types, shortcuts, other slash commands, suggestions,
forms of other versions) is acknowledged with one DEBUG line naming its type. Buttons of
messages drawn by any release are answered (:mod:`bot.actions`). ``app_uninstalled`` and a
revoked bot token park the outbox for Slack before the acknowledgement; the next request from
the workspace (it was installed again) resumes it.

Every request is acknowledged first (Slack's 3-second limit); the coach and the Web API calls
run afterwards in tracked tasks that the server drains on shutdown, started behind the acks
(:mod:`~bot.channels.slack.answers`) and at most :data:`COACH_CONCURRENCY` in the coach at a time. All Web API calls and
``response_url`` posts share one HTTP session (:class:`~bot.channels.slack.client.SlackHttp`).
Logs carry ids only.

The App Home is redrawn when it is opened, after anything done in it, and after a turn that may
have changed what it shows: every button, menu, checkbox and form, and every typed command except
the read-only ones (:func:`reads_only`: ``status``, ``help``, ``check`` …) of a person already
linked with their current time zone. Redrawing it after a read-only command would recompute
everything it shows to publish the same view.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ACTION_VERSION, FOREIGN
from bot.channels.charts import add_chart_route, chart_url
from bot.channels.http_guard import Rejected, check_slack, log_rejected
from bot.channels.ports import Answering, DigestCharts, Linked, SlackRecords
from bot.channels.slack.answers import Answers
from bot.channels.slack.client import SlackHttp, error_code, interactive_client
from bot.channels.slack.dnd import remember_dnd
from bot.channels.slack.identity import SlackDirectory, SlackUser
from bot.channels.slack.modals import (
    CHECK_CALLBACK,
    HANDLE_BLOCK,
    MEETING_CALLBACK,
    PROFILE_CALLBACK,
    STORY_CALLBACK,
    check_draft,
    check_modal,
    check_result_modal,
    form_modal,
    metadata,
    modal_errors,
    profile_command,
    profile_modal,
    values,
)
from bot.channels.slack.render import (
    CHECK_MODAL_ACTION,
    MEETING_MODAL_ACTION,
    MODAL_PREFIX,
    PROFILE_MODAL_ACTION,
    STORY_MODAL_ACTION,
    action_version,
    actions_of,
    home_view,
    render_message,
)
from bot.channels.slack.transport import remember_user
from bot.channels.turns import TurnQueue
from bot.clock import Clock
from bot.core.commands import changes_state, parse
from bot.core.forms import MEETING_FORM, STORY_FORM
from bot.core.reasons import SLACK_APP_UNINSTALLED, SLACK_TOKEN_REVOKED, coded
from bot.messages import Form, Incoming, Reply
from bot.settings import SlackSettings
from bot.words import Words

log = logging.getLogger(__package__)
SLACK_EVENTS_PATH = "/slack/events"
COMMAND = "/rounds"
ANYTHING = re.compile(".*")
PLATFORM: Final = "slack"
PARKED_CHECK_SECONDS = 60.0
"""How long this process trusts what it last read about the workspace being uninstalled (another
instance may have handled the uninstall, or the reinstall)."""
MEETING_FORM_TEXT = re.compile(r"^\s*meetings?\s+add\s*$", re.IGNORECASE)
STORY_FORM_TEXT = re.compile(r"^\s*library\s+add\s*$", re.IGNORECASE)
CHECK_FORM_TEXT = re.compile(r"^\s*check\s*$", re.IGNORECASE)
"""``/rounds check`` without a draft opens the draft-check modal."""
DRAIN_SECONDS = 8.0
COACH_CONCURRENCY = 4
"""Answers computed at once (the coach's database reads and rendering: the CPU of an answer). Under
a burst the others wait their turn instead of taking the event loop from the acks, which Slack
wants within 3 seconds (an answer has 30 minutes). Slack API calls wait outside this gate, and a
modal's submission (answered before its ack) never waits in it."""
EVENT_MEMORY = timedelta(days=7)
"""How long event ids are remembered; Slack stops retrying within the hour."""
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Where:
    """Where one turn's replies go, and how an in-place update is made there."""

    user_id: str
    channel: str | None = None
    """Post here (a DM or channel id); a user id posts to the app's Messages tab."""
    message_ts: str | None = None
    """The pressed message, updated with chat.update."""
    response_url: str | None = None
    """Answer through Slack's response_url (slash commands, ephemeral and shared messages)."""
    replace_via_response_url: bool = False
    """The pressed message is ephemeral: in-place updates go through the response_url."""
    ephemeral_channel: bool = False
    """A mention in a channel: private replies with chat.postEphemeral."""
    thread_ts: str | None = None
    home: bool = False
    """Pressed in the App Home tab: in-place updates are the Home refresh itself."""


class SlackChannel:
    """The Bolt app and everything its listeners need."""

    def __init__(self, coach: Answering, records: SlackRecords, clock: Clock, client: AsyncWebClient,
                 signing_secret: str, failure: Reply, http: SlackHttp | None = None, *,
                 turns: TurnQueue | None = None, public_url: str = "", meeting_form: Form,
                 story_form: Form | None = None, words: Words) -> None:
        self.coach = coach
        self.records = records
        self.clock = clock
        self.public_url = public_url
        """Chart links (digest images) are signed addresses under it; empty: no images."""
        self.meeting_form = meeting_form
        """The add-a-meeting form (its catalog choices from the content), opened by ``/rounds meetings add``."""
        self.story_form = story_form
        """The add-a-story form of the content library, opened by ``/rounds library add``."""
        self.failure = failure
        """The apology when answering failed on our side (the content's words, kept in memory)."""
        self.words = words
        """The content's words (``prompts/words.yaml``): the App Home, the modals and the renderer's notes."""
        self.client = client
        self.http = http or SlackHttp()
        self.signing_secret = signing_secret
        self.directory = SlackDirectory(client)
        self.tasks: set[asyncio.Task[None]] = set()
        self.answers = Answers(self._spawn)
        self.turns = turns or TurnQueue()
        self._coach_gate = asyncio.Semaphore(COACH_CONCURRENCY)
        self._pruned_at: datetime | None = None
        self._parked: bool | None = None
        """Whether the workspace uninstalled the app, as this process last knew (None: not read yet)."""
        self._parked_read = 0.0
        self.bolt = AsyncApp(client=client, signing_secret=signing_secret, name="social-rounds",
                             logger=_bolt_logger(), process_before_response=False,
                             raise_error_for_unhandled_request=True)
        self.bolt.error(self._on_error)
        self.bolt.use(self._deduplicate)
        self.bolt.use(self._lifecycle)
        self.bolt.command(COMMAND)(self._on_command)
        self.bolt.event("message")(self._on_message)
        self.bolt.event("app_mention")(self._on_mention)
        self.bolt.event("app_home_opened")(self._on_home_opened)
        self.bolt.action(ANYTHING)(self._on_action)
        self.bolt.event("team_join")(self._on_user)
        self.bolt.event("user_change")(self._on_user)
        self.bolt.event("dnd_updated_user")(self._on_dnd)
        self.bolt.view(PROFILE_CALLBACK)(self._on_profile_submitted)
        self.bolt.view(MEETING_CALLBACK)(self._on_meeting_submitted)
        self.bolt.view(STORY_CALLBACK)(self._on_story_submitted)
        self.bolt.view(CHECK_CALLBACK)(self._on_check_submitted)
        # Everything else is acknowledged (an empty list for suggestions) and logged once at DEBUG.
        self.bolt.view(ANYTHING)(self._acknowledge)
        self.bolt.view_closed(ANYTHING)(self._acknowledge)
        self.bolt.shortcut(ANYTHING)(self._acknowledge)
        self.bolt.command(ANYTHING)(self._acknowledge)
        self.bolt.options(ANYTHING)(self._no_options)

    # -- HTTP --------------------------------------------------------------------------------
    async def handle_http(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: :func:`~bot.channels.http_guard.check_slack` answers unsigned, stale and
        malformed requests (401/400/413, one short log line); Bolt dispatches the rest."""
        try:
            checked = await check_slack(request, self.signing_secret)
        except Rejected as rejected:
            log_rejected("slack", request, rejected)
            return rejected.response()
        bolt_request = AsyncBoltRequest(body=checked.body, query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await self.dispatch(bolt_request))

    async def dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        """Bolt's dispatch up to the ack (HTTP and Socket Mode): answers wait meanwhile."""
        with self.answers.acking():
            return await self.bolt.async_dispatch(request)

    # -- middleware ----------------------------------------------------------------------------
    async def _deduplicate(self, body: dict[str, Any], req: Any,
                           next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        """Slack re-sends events it thinks were lost; each ``event_id`` is handled once, ever."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            now = self.clock.now()
            try:
                claimed = await self.records.claim_event(f"slack:{event_id}", now)
            except Exception as exc:  # database outage: answer the event (the turn apologises) rather than 500
                log.warning("slack event dedup unavailable event=%s error=%s", event_id, type(exc).__name__)
                return await next()
            if not claimed:
                retry = (req.headers.get("x-slack-retry-num") or ["-"])[0]
                log.info("slack duplicate event=%s retry=%s", event_id, retry)
                return BoltResponse(status=200, body="")
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = now
                self._spawn(self._forget_old_events(now))
        return await next()

    async def _lifecycle(self, body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        """Uninstalled (or the bot token revoked): park the outbox before Slack hears back, so nothing
        more is sent there. Any other request means the app is installed: resume what was parked."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        kind = event.get("type") if isinstance(event, dict) else None
        if kind in ("app_uninstalled", "tokens_revoked"):
            revoked = (event.get("tokens") or {}).get("bot") if kind == "tokens_revoked" else True  # type: ignore[union-attr]
            if revoked:
                reason = coded(SLACK_APP_UNINSTALLED if kind == "app_uninstalled" else SLACK_TOKEN_REVOKED,
                               body.get("team_id"))
                parked = await self.records.park(PLATFORM, None, reason, self.clock.now())
                self._parked, self._parked_read = True, time.monotonic()
                log.warning("slack %s team=%s: %s outbox messages parked until the app is installed again",
                            kind, body.get("team_id"), parked)
            else:
                log.debug("slack ignored type=event_callback event=tokens_revoked (user tokens only)")
            return BoltResponse(status=200, body="")
        try:
            await self._resume_if_parked()
        except Exception as exc:  # database outage: the request is still answered (the turn apologises)
            log.warning("slack parked-outbox check unavailable error=%s", type(exc).__name__)
        return await next()

    async def _resume_if_parked(self) -> None:
        now = time.monotonic()
        if self._parked is False and now - self._parked_read < PARKED_CHECK_SECONDS:
            return
        self._parked_read = now
        if await self.records.parked_everywhere(PLATFORM):
            resumed = await self.records.resume(PLATFORM, None, self.clock.now())
            log.warning("slack: the workspace is installed again; %s parked outbox messages resumed", resumed)
        self._parked = False

    async def _forget_old_events(self, now: datetime) -> None:
        forgotten = await self.records.forget_events_before(now - EVENT_MEMORY)
        if forgotten:
            log.info("slack forgot %s event ids older than %s days", forgotten, EVENT_MEMORY.days)

    # -- listeners -----------------------------------------------------------------------------
    async def _on_command(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user, text = body.get("user_id", ""), body.get("text") or ""
        log.info("slack command user=%s channel=%s", user, body.get("channel_id"))
        modal = MEETING_MODAL_ACTION if MEETING_FORM_TEXT.match(text) else \
            STORY_MODAL_ACTION if STORY_FORM_TEXT.match(text) and self.story_form else \
            CHECK_MODAL_ACTION if CHECK_FORM_TEXT.match(text) else None
        if modal and body.get("trigger_id"):
            self._spawn(self._open_modal(modal, body["trigger_id"], user, body.get("response_url")))
            return
        where = Where(user, channel=body.get("channel_id"), response_url=body.get("response_url"))
        self._later(self._turn, where, text=text)

    async def _on_message(self, event: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        log.info("slack dm user=%s channel=%s", event["user"], event.get("channel"))
        where = Where(event["user"], channel=event.get("channel"), thread_ts=event.get("thread_ts"))
        self._later(self._turn, where, text=event.get("text") or "")

    async def _on_mention(self, event: dict[str, Any]) -> None:
        if not event.get("user") or event.get("bot_id"):
            return
        log.info("slack mention user=%s channel=%s", event["user"], event.get("channel"))
        where = Where(event["user"], channel=event.get("channel"), ephemeral_channel=True,
                      thread_ts=event.get("thread_ts"))
        self._later(self._turn, where, text=event.get("text") or "")

    async def _on_user(self, event: dict[str, Any]) -> None:
        """Someone joined the workspace or changed their profile: the Slack directory follows."""
        user = event.get("user")
        if isinstance(user, dict):
            log.info("slack %s user=%s", event.get("type"), user.get("id"))
            await remember_user(self.records, self.clock, user)

    async def _on_dnd(self, event: dict[str, Any]) -> None:
        """Someone's Do Not Disturb changed: reminders to them wait (or stop waiting) accordingly."""
        if isinstance(event.get("user"), str):
            log.info("slack dnd_updated_user user=%s", event["user"])
            await remember_dnd(self.records, self.clock, event["user"], event.get("dnd_status") or {})

    async def _on_home_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab") == "home" and event.get("user"):
            self._later(self._refresh_home, event["user"])

    async def _on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A pressed element of any message or view, drawn by any release (or by no release of this bot)."""
        await ack()
        if body.get("type") != "block_actions":  # legacy attachments, dialogs, workflow steps
            log.debug("slack ignored %s", describe(body))
            return
        user = (body.get("user") or {}).get("id", "")
        version = action_version(action.get("action_id"))
        coach_actions = actions_of(action) if version != FOREIGN else []
        log.info("slack action user=%s element=%s", user, action.get("action_id"))
        if not user:
            return
        if not coach_actions:
            if _in_modal(body):  # an input of an open form (a date picked): answered when it is submitted
                log.debug("slack ignored %s element=%s", describe(body), action.get("type"))
                return
            version, coach_actions = FOREIGN, [f"element:{action.get('type')}"]
        if coach_actions[0].startswith(MODAL_PREFIX) and FOREIGN < version <= ACTION_VERSION:
            await self._open_modal(coach_actions[0], body.get("trigger_id", ""), user, body.get("response_url"))
            return
        self._later(self._turn, _where_pressed(body, user), actions=coach_actions, version=version)

    async def _acknowledge(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        log.debug("slack ignored %s", describe(body))

    async def _no_options(self, ack: Any, body: dict[str, Any]) -> None:
        await ack(options=[])
        log.debug("slack ignored %s", describe(body))

    async def _on_error(self, error: Exception, body: dict[str, Any], response: BoltResponse | None) -> BoltResponse:
        """Nothing a signed request carries is answered 404 or 500 (see the module docstring)."""
        if isinstance(error, BoltUnhandledRequestError):
            log.debug("slack ignored %s", describe(body))
            return BoltResponse(status=200, body="")
        if _raised_in_bolt(error):  # a field Bolt reads is missing or of the wrong type: malformed
            log.warning("slack malformed request %s error=%s", describe(body), type(error).__name__)
            return BoltResponse(status=400, body={"error": "malformed request"})
        _log_failure("request", _user_of(body), error)
        return BoltResponse(status=200, body="")  # logged; a retry would meet the same fault

    async def _on_profile_submitted(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await self._submit(ack, body, view, HANDLE_BLOCK, text=profile_command(view))

    async def _on_meeting_submitted(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The coach's meeting form, submitted as the form it is: its values go with its action."""
        await self._submit(ack, body, view, MEETING_FORM.errors_at, action=MEETING_FORM.submit_action,
                           values=tuple(values(view).items()))

    async def _on_story_submitted(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The content library's add-a-story form: its values go with its action, errors back at their inputs."""
        await self._submit(ack, body, view, STORY_FORM.errors_at, action=STORY_FORM.submit_action,
                           values=tuple(values(view).items()))

    async def _on_check_submitted(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Check the draft now and show the answer in the modal itself; the draft stays in memory."""
        user = (body.get("user") or {}).get("id", "")
        log.info("slack modal user=%s callback=%s", user, view.get("callback_id"))
        draft = check_draft(view)
        replies = await self._ask(user, text=f"check {draft}")
        await ack(response_action="update", view=check_result_modal(replies, draft, self.words))

    async def _submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any], errors_at: str, *,
                      text: str | None = None, action: str | None = None,
                      values: tuple[tuple[str, str], ...] = ()) -> None:
        """Run the modal's command or form now: a coach error goes back inline, at the input it is about
        (else at ``errors_at``)."""
        user = (body.get("user") or {}).get("id", "")
        log.info("slack modal user=%s callback=%s", user, view.get("callback_id"))
        replies = await self._ask(user, text=text, action=action, values=values)
        errors = modal_errors(replies, view, errors_at)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        response_url = metadata(view).get("response_url")
        where = Where(user, response_url=response_url) if response_url else Where(user, channel=user)
        self._later(self._serially_finish, where, replies)

    # -- turns -------------------------------------------------------------------------------
    async def _ask(self, user_id: str, *, text: str | None = None, action: str | None = None,
                   values: tuple[tuple[str, str], ...] = ()) -> list[Reply]:
        """The coach's replies while Slack waits for the ack (a modal's submission): no waiting in line."""
        return await self._coach(await self.directory.user(user_id), text=text, action=action, values=values)

    async def _coach(self, who: SlackUser, *, text: str | None = None, action: str | None = None,
                     where: Where | None = None, version: int | None = None,
                     values: tuple[tuple[str, str], ...] = (), known: Linked | None = None) -> list[Reply]:
        """``known``: the person the turn already read for ``who`` (the coach does not read them again)."""
        incoming = Incoming("slack", who.id, text=text, action=action, email=who.email, display_name=who.name,
                            timezone=who.timezone, conversation_id=where.channel if where else None,
                            message_id=where.message_ts if where else None, values=values,
                            action_version=version)
        try:
            return await self.coach.handle(incoming, known)
        except Exception as exc:  # the person still gets an answer; the log gets ids and frames only
            _log_failure("coach", who.id, exc)
            return [self._failure()]

    def _failure(self) -> Reply:
        """The apology when answering failed on our side (its words are in memory: no database needed)."""
        return self.failure

    async def _serially(self, user_id: str, work: Coroutine[Any, Any, None]) -> None:
        """One person's turns run one at a time, in the order Slack delivered them."""
        await self.turns.serially(f"{PLATFORM}:{user_id}", work)

    async def _turn(self, where: Where, *, text: str | None = None, actions: list[str] | None = None,
                    version: int | None = None) -> None:
        async def answer() -> None:
            who = await self.directory.user(where.user_id)  # a Slack API call at most hourly: not in the gate
            async with self._coach_gate:
                refresh = where.home or not (reads_only(text) if not actions else all(map(action_reads_only, actions)))
                replies: list[Reply] = []
                known: Linked | None = None  # read for the read-only check: the coach does not read it again
                try:
                    if not refresh:  # a read-only command still links a new person or stores a new time zone
                        known = await self.records.person_by_identity(PLATFORM, who.id)
                        refresh = _identity_changes(who, known)
                except Exception as exc:  # the database is down: the person still gets the apology
                    _log_failure("turn", who.id, exc)
                    replies, refresh = [self._failure()], False
                for index, action in enumerate(() if replies else actions or ()):
                    replies.extend(await self._coach(who, action=action, where=where, version=version,
                                                     known=known if index == 0 else None))
                if not actions and not replies:
                    replies = await self._coach(who, text=text, where=where, known=known)
            await self._finish(where, replies, refresh_home=refresh)

        await self._serially(where.user_id, answer())

    async def _refresh_home(self, user_id: str) -> None:
        await self._serially(user_id, self.publish_home(user_id))

    async def _serially_finish(self, where: Where, replies: list[Reply]) -> None:
        await self._serially(where.user_id, self._finish(where, replies))

    async def _finish(self, where: Where, replies: list[Reply], *, refresh_home: bool = True) -> None:
        for reply in replies:
            await self._deliver(where, reply)
        if refresh_home:
            await self.publish_home(where.user_id)

    async def _deliver(self, where: Where, reply: Reply) -> None:
        image = reply.image and chart_url(self.public_url, self.signing_secret, reply.image)
        message = render_message(reply, self.words, image or None)
        replace = reply.replace_original
        try:
            if where.home:
                if not replace:  # an update of the Home tab is the refresh that follows every turn
                    await self.client.chat_postMessage(channel=where.user_id, **message.payload())
            elif where.response_url:
                payload = {**message.payload(), "response_type": "ephemeral" if reply.ephemeral else "in_channel",
                           "replace_original": bool(replace and where.replace_via_response_url)}
                response = await self.http.webhook(where.response_url).send_dict(payload)
                if response.status_code != 200:
                    log.warning("slack response_url failed user=%s status=%s", where.user_id, response.status_code)
            elif where.ephemeral_channel and reply.ephemeral and where.channel:
                await self.client.chat_postEphemeral(channel=where.channel, user=where.user_id,
                                                     thread_ts=where.thread_ts, **message.payload())
            elif replace and where.channel and where.message_ts:
                await self.client.chat_update(channel=where.channel, ts=where.message_ts, **message.payload())
            else:
                await self.client.chat_postMessage(channel=where.channel or where.user_id,
                                                   thread_ts=where.thread_ts, **message.payload())
        except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
            log.warning("slack reply failed user=%s kind=%s error=%s", where.user_id, reply.kind, error_code(exc))

    async def publish_home(self, user_id: str) -> None:
        """Draw (or redraw) the person's App Home tab from ``Coach.home``."""
        who = await self.directory.user(user_id)
        incoming = Incoming("slack", user_id, email=who.email, display_name=who.name, timezone=who.timezone)
        try:
            async with self._coach_gate:
                replies = await self.coach.home(incoming)
        except Exception as exc:
            _log_failure("home", user_id, exc)
            return
        try:
            await self.client.views_publish(user_id=user_id, view=home_view(replies, self.words))
        except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
            log.warning("slack home publish failed user=%s error=%s", user_id, error_code(exc))

    async def _open_modal(self, which: str, trigger_id: str, user_id: str, response_url: str | None) -> None:
        meta = {"response_url": response_url} if response_url else {}
        if which == PROFILE_MODAL_ACTION:
            person = await self.records.person_by_identity(PLATFORM, user_id)
            view = profile_modal(person.x_handle if person else None, self.words, meta)
        elif which == MEETING_MODAL_ACTION:
            view = form_modal(self.meeting_form, MEETING_CALLBACK, self.words, meta)
        elif which == STORY_MODAL_ACTION and self.story_form is not None:
            view = form_modal(self.story_form, STORY_CALLBACK, self.words, meta)
        elif which == CHECK_MODAL_ACTION:
            view = check_modal(self.words)  # answered inside the modal: no response_url needed
        else:
            log.warning("slack unknown modal user=%s", user_id)
            return
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
            log.warning("slack views.open failed user=%s error=%s", user_id, error_code(exc))

    # -- background work -----------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(_guarded(work))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _later(self, answer: Callable[..., Coroutine[Any, Any, None]], *args: Any, **kwargs: Any) -> None:
        """Answer in the background, in arrival order, behind the acks (:class:`Answers`)."""
        self.answers.submit(partial(answer, *args, **kwargs))

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Let answers in flight and waiting finish before the store closes (server shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (pending := [t for t in self.tasks if not t.done()]) and loop.time() < deadline:
            await asyncio.wait(pending, timeout=deadline - loop.time())
        if not_started := self.answers.clear():
            log.warning("slack shutdown: %s answers not started", not_started)
        for task in self.tasks:
            if not task.done():
                task.cancel()


class _TokenNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused when a client is given; the client carries that token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


def _bolt_logger() -> logging.Logger:
    """Bolt's logger, never below INFO: its DEBUG lines print request and response bodies, which carry
    what people wrote (drafts sent to the checker included)."""
    logger = logging.getLogger("bot.channels.slack.bolt")
    if not any(isinstance(f, _TokenNotice) for f in logger.filters):
        logger.addFilter(_TokenNotice())
    if logger.level < logging.INFO:
        logger.setLevel(logging.INFO)
    return logger


def _identity_changes(who: SlackUser, person: Linked | None) -> bool:
    """Whether the coach will link this person or store their Slack time zone in this turn."""
    return person is None or (bool(who.timezone) and who.timezone != person.timezone)


def reads_only(text: str | None) -> bool:
    """Whether a typed command only shows things (the grammar's metadata says; unknown words change nothing)."""
    return not changes_state(parse(text or ""))


def action_reads_only(action: str) -> bool:
    """Buttons that run a command (``cmd:status``) follow :func:`reads_only`; every other action changes
    something (a quiz answer, a ticked item, a join)."""
    verb, _, command = action.partition(":")
    return verb == "cmd" and reads_only(command)


def _where_pressed(body: dict[str, Any], user: str) -> Where:
    container = body.get("container") or {}
    if container.get("type") == "view":
        return Where(user, home=True)
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    response_url = body.get("response_url")
    if container.get("is_ephemeral"):
        return Where(user, channel=channel, response_url=response_url, replace_via_response_url=True)
    if channel and channel.startswith("D"):
        return Where(user, channel=channel, message_ts=container.get("message_ts"))
    if response_url:  # a shared message (e.g. the digest): answer privately, leave it as it is
        return Where(user, channel=channel, response_url=response_url)
    return Where(user, channel=channel, ephemeral_channel=True)


def _in_modal(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view" and (body.get("view") or {}).get("type") == "modal"


def describe(body: dict[str, Any]) -> str:
    """A request's type in a few ids (never its text), for the log."""
    kind = body.get("type") or ("slash_command" if "command" in body else "unknown")
    parts = [f"type={kind}"]
    event = body.get("event")
    if kind == "event_callback" and isinstance(event, dict):
        parts.append(f"event={event.get('type')}" + (f"/{event['subtype']}" if event.get("subtype") else ""))
    if "command" in body:
        parts.append(f"command={str(body['command'])[:40]}")
    view = body.get("view")
    callback = body.get("callback_id") or (view.get("callback_id") if isinstance(view, dict) else None)
    if callback:
        parts.append(f"callback={str(callback)[:60]}")
    return " ".join(parts)


def _user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str((user.get("id") if isinstance(user, dict) else user) or body.get("user_id") or "-")


def _raised_in_bolt(error: BaseException) -> bool:
    """Whether the error comes from Bolt reading the request (not from the bot's own listeners)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "slack_bolt" in frames[-1].filename and isinstance(
        error, (KeyError, TypeError, AttributeError, IndexError, ValueError))


async def _guarded(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except Exception as exc:
        _log_failure("task", "-", exc)


def _log_failure(what: str, user_id: str, exc: BaseException) -> None:
    """Exception type and stack frames, never the message (it may quote what someone wrote)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("slack %s failed user=%s error=%s\n%s", what, user_id, type(exc).__name__, frames)


SLACK = web.AppKey("slack", SlackChannel)


def mount_slack(app: web.Application, settings: SlackSettings | None, *, coach: Answering, records: SlackRecords,
                clock: Clock, http: SlackHttp, turns: TurnQueue, charts: DigestCharts, failure: Reply,
                meeting_form: Form, words: Words, public_url: str = "", story_form: Form | None = None) -> str | None:
    """Mount Slack when its secrets are set; a one-line description for the start-up log, else None.

    ``http``: the process's shared Slack session (the composition root opens and closes it)."""
    if settings is None or settings.mode is None:
        if settings is not None:
            log.warning("Slack: SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP) nor "
                        "SLACK_APP_TOKEN (Socket Mode): commands, messages and buttons from Slack are not received")
        return None
    channel = SlackChannel(coach, records, clock, interactive_client(settings, http), settings.signing_secret,
                           failure, http, turns=turns, public_url=public_url, meeting_form=meeting_form,
                           story_form=story_form, words=words)
    app[SLACK] = channel

    async def drain(_: web.Application) -> None:
        await channel.drain()

    app.on_shutdown.append(drain)
    if settings.signing_secret and public_url:
        add_chart_route(app, charts, settings.signing_secret, words)
    if settings.mode == "http":
        app.router.add_post(SLACK_EVENTS_PATH, channel.handle_http)
        return f"Slack: HTTP at {SLACK_EVENTS_PATH}"
    _mount_socket_mode(app, channel, settings.app_token)
    return "Slack: Socket Mode"


class _SocketMode(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler; answers wait while a request waits for its ack, as over HTTP."""

    def __init__(self, channel: SlackChannel, app_token: str) -> None:
        super().__init__(channel.bolt, app_token, web_client=channel.client)
        self.channel = channel

    async def handle(self, client: Any, req: Any) -> None:
        with self.channel.answers.acking():
            await super().handle(client, req)


def _mount_socket_mode(app: web.Application, channel: SlackChannel, app_token: str) -> None:
    """Connect in the background at start-up (the health checks never wait on Slack); close at clean-up."""
    handler = _SocketMode(channel, app_token)
    connecting: list[asyncio.Task[None]] = []

    async def start(_: web.Application) -> None:
        connecting.append(asyncio.get_running_loop().create_task(handler.connect_async()))

    async def stop(_: web.Application) -> None:
        for task in connecting:
            task.cancel()
        await handler.close_async()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
