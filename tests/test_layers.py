"""The layers of bot/, checked on the source (``ast``, nothing is imported):

- ``bot/core`` is pure: it imports nothing of the project outside ``bot/core``;
- ``bot/channels`` translate between a platform and the coach: they never import ``bot.store``;
- ``bot/delivery`` plans and sends through its own Protocols (``bot/delivery/ports.py``): it imports
  neither a channel, nor the coach, nor a module of ``bot.store``;
- ``botbuilder``/``botframework`` are imported only inside ``bot/channels/teams``, so replacing the
  archived Teams SDK touches one package;
- the environment is read in one place (``ENVIRONMENT_READERS``): everything else receives settings.

Every import counts, also one inside a function or under ``if TYPE_CHECKING:``: a lazy import is
still a dependency. The last tests build a small package tree with a crossing import and show that
the checker reports it.

``HELD`` are the rules bot/ keeps and that this test enforces (all of them today, and the one reader of
the environment). A new rule that bot/ does not keep yet goes into ``NOT_YET_HELD``, where it is
checked on the synthetic trees only, and moves into ``HELD`` as soon as ``violations(ROOT / "bot",
(rule,))`` is empty.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Rule:
    """Modules under ``layer`` may not import any module under one of ``forbidden`` (dotted prefixes)."""

    name: str
    layer: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    """Exceptions to ``forbidden`` (dotted prefixes)."""
    exempt: tuple[str, ...] = ()
    """Modules of ``layer`` the rule does not apply to (dotted prefixes)."""

    def breaks(self, module: str, imported: str) -> bool:
        if not _under(module, self.layer) or any(_under(module, e) for e in self.exempt):
            return False
        if any(_under(imported, a) for a in self.allowed):
            return False
        return any(_under(imported, f) for f in self.forbidden)


@dataclass(frozen=True)
class Import:
    module: str
    """The importing module."""
    imported: str
    """The imported module, or ``module.name`` for ``from module import name``."""
    path: Path
    line: int


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(package: Path) -> Iterator[Import]:
    """Every import statement in the package at ``package`` (its parent is the import root)."""
    root = package.parent
    for path in sorted(package.rglob("*.py")):
        module = module_name(path, root)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, alias.name, path, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    # ``from bot.store import outbox`` may name a module: check the longer name too
                    yield Import(module, f"{base}.{alias.name}" if alias.name != "*" else base, path, node.lineno)


def violations(package: Path, rules: tuple[Rule, ...]) -> list[str]:
    """``path:line: module imports name (rule)`` for every import a rule forbids."""
    found = []
    for imp in imports(package):
        for rule in rules:
            if rule.breaks(imp.module, imp.imported):
                where = imp.path.relative_to(package.parent)
                found.append(f"{where}:{imp.line}: {imp.module} imports {imp.imported} ({rule.name})")
    return found


CORE = Rule("the core is pure", "bot.core", ("bot",), allowed=("bot.core",))
CHANNELS = Rule("channels never import the store", "bot.channels", ("bot.store",))
DELIVERY = Rule("delivery depends on its Protocols", "bot.delivery", ("bot.channels", "bot.coach", "bot.store"))
TEAMS_SDK = Rule("the Teams SDK stays in the Teams channel", "bot", ("botbuilder", "botframework"),
                 exempt=("bot.channels.teams",))
RULES = (CORE, CHANNELS, DELIVERY, TEAMS_SDK)
HELD = RULES
NOT_YET_HELD: tuple[Rule, ...] = ()


ENVIRONMENT_READERS = ("bot.cli",)
"""Where ``os.environ`` is read (once, into typed settings handed to everything else)."""


def environment_reads(package: Path, readers: tuple[str, ...] = ENVIRONMENT_READERS) -> list[str]:
    """``path:line: module reads the environment`` for ``os.environ``/``os.getenv`` outside ``readers``."""
    found = []
    root = package.parent
    for path in sorted(package.rglob("*.py")):
        module = module_name(path, root)
        if any(_under(module, reader) for reader in readers):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            named = (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                     and node.attr in ("environ", "environb", "getenv", "putenv"))
            imported = isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                alias.name in ("environ", "environb", "getenv", "putenv") for alias in node.names)
            if named or imported:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {module} reads the environment")
    return found


@pytest.mark.parametrize("rule", HELD, ids=lambda rule: rule.name)
def test_bot_keeps_its_layers(rule: Rule) -> None:
    found = violations(ROOT / "bot", (rule,))
    assert not found, "\n".join(found)


def test_only_the_root_reads_the_environment() -> None:
    found = environment_reads(ROOT / "bot")
    assert not found, "\n".join(found)


# -- the checker itself ------------------------------------------------------------------------------------

def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return tmp_path / "bot"


CLEAN = {
    "bot/__init__.py": "",
    "bot/core/__init__.py": "",
    "bot/core/models.py": "from dataclasses import dataclass\n",
    "bot/core/readiness.py": "from bot.core.models import dataclass\nfrom . import models\n",
    "bot/store/__init__.py": "from bot.core.models import dataclass\n",
    "bot/channels/__init__.py": "",
    "bot/channels/slack.py": "from bot.core import readiness\n",
    "bot/channels/teams/__init__.py": "import botbuilder.core\n",
    "bot/delivery/__init__.py": "",
    "bot/delivery/ports.py": "from typing import Protocol\nfrom bot.core.models import dataclass\n",
}


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    package = tree(tmp_path, CLEAN)
    assert violations(package, RULES) == []


@pytest.mark.parametrize(("name", "source", "expected"), [
    ("bot/core/readiness.py", "from bot.store import Store\n",
     "bot/core/readiness.py:1: bot.core.readiness imports bot.store.Store (the core is pure)"),
    ("bot/core/readiness.py", "def late():\n    import bot.channels.slack\n",
     "bot/core/readiness.py:2: bot.core.readiness imports bot.channels.slack (the core is pure)"),
    ("bot/core/readiness.py", "from .. import store\n",
     "bot/core/readiness.py:1: bot.core.readiness imports bot.store (the core is pure)"),
    ("bot/channels/slack.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.store import Store\n",
     "bot/channels/slack.py:3: bot.channels.slack imports bot.store.Store (channels never import the store)"),
    ("bot/channels/teams/__init__.py", "from ...store import outbox\n",
     "bot/channels/teams/__init__.py:1: bot.channels.teams imports bot.store.outbox "
     "(channels never import the store)"),
    ("bot/delivery/ports.py", "from bot.store.outbox import NewMessage\n",
     "bot/delivery/ports.py:1: bot.delivery.ports imports bot.store.outbox.NewMessage "
     "(delivery depends on its Protocols)"),
    ("bot/delivery/ports.py", "import bot.channels.slack\n",
     "bot/delivery/ports.py:1: bot.delivery.ports imports bot.channels.slack (delivery depends on its Protocols)"),
])
def test_the_checker_reports_a_crossing_import(tmp_path: Path, name: str, source: str, expected: str) -> None:
    package = tree(tmp_path, {**CLEAN, name: source})
    assert violations(package, RULES) == [expected]


def test_the_checker_reports_the_teams_sdk_outside_its_channel(tmp_path: Path) -> None:
    package = tree(tmp_path, {**CLEAN, "bot/channels/slack.py": "from botbuilder.schema import Activity\n"})
    assert violations(package, RULES) == [
        "bot/channels/slack.py:1: bot.channels.slack imports botbuilder.schema.Activity "
        "(the Teams SDK stays in the Teams channel)"]


@pytest.mark.parametrize("source", ["import os\nos.environ.get('X')\n", "from os import getenv\n",
                                    "import os\ndef f():\n    return os.getenv('X')\n"])
def test_the_checker_reports_an_environment_read_outside_the_root(tmp_path: Path, source: str) -> None:
    package = tree(tmp_path, {**CLEAN, "bot/cli.py": "import os\nSETTINGS = dict(os.environ)\n",
                              "bot/channels/slack.py": source})
    [found] = environment_reads(package)
    assert found.startswith("bot/channels/slack.py:") and found.endswith("bot.channels.slack reads the environment")
    assert environment_reads(tree(tmp_path / "clean", {**CLEAN, "bot/cli.py": "import os\nX = os.environ\n"})) == []
