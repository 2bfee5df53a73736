"""Slack's Web API budget: one per method for the workspace, spent before Slack has to refuse.

Slack limits each Web API method per app per workspace (tiers of 20, 50 or 100 calls a minute with
bursts, ``chat.postMessage`` about one a second per channel and several hundred a minute in all)
and, past a limit, answers 429 with ``Retry-After``, expecting no call of that method from the
whole workspace until then. Each process holds one :class:`Budget` (its token belongs to one
workspace): a token bucket per method at Slack's published minimums, and a pause per method after
a 429. :class:`BudgetedWebClient` spends it on every call, whoever makes it (the posting queue's
lanes, private replies, look-ups, Bolt's own calls), so no thread calls a method Slack has just
refused, and bursts are spread before Slack has to refuse them.

Calls made before a command is acknowledged must not wait: their client (``max_wait=0``) raises
:class:`OverBudget` instead, and the caller falls back (say, to the name in the payload).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError


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


class OverBudget(SlackClientError):
    """The call would have to wait for Slack's budget longer than its caller may."""


class _Bucket:
    """Tokens for one method: refilled at the rate, at most the burst; reservations may borrow
    ahead (the level goes below zero) so that waiting callers are served in turn."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.per_second = rate.per_minute / 60
        self.burst = rate.burst
        self.level = float(rate.burst)
        self.at = now
        self.paused_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds until the next call may be made."""
        self.level = min(self.burst, self.level + (now - self.at) * self.per_second)
        self.at = now
        borrow = 0.0 if self.level >= 1 else (1 - self.level) / self.per_second
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
        self.monotonic = monotonic
        self.sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def spend(self, method: str, max_wait: float | None = None) -> None:
        """Take one call of *method*, waiting for it if need be; :class:`OverBudget` when that
        would be longer than *max_wait* seconds (nothing is taken then)."""
        with self._lock:
            now = self.monotonic()
            bucket = self._bucket(method, now)
            if bucket is None:
                return  # no published limit, and Slack has not refused it
            wait = bucket.wait(now)
            if max_wait is not None and wait > max_wait:
                raise OverBudget(f"{method}: Slack's budget allows the next call in {wait:.1f}s")
            bucket.level -= 1
        if wait > 0:
            self.sleep(wait)

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
        """Spend the budget of *api_method*, then call it."""
        self.budget.spend(api_method, self.max_wait)
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
        self.budget.spend(api_method, max(self.max_wait or 0.0, self.retry_within))
        return super().api_call(api_method, **kwargs)


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
