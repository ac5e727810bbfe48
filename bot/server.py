"""One aiohttp application: Slack, Teams, health checks and the local chat."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from aiohttp import web

from bot.channels.slack.app import mount_slack
from bot.channels.slack.client import SlackHttp
from bot.channels.slack.transport import slack_transport
from bot.channels.teams.endpoint import mount_teams
from bot.channels.teams.graph import GraphClient, GraphSettings
from bot.channels.teams.install import teams_installer
from bot.channels.teams.transport import teams_transport
from bot.channels.webchat import Persona, add_webchat_routes
from bot.core.access import is_admin
from bot.core.reminders import Respect, may_send
from bot.delivery.budget import budget_for
from bot.delivery.service import Delivery
from bot.delivery.transport import Transport
from bot.delivery.web import WebTransport
from bot.messages import Incoming, Reply
from bot.runtime import Runtime
from bot.store import NotMigrated

log = logging.getLogger(__name__)
RUNTIME = web.AppKey("runtime", Runtime)
DELIVERY = web.AppKey("delivery", Delivery)
SLACK_HTTP = web.AppKey("slack_http", SlackHttp)
NOT_MOUNTED_HINTS = {
    "Slack": "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to mount it at /slack/events "
             "(or SLACK_BOT_TOKEN and SLACK_APP_TOKEN for Socket Mode)",
    "Teams": "set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (and MICROSOFT_APP_TENANT_ID for a single-tenant "
             "app) to mount it at /api/messages",
}
"""What the start-up log says for a platform without its secrets: the environment variables that mount it."""


class WebChatBridge:
    """What the local chat needs from the product: people to play, the coach, the demo clock."""

    def __init__(self, runtime: Runtime, delivery: Delivery) -> None:
        self.runtime = runtime
        self.delivery = delivery

    def quiet_until(self, instant: datetime) -> datetime | None:
        """When the hospital's quiet hours (or weekend) holding reminders back end; None outside them."""
        quiet = self.runtime.config.quiet_hours
        respect = Respect(self.runtime.config.zone, quiet.start, quiet.end, quiet.weekends)
        if may_send(respect, instant):
            return None
        step = instant.replace(second=0, microsecond=0)
        for _ in range(4 * 24 * 4):  # 15-minute steps, at most four days (a weekend and a night)
            step += timedelta(minutes=15)
            if may_send(respect, step):
                return step
        return None

    async def personas(self) -> list[Persona]:
        people = await self.runtime.store.people.all()
        return [Persona(id=p.email, name=p.name, department=p.department,
                        role="admin" if is_admin(p, self.runtime.config.admins) else "physician",
                        detail=p.specialty) for p in people]

    async def handle(self, incoming: Incoming) -> list[Reply]:
        return await self.runtime.coach.handle(incoming)

    def now(self) -> datetime:
        return self.runtime.clock.now()

    async def advance_clock(self, delta: timedelta) -> datetime:
        await self.runtime.advance_clock(delta)
        await self.delivery.tick()
        await self.delivery.sender.drain_once()
        return self.runtime.clock.now()

    async def inbox(self, persona_id: str, after: int) -> list[tuple[int, Reply]]:
        messages = await self.runtime.store.outbox.sent_for("web", persona_id, after)
        rendered = []
        for message in messages:
            reply = await self.runtime.coach.reminder(message.person_id, message.kind, message.spec) \
                if message.person_id is not None else None
            if reply is not None:
                rendered.append((message.id, reply))
        return rendered


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        await runtime.store.ping()
        await runtime.store.check_migrated()
    except NotMigrated as exc:  # the operator's next step, no address in it
        log.warning("not ready: %s", exc)
        return web.json_response({"status": "unavailable", "reason": str(exc)}, status=503)
    except Exception as exc:  # host, port and database name stay in the log, not in a public answer
        log.warning("not ready: database unavailable: %s: %s", type(exc).__name__, exc)
        return web.json_response({"status": "unavailable", "reason": "database unavailable"}, status=503)
    return web.json_response({"status": "ready"})


def _install_status(runtime: Runtime, settings: GraphSettings, installer: object | None) -> str:
    if installer is not None:
        return f"every {runtime.config.delivery.teams_install_minutes} minutes"
    why = f"{settings.missing()} not set" if settings.missing() else "delivery.teams_install_minutes is 0"
    return f"off ({why}); `roster` lists who has not installed the app"


def create_app(runtime: Runtime, *, webchat: bool, background: bool = True,
               webchat_token: str | None = None) -> web.Application:
    """The whole product on one aiohttp app; ``background`` runs the scheduler and sender;
    ``webchat_token``: the local chat answers only requests that carry it."""
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    transports: dict[str, Transport] = {}
    if runtime.demo:
        transports["web"] = WebTransport()
    slack_http = app[SLACK_HTTP] = SlackHttp()

    async def slack_session(_: web.Application) -> AsyncIterator[None]:
        """Opened before anything sends; closed after the answers in flight and the sender stopped."""
        await slack_http.open()
        yield
        await slack_http.close()

    app.cleanup_ctx.append(slack_session)
    budget = budget_for(runtime.store)
    """Every platform limit, shared by all instances on PostgreSQL (in this process on SQLite)."""
    slack = slack_transport(runtime, slack_http, budget)
    if slack is not None:
        transports["slack"] = slack
    teams = teams_transport(runtime)
    installer = None
    if teams is not None:
        transports["teams"] = teams
        graph_settings = GraphSettings.from_env()
        # Graph calls share the process's HTTP session (opened above, closed after the sender stopped)
        installer = teams_installer(runtime, graph_settings, GraphClient(
            graph_settings, session=lambda: slack_http.session, budget=budget_for(runtime.store)))

        async def close_teams(_: web.Application) -> None:
            await teams.close()
            if installer is not None:
                await installer.graph.close()

        app.on_cleanup.append(close_teams)
    delivery = Delivery(runtime, transports, installer, budget)
    app[DELIVERY] = delivery
    mounted = {"Slack": mount_slack(app, runtime, slack_http), "Teams": mount_teams(app, runtime)}
    if teams is not None:
        runtime.coach.teams_reach = True
        log.info("Teams app installs through Microsoft Graph: %s", _install_status(runtime, graph_settings, installer))
    for name, line in mounted.items():
        if line is None and name.lower() in transports:
            line = (f"{name}: sending reminders only, not mounted: replies and buttons cannot reach the bot "
                    f"until you {NOT_MOUNTED_HINTS[name]}")
        log.info("%s", line or f"{name}: not mounted; {NOT_MOUNTED_HINTS[name]}")
    if webchat:
        bridge = WebChatBridge(runtime, delivery)
        add_webchat_routes(app, bridge, clock_control=runtime.demo, token=webchat_token,
                           zone=runtime.config.timezone, quiet_until=bridge.quiet_until)

    async def start_delivery(_: web.Application) -> None:
        if background:
            delivery.start()

    async def stop_delivery(_: web.Application) -> None:
        await delivery.stop()

    async def close_store(_: web.Application) -> None:
        await runtime.store.close()

    app.on_startup.append(start_delivery)
    app.on_shutdown.append(stop_delivery)
    app.on_cleanup.append(close_store)
    return app
