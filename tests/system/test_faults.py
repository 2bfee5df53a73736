"""Faults: the bot killed mid-meeting, the database unreachable or lost, two bot processes at once.

The bot runs as production runs it: ``python bot.py`` in HTTP mode (or in-process on waitress
where a test needs to reach inside), with note-takers sending Slack-signed ``/note`` commands
over keep-alive connections. "Nothing lost" means: every note whose acknowledgement said it was
recorded is in the database and in the wiki draft, in acknowledgement order per note-taker.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.loadgen import (
    NoteTaker,
    acked_tokens,
    chair,
    check,
    draft_tokens,
    run_together,
    stored_tokens,
    token_of,
    wait_for_draft,
)
from reviewbot.config import Settings
from reviewbot.store.schema import Note
from tests.support.botprocess import BotProcess, bot_env
from tests.support.botserver import BotServer
from tests.support.credentials import BOT_TOKEN, SIGNING_SECRET
from tests.support.doubles import FakeClock
from tests.support.fakeslack import FakeSlack
from tests.support.paths import BOT_SCRIPT
from tests.support.pgschema import POSTGRES_URL
from tests.support.slack_client import SlackUser
from tests.support.tcpproxy import TcpProxy

NOT_SAVED = "The note was *not* saved"
PREPARE = (
    "/review agenda add Welcome",
    "/review agenda add Capacity planning",
    "/review agenda add - Dashboards",
    "/review present Heather, Gabriel",
    "/review start Fault drill",
    "/review next",
)


def wait_until(condition: object, timeout: float = 60.0, what: str = "") -> None:
    """Poll *condition* (a callable) until it is true; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.005)


def in_process_bot(database_url: str, slack: FakeSlack, clock: FakeClock, **overrides: object) -> BotServer:
    """The bot on waitress in this process, with settings changed by *overrides*."""
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "database_url": database_url,
        "host": "127.0.0.1",
        "port": 0,
        "slack_post_interval": 0.0,
        **overrides,
    }
    return BotServer(Settings(**values), clock)  # type: ignore[arg-type]


def known(slack: FakeSlack, takers: list[NoteTaker]) -> list[NoteTaker]:
    """Make the note-takers known Slack users (``users.info`` answers for them)."""
    for taker in takers:
        slack.users[taker.user_id] = {"name": taker.name, "display_name": f"Taker {taker.number}"}
    return takers


def assert_nothing_lost(database_url: str, channel: str, draft: str, *groups: list[NoteTaker]) -> dict[str, int]:
    """Every acknowledged note is stored and drafted, in acknowledgement order per note-taker."""
    result = check(acked_tokens(*groups), stored_tokens(database_url, channel), draft_tokens(draft))
    assert result["acknowledged"] > 0
    assert result["lost_db"] == result["lost_draft"] == 0, result
    assert result["order_db"] == result["order_draft"] == 0, result
    return result


# -- the bot process killed in the middle of a meeting ---------------------------------------------


def test_killed_mid_meeting_resumes_with_every_acknowledged_note(database_url, fake_slack, tmp_path):
    # With Slack's limits on: a burst of notes is echoed in few messages, so the echoes keep up.
    channel = "CKILL"
    env = bot_env(database_url, fake_slack.api_url, tmp_path)
    with BotProcess(env, tmp_path) as bot:
        for line in PREPARE:
            chair(bot.url, fake_slack, channel, line)
        before = known(
            fake_slack, [NoteTaker(n, [bot.url], 100_000, SIGNING_SECRET, channel=channel) for n in range(1, 5)]
        )
        loader = threading.Thread(target=run_together, args=(before,), daemon=True)
        loader.start()
        wait_until(lambda: sum(len(t.acked) for t in before) >= 40, what="40 acknowledged notes")
        bot.kill()  # SIGKILL while notes are in flight
        loader.join(30)
    assert not loader.is_alive()
    # Every note-taker was cut off: its last note got no acknowledgement.
    assert all(t.sent and not t.sent[-1].acked for t in before)

    with BotProcess(env, tmp_path) as bot:  # started again on the same database
        status = chair(bot.url, fake_slack, channel, "/review status")["text"]
        assert "Now at *2 Capacity planning*" in status, status
        after = [
            NoteTaker(t.number, [bot.url], 5, SIGNING_SECRET, channel=channel, first=t.sent[-1].index + 1)
            for t in before
        ]
        run_together(after)
        assert all(len(t.acked) == 5 for t in after)
        chair(bot.url, fake_slack, channel, "/review end")
        draft = wait_for_draft(fake_slack, channel)
        acked = {token for tokens in acked_tokens(before, after).values() for token in tokens}
        wait_until(lambda: acked <= set(echo_tokens(fake_slack, channel)), what="every acknowledged note echoed")
    for heading in ("== Welcome ==", "== Capacity planning ==", "=== Dashboards ==="):
        assert heading in draft
    assert "'''Present (in the office)''': Heather, Gabriel" in draft
    assert_nothing_lost(database_url, channel, draft, before, after)
    # Echoed once each, but for the message that may have been in flight at the kill (posted,
    # not yet recorded): the new process echoes from after the last note recorded as echoed.
    counts = echo_tokens(fake_slack, channel)
    twice = [m for m in echo_messages(fake_slack, channel) if any(counts[token] > 1 for token in m)]
    assert len(twice) <= 2, twice
    assert fake_slack.early_call_count == 0


# -- the database unreachable at start ------------------------------------------------------------


def failed_start(env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Start the bot, which must give up: its result, and the one line it wrote to stderr."""
    result = subprocess.run(
        [sys.executable, str(BOT_SCRIPT)], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return result, lines


@pytest.mark.parametrize("mode", ["http", "console"])
def test_unreachable_postgres_at_start_is_one_clear_line(mode, fake_slack, tmp_path):
    url = "postgresql+psycopg://reviewbot:s3cret@127.0.0.1:1/reviewbot"
    env = bot_env(url, fake_slack.api_url, tmp_path)
    if mode == "console":
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            del env[name]
    result, lines = failed_start(env, tmp_path)
    assert lines[0].startswith(
        "reviewbot: cannot use the database at postgresql+psycopg://reviewbot:***@127.0.0.1:1/reviewbot: "
    ), lines[0]
    assert "refused" in lines[0].lower()
    assert "s3cret" not in result.stderr + result.stdout
    assert not fake_slack.calls_to("auth.test")  # it stopped before talking to Slack


def test_unusable_sqlite_path_at_start_is_one_clear_line(fake_slack, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    env = bot_env(f"sqlite:///{blocker}/reviewbot.db", fake_slack.api_url, tmp_path)
    result, lines = failed_start(env, tmp_path)
    assert lines[0].startswith("reviewbot: cannot use the database at sqlite:///"), lines[0]
    assert "Traceback" not in result.stderr


# -- the database lost during a meeting -----------------------------------------------------------


def note_texts(bot: BotServer) -> list[str]:
    with bot.runtime.db.read() as session:
        return list(session.scalars(select(Note.text).where(Note.deleted_at.is_(None)).order_by(Note.seq)))


def send_concurrently(users: list[SlackUser], command: str, text: str) -> list[tuple[int, object]]:
    """Every user sends the same command at once; returns the answers."""
    answers: list[tuple[int, object]] = [(0, None)] * len(users)

    def send(i: int) -> None:
        answers[i] = users[i].command(command, f"{text} {i}")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_locked_past_the_timeout_says_not_saved_then_recovers(database_url, fake_slack, clock):
    bot = in_process_bot(database_url, fake_slack, clock, db_timeout_ms=200)
    try:
        users = [SlackUser(bot, fake_slack, f"U{i}", f"User{i}") for i in range(1, 4)]
        users[0].ok("/review", "start Locked out")
        assert users[0].ok("/note", "before")["text"].startswith("✓")
        blocker = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            for status, reply in send_concurrently(users, "/note", "while locked"):
                assert status == 200 and isinstance(reply, dict), (status, reply)
                assert reply["response_type"] == "ephemeral"
                assert NOT_SAVED in reply["text"] and "try again" in reply["text"], reply
            # Reading still works while writing cannot.
            assert "running" in users[0].ok("/review", "status")["text"]
        finally:
            blocker.rollback()
            blocker.close()
        assert users[1].ok("/note", "after")["text"].startswith("✓")
        assert note_texts(bot) == ["before", "after"]
    finally:
        bot.close()


@pytest.fixture
def postgres_via_proxy(database_url: str) -> Iterator[tuple[str, object, str]]:
    """The test's PostgreSQL schema reached through a cuttable proxy, with a unique application name."""
    direct = make_url(database_url)
    name = f"reviewbot-fault-{uuid.uuid4().hex[:8]}"
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        proxied = direct.set(host="127.0.0.1", port=proxy.port).update_query_dict({"application_name": name})
        yield proxied.render_as_string(hide_password=False), proxy, name


def terminate_backends(application_name: str) -> int:
    """Have PostgreSQL end every connection of the bot (as a restart or a failover would), and
    wait (at most 5 s) until those server processes are gone."""
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            return len(
                conn.execute(
                    text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": application_name},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_lost_mid_meeting_says_not_saved_then_recovers(postgres_via_proxy, fake_slack, clock):
    url, proxy, application_name = postgres_via_proxy
    bot = in_process_bot(url, fake_slack, clock, db_timeout_ms=1000)
    try:
        ann = SlackUser(bot, fake_slack, "U1", "Ann")
        ann.ok("/review", "start Lost and found")
        assert ann.ok("/note", "before")["text"].startswith("✓")
        # The server ends every connection (a restart): the pool notices and reconnects.
        assert terminate_backends(application_name) >= 1
        assert ann.ok("/note", "after the server restart")["text"].startswith("✓")
        # The database is gone: the note is refused with a clear answer, and so is a read.
        proxy.cut()  # type: ignore[attr-defined]
        reply = ann.ok("/note", "while the database is gone")
        assert NOT_SAVED in reply["text"] and "try again" in reply["text"], reply
        assert "not answering" in ann.ok("/review", "status")["text"]
        # It comes back: the bot recovers by itself, without a restart.
        proxy.restore()  # type: ignore[attr-defined]
        assert ann.ok("/note", "back again")["text"].startswith("✓")
        assert note_texts(bot) == ["before", "after the server restart", "back again"]
    finally:
        bot.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_hanging_mid_meeting_answers_in_time_then_recovers(postgres_via_proxy, fake_slack, clock):
    url, proxy, _ = postgres_via_proxy
    bot = in_process_bot(url, fake_slack, clock, db_timeout_ms=1000)
    try:
        ann = SlackUser(bot, fake_slack, "U1", "Ann")
        ann.ok("/review", "start Hung")
        assert ann.ok("/note", "before")["text"].startswith("✓")
        # The server stops answering with the connections open (hung, or a network dropping
        # packets): the note is refused at the database deadline, inside Slack's 3 seconds.
        proxy.freeze()  # type: ignore[attr-defined]

        def answer_in_time(command: str, text: str) -> str:
            began = time.monotonic()
            reply = ann.ok(command, text)
            took = time.monotonic() - began
            assert took < 2.5, f"{command} {text}: answered after {took:.1f} s"
            return str(reply["text"])

        answer = answer_in_time("/note", "while the database hangs")
        assert NOT_SAVED in answer and "try again" in answer, answer
        # Any other command too: it says nothing was done, in time.
        answer = answer_in_time("/review", "end")
        assert "Nothing was changed" in answer, answer
        # It answers again: the bot goes on by itself, and what it refused was never done.
        proxy.thaw()  # type: ignore[attr-defined]
        assert ann.ok("/note", "after")["text"].startswith("✓")
        assert note_texts(bot) == ["before", "after"]
        assert "*Hung* running for" in ann.ok("/review", "status")["text"]  # the end was not done
    finally:
        bot.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_lost_under_load_loses_no_acknowledged_note(database_url, postgres_via_proxy, fake_slack, clock):
    # With Slack's limits on: the echoes keep up (bursts in one message), none is lost or posted
    # twice though the database went away under them, and no call comes before a Retry-After.
    url, proxy, _ = postgres_via_proxy
    bot = in_process_bot(url, fake_slack, clock, db_timeout_ms=1000)
    channel = "C0001"
    try:
        for line in PREPARE:
            chair(bot.url, fake_slack, channel, line)
        takers = known(
            fake_slack,
            [NoteTaker(n, [bot.url], 60, SIGNING_SECRET, channel=channel, stop_on_failure=False) for n in range(1, 5)],
        )
        loader = threading.Thread(target=run_together, args=(takers,), daemon=True)
        loader.start()

        def answered() -> tuple[int, int]:
            sent = [s for t in takers for s in list(t.sent)]
            return sum(s.acked for s in sent), sum(not s.acked for s in sent)

        wait_until(lambda: answered()[0] >= 20, what="20 acknowledged notes")
        proxy.cut()  # type: ignore[attr-defined]
        wait_until(lambda: answered()[1] >= 8, what="8 refused notes")
        proxy.restore()  # type: ignore[attr-defined]
        loader.join(120)
        assert not loader.is_alive()
        sent = [s for t in takers for s in t.sent]
        assert len(sent) == 4 * 60
        for s in sent:  # every note got an answer: recorded, or not saved (never a 500, never silence)
            assert s.status == 200 and isinstance(s.reply, dict), (s.status, s.reply)
            assert s.acked or NOT_SAVED in s.reply["text"], s.reply
        assert any(s.acked for t in takers for s in t.sent[-5:])  # recovered without a restart
        chair(bot.url, fake_slack, channel, "/review end")
        draft = wait_for_draft(fake_slack, channel)
        assert bot.slack.poster.wait_idle(60)
    finally:
        bot.close()
    assert_nothing_lost(database_url, channel, draft, takers)
    acked = {token for tokens in acked_tokens(takers).values() for token in tokens}
    echoed = echo_tokens(fake_slack, channel)
    assert acked <= set(echoed) and all(count == 1 for count in echoed.values())
    assert fake_slack.early_call_count == 0


# -- two bot processes on one database ------------------------------------------------------------


def test_two_processes_take_notes_for_one_meeting(database_url, fake_slack, tmp_path):
    # On PostgreSQL the two processes spend one budget of Slack calls (slack/budget.py's
    # SharedBudget), so the fake's limits are on. SQLite is for one process: each process keeps
    # its own budget, so together they would go over Slack's limits, and the limits are off.
    shared = not database_url.startswith("sqlite")
    fake_slack.rate_limits = shared
    channel = "CTWO"
    env = bot_env(database_url, fake_slack.api_url, tmp_path)
    first, second = BotProcess(env, tmp_path), BotProcess(env, tmp_path)
    # Started together on an empty database: the migrations must not collide.
    starting = threading.Thread(target=second.start)
    starting.start()
    first.start()
    starting.join(60)
    try:
        assert first.url and second.url and first.url != second.url
        for line in PREPARE:
            chair(first.url, fake_slack, channel, line)
        urls = [first.url, second.url]
        # Every note-taker alternates between the two processes, note after note.
        takers = known(
            fake_slack,
            [
                NoteTaker(n, urls, 30, SIGNING_SECRET, channel=channel, pick=lambda i, n=n: (i + n) % 2)
                for n in range(1, 7)
            ],
        )
        run_together(takers)
        assert all(len(t.acked) == 30 for t in takers)
        assert {s.url for t in takers for s in t.sent} == set(urls)
        chair(second.url, fake_slack, channel, "/review end")
        # Echoes go at chat.postMessage's one a second per channel, and the minutes may queue behind them.
        draft = wait_for_draft(fake_slack, channel, timeout=120 if shared else 60)
        acked = {token for tokens in acked_tokens(takers).values() for token in tokens}
        wait_until(
            lambda: acked <= set(echo_tokens(fake_slack, channel)), timeout=120, what="every acknowledged note echoed"
        )
    finally:
        first.stop()
        second.stop()
    result = assert_nothing_lost(database_url, channel, draft, takers)
    assert result["acknowledged"] == 180 and result["unacked_stored"] == 0
    assert not duplicates(stored_tokens(database_url, channel)) and not duplicates(draft_tokens(draft))
    # Each process echoes the notes it finds waiting, whichever process took them: on PostgreSQL
    # only one at a time (the meeting's echo lease, slack/live.py), so no note is echoed twice.
    # SQLite is one process's database: there are no leases, and two processes may echo a note twice.
    if shared:
        echoed = echo_tokens(fake_slack, channel)
        twice = sorted(token for token, count in echoed.items() if count > 1)
        assert twice == [], f"{len(twice)} notes echoed twice: {twice[:5]}"
    assert fake_slack.early_calls == [], fake_slack.early_calls[:5]
    # 0 refused in every run measured; a stray one (a call delayed tens of milliseconds on a busy
    # machine) costs a second's pause and is retried, so it is tolerated.
    assert len(fake_slack.limited_calls) <= 1, fake_slack.limited_calls[:5]


def echo_messages(slack: FakeSlack, channel: str) -> list[list[str]]:
    """The note tokens of each echo message the fake Slack accepted in *channel* (one message
    may echo several notes, a line each; a section's first also carries its heading)."""
    return [
        [token for line in c.args["text"].split("\n") if (token := token_of(line))]
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and c.status == 200 and c.response["ok"]
    ]


def echo_tokens(slack: FakeSlack, channel: str) -> Counter[str]:
    """How many times each note (its token) was echoed in *channel*."""
    return Counter(token for message in echo_messages(slack, channel) for token in message)


def duplicates(tokens: dict[str, list[str]]) -> list[str]:
    """Tokens found more than once."""
    counts = Counter(token for found in tokens.values() for token in found)
    return sorted(token for token, count in counts.items() if count > 1)
