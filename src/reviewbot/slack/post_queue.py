"""Posting to Slack off the acknowledgement path: an ordered, paced queue per channel.

Listeners acknowledge Slack first and then *submit* jobs here; each channel has its own queue,
drained in order by a worker thread, so posts to one channel keep their order and a slow or
rate-limited channel never holds up another one. Every Web API call a job makes through its
:class:`Lane` is paced (about one message per second per channel, as Slack asks) and retried
when Slack is rate limiting (honouring ``Retry-After``) or briefly failing, a bounded number of
times; what still fails is logged. Nothing here is needed for a note to be kept: notes are
committed before the acknowledgement.

A job submitted with a *key* is not queued a second time while one with that key is still
waiting to run: jobs that read the current state when they run (echo the notes not yet echoed,
refresh the agenda) do all the work of their waiting twins, so a burst of notes queues one echo,
not one per note.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from reviewbot.slack.budget import retry_after

log = logging.getLogger(__name__)

#: Slack errors worth trying again: rate limits and Slack's own transient failures.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

Job = Callable[["Lane"], None]


class Lane:
    """One channel's queue; jobs call the Web API through :meth:`call`."""

    def __init__(self, poster: PostQueue, channel: str) -> None:
        self.poster = poster
        self.channel = channel
        self.jobs: deque[tuple[Job, str, Hashable | None]] = deque()
        self.waiting: set[Hashable] = set()  # keys of the queued jobs that have not started
        self.running = False
        self._next_at = 0.0

    def call(self, method: str, **kwargs: Any) -> Any:
        """Call a ``WebClient`` method (e.g. ``"chat_postMessage"``), paced and retried.

        Raises the last error when every attempt failed or the error is not worth retrying.
        """
        poster = self.poster
        for attempt in range(1, poster.attempts + 1):
            self._pace()
            try:
                return getattr(poster.client, method)(**kwargs)
            except SlackApiError as error:
                code = str(error.response.get("error") or "")
                status = getattr(error.response, "status_code", 200)
                if attempt == poster.attempts or not (status == 429 or status >= 500 or code in RETRYABLE_ERRORS):
                    raise
                delay = retry_after(error.response.headers) or poster.backoff * 2 ** (attempt - 1)
                reason = code or f"HTTP {status}"
            except (SlackClientError, OSError) as error:
                if attempt == poster.attempts:
                    raise
                delay = poster.backoff * 2 ** (attempt - 1)
                reason = type(error).__name__
            log.info("%s in %s failed (%s); trying again in %.1fs", method, self.channel, reason, delay)
            poster.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _pace(self) -> None:
        """Wait until this channel may take the next message."""
        now = self.poster.monotonic()
        if now < self._next_at:
            self.poster.sleep(self._next_at - now)
            now = self.poster.monotonic()
        self._next_at = now + self.poster.interval


class PostQueue:
    """Per-channel ordered queues with a worker thread each; see the module description."""

    def __init__(
        self,
        client: WebClient,
        interval: float = 1.0,
        attempts: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.interval = interval
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.monotonic = monotonic
        self._lanes: dict[str, Lane] = {}
        self._pending = 0
        self._closed = False
        self._changed = threading.Condition()

    def submit(self, channel: str, job: Job, what: str, key: Hashable | None = None) -> None:
        """Queue *job* for *channel*; returns at once. *what* names it in logs; with a *key*, it
        is dropped if a job of that key is already waiting (see the module description)."""
        with self._changed:
            if self._closed:
                log.warning("not posting %s in %s: shutting down", what, channel)
                return
            lane = self._lanes.get(channel)
            if lane is None:
                lane = self._lanes[channel] = Lane(self, channel)
            if key is not None:
                if key in lane.waiting:
                    return
                lane.waiting.add(key)
            lane.jobs.append((job, what, key))
            self._pending += 1
            if not lane.running:
                lane.running = True
                worker = threading.Thread(target=self._drain, args=(lane,), name=f"post-{channel}", daemon=True)
                worker.start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued job has run; False if *timeout* seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Take no more jobs and give the queued ones *timeout* seconds to finish."""
        with self._changed:
            self._closed = True
        if not self.wait_idle(timeout):
            log.warning("shutting down with %d Slack posts still queued", self._pending)

    def _drain(self, lane: Lane) -> None:
        while True:
            with self._changed:
                if not lane.jobs:
                    lane.running = False
                    return
                job, what, key = lane.jobs.popleft()
                lane.waiting.discard(key)
            try:
                job(lane)
            except SlackApiError as error:
                log.warning("could not %s in %s: %s", what, lane.channel, error.response.get("error"))
            except Exception:
                log.exception("could not %s in %s", what, lane.channel)
            finally:
                with self._changed:
                    self._pending -= 1
                    self._changed.notify_all()
