"""Display names known ahead (slack/users.py): listed with users.list at start, kept up to date by
``user_change``, looked up with users.info off the acknowledgement path for someone new."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from reviewbot.slack.app import web_client
from reviewbot.slack.users import UserDirectory
from reviewbot.store.schema import Note
from tests.support.credentials import BOT_TOKEN
from tests.support.fakeslack import FakeSlack
from tests.support.slack_client import SlackPerson, SlackUser

PEOPLE = {"U100": "Ann Example", "U200": "Bea Example", "U300": "Cid Example"}


def wait_until(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return result


@pytest.fixture
def people(fake_slack: FakeSlack) -> dict[str, str]:
    """People who are in the workspace before the bot starts (ask for this before ``bot``)."""
    for user_id, name in PEOPLE.items():
        fake_slack.users[user_id] = {"name": name.split()[0].lower(), "display_name": name, "real_name": name}
    return PEOPLE


def authors(bot) -> list[str]:
    with bot.runtime.db.read() as session:
        return [n.author_name for n in session.query(Note).order_by(Note.seq)]


# -- the directory on its own ------------------------------------------------------------------


def test_every_user_is_listed_page_by_page_at_start(fake_slack, people):
    directory = UserDirectory(web_client(BOT_TOKEN, fake_slack.api_url), page_size=2).start()
    try:
        wait_until(lambda: directory.knows("U300"))
        assert [directory.name(u) for u in PEOPLE] == list(PEOPLE.values())
        assert len(fake_slack.calls_to("users.list")) == 2  # four users (the bot too), two a page
        assert fake_slack.calls_to("users.info") == []
    finally:
        directory.close()


def test_the_listing_is_made_again_after_a_while(fake_slack, people):
    directory = UserDirectory(web_client(BOT_TOKEN, fake_slack.api_url), refresh_seconds=0.3).start()
    try:
        wait_until(lambda: directory.knows("U100"))
        fake_slack.users["U100"]["display_name"] = "Ann Renamed"  # missed while the bot was down
        wait_until(lambda: directory.name("U100") == "Ann Renamed")
        assert len(fake_slack.calls_to("users.list")) >= 2 and fake_slack.calls_to("users.info") == []
    finally:
        directory.close()


def test_someone_new_gets_the_payloads_name_at_once_and_a_look_up_off_the_callers_thread(fake_slack):
    def slow_users_info(args: dict[str, Any]) -> dict[str, Any]:
        time.sleep(1.5)
        return {"user": {"id": args["user"], "name": "dee", "profile": {"display_name": "Dee Example"}}}

    fake_slack.set_handler("users.info", slow_users_info)
    directory = UserDirectory(web_client(BOT_TOKEN, fake_slack.api_url)).start()
    try:
        started = time.monotonic()
        assert directory.name("U400", "dee") == "dee"
        assert directory.name("U400", "dee") == "dee"  # asked for once
        assert time.monotonic() - started < 0.5
        assert wait_until(lambda: directory.name("U400")) == "Dee Example"
        assert len(fake_slack.calls_to("users.info")) == 1
    finally:
        directory.close()


def test_an_unknown_user_is_not_looked_up_again_for_an_hour(fake_slack):
    directory = UserDirectory(web_client(BOT_TOKEN, fake_slack.api_url)).start()
    try:
        assert directory.name("U404", "ghost") == "ghost"
        fake_slack.wait_for("users.info")
        time.sleep(0.2)
        for _ in range(3):
            assert directory.name("U404", "ghost") == "ghost"
        time.sleep(0.2)
        assert len(fake_slack.calls_to("users.info")) == 1
    finally:
        directory.close()


def test_a_refused_listing_is_asked_again_from_the_page_it_stopped_at(fake_slack, people):
    fake_slack.rate_limits = False
    directory = UserDirectory(web_client(BOT_TOKEN, fake_slack.api_url), page_size=2)
    fake_slack.fail_next("users.list", status=429, retry_after=0)
    directory.start()
    try:
        wait_until(lambda: directory.knows("U300"))
        assert [c.status for c in fake_slack.calls_to("users.list")] == [429, 200, 200]
    finally:
        directory.close()


def test_a_changed_profile_is_learned(fake_slack):
    directory = UserDirectory(web_client(BOT_TOKEN, fake_slack.api_url))
    directory.learn({"id": "U100", "name": "ann", "profile": {"display_name": "", "real_name": "Ann Real"}})
    assert directory.name("U100") == "Ann Real"  # no display name: the real name
    directory.learn({"id": "U100", "name": "ann", "profile": {"display_name": "Annie"}})
    assert directory.name("U100") == "Annie"


# -- over HTTP: the bot as Slack reaches it ------------------------------------------------------


def test_a_note_is_acknowledged_without_asking_slack_for_a_name(people, bot, fake_slack):
    wait_until(lambda: bot.slack.users.knows("U300"))  # listed
    ann = SlackUser(bot, fake_slack, "U100", "Ann", joins=False)
    ann.ok("/review", "start Names")
    assert ann.ok("/note", "listed ahead")["text"].startswith("✓")
    assert fake_slack.calls_to("users.info") == []
    assert authors(bot) == ["Ann Example"]  # from users.list, not the payload's "ann"


def test_someone_who_joined_since_is_acknowledged_at_once_and_named_from_then_on(people, bot, fake_slack):
    wait_until(lambda: bot.slack.users.knows("U300"))
    SlackUser(bot, fake_slack, "U100", "Ann", joins=False).ok("/review", "start Newcomers")

    def slow_users_info(args: dict[str, Any]) -> dict[str, Any]:
        time.sleep(2)
        return {"user": {"id": args["user"], "name": "dee", "profile": {"display_name": "Dee Example"}}}

    fake_slack.set_handler("users.info", slow_users_info)
    dee = SlackUser(bot, fake_slack, "U400", "Dee", joins=False)  # joined while the bot was down
    started = time.monotonic()
    assert dee.ok("/note", "my first note")["text"].startswith("✓")
    assert time.monotonic() - started < 1.0  # users.info takes 2 s: it was not waited for
    fake_slack.wait_for("users.info")
    wait_until(lambda: (dee.ok("/note", "probe"), authors(bot)[-1] == "Dee Example")[1], timeout=6)
    assert authors(bot)[0] == "dee"  # the payload's name meanwhile
    assert len(fake_slack.calls_to("users.info")) == 1


def test_a_user_change_event_renames_the_author_of_later_notes(people, bot, fake_slack):
    wait_until(lambda: bot.slack.users.knows("U300"))
    ann = SlackPerson(bot, fake_slack, "U100", "Ann", joins=False)
    ann.ok("/review", "start Renamed")
    ann.ok("/note", "before")
    changed = {"id": "U100", "name": "ann", "profile": {"display_name": "Annie", "real_name": "Ann Example"}}
    assert ann.event({"type": "user_change", "user": changed, "event_ts": "1.5"})[0] == 200
    ann.ok("/note", "after")
    assert authors(bot) == ["Ann Example", "Annie"]
    assert fake_slack.calls_to("users.info") == []


def test_someone_who_joins_is_known_from_the_team_join_event(bot, fake_slack):
    eve = SlackUser(bot, fake_slack, "U500", "Eve")  # Slack tells the bot (team_join)
    eve.ok("/review", "start Joined")
    eve.ok("/note", "hello")
    assert authors(bot) == ["Eve"] and fake_slack.calls_to("users.info") == []
