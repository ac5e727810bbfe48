"""Reach every Teams user: install the app through Microsoft Graph for roster physicians who lack it.

A bot can message only people who have its app. For each active physician with no Teams
conversation reference, the installer finds their Entra user by email, installs the app in their
personal scope (409: it already was), reads the chat id of that installation and stores a
conversation reference under their object id, the address the scheduler and
:class:`~bot.channels.teams.transport.TeamsTransport` use. Teams also tells the bot about the installation
(it then sends its welcome card) and that reference replaces this one.

One instance runs it at a time (a lease in the database, renewed per page); every outcome is
stored per physician as soon as it is known, so a run that dies midway is picked up where it
stopped by the next run on any instance. What could not be done, and why, is shown by ``roster``.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.channels.ports import InstallCandidate, InstallRecords
from bot.channels.teams.activities import PLATFORM, installed_reference, reference_service_url
from bot.channels.teams.graph import (
    DEFAULT_SERVICE_URL,
    NO_TEAMS_USER,
    GraphClient,
    GraphCredentialsRejected,
    GraphDenied,
    GraphError,
    GraphUnavailable,
)
from bot.clock import Clock
from bot.core import reasons
from bot.settings import GraphSettings

log = logging.getLogger(__package__)

LEASE = "teams-install"
LEASE_SECONDS = 300.0
PAGE = 50
CHAT_PENDING = reasons.TEAMS_CHAT_PENDING
CHAT_RETRY = timedelta(minutes=10)
INSTALLED, FAILED = "installed", "failed"
"""What is recorded per physician (``record_install``)."""


@dataclass
class InstallSummary:
    """What one run did; ``stopped`` says why it ended early (credentials, permission, Graph down)."""

    checked: int = 0
    installed: int = 0
    already: int = 0
    unreachable: dict[str, int] = field(default_factory=dict)
    would_install: list[str] = field(default_factory=list)
    """Dry run: the emails the app would be installed for."""
    stopped: str = ""
    skipped: str = ""
    graph_calls: int = 0

    def failed(self, reason: str) -> None:
        self.unreachable[reason] = self.unreachable.get(reason, 0) + 1

    def line(self, said: Callable[[str], str] = str) -> str:
        """One line for the log (reason codes) or, with ``said``, for the person running the command."""
        if self.skipped:
            return f"teams install: skipped ({self.skipped})"
        parts = [f"{self.checked} checked", f"{self.installed} installed", f"{self.already} already had the app"]
        parts += [f"{count} {said(reason)}" for reason, count in sorted(self.unreachable.items())]
        text = "teams install: " + ", ".join(parts) + f"; {self.graph_calls} Graph calls"
        return text + (f"; stopped: {said(self.stopped)}" if self.stopped else "")


class TeamsInstaller:
    def __init__(self, records: InstallRecords, clock: Clock, graph: GraphClient, *,
                 retry_after: timedelta = timedelta(hours=24), owner: str | None = None) -> None:
        self.records = records
        self.graph = graph
        self.settings: GraphSettings = graph.settings
        self.retry_after = retry_after
        self.owner = owner or f"installer-{uuid.uuid4().hex[:12]}"
        self._now = clock.now
        self._app_id: str | None = None

    async def run(self, *, dry_run: bool = False) -> InstallSummary:
        """Install the app for everyone due, page by page, while this instance holds the lease."""
        summary = InstallSummary()
        installs = self.records
        if not dry_run and not await installs.take_install_lease(LEASE, self.owner, self._now(), LEASE_SECONDS):
            summary.skipped = "another instance is installing"
            return summary
        calls = self.graph.calls
        try:
            app_id = await self._catalog_app_id()
            service_url = await self._service_url()
            after = 0
            renewed = self._now()
            while page := await installs.install_candidates(self._now(), after, PAGE):
                after = page[-1].person_id
                for candidate in page:
                    if not dry_run and (self._now() - renewed).total_seconds() > LEASE_SECONDS / 3:
                        renewed = self._now()  # a slow Graph (429 pauses) must not let the lease run out
                        if not await installs.take_install_lease(LEASE, self.owner, renewed, LEASE_SECONDS):
                            raise _Stop("lost the lease to another instance")
                    await self._one(candidate, app_id, service_url, summary, dry_run)
        except (GraphCredentialsRejected, GraphUnavailable, _Stop) as exc:
            summary.stopped = str(exc)
        except GraphError as exc:  # a permission the whole run needs, or Graph refusing the catalog lookup
            summary.stopped = exc.reason
        finally:
            summary.graph_calls = self.graph.calls - calls
            if not dry_run:
                await installs.release_install_lease(LEASE, self.owner)
        log.log(logging.WARNING if summary.stopped else logging.INFO, "%s", summary.line())
        return summary

    async def _catalog_app_id(self) -> str:
        if self._app_id is None:
            found = self.settings.catalog_app_id or await self.graph.catalog_app_id(self.settings.app_id)
            if not found:
                raise _Stop(f"the Teams app {self.settings.app_id} is not in the tenant's app catalog: upload it "
                            "(docs/teams.md) or set TEAMS_CATALOG_APP_ID")
            self._app_id = found
        return self._app_id

    async def _service_url(self) -> str:
        if self.settings.service_url:
            return self.settings.service_url
        latest = await self.records.latest_reference()
        return (reference_service_url(latest) if latest else None) or DEFAULT_SERVICE_URL

    async def _one(self, candidate: InstallCandidate, app_id: str, service_url: str, summary: InstallSummary,
                   dry_run: bool) -> None:
        records, now = self.records, self._now()
        summary.checked += 1
        user_id = candidate.user_id
        try:
            user_id = user_id or await self.graph.find_user(candidate.email)
            if user_id is None:
                raise GraphError(NO_TEAMS_USER, 404)
            if dry_run:
                summary.would_install.append(candidate.email)
                return
            created = await self.graph.install(user_id, app_id)
            chat_id = await self.graph.installation_chat(user_id, app_id)
        except GraphDenied as exc:
            if dry_run:
                raise
            # a missing permission: tried again on the next run; a policy: after retry_after
            retry = now if exc.permission_missing else now + self.retry_after
            await records.record_install(candidate.person_id, FAILED, exc.reason, user_id, now, retry)
            summary.failed(exc.reason)
            if exc.permission_missing:
                raise
            return
        except GraphError as exc:
            if not dry_run:
                await records.record_install(candidate.person_id, FAILED, exc.reason, user_id, now,
                                                  now + self.retry_after)
            summary.failed(exc.reason)
            return
        if chat_id is None:
            await records.record_install(candidate.person_id, FAILED, CHAT_PENDING, user_id, now, now + CHAT_RETRY)
            summary.failed(CHAT_PENDING)
            return
        address = user_id.lower()
        reference = installed_reference(app_id=self.settings.app_id, user_id=address, chat_id=chat_id,
                                        tenant_id=self.settings.tenant_id, service_url=service_url)
        await records.save_reference(PLATFORM, address, reference, candidate.person_id, now)
        await records.link_identity(PLATFORM, address, candidate.person_id, now)
        await records.record_install(candidate.person_id, INSTALLED, "", user_id, now)
        if created:
            summary.installed += 1
        else:
            summary.already += 1
        log.info("teams app reachable person=%s user=%s created=%s", candidate.person_id, address, created)


class _Stop(Exception):
    """The run cannot go on (configuration); the message says what to do."""

