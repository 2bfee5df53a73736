"""The seed meeting, replayed through the bot, gives back the seed page's structure."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reviewbot.console import Console
from tests.support.fakeslack import RESPONSE_URL_PREFIX
from tests.support.minutes_structure import parse_seed, parse_wikitext
from tests.support.paths import EXAMPLES, REPLAY, ROOT, SEED
from tests.support.slack_client import SlackPerson, SlackUser


def replay_lines() -> list[tuple[str, str, str]]:
    """(user, command, text) for every command line of the replay file."""
    rows = []
    for line in REPLAY.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        user, command, *rest = line.split(" ", 2)
        rows.append((user.lstrip("@"), command, rest[0] if rest else ""))
    return rows


def assert_same_structure(wikitext: str) -> None:
    seed = parse_seed(SEED.read_text())
    ours = parse_wikitext(wikitext)
    assert len(seed.sections) == 35 and sum(len(n) for _, n in seed.sections) == 98
    assert ours.title == seed.title
    assert ours.present == seed.present
    assert ours.remote == seed.remote
    assert [title for title, _ in ours.sections] == [title for title, _ in seed.sections]
    for (title, notes), (_, seed_notes) in zip(ours.sections, seed.sections, strict=True):
        assert notes == seed_notes, title
    assert sum(len(n) for _, n in ours.sections) == sum(len(n) for _, n in seed.sections)


def test_replay_through_the_core_gives_the_seed(runtime, clock, capsys):
    console = Console(runtime.commands)
    for line in REPLAY.read_text().splitlines():
        clock.advance(seconds=30)
        console.run_line(line)
    out = capsys.readouterr().out
    wiki = out.split("-----\n", 1)[1].rsplit("----- end of", 1)[0]
    assert_same_structure(wiki)
    assert "I don't" not in out and "⚠️" not in out
    # 30 s a command from 8:00 AM PT; ends about 9:25.
    assert "July 14, 8:" in wiki and "AM PT." in wiki


def expected_minutes(example: Path) -> str:
    """The minutes an example meeting gives, as its ``.wiki`` file holds them (less its header)."""
    text = example.with_suffix(".wiki").read_text()
    return text.split("-->\n", 1)[1] if text.startswith("<!--") else text


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.replay")), ids=lambda path: path.stem)
def test_each_example_gives_its_minutes_exactly(runtime, clock, capsys, example):
    """Every line of an example's draft, byte for byte, on SQLite and PostgreSQL (30 s a command)."""
    console = Console(runtime.commands)
    for line in example.read_text().splitlines():
        clock.advance(seconds=30)
        console.run_line(line)
    out = capsys.readouterr().out
    assert "I don't" not in out and "⚠️" not in out and "Only a chair" not in out
    assert out.split("-----\n", 1)[1].rsplit("----- end of", 1)[0] == expected_minutes(example)


def test_the_examples_exercise_what_the_minutes_can_hold():
    replay = (EXAMPLES / "search-platform-2026-q3.replay").read_text()
    minutes = expected_minutes(EXAMPLES / "search-platform-2026-q3.replay")
    for command in ("/note action", "/note decision", "/note >> ", "/review slides", "/review section"):
        assert command in replay
    for shown in ("== Action items ==", "== Decisions ==", "\n*** ", "'''Slides'''", "=== Spelling suggestions ==="):
        assert shown in minutes
    licence = "Creative Commons Attribution-ShareAlike 3.0"
    for name in ("tech-ii-2016-07.replay", "tech-ii-2016-07.wiki", "tech-ii-2016-07.meta-wiki.txt"):
        assert licence in (EXAMPLES / name).read_text()[:800]


def test_rerendering_a_past_meeting_gives_the_same_text(runtime, clock, capsys):
    console = Console(runtime.commands)
    for line in REPLAY.read_text().splitlines():
        console.run_line(line)
    out = capsys.readouterr().out
    at_end = out.split("-----\n", 1)[1].rsplit("----- end of", 1)[0]
    meeting = runtime.meetings.history(console_caller())[0]
    again = runtime.commands.minutes_file(runtime.meetings.record(meeting.id)).content
    assert again == at_end


def console_caller():
    from reviewbot.console import CHANNEL, WORKSPACE
    from reviewbot.core import Caller

    return Caller(WORKSPACE, CHANNEL, "tilman", "tilman")


def run_console(cwd: Path, env: dict[str, str], timeout: float, **stdin: Any) -> subprocess.CompletedProcess[str]:
    """``python bot.py`` in console mode, fed *stdin* (``stdin=`` a file or ``input=`` a string)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        **stdin,
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_console_reads_the_replay_from_a_pipe(tmp_path, database_url):
    """`python bot.py < replay` prints the meeting's replies and the final wiki draft."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "HOME": str(tmp_path)}
    with REPLAY.open() as replay:
        result = run_console(tmp_path, env, 120, stdin=replay)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "local console" in out
    assert "@tilman /review start the Wikimedia Foundation's Technology II" in out
    assert "Meeting started" in out and "Meeting ended" in out
    wiki = out.split(".wiki -----\n", 1)[1].rsplit("----- end of", 1)[0]
    assert_same_structure(wiki)
    assert "SLACK_BOT_TOKEN" in out  # the banner says how to connect to Slack
    assert "xoxb" not in result.stderr


def test_console_banner_and_help_interactively(tmp_path):
    """Typed at a terminal-less pipe, a mistake gets a hint and nothing crashes."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "HOME": str(tmp_path)}
    script = "hello\n/review bogus\n/note no meeting yet\n/review help\n"
    result = run_console(tmp_path, env, 60, input=script)
    assert result.returncode == 0, result.stderr
    assert "type a command starting with /" in result.stdout
    assert "I don't know `/review bogus`" in result.stdout
    assert "No meeting is running" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


__all__ = ["shlex"]


def test_replay_through_slack_over_http_gives_the_seed(bot, fake_slack, database_url):
    """Every replay line as a Slack-signed, Slack-escaped slash command to the real Bolt app,
    within Slack's rate limits (the fake enforces them): the minutes come at once, not after the
    echoes; every note is echoed once (bursts in one message); no call before a Retry-After."""
    bot.slack.poster.interval = 1.0  # posts paced per channel as in production
    people: dict[str, SlackUser] = {}
    for number, (user, command, text) in enumerate(replay_lines()):
        if user not in people:
            people[user] = SlackUser(bot, fake_slack, f"U{len(people) + 100}", user)
        reply = people[user].ok(command, text)
        assert not reply["text"].startswith(("I don't", "⚠️")), (number, text, reply)
    fake_slack.wait_for("files.completeUploadExternal")  # within 5 s: never behind the echoes
    assert_same_structure(fake_slack.uploads[-1].content.decode())
    assert fake_slack.early_call_count == 0
    if not database_url.startswith("sqlite"):
        return  # the echoes take a minute at one post a second: once is enough
    assert bot.slack.poster.wait_idle(180), "the echoes did not drain"
    # Echoes go with chat.postMessage, or through the note's /note response_url (in the channel).
    shown = [c for c in fake_slack.calls_to("chat.postMessage") if c.response["ok"]]
    shown += [c for c in fake_slack.calls if c.method.startswith(RESPONSE_URL_PREFIX) and c.posted_ts]
    echoed = [
        line.split(":", 1)[0]
        for c in shown
        for line in c.args["text"].split("\n")
        if re.match(r"#\d+ ", line)  # a section's first echo carries its heading too
    ]
    assert len(echoed) == 98 and len(set(echoed)) == 98  # "#n Name", each note once
    assert len(shown) < 98, len(shown)  # fewer messages than notes: bursts were echoed together
    assert fake_slack.early_call_count == 0


@pytest.mark.parametrize("deliveries", [1, 2])
def test_replay_as_a_scribes_messages_gives_the_seed(bot, fake_slack, deliveries):
    """Scribe mode: every ``/note`` of the replay typed instead as a message in the channel by its
    note-taker (a scribe), each event delivered once, or again as Slack's retry; the same minutes."""
    # About the minutes, not pacing: at machine speed its 98 reactions alone would take Slack's
    # reactions.add budget (Tier 3) two minutes.
    fake_slack.rate_limits = False
    people: dict[str, SlackPerson] = {}
    scribes: set[str] = set()
    started = False
    for number, (user, command, text) in enumerate(replay_lines()):
        if user not in people:
            people[user] = SlackPerson(bot, fake_slack, f"U{len(people) + 100}", user)
        person = people[user]
        if command == "/note" and started:
            if user not in scribes:
                assert "now a scribe" in person.ok("/review", "scribe me")["text"]
                scribes.add(user)
            person.say(text, retries=deliveries - 1)
            continue
        reply = person.ok(command, text)
        assert not reply["text"].startswith(("I don't", "⚠️")), (number, text, reply)
        started = started or text.startswith("start ")
    fake_slack.wait_for("files.completeUploadExternal")
    assert scribes and not fake_slack.calls_to("chat.postEphemeral")  # nothing refused
    assert_same_structure(fake_slack.uploads[-1].content.decode())
