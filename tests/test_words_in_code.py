"""Every word the bot says to a chat user lives in prompts/, never in code (CONTRIBUTING.md, "words").

A scan of bot/ with ``ast`` for string constants that read like English a person is shown: a
sentence or label (a capitalised word and more, or four words or more ending like a sentence), or
any words handed to something that draws a reply (a ``Reply``, a ``Button``, a card's ``text_block``
…) or raised in an exception the chat user reads (``BadArguments``, ``InvalidHandle``). Docstrings,
log lines, other exceptions' messages, ``print`` and command-line help are text for operators and
are not looked at; nor are the few modules and texts allowed below, each with why. A finding names
``file:line``: move the words to ``prompts/words.yaml`` (``say("key")``), ``prompts/forms.yaml`` or a
template.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

OPERATOR_MODULES = {
    "demo.py": "the demo's invented hospital, people and meetings (data, not the bot's words)",
    "config.py": "rounds.yaml: its validation messages, defaults and the starter file it writes",
    "core/roster_csv.py": "the roster file's problems, printed by rounds roster import",
}
"""Modules (under bot/) that speak only to operators, with why."""

OPERATOR_DIRS = ("store/",)
"""The database: its text is SQL, and messages for logs and operators."""

OPERATOR_TEXTS = {
    ("channels/slack/app.py", "As you gave `client` as well"): "matches a line of Bolt's own log",
    ("channels/slack/app.py", "Slack: HTTP at"): "the start-up line saying how Slack is mounted",
    ("channels/slack/app.py", "Slack: Socket Mode"): "the start-up line saying how Slack is mounted",
    ("channels/teams/graph.py", "Graph refused the app's token (401)"): "stops rounds teams install (operator)",
    ("channels/teams/install.py", "Graph calls"): "rounds teams install's summary line (operator)",
}
"""Single texts (module under bot/, text) that are for operators, with why."""

DRAWING_CALLS = frozenset({
    "Reply", "Button", "Choice", "Menu", "Checklist", "ChecklistItem", "Table", "Progress", "Form", "FormField",
    "Image", "text_block", "execute", "invoke_message_response", "invoke_error_response", "_plain", "_text",
    "_context", "_option", "_mrkdwn", "Activity", "text",
})
"""Calls whose string arguments a chat user sees: the reply model, the channels' block/card builders and
a chart's ``draw.text``."""
DRAWN_KEYWORDS = frozenset({"text", "title", "label", "placeholder", "hint", "alt", "tooltip", "body", "footer",
                            "summary", "message", "errorMessage", "submit_label"})
"""Keyword arguments of those calls that carry words (the others are styles, ids and actions)."""

USER_EXCEPTIONS = frozenset({"BadArguments", "InvalidHandle", "Stale"})
"""Exceptions whose message reaches the chat user: they carry a key of prompts/words.yaml, never words."""

OPERATOR_CALLS = frozenset({
    "debug", "info", "warning", "error", "exception", "critical", "log",  # logging
    "print", "write", "add_argument", "add_parser", "ArgumentParser", "UsageError",  # the command line
})
"""Calls whose string arguments are for operators (their whole argument subtree is skipped)."""

SENTENCE = re.compile(r"^(?:[A-Z][a-z’']+(?:[ ,:;]+[A-Za-z’'.…]+)+|(?:\S+ ){3,}\S*[a-z]\S*[.!?])$")
"""A sentence or label: a capitalised word followed by at least one more word, or four words or more
ending like a sentence."""
LETTERS = re.compile(r"[A-Za-z]{2,}")
ACTION = re.compile(r"^[a-z][a-z_-]*:\S")
"""A coach action or an id (``cmd:library report``, ``form:meetings-add``): not words."""


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _skipped(tree: ast.AST) -> set[int]:
    """ids of the nodes not to look at: docstrings, and everything inside operator text."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skipped.add(id(node.value))  # a docstring (module, class, function or attribute)
        elif isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and _name(node) in OPERATOR_CALLS):
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def _said(node: ast.expr) -> str | None:
    """The text of a string or f-string argument (each ``{…}`` as ``{}``); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
    return None


def _drawn(tree: ast.AST) -> Iterator[tuple[ast.expr, str]]:
    """The words handed to a drawing call, or raised in an exception the chat user reads: two or
    more tokens, one of them a word (``of 100``, ``{} · {} done``, ``Chart (below): {}``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name in DRAWING_CALLS:
            args = [*node.args, *(k.value for k in node.keywords if k.arg in DRAWN_KEYWORDS)]
        elif name in USER_EXCEPTIONS:
            args = [*node.args, *(k.value for k in node.keywords)]
        else:
            continue
        for arg in args:
            text = _said(arg)
            if text is not None and not ACTION.match(text) and len(text.split()) >= 2 and LETTERS.search(text):
                yield arg, text.strip()


def words_in_code(source: Path, *, allow: dict[str, str] | None = None, dirs: tuple[str, ...] = (),
                  texts: dict[tuple[str, str], str] | None = None) -> Iterator[str]:
    """``file:line: 'text'`` for each string constant in ``source`` that reads like words for a chat user."""
    allow = OPERATOR_MODULES if allow is None else allow
    texts = {} if texts is None else texts
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source).as_posix()
        if relative in allow or relative.startswith(dirs):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skipped = _skipped(tree)
        found = [(node, text) for node, text in _drawn(tree)]
        seen = {id(node) for node, _ in found} | {id(part) for node, _ in found if isinstance(node, ast.JoinedStr)
                                                 for part in node.values}
        found += [(node, node.value.strip()) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in skipped and id(node) not in seen and SENTENCE.match(node.value.strip())]
        for node, text in sorted(found, key=lambda found: (found[0].lineno, found[0].col_offset)):
            if (relative, text) not in texts and not ACTION.match(text):
                yield f"{path}:{node.lineno}: {text[:80]!r}"


def test_no_words_for_chat_users_in_the_code() -> None:
    found = list(words_in_code(BOT, dirs=OPERATOR_DIRS, texts=OPERATOR_TEXTS))
    assert found == [], "words a chat user sees belong in prompts/ (words.yaml, forms.yaml or a template):\n" + \
        "\n".join(found)


def test_every_allowed_module_exists() -> None:
    """The allowlist names real modules (a renamed one must not silently widen it)."""
    assert [name for name in OPERATOR_MODULES if not (BOT / name).is_file()] == []
    assert all((BOT / folder).is_dir() for folder in OPERATOR_DIRS)
    stale = [(module, text) for module, text in OPERATOR_TEXTS
             if not any(isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() == text
                        for node in ast.walk(ast.parse((BOT / module).read_text(encoding="utf-8"))))]
    assert stale == [], "allowed texts no longer in the code"


PLANTED = '''"""A module docstring: Not looked at."""
import logging

log = logging.getLogger(__name__)
CHECK = "Checked in memory only"  # 5: a sentence in a constant
"""An attribute docstring: Not looked at either."""


def answer(name):
    log.info("Answered the person %s", name)  # a log line: fine
    if not name:
        raise ValueError("Nobody was named here")  # an operator's exception: fine
    if len(name) > 15:
        raise InvalidHandle(f"{name} is too long")  # 14: an exception the chat user reads
    print("Wrote the file to disk")  # the command line: fine
    key = "snooze_menu_1_day"  # a key: fine
    return Reply(kind="status", text=f"your score is {name}",  # 17: words drawn in a reply
                 buttons=(Button("Next lesson", "cmd:lesson", "primary"),))  # 18: a button's label
'''


@pytest.mark.parametrize("where", ["mod.py", "channels/render.py"])
def test_a_planted_violation_is_named_at_its_line(tmp_path: Path, where: str) -> None:
    module = tmp_path / where
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(PLANTED, encoding="utf-8")
    assert list(words_in_code(tmp_path)) == [
        f"{module}:5: 'Checked in memory only'",
        f"{module}:14: '{{}} is too long'",
        f"{module}:17: 'your score is {{}}'",
        f"{module}:18: 'Next lesson'",
    ]
    assert list(words_in_code(tmp_path, allow={where: "planted"})) == [], "an allowed module is not scanned"
    assert list(words_in_code(tmp_path, texts={(where, "Next lesson"): "planted"}))[-1] == \
        f"{module}:17: 'your score is {{}}'", "an allowed text is not named"
