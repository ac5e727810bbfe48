"""Shared fixtures: the real content, a fresh migrated SQLite store per test, a fixed clock,
and a coach wired from them with a small seeded roster.

Fixture names are generic on purpose; any test module may use them. The Slack and Teams fixtures
(``slack``, ``slack_api``, ``server``, ``connector`` …) live in tests/slack_fixtures.py and
tests/teams_fixtures.py, and ``platform`` (either, through one driver) in tests/platforms.py; they are
registered here as plugins: a test module asks for them by name and imports only the helpers it calls.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Runtime
from bot.clock import FixedClock
from bot.coach import Coach
from bot.config import Config
from bot.content import Content, load_content
from bot.messages import Incoming, Reply
from bot.store import Person, RosterEntry, Store
from bot.words import load_words
from fakes.slack_api import FakeSlackApi
from pg import fresh_database

pytest_plugins = ("slack_fixtures", "teams_fixtures", "platforms")

ROOT = Path(__file__).resolve().parents[1]
WORDS = load_words(ROOT / "prompts").of
"""``prompts/words.yaml`` said, for code that takes words as a parameter (the roster's handle problems)."""
CONTENT_DIR = ROOT / "prompts"
DATA_DIR = Path(__file__).resolve().parent / "data"

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
"""Monday 2 March 2026, 09:00 in New York (EST, six days before the switch to EDT)."""

ADMIN_EMAIL = "maria.lopez@riverside.example"
PHYSICIAN_EMAIL = "jane.rivera@riverside.example"
"""A cardiologist with nothing done yet."""
ONCOLOGIST_EMAIL = "omar.haddad@riverside.example"
NEUROLOGIST_EMAIL = "lena.park@riverside.example"

ROSTER = (
    RosterEntry(ADMIN_EMAIL, "Maria Lopez", "Marketing", "Marketing manager", "admin"),
    RosterEntry(PHYSICIAN_EMAIL, "Dr. Jane Rivera", "Cardiology", "Cardiologist"),
    RosterEntry(ONCOLOGIST_EMAIL, "Dr. Omar Haddad", "Oncology", "Medical Oncologist", x_handle="OmarHaddadMD"),
    RosterEntry(NEUROLOGIST_EMAIL, "Dr. Lena Park", "Neurology", "Neurologist"),
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(Path(__file__).parents[1] / "prompts")


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    """An empty fake Slack Web API on 127.0.0.1 (the Slack suites use ``slack_api``, seeded with users)."""
    fake = FakeSlackApi()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def config() -> Config:
    return Config(admins=(ADMIN_EMAIL,))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every store-backed test runs on both backends: a temporary SQLite file, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rounds.db'}"
        return
    async with fresh_database() as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.open(database_url)
    await store.upgrade()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def people(store: Store, clock: FixedClock) -> dict[str, Person]:
    """The small roster, seeded into the store: email → Person."""
    await store.people.upsert(ROSTER, clock.now())
    seeded = {}
    for entry in ROSTER:
        person = await store.people.by_email(entry.email)
        assert person is not None
        seeded[entry.email] = person
    return seeded


@pytest.fixture
def runtime(config: Config, content: Content, store: Store, clock: FixedClock,
            people: dict[str, Person]) -> Runtime:
    return Runtime.of(config, content, store, clock)


@pytest.fixture
def coach(runtime: Runtime) -> Coach:
    return runtime.coach


class Chat:
    """Talks to the coach as one person on the local web chat."""

    def __init__(self, coach: Coach, user_id: str, platform: str = "web") -> None:
        self.coach = coach
        self.user_id = user_id
        self.platform = platform

    async def say(self, text: str) -> list[Reply]:
        return await self.coach.handle(Incoming(platform=self.platform, user_id=self.user_id, text=text))  # type: ignore[arg-type]

    async def press(self, action: str) -> list[Reply]:
        return await self.coach.handle(Incoming(platform=self.platform, user_id=self.user_id, action=action))  # type: ignore[arg-type]


@pytest.fixture
def chat(coach: Coach) -> Chat:
    """The physician with nothing done yet (Dr. Jane Rivera, Cardiology)."""
    return Chat(coach, PHYSICIAN_EMAIL)


@pytest.fixture
def admin_chat(coach: Coach) -> Chat:
    """The marketing manager (an admin by role and by config)."""
    return Chat(coach, ADMIN_EMAIL)


# -- running `python -m bot` as a subprocess ---------------------------------------------------------------

def old_schema(path: Path, revision: str = "0001") -> None:
    """A SQLite database at an older schema revision, as a previous release left it."""
    from alembic import command
    from sqlalchemy import create_engine

    from bot.store.migrate import _alembic_config

    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
    finally:
        engine.dispose()


def rounds_env(**extra: str) -> dict[str, str]:
    """The environment for a `rounds` subprocess: no inherited config, database or platform secrets."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "ROUNDS_CONFIG") and not key.startswith(("SLACK_", "MICROSOFT_APP_"))
           and key != "ROUNDS_TEAMS_ANONYMOUS"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_rounds(*args: str, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env or rounds_env(),
                          capture_output=True, text=True, timeout=timeout)


class RoundsServer:
    """``python -m bot serve|demo …`` in the background, stopped (and reaped) on exit."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [*args, "--port", str(self.port)]
        if args and args[0] == "serve":
            self.args += ["--host", "127.0.0.1"]
        self.cwd = cwd
        self.env = env or rounds_env()
        self.log = cwd / f"rounds-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RoundsServer:
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "bot", *self.args], cwd=self.cwd, env=self.env,
                                        stdout=self._log_file, stderr=subprocess.STDOUT)
        return self

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_healthy(self, timeout: float = 60) -> None:
        """Until `/healthz` answers 200; ``timeout`` allows for a start-up on a machine busy with other work."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"rounds exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"rounds did not answer /healthz within {timeout}s:\n{self.output()}")

    def get_json(self, path: str) -> tuple[int, object]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def post_json(self, path: str, body: object) -> object:
        request = urllib.request.Request(f"{self.url}{path}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self, timeout: float = 45) -> int:
        """Ask the server to stop (SIGINT, like Ctrl+C); kill it if it does not. Returns the exit code.

        ``timeout`` is above the server's own bounded shutdown (the sender's drain, then aiohttp's wait for
        open requests): a server that needs longer hangs, and its log's tail is printed for the report."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
                print(f"rounds did not stop within {timeout}s of SIGINT; its log ends:\n{self.output()[-4000:]}",
                      file=sys.stderr)
        return self.process.returncode

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)
        self._log_file.close()
