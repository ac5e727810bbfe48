"""Reply → Adaptive Card 1.5 for Microsoft Teams: pure functions, no I/O, no SDK.

Every button becomes an ``Action.Execute`` whose ``data`` is ``{"action": "<coach action>", "version": 2}``;
every checklist row is tappable (an ``Action.Execute`` select action) so ticking an item
refreshes the card in place. A form becomes inputs (``Input.Text``, ``Input.Date``,
``Input.Time``, ``Input.ChoiceSet``) whose ids are the form's field ids, each with its hint and the
error the coach put at it below, and one ``Action.Execute`` that submits them: Teams adds each
input's value to ``data`` beside ``action``. The replies Slack gives a snooze menu get the same
choices as overflow actions (``mode: secondary``, Teams' "…" menu). A card never exceeds
:data:`CARD_BUDGET` bytes: when it would, item details are dropped first, then table rows, then
the body is shortened. The card's own words ("of 100", "Mark as done" …) are ``teams_*`` in
``prompts/words.yaml``.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any

from bot.actions import ACTION_VERSION
from bot.core.forms import SNOOZE_KINDS, SNOOZE_MENU
from bot.messages import Button, Checklist, Form, FormField, Progress, Reply, Table
from bot.words import Words

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
CARD_BUDGET = 28 * 1024
"""Bytes of card JSON; a conservative budget well inside Teams' ~100 KB message limit."""
EXECUTE_VERB = "rounds"
"""The one ``Action.Execute`` verb; the coach action travels in ``data.action``."""
SHORT_LABEL = 24
"""Buttons with longer labels get a full-width row each instead of sharing one."""
BUTTONS_PER_ROW = 5
TABLE_MAX_COLUMNS = 4
"""Wider tables are shown one block per row: a chat-width card has no room for more columns."""
MAX_BODY_CHARS = 6000
INPUT_MAX_CHARS = {"text": 500, "multiline": 3000}
"""Longest value a text input takes (Adaptive Cards ``maxLength``)."""

_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_LIST_LINE = re.compile(r"^\s*(?:[-*]|\d+\.)\s")


def to_card_markdown(text: str) -> str:
    """The Markdown subset Teams renders: ``code`` spans become bold (Teams has no inline code)."""
    return _CODE.sub(lambda m: f"**{m.group(1)}**", text)


def plain_text(text: str) -> str:
    """Markdown → plain text for notifications and ``fallbackText``."""
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _CODE.sub(lambda m: m.group(1), text)
    text = re.sub(r"\*\*([^*\n]+)\*\*", r"\1", text)
    text = re.sub(r"(?<![A-Za-z0-9])_([^_\n]+)_(?![A-Za-z0-9])", r"\1", text)
    return text.strip()


def action_data(action: str) -> dict[str, Any]:
    """What a pressed element sends back: the coach action and the version of the action grammar
    that drew it (:mod:`bot.actions`; cards without ``version`` were drawn by version 1)."""
    return {"action": action, "version": ACTION_VERSION}


def execute(title: str, action: str, *, style: str = "default", tooltip: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": EXECUTE_VERB,
                               "data": action_data(action)}
    if style != "default":
        element["style"] = style
    if tooltip:
        element["tooltip"] = tooltip
    return element


def text_block(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _paragraphs(markdown: str) -> list[dict[str, Any]]:
    """One TextBlock per paragraph line; consecutive list lines stay together as one list."""
    blocks: list[dict[str, Any]] = []
    group: list[str] = []

    def flush() -> None:
        if group:
            blocks.append(text_block("\n".join(group)))
            group.clear()

    for line in to_card_markdown(markdown).splitlines():
        if not line.strip():
            flush()
        elif _LIST_LINE.match(line):
            group.append(line.strip())
        else:
            flush()
            blocks.append(text_block(line.strip()))
    flush()
    return blocks


def _progress(progress: Progress, words: Words) -> dict[str, Any]:
    return {"type": "ColumnSet", "columns": [
        {"type": "Column", "width": "auto", "verticalContentAlignment": "Center", "items": [
            text_block(str(progress.score), size="ExtraLarge", weight="Bolder", color="Accent"),
            text_block(words.say("teams_score_of"), isSubtle=True, size="Small", spacing="None"),
        ]},
        {"type": "Column", "width": "stretch", "verticalContentAlignment": "Center", "items": [
            text_block(progress.stage, weight="Bolder"),
            *([text_block(to_card_markdown(progress.next_step), spacing="Small")] if progress.next_step else []),
        ]},
    ]}


def _checklist(checklist: Checklist, words: Words, details: bool) -> dict[str, Any]:
    count = f"{checklist.done_count}/{len(checklist.items)}"
    title = checklist.title if count in checklist.title else \
        words.say("teams_checklist_done", title=checklist.title, count=count)
    rows: list[dict[str, Any]] = [text_block(title, weight="Bolder")]
    for item in checklist.items:
        lines = [text_block(item.label, weight="Bolder" if not item.done else "Default")]
        if item.due:
            lines.append(text_block(item.due, isSubtle=True, size="Small", spacing="None"))
        if details and item.detail:
            lines.append(text_block(to_card_markdown(item.detail), isSubtle=True, size="Small", spacing="None"))
        verb = words.say("teams_mark_not_done") if item.done else words.say("teams_mark_done")
        rows.append({
            "type": "ColumnSet", "separator": True, "spacing": "Small",
            "selectAction": execute(verb, item.action,
                                    tooltip=words.say("teams_mark_tooltip", verb=verb, item=item.label)),
            "columns": [
                {"type": "Column", "width": "auto", "items": [text_block("✅" if item.done else "⬜")]},
                {"type": "Column", "width": "stretch", "items": lines},
            ],
        })
    return {"type": "Container", "spacing": "Medium", "items": rows}


def _table(table: Table, words: Words, max_rows: int | None) -> list[dict[str, Any]]:
    """Narrow tables as a Table element; wide ones as one block per row (readable at chat width)."""
    rows = table.rows if max_rows is None else table.rows[:max_rows]
    if len(table.headers) <= TABLE_MAX_COLUMNS:
        blocks = [_grid(table.headers, rows)]
    else:
        blocks = [_record(table.headers, row) for row in rows]
    if len(rows) < len(table.rows):
        blocks.append(text_block(words.say("teams_showing_rows", shown=len(rows), total=len(table.rows)),
                                  isSubtle=True, size="Small"))
    return blocks


def _grid(headers: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    def row(cells: tuple[str, ...], header: bool = False) -> dict[str, Any]:
        return {"type": "TableRow", "cells": [
            {"type": "TableCell", "items": [text_block(cell, weight="Bolder") if header else text_block(cell)]}
            for cell in cells]}

    return {
        "type": "Table", "spacing": "Medium", "gridStyle": "accent", "firstRowAsHeader": True,
        "columns": [{"type": "TableColumnDefinition", "width": 1} for _ in headers],
        "rows": [row(headers, header=True), *(row(r) for r in rows)],
    }


def _record(headers: tuple[str, ...], row: tuple[str, ...]) -> dict[str, Any]:
    """One row of a wide table: its first cell as a heading, the others as label/value facts."""
    return {"type": "Container", "separator": True, "spacing": "Small", "items": [
        text_block(row[0] if row else "", weight="Bolder"),
        {"type": "FactSet", "spacing": "None",
         "facts": [{"title": label, "value": value} for label, value in zip(headers[1:], row[1:], strict=False)]},
    ]}


def _button_rows(buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    """ActionSets: long labels one per row (full width), short ones up to five a row."""
    style = {"primary": "positive", "danger": "destructive", "default": "default"}
    sets: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for button in buttons:
        action = execute(button.label, button.action, style=style[button.style])
        if len(button.label) > SHORT_LABEL:
            if current:
                sets.append(current)
                current = []
            sets.append([action])
        else:
            current.append(action)
            if len(current) == BUTTONS_PER_ROW:
                sets.append(current)
                current = []
    if current:
        sets.append(current)
    return [{"type": "ActionSet", "actions": actions} for actions in sets]


def _input(field: FormField, words: Words) -> list[dict[str, Any]]:
    """The field's input, then its hint and its error (an input has no place for either)."""
    kinds = {"text": "Input.Text", "multiline": "Input.Text", "date": "Input.Date", "time": "Input.Time",
             "select": "Input.ChoiceSet"}
    element: dict[str, Any] = {"type": kinds[field.kind], "id": field.id, "label": field.label}
    if field.kind == "select":
        element.update(style="compact", choices=[{"title": label, "value": value} for label, value in field.options])
    if field.kind in INPUT_MAX_CHARS:
        element["maxLength"] = INPUT_MAX_CHARS[field.kind]
    if field.kind == "multiline":
        element["isMultiline"] = True
    if field.placeholder:
        element["placeholder"] = field.placeholder
    if field.value:
        element["value"] = field.value
    if field.required:
        element.update(isRequired=True, errorMessage=words.say("teams_required", label=field.label))
    notes = [text_block(field.hint, isSubtle=True, size="Small", spacing="None")] if field.hint else []
    if field.error:
        notes.append(text_block(field.error, color="Attention", weight="Bolder", size="Small", spacing="None"))
    return [element, *notes]


def _form(form: Form, words: Words) -> list[dict[str, Any]]:
    """The form's inputs and its submit action (Teams checks required inputs before it sends)."""
    inputs = [item for f in form.fields for item in _input(f, words)]
    submit = execute(form.submit_label, form.submit_action, style="positive")
    return [*([{"type": "Container", "spacing": "Medium", "items": inputs}] if inputs else []),
            {"type": "ActionSet", "actions": [submit]}]


def _snooze_menu(words: Words) -> dict[str, Any]:
    """The snooze choices (:data:`~bot.core.forms.SNOOZE_MENU`) in the card's "…" menu."""
    actions = [{**execute(words.of(choice.label), choice.action), "mode": "secondary"}
               for choice in SNOOZE_MENU.choices]
    return {"type": "ActionSet", "actions": actions}


def _card(reply: Reply, words: Words, *, details: bool, max_rows: int | None,
          body_chars: int | None) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if reply.title:
        body.append(text_block(reply.title, size="Medium", weight="Bolder", style="heading"))
    if reply.progress is not None:
        body.append(_progress(reply.progress, words))
    text = reply.body or reply.text
    if body_chars is not None and len(text) > body_chars:
        text = text[:body_chars].rsplit(" ", 1)[0] + " …"
    body.extend(_paragraphs(text))
    if reply.fields:
        body.append({"type": "FactSet", "spacing": "Medium",
                     "facts": [{"title": label, "value": value} for label, value in reply.fields]})
    if reply.checklist is not None and reply.checklist.items:
        body.append(_checklist(reply.checklist, words, details))
    if reply.table is not None:
        body.extend(_table(reply.table, words, max_rows))
    if reply.image is not None:
        body.append(text_block(words.say("teams_chart_below", alt=reply.image.alt), isSubtle=True, size="Small",
                               spacing="Medium"))
    if reply.form is not None:
        body.extend(_form(reply.form, words))
    if reply.footer:
        body.append(text_block(to_card_markdown(reply.footer), isSubtle=True, size="Small", spacing="Medium"))
    body.extend(_button_rows(reply.buttons))
    if reply.kind in SNOOZE_KINDS:
        body.append(_snooze_menu(words))
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": plain_text(reply.text),
        "body": body,
    }
    return card


def card_size(card: dict[str, Any]) -> int:
    """Bytes of the card as it travels (default JSON separators, non-ASCII escaped: the larger form)."""
    return len(json.dumps(card).encode("utf-8"))


def render_card(reply: Reply, words: Words, budget: int = CARD_BUDGET) -> dict[str, Any]:
    """The Adaptive Card for one reply, within ``budget`` bytes of JSON."""
    card = _card(reply, words, details=True, max_rows=None, body_chars=None)
    if card_size(card) <= budget:
        return card
    card = _card(reply, words, details=False, max_rows=None, body_chars=None)
    rows = len(reply.table.rows) if reply.table is not None else 0
    while card_size(card) > budget and rows > 0:
        rows = rows // 2 if rows > 8 else rows - 1
        card = _card(reply, words, details=False, max_rows=rows, body_chars=None)
    body_chars = MAX_BODY_CHARS
    while card_size(card) > budget and body_chars > 200:
        card = _card(reply, words, details=False, max_rows=rows if reply.table is not None else None,
                     body_chars=body_chars)
        body_chars //= 2
    return card


def card_attachment(reply: Reply, words: Words) -> dict[str, Any]:
    """The Bot Framework attachment carrying the card."""
    return {"contentType": CARD_CONTENT_TYPE, "content": render_card(reply, words)}


def image_attachment(reply: Reply) -> dict[str, Any] | None:
    """The reply's PNG as an inline attachment (a data URI: Teams does not count it in the size limit)."""
    if reply.image is None:
        return None
    encoded = base64.b64encode(reply.image.png).decode("ascii")
    return {"contentType": "image/png", "contentUrl": f"data:image/png;base64,{encoded}", "name": reply.image.name}


def message_payload(reply: Reply, words: Words) -> dict[str, Any]:
    """Text, notification summary, card (and image) of one message activity, in Bot Framework JSON."""
    image = image_attachment(reply)
    return {
        "type": "message",
        "text": reply.text,
        "textFormat": "markdown",
        "summary": plain_text(reply.text),
        "attachments": [card_attachment(reply, words), *([image] if image else [])],
    }


def invoke_card_response(reply: Reply, words: Words) -> dict[str, Any]:
    """The ``adaptiveCard/action`` invoke body that replaces the pressed card with this reply."""
    return {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": render_card(reply, words)}


def invoke_message_response(text: str) -> dict[str, Any]:
    """The ``adaptiveCard/action`` invoke body that leaves the card as it is and shows a short note."""
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": plain_text(text)[:300]}


def invoke_error_response(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "type": "application/vnd.microsoft.error",
            "value": {"code": code, "message": message}}
