"""Shared fixtures: a database on SQLite and on PostgreSQL, a fake clock, the core, the bot over HTTP.

PostgreSQL tests use the server at ``REVIEWBOT_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), each test in a schema of its own. When
it cannot be reached they are skipped, unless ``REVIEWBOT_REQUIRE_POSTGRES=1`` (as in CI), when
they fail.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeslack import FakeSlack  # noqa: E402
from pgschema import schema_url  # noqa: E402
from reviewbot.config import Settings  # noqa: E402
from reviewbot.runtime import Runtime, build_runtime  # noqa: E402

SHARED = ROOT.parent / "shared" / "reference"
REPLAY = SHARED / "tech-ii-2016-07.replay"
SEED = SHARED / "000_a6ba07826f29178b.txt"
POSTGRES_URL = os.environ.get(
    "REVIEWBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2016, 7, 14, 15, 0, tzinfo=UTC)  # 8:00 AM PT
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.current

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.current += timedelta(**delta)


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


@pytest.fixture(scope="session")
def postgres_problem() -> str | None:
    return _postgres_available()


def _postgres_schema_url(postgres_problem: str | None) -> Iterator[str]:
    if postgres_problem:
        if os.environ.get("REVIEWBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required but not reachable: {postgres_problem}")
        pytest.skip(f"PostgreSQL not reachable ({postgres_problem})")
    with schema_url(POSTGRES_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_problem: str | None) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reviewbot.db'}"
    else:
        yield from _postgres_schema_url(postgres_problem)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, timezone="America/Los_Angeles")


@pytest.fixture
def runtime(settings: Settings, clock: FakeClock) -> Iterator[Runtime]:
    """The core on a fresh database, with the fake clock."""
    rt = build_runtime(settings, clock=clock)
    yield rt
    rt.close()


class RecordingPoster:
    """A Poster that records what the bot posts on its own; ``failures`` are raised first, in order."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []
        self.failures: list[Exception] = []
        self._lock = threading.Lock()

    def post(self, workspace_id: str, channel_id: str, text: str) -> None:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.posts.append((channel_id, text))

    @property
    def texts(self) -> list[str]:
        with self._lock:
            return [text for _, text in self.posts]


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


class BotServer:
    """The bot in HTTP mode on loopback, as production runs it, against the fake Slack."""

    def __init__(self, settings: Settings, clock: FakeClock, **build: object) -> None:
        from reviewbot.slack.server import create_http_server

        self.server = create_http_server(settings, clock=clock, **build)
        self.runtime: Runtime = self.server.runtime
        self.slack = self.server.slack  # the Bolt app, its posting queue (poster) and live view
        self.url = f"http://127.0.0.1:{self.server.effective_port}/slack/events"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        # Close the server in its own loop thread (closing it from here races its select()); if
        # that loop has already stopped, its trigger is gone too, and closing from here is safe.
        try:
            self.server.trigger.pull_trigger(self.server.close)
        except OSError:
            self.server.close()
        self.thread.join(timeout=5)
        self.runtime.close()


def bot_settings(database_url: str, fake_slack: FakeSlack) -> Settings:
    """Settings of the bot under test: HTTP mode against the fake Slack, on loopback."""
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=database_url,
        host="127.0.0.1",
        port=0,
        timezone="America/Los_Angeles",
        slack_post_interval=0.0,  # no pacing in tests; tests/test_slack_poster.py checks it
    )


@pytest.fixture
def bot(database_url: str, fake_slack: FakeSlack, clock: FakeClock) -> Iterator[BotServer]:
    """The real bot served over HTTP (waitress), talking to the fake Slack Web API."""
    server = BotServer(bot_settings(database_url, fake_slack), clock)
    yield server
    server.close()
