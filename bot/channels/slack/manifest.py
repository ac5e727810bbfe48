"""The Slack app manifest (``manifest/slack/manifest.yaml``) with this install's request URLs."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.channels.slack.app import SLACK_EVENTS_PATH
from bot.resources import shipped_dir

MANIFEST_FILE = shipped_dir("manifest") / "slack" / "manifest.yaml"
HEADER = ("# Social Rounds Slack app manifest, written by `rounds manifest slack`.\n"
          "# Paste it at https://api.slack.com/apps > Create New App > From an app manifest.\n"
          "# Why each scope and event is needed: docs/slack.md.\n")


class ManifestError(ValueError):
    """A request URL that Slack would not accept; the message says what is wrong."""


def load_template(path: Path = MANIFEST_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: not a manifest")
    return data


def events_url(base: str) -> str:
    """``https://host[/prefix]`` → ``https://host[/prefix]/slack/events`` (already-complete URLs are kept)."""
    parts = urlsplit(base.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(f"“{base}” is not an https:// address; Slack only calls HTTPS request URLs. "
                            "Give the bot's public base URL, e.g. https://rounds.example-hospital.org")
    if parts.query or parts.fragment:
        raise ManifestError("the URL must not have a query (?…) or fragment (#…)")
    path = parts.path.rstrip("/")
    if not path.endswith(SLACK_EVENTS_PATH):
        path += SLACK_EVENTS_PATH
    return f"{parts.scheme}://{parts.netloc}{path}"


def slack_manifest(url: str | None = None, *, socket_mode: bool = False,
                   template: dict[str, Any] | None = None) -> dict[str, Any]:
    """HTTP mode (every request URL set to ``<url>/slack/events``) or Socket Mode (no request URLs)."""
    manifest = copy.deepcopy(template if template is not None else load_template())
    features, settings = manifest.setdefault("features", {}), manifest.setdefault("settings", {})
    commands = features.get("slash_commands", [])
    events = settings.setdefault("event_subscriptions", {})
    interactivity = settings.setdefault("interactivity", {"is_enabled": True})
    if socket_mode:
        for command in commands:
            command.pop("url", None)
        events.pop("request_url", None)
        interactivity.pop("request_url", None)
        settings["socket_mode_enabled"] = True
        return manifest
    if not url:
        raise ManifestError("--url is required (the bot's public HTTPS address), or use --socket-mode")
    endpoint = events_url(url)
    for command in commands:
        command["url"] = endpoint
    events["request_url"] = endpoint
    interactivity["request_url"] = endpoint
    settings["socket_mode_enabled"] = False
    return manifest


def manifest_yaml(manifest: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
