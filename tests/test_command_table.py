"""The command table: every command of the grammar has a handler and metadata, every action verb a
handler, and what the Slack channel reads about a command is the grammar's metadata."""
from __future__ import annotations

import pytest

from bot.actions import TOPICS
from bot.channels.slack.app import action_reads_only, reads_only
from bot.clock import FixedClock
from bot.coach import Coach
from bot.config import Config
from bot.content import Content
from bot.core.commands import ALIASES, SPEC_BY_NAME, SPECS, Command, changes_state, parse
from bot.store import Store
from conftest import NOW

SLACK_ONLY_VERBS = {"modal"}
"""Presses the Slack channel answers itself (it opens a modal); they never reach the coach."""


@pytest.fixture
def table_coach(content: Content) -> Coach:
    return Coach(Store.open("sqlite:///:memory:"), content, Config(), FixedClock(NOW))


def test_every_command_of_the_grammar_has_a_handler_and_no_handler_is_unnamed(table_coach: Coach) -> None:
    assert set(table_coach.commands) == set(SPEC_BY_NAME)
    assert all(callable(handler) for handler in table_coach.commands.values())


def test_every_action_verb_has_a_handler_and_a_topic(table_coach: Coach) -> None:
    assert set(table_coach.actions) == set(TOPICS) - SLACK_ONLY_VERBS


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_command_has_complete_metadata(spec) -> None:
    assert spec.usage.startswith(spec.name) and spec.example.startswith(spec.name)
    assert spec.summary.key == "command_" + spec.name.replace(" ", "_")
    assert spec.effect in ("shows", "changes_with_arguments", "changes")
    assert isinstance(parse(spec.example), Command)


def test_aliases_are_unique_and_never_shadow_a_command() -> None:
    aliases = [alias for spec in SPECS for alias in spec.aliases]
    assert len(aliases) == len(set(aliases)) == len(ALIASES)
    assert not set(aliases) & set(SPEC_BY_NAME)
    for alias, name in ALIASES.items():
        command = parse(alias)
        assert isinstance(command, Command) and command.name == name, alias


@pytest.mark.parametrize("name", sorted(SPEC_BY_NAME))
def test_slack_reads_the_grammar_metadata(name: str) -> None:
    effect = SPEC_BY_NAME[name].effect
    bare, with_arguments = parse(name), parse(f"{name} something")
    assert reads_only(name) is (effect != "changes") is (not changes_state(bare))
    assert reads_only(f"{name} something") is (effect == "shows") is (not changes_state(with_arguments))
    assert action_reads_only(f"cmd:{name}") is reads_only(name)
    for alias in SPEC_BY_NAME[name].aliases:
        if alias not in ("join", "leave"):  # "join ASCO" is "meetings join ASCO": never bare
            assert reads_only(alias) is reads_only(name), alias
