"""Reply → Slack Block Kit, and pressed elements → coach actions. Pure functions, no I/O.

Every element the bot renders carries its coach action with it, so a press can be turned back
into an action without any server-side state:

- buttons: ``action_id`` ``v2:<verb>:<n>`` (the version of the action grammar, see
  :mod:`bot.actions`, the action's verb and a number unique in the message or view; version 1
  drew ``a0``, ``a1``, …), ``value`` = the action;
- overflow and select menus: each option's ``value`` = the action;
- checklists: ``checkboxes`` elements (at most 10 options each) whose option values are the
  item actions; the block_id records which items were ticked when the message was drawn, so
  that the one item a person ticked *or unticked* is known even where Slack does not send the
  original message back (ephemeral messages).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.actions import ACTION_VERSION, FOREIGN
from bot.core.forms import SNOOZE_KINDS, SNOOZE_MENU
from bot.core.words import say
from bot.messages import Button, Checklist, ChecklistItem, Progress, Reply, Table
from bot.words import Words

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
ACTIONS_PER_BLOCK = 25
OPTIONS_PER_CHECKBOXES = 10
BLOCK_ID = 255
IMAGE_ALT = 2000
NOTIFICATION_TEXT = 3000
TABLE_CELL = 28
TABLE_ROWS = 80
CHECKLIST_BLOCK = "cl"

MODAL_PREFIX = "modal:"
PROFILE_MODAL_ACTION = "modal:profile"
MEETING_MODAL_ACTION = "modal:meeting"
STORY_MODAL_ACTION = "modal:story"
CHECK_MODAL_ACTION = "modal:check"
FORM_MODALS = {"form:meetings-add": MEETING_MODAL_ACTION, "form:library-add": STORY_MODAL_ACTION}
"""Coach forms that Slack shows as one of its own modals: the action of the button that opens it."""
FORM_MODAL_BUTTONS = {MEETING_MODAL_ACTION: say("slack_button_open_meeting_form"),
                      STORY_MODAL_ACTION: say("slack_button_open_story_form")}
"""The words of the button that opens each form's modal."""

Block = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    """What chat.postMessage, chat.update and response_url take: notification text + blocks."""

    text: str
    blocks: list[Block]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass
class _Ids:
    """Hands out action ids unique within one message or view."""

    actions: int = 0
    checklists: int = 0

    def action(self, action: str) -> str:
        """A versioned id for the element that carries ``action`` (its verb names it)."""
        self.actions += 1
        return f"v{ACTION_VERSION}:{action.partition(':')[0]}:{self.actions - 1}"

    def checklist(self) -> int:
        self.checklists += 1
        return self.checklists - 1


@dataclass
class _Parts:
    """The blocks of one reply, kept apart so that long text can be trimmed first."""

    head: list[Block] = field(default_factory=list)
    text: list[Block] = field(default_factory=list)
    tail: list[Block] = field(default_factory=list)


# -- text --------------------------------------------------------------------------------------

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*]\s+", re.MULTILINE)


def escape(text: str) -> str:
    """Slack's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(markdown: str) -> str:
    """The project's Markdown subset → Slack mrkdwn (escaped, links as ``<url|label>``)."""
    text = escape(markdown)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _HEADING.sub(lambda m: f"*{m.group(1).strip()}*", text)
    text = _BOLD.sub(lambda m: f"*{m.group(1)}*", text)
    return _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1).replace('|', '¦')}>", text)


def plain(markdown: str) -> str:
    """The Markdown subset → plain text (labels, modal errors): links keep their label."""
    text = _LINK.sub(lambda m: m.group(1), markdown)
    return _BOLD.sub(lambda m: m.group(1), text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int = SECTION_TEXT) -> list[str]:
    """Cut text into pieces ≤ limit, at paragraph, then line, then word boundaries."""
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n", " "):
        parts = text.split(separator)
        if len(parts) < 2:
            continue
        pieces, current = [], ""
        for part in parts:
            candidate = f"{current}{separator}{part}" if current else part
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                pieces.append(current)
            current = part
        pieces.append(current)
        return [small for piece in pieces for small in split_text(piece, limit)]
    return [text[i:i + limit] for i in range(0, len(text), limit)]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


# -- pieces of a reply -----------------------------------------------------------------------------

def _progress(progress: Progress, words: Words) -> Block:
    filled = max(0, min(10, round(progress.score / 10)))
    bar = "█" * filled + "░" * (10 - filled)
    lines = [f"*{escape(words.say('slack_readiness', score=progress.score))}* · {escape(progress.stage)}", f"`{bar}`"]
    if progress.next_step:
        lines.append(f"*{escape(words.say('slack_next_step'))}* {mrkdwn(progress.next_step)}")
    return _section(clip("\n".join(lines), SECTION_TEXT))


def _fields(pairs: Sequence[tuple[str, str]]) -> list[Block]:
    texts = [clip(f"*{escape(label)}*\n{mrkdwn(value)}", FIELD_TEXT) for label, value in pairs]
    return [{"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in texts[i:i + FIELDS_PER_SECTION]]}
            for i in range(0, len(texts), FIELDS_PER_SECTION)]


def _table(table: Table, words: Words) -> list[Block]:
    """Two columns read well as fields; wider tables become aligned preformatted text."""
    if len(table.headers) == 2 and len(table.rows) <= 2 * FIELDS_PER_SECTION:
        return _fields([(row[0], row[1]) for row in table.rows if len(row) >= 2])
    cells = [[clip(c, TABLE_CELL) for c in row] for row in (table.headers, *table.rows[:TABLE_ROWS])]
    widths = [max((len(r[i]) for r in cells if i < len(r)), default=0) for i in range(len(table.headers))]
    header, *lines = [escape("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()) for r in cells]
    blocks: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([header, *chunk, line])) + 6 > SECTION_TEXT:
            blocks.append(_section("```" + "\n".join([header, *chunk]) + "```"))
            chunk = []
        chunk.append(line)
    blocks.append(_section("```" + "\n".join([header, *chunk]) + "```"))
    if len(table.rows) > TABLE_ROWS:
        more = len(table.rows) - TABLE_ROWS
        blocks.append(_context(words.say("slack_more_rows", n=more) if more != 1 else words.say("slack_more_row")))
    return blocks


def _context(markdown_text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(mrkdwn(markdown_text), SECTION_TEXT)}]}


def _button(button: Button, ids: _Ids) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "action_id": ids.action(button.action),
                               "text": _plain(button.label, BUTTON_TEXT), "value": button.action[:BUTTON_VALUE]}
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _option(label: str, value: str, description: str = "") -> dict[str, Any]:
    option: dict[str, Any] = {"text": _plain(label, OPTION_TEXT), "value": value[:OPTION_VALUE]}
    if description:
        option["description"] = _plain(description, OPTION_TEXT)
    return option


def snooze_menu(ids: _Ids, words: Words, *, select: bool = False) -> dict[str, Any]:
    """The snooze choices (:data:`~bot.core.forms.SNOOZE_MENU`) as an overflow menu (messages) or a
    select (Home)."""
    options = [_option(words.of(choice.label), choice.action) for choice in SNOOZE_MENU.choices]
    if select:
        return {"type": "static_select", "action_id": ids.action("snooze"),
                "placeholder": _plain(words.of(SNOOZE_MENU.placeholder), 150), "options": options}
    return {"type": "overflow", "action_id": ids.action("snooze"), "options": options}


def _actions(elements: list[dict[str, Any]]) -> list[Block]:
    return [{"type": "actions", "elements": elements[i:i + ACTIONS_PER_BLOCK]}
            for i in range(0, len(elements), ACTIONS_PER_BLOCK)]


def _checklist(checklist: Checklist, ids: _Ids, words: Words) -> list[Block]:
    done_count = words.say("slack_checklist_done", done=checklist.done_count, total=len(checklist.items))
    blocks = [_section(clip(f"*{escape(checklist.title)}* · {escape(done_count)}", SECTION_TEXT))]
    for chunk in _checklist_chunks(checklist.items):
        prefix = _common_prefix([item.action for item in chunk])
        done = [item.action[len(prefix):] for item in chunk if item.done]
        options = [_option(item.label, item.action, item.due or item.detail) for item in chunk]
        element: dict[str, Any] = {"type": "checkboxes", "action_id": ids.action(prefix), "options": options}
        initial = [option for option, item in zip(options, chunk, strict=True) if item.done]
        if initial:
            element["initial_options"] = initial
        block_id = _checklist_block_id(ids.checklist(), prefix, done)
        blocks.append({"type": "actions", "block_id": block_id, "elements": [element]})
    return blocks


def _checklist_block_id(number: int, prefix: str, done: Sequence[str]) -> str:
    return json.dumps([CHECKLIST_BLOCK, number, prefix, list(done)], separators=(",", ":"), ensure_ascii=False)


def _checklist_chunks(items: Sequence[ChecklistItem]) -> list[list[ChecklistItem]]:
    """≤ 10 items per element, fewer when the ticked items' ids would overflow the block_id."""
    chunks: list[list[ChecklistItem]] = []
    current: list[ChecklistItem] = []
    for item in items:
        candidate = [*current, item]
        prefix = _common_prefix([i.action for i in candidate])
        block_id = _checklist_block_id(999, prefix, [i.action[len(prefix):] for i in candidate if i.done])
        if current and (len(candidate) > OPTIONS_PER_CHECKBOXES or len(block_id) > BLOCK_ID):
            chunks.append(current)
            candidate = [item]
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def _common_prefix(actions: Sequence[str]) -> str:
    """The shared ``verb:…:`` part of the actions, cut at the last colon."""
    if len(actions) < 2:
        head, sep, _ = actions[0].rpartition(":") if actions else ("", "", "")
        return head + sep
    shared = actions[0]
    for action in actions[1:]:
        while not action.startswith(shared):
            shared = shared[:-1]
    head, sep, _ = shared.rpartition(":")
    return head + sep


def _extra_buttons(reply: Reply, words: Words) -> tuple[Button, ...]:
    """Slack-only affordances: the profile form, the draft checker and the coach's forms open modals."""
    if reply.kind == "profile" and reply.checklist is not None:
        return (Button(words.say("slack_button_enter_handle"), PROFILE_MODAL_ACTION),)
    if reply.kind == "check":
        label = words.say("slack_button_check_another") if reply.fields else words.say("slack_button_check_draft")
        return (Button(label, CHECK_MODAL_ACTION),)
    if reply.form is not None and reply.form.submit_action in FORM_MODALS:
        modal = FORM_MODALS[reply.form.submit_action]
        return (Button(words.of(FORM_MODAL_BUTTONS[modal]), modal, "primary"),)
    return ()


def _parts(reply: Reply, ids: _Ids, words: Words, snooze: bool, extras: bool = True,
           image_url: str | None = None) -> _Parts:
    parts = _Parts()
    if reply.title:
        parts.head.append({"type": "header", "text": _plain(reply.title, HEADER_TEXT)})
    if reply.progress is not None:
        parts.head.append(_progress(reply.progress, words))
    body = reply.body or reply.text
    parts.text.extend(_section(piece) for piece in split_text(mrkdwn(body)))
    if reply.fields:
        parts.text.extend(_fields(reply.fields))
    if reply.table is not None:
        parts.text.extend(_table(reply.table, words))
    if reply.image is not None and image_url:
        parts.text.append({"type": "image", "image_url": image_url, "alt_text": clip(reply.image.alt, IMAGE_ALT)})
    if reply.checklist is not None and reply.checklist.items:
        parts.tail.extend(_checklist(reply.checklist, ids, words))
    elements = [_button(b, ids) for b in (*reply.buttons, *(_extra_buttons(reply, words) if extras else ()))]
    if snooze and reply.kind in SNOOZE_KINDS:
        elements.append(snooze_menu(ids, words))
    parts.tail.extend(_actions(elements))
    if reply.footer:
        parts.tail.append(_context(reply.footer))
    if not (parts.head or parts.text or parts.tail):
        parts.text.append(_section(clip(mrkdwn(reply.kind), SECTION_TEXT)))
    return parts


def _fit(parts: _Parts, limit: int, words: Words) -> list[Block]:
    """At most ``limit`` blocks: long text gives way first, then the tail is cut."""
    room = limit - len(parts.head) - len(parts.tail)
    text = parts.text
    if len(text) > room:
        keep = max(room - 1, 0)
        text = text[:keep] + ([_context(words.say("slack_shortened"))] if room > 0 else [])
    return (parts.head + text + parts.tail)[:limit]


def reply_blocks(reply: Reply, words: Words, ids: _Ids | None = None, *, limit: int = MESSAGE_BLOCKS,
                 snooze: bool = True, extras: bool = True, image_url: str | None = None) -> list[Block]:
    """One reply's blocks; ``snooze`` adds the snooze menu to the kinds reminders use, ``extras`` the
    Slack-only buttons that open modals (left out inside a modal); ``image_url`` shows the reply's
    chart (Slack loads images only from a URL; without one the text stands alone)."""
    return _fit(_parts(reply, ids or _Ids(), words, snooze, extras, image_url), limit, words)


def notification_text(reply: Reply) -> str:
    """The plain summary shown in notifications (and by clients that cannot show blocks)."""
    return clip(mrkdwn(reply.text or reply.title or reply.kind), NOTIFICATION_TEXT)


def render_message(reply: Reply, words: Words, image_url: str | None = None) -> SlackMessage:
    """One Reply as one Slack message (≤ 50 blocks)."""
    return SlackMessage(notification_text(reply), reply_blocks(reply, words, image_url=image_url))


def modal_blocks(replies: Sequence[Reply], words: Words, limit: int = VIEW_BLOCKS) -> list[Block]:
    """Replies shown inside a modal (≤ ``limit`` blocks): no snooze menu, no buttons that open modals."""
    ids = _Ids()
    blocks: list[Block] = []
    for reply in replies:
        room = limit - len(blocks) - (1 if blocks else 0)
        if room < 1:
            break
        if blocks:
            blocks.append({"type": "divider"})
        blocks.extend(reply_blocks(reply, words, ids, limit=room, snooze=False, extras=False))
    return blocks


def home_view(replies: Sequence[Reply], words: Words, *, admin_tools: bool | None = None) -> dict[str, Any]:
    """The App Home tab from ``Coach.home``'s replies (≤ 100 blocks)."""
    ids = _Ids()
    onboarding = any(r.kind == "onboarding" for r in replies)
    admin = admin_tools if admin_tools is not None else any(r.kind == "report" for r in replies)
    blocks: list[Block] = [{"type": "header", "text": _plain(words.say("slack_home_title"), HEADER_TEXT)}]
    if not onboarding:
        elements = [_button(Button(words.say("button_next_lesson"), "cmd:lesson", "primary"), ids),
                    _button(Button(words.say("slack_button_my_handle"), PROFILE_MODAL_ACTION), ids),
                    _button(Button(words.say("slack_button_check_draft"), CHECK_MODAL_ACTION), ids)]
        if admin:
            elements.append(_button(Button(words.say("slack_button_add_meeting"), MEETING_MODAL_ACTION), ids))
            elements.append(_button(Button(words.say("slack_button_add_story"), STORY_MODAL_ACTION), ids))
        elements.append(snooze_menu(ids, words, select=True))
        blocks.extend(_actions(elements))
    for reply in replies:
        room = VIEW_BLOCKS - len(blocks) - 1
        if room < 2:
            break
        blocks.append({"type": "divider"})
        blocks.extend(reply_blocks(reply, words, ids, limit=room, snooze=False))
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


# -- pressed elements → coach actions ----------------------------------------------------------------

_V1_ID = re.compile(r"^a\d+$")
_VERSIONED_ID = re.compile(r"^v(\d{1,4}):")


def action_version(action_id: Any) -> int:
    """The version stamp of an element's ``action_id``: 1 for ``a0``, … (before stamps), ``N`` for
    ``vN:…``, :data:`~bot.actions.FOREIGN` for ids this bot never draws."""
    if not isinstance(action_id, str):
        return FOREIGN
    if _V1_ID.match(action_id):
        return 1
    match = _VERSIONED_ID.match(action_id)
    return int(match.group(1)) if match else FOREIGN


def actions_of(element: dict[str, Any]) -> list[str]:
    """The coach action(s) one ``block_actions`` element stands for (usually exactly one)."""
    kind = element.get("type")
    if kind == "button":
        value = element.get("value")
        return [value] if isinstance(value, str) and value else []
    if kind in ("overflow", "static_select", "radio_buttons"):
        selected = element.get("selected_option") or {}
        value = selected.get("value")
        return [value] if isinstance(value, str) and value else []
    if kind == "checkboxes":
        return _toggled(element)
    return []


def _toggled(element: dict[str, Any]) -> list[str]:
    try:
        tag, _, prefix, done_suffixes = json.loads(element.get("block_id") or "")
    except (ValueError, TypeError):
        return []
    if tag != CHECKLIST_BLOCK or not isinstance(prefix, str) or not isinstance(done_suffixes, list):
        return []
    was_done = [prefix + str(s) for s in done_suffixes]
    selected = [o.get("value") for o in element.get("selected_options") or [] if isinstance(o.get("value"), str)]
    ticked = [v for v in selected if v not in was_done]
    unticked = [v for v in was_done if v not in selected]
    return _unique(ticked + unticked)


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)
