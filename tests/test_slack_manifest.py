"""The Slack app manifest validates against Slack's official schema (offline), and
``rounds manifest slack`` prints it with this install's request URLs."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from bot.channels.slack.manifest import MANIFEST_FILE, load_template, slack_manifest
from bot.cli import main
from slack_fixtures import ROOT, SCHEMAS

SCHEMA_BASE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
SCOPES = {"app_mentions:read", "chat:write", "commands", "dnd:read", "im:history", "im:write", "users:read", "users:read.email"}
EVENTS = {"app_home_opened", "app_mention", "message.im", "app_uninstalled", "tokens_revoked", "team_join",
          "user_change", "dnd_updated_user"}


def _no_network(uri: str) -> Resource:
    raise LookupError(f"offline: {uri}")


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    """The main schema with both versioned schemas registered under their absolute URLs."""
    folder = SCHEMAS / "slack"
    load = lambda name: json.loads((folder / name).read_text("utf-8"))  # noqa: E731
    registry = Registry(retrieve=_no_network).with_resources([  # type: ignore[call-arg]
        (SCHEMA_BASE + name, Resource.from_contents(load(name), default_specification=DRAFT7))
        for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")])
    return Draft7Validator(load("manifest.schema.json"), registry=registry)


def _errors(validator: Draft7Validator, manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def _urls(manifest: dict[str, Any]) -> list[str]:
    found = [c.get("url") for c in manifest["features"]["slash_commands"]]
    found += [manifest["settings"]["event_subscriptions"].get("request_url"),
              manifest["settings"]["interactivity"].get("request_url")]
    return found


def _print(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["manifest", "slack", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_checked_in_manifest_is_valid_and_minimal(validator: Draft7Validator) -> None:
    assert MANIFEST_FILE == ROOT / "manifest" / "slack" / "manifest.yaml"
    manifest = load_template()
    assert _errors(validator, manifest) == []
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == SCOPES
    assert "user" not in manifest["oauth_config"]["scopes"]
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == EVENTS
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/rounds"]
    assert manifest["features"]["app_home"] == {"home_tab_enabled": True, "messages_tab_enabled": True,
                                                "messages_tab_read_only_enabled": False}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_the_validator_is_strict(validator: Draft7Validator) -> None:
    manifest = load_template()
    manifest["display_information"]["name"] = "x" * 36
    manifest["features"]["slash_commands"][0]["command"] = "rounds"
    manifest["settings"]["surprise"] = True
    assert len(_errors(validator, manifest)) >= 1
    assert _errors(validator, {"_metadata": {"major_version": 1}}) != []


def test_cli_prints_the_http_manifest_with_request_urls(capsys: pytest.CaptureFixture[str],
                                                        validator: Draft7Validator) -> None:
    code, out, err = _print(capsys, "--url", "https://rounds.riverside.example/")
    assert (code, err) == (0, "")
    assert out.startswith("# Social Rounds Slack app manifest")
    manifest = yaml.safe_load(out)
    assert _errors(validator, manifest) == []
    assert _urls(manifest) == ["https://rounds.riverside.example/slack/events"] * 3
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == SCOPES


@pytest.mark.parametrize(("given", "expected"), [
    ("https://bots.riverside.example/rounds", "https://bots.riverside.example/rounds/slack/events"),
    ("https://rounds.riverside.example/slack/events", "https://rounds.riverside.example/slack/events"),
    ("https://rounds.riverside.example:8443", "https://rounds.riverside.example:8443/slack/events"),
])
def test_url_forms(given: str, expected: str) -> None:
    assert _urls(slack_manifest(given)) == [expected] * 3


def test_cli_prints_the_socket_mode_manifest(capsys: pytest.CaptureFixture[str],
                                             validator: Draft7Validator) -> None:
    code, out, _ = _print(capsys, "--socket-mode")
    assert code == 0
    manifest = yaml.safe_load(out)
    assert _errors(validator, manifest) == []
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _urls(manifest) == [None, None, None], "Socket Mode needs no request URL"
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == EVENTS


@pytest.mark.parametrize(("args", "message"), [
    ((), "--url is required"),
    (("--url", "rounds.riverside.example"), "not an https:// address"),
    (("--url", "http://rounds.riverside.example"), "not an https:// address"),
    (("--url", "https://rounds.riverside.example/?x=1"), "must not have a query"),
    (("--url", "https://rounds.riverside.example", "--socket-mode"), "not both"),
])
def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code, out, err = _print(capsys, *args)
    assert code == 2 and out == ""
    assert message in err and err.startswith("rounds: ")


def test_every_scope_and_event_is_justified_in_the_docs() -> None:
    doc = (ROOT / "docs" / "slack.md").read_text("utf-8")
    justified = set(re.findall(r"^\| `([a-z_.:]+)` \|", doc, flags=re.MULTILINE))
    assert justified == SCOPES
    for event in EVENTS:
        assert f"`{event}`" in doc
    assert "## Install in Slack" in doc
    assert "rounds manifest slack --url" in doc and "--socket-mode" in doc
