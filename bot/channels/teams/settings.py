"""Teams' part of the environment: the bot's app id, password, tenant and app type."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import ConfigError

APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}


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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TeamsSettings:
        """Read and check the ``MICROSOFT_APP_*`` variables; raises ConfigError on a bad combination."""
        env = os.environ if environ is None else environ
        app_id = env.get("MICROSOFT_APP_ID", "").strip()
        anonymous = env.get("ROUNDS_TEAMS_ANONYMOUS", "").strip() == "1"
        if app_id and anonymous:
            raise ConfigError("ROUNDS_TEAMS_ANONYMOUS=1 is refused while MICROSOFT_APP_ID is set: anonymous mode "
                              "is for local testing only; unset one of the two")
        raw_type = env.get("MICROSOFT_APP_TYPE", "").strip() or "MultiTenant"
        app_type = APP_TYPES.get(raw_type.lower())
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
