"""The local web chat adapter, run as a real aiohttp app against a canned coach."""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.webchat import (
    STATIC_DIR,
    Persona,
    add_webchat_routes,
    parse_duration,
    reply_to_json,
)
from bot.messages import (
    Button,
    Checklist,
    ChecklistItem,
    Form,
    FormField,
    Incoming,
    Progress,
    Reply,
    Table,
)
from bot.words import load_words

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
Client = TestClient[web.Request, web.Application]
SECRET_TEXT = "draft about patient in bed 12"

FULL_REPLY = Reply(
    kind="camp",
    text="Tweet Camp for ASCO: 1 of 2 done.",
    title="Tweet Camp — ASCO",
    body="**Two weeks** to go. _Check_ the [embargo](https://example.org/embargo).",
    buttons=(Button("Snooze", "snooze:1d"), Button("Stop", "stop", style="danger")),
    checklist=Checklist(
        title="Before the meeting",
        items=(
            ChecklistItem("hashtag", "Learn the hashtag", True, "camp:asco:hashtag", "#ASCO26", "2 weeks before"),
            ChecklistItem("embargo", "Read the embargo rules", False, "camp:asco:embargo"),
        ),
    ),
    table=Table(headers=("Department", "Ready"), rows=(("Cardiology", "40%"), ("Oncology", "55%"))),
    progress=Progress(score=40, stage="Profile set up", next_step="Follow the hospital account."),
    footer="Reply `stop` to stop these.",
    replace_original=True,
    ephemeral=False,
    fields=(("Meeting", "ASCO 2026"), ("Starts", "Fri 29 May")),
    form=Form(
        (
            FormField("catalog", "From the catalog", "select", placeholder="Pick a meeting",
                      options=(("ASCO Annual Meeting", "asco"),), value="asco"),
            FormField("name", "Name", required=True, placeholder="Heart Summit 2027", value="Heart Summit",
                      hint="Leave empty to use the catalog name."),
            FormField("start", "Starts", "date", required=True),
            FormField("embargo", "Embargo rules", "multiline"),
            FormField("lifts", "Embargo lifts at", "time", value="07:30", error="Give the date too."),
        ),
        "form:meetings-add",
        "Add meeting",
        "Add a meeting",
    ),
)

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


class FakeCoach:
    """A test double for the coach: canned replies, a fixed clock, a scripted inbox."""

    def __init__(self) -> None:
        self.at = START
        self.received: list[Incoming] = []
        self.replies: list[Reply] = [FULL_REPLY]
        self.delivered: dict[str, list[tuple[int, Reply]]] = {}
        self.fail = False

    async def personas(self) -> list[Persona]:
        return [
            Persona("dr-ada", "Dr Ada Lovelace", "Cardiology", "physician", "Interventional cardiology"),
            Persona("dr-bo", "Dr Bo Chen", "Oncology", "physician", "Medical oncology"),
            Persona("mm-kim", "Kim Park", "Marketing", "admin", "Marketing manager"),
        ]

    async def handle(self, incoming: Incoming) -> list[Reply]:
        if self.fail:
            raise RuntimeError("coach exploded")
        self.received.append(incoming)
        return list(self.replies)

    def now(self) -> datetime:
        return self.at

    async def advance_clock(self, delta: timedelta) -> datetime:
        if delta > timedelta(weeks=4):
            raise ValueError("the demo clock moves at most 4 weeks at a time")
        self.at += delta
        return self.at

    async def inbox(self, persona_id: str, after: int) -> list[tuple[int, Reply]]:
        return [(seq, r) for seq, r in self.delivered.get(persona_id, []) if seq > after]


@pytest.fixture
def coach() -> FakeCoach:
    return FakeCoach()


async def _client(coach: FakeCoach, clock_control: bool = True) -> Client:
    app = web.Application()
    add_webchat_routes(app, coach, clock_control=clock_control, words=load_words(PROMPTS))
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest_asyncio.fixture
async def client(coach: FakeCoach) -> AsyncIterator[Client]:
    client = await _client(coach)
    yield client
    await client.close()


async def _error(response: Any, status: int) -> str:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


# ---- page and assets ----


@pytest.mark.asyncio
async def test_page_is_served_and_uses_only_local_assets(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    html = await response.text()
    assert "http://" not in html and "https://" not in html
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    assert "/static/chat.js" in refs and "/static/chat.css" in refs
    for ref in refs:
        assert not ref.startswith("//"), ref
    for needle in ('id="persona"', 'id="input"', 'id="send"', 'id="clock-now"', 'id="messages"'):
        assert needle in html
    for code in ("1h", "1d", "1w"):
        assert f'data-advance="{code}"' in html


@pytest.mark.parametrize("asset", ["chat.js", "chat.css"])
@pytest.mark.asyncio
async def test_assets_are_served_and_fetch_nothing_external(client: Client, asset: str) -> None:
    response = await client.get(f"/static/{asset}")
    assert response.status == 200
    text = await response.text()
    assert "http://" not in text and "https://" not in text
    assert "@import" not in text


@pytest.mark.asyncio
async def test_static_does_not_leave_its_folder(client: Client) -> None:
    for path in ("/static/../webchat.py", "/static/%2e%2e/webchat.py"):
        response = await client.get(path)
        assert response.status in (403, 404)
        assert "add_webchat_routes" not in await response.text()


def test_script_builds_no_html_from_unescaped_text() -> None:
    script = (STATIC_DIR / "chat.js").read_text(encoding="utf-8")
    assignments = re.findall(r"\.innerHTML\s*=\s*([^;]+);", script)
    assert assignments, "the Markdown renderer is expected to set innerHTML from escaped text"
    for value in assignments:
        assert "inlineHtml(" in value or "blocks.map" in value, value
    # list and paragraph blocks hold only inlineHtml output
    assert script.count("html: inlineHtml(") == 1 and "`<li>${inlineHtml(" in script
    assert "escapeHtml(raw)" in script


# ---- personas and messages ----


@pytest.mark.asyncio
async def test_personas(client: Client) -> None:
    response = await client.get("/chat/api/personas")
    assert response.status == 200
    body = await response.json()
    assert body["personas"][0] == {
        "id": "dr-ada",
        "name": "Dr Ada Lovelace",
        "department": "Cardiology",
        "role": "physician",
        "detail": "Interventional cardiology",
    }
    assert [p["role"] for p in body["personas"]] == ["physician", "physician", "admin"]


@pytest.mark.asyncio
async def test_text_message_returns_every_reply_field(
    client: Client, coach: FakeCoach, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post("/chat/api/message", json={"persona": "dr-ada", "text": SECRET_TEXT})
    assert response.status == 200
    body = await response.json()
    [reply] = body["replies"]
    assert reply["message_id"].startswith("web-")
    assert {k: v for k, v in reply.items() if k != "message_id"} == reply_to_json(FULL_REPLY)
    assert reply["buttons"][1] == {"label": "Stop", "action": "stop", "style": "danger"}
    assert reply["checklist"]["items"][0] == {
        "id": "hashtag",
        "label": "Learn the hashtag",
        "done": True,
        "action": "camp:asco:hashtag",
        "detail": "#ASCO26",
        "due": "2 weeks before",
    }
    assert reply["checklist"]["done_count"] == 1
    assert reply["table"] == {
        "headers": ["Department", "Ready"],
        "rows": [["Cardiology", "40%"], ["Oncology", "55%"]],
    }
    assert reply["progress"] == {"score": 40, "stage": "Profile set up", "next_step": "Follow the hospital account."}
    assert reply["fields"] == [{"label": "Meeting", "value": "ASCO 2026"}, {"label": "Starts", "value": "Fri 29 May"}]
    assert (reply["replace_original"], reply["ephemeral"]) == (True, False)
    assert reply["form"] == {
        "submit_action": "form:meetings-add",
        "submit_label": "Add meeting",
        "title": "Add a meeting",
        "fields": [
            {"id": "catalog", "label": "From the catalog", "kind": "select", "required": False,
             "placeholder": "Pick a meeting", "value": "asco", "hint": "",
             "options": [{"label": "ASCO Annual Meeting", "value": "asco"}], "error": ""},
            {"id": "name", "label": "Name", "kind": "text", "required": True, "placeholder": "Heart Summit 2027",
             "value": "Heart Summit", "hint": "Leave empty to use the catalog name.", "options": [], "error": ""},
            {"id": "start", "label": "Starts", "kind": "date", "required": True, "placeholder": "", "value": "",
             "hint": "", "options": [], "error": ""},
            {"id": "embargo", "label": "Embargo rules", "kind": "multiline", "required": False,
             "placeholder": "", "value": "", "hint": "", "options": [], "error": ""},
            {"id": "lifts", "label": "Embargo lifts at", "kind": "time", "required": False,
             "placeholder": "", "value": "07:30", "hint": "", "options": [], "error": "Give the date too."},
        ],
    }
    [incoming] = coach.received
    assert incoming == Incoming(
        platform="web", user_id="dr-ada", text=SECRET_TEXT, display_name="Dr Ada Lovelace"
    )
    assert "dr-ada" in caplog.text
    assert SECRET_TEXT not in caplog.text


def test_reply_to_json_covers_every_field_and_is_json_safe() -> None:
    rendered = reply_to_json(FULL_REPLY)
    assert set(rendered) == {f.name for f in dataclasses.fields(Reply)}
    assert json.loads(json.dumps(rendered)) == rendered
    bare = reply_to_json(Reply(kind="help", text="Hi"))
    assert (bare["checklist"], bare["table"], bare["progress"], bare["form"]) == (None, None, None, None)
    assert bare["buttons"] == [] and bare["fields"] == []


@pytest.mark.asyncio
async def test_action_with_message_id_reaches_the_coach(client: Client, coach: FakeCoach) -> None:
    coach.replies = [FULL_REPLY, Reply(kind="quiz", text="Next question", replace_original=True)]
    response = await client.post(
        "/chat/api/message",
        json={"persona": "dr-bo", "action": "camp:asco:embargo", "message_id": "web-abc"},
    )
    assert response.status == 200
    [incoming] = coach.received
    assert (incoming.platform, incoming.user_id) == ("web", "dr-bo")
    assert (incoming.action, incoming.message_id, incoming.text) == ("camp:asco:embargo", "web-abc", None)
    first, second = (await response.json())["replies"]
    assert first["message_id"] == "web-abc", "an in-place update keeps the pressed message's id"
    assert second["message_id"] not in ("web-abc", first["message_id"])


@pytest.mark.asyncio
async def test_a_submitted_form_brings_its_values_to_the_coach(
    client: Client, coach: FakeCoach, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    coach.replies = [Reply(kind="meetings", text="Added", replace_original=True)]
    values = {"name": "Heart Summit 2027", "start": "2027-03-04", "embargo": "Line 1\nLine 2", "end": ""}
    response = await client.post(
        "/chat/api/message",
        json={"persona": "mm-kim", "action": "form:meetings-add", "message_id": "web-form", "values": values},
    )
    assert response.status == 200
    [incoming] = coach.received
    assert (incoming.action, incoming.message_id) == ("form:meetings-add", "web-form")
    assert dict(incoming.values) == values
    [reply] = (await response.json())["replies"]
    assert reply["message_id"] == "web-form", "the answer takes the form's place"
    assert "Heart Summit 2027" not in caplog.text


@pytest.mark.asyncio
async def test_replace_original_to_typed_text_gets_a_new_id(client: Client) -> None:
    response = await client.post(
        "/chat/api/message", json={"persona": "dr-bo", "text": "status", "message_id": "web-abc"}
    )
    [reply] = (await response.json())["replies"]
    assert reply["message_id"] != "web-abc"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"text": "help"}', '"persona" is required'),
        ('{"persona": 7, "text": "help"}', '"persona" is required'),
        ('{"persona": "dr-nobody", "text": "help"}', "unknown persona"),
        ('{"persona": "dr-ada"}', "exactly one"),
        ('{"persona": "dr-ada", "text": "help", "action": "stop"}', "exactly one"),
        ('{"persona": "dr-ada", "text": "   "}', '"text" must be'),
        ('{"persona": "dr-ada", "text": 5}', '"text" must be'),
        ('{"persona": "dr-ada", "action": ""}', '"action" must be'),
        ('{"persona": "dr-ada", "action": "stop", "message_id": 3}', '"message_id" must be'),
        (json.dumps({"persona": "dr-ada", "text": "x" * 20_001}), "too long"),
        ('{"persona": "dr-ada", "text": "help", "values": {"name": "x"}}', "go with a form"),
        ('{"persona": "dr-ada", "action": "form:x", "values": ["x"]}', '"values" must be an object'),
        ('{"persona": "dr-ada", "action": "form:x", "values": {"name": 5}}', '"values" must map'),
        ('{"persona": "dr-ada", "action": "form:x", "values": {"": "x"}}', '"values" must map'),
        (json.dumps({"persona": "dr-ada", "action": "form:x", "values": {f"f{i}": "" for i in range(41)}}),
         "at most 40 fields"),
    ],
)
@pytest.mark.asyncio
async def test_bad_messages_are_rejected(
    client: Client, coach: FakeCoach, payload: str, fragment: str
) -> None:
    response = await client.post(
        "/chat/api/message", data=payload, headers={"Content-Type": "application/json"}
    )
    assert fragment in await _error(response, 400)
    assert coach.received == []


@pytest.mark.asyncio
async def test_message_must_be_json(client: Client) -> None:
    response = await client.post("/chat/api/message", data="persona=dr-ada&text=help")
    assert "application/json" in await _error(response, 415)


@pytest.mark.asyncio
async def test_coach_failure_is_a_json_500_without_text_in_logs(
    client: Client, coach: FakeCoach, caplog: pytest.LogCaptureFixture
) -> None:
    coach.fail = True
    caplog.set_level(logging.DEBUG)
    response = await client.post("/chat/api/message", json={"persona": "dr-ada", "text": SECRET_TEXT})
    await _error(response, 500)
    assert "dr-ada" in caplog.text
    assert SECRET_TEXT not in caplog.text


# ---- clock ----


@pytest.mark.asyncio
async def test_clock_reports_now_in_utc(client: Client) -> None:
    response = await client.get("/chat/api/clock")
    assert await response.json() == {"now": "2026-06-01T09:00:00+00:00", "zone": "UTC", "control": True}


@pytest.mark.parametrize(
    ("advance", "delta"),
    [
        ("30m", timedelta(minutes=30)),
        ("3h", timedelta(hours=3)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
    ],
)
@pytest.mark.asyncio
async def test_clock_advances(client: Client, coach: FakeCoach, advance: str, delta: timedelta) -> None:
    response = await client.post("/chat/api/clock", json={"advance": advance})
    assert response.status == 200
    body = await response.json()
    assert datetime.fromisoformat(body["now"]) == START + delta == coach.now()
    assert body["zone"] == "UTC"


@pytest.mark.parametrize(
    "advance",
    ["-1d", "abc", "1y", "0d", "", "1.5d", " 1d", "1d ", "1 d", "1D", "+1d", "01d", "1d2h", "1234567w", "53w", "١d"],
)
@pytest.mark.asyncio
async def test_clock_rejects_bad_durations(client: Client, coach: FakeCoach, advance: str) -> None:
    response = await client.post("/chat/api/clock", json={"advance": advance})
    message = await _error(response, 400)
    assert "1d" in message or "at most" in message
    assert coach.now() == START


@pytest.mark.parametrize("payload", ['{"advance": 1}', '{"advance": null}', "{}", "{oops"])
@pytest.mark.asyncio
async def test_clock_rejects_bad_bodies(client: Client, payload: str) -> None:
    response = await client.post(
        "/chat/api/clock", data=payload, headers={"Content-Type": "application/json"}
    )
    await _error(response, 400)


@pytest.mark.asyncio
async def test_clock_passes_on_the_backends_refusal(client: Client, coach: FakeCoach) -> None:
    response = await client.post("/chat/api/clock", json={"advance": "5w"})
    assert "at most 4 weeks" in await _error(response, 400)
    assert coach.now() == START


@pytest.mark.asyncio
async def test_clock_control_can_be_off(coach: FakeCoach) -> None:
    client = await _client(coach, clock_control=False)
    try:
        assert (await (await client.get("/chat/api/clock")).json())["control"] is False
        response = await client.post("/chat/api/clock", json={"advance": "1d"})
        await _error(response, 403)
        assert coach.now() == START
    finally:
        await client.close()


def test_parse_duration() -> None:
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("52w") == timedelta(weeks=52)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("1y")
    with pytest.raises(ValueError, match="at most 366 days"):
        parse_duration("367d")


# ---- inbox ----


@pytest.mark.asyncio
async def test_inbox_returns_messages_after_a_sequence_number(client: Client, coach: FakeCoach) -> None:
    reminder = Reply(kind="reminder", text="Time for your lesson", buttons=(Button("Snooze", "snooze:1d"),))
    coach.delivered["dr-ada"] = [(1, Reply(kind="reminder", text="old")), (2, reminder)]
    response = await client.get("/chat/api/inbox", params={"persona": "dr-ada", "after": "1"})
    assert response.status == 200
    assert await response.json() == {
        "messages": [{"seq": 2, "reply": {**reply_to_json(reminder), "message_id": "inbox-2"}}]
    }
    everything = await (await client.get("/chat/api/inbox", params={"persona": "dr-ada"})).json()
    assert [m["seq"] for m in everything["messages"]] == [1, 2]
    others = await (await client.get("/chat/api/inbox", params={"persona": "dr-bo", "after": "0"})).json()
    assert others == {"messages": []}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"after": "0"}, '"persona" is required'),
        ({"persona": "dr-nobody", "after": "0"}, "unknown persona"),
        ({"persona": "dr-ada", "after": "-1"}, '"after"'),
        ({"persona": "dr-ada", "after": "x"}, '"after"'),
        ({"persona": "dr-ada", "after": ""}, '"after"'),
    ],
)
@pytest.mark.asyncio
async def test_inbox_rejects_bad_queries(client: Client, params: dict[str, str], fragment: str) -> None:
    response = await client.get("/chat/api/inbox", params=params)
    assert fragment in await _error(response, 400)
