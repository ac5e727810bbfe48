"""The `rounds` command: parses the command line, reads the environment once (:class:`~bot.settings.Settings`)
and hands both to the composition root (:mod:`bot.app`) or to the command's own module."""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import logsafety
from bot.config import EXAMPLE_CONFIG, Config, ConfigError, config_path, find_config
from bot.content import check_content
from bot.settings import DEMO_DATABASE, Settings
from bot.store import NotMigrated, Store
from bot.yamlsrc import ContentError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("rounds")


class UsageError(Exception):
    """Bad usage, configuration or content: one clear message, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)  # the only read of the environment
    except ValueError as exc:
        print(f"rounds: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logsafety.configure(settings.log_level)
    try:
        return args.run(args, settings)
    except (UsageError, ConfigError, ContentError, NotMigrated) as exc:
        print(f"rounds: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, BrokenPipeError):
        return EXIT_OK


def _usage(parser: argparse.ArgumentParser) -> Callable[..., int]:
    """A command group run without its action: its help, exit code 2."""
    def run(*_: object) -> int:
        parser.print_help()
        return EXIT_USAGE
    return run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rounds", description="Social Rounds: the physicians' social media coach.")
    parser.set_defaults(run=_usage(parser))
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace, Settings], int], help_text: str,
                parent: argparse._SubParsersAction = sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(run=run)
        # SUPPRESS: a nested command (``outbox retry``) keeps a --config given before its name
        p.add_argument("--config", default=argparse.SUPPRESS,
                       help="config file (default: $ROUNDS_CONFIG, else ./rounds.yaml)")
        return p

    serve = command("serve", _serve, "run the bot for Slack, Teams and health checks")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3978)
    serve.add_argument("--webchat", action="store_true", help="also serve the local chat at /")

    demo = command("demo", _demo, "run the bot with a demo hospital and the local chat (SQLite, no credentials)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=3978)

    init = command("init", _init, "write a commented example rounds.yaml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    content = sub.add_parser("content", help="lesson and message content")
    content_sub = content.add_subparsers(metavar="ACTION")
    content.set_defaults(run=_usage(content))
    command("check", _content_check, "validate everything in prompts/ and report file:line problems", content_sub)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(metavar="ACTION")
    db.set_defaults(run=_usage(db))
    command("upgrade", _db_upgrade, "apply schema migrations to $DATABASE_URL", db_sub)

    roster = sub.add_parser("roster", help="import the physician roster, export readiness")
    roster_sub = roster.add_subparsers(metavar="ACTION")
    roster.set_defaults(run=_usage(roster))
    roster_import = command("import", _roster_import, "add or update physicians from a CSV file (all or nothing)",
                            roster_sub)
    roster_import.add_argument("file", help="CSV: name, email, department, specialty, X handle, platform user id "
                                            "('-' reads standard input)")
    roster_import.add_argument("--dry-run", action="store_true", help="validate and count changes, write nothing")
    roster_import.add_argument("--deactivate-missing", action="store_true",
                               help="deactivate active physicians who are not in the file")
    roster_export = command("export", _roster_export, "write everyone's readiness as CSV", roster_sub)
    roster_export.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")

    library = sub.add_parser("library", help="the content library: stories physicians share")
    library_sub = library.add_subparsers(metavar="ACTION")
    library.set_defaults(run=_usage(library))
    library_import = command("import", _library_import, "add or replace stories from a YAML file (all or nothing; "
                             "suggested posts are screened like a physician's draft)", library_sub)
    library_import.add_argument("file", help="YAML: stories with title, link, posts, audience, embargo_lifts …")

    transcript = sub.add_parser("transcript", help="learning transcripts (completed lessons)")
    transcript_sub = transcript.add_subparsers(metavar="ACTION")
    transcript.set_defaults(run=_usage(transcript))
    transcript_export = command("export", _transcript_export,
                                "write every physician's completed lessons as CSV (dates, reading time)",
                                transcript_sub)
    transcript_export.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    transcript_export.add_argument("--since", metavar="YYYY-MM-DD", help="only lessons completed on or after this day (UTC)")

    digest = command("digest", _digest, "print this week's marketing digest in the terminal")
    digest.add_argument("--preview", action="store_true", help="print only, send nothing (the default)")
    digest.add_argument("--chart", metavar="FILE.png", help="also write the trend chart to this file")

    outbox = command("outbox", _outbox_list, "list pending and dead (undeliverable) messages")
    outbox.add_argument("--all", action="store_true", help="also list sent and cancelled messages")
    outbox_sub = outbox.add_subparsers(metavar="ACTION")
    retry = command("retry", _outbox_retry, "re-queue dead messages for another delivery attempt", outbox_sub)
    retry.add_argument("ids", nargs="*", type=int, help="outbox ids (default: every dead message)")

    manifest = sub.add_parser("manifest", help="app manifests to install the bot")
    manifest_sub = manifest.add_subparsers(metavar="PLATFORM")
    manifest.set_defaults(run=_usage(manifest))
    slack_manifest = command("slack", _manifest_slack, "print the Slack app manifest (YAML) for this install",
                             manifest_sub)
    slack_manifest.add_argument("--url", metavar="URL",
                                help="the bot's public HTTPS base URL, e.g. https://rounds.example-hospital.org")
    slack_manifest.add_argument("--socket-mode", action="store_true",
                                help="Socket Mode (no public URL; set SLACK_APP_TOKEN when serving)")

    teams_group = sub.add_parser("teams", help="Microsoft Teams: install the app for the roster through Graph")
    teams_sub = teams_group.add_subparsers(metavar="ACTION")
    teams_group.set_defaults(run=_usage(teams_group))
    teams_install = command("install", _teams_install, "install the Teams app through Microsoft Graph for active "
                            "physicians who have no chat with the bot; print who could not be reached and why",
                            teams_sub)
    teams_install.add_argument("--dry-run", action="store_true",
                               help="look the physicians up in Graph and list whom the app would be installed for; "
                                    "install and write nothing")

    verify = command("verify", _verify, "check physicians' X and Bluesky accounts now (profiles, follows with the "
                     "hospital), resuming an unfinished run; progress on stderr")
    verify.add_argument("--dry-run", action="store_true", help="ask the networks and count; store nothing")
    verify.add_argument("--network", choices=("x", "bluesky"), help="only this network (default: every one set up)")

    teams = command("teams-package", _teams_package, "build the Teams app zip (needs MICROSOFT_APP_ID)")
    teams.add_argument("--out", metavar="FILE", default="social-rounds-teams.zip", help="zip to write")
    teams.add_argument("--manifest-dir", metavar="DIR", help="manifest.json and icons (default: manifest/teams)")
    for flag in ("website-url", "privacy-url", "terms-url"):
        teams.add_argument(f"--{flag}", metavar="URL", help=f"developer {flag.replace('-', ' ')} for the manifest")
    return parser


def _config(args: argparse.Namespace, settings: Settings) -> Config:
    """Every command reads (and so validates) its configuration: a file asked for must exist."""
    return find_config(getattr(args, "config", None), settings.config_file)


def _content_check(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    errors = check_content(Path(config.content_dir))
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"rounds: {len(errors)} problem{'s' if len(errors) != 1 else ''} in {config.content_dir}", file=sys.stderr)
        return EXIT_USAGE
    from bot.content import load_content
    content = load_content(Path(config.content_dir))
    print(f"content ok: {len(content.curriculum.lessons)} lessons in {len(content.curriculum.tracks)} tracks, "
          f"{sum(len(p.items) for p in content.camp_phases)} Tweet Camp items, {len(content.catalog)} meetings")
    return EXIT_OK


def _init(args: argparse.Namespace, settings: Settings) -> int:
    path = config_path(getattr(args, "config", None), settings.config_file)
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists (use --force to overwrite)")
    path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    print(f"wrote {path}; edit it, then run `rounds db upgrade` and `rounds serve`")
    return EXIT_OK


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    _config(args, settings)

    async def run() -> tuple[str | None, str]:
        store = Store.open(settings.database())
        try:
            return await store.upgrade()
        finally:
            await store.close()

    before, after = asyncio.run(run())
    print(f"database at schema {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return EXIT_OK


def _roster_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.roster_cli import cli_import
    from bot.words import load_words

    words = load_words(Path(_config(args, settings).content_dir))  # what is wrong with a handle, in words
    return cli_import(args.file, settings.database(), words.of, dry_run=args.dry_run,
                      deactivate_missing=args.deactivate_missing)


def _library_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.library_cli import cli_import

    return cli_import(args.file, _config(args, settings), settings.database())


def _roster_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.roster_cli import cli_export

    return cli_export(_config(args, settings), settings.database(), args.out)


def _transcript_export(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date

    from bot.content import load_content
    from bot.transcript import cli_export

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise UsageError(f"--since {args.since!r} is not a date; write it like 2026-01-01") from None
    config = _config(args, settings)
    return cli_export(Store.open(settings.database()), load_content(config.content_dir), args.out, since)


def _with_store(settings: Settings, work: Callable[[Store], Any]) -> Any:
    async def run() -> Any:
        store = Store.open(settings.database())
        try:
            await store.check_migrated()
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _digest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import Runtime
    from bot.channels.terminal import render_text

    runtime = Runtime.build(_config(args, settings), settings.database())

    async def run():
        try:
            await runtime.store.check_migrated()
            return await runtime.coach.digest_reply(runtime.clock.now())
        finally:
            await runtime.store.close()

    reply = asyncio.run(run())
    sys.stdout.write(render_text(reply))
    if args.chart and reply.image:
        Path(args.chart).write_bytes(reply.image.png)
        print(f"chart written to {args.chart}")
    return EXIT_OK


def _outbox_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.budgets import SqlBudget

    config = _config(args, settings)
    statuses = ("pending", "sending", "dead", "parked", "sent", "cancelled") if args.all else \
        ("pending", "sending", "dead", "parked")

    async def work(store: Store) -> tuple[dict[str, int], list, list, list, list | None]:
        shared = store.engine.dialect.name == "postgresql"
        budgets = await SqlBudget(store.engine).state() if shared else None
        return (await store.outbox.counts(), await store.outbox.list(statuses, limit=500), await store.outbox.parked(),
                await store.outbox.waiting(), budgets)

    counts, messages, parked, waiting, budgets = _with_store(settings, work)
    reason = _reason_words(config)
    print("outbox: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("pending", "sending", "sent", "dead", "cancelled")) +
          (f", {counts['parked']} parked" if counts.get("parked") else ""))
    _print_budgets(config, [(platform, reason(why), count, soonest) for platform, why, count, soonest in waiting],
                   budgets)
    for target in parked:
        where = f"{target.platform} (everywhere)" if target.address == "*" else f"{target.platform}:{target.address}"
        print(f"parked since {target.since:%Y-%m-%d %H:%M UTC}: {where}: {reason(target.reason)} "
              f"({target.messages} message{'s' if target.messages != 1 else ''}; reinstalling the app resumes them)")
    for m in messages:
        when = m.next_attempt_at.strftime("%Y-%m-%d %H:%M UTC")
        error = f"  last error: {reason(m.last_error)}" if m.last_error else ""
        print(f"{m.id:>8}  {m.status:<9} {m.kind:<8} {m.platform}:{m.address}  attempts={m.attempts}  next={when}{error}")
    return EXIT_OK


def _reason_words(config: Config) -> Callable[[str], str]:
    """A stored reason as ``rounds outbox`` shows it: in the words of the content's ``words.yaml``,
    then the stored code (``no Slack account with this email (no_slack_account)``); a value that is
    not a code (a Slack error code, older English) as it is. Words that cannot be read leave the codes."""
    from bot.core.reasons import said
    from bot.words import load_words

    try:
        words = load_words(Path(config.content_dir))
    except ContentError as exc:
        print(f"rounds: {exc}; reasons are shown as stored codes", file=sys.stderr)
        return lambda stored: stored

    def reason(stored: str) -> str:
        try:
            spoken = said(stored, words.say)
        except KeyError:  # content of an older version, without this code's words
            return stored
        return stored if spoken == stored else f"{spoken} ({stored})"

    return reason


def _print_budgets(config: Any, waiting: list, budgets: list | None) -> None:
    """Per platform and method: the budget, what waits on it, any active Retry-After pause."""
    from bot.delivery.budget import Rate

    delivery = config.delivery
    limits = {"slack:chat.postMessage": Rate(delivery.slack.per_second),
              "teams:send": Rate(delivery.teams.per_second)}
    limits.update({f"slack:{method}": Rate.per_minute(per_minute) for method, per_minute in delivery.slack.methods_per_minute})
    live = {b.key: b for b in budgets or []}
    print("budgets (shared by every instance)" if budgets is not None
          else "budgets (SQLite: kept inside the serving process; rates as configured)")
    for key in sorted(set(limits) | {k for k in live if k.count(":") == 1}):
        state = live.get(key)
        rate = state.rate if state else limits[key]
        line = f"  {key:<32} {rate.per_second * 60:>7.0f}/min"
        if state is not None and state.booked_seconds > 0.05:
            line += f"  booked {state.booked_seconds:.1f} s ahead"
        if state is not None and state.paused_seconds > 0:
            line += f"  PAUSED {state.paused_seconds:.0f} s more (Retry-After)"
        conversations = [b for k, b in live.items() if k.startswith(key + ":")]
        paused = sum(1 for b in conversations if b.paused_seconds > 0)
        if paused:
            line += f"  {paused} conversation{'s' if paused != 1 else ''} paused"
        print(line)
    if waiting:
        print("waiting")
        for platform, reason, count, soonest in waiting:
            print(f"  {platform:<6} {count:>7}  {reason}  (next at {soonest.strftime('%H:%M:%S UTC')})")


def _outbox_retry(args: argparse.Namespace, settings: Settings) -> int:
    _config(args, settings)

    async def work(store: Store) -> int:
        from bot.clock import SystemClock
        if args.ids:
            found = await store.outbox.statuses_of(args.ids)
            problems = [f"no outbox message {i}" if i not in found else f"message {i} is {found[i]}, not dead"
                        for i in dict.fromkeys(args.ids) if found.get(i) != "dead"]
            if problems:
                raise UsageError("; ".join(problems) + ": nothing re-queued (`rounds outbox` lists the dead ones)")
        return await store.outbox.requeue_dead(SystemClock().now(), args.ids or None)

    count = _with_store(settings, work)
    print(f"re-queued {count} dead message{'s' if count != 1 else ''}; a running server sends them within a minute")
    return EXIT_OK


def _manifest_slack(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.slack.manifest import ManifestError, manifest_yaml, slack_manifest

    _config(args, settings)
    if args.socket_mode and args.url:
        raise UsageError("give either --url (HTTP mode) or --socket-mode, not both")
    try:
        print(manifest_yaml(slack_manifest(args.url, socket_mode=args.socket_mode)), end="")
    except ManifestError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def _teams_install(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import Runtime, budget_for, installer
    from bot.channels.teams.graph import GraphClient
    from bot.core.reasons import said

    if not settings.graph.enabled:
        raise UsageError(f"installing the Teams app through Microsoft Graph needs {settings.graph.missing()} "
                         "(see docs/teams.md)")
    runtime = Runtime.build(_config(args, settings), settings.database())

    async def run():
        graph = GraphClient(settings.graph, budget=budget_for(runtime.store))  # shares Graph's pauses with `serve`
        try:
            await runtime.store.check_migrated()
            summary = await installer(runtime, graph).run(dry_run=args.dry_run)
            reach = None if args.dry_run else await runtime.store.teams_installs.reach()
            return summary, reach
        finally:
            await graph.close()
            await runtime.store.close()

    summary, reach = asyncio.run(run())
    if args.dry_run:
        for email in summary.would_install:
            print(f"would install for {email}")
    words = runtime.content.words
    print(summary.line(lambda reason: said(reason, words.say)))
    if reach is not None:
        print(f"{reach.reached} active people have a Teams chat with the bot; {len(reach.unreached)} do not")
        for _, name, reason, _when in reach.unreached:
            print(f"  {name}: {said(reason, words.say)}")
    return EXIT_FAILURE if summary.stopped or summary.skipped else EXIT_OK


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import Runtime, presence_sync
    from bot.networks.sync import Busy

    config = _config(args, settings)
    wanted = [args.network] if args.network else ["x", "bluesky"]
    missing = {"x": "" if settings.networks.x_token else "X needs X_BEARER_TOKEN (without it X facts stay "
                                                          "self-reported)",
               "bluesky": "" if config.hospital_bluesky else "Bluesky needs hospital.bluesky_handle in rounds.yaml"}
    if args.network and missing[args.network]:
        raise UsageError(missing[args.network])
    chosen = [n for n in wanted if not missing[n]]
    if not chosen:
        raise UsageError("nothing to verify: " + "; ".join(m for m in missing.values() if m))
    for network in wanted:
        if missing[network]:
            print(f"rounds: {network}: skipped: {missing[network]}", file=sys.stderr)
    runtime = Runtime.build(config, settings.database())
    bar = _ProgressBar(sys.stderr)

    async def run():
        sync = presence_sync(settings.networks, runtime, progress=bar.show)
        try:
            await runtime.store.check_migrated()
            return await sync.run(chosen, dry_run=args.dry_run)
        finally:
            await sync.close()
            await runtime.store.close()

    try:
        runs = asyncio.run(run())
    except Busy as exc:
        bar.end()
        print(f"rounds: another instance is verifying ({exc}); try again when it is done", file=sys.stderr)
        return EXIT_FAILURE
    bar.end()
    for done in runs:
        state = "done" if done.complete else f"incomplete: {done.error}; run again to resume"
        print(f"{done.network}: {done.asked} asked, {done.found} found, {done.not_found} not found, "
              f"{done.follows_hospital} follow the hospital, {done.followed_back} followed back; "
              f"{done.calls} API calls in {done.seconds:.1f}s; {state}" + (" (dry run)" if args.dry_run else ""))
    return EXIT_OK if all(done.complete for done in runs) else EXIT_FAILURE


class _ProgressBar:
    """``x profiles [#####-----] 1200/50000`` redrawn on a terminal; on a pipe a line per tenth."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last: tuple[str, str, int] | None = None

    def show(self, network: str, phase: str, done: int, total: int) -> None:
        total = max(total, done, 1)
        tenth = done * 10 // total
        filled = done * self.width // total
        line = f"{network} {phase} [{'#' * filled}{'-' * (self.width - filled)}] {done}/{total}"
        if self.tty:
            self.stream.write("\r" + line)
        elif self._last != (network, phase, tenth):
            self.stream.write(line + "\n")
        self._last = (network, phase, tenth)
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self._last is not None:
            self.stream.write("\n")
            self.stream.flush()


def _teams_package(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.teams.package import PackageError, cli_package

    try:
        return cli_package(Path(args.out), Path(args.manifest_dir) if args.manifest_dir else None,
                           _config(args, settings).hospital_name, settings.microsoft_app_id, website_url=args.website_url,
                           privacy_url=args.privacy_url, terms_url=args.terms_url)
    except PackageError as exc:
        raise UsageError(str(exc)) from None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import Runtime, serve

    runtime = Runtime.build(_config(args, settings), settings.database())
    token = None
    if args.webchat:
        token = secrets.token_urlsafe(24)
        log.warning("the local chat is on (--webchat): whoever has its address can act as any physician or "
                    "admin; it needs the token printed at start-up, keep that address private")
        print(f"Social Rounds local chat: open {_chat_url(args.host, args.port)}/?token={token}", flush=True)
    return serve(settings, runtime, args.host, args.port, webchat=args.webchat, webchat_token=token)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _chat_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import Runtime, prepare_demo, serve

    runtime = Runtime.build(_config(args, settings), settings.database(DEMO_DATABASE), demo=True)
    asyncio.run(prepare_demo(runtime))
    token = None if _loopback(args.host) else secrets.token_urlsafe(24)
    if token:
        log.warning("the demo listens on %s, beyond this machine: the local chat needs the token in the address "
                    "below", args.host)
    address = f"{_chat_url(args.host, args.port)}/" + (f"?token={token}" if token else "")
    print(f"Social Rounds demo: open {address} in your browser (Ctrl+C to stop)", flush=True)
    return serve(settings, runtime, args.host, args.port, webchat=True, webchat_token=token)


if __name__ == "__main__":
    sys.exit(main())
