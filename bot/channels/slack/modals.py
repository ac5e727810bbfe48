"""The Slack modals — profile (X handle), add-a-meeting and the draft checker — and how their
answers become coach commands. Pure functions, no I/O."""
from __future__ import annotations

import json
import shlex
from typing import Any, Sequence

from bot.channels.slack.render import OPTION_TEXT, OPTION_VALUE, VIEW_BLOCKS, clip, modal_blocks, plain
from bot.core.models import CatalogMeeting
from bot.messages import Reply

PROFILE_CALLBACK = "rounds_profile"
MEETING_CALLBACK = "rounds_meeting"
CHECK_CALLBACK = "rounds_check"
DRAFT_BLOCK = "draft"
DRAFT_MAX_CHARS = 3000
"""Slack accepts a ``max_length`` of 1–3000 on a plain-text input."""
HANDLE_BLOCK = "handle"
VALUE = "value"
METADATA_LIMIT = 3000
ERROR_TEXT = 300

MEETING_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    # block id / command key, label, placeholder, multiline
    ("name", "Name (leave empty to use the catalog name)", "Heart Summit 2027", False),
    ("city", "City", "Chicago", False),
    ("hashtag", "Hashtag", "#HS27", False),
    ("embargo", "Embargo rules", "Abstracts are embargoed until presented.", True),
    ("attendees", "Invite (departments or emails, comma-separated)", "Cardiology, ana.ortiz@hospital.org", False),
)
DATE_FIELDS = ("start", "end")
CATALOG_BLOCK = "catalog"


def _text(text: str, limit: int = 2000) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _frame(callback_id: str, title: str, submit: str, blocks: list[dict[str, Any]],
           metadata: dict[str, str] | None) -> dict[str, Any]:
    encoded = json.dumps(metadata or {}, separators=(",", ":"))
    return {
        "type": "modal", "callback_id": callback_id, "title": _text(title, 24), "submit": _text(submit, 24),
        "close": _text("Cancel", 24), "blocks": blocks,
        "private_metadata": encoded if len(encoded) <= METADATA_LIMIT else "{}",
    }


def profile_modal(handle: str | None, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Ask for the physician's X handle; the coach validates it on submit."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE, "max_length": 40,
                               "placeholder": _text("@DrJaneRivera", 150)}
    if handle:
        element["initial_value"] = f"@{handle}"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "Your professional X account: a name-based handle of up to 15 letters, digits or underscores. "
            "Colleagues and patients look at it first.")}},
        {"type": "input", "block_id": HANDLE_BLOCK, "label": _text("X handle"), "element": element,
         "hint": _text("Create the account on x.com first, then enter its handle here.")},
    ]
    return _frame(PROFILE_CALLBACK, "Your X profile", "Save", blocks, metadata)


def meeting_modal(catalog: Sequence[CatalogMeeting], metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Put a meeting on the calendar (admins); a catalog meeting fills name, hashtag and embargo."""
    blocks: list[dict[str, Any]] = []
    options = [{"text": _text(m.name, OPTION_TEXT), "value": m.key[:OPTION_VALUE]} for m in catalog[:100]]
    if options:
        blocks.append({"type": "input", "block_id": CATALOG_BLOCK, "optional": True,
                       "label": _text("From the meeting catalog"),
                       "element": {"type": "static_select", "action_id": VALUE, "options": options,
                                   "placeholder": _text("Pick a meeting", 150)}})
    for block_id, label, placeholder, multiline in MEETING_FIELDS[:1]:
        blocks.append(_input(block_id, label, placeholder, multiline))
    blocks.append({"type": "input", "block_id": "start", "label": _text("Starts"),
                   "element": {"type": "datepicker", "action_id": VALUE}})
    blocks.append({"type": "input", "block_id": "end", "optional": True, "label": _text("Ends"),
                   "element": {"type": "datepicker", "action_id": VALUE}})
    for block_id, label, placeholder, multiline in MEETING_FIELDS[1:]:
        blocks.append(_input(block_id, label, placeholder, multiline))
    return _frame(MEETING_CALLBACK, "Add a meeting", "Add", blocks, metadata)


def _draft_input(label: str, draft: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE, "multiline": True,
                               "max_length": DRAFT_MAX_CHARS,
                               "placeholder": _text("Great session on #SoMe today! Slides: …", 150)}
    if draft:
        element["initial_value"] = draft[:DRAFT_MAX_CHARS]
    return {"type": "input", "block_id": DRAFT_BLOCK, "label": _text(label), "element": element,
            "hint": _text("Checked in memory only: your draft is never stored or logged.")}


def check_modal() -> dict[str, Any]:
    """Paste a draft post to check it for privacy and professionalism risks before posting."""
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "Paste the post you plan to publish. I look for patient identifiers, medical advice, missing "
            "disclosures, embargo breaks and tone, and tell you what to fix.")}},
        _draft_input("Your draft post"),
    ]
    return _frame(CHECK_CALLBACK, "Check a draft", "Check", blocks, None)


def check_result_modal(replies: Sequence[Reply], draft: str) -> dict[str, Any]:
    """The check's answer in the modal, with the draft below it to edit and check again."""
    blocks = modal_blocks(replies, VIEW_BLOCKS - 2)
    blocks += [{"type": "divider"}, _draft_input("Edit the draft and check again, or paste another", draft)]
    view = _frame(CHECK_CALLBACK, "Draft check", "Check again", blocks, None)
    view["close"] = _text("Done", 24)
    return view


def _input(block_id: str, label: str, placeholder: str, multiline: bool) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE,
                               "placeholder": _text(placeholder, 150)}
    if multiline:
        element["multiline"] = True
    return {"type": "input", "block_id": block_id, "optional": True, "label": _text(label), "element": element}


def values(view: dict[str, Any]) -> dict[str, str]:
    """Each input block's answer as text ('' when empty)."""
    answers: dict[str, str] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        state = (actions or {}).get(VALUE) or {}
        selected = state.get("selected_option") or {}
        value = state.get("value") or state.get("selected_date") or selected.get("value") or ""
        answers[block_id] = str(value).strip()
    return answers


def metadata(view: dict[str, Any]) -> dict[str, str]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def check_draft(view: dict[str, Any]) -> str:
    """The draft typed into the check modal (kept in memory only)."""
    return values(view).get(DRAFT_BLOCK, "")


def profile_command(view: dict[str, Any]) -> str:
    return f"profile {values(view).get(HANDLE_BLOCK, '')}".strip()


def meeting_command(view: dict[str, Any]) -> str:
    """The coach's ``meetings add`` grammar: ``meetings add [catalog key] start=… name="…" …``."""
    answers = values(view)
    words = ["meetings", "add"]
    if answers.get(CATALOG_BLOCK):
        words.append(shlex.quote(answers[CATALOG_BLOCK]))
    for key in ("name", *DATE_FIELDS, *(f[0] for f in MEETING_FIELDS[1:])):
        if answers.get(key):
            words.append(f"{key}={shlex.quote(answers[key])}")
    return " ".join(words)


_ERROR_PLACES: tuple[tuple[str, str], ...] = (
    ("needs a name", "name"), ("hashtag", "hashtag"), ("ends before", "end"), ("end “", "end"),
    ("start", "start"), ("catalog", CATALOG_BLOCK),
)


def meeting_error_block(message: str, view: dict[str, Any]) -> str:
    """Which input of ``view`` an error from the coach belongs to, so Slack shows it there."""
    present = {block.get("block_id") for block in view.get("blocks") or [] if block.get("type") == "input"}
    lowered = message.lower()
    for needle, block in _ERROR_PLACES:
        if needle in lowered and block in present:
            return block
    return "name"


def error_text(message: str) -> str:
    """A coach error as the short plain text Slack shows under an input."""
    return clip(plain(message).replace("`", ""), ERROR_TEXT)
