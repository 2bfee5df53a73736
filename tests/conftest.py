"""Shared fixtures: a database on SQLite and on PostgreSQL, a fake clock, the core, the bot over HTTP.

PostgreSQL tests use the server at ``REVIEWBOT_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), each test in a schema of its own. When
it cannot be reached they are skipped, unless ``REVIEWBOT_REQUIRE_POSTGRES=1`` (as in CI), when
they fail.

Only fixtures and hooks live here; the classes and constants behind them are in
:mod:`tests.support`, where test modules import them from.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewbot.config import Settings
from reviewbot.runtime import Runtime, build_runtime
from tests.support.botserver import BotServer, bot_client, bot_settings
from tests.support.doubles import FakeClock, RecordingPoster
from tests.support.fakeslack import FakeSlack
from tests.support.pgschema import POSTGRES_URL, schema_url
from tests.support.pgschema import postgres_problem as _postgres_problem


@pytest.fixture(scope="session")
def postgres_problem() -> str | None:
    """Why the PostgreSQL test server cannot be used, or None; asked once per session."""
    return _postgres_problem()


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


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def bot(database_url: str, fake_slack: FakeSlack, clock: FakeClock) -> Iterator[BotServer]:
    """The real bot served over HTTP (waitress), talking to the fake Slack Web API."""
    server = BotServer(bot_settings(database_url, fake_slack), clock, slack_client=bot_client(fake_slack))
    yield server
    server.close()


# -- the run's last line: what was skipped, and the one command that runs it --------------------

HOW_TO_RUN = {
    "PostgreSQL": (
        "no server at {url}: run 'sudo make test' to start an installed one, "
        "or 'REVIEWBOT_TEST_POSTGRES_URL=postgresql+psycopg://user:password@host:port/db make test'"
    ),
    "MediaWiki": "no wiki: run 'sudo make test' or 'scripts/mediawiki-test-server.sh' first",
}


def _needs(report: pytest.TestReport) -> str:
    """Which service a skipped test was waiting for ("" for none)."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if "mediawiki" in getattr(report, "keywords", {}) or "mediawiki" in reason.lower():
        return "MediaWiki"
    if "postgres" in reason.lower() or "[postgresql" in report.nodeid:
        return "PostgreSQL"
    return ""


def _tests(count: int, kind: str) -> str:
    return f"{count} {kind} test{'' if count == 1 else 's'}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Iterator[None]:
    """After pytest's closing line: one line naming the skipped tests and how to run them.

    With ``REVIEWBOT_FAIL_ON_SKIP=1`` (CI, ``.ci/run``) any skipped test fails the run.
    """
    result = yield
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = {report.nodeid: report for report in reporter.stats.get("skipped", [])} if reporter else {}
    if not skipped:
        return result
    counts = Counter(_needs(report) for report in skipped.values())
    parts = []
    for service, hint in HOW_TO_RUN.items():
        if counts[service]:
            url = re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", POSTGRES_URL)
            parts.append(f"{_tests(counts[service], service)} ({hint.format(url=url)})")
    if counts[""]:
        parts.append(f"{_tests(counts[''], 'other')} (see the reasons above)")
    failing = os.environ.get("REVIEWBOT_FAIL_ON_SKIP") == "1"
    if failing and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    suffix = " -- a failure here (REVIEWBOT_FAIL_ON_SKIP=1)" if failing else ""
    reporter.write_line(f"skipped: {'; '.join(parts)}{suffix}", yellow=not failing, red=failing, bold=True)
    return result
