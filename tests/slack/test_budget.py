"""Slack's Web API budget: spent per method before Slack refuses, and paused for everyone by a 429."""

from __future__ import annotations

import math
import threading
import time

import pytest
from slack_sdk.errors import SlackApiError

from reviewbot.slack import budget as budget_module
from reviewbot.slack.app import web_client
from reviewbot.slack.budget import LATENESS, Budget, BudgetedWebClient, OverBudget, Rate, usable_burst
from tests.support.credentials import BOT_TOKEN
from tests.support.slack_client import SlackPerson


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def punctual(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls reach Slack as soon as they are spent: the whole burst is spent at once."""
    monkeypatch.setattr(budget_module, "LATENESS", 0.0)


def test_a_burst_goes_at_once_then_calls_are_spread_at_the_rate(punctual):
    clock = FakeTime()
    budget = Budget({"chat.update": Rate(60, 3)}, clock.monotonic, clock.sleep)
    for _ in range(5):
        budget.spend("chat.update")
    # Three at once, then one a second (a new bucket refills from 0.1 s on, as Slack's starts when
    # the first call arrives; and a call that has to wait costs 5% more).
    assert clock.slept == [1.1, 1.05]
    clock.now += 10  # refilled, up to the burst only
    for _ in range(4):
        budget.spend("chat.update")
    assert clock.slept == [1.1, 1.05, 1.0]
    budget.spend("no.limit.known")  # methods without a published limit are not held
    assert len(clock.slept) == 3


def test_each_bucket_keeps_the_refill_of_a_late_call_out_of_its_burst():
    # A call may reach Slack LATENESS seconds after its spend, bunched with the calls spent after
    # it: what Slack refills meanwhile is kept in hand.
    assert usable_burst(Rate(300, 60)) == 60 - 5 * LATENESS
    assert usable_burst(Rate(60, 4)) == 4 - LATENESS
    assert usable_burst(Rate(6, 1)) == 1  # never less than one call
    clock = FakeTime()
    budget = Budget({"chat.update": Rate(60, 10)}, clock.monotonic, clock.sleep)
    for _ in range(math.floor(usable_burst(Rate(60, 10)))):
        budget.spend("chat.update")
    assert clock.slept == []
    budget.spend("chat.update")
    assert len(clock.slept) == 1


def test_a_call_waiting_for_its_channel_takes_the_workspace_token_when_it_can_go(punctual):
    clock = FakeTime()
    budget = Budget({"chat.postMessage": Rate(600, 10)}, clock.monotonic, clock.sleep)
    for _ in range(5):
        budget.spend("chat.postMessage", channel="C1")
    assert clock.slept == [1.1]  # a channel's fifth message waits for its second
    for n in range(10):
        budget.spend("chat.postMessage", channel=f"D{n}")
    # The fifth took the workspace's token at 1.1 s, when it could go, not at 0 s (from where the
    # bucket would have refilled to ten during its wait, for eleven calls at 1.1 s):
    assert clock.slept == [1.1, 0.1]


def test_a_429_pauses_the_method_for_every_caller_until_retry_after():
    clock = FakeTime()
    budget = Budget({"chat.update": Rate(600, 10), "users.info": Rate(100, 20)}, clock.monotonic, clock.sleep)
    budget.spend("chat.update")
    budget.refused("chat.update", 7)
    budget.spend("users.info")  # another method is not held up
    assert clock.slept == []
    budget.spend("chat.update")
    assert clock.slept == [7.0]
    budget.refused("pins.add", 3)  # no published limit, but Slack said wait: wait
    budget.spend("pins.add")
    assert clock.slept == [7.0, 3.0]


def test_a_caller_that_may_not_wait_is_told_at_once_and_spends_nothing():
    clock = FakeTime()
    budget = Budget({"users.info": Rate(60, 1)}, clock.monotonic, clock.sleep)
    budget.spend("users.info", max_wait=0)
    with pytest.raises(OverBudget):
        budget.spend("users.info", max_wait=0)
    clock.now += 1.1
    budget.spend("users.info", max_wait=0)  # the refused look-up took nothing
    assert clock.slept == []


def test_after_slack_refuses_no_thread_calls_the_method_before_retry_after(fake_slack):
    client = web_client(BOT_TOKEN, fake_slack.api_url)
    fake_slack.fail_next("chat.postEphemeral", retry_after=1)
    with pytest.raises(SlackApiError):
        client.chat_postEphemeral(channel="C0001", user="U1", text="refused")
    refused_at = time.monotonic()
    sent: list[float] = []

    def tell() -> None:
        client.chat_postEphemeral(channel="C0001", user="U1", text="later")
        sent.append(time.monotonic() - refused_at)

    threads = [threading.Thread(target=tell) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 3 and min(sent) >= 0.95
    assert fake_slack.early_call_count == 0


def test_listeners_get_the_budgeted_client_not_bolts_copy(bot, fake_slack):
    seen: list[object] = []
    bot.slack.app.event("channel_created")(lambda client: seen.append(client))
    person = SlackPerson(bot, fake_slack, "U1", "Ann")
    assert person.event({"type": "channel_created", "channel": {"id": "C9"}, "event_ts": "1.2"})[0] == 200
    assert seen == [bot.slack.poster.client] and isinstance(seen[0], BudgetedWebClient)
