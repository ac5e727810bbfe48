"""The first hour at the command line: configuration never silently falls back, `serve` says where it
listens and what would mount each missing platform, a new SQLite database sets itself up, and a
retry of an unknown outbox id is an error."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import Store
from bot.store.migrate import head_revision
from conftest import DATA_DIR, RoundsServer, free_port, old_schema, rounds_env, run_rounds
from pg import fresh_database

GOOD_ROSTER = DATA_DIR / "roster" / "good.csv"
EVERY_COMMAND = [
    ["serve", "--port", "1"], ["demo", "--port", "1"], ["content", "check"], ["db", "upgrade"],
    ["roster", "import", str(GOOD_ROSTER)], ["roster", "import", str(GOOD_ROSTER), "--dry-run"],
    ["roster", "export"], ["digest"], ["outbox"], ["outbox", "retry"], ["outbox", "retry", "3"],
    ["manifest", "slack", "--url", "https://example.org"], ["teams-package"],
]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with its own database and no inherited configuration."""
    monkeypatch.chdir(tmp_path)
    for key in ("ROUNDS_CONFIG", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'site.db'}")
    monkeypatch.setenv("MICROSOFT_APP_ID", "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11")
    return tmp_path


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: " ".join(c[:3]))
def test_a_missing_rounds_config_file_is_an_error_for_every_command(site, monkeypatch, capsys, command):
    monkeypatch.setenv("ROUNDS_CONFIG", str(site / "missing.yaml"))
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err == f"rounds: {site / 'missing.yaml'}: config file not found (run `rounds init` to write one)\n"
    assert not (site / "site.db").exists()


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: " ".join(c[:3]))
def test_every_command_takes_and_reads_config(site, capsys, command):
    assert main([*command, "--config", "absent.yaml"]) == 2
    assert capsys.readouterr().err == "rounds: absent.yaml: config file not found (run `rounds init` to write one)\n"


def test_a_config_given_before_a_nested_command_is_kept(site, capsys):
    assert main(["outbox", "--config", "absent.yaml", "retry"]) == 2
    assert "absent.yaml: config file not found" in capsys.readouterr().err


def test_outbox_retry_of_an_unknown_id_is_an_error(site, capsys):
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["outbox", "retry", "999"]) == 2
    assert capsys.readouterr().err == ("rounds: no outbox message 999: nothing re-queued "
                                       "(`rounds outbox` lists the dead ones)\n")
    assert main(["outbox", "retry"]) == 0
    assert capsys.readouterr().out.startswith("re-queued 0 dead messages")


def test_outbox_says_what_waits_and_why_in_words_with_the_stored_code(site, capsys):
    """Reasons are stored as codes (bot/core/reasons.py); `rounds outbox` says them from words.yaml,
    the code after them, and shows a value that is no code (Slack's error, older English) as it is."""
    import asyncio
    from datetime import UTC, datetime

    from bot.core.models import NewMessage
    from bot.settings import Settings

    assert main(["db", "upgrade"]) == 0
    now = datetime.now(UTC)

    async def fill() -> None:
        store = Store.open(Settings.from_env(os.environ).database())
        try:
            outbox = store.outbox
            await outbox.add([NewMessage(f"k{i}", None, platform, address, "lesson", {}, now) for i, (platform, address)
                              in enumerate([("slack", "email:a@x.example"), ("slack", "U1"), ("slack", "U2"),
                                            ("teams", "29:1")])], now)
            ids = {m.address: m.id for m in await outbox.list(["pending"])}
            await outbox.mark_dead(ids["email:a@x.example"], 0, "no_slack_account")
            await outbox.mark_dead(ids["U1"], 1, "channel_not_found")
            await outbox.mark_retry(ids["U2"], 0, now, "slack_dnd_waiting")
            await outbox.park("teams", None, "teams_app_uninstalled", now)
        finally:
            await store.close()

    asyncio.run(fill())
    capsys.readouterr()
    assert main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert "last error: no Slack account with this email (no_slack_account)" in out
    assert "last error: channel_not_found" in out, "Slack's own code, as it is"
    assert "waiting for Slack Do Not Disturb to end (slack_dnd_waiting)" in out
    assert "teams (everywhere): the Teams app was uninstalled here (teams_app_uninstalled) (1 message;" in out
    [waits] = [line for line in out.splitlines() if "Do Not Disturb" in line and "last error" not in line]
    assert waits.split()[:2] == ["slack", "1"]


def test_serve_logs_where_it_listens_and_what_would_mount_each_platform(tmp_path):
    """Only SLACK_BOT_TOKEN: Slack can send but is not mounted, and the log says both, once, without
    contradiction. The brand-new SQLite database gets its schema, and the log says so."""
    env = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}", SLACK_BOT_TOKEN="xoxb-only-a-token")
    with RoundsServer("serve", cwd=tmp_path, env=env) as server:
        server.wait_healthy()
        assert server.get_json("/readyz") == (200, {"status": "ready"})
        assert server.stop() == 0
    log = server.output()
    bare = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    with RoundsServer("serve", cwd=tmp_path, env=bare) as plain:
        plain.wait_healthy()
        assert plain.stop() == 0
    assert ("Slack: not mounted; set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to mount it at /slack/events "
            "(or SLACK_BOT_TOKEN and SLACK_APP_TOKEN for Socket Mode)") in plain.output()
    assert f"created the database schema in {tmp_path / 'new.db'} (a new SQLite database)" in log
    assert f"listening on http://127.0.0.1:{server.port}/ (health: /healthz, readiness: /readyz)" in log
    assert ("Slack: sending reminders only, not mounted: replies and buttons cannot reach the bot until you set "
            "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to mount it at /slack/events "
            "(or SLACK_BOT_TOKEN and SLACK_APP_TOKEN for Socket Mode)") in log
    assert "Teams: not mounted; set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD" in log
    assert "Slack is not mounted" not in log and "delivery: reminders via slack" in log
    assert "Traceback" not in log


def test_roster_import_sets_up_a_new_sqlite_database_and_a_dry_run_creates_none(tmp_path):
    env = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'roster.db'}")
    dry = run_rounds("roster", "import", str(GOOD_ROSTER), "--dry-run", cwd=tmp_path, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would be added" in dry.stderr and "dry run" in dry.stdout.lower()
    assert not (tmp_path / "roster.db").exists()

    done = run_rounds("roster", "import", str(GOOD_ROSTER), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert f"rounds: created the database schema in {tmp_path / 'roster.db'} (a new SQLite database)" in done.stderr
    assert (tmp_path / "roster.db").exists()
    again = run_rounds("roster", "import", str(GOOD_ROSTER), cwd=tmp_path, env=env)
    assert again.returncode == 0 and "created the database schema" not in again.stderr


def test_an_older_sqlite_database_still_needs_db_upgrade(tmp_path):
    old_schema(tmp_path / "old.db")
    env = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'old.db'}")
    refused = run_rounds("roster", "import", str(GOOD_ROSTER), cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert f"rounds: the database is at schema 0001, not {head_revision()}; run `rounds db upgrade` first" \
        in refused.stderr.splitlines()


@pytest.mark.postgres
async def test_postgresql_always_needs_db_upgrade(tmp_path):
    async with fresh_database() as url:
        env = rounds_env(DATABASE_URL=url)
        refused = subprocess.run([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port",
                                  str(free_port())], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2, refused.stderr
        assert "rounds: the database has no Social Rounds schema; run `rounds db upgrade` first" \
            in refused.stderr.splitlines()
