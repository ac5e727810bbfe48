"""Weighted length of a post as X counts it (twitter-text v3), in time linear in the text.

twitter-text's own URL extractor backtracks without bound on long runs of domain-like
characters (200 characters of ``a.a.a.`` take a quarter of a second, 800 take six), so a
pasted draft could stall the server. This module counts the same way — most characters 1,
CJK and other wide scripts 2, an emoji (sequence) 2, every URL 23 — but finds URLs with a
pattern whose every repeat is bounded, so each start position reads a bounded window.
The tests compare it with ``twitter_text.parse_tweet`` on ordinary drafts.
"""
from __future__ import annotations

import re
import unicodedata

from twitter_text.config import config as _twitter_config
from twitter_text.regexp.emoji import emoji as _EMOJI, emoji_list as _EMOJI_LIST
from twitter_text.regexp.valid_cctld import valid_cctld as _CCTLD
from twitter_text.regexp.valid_gtld import valid_gtld as _GTLD

_OPTIONS = _twitter_config["defaults"]
SCALE: int = _OPTIONS["scale"]
URL_WEIGHT: int = _OPTIONS["transformed_url_length"] * SCALE
DEFAULT_WEIGHT: int = _OPTIONS["default_weight"]
_NARROW: tuple[tuple[int, int, int], ...] = tuple(
    (r["start"], r["end"], r["weight"]) for r in _OPTIONS["ranges"])

_EMOJI_START = re.compile("[#*0-9](?=[\ufe0f\u20e3])|[^\x00-\x7f]")
_EMOJI_FIRST = frozenset(e.emoji[0] for e in _EMOJI_LIST)
_EMOJI_SINGLE = frozenset(e.emoji for e in _EMOJI_LIST if len(e.emoji) == 1)
_EMOJI_SECOND = frozenset(e.emoji[1] for e in _EMOJI_LIST if len(e.emoji) > 1)
"""Every multi-code-point emoji continues with one of these (a joiner, selector, modifier...)."""
"""Where an emoji can start (a keycap, or a non-ASCII character that begins one): the (large)
emoji pattern is tried only there."""

_LABEL_ANY = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_LABEL_ASCII = r"[a-z0-9\u00c0-\u024f](?:[a-z0-9\u00c0-\u024f_-]{0,61}[a-z0-9\u00c0-\u024f])?"
_TLD = rf"(?:{_GTLD.pattern}|{_CCTLD.pattern}|xn--[a-z0-9-]{{1,59}})"
_PATH_CHAR = r"[a-z0-9\u00c0-\u024f\u0400-\u04ff!*';:=+,.$/%#\[\]\-\u2013_~@|&()?]"
X_URL = re.compile(
    r"(?<![a-z0-9@＠$#＃\-_./])"
    rf"(?:https?://(?:{_LABEL_ANY}\.){{1,10}}{_TLD}|(?:{_LABEL_ASCII}\.){{1,10}}{_TLD})"
    r"(?::[0-9]{1,5})?"
    rf"(?P<path>[/?]{_PATH_CHAR}{{0,4096}})?",
    re.IGNORECASE,
)
"""A URL as twitter-text finds it (with or without protocol); bounded repeats only."""
_ENDS_URL = re.compile(r"[a-z0-9\u00c0-\u024f\u0400-\u04ff+\-=_#/&)]", re.IGNORECASE)


def _url_end(text: str, start: int, end: int, has_path: bool) -> int:
    """Drop trailing punctuation a URL does not end with, and an unbalanced ``)``."""
    if not has_path:
        return end
    while end > start:
        last = text[end - 1]
        if last == ")" and text.count("(", start, end) >= text.count(")", start, end):
            return end
        if last != ")" and _ENDS_URL.fullmatch(last):
            return end
        end -= 1
    return end


def _emojis(text: str) -> list[tuple[int, int]]:
    """Spans of emoji, as ``_EMOJI.finditer`` finds them, without trying every position."""
    found: list[tuple[int, int]] = []
    position = 0
    while (start := _EMOJI_START.search(text, position)) is not None:
        at = start.start()
        if text[at] not in _EMOJI_FIRST:
            position = at + 1
            continue
        if text[at + 1:at + 2] not in _EMOJI_SECOND and text[at] in _EMOJI_SINGLE:
            found.append((at, at + 1))  # a lone emoji: no sequence can start here
            position = at + 1
            continue
        match = _EMOJI.match(text, at)
        if match is None or match.end() == match.start():
            position = start.start() + 1
            continue
        found.append(match.span())
        position = match.end()
    return found


def _char_weight(char: str) -> int:
    code = ord(char)
    for lo, hi, weight in _NARROW:
        if lo <= code <= hi:
            return weight
    return DEFAULT_WEIGHT


def x_weighted_length(text: str, limit: int) -> tuple[int, int]:
    """Weighted length as X counts it and the index of ``text`` where ``limit`` is passed.

    The second value is ``len(text)`` when the draft fits.
    """
    if not text:
        return 0, 0
    normalized = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    entities: dict[int, tuple[int, int]] = {}
    for start, end in _emojis(normalized):
        entities[start] = (end, DEFAULT_WEIGHT)
    for match in X_URL.finditer(normalized):
        end = _url_end(normalized, match.start(), match.end(), match.group("path") is not None)
        entities[match.start()] = (end, URL_WEIGHT)
    weight, index, cut = 0, 0, None
    budget = limit * SCALE
    while index < len(normalized):
        end, unit = entities.get(index, (index + 1, 0))
        weight += unit or _char_weight(normalized[index])
        if cut is None and weight > budget:
            cut = index
        index = end
    length = weight // SCALE
    if cut is None:
        return length, len(text)
    shift = len(text) - len(normalized)  # NFC and CRLF change lengths only in rare drafts
    return length, max(0, min(len(text), cut + shift))
