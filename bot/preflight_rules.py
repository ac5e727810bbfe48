"""Loads the draft-checker rules from ``prompts/preflight.yaml`` (the reply is built by the coach's
draft check, :mod:`bot.coach.draftcheck`).

The rules file has ``settings``, ``terms`` (named regex fragments) and ``rules``; word lists
live in ``prompts/preflight/<name>.yaml`` (``words: [...]``). A pattern refers to a term or a
word list as ``{name}``. Every problem is a :class:`ContentError` at ``file:line``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

from bot.core.preflight import (
    CATEGORIES,
    DETECTORS,
    MAX_DRAFT_CHARS,
    SEVERITIES,
    Category,
    Condition,
    PreflightRules,
    Rule,
    Severity,
    template_fields,
)
from bot.core.regexbounds import Unbounded, bounds
from bot.yamlsrc import ContentError, Fields, LocatedList, load_yaml

RULES_FILE = "preflight.yaml"
LISTS_DIR = "preflight"
RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
RULE_KEYS = {
    "id", "category", "severity", "detector", "pattern", "patterns", "case_sensitive",
    "requires", "unless", "escalate", "image", "params", "why", "fix",
}


# --------------------------------------------------------------------------- loading


def load_preflight_rules(prompts_dir: Path) -> PreflightRules:
    """Load, validate and compile the checker rules under ``prompts_dir``."""
    lists = _load_word_lists(prompts_dir / LISTS_DIR)
    path = prompts_dir / RULES_FILE
    doc = Fields(path, load_yaml(path), "preflight")
    doc.unknown_keys({"settings", "replies", "terms", "rules"})
    x_limit, max_chars = _settings(path, doc)
    terms = _terms(path, doc)
    resolver = _Resolver(path, terms, lists)
    resolver.check_all()
    rules = _rules(path, doc, resolver)
    return PreflightRules(
        rules=rules, x_limit=x_limit, max_chars=max_chars, replies=_replies(path, doc),
        word_lists=tuple(sorted((name, words) for name, (words, _) in lists.items())),
    )


def _settings(path: Path, doc: Fields) -> tuple[int, int]:
    raw = doc.data.get("settings")
    if raw is None:
        return 280, MAX_DRAFT_CHARS
    settings = Fields(path, raw, "settings", doc.line_of("settings"))
    settings.unknown_keys({"x_max_weighted_length", "max_draft_chars"})
    x_limit = settings.int("x_max_weighted_length", required=False, default=280,
                           minimum=1, maximum=100_000)
    max_chars = settings.int("max_draft_chars", required=False, default=MAX_DRAFT_CHARS,
                             minimum=280, maximum=40_000)
    return x_limit, max_chars


REPLY_FIELDS = {"too_long_title": frozenset(), "too_long": frozenset({"length", "max"})}


def _replies(path: Path, doc: Fields) -> tuple[tuple[str, str], ...]:
    raw = doc.data.get("replies")
    if raw is None:
        return ()
    fields = Fields(path, raw, "replies", doc.line_of("replies"))
    fields.unknown_keys(set(REPLY_FIELDS))
    return tuple((key, _template(fields, key, allowed)) for key, allowed in REPLY_FIELDS.items())


def _load_word_lists(folder: Path) -> dict[str, tuple[tuple[str, ...], Path]]:
    lists: dict[str, tuple[tuple[str, ...], Path]] = {}
    if not folder.is_dir():
        return lists
    for path in sorted(folder.glob("*.yaml")):
        name = path.stem
        if not NAME.match(name):
            raise ContentError(path, None, f"word-list file name {name!r} must be lowercase_words")
        doc = Fields(path, load_yaml(path), f"word list {name}")
        doc.unknown_keys({"description", "words"})
        doc.str("description", required=False)
        lists[name] = (_words(path, doc), path)
    return lists


def _words(path: Path, doc: Fields) -> tuple[str, ...]:
    values = doc.list("words")
    if not values:
        raise doc.error("words", "must list at least one word")
    seen: dict[str, int] = {}
    words: list[str] = []
    for index, value in enumerate(values):
        line = _item_line(values, index, doc.line_of("words"))
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise ContentError(path, line, f"words[{index + 1}]: must be non-empty text")
        word = " ".join(str(value).split())
        key = word.casefold()
        if key in seen:
            raise ContentError(path, line, f"words[{index + 1}]: {word!r} repeats line {seen[key]}")
        seen[key] = line or 0
        words.append(word)
    return tuple(words)


def _item_line(values: Any, index: int, fallback: int | None) -> int | None:
    return values.line_of(index) if isinstance(values, LocatedList) else fallback


Term = tuple[tuple[tuple[str, int | None], ...], int | None]
"""A term's alternatives, each with its line, and the line of the term's name."""


def _terms(path: Path, doc: Fields) -> dict[str, Term]:
    raw = doc.data.get("terms")
    if raw is None:
        return {}
    fields = Fields(path, raw, "terms", doc.line_of("terms"))
    terms: dict[str, Term] = {}
    for name, value in fields.data.items():
        line = fields.line_of(str(name))
        if not isinstance(name, str) or not NAME.match(name):
            raise ContentError(path, line, f"terms: name {name!r} must be lowercase_words")
        if isinstance(value, list):
            terms[name] = (_alternatives(path, name, value, line), line)
        else:
            terms[name] = (((fields.str(name), line),), line)
    return terms


def _alternatives(path: Path, name: str, values: list[Any],
                  line: int | None) -> tuple[tuple[str, int | None], ...]:
    """A term written as a list of regex alternatives."""
    if not values:
        raise ContentError(path, line, f"terms: {name}: must not be an empty list")
    parts = []
    for index, value in enumerate(values):
        item_line = _item_line(values, index, line)
        if not isinstance(value, str) or not value.strip():
            raise ContentError(path, item_line, f"terms: {name}[{index + 1}]: must be a non-empty pattern")
        parts.append((value.strip(), item_line))
    return tuple(parts)


class _Resolver:
    """Expands ``{name}`` placeholders into terms (regex) and word lists (literal words)."""

    def __init__(self, path: Path, terms: dict[str, Term],
                 lists: dict[str, tuple[tuple[str, ...], Path]]) -> None:
        self.path = path
        self.terms = terms
        self.lists = lists
        self._done: dict[str, str] = {}
        clash = sorted(set(terms) & set(lists))
        if clash:
            raise ContentError(path, terms[clash[0]][1],
                               f"terms: {clash[0]!r} is also a word list in {LISTS_DIR}/")

    def check_all(self) -> None:
        """Compile every term, used or not, so a broken one is reported where it is."""
        for name in self.terms:
            self.fragment(name, None, ())

    def expand(self, pattern: str, line: int | None, stack: tuple[str, ...] = ()) -> str:
        def substitute(match: re.Match[str]) -> str:
            return "(?:" + self.fragment(match.group(1), line, stack) + ")"
        return PLACEHOLDER.sub(substitute, pattern)

    def fragment(self, name: str, line: int | None, stack: tuple[str, ...]) -> str:
        if name in self._done:
            return self._done[name]
        if name in self.lists:
            result = words_regex(self.lists[name][0])
        elif name in self.terms:
            alternatives, term_line = self.terms[name]
            if name in stack:
                cycle = " -> ".join((*stack, name))
                raise ContentError(self.path, term_line, f"terms: cycle {cycle}")
            parts = []
            for text, alt_line in alternatives:
                expanded = self.expand(text, alt_line, (*stack, name))
                _compile(self.path, alt_line, expanded, f"terms: {name}", 0)
                parts.append(expanded)
            result = parts[0] if len(parts) == 1 else "|".join(f"(?:{p})" for p in parts)
        else:
            known = ", ".join(sorted({*self.terms, *self.lists})) or "none"
            raise ContentError(self.path, line, f"unknown placeholder {{{name}}} (known: {known})")
        self._done[name] = result
        return result


def words_regex(words: tuple[str, ...]) -> str:
    """A regex matching any of ``words`` as whole words, built as a trie for speed."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word.casefold():
            node = node.setdefault(char, {})
        node[""] = {}
    return r"(?i:(?<!\w)" + _trie_regex(trie) + r"(?!\w))"


def _trie_regex(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [_char_regex(char) + _trie_regex(child)
                for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return "(?:" + body + ")?"
    return body


def _char_regex(char: str) -> str:
    if char == " ":
        return r"[\s-]{1,3}"
    if char == "-":
        return r"[-\s]?"
    return re.escape(char)


def _compile(path: Path, line: int | None, pattern: str, what: str, flags: int) -> re.Pattern[str]:
    """Compile one pattern; every repeat must be bounded so a check stays linear in the draft."""
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ContentError(path, line, f"{what}: bad regular expression: {exc}") from None
    try:
        bounds(compiled)
    except Unbounded as exc:
        raise ContentError(path, line, f"{what}: {exc}") from None
    return compiled


def _rules(path: Path, doc: Fields, resolver: _Resolver) -> tuple[Rule, ...]:
    values = doc.list("rules")
    if not values:
        raise doc.error("rules", "must list at least one rule")
    rules: list[Rule] = []
    seen: dict[str, int | None] = {}
    for index, value in enumerate(values):
        fields = Fields(path, value, f"rules[{index + 1}]", _item_line(values, index, doc.line))
        rule = _rule(path, fields, resolver)
        if rule.id in seen:
            raise ContentError(path, fields.line_of("id"),
                               f"rules: id {rule.id!r} is used twice (first at line {seen[rule.id]})")
        seen[rule.id] = fields.line_of("id")
        rules.append(rule)
    return tuple(rules)


def _rule(path: Path, fields: Fields, resolver: _Resolver) -> Rule:
    fields.unknown_keys(RULE_KEYS)
    rule_id = fields.str("id")
    if not RULE_ID.match(rule_id):
        raise fields.error("id", f"{rule_id!r} must be lowercase words joined by '-'")
    fields.what = f"rule {rule_id}"
    category = cast(Category, _choice(fields, "category", CATEGORIES))
    severity = cast(Severity, _choice(fields, "severity", SEVERITIES))
    detector = _choice(fields, "detector", tuple(DETECTORS), default="pattern")
    flags = 0 if fields.bool("case_sensitive") else re.IGNORECASE
    compiler = _PatternCompiler(path, fields, resolver, flags)
    patterns = _rule_patterns(fields, compiler, detector)
    escalate_if, escalate_to = _escalation(path, fields, compiler)
    image = fields.data.get("image")
    if image is not None and not isinstance(image, bool):
        raise fields.error("image", f"must be true or false, not {image!r}")
    spec = DETECTORS[detector]
    why = _template(fields, "why", spec.fields)
    fix = _template(fields, "fix", spec.fields)
    return Rule(
        id=rule_id, category=category, severity=severity, why=why, fix=fix, detector=detector,
        patterns=patterns,
        requires=compiler.conditions("requires"), unless=compiler.conditions("unless"),
        escalate_if=escalate_if, escalate_to=escalate_to, image=image,
        params=_params(path, fields, detector),
    )


def _choice(fields: Fields, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    value = fields.str(key, required=default is None, default=default or "")
    if value not in allowed:
        raise fields.error(key, f"{value!r} is not one of: {', '.join(allowed)}")
    return value


class _PatternCompiler:
    """Compiles the patterns and conditions of one rule, with located errors."""

    def __init__(self, path: Path, fields: Fields, resolver: _Resolver, flags: int) -> None:
        self.path = path
        self.fields = fields
        self.resolver = resolver
        self.flags = flags

    def compile(self, source: Any, line: int | None, what: str) -> re.Pattern[str]:
        if not isinstance(source, str) or not source.strip():
            raise ContentError(self.path, line, f"{self.fields.what}: {what}: must be a non-empty pattern")
        expanded = self.resolver.expand(source, line)
        return _compile(self.path, line, expanded, f"{self.fields.what}: {what}", self.flags)

    def conditions(self, key: str) -> tuple[Condition, ...]:
        values = self.fields.list(key, required=False)
        return tuple(self.condition(value, _item_line(values, i, self.fields.line_of(key)),
                                    f"{key}[{i + 1}]")
                     for i, value in enumerate(values))

    def condition(self, value: Any, line: int | None, what: str) -> Condition:
        if isinstance(value, str):
            return Condition(self.compile(value, line, what))
        sub = Fields(self.path, value, f"{self.fields.what}: {what}", line)
        sub.unknown_keys({"pattern", "within"})
        within = sub.int("within", required=False, default=-1, minimum=0, maximum=10_000)
        pattern = self.compile(sub.data.get("pattern"), sub.line_of("pattern"), f"{what}.pattern")
        return Condition(pattern, None if within < 0 else within)


def _rule_patterns(fields: Fields, compiler: _PatternCompiler, detector: str) -> tuple[re.Pattern[str], ...]:
    if "pattern" in fields.data and "patterns" in fields.data:
        raise fields.error("patterns", "give either 'pattern' or 'patterns', not both")
    patterns: tuple[re.Pattern[str], ...]
    if "pattern" in fields.data:
        patterns = (compiler.compile(fields.data["pattern"], fields.line_of("pattern"), "pattern"),)
    else:
        values = fields.list("patterns", required=False)
        patterns = tuple(
            compiler.compile(value, _item_line(values, i, fields.line_of("patterns")), f"patterns[{i + 1}]")
            for i, value in enumerate(values))
    spec = DETECTORS[detector]
    count = len(patterns)
    if count < spec.min_patterns or (spec.max_patterns is not None and count > spec.max_patterns):
        wanted = (f"exactly {spec.min_patterns}" if spec.min_patterns == spec.max_patterns
                  else f"at least {spec.min_patterns}" if spec.max_patterns is None
                  else f"at most {spec.max_patterns}")
        raise ContentError(compiler.path, fields.line_of("patterns" if "patterns" in fields.data else "pattern"),
                           f"{fields.what}: detector {detector!r} takes {wanted} pattern(s), got {count}")
    return patterns


def _escalation(path: Path, fields: Fields, compiler: _PatternCompiler) -> tuple[Condition | None, Any]:
    raw = fields.data.get("escalate")
    if raw is None:
        return None, None
    sub = Fields(path, raw, f"{fields.what}: escalate", fields.line_of("escalate"))
    sub.unknown_keys({"to", "if"})
    to = _choice(sub, "to", SEVERITIES)
    if "if" not in sub.data:
        raise ContentError(path, sub.line, f"{sub.what}: missing 'if'")
    return compiler.condition(sub.data["if"], sub.line_of("if"), "escalate.if"), to


def _params(path: Path, fields: Fields, detector: str) -> tuple[tuple[str, int | str], ...]:
    raw = fields.data.get("params")
    allowed = DETECTORS[detector].params
    if raw is None:
        return tuple(sorted(allowed.items()))
    sub = Fields(path, raw, f"{fields.what}: params", fields.line_of("params"))
    sub.unknown_keys(set(allowed))
    values = dict(allowed)
    for key, default in allowed.items():
        if isinstance(default, int):
            values[key] = sub.int(key, required=False, default=default, minimum=0)
        else:
            values[key] = sub.str(key, required=False, default=default)
    return tuple(sorted(values.items()))


def _template(fields: Fields, key: str, allowed: frozenset[str]) -> str:
    text = " ".join(fields.str(key).split())
    try:
        used = template_fields(text)
    except ValueError as exc:
        raise fields.error(key, f"bad placeholder ({exc}); write {{{{ and }}}} for braces") from None
    unknown = sorted(used - allowed)
    if unknown:
        raise fields.error(key, f"unknown placeholder {{{unknown[0]}}} (allowed: {', '.join(sorted(allowed))})")
    return text
