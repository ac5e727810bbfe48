"""YAML loading that remembers where each value came from, for `file:line` errors."""
from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import yaml


class ContentError(Exception):
    """Invalid content or configuration, located at ``file:line``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class LocatedDict(dict):
    """A mapping from YAML that knows its own line and the line of each key."""

    line: int
    key_lines: dict[Any, int]

    @classmethod
    def empty(cls, line: int = 0) -> LocatedDict:
        """A mapping the file left out, placed at ``line`` (0: nowhere)."""
        result = cls()
        result.line, result.key_lines = line, {}
        return result

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    """A sequence from YAML that knows its own line and the line of each item."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise ContentError(
                getattr(loader, "source_path", "<yaml>"), key_node.start_mark.line + 1,
                f"duplicate key {key!r}",
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; syntax errors become :class:`ContentError` with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ContentError(path, None, f"cannot read: {exc.strerror}") from None
    loader = _Loader(text)
    loader.source_path = str(path)  # type: ignore[attr-defined]
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ContentError(path, line, f"YAML syntax: {exc.problem or exc.context}") from None
    finally:
        loader.dispose()


class Fields:
    """Typed, located access to one YAML mapping: every problem is a :class:`ContentError` at the
    line of the key, naming it.

    Content files name a key after what holds it (``lesson intro: quiz: answer``); the config file
    (``dotted``) by its path (``quiet_hours.start``, ``admins[1]`` at the top level).
    """

    def __init__(self, path: Path | str, data: Any, what: str, line: int | None = None, *,
                 dotted: bool = False) -> None:
        self.path = path
        self.what = what
        self.dotted = dotted
        if not isinstance(data, dict):
            raise ContentError(path, getattr(data, "line", line), f"{what} must be a mapping")
        self.data = data

    @property
    def line(self) -> int | None:
        return getattr(self.data, "line", None)

    def line_of(self, key: str) -> int | None:
        if isinstance(self.data, LocatedDict):
            return self.data.line_of(key)
        return None

    def name(self, key: str) -> str:
        if self.dotted:
            return f"{self.what}.{key}" if self.what else key
        return f"{self.what}: {key}"

    def error(self, key: str, message: str) -> ContentError:
        return ContentError(self.path, self.line_of(key), f"{self.name(key)}: {message}")

    def get(self, key: str) -> Any:
        """The value as written (None when absent), for checks of its own."""
        return self.data.get(key)

    def section(self, key: str) -> Fields:
        """The mapping under ``key`` (an empty one when absent), named by its path."""
        value = self.data.get(key)
        if value is None:
            value = LocatedDict.empty(self.line_of(key) or 0)
        elif not isinstance(value, dict):
            raise self.error(key, "must be a mapping")
        return Fields(self.path, value, self.name(key), dotted=self.dotted)

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                raise ContentError(self.path, self.line, f"{self.what}: missing {key!r}")
            return None
        return self.data[key]

    def str(self, key: str, *, required: bool = True, default: str = "", max_len: int | None = None) -> str:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise self.error(key, "must be text")
        text = str(value).strip()
        if required and not text:
            raise self.error(key, "must not be empty")
        if max_len is not None and len(text) > max_len:
            raise self.error(key, f"is {len(text)} characters; at most {max_len}")
        return text

    def int(self, key: builtins.str, *, required: bool = True, default: int = 0,
            minimum: int | None = None, maximum: int | None = None) -> int:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"must be a whole number, not {value!r}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self.error(key, f"must be between {minimum} and {maximum}, not {value}")
        return value

    def bool(self, key: builtins.str, *, required: bool = False, default: bool = False) -> bool:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def list(self, key: builtins.str, *, required: builtins.bool = True) -> builtins.list[Any]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        return value

    def unknown_keys(self, allowed: set[builtins.str]) -> None:
        listed = ", ".join(sorted(allowed))
        for key in self.data:
            if key not in allowed:
                raise self.error(str(key), f"unknown key (expected one of: {listed})" if self.dotted
                                 else f"unknown key (allowed: {listed})")
