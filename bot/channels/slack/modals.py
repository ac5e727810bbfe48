"""The Slack modals — profile (X handle), the coach's forms (add a meeting) and the draft checker —
how their answers go to the coach, and how its errors come back to their inputs. Pure functions, no I/O.

A coach form (:class:`~bot.messages.Form`) becomes one input block per field, whose ``block_id`` is
the field id: a submission's values are ``{field id: value}``, and an error the coach puts at a
field is shown at that input (``response_action: errors``).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.channels.slack.render import OPTION_TEXT, OPTION_VALUE, VIEW_BLOCKS, clip, modal_blocks, plain
from bot.messages import Form, FormField, Reply
from bot.words import Words

PROFILE_CALLBACK = "rounds_profile"
MEETING_CALLBACK = "rounds_meeting"
STORY_CALLBACK = "rounds_story"
CHECK_CALLBACK = "rounds_check"
DRAFT_BLOCK = "draft"
DRAFT_MAX_CHARS = 3000
"""Slack accepts a ``max_length`` of 1–3000 on a plain-text input."""
HANDLE_BLOCK = "handle"
VALUE = "value"
METADATA_LIMIT = 3000
ERROR_TEXT = 300

SELECT_OPTIONS = 100
"""Slack shows at most 100 options in a static select."""


def _text(text: str, limit: int = 2000) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _frame(callback_id: str, title: str, submit: str, close: str, blocks: list[dict[str, Any]],
           metadata: dict[str, str] | None) -> dict[str, Any]:
    encoded = json.dumps(metadata or {}, separators=(",", ":"))
    return {
        "type": "modal", "callback_id": callback_id, "title": _text(title, 24), "submit": _text(submit, 24),
        "close": _text(close, 24), "blocks": blocks,
        "private_metadata": encoded if len(encoded) <= METADATA_LIMIT else "{}",
    }


def profile_modal(handle: str | None, words: Words, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Ask for the physician's X handle; the coach validates it on submit."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE, "max_length": 40,
                               "placeholder": _text(words.say("slack_profile_placeholder"), 150)}
    if handle:
        element["initial_value"] = f"@{handle}"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": words.say("slack_profile_intro")}},
        {"type": "input", "block_id": HANDLE_BLOCK, "label": _text(words.say("slack_profile_label")),
         "element": element, "hint": _text(words.say("slack_profile_hint"))},
    ]
    return _frame(PROFILE_CALLBACK, words.say("slack_profile_title"), words.say("slack_profile_submit"),
                  words.say("slack_modal_cancel"), blocks, metadata)


def form_modal(form: Form, callback_id: str, words: Words, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """A coach form as a modal: one input block per field, in the form's order, with its words."""
    blocks = [_form_input(field) for field in form.fields]
    return _frame(callback_id, form.title or words.say("slack_form_title"), form.submit_label,
                  words.say("slack_modal_cancel"), blocks, metadata)


def _form_input(field: FormField) -> dict[str, Any]:
    element: dict[str, Any]
    if field.kind == "select":
        options = [{"text": _text(label, OPTION_TEXT), "value": value[:OPTION_VALUE]}
                   for label, value in field.options[:SELECT_OPTIONS]]
        element = {"type": "static_select", "action_id": VALUE, "options": options}
        initial = next((o for o in options if o["value"] == field.value), None)
        if initial:
            element["initial_option"] = initial
    elif field.kind == "date":
        element = {"type": "datepicker", "action_id": VALUE}
        if field.value:
            element["initial_date"] = field.value
    elif field.kind == "time":
        element = {"type": "timepicker", "action_id": VALUE}
        if field.value:
            element["initial_time"] = field.value
    else:
        element = {"type": "plain_text_input", "action_id": VALUE}
        if field.kind == "multiline":
            element["multiline"] = True
        if field.value:
            element["initial_value"] = field.value[:DRAFT_MAX_CHARS]
    if field.placeholder:
        element["placeholder"] = _text(field.placeholder, 150)
    block: dict[str, Any] = {"type": "input", "block_id": field.id, "label": _text(field.label), "element": element}
    if not field.required:
        block["optional"] = True
    if field.hint:
        block["hint"] = _text(field.hint)
    return block


def _draft_input(label: str, words: Words, draft: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE, "multiline": True,
                               "max_length": DRAFT_MAX_CHARS,
                               "placeholder": _text(words.say("slack_check_placeholder"), 150)}
    if draft:
        element["initial_value"] = draft[:DRAFT_MAX_CHARS]
    return {"type": "input", "block_id": DRAFT_BLOCK, "label": _text(label), "element": element,
            "hint": _text(words.say("slack_check_hint"))}


def check_modal(words: Words) -> dict[str, Any]:
    """Paste a draft post to check it for privacy and professionalism risks before posting."""
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": words.say("slack_check_intro")}},
        _draft_input(words.say("slack_check_label"), words),
    ]
    return _frame(CHECK_CALLBACK, words.say("slack_check_title"), words.say("slack_check_submit"),
                  words.say("slack_modal_cancel"), blocks, None)


def check_result_modal(replies: Sequence[Reply], draft: str, words: Words) -> dict[str, Any]:
    """The check's answer in the modal, with the draft below it to edit and check again."""
    blocks = modal_blocks(replies, words, VIEW_BLOCKS - 2)
    blocks += [{"type": "divider"}, _draft_input(words.say("slack_check_again_label"), words, draft)]
    return _frame(CHECK_CALLBACK, words.say("slack_check_result_title"), words.say("slack_check_again"),
                  words.say("slack_modal_done"), blocks, None)


def values(view: dict[str, Any]) -> dict[str, str]:
    """Each input block's answer as text ('' when empty)."""
    answers: dict[str, str] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        state = (actions or {}).get(VALUE) or {}
        selected = state.get("selected_option") or {}
        value = (state.get("value") or state.get("selected_date") or state.get("selected_time")
                 or selected.get("value") or "")
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


def modal_errors(replies: Sequence[Reply], view: dict[str, Any], errors_at: str) -> dict[str, str]:
    """A submission's error as ``response_action: errors`` (block id → text; empty: no error): each at
    the input of the field the coach put it at, else at ``errors_at``, else at the first input."""
    if not replies or replies[0].kind != "error":
        return {}
    reply = replies[0]
    present = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    fallback = errors_at if errors_at in present or not present else present[0]
    errors: dict[str, str] = {}
    for field, message in ((reply.form.errors if reply.form else None) or {errors_at: reply.text}).items():
        where = field if field in present else fallback
        errors[where] = error_text(" ".join(x for x in (errors.get(where), message) if x))
    return errors


def error_text(message: str) -> str:
    """A coach error as the short plain text Slack shows under an input."""
    return clip(plain(message).replace("`", ""), ERROR_TEXT)
