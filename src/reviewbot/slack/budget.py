"""Slack's Web API budget: one per method for the workspace, spent before Slack has to refuse.

Slack limits each Web API method per app per workspace (tiers of 20, 50 or 100 calls a minute with
bursts, ``chat.postMessage`` about one a second per channel and several hundred a minute in all)
and, past a limit, answers 429 with ``Retry-After``, expecting no call of that method from the
whole workspace until then. Each process holds one :class:`Budget` (its token belongs to one
workspace): a token bucket per method at Slack's published minimums, and a pause per method after
a 429. :class:`BudgetedWebClient` spends it on every call, whoever makes it (the posting queue's
lanes, private replies, look-ups, Bolt's own calls), so no thread calls a method Slack has just
refused, and bursts are spread before Slack has to refuse them.

Several processes on one PostgreSQL database share one budget: :class:`SharedBudget` keeps the
buckets and pauses in the database (:mod:`reviewbot.store.slack_budget`), spent with one statement
per call, and falls back to its process's own buckets while the database cannot answer. On SQLite
(one process) :func:`budget_for` gives the in-process :class:`Budget`.

A caller that must not wait (``max_wait=0``) gets :class:`OverBudget` instead, and falls back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from reviewbot.store.database import Database
from reviewbot.store.engine import DatabaseUnavailable
from reviewbot.store.slack_budget import SharedBuckets

log = logging.getLogger(__name__)

#: After the database failed a spend, how long the process spends its own buckets before asking
#: the database again (so a database outage costs one timeout now and then, not one per call).
FALLBACK_SECONDS = 5.0


@dataclass(frozen=True)
class Rate:
    """A budget: *per_minute* calls on average, up to *burst* at once."""

    per_minute: float
    burst: int


TIER_2 = Rate(20, 5)
TIER_3 = Rate(50, 10)
TIER_4 = Rate(100, 20)
#: Slack's published minimums per method (docs.slack.dev, "Rate limits" and each method's page).
RATES: dict[str, Rate] = {
    "chat.postMessage": Rate(300, 60),  # per workspace; per channel the posting queue paces 1 a second
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "reactions.add": TIER_3,
    "conversations.info": TIER_3,
    "chat.postEphemeral": TIER_4,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "files.info": TIER_4,
    "users.list": TIER_2,
    "auth.test": Rate(600, 60),
    "chat.getPermalink": Rate(600, 60),
}
#: Methods limited per channel too, on top of :data:`RATES` ("about one a second per channel").
CHANNEL_RATES: dict[str, Rate] = {"chat.postMessage": Rate(60, 4)}


#: A call that has to wait for its token costs this much more than one (5%: 50 ms at one call a
#: second): the time between a spend and Slack receiving the call varies by some milliseconds (the
#: first call of a bucket, which starts Slack's clock, opens a connection), and a call that arrives
#: that much early is refused and pauses the method for a second or more. Measured in the
#: two-process test (``tests/system/test_faults.py``): at 2% a 429 in most runs, at 5% none.
#: A burst, within the bucket, goes at once.
MARGIN = 0.05
#: A new bucket starts refilling this long after its first spend: Slack's starts when that first
#: call arrives, which can be tens of milliseconds later (a connection to open, a row to create).
START_DELAY = 0.1
#: A call may reach Slack up to this long after its token was taken (a busy process; a reserved
#: post built after its turn was taken, :meth:`~reviewbot.slack.post_queue.Lane.call` spends
#: again for one later than this), so calls spent this far apart can arrive together. Each bucket
#: keeps this long's refill out of its burst, so that calls bunched by such a delay still fit in
#: Slack's bucket: half a ``chat.postMessage`` of a channel's four, 2.5 of the workspace's 60.
#: Measured with three busy processes at 100 meetings: without it, bunched posts overran the
#: workspace's bucket of ``chat.postMessage`` (docs/performance.md).
LATENESS = 0.5


def usable_burst(rate: Rate) -> float:
    """The part of *rate*'s burst the bot spends at once (see :data:`LATENESS`)."""
    return max(1.0, rate.burst - rate.per_minute / 60 * LATENESS)


class OverBudget(SlackClientError):
    """The call would have to wait for Slack's budget longer than its caller may."""


class _Bucket:
    """Tokens for one method: refilled at the rate, at most the burst; reservations may borrow
    ahead (the level goes below zero) so that waiting callers are served in turn."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.per_second = rate.per_minute / 60
        self.cost = 1 + MARGIN
        self.burst = usable_burst(rate)
        self.level = self.burst
        self.at = now + START_DELAY
        self.paused_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds until the next call may be made."""
        self.level = min(self.burst, self.level + max(now - self.at, 0.0) * self.per_second)
        borrow = 0.0 if self.level >= 1 else (1 - self.level) / self.per_second + max(self.at - now, 0.0)
        self.at = max(self.at, now)
        return max(borrow, self.paused_until - now, 0.0)


class Budget:
    """Every method's bucket and pause for one workspace; thread-safe."""

    def __init__(
        self,
        rates: dict[str, Rate] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rates = RATES if rates is None else rates
        self.channel_rates = CHANNEL_RATES
        self.monotonic = monotonic
        self.sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def spend(self, method: str, max_wait: float | None = None, channel: str | None = None) -> None:
        """Take one call of *method* (to *channel*: some methods are limited per channel too),
        waiting for it if need be; :class:`OverBudget` when that would be longer than *max_wait*
        seconds (nothing is taken then)."""
        with self._lock:
            now = self.monotonic()
            buckets = [self._bucket(method, now)]
            if channel and method in self.channel_rates:
                buckets.append(self._bucket(channel_key(method, channel), now, self.channel_rates[method]))
            spent = [bucket for bucket in buckets if bucket is not None]
            if not spent:
                return  # no published limit, and Slack has not refused it
            waits = [bucket.wait(now) for bucket in spent]
            wait = max(waits)
            if max_wait is not None and wait > max_wait:
                raise OverBudget(f"{method}: Slack's budget allows the next call in {wait:.1f}s")
            # When the channel makes the call wait, the workspace's token is taken once it can go,
            # not now: a token taken now and used later would bunch with the ones taken meanwhile.
            channel_first = len(spent) > 1 and waits[1] > waits[0]
            for bucket in spent[1:] if channel_first else spent:
                bucket.level -= 1 if bucket.level >= 1 else bucket.cost
        if channel_first:
            self.sleep(wait)
            return self.spend(method, None if max_wait is None else max(max_wait - wait, 0.0))
        while wait > 0:
            self.sleep(wait)
            wait = self.pause_left(method)  # a 429 while this call waited pauses it too

    def pause_left(self, method: str) -> float:
        """Seconds left of the pause Slack asked for *method* (0 when none)."""
        with self._lock:
            bucket = self._buckets.get(method)
            return 0.0 if bucket is None else max(bucket.paused_until - self.monotonic(), 0.0)

    def refused(self, method: str, retry_after: float) -> None:
        """Slack answered 429: no call of *method* until *retry_after* seconds from now."""
        with self._lock:
            now = self.monotonic()
            bucket = self._bucket(method, now, TIER_3)  # a method without a published limit gets the commonest
            assert bucket is not None
            bucket.paused_until = max(bucket.paused_until, now + retry_after)

    def _bucket(self, method: str, now: float, default: Rate | None = None) -> _Bucket | None:
        """The bucket of *method* (made now at its rate, else at *default*; None without either)."""
        bucket = self._buckets.get(method)
        if bucket is None:
            rate = self.rates.get(method, default)
            if rate is None:
                return None
            bucket = self._buckets[method] = _Bucket(rate, now)
        return bucket


def channel_key(method: str, channel: str) -> str:
    """The name of *method*'s bucket for one *channel*."""
    return f"{method} {channel}"


class SharedBudget(Budget):
    """The budget of every process on one PostgreSQL database, for the workspace *workspace*.

    Each spend is one statement on the database (:class:`~reviewbot.store.slack_budget.SharedBuckets`),
    which refills the method's bucket on the database's clock, takes a token (borrowing ahead, so
    callers of every process are served in turn) and says how long to wait; a 429 seen by any
    process pauses the method for all. Until the workspace is known (``auth.test`` at start), or
    for a few seconds after the database failed to answer, the process's own buckets are spent
    instead (:class:`Budget`; they also remember every 429).
    """

    def __init__(
        self,
        buckets: SharedBuckets,
        workspace: str | None = None,
        rates: dict[str, Rate] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rates, monotonic, sleep)
        self.buckets = buckets
        self.workspace = workspace
        self._local_until = 0.0

    def spend(self, method: str, max_wait: float | None = None, channel: str | None = None) -> None:
        """Take one call of *method* from the shared budget (see :meth:`Budget.spend`). A method
        limited per channel spends the workspace's bucket, then the channel's (if the second
        refuses a caller that may not wait, the first's token is lost: only ever too careful)."""
        if not self._shared():
            return super().spend(method, max_wait, channel)
        wanted = [(method, self.rates.get(method))]
        if channel and method in self.channel_rates:
            wanted.insert(0, (channel_key(method, channel), self.channel_rates[method]))
        wait = 0.0
        for name, rate in wanted:
            if wait > 0:  # the channel makes this call wait: take the workspace's token once it can go
                self.sleep(wait)
                max_wait = None if max_wait is None else max(max_wait - wait, 0.0)
            shared = rate or TIER_3  # a method without a published limit is limited only once Slack refused it
            try:
                found = self.buckets.spend(
                    self.workspace or "",
                    name,
                    shared.per_minute / 60,
                    usable_burst(shared),
                    max_wait,
                    create=rate is not None,
                    cost=1 + MARGIN,
                    start_delay=START_DELAY,
                )
            except DatabaseUnavailable as error:
                self._fall_back(error)
                return super().spend(method, max_wait, None if wait > 0 else channel)
            if found is not None and max_wait is not None and found > max_wait:
                raise OverBudget(f"{method}: Slack's budget allows the next call in {found:.1f}s")
            wait = found or 0.0
        while wait > 0:
            self.sleep(wait)
            wait = self.pause_left(method)  # a 429 seen by any process while this call waited

    def pause_left(self, method: str) -> float:
        """Seconds left of the pause any process was asked for *method*."""
        if not self._shared():
            return super().pause_left(method)
        try:
            return self.buckets.pause_left(self.workspace or "", method)
        except DatabaseUnavailable as error:
            self._fall_back(error)
            return super().pause_left(method)

    def refused(self, method: str, retry_after: float) -> None:
        """Pause *method* for every process (and in this one's own buckets)."""
        super().refused(method, retry_after)
        if not self._shared():
            return
        rate = self.rates.get(method) or TIER_3
        try:
            self.buckets.refuse(self.workspace or "", method, usable_burst(rate), retry_after)
        except DatabaseUnavailable as error:
            self._fall_back(error)

    def _shared(self) -> bool:
        return self.workspace is not None and self.monotonic() >= self._local_until

    def _fall_back(self, error: Exception) -> None:
        log.warning("Slack's shared budget is unavailable (%s); spending this process's own for a while", error)
        self._local_until = self.monotonic() + FALLBACK_SECONDS


def budget_for(db: Database) -> Budget:
    """The budget of a bot on *db*: shared through the database on PostgreSQL (close its
    connections with ``budget.buckets.dispose()``), the process's own on SQLite."""
    if db.is_sqlite:
        return Budget()
    return SharedBudget(SharedBuckets(db.url))


class BudgetedWebClient(WebClient):
    """A ``WebClient`` whose every call spends the :class:`Budget` first, and whose 429s pause
    the method for everyone. *max_wait* bounds the wait for the budget (None: as long as it says);
    a 429 asking for at most *retry_within* seconds is waited out and tried once more."""

    def __init__(
        self, *args: Any, budget: Budget, max_wait: float | None = None, retry_within: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.max_wait = max_wait
        self.retry_within = retry_within

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        """Spend the budget of *api_method* (and of its channel), then call it."""
        channel = _channel_of(kwargs)
        self.budget.spend(api_method, self.max_wait, channel)
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            if error.response.status_code != 429:
                raise
            wait = retry_after(error.response.headers)
            wait = 1.0 if wait is None else wait
            self.budget.refused(api_method, wait)
            if wait > self.retry_within:
                raise
        self.budget.spend(api_method, max(self.max_wait or 0.0, self.retry_within), channel)
        return super().api_call(api_method, **kwargs)


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    """The ``channel`` argument of a Web API call, wherever the SDK put it."""
    for where in ("json", "data", "params"):
        arguments = kwargs.get(where)
        if isinstance(arguments, dict) and isinstance(arguments.get("channel"), str):
            return arguments["channel"]
    return None


def retry_after(headers: dict[str, Any] | None) -> float | None:
    """Seconds from a ``Retry-After`` header, if there is one."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None
