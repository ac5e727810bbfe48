"""``prompts/words.yaml``: the short sentences and labels the code names by key (see
:mod:`bot.core.words`), loaded, and checked against every place in the code that uses one."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.core.words import Say, fill, placeholders
from bot.yamlsrc import ContentError, Fields, load_yaml

WORDS_FILE = "words.yaml"
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
REFERRING_CALLS = frozenset({"say", "columns", "BadArguments", "InvalidHandle"})
"""Calls whose first argument is a key of ``words.yaml`` (``say("key", name=…)``)."""
SOURCE = Path(__file__).resolve().parent
"""The code whose references ``rounds content check`` verifies: the ``bot`` package."""


@dataclass(frozen=True)
class Words:
    texts: dict[str, str]

    def say(self, key: str, /, **values: object) -> str:
        return self.of(Say(key, values))

    def of(self, said: Say) -> str:
        return fill(self.texts[said.key], said.values, self.of)


def load_words(root: Path) -> Words:
    path = root / WORDS_FILE
    doc = Fields(path, load_yaml(path), "file")
    texts: dict[str, str] = {}
    for key in doc.data:
        if not isinstance(key, str) or not KEY.match(key):
            raise doc.error(str(key), "a key is lowercase words joined by '_'")
        text = doc.str(key)
        try:
            placeholders(text)
        except ValueError as exc:
            raise doc.error(key, f"bad placeholder: {exc} (write {{{{ and }}}} for a literal brace)") from None
        texts[key] = text
    return Words(texts)


@dataclass(frozen=True)
class Reference:
    key: str | None
    """None: the key is not written out where it is used, so it cannot be checked."""
    given: frozenset[str] | None
    """Placeholder values the code passes; None when it passes ``**values``."""
    path: Path
    line: int


def check_references(root: Path, source: Path = SOURCE) -> list[ContentError]:
    """Every key the code uses exists in ``words.yaml`` and gets every placeholder its text has."""
    path = root / WORDS_FILE
    try:
        words = load_words(root)
    except ContentError as exc:
        return [exc]
    raw = load_yaml(path)
    errors: list[ContentError] = []
    for ref in references(source):
        where = f"{ref.path}:{ref.line}"
        if ref.key is None:
            errors.append(ContentError(ref.path, ref.line, "the words' key must be written out, e.g. say(\"key\")"))
        elif ref.key not in words.texts:
            errors.append(ContentError(ref.path, ref.line, f"word {ref.key!r} is not in {path}"))
        elif ref.given is not None:
            missing = sorted(placeholders(words.texts[ref.key]) - ref.given)
            if missing:
                errors.append(ContentError(path, raw.line_of(ref.key), f"{ref.key}: {{{missing[0]}}} is not given "
                                                                       f"by the code that says it ({where})"))
    return errors


def references(source: Path) -> tuple[Reference, ...]:
    return _references(source, tuple(sorted((p, p.stat().st_mtime_ns) for p in source.rglob("*.py"))))


@lru_cache(maxsize=4)
def _references(source: Path, files: tuple[tuple[Path, int], ...]) -> tuple[Reference, ...]:
    return tuple(ref for path, _ in files for ref in _file_references(path))


def _file_references(path: Path) -> Iterator[Reference]:
    source = path.read_text(encoding="utf-8")
    if not any(f"{name}(" in source for name in REFERRING_CALLS):
        return  # most modules say nothing: not worth parsing
    tree = ast.parse(source, str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else None
        if name not in REFERRING_CALLS or not node.args:
            continue
        first = node.args[0]
        key = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        given = None if any(k.arg is None for k in node.keywords) else \
            frozenset(k.arg for k in node.keywords if k.arg is not None)
        yield Reference(key, given, path, node.lineno)
