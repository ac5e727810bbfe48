"""A form as a reply carries it: the definition from :mod:`bot.core.forms`, its words from
``prompts/forms.yaml``, the choices of its selects, what was typed and what is wrong with it.

The coach builds its forms here, and so does a channel that opens a form itself (a Slack modal
opened by a button), so every platform shows the same fields with the same words.
"""
from __future__ import annotations

from collections.abc import Mapping

from bot.content import Content
from bot.core.forms import CATALOG_FIELD, FieldSpec, FormSpec
from bot.messages import Form, FormField


def build_form(spec: FormSpec, content: Content, values: Mapping[str, str] | None = None,
               errors: Mapping[str, str] | None = None) -> Form:
    """``spec`` with its words, holding ``values`` (else each field's initial value) and showing
    ``errors`` (field id → message) at their fields; an error for a field not shown goes to
    ``spec.errors_at``. A select without choices is left out."""
    words = content.forms[spec.id]
    values = values or {}
    shown = [(field, _options(field, content)) for field in spec.fields]
    shown = [(field, options) for field, options in shown if field.kind != "select" or options]
    ids = {field.id for field, _ in shown}
    placed: dict[str, str] = {}
    for field_id, message in (errors or {}).items():
        where = field_id if field_id in ids else spec.errors_at
        placed[where] = " ".join(x for x in (placed.get(where), message) if x)
    fields = tuple(
        FormField(field.id, words.fields[field.id].label, field.kind, field.required,
                  placeholder=words.fields[field.id].placeholder,
                  value=values.get(field.id, field.initial).strip(),
                  hint=words.fields[field.id].hint, options=options, error=placed.get(field.id, ""))
        for field, options in shown)
    return Form(fields, spec.submit_action, words.submit, words.title)


def _options(field: FieldSpec, content: Content) -> tuple[tuple[str, str], ...]:
    """A select's choices: label, value."""
    if field.id == CATALOG_FIELD:
        return tuple((meeting.name, meeting.key) for meeting in content.catalog)
    return ()
