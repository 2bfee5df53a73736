"""The posting queue: per-channel order, pacing, Retry-After, bounded retries, draining."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.slack.budget import LATENESS, Budget, BudgetedWebClient
from reviewbot.slack.post_queue import Job, Lane, PostQueue, retry_after
from reviewbot.slack.turns import Turns
from tests.support.fakeslack import FakeSlack


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; records the sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(round(seconds, 3))
            self.now += seconds


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def poster_for(slack: FakeSlack, fake_time: FakeTime, **options: float) -> PostQueue:
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=5)
    client.retry_handlers = []  # the poster's own retries only
    return PostQueue(client, sleep=fake_time.sleep, monotonic=fake_time.monotonic, **options)


def post(text: str, order: list[str] | None = None):
    def job(lane: Lane) -> None:
        lane.call("chat_postMessage", channel=lane.channel, text=text)
        if order is not None:
            order.append(text)

    return job


def test_posts_in_one_channel_are_ordered_and_paced(slack, fake_time):
    slack.limiter.monotonic = fake_time.monotonic  # the fake's limits on the poster's clock
    poster = poster_for(slack, fake_time, interval=1.0)
    order: list[str] = []
    for n in range(6):
        poster.submit("C1", post(f"m{n}", order), "post")
    assert poster.wait_idle(5)
    assert order == [f"m{n}" for n in range(6)]
    assert [c.args["text"] for c in slack.calls_to("chat.postMessage")] == order
    assert fake_time.sleeps == [1.05, 1.0]  # a burst of POST_BURST (4), then one a second (PACE_MARGIN later)
    assert not slack.limited_calls  # within the fake's limit of one a second, bursts of 4


def test_only_posts_are_paced_per_channel(slack, fake_time):
    poster = poster_for(slack, fake_time, interval=1.0)

    def update(lane: Lane) -> None:
        for _ in range(6):
            lane.call("auth_test")

    poster.submit("C1", update, "calls that are not posts")
    assert poster.wait_idle(5)
    assert fake_time.sleeps == []


def test_an_urgent_job_does_not_wait_behind_the_channels_other_jobs(slack, fake_time):
    poster = poster_for(slack, fake_time)
    started, release = threading.Event(), threading.Event()

    def echo_waiting_for_slack(lane: Lane) -> None:
        started.set()
        release.wait(5)

    order: list[str] = []
    poster.submit("C1", echo_waiting_for_slack, "echo")
    started.wait(5)
    poster.submit("C1", post("echo 2", order), "echo", key="echo")
    poster.submit("C1", post("minutes", order), "upload", urgent=True)
    poster.submit("C1", post("agenda", order), "agenda", key="agenda", urgent=True)
    for _ in range(500):
        if len(order) == 2:
            break
        threading.Event().wait(0.01)
    assert order == ["minutes", "agenda"]  # while the echo still waits
    release.set()
    assert poster.wait_idle(5)
    assert order == ["minutes", "agenda", "echo 2"]


def test_a_rate_limit_is_waited_out_as_long_as_slack_asks_never_given_up(slack, fake_time):
    poster = poster_for(slack, fake_time, interval=0.0, attempts=2)
    slack.fail_next("chat.postMessage", status=429, retry_after=3, times=5)
    order: list[str] = []
    poster.submit("C1", post("kept", order), "echo")
    assert poster.wait_idle(5)
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429] * 5 + [200]
    assert order == ["kept"] and fake_time.sleeps == [3.0] * 5


def test_a_closed_queue_gives_up_on_a_rate_limit_after_its_attempts(slack, fake_time):
    poster = poster_for(slack, fake_time, interval=0.0, attempts=2)
    slack.fail_next("chat.postMessage", status=429, retry_after=3, times=5)
    poster._closed = True  # as while shutting down
    lane = Lane(poster, "C1")
    with pytest.raises(SlackApiError):
        lane.call("chat_postMessage", channel="C1", text="x")
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_channels_do_not_wait_for_each_other(slack, fake_time):
    poster = poster_for(slack, fake_time, interval=1.0)
    release = threading.Event()
    poster.submit("C1", lambda lane: release.wait(5), "block C1")
    poster.submit("C2", post("other channel"), "post")
    slack.wait_for("chat.postMessage")
    release.set()
    assert poster.wait_idle(5)
    assert fake_time.sleeps == []


def test_a_keyed_job_waits_in_the_queue_once(slack, fake_time):
    # A burst of notes queues one echo job, not one per note; once that job has started, the
    # next note queues another (the running one may have read the notes before it came).
    poster = poster_for(slack, fake_time)
    started, release = threading.Event(), threading.Event()

    def blocker(lane: Lane) -> None:
        started.set()
        release.wait(5)

    order: list[str] = []
    poster.submit("C1", blocker, "block", key="echo")
    started.wait(5)
    for n in range(5):
        poster.submit("C1", post(f"echo {n}", order), "echo", key="echo")
    poster.submit("C1", post("other", order), "other")
    poster.submit("C1", post("agenda", order), "agenda", key="agenda")
    release.set()
    assert poster.wait_idle(5)
    assert order == ["echo 0", "other", "agenda"]


def test_a_delayed_job_is_queued_after_its_delay_and_counts_as_pending(slack, fake_time):
    # A live job that found its meeting's lease held by another process is queued again a
    # moment later (slack/live.py): wait_idle waits for it, and a closed queue drops it.
    poster = poster_for(slack, fake_time, interval=0.0)
    order: list[str] = []
    poster.submit("C1", post("later", order), "later", key="echo", delay=0.3)
    poster.submit("C1", post("now", order), "now")
    assert poster.wait_idle(0.1) is False  # the delayed one is still to come
    assert poster.wait_idle(5)
    assert order == ["now", "later"]
    poster.submit("C1", post("dropped", order), "dropped", delay=0.2)
    poster.close(timeout=5)
    poster.submit("C1", post("refused", order), "refused", delay=0.1)
    assert poster.wait_idle(1)
    assert order == ["now", "later"]


def test_rate_limit_is_retried_after_retry_after(slack, fake_time):
    poster = poster_for(slack, fake_time, interval=0.0)
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    poster.submit("C1", post("later"), "post")
    assert poster.wait_idle(5)
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert fake_time.sleeps == [7.0]


def test_transient_errors_are_retried_a_bounded_number_of_times(slack, fake_time, caplog):
    poster = poster_for(slack, fake_time, interval=0.0, attempts=3, backoff=0.5)
    slack.fail_next("chat.postMessage", error="internal_error", times=5)
    order: list[str] = []
    with caplog.at_level(logging.WARNING, logger="reviewbot.slack.post_queue"):
        poster.submit("C1", post("lost", order), "echo note 1")
        poster.submit("C1", post("next", order), "echo note 2")
        assert poster.wait_idle(5)
    # The first job gives up after 3 attempts; the next one fails twice more, then succeeds.
    assert [c.args["text"] for c in slack.calls_to("chat.postMessage")] == ["lost"] * 3 + ["next"] * 3
    assert fake_time.sleeps == [0.5, 1.0, 0.5, 1.0]  # backoff doubles, afresh for each job
    assert order == ["next"]
    assert "could not echo note 1 in C1: internal_error" in caplog.text


def test_permanent_errors_are_not_retried(slack, fake_time, caplog):
    poster = poster_for(slack, fake_time, interval=0.0)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    order: list[str] = []
    with caplog.at_level(logging.WARNING, logger="reviewbot.slack.post_queue"):
        poster.submit("C1", post("a", order), "post a")
        poster.submit("C1", post("b", order), "post b")
        assert poster.wait_idle(5)
    assert order == ["b"] and len(slack.calls_to("chat.postMessage")) == 2
    assert "could not post a in C1: channel_not_found" in caplog.text


def test_a_crashing_job_is_logged_and_the_lane_goes_on(slack, fake_time, caplog):
    poster = poster_for(slack, fake_time)
    order: list[str] = []

    def crash(lane: Lane) -> None:
        raise RuntimeError("bug")

    with caplog.at_level(logging.ERROR, logger="reviewbot.slack.post_queue"):
        poster.submit("C1", crash, "crash")
        poster.submit("C1", post("after", order), "post")
        assert poster.wait_idle(5)
    assert order == ["after"] and "could not crash in C1" in caplog.text


def test_wait_idle_times_out_and_close_refuses_new_jobs(slack, fake_time):
    poster = poster_for(slack, fake_time)
    release = threading.Event()
    poster.submit("C1", lambda lane: release.wait(5), "block")
    assert poster.wait_idle(0.05) is False
    release.set()
    poster.close(timeout=5)
    poster.submit("C1", post("too late"), "post")
    assert poster.wait_idle(1)
    assert not slack.calls_to("chat.postMessage")


def test_retry_after_header():
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after": ["2"]}) == 2.0
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None and retry_after(None) is None


def test_a_rate_limited_name_lookup_waits_as_long_as_slack_asks():
    # users.info answering 429: the name in the payload is used for as long as Retry-After says,
    # however the header's name is spelled; without a usable header, a short pause.
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import SlackResponse

    from reviewbot.slack.users import TRANSIENT_FAILURE_SECONDS, _pause_after

    def limited(headers: dict[str, object]) -> SlackApiError:
        response = SlackResponse(
            client=None, http_verb="POST", api_url="users.info", req_args={},
            data={"ok": False, "error": "ratelimited"}, headers=headers, status_code=429,
        )  # fmt: skip
        return SlackApiError("ratelimited", response)

    assert _pause_after(limited({"Retry-After": "30"})) == 30.0
    assert _pause_after(limited({"retry-after": ["45"]})) == 45.0
    assert _pause_after(limited({})) == TRANSIENT_FAILURE_SECONDS


def test_a_reminder_is_posted_while_the_channels_echoes_wait(slack, fake_time):
    from reviewbot.slack.notice_poster import SlackNoticePoster

    poster = poster_for(slack, fake_time)
    release = threading.Event()
    poster.submit("C1", lambda lane: release.wait(5), "echo the notes")  # an echo waiting for Slack
    SlackNoticePoster(poster, wait=2).post("T1", "C1", "⏰ The review starts in 10 minutes.")
    (posted,) = slack.calls_to("chat.postMessage")
    assert posted.args["text"] == "⏰ The review starts in 10 minutes."
    release.set()
    assert poster.wait_idle(5)


class CountingBudget(Budget):
    """A budget that records what is spent and refused."""

    def __init__(self) -> None:
        super().__init__()
        self.spent: list[str] = []
        self.refusals: list[tuple[str, float]] = []

    def spend(self, method: str, max_wait: float | None = None, channel: str | None = None) -> None:
        self.spent.append(method)

    def refused(self, method: str, retry_after: float) -> None:
        self.refusals.append((method, retry_after))


def test_a_reserved_post_spends_the_budget_once_and_a_429_on_it_pauses_the_method(slack, fake_time):
    budget = CountingBudget()
    client = BudgetedWebClient(token="xoxb-test", base_url=slack.api_url, timeout=5, budget=budget)
    client.retry_handlers = []
    poster = PostQueue(client, interval=0.0, sleep=fake_time.sleep, monotonic=fake_time.monotonic)

    def job(lane: Lane) -> None:
        lane.reserve_post()  # the turn is taken here...
        lane.call("chat_postMessage", channel=lane.channel, text="one")  # ...and not spent again
        lane.reserve_post()
        lane.call("chat_postMessage", channel=lane.channel, text="two")

    slack.fail_next("chat.postMessage", status=429, retry_after=3)
    poster.submit("C1", job, "echo")
    assert poster.wait_idle(5)
    assert [(c.args["text"], c.status) for c in slack.calls_to("chat.postMessage")] == [
        ("one", 429),
        ("one", 200),
        ("two", 200),
    ]
    # One reserved turn each, and the retry after the 429 spent its own.
    assert budget.spent == ["chat.postMessage"] * 3
    assert budget.refusals == [("chat.postMessage", 3.0)] and fake_time.sleeps == [3.0]


def test_a_reserved_post_waits_out_a_pause_that_began_after_it_was_taken(slack, fake_time):
    budget = Budget(monotonic=fake_time.monotonic, sleep=fake_time.sleep)
    client = BudgetedWebClient(token="xoxb-test", base_url=slack.api_url, timeout=5, budget=budget)
    client.retry_handlers = []
    poster = PostQueue(client, interval=0.0, sleep=fake_time.sleep, monotonic=fake_time.monotonic)
    sent_at: list[float] = []

    def job(lane: Lane) -> None:
        lane.reserve_post()
        budget.refused("chat.postMessage", 2.0)  # another call of the method was refused meanwhile
        lane.call("chat_postMessage", channel=lane.channel, text="after the pause")
        sent_at.append(fake_time.monotonic())

    began = fake_time.monotonic()
    poster.submit("C1", job, "echo")
    assert poster.wait_idle(5)
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200]
    assert sent_at[0] - began >= 2.0


def test_a_reserved_post_built_too_slowly_spends_again(slack, fake_time):
    budget = Budget(monotonic=fake_time.monotonic, sleep=fake_time.sleep)
    client = BudgetedWebClient(token="xoxb-test", base_url=slack.api_url, timeout=5, budget=budget)
    poster = PostQueue(client, interval=0.0, sleep=fake_time.sleep, monotonic=fake_time.monotonic)
    spent: list[str] = []
    spend = budget.spend

    def counted_spend(method: str, *args: Any) -> None:
        spent.append(method)
        spend(method, *args)

    budget.spend = counted_spend  # type: ignore[method-assign]

    def job(build_seconds: float) -> Job:
        def post(lane: Lane) -> None:
            lane.reserve_post()
            fake_time.sleep(build_seconds)  # reading and building what to post, in a busy process
            lane.call("chat_postMessage", channel=lane.channel, text=f"built in {build_seconds}s")

        return post

    poster.submit("C1", job(0.01), "echo")
    assert poster.wait_idle(5)
    assert spent == ["chat.postMessage"]  # the reservation's turn
    poster.submit("C1", job(LATENESS + 0.5), "echo")
    assert poster.wait_idle(5)
    # Sent that late, the reserved turn would bunch with the posts spent after it: it takes another.
    assert spent == ["chat.postMessage"] * 3
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 200]


def test_jobs_take_turns_and_give_theirs_back_while_slack_answers(slack):
    """With turns, jobs of many channels run their Python one at a time, but wait for Slack's
    answers side by side: each Web API call is made without holding a turn."""
    turns = Turns(turns=1, patience=0.0, overflow=5.0)
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=5)
    poster = PostQueue(client, interval=0.0, turns=turns)
    held_in_job: list[bool] = []
    held_while_calling: list[bool] = []
    original = client.api_call

    def api_call(*args, **kwargs):
        held_while_calling.append(turns.holding())
        return original(*args, **kwargs)

    client.api_call = api_call  # type: ignore[method-assign]

    def job(lane: Lane) -> None:
        held_in_job.append(turns.holding())
        lane.call("chat_postMessage", channel=lane.channel, text="hi")

    for n in range(8):
        poster.submit(f"C{n}", job, "post")
    assert poster.wait_idle(5)
    assert held_in_job == [True] * 8  # each ran in a turn
    assert held_while_calling == [False] * 8  # and gave it back while Slack answered
    assert turns.held == 0
    assert len(slack.calls_to("chat.postMessage")) == 8
