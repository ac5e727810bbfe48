"""How far one match attempt of a regular expression can read: the checker's linearity guard.

Python's ``re`` backtracks. A pattern whose every repeat has an upper bound (``{1,40}``, not
``+``) and that has no backreference reads at most a fixed window of characters from each
start position, so the work of one attempt is bounded by a constant of the pattern, and
``finditer`` over a draft of n characters costs at most n times that constant: linear.
Nested counted repeats multiply that constant, so nesting is limited too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as _c, _parser as _p  # type: ignore[attr-defined]  # the parser re itself uses
from typing import Any

MAX_NESTED_OUTER = 10
"""A counted repeat inside another: the outer one may repeat at most this many times."""

_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}
_ONE_CHAR = {_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN, _c.CATEGORY, _c.RANGE}


class Unbounded(ValueError):
    """A pattern whose match attempts are not bounded (with the reason)."""


@dataclass(frozen=True)
class Bounds:
    window: int
    """Characters one match attempt can read around its start (lookarounds included)."""
    nesting: int
    """Deepest nesting of repeats that can match more than once."""


def bounds(pattern: re.Pattern[str] | str, flags: int = 0) -> Bounds:
    """The window and repeat nesting of ``pattern``; :class:`Unbounded` if there is no bound."""
    source, flags = (pattern.pattern, pattern.flags) if isinstance(pattern, re.Pattern) else (pattern, flags)
    if isinstance(source, bytes):
        source = source.decode("latin-1")
    tree = _p.parse(source, flags)
    window, nesting = _walk(list(tree), 0)
    return Bounds(window, nesting)


def _walk(items: list[tuple[Any, Any]], outer: int) -> tuple[int, int]:
    """(window, nesting) of a sequence; ``outer`` is the enclosing repeat's maximum (0: none)."""
    total, deepest = 0, 0
    for op, arg in items:
        width, depth = _item(op, arg, outer)
        total += width
        deepest = max(deepest, depth)
    return total, deepest


def _item(op: object, arg: Any, outer: int) -> tuple[int, int]:
    if op in _ONE_CHAR:
        return 1, 0
    if op == _c.AT:
        return 0, 0
    if op == _c.BRANCH:
        results = [_walk(list(branch), outer) for branch in arg[1]]
        return max(r[0] for r in results), max(r[1] for r in results)
    if op == _c.SUBPATTERN:
        return _walk(list(arg[-1]), outer)
    if op == getattr(_c, "ATOMIC_GROUP", None):
        return _walk(list(arg), outer)
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return _walk(list(arg[1]), outer)
    if op in _REPEATS:
        low, high, body = arg
        if high == _c.MAXREPEAT:
            raise Unbounded(f"a repeat without an upper bound ({'*' if low == 0 else '+'} or {{{low},}}); "
                            f"write a bound such as {{{low},40}}")
        counted = high > 1
        if counted and outer > MAX_NESTED_OUTER:
            raise Unbounded(f"a repeat nested inside one that repeats up to {outer} times "
                            f"(at most {MAX_NESTED_OUTER} allowed)")
        width, depth = _walk(list(body), high if counted else outer)
        return high * width, depth + (1 if counted else 0)
    if op in (_c.GROUPREF, getattr(_c, "GROUPREF_EXISTS", None)):
        raise Unbounded("a backreference; match attempts cannot be bounded")
    raise Unbounded(f"an unsupported construct ({op})")
