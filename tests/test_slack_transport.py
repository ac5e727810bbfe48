"""SlackTransport: one chat.postMessage attempt per send, outcomes mapped for the sender."""
from __future__ import annotations

import os
import socket

import pytest

from bot.app import Runtime, slack_transport
from bot.channels.slack.client import interactive_client, transport_client
from bot.channels.slack.transport import SlackTransport
from bot.delivery.transport import Envelope
from bot.messages import Button, Reply
from bot.settings import Settings, SlackSettings
from fakes.slack_api import FakeSlackApi
from slack_fixtures import BOT_TOKEN, JANE, PHYSICIAN, blocks_of, slack_env

REMINDER = Reply(kind="reminder", text="Time for your 2-minute lesson: **Why show up?**", title="Lesson time",
                 body="Two minutes, one idea, one question.", buttons=(Button("Start the lesson", "cmd:lesson"),))


def _transport(api: FakeSlackApi, runtime: Runtime, api_url: str | None = None) -> SlackTransport:
    settings = SlackSettings(bot_token=BOT_TOKEN, api_url=api_url or api.api_url)
    return SlackTransport(transport_client(settings), runtime.services, runtime.clock, runtime.content.words)


def _envelope(address: str) -> Envelope:
    return Envelope(outbox_id=7, platform="slack", address=address, reply=REMINDER, dedup_key="lesson:1:why")


async def test_sends_one_message_with_text_and_blocks(slack_api: FakeSlackApi, slack_runtime: Runtime) -> None:
    transport = _transport(slack_api, slack_runtime)
    result = await transport.send(_envelope(JANE))
    [call] = slack_api.calls_to("chat.postMessage")
    assert result.status == "sent" and result.message_id == f"DJANE01:{call.response['ts']}"
    assert call.args["channel"] == JANE and call.token == BOT_TOKEN
    assert call.args["text"] == "Time for your 2-minute lesson: *Why show up?*"
    assert any(b["type"] == "actions" for b in blocks_of(call))
    assert transport.platform == "slack" and transport.pace_key(_envelope(JANE)) == JANE
    assert transport.pace_key(_envelope("C0MARKETING")) == "C0MARKETING"


async def test_emails_resolve_through_the_directory_from_users_list(slack_api: FakeSlackApi,
                                                                    slack_runtime: Runtime) -> None:
    transport = _transport(slack_api, slack_runtime)
    waiting = await transport.send(_envelope(f"email:{PHYSICIAN}"))
    assert (waiting.status, waiting.error) == ("later", "slack_directory_waiting"), \
        "before the directory is read, nothing is sent"
    assert await transport.sync_directory() == len(slack_api.users)
    assert await transport.sync_directory() is None, "read again only when a day old"
    result = await transport.send(_envelope(f"email:{PHYSICIAN.upper()}"))
    assert result.status == "sent"
    assert slack_api.calls_to("users.lookupByEmail") == [], "users.list found everyone: no lookups"
    assert slack_api.calls_to("chat.postMessage")[0].args["channel"] == JANE
    person = await slack_runtime.store.people.by_identity("slack", JANE)
    assert person is not None and person.email == PHYSICIAN


async def test_an_email_the_directory_lacks_is_looked_up_once(slack_api: FakeSlackApi, slack_runtime: Runtime) -> None:
    transport = _transport(slack_api, slack_runtime)
    await transport.sync_directory()
    slack_api.add_user("UNEW0001", "new.fellow@riverside.example", "Dr. New Fellow")  # joined after users.list
    for _ in range(2):
        assert (await transport.send(_envelope("email:new.fellow@riverside.example"))).status == "sent"
    assert len(slack_api.calls_to("users.lookupByEmail")) == 1, "the answer is kept in the directory"


async def test_an_email_without_a_slack_account_is_skipped_not_failed(slack_api: FakeSlackApi,
                                                                      slack_runtime: Runtime) -> None:
    transport = _transport(slack_api, slack_runtime)
    await transport.sync_directory()
    for _ in range(2):
        result = await transport.send(_envelope("email:nobody@riverside.example"))
        assert (result.status, result.error) == ("skipped", "no_slack_account")
    assert len(slack_api.calls_to("users.lookupByEmail")) == 1, "asked once per directory read"
    assert slack_api.calls_to("chat.postMessage") == []
    assert await slack_runtime.store.slack_directory.missing_since("nobody@riverside.example") is not None


async def test_429_on_the_email_lookup_waits_without_an_attempt(slack_api: FakeSlackApi, slack_runtime: Runtime) -> None:
    transport = _transport(slack_api, slack_runtime)
    await transport.sync_directory()
    slack_api.fail_next(1, status=429, retry_after="30", method="users.lookupByEmail")
    result = await transport.send(_envelope("email:someone.else@riverside.example"))
    assert (result.status, result.retry_after) == ("later", 30.0)
    assert result.error is not None and result.error.startswith("slack_lookup_waiting:"), "a code and Slack's error"
    assert await transport.budget.paused_for("slack:users.lookupByEmail") == pytest.approx(30.0, abs=1.0)


async def test_429_is_a_retry_with_retry_after_and_only_one_attempt(slack_api: FakeSlackApi,
                                                                    slack_runtime: Runtime) -> None:
    slack_api.fail_next(1, status=429, retry_after="7")
    result = await _transport(slack_api, slack_runtime).send(_envelope(JANE))
    assert (result.status, result.retry_after) == ("retry", 7.0)
    assert result.error == "too_many_requests"
    assert len(slack_api.calls_to("chat.postMessage")) == 1, "the transport never retries by itself"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retries(slack_api: FakeSlackApi, slack_runtime: Runtime, status: int) -> None:
    slack_api.fail_next(1, status=status)
    result = await _transport(slack_api, slack_runtime).send(_envelope(JANE))
    assert result.status == "retry" and str(status) in result.error
    assert len(slack_api.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("code", ["channel_not_found", "user_not_found", "not_in_channel", "account_inactive",
                                  "is_archived", "invalid_auth", "msg_too_long"])
async def test_permanent_errors_fail_with_their_code(slack_api: FakeSlackApi, slack_runtime: Runtime,
                                                     code: str) -> None:
    slack_api.fail_next(1, error=code)
    result = await _transport(slack_api, slack_runtime).send(_envelope("C0MARKETING"))
    assert (result.status, result.error) == ("failed", code)


@pytest.mark.parametrize("code", ["internal_error", "fatal_error", "service_unavailable", "ratelimited"])
async def test_passing_errors_are_retries(slack_api: FakeSlackApi, slack_runtime: Runtime, code: str) -> None:
    slack_api.fail_next(1, error=code)
    result = await _transport(slack_api, slack_runtime).send(_envelope(JANE))
    assert (result.status, result.error) == ("retry", code)


async def test_connection_errors_are_retries(slack_api: FakeSlackApi, slack_runtime: Runtime) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = await _transport(slack_api, slack_runtime, f"http://127.0.0.1:{port}/api/").send(_envelope(JANE))
    assert result.status == "retry" and result.error.startswith("connection_error:")


async def test_dropped_connection_is_a_retry(slack_api: FakeSlackApi, slack_runtime: Runtime) -> None:
    slack_api.fail_next(1, status=0)
    result = await _transport(slack_api, slack_runtime).send(_envelope(JANE))
    assert result.status == "retry"
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_the_transport_client_has_no_retry_handlers(slack_runtime: Runtime) -> None:
    settings = SlackSettings(bot_token=BOT_TOKEN)
    assert transport_client(settings).retry_handlers == []
    assert transport_client(settings).base_url == "https://slack.com/api/"
    with pytest.raises(ValueError, match="sender owns retries"):
        SlackTransport(interactive_client(settings), slack_runtime.services, slack_runtime.clock,
                       slack_runtime.content.words)


def test_slack_transport_needs_a_bot_token(slack_api: FakeSlackApi, slack_runtime: Runtime,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    slack_env(monkeypatch, slack_api)
    transport = slack_transport(Settings.from_env(os.environ), slack_runtime)
    assert transport is not None and transport.client.base_url == slack_api.api_url
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    assert slack_transport(Settings.from_env(os.environ), slack_runtime) is None
