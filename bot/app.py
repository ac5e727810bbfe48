"""The composition root: the one place that wires settings, config, content, store, clock, coach,
delivery and the channels into one aiohttp application, and runs it.

The environment is read once (:class:`bot.settings.Settings`, by the command line) and handed in.
Channels and delivery get narrow capabilities (:mod:`bot.channels.ports`), never the store or the
:class:`Runtime`; the store behind those capabilities is reached through
:class:`~bot.channel_services.ChannelServices`. One Slack HTTP session, one Teams ``CloudAdapter``
and one turn queue serve the whole process.
"""
from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.channel_services import ChannelServices
from bot.channels.charts import chart_url
from bot.channels.share import add_share_route
from bot.channels.slack.app import mount_slack
from bot.channels.slack.client import SlackHttp, transport_client
from bot.channels.slack.transport import SlackTransport
from bot.channels.teams.adapter import CONNECTOR_TIMEOUT_SECONDS, build_adapter, close_adapter
from bot.channels.teams.endpoint import mount_teams
from bot.channels.teams.graph import GraphClient
from bot.channels.teams.handler import TeamsBot
from bot.channels.teams.install import TeamsInstaller
from bot.channels.teams.replies import TurnConnector
from bot.channels.teams.transport import TeamsTransport
from bot.channels.turns import TurnQueue
from bot.channels.webchat import add_webchat_routes
from bot.clock import Clock, SimulatedClock, SystemClock
from bot.coach import Coach
from bot.config import Config
from bot.content import Content, load_content
from bot.core.forms import MEETING_FORM, STORY_FORM
from bot.delivery.budget import Budget, LocalBudget, Rate
from bot.delivery.service import Delivery
from bot.delivery.transport import Transport
from bot.delivery.web import WebTransport
from bot.forms import build_form
from bot.messages import Reply
from bot.networks.bluesky import BlueskyClient
from bot.networks.http import JsonApi
from bot.networks.sync import Hospital, PresenceSync, Progress
from bot.networks.x import XClient, XRates
from bot.outbound import OutboundSession
from bot.settings import GraphSettings, NetworkSettings, Settings, SlackSettings
from bot.store import NotMigrated, Store
from bot.store.budgets import SqlBudget
from bot.webchat_backend import WebChatBridge

log = logging.getLogger(__name__)
CLOCK_OFFSET_KEY = "demo.clock_offset_seconds"
GC_YOUNG_THRESHOLD = 10_000
NOT_MOUNTED_HINTS = {
    "Slack": "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to mount it at /slack/events "
             "(or SLACK_BOT_TOKEN and SLACK_APP_TOKEN for Socket Mode)",
    "Teams": "set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (and MICROSOFT_APP_TENANT_ID for a single-tenant "
             "app) to mount it at /api/messages",
}
"""What the start-up log says for a platform without its secrets: the environment variables that mount it."""


@dataclass
class Runtime:
    """Config, content, store, clock and coach, built once per process. Only this module and the command
    line hold it: everything else gets the part it needs."""

    config: Config
    content: Content
    store: Store
    clock: Clock
    coach: Coach
    demo: bool = False

    @classmethod
    def build(cls, config: Config, database_url: str, *, demo: bool = False,
              clock: Clock | None = None, content: Content | None = None) -> Runtime:
        content = content or load_content(Path(config.content_dir))
        return cls.of(config, content, Store.open(database_url),
                      clock or (SimulatedClock() if demo else SystemClock()), demo=demo)

    @classmethod
    def of(cls, config: Config, content: Content, store: Store, clock: Clock, *, demo: bool = False) -> Runtime:
        """The runtime over parts already made (tests hand in their store and clock)."""
        return cls(config, content, store, clock, Coach(store, content, config, clock), demo)

    @property
    def services(self) -> ChannelServices:
        """What the channels keep and read, over this runtime's store and coach."""
        return ChannelServices(self.store, self.coach, self.clock)

    async def restore_clock(self) -> None:
        """The demo's simulated time survives a restart."""
        if isinstance(self.clock, SimulatedClock):
            saved = await self.store.settings.get(CLOCK_OFFSET_KEY)
            if saved:
                self.clock.offset = timedelta(seconds=float(saved))

    async def advance_clock(self, delta: timedelta) -> None:
        if not isinstance(self.clock, SimulatedClock):
            raise RuntimeError("only the demo clock can be moved")
        self.clock.advance(delta)
        await self.store.settings.set(CLOCK_OFFSET_KEY, str(self.clock.offset.total_seconds()))


def budget_for(store: Store) -> Budget:
    """The rate budgets: shared through the database on PostgreSQL, in this process on SQLite."""
    if store.engine.dialect.name == "postgresql":
        return SqlBudget(store.engine)
    return LocalBudget()


# -- the platforms' senders ---------------------------------------------------------------------------------
def slack_transport(settings: Settings, runtime: Runtime, http: SlackHttp | None = None,
                    budget: Budget | None = None) -> SlackTransport | None:
    """The sender's Slack transport, or None without a bot token; ``http``: the shared session."""
    slack = settings.slack
    if slack is None:
        return None
    public_url, secret = runtime.config.public_url, slack.signing_secret
    return SlackTransport(transport_client(slack, http), runtime.services, runtime.clock, runtime.content.words,
                          lambda image: chart_url(public_url, secret, image),
                          budget=budget or budget_for(runtime.store), limits=runtime.config.delivery.slack)


def teams_transport(settings: Settings, runtime: Runtime) -> TeamsTransport | None:
    """A Teams transport with its own adapter (``rounds serve`` shares the endpoint's), or None when
    Teams is not configured."""
    teams = settings.teams
    if teams is None:
        return None
    return TeamsTransport(build_adapter(teams), runtime.services, teams.app_id, runtime.content.words)


def teams_installer(settings: GraphSettings, runtime: Runtime, graph: GraphClient | None = None
                    ) -> TeamsInstaller | None:
    """The installer when Graph credentials are complete and installs are on, else None (the bot
    works as before and ``roster`` lists who has not installed the app)."""
    if not settings.enabled or runtime.config.delivery.teams_install_minutes == 0:
        return None
    return installer(runtime, graph or GraphClient(settings, budget=budget_for(runtime.store)))


def installer(runtime: Runtime, graph: GraphClient, *, owner: str | None = None) -> TeamsInstaller:
    """Installs the Teams app through ``graph`` for the roster, retrying as ``rounds.yaml`` says."""
    retry = timedelta(hours=runtime.config.delivery.teams_install_retry_hours)
    return TeamsInstaller(runtime.services, runtime.clock, graph, retry_after=retry, owner=owner)


# -- the application ----------------------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _readiness(store: Store) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``GET /readyz``: the database answers and its schema is current."""

    async def readyz(request: web.Request) -> web.Response:
        try:
            await store.ping()
            await store.check_migrated()
        except NotMigrated as exc:  # the operator's next step, no address in it
            log.warning("not ready: %s", exc)
            return web.json_response({"status": "unavailable", "reason": str(exc)}, status=503)
        except Exception as exc:  # host, port and database name stay in the log, not in a public answer
            log.warning("not ready: database unavailable: %s: %s", type(exc).__name__, exc)
            return web.json_response({"status": "unavailable", "reason": "database unavailable"}, status=503)
        return web.json_response({"status": "ready"})

    return readyz


def _install_status(runtime: Runtime, settings: GraphSettings, installer: object | None) -> str:
    if installer is not None:
        return f"every {runtime.config.delivery.teams_install_minutes} minutes"
    why = f"{settings.missing()} not set" if settings.missing() else "delivery.teams_install_minutes is 0"
    return f"off ({why}); `roster` lists who has not installed the app"


# -- verified presence on X and Bluesky ---------------------------------------------------------------------
def presence_sync(settings: NetworkSettings, runtime: Runtime, *,
                  session: Callable[[], aiohttp.ClientSession | None] | None = None,
                  budget: Budget | None = None, progress: Progress | None = None) -> PresenceSync:
    """The X and Bluesky sync: X when ``X_BEARER_TOKEN`` is set, Bluesky when the hospital's Bluesky
    handle is (``rounds.yaml``); both on ``session`` (the process's) under the shared budgets."""
    config, budget = runtime.config, budget or budget_for(runtime.store)
    wait = float(config.verify.max_wait_seconds)
    x = None
    if settings.x_token:
        x = XClient(JsonApi(settings.x_url, budget, header_prefix="x-rate-limit-", session=session, max_wait=wait,
                            headers={"Authorization": f"Bearer {settings.x_token}"}),
                    XRates.per_window(config.verify.x_lookups_per_15min, config.verify.x_follow_pages_per_15min))
    bluesky = BlueskyClient(JsonApi(settings.bluesky_url, budget, header_prefix="ratelimit-", session=session,
                                    max_wait=wait),
                            Rate(config.verify.bluesky_per_5min / 300.0, min(50.0, config.verify.bluesky_per_5min)))
    hospital = Hospital(config.hospital_name, config.hospital_handle, config.hospital_bluesky)
    return PresenceSync(runtime.store.presence, runtime.clock, hospital, x=x, bluesky=bluesky, progress=progress)


def create_app(settings: Settings, runtime: Runtime, *, webchat: bool, background: bool = True,
               webchat_token: str | None = None) -> web.Application:
    """The whole product on one aiohttp app; ``background`` runs the scheduler and sender;
    ``webchat_token``: the local chat answers only requests that carry it. Raises ConfigError for
    contradictory or incomplete Teams settings."""
    settings.check_teams()
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", _readiness(runtime.store))
    services, turns = runtime.services, TurnQueue()
    transports: dict[str, Transport] = {}
    if runtime.demo:
        transports["web"] = WebTransport()
    slack_http = SlackHttp()

    async def slack_session(_: web.Application) -> AsyncIterator[None]:
        """Opened before anything sends; closed after the answers in flight and the sender stopped."""
        await slack_http.open()
        yield
        await slack_http.close()

    app.cleanup_ctx.append(slack_session)
    budget = budget_for(runtime.store)
    """Every platform limit, shared by all instances on PostgreSQL (in this process on SQLite)."""
    slack = slack_transport(settings, runtime, slack_http, budget)
    if slack is not None:
        transports["slack"] = slack
    teams = settings.teams
    adapter = build_adapter(teams) if teams is not None else None
    """The process's one CloudAdapter: the endpoint's turns and the proactive sends."""
    installer = None
    # a turn's replies and member lookups share the process's HTTP session too
    turn_session = OutboundSession(lambda: slack_http.session, aiohttp.ClientTimeout(total=CONNECTOR_TIMEOUT_SECONDS))
    if teams is not None and adapter is not None:
        transports["teams"] = TeamsTransport(adapter, services, teams.app_id, runtime.content.words)
        # Graph calls share the process's HTTP session (opened above, closed after the sender stopped)
        installer = teams_installer(settings.graph, runtime, GraphClient(
            settings.graph, session=lambda: slack_http.session, budget=budget_for(runtime.store)))

        async def close_teams(_: web.Application) -> None:
            await close_adapter(adapter)
            await turn_session.close()
            if installer is not None:
                await installer.graph.close()

        app.on_cleanup.append(close_teams)
    verifier = None
    if runtime.config.verify.hours > 0 and not runtime.demo:
        sync = presence_sync(settings.networks, runtime, session=lambda: slack_http.session, budget=budget)
        verifier = sync if sync.networks else None
        log.info("verified presence: %s", ", ".join(sync.networks) + f" every {runtime.config.verify.hours} h"
                 if sync.networks else "off (set X_BEARER_TOKEN and/or hospital.bluesky_handle)")
    delivery = Delivery(runtime.store, runtime.content, runtime.config, runtime.coach, runtime.clock, transports,
                        installer, budget, demo=runtime.demo, verifier=verifier)
    words = runtime.content.words
    mounted = {
        "Slack": _mount_slack(app, settings.slack, runtime, services, slack_http, turns),
        "Teams": mount_teams(app, settings.teams, adapter,
                             TeamsBot(runtime.coach, services, runtime.clock, words, TurnConnector(turn_session),
                                      turns) if adapter else None,
                             words.say("apology")),
    }
    if adapter is not None:
        runtime.coach.teams_reach = True
        log.info("Teams app installs through Microsoft Graph: %s", _install_status(runtime, settings.graph, installer))
    for name, line in mounted.items():
        if line is None and name.lower() in transports:
            line = (f"{name}: sending reminders only, not mounted: replies and buttons cannot reach the bot "
                    f"until you {NOT_MOUNTED_HINTS[name]}")
        log.info("%s", line or f"{name}: not mounted; {NOT_MOUNTED_HINTS[name]}")
    if runtime.config.public_url:
        add_share_route(app, services, runtime.clock, words)
        log.info("share buttons: counted at %s/s/… before they open the network's composer",
                 runtime.config.public_url)
    if webchat:
        bridge = WebChatBridge(runtime, delivery)
        add_webchat_routes(app, bridge, clock_control=runtime.demo, token=webchat_token,
                           zone=runtime.config.timezone, quiet_until=bridge.quiet_until, words=runtime.content.words)

    async def start_delivery(_: web.Application) -> None:
        if background:
            delivery.start()

    async def stop_delivery(_: web.Application) -> None:
        began = time.monotonic()
        log.info("shutting down: letting delivery finish its sends in flight")
        await delivery.stop()
        log.info("delivery stopped in %.1fs", time.monotonic() - began)

    async def close_store(_: web.Application) -> None:
        await runtime.store.close()

    app.on_startup.append(start_delivery)
    app.on_shutdown.append(stop_delivery)
    app.on_cleanup.append(close_store)
    return app


def _mount_slack(app: web.Application, settings: SlackSettings | None, runtime: Runtime, services: ChannelServices,
                 http: SlackHttp, turns: TurnQueue) -> str | None:
    words = runtime.content.words
    apology = words.say("apology")  # the apology when answering failed: its words are in memory, no database needed
    failure = Reply(kind="error", text=apology, title=words.say("apology_title"), body=apology)
    return mount_slack(app, settings, coach=runtime.coach, records=services, clock=runtime.clock, http=http,
                       turns=turns, charts=services, failure=failure, public_url=runtime.config.public_url,
                       meeting_form=build_form(MEETING_FORM, runtime.content),
                       story_form=build_form(STORY_FORM, runtime.content), words=words)


async def prepare_demo(runtime: Runtime) -> None:
    """``rounds demo``: the schema, the simulated clock (morning of a working day on a first start) and
    the demo hospital."""
    from bot.demo import demo_start, seed

    await runtime.store.upgrade()
    await runtime.restore_clock()
    if not await runtime.store.settings.get(CLOCK_OFFSET_KEY):
        now = runtime.clock.now()
        start = demo_start(now, runtime.config.zone, runtime.config.quiet_hours.end)
        await runtime.advance_clock(start - now)
        log.info("the demo clock starts at %s (%s)", start.astimezone(runtime.config.zone).strftime(
            "%a %d %b %Y %H:%M"), runtime.config.timezone)
    if await seed(runtime.store, runtime.content, runtime.clock.now(), runtime.config.zone):
        log.info("seeded the demo hospital")


# -- running it ---------------------------------------------------------------------------------------------
class DatabaseUnavailable(Exception):
    """The database could not be reached at start-up (exit code 1, one clear message)."""


def _lean_log_records() -> None:
    """The log format names no source line, function, thread or process: don't collect them for every
    record (the "Optimization" section of Python's logging HOWTO). Saves a stack walk per log line."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def tune_gc() -> None:
    """Garbage collection for a long-running server, once start-up is done.

    ``gc.freeze()`` keeps what start-up built (libraries, content, templates, SQLAlchemy's caches:
    ~150,000 objects that live as long as the process) out of every later collection; each full
    collection walked them all, a 50-250 ms pause of the event loop (the p99 of the Slack acks
    under load). A young generation of 10,000 objects instead of 700 collects 14 times less often
    while a burst of requests is being answered (most objects die by reference counting anyway).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def serve(settings: Settings, runtime: Runtime, host: str, port: int, *, webchat: bool,
          webchat_token: str | None = None) -> int:
    """Run the application until interrupted; the process's exit code."""
    _lean_log_records()

    async def app_factory() -> web.Application:
        try:
            if await runtime.store.create_if_new():
                log.info("created the database schema in %s (a new SQLite database)",
                         runtime.store.engine.url.database)
            await runtime.store.check_migrated()
            await runtime.restore_clock()
        except NotMigrated:
            raise
        except Exception as exc:  # refused, unreachable, bad credentials: the database's fault, not the port's
            raise DatabaseUnavailable(f"cannot reach the database: {type(exc).__name__}: {exc}") from None
        app = create_app(settings, runtime, webchat=webchat, webchat_token=webchat_token)
        shown = f"[{host}]" if ":" in host else host
        log.info("listening on http://%s:%d/ (health: /healthz, readiness: /readyz%s)", shown, port,
                 ", local chat: /" if webchat else "")
        tune_gc()
        return app

    # aiohttp's line per HTTP request only with ROUNDS_ACCESS_LOG=1: under load it is a log line for every
    # Slack or Teams request, and the channels already log who did what (ids only)
    access_log = logging.getLogger("aiohttp.access") if settings.access_log else None
    try:
        web.run_app(app_factory(), host=host, port=port, print=None, shutdown_timeout=10,
                    handle_signals=True, access_log=access_log)
    except DatabaseUnavailable as exc:
        print(f"rounds: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"rounds: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
