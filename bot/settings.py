"""The environment, read once into typed settings: the one place that knows the variables' names.

The composition root (:mod:`bot.app`) and the command line get a :class:`Settings` from
:meth:`Settings.from_env`; everything else receives the part it needs. A platform whose secrets
are absent is ``None`` (not mounted). The names are the run-time interface (README,
"Configuration"): keep them as they are.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot import logsafety
from bot.config import ConfigError

DEFAULT_DATABASE = "sqlite:///social-rounds.db"
DEMO_DATABASE = "sqlite:///social-rounds-demo.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0/"
DEFAULT_LOGIN_URL = "https://login.microsoftonline.com/"
DEFAULT_BLUESKY_API_URL = "https://public.api.bsky.app/xrpc/"
DEFAULT_X_API_URL = "https://api.x.com/2/"
TEAMS_APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}


@dataclass(frozen=True)
class SlackSettings:
    """``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN``, ``SLACK_API_URL``."""

    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    api_url: str = DEFAULT_SLACK_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackSettings:
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
        return cls(bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
                   signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
                   app_token=env.get("SLACK_APP_TOKEN", "").strip(),
                   api_url=api_url if api_url.endswith("/") else api_url + "/")

    @property
    def mode(self) -> Literal["socket", "http"] | None:
        """Socket Mode when an app-level token is set, HTTP when the signing secret is; else off."""
        if not self.bot_token:
            return None
        if self.app_token:
            return "socket"
        if self.signing_secret:
            return "http"
        return None


@dataclass(frozen=True)
class TeamsSettings:
    """What the environment says about Teams (see DESIGN.md, run-time interface)."""

    app_id: str = ""
    app_password: str = ""
    tenant_id: str = ""
    app_type: str = "MultiTenant"
    anonymous: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.app_id) or self.anonymous

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TeamsSettings:
        """Read and check the ``MICROSOFT_APP_*`` variables; raises ConfigError on a bad combination."""
        app_id = env.get("MICROSOFT_APP_ID", "").strip()
        anonymous = env.get("ROUNDS_TEAMS_ANONYMOUS", "").strip() == "1"
        if app_id and anonymous:
            raise ConfigError("ROUNDS_TEAMS_ANONYMOUS=1 is refused while MICROSOFT_APP_ID is set: anonymous mode "
                              "is for local testing only; unset one of the two")
        raw_type = env.get("MICROSOFT_APP_TYPE", "").strip() or "MultiTenant"
        app_type = TEAMS_APP_TYPES.get(raw_type.lower())
        if app_type is None:
            raise ConfigError(f"MICROSOFT_APP_TYPE={raw_type!r} is not one of MultiTenant, SingleTenant, "
                              "UserAssignedMSI")
        settings = cls(app_id, env.get("MICROSOFT_APP_PASSWORD", ""), env.get("MICROSOFT_APP_TENANT_ID", "").strip(),
                       app_type, anonymous)
        if app_id:
            settings._check_credentials()
        return settings

    def _check_credentials(self) -> None:
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and not self.tenant_id:
            raise ConfigError(f"MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE={self.app_type}")
        if self.app_type != "UserAssignedMSI" and not self.app_password:
            raise ConfigError(f"MICROSOFT_APP_PASSWORD is required when MICROSOFT_APP_TYPE={self.app_type}")


@dataclass(frozen=True)
class GraphSettings:
    """Graph's part of the environment (see README): the bot's credentials and where things are."""

    app_id: str = ""
    app_password: str = ""
    tenant_id: str = ""
    graph_url: str = DEFAULT_GRAPH_URL
    login_url: str = DEFAULT_LOGIN_URL
    catalog_app_id: str = ""
    """``TEAMS_CATALOG_APP_ID``: the app's id in the tenant's app catalog; empty: looked up by the manifest id."""
    service_url: str = ""
    """``TEAMS_SERVICE_URL``: the Bot Connector address for new references; empty: learned, else the default."""

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.app_password and self.tenant_id)

    def missing(self) -> str:
        """Which variables keep Graph off ('' when it is on)."""
        names = [name for name, value in (("MICROSOFT_APP_ID", self.app_id), ("MICROSOFT_APP_PASSWORD",
                 self.app_password), ("MICROSOFT_APP_TENANT_ID", self.tenant_id)) if not value]
        return ", ".join(names)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GraphSettings:
        return cls(app_id=env.get("MICROSOFT_APP_ID", "").strip(),
                   app_password=env.get("MICROSOFT_APP_PASSWORD", ""),
                   tenant_id=env.get("MICROSOFT_APP_TENANT_ID", "").strip(),
                   graph_url=_base(env.get("GRAPH_API_URL", ""), DEFAULT_GRAPH_URL),
                   login_url=_base(env.get("MICROSOFT_LOGIN_URL", ""), DEFAULT_LOGIN_URL),
                   catalog_app_id=env.get("TEAMS_CATALOG_APP_ID", "").strip(),
                   service_url=_base(env.get("TEAMS_SERVICE_URL", ""), ""))


@dataclass(frozen=True)
class NetworkSettings:
    """``BLUESKY_API_URL``, ``X_API_URL`` and ``X_BEARER_TOKEN``: where the verified facts come from."""

    bluesky_url: str = DEFAULT_BLUESKY_API_URL
    x_url: str = DEFAULT_X_API_URL
    x_token: str = ""
    """X's app-only bearer token; empty: X facts stay self-reported."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NetworkSettings:
        return cls(bluesky_url=_base(env.get("BLUESKY_API_URL", ""), DEFAULT_BLUESKY_API_URL),
                   x_url=_base(env.get("X_API_URL", ""), DEFAULT_X_API_URL),
                   x_token=env.get("X_BEARER_TOKEN", "").strip())


def _base(value: str, default: str) -> str:
    value = value.strip() or default
    return value if not value or value.endswith("/") else value + "/"


@dataclass(frozen=True)
class Settings:
    """Everything the process reads from its environment."""

    slack: SlackSettings | None = None
    """None without ``SLACK_BOT_TOKEN``: no Slack at all (with it but no way in, Slack only sends)."""
    teams: TeamsSettings | None = None
    """None without ``MICROSOFT_APP_ID`` (or ``ROUNDS_TEAMS_ANONYMOUS=1``): Teams is not mounted."""
    teams_error: str = ""
    """Why the Teams variables are refused ('' when they are not). Serving refuses to start with it
    (:meth:`check_teams`); commands that do not talk to Teams run as usual."""
    graph: GraphSettings = GraphSettings()
    """Always read: ``missing()`` says what keeps installing through Graph off."""
    database_url: str | None = None
    """``DATABASE_URL``; None: the command's default (a SQLite file in the working directory)."""
    config_file: str | None = None
    """``ROUNDS_CONFIG``: the config file when ``--config`` is not given."""
    log_level: int = logsafety.level_from(None)
    """``ROUNDS_LOG_LEVEL``."""
    access_log: bool = False
    """``ROUNDS_ACCESS_LOG=1``: aiohttp's line per request."""
    microsoft_app_id: str = ""
    """``MICROSOFT_APP_ID`` as given (``rounds teams-package`` checks it is a GUID)."""
    networks: NetworkSettings = NetworkSettings()
    """X and Bluesky: base URLs and X's token."""

    def check_teams(self) -> None:
        """Raises ConfigError (exit code 2) when the Teams variables contradict each other or are incomplete."""
        if self.teams_error:
            raise ConfigError(self.teams_error)

    def database(self, default: str = DEFAULT_DATABASE) -> str:
        """``DATABASE_URL``, else ``default``."""
        return self.database_url or default

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Raises ValueError for a bad log level (exit code 2); Teams' problems wait for :meth:`check_teams`."""
        log_level = logsafety.level_from(env.get("ROUNDS_LOG_LEVEL"))
        slack = SlackSettings.from_env(env)
        try:
            teams: TeamsSettings | None = TeamsSettings.from_env(env)
            teams_error = ""
        except ConfigError as exc:
            teams, teams_error = None, str(exc)
        return cls(slack=slack if slack.bot_token else None, teams=teams if teams and teams.enabled else None,
                   teams_error=teams_error,
                   graph=GraphSettings.from_env(env), database_url=env.get("DATABASE_URL") or None,
                   config_file=env.get("ROUNDS_CONFIG") or None, log_level=log_level,
                   access_log=env.get("ROUNDS_ACCESS_LOG") == "1",
                   microsoft_app_id=env.get("MICROSOFT_APP_ID", ""),
                   networks=NetworkSettings.from_env(env))


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (None for other databases and in-memory SQLite)."""
    for prefix in ("sqlite:///", "sqlite+aiosqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix):].split("?", 1)[0]
            return Path(path) if path and path != ":memory:" else None
    return None
