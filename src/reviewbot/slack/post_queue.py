"""Posting to Slack off the acknowledgement path: an ordered, paced queue per channel.

Listeners acknowledge Slack first and then *submit* jobs here; each channel has its own queue,
drained in order by a worker thread, so posts to one channel keep their order and a slow or
rate-limited channel never holds up another one. Each channel has an urgent track beside it (the
agenda, the minutes, reminders) with a worker of its own, so those never wait behind a backlog of
note echoes. Every message a job posts through its :class:`Lane` is paced (about one a second per
channel with short bursts, as Slack asks); every call is retried when Slack is rate limiting
(after ``Retry-After``, for as long as Slack asks) or briefly failing (a bounded number of
times); what still fails is logged. Nothing here is needed for a note to be kept: notes are
committed before the acknowledgement.

A job submitted with a *key* is not queued a second time while one with that key is still
waiting to run: jobs that read the current state when they run (echo the notes not yet echoed,
refresh the agenda) do all the work of their waiting twins, so a burst of notes queues one echo,
not one per note. A job may also take its channel's next post before it builds the message
(:meth:`Lane.reserve_post`), so that what it posts is what is current once Slack's budget allows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from contextlib import nullcontext
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from reviewbot.slack.budget import LATENESS, retry_after
from reviewbot.slack.turns import Turns, waiting

log = logging.getLogger(__name__)

#: Slack errors worth trying again: rate limits and Slack's own transient failures.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

Job = Callable[["Lane"], None]
#: ``chat.postMessage`` to one channel: Slack allows about one a second "with short bursts"; a
#: lane spends at most this many at once, then one per ``interval``.
POST_BURST = 4
_PACED = frozenset({"chat_postMessage"})
#: A post that has to wait for the pace goes this many seconds later still (see Lane._pace).
PACE_MARGIN = 0.05
#: The Web API names of the methods a job may reserve a turn for (:meth:`Lane.reserve_post`).
_API_NAMES = {"chat_postMessage": "chat.postMessage"}


class _Track:
    """One of a lane's two queues, with its own worker thread while it has jobs."""

    def __init__(self) -> None:
        self.jobs: deque[tuple[Job, str, Hashable | None]] = deque()
        self.waiting: set[Hashable] = set()  # keys of the queued jobs that have not started
        self.running = False


class Lane:
    """One channel's queues; jobs call the Web API through :meth:`call`.

    A lane has two tracks, each drained in order by a worker of its own: the *urgent* one (the
    agenda, the minutes, the wiki's answer, reminders) and the normal one (section headings and
    note echoes), so that what is urgent never waits behind a backlog of echoes, nor behind the
    echo that is waiting for Slack's budget right now.
    """

    def __init__(self, poster: PostQueue, channel: str) -> None:
        self.poster = poster
        self.channel = channel
        self.tracks = {True: _Track(), False: _Track()}  # by urgency
        self._posts = float(POST_BURST)  # the channel's chat.postMessage tokens (may go below 0)
        self._posts_at: float | None = None
        self._pace_lock = threading.Lock()
        self._turn = threading.local()  # per worker: whether it holds a post already paid for

    def reserve_post(self) -> None:
        """Wait for this channel's next message (its pace and Slack's budget, taken now), and keep
        it for this worker's next ``chat_postMessage``. A job that waits here before it reads what
        to post posts what is current once its turn comes (a note that came during the wait goes
        in the same message), instead of building the message first and waiting with it."""
        budget = getattr(self.poster.client, "budget", None)
        # The post is Slack's from the moment it is taken: the job takes its turn back first, not
        # after the requests being served (see reviewbot.slack.turns).
        with waiting(first=True):
            self._pace()
            if budget is not None:
                budget.spend(_API_NAMES["chat_postMessage"], None, self.channel)
        self._turn.reserved = True
        self._turn.reserved_at = self.poster.monotonic()

    def release_post(self) -> None:
        """Forget a reserved post that was not needed (the job ends)."""
        self._turn.reserved = False

    def call(self, method: str, **kwargs: Any) -> Any:
        """Call a ``WebClient`` method (e.g. ``"chat_postMessage"``), paced and retried.

        A rate limit (429) is waited out and tried again for as long as Slack asks, while the
        queue is open: it is Slack's way of saying "later", not a failure, so a rate-limited post
        is neither dropped nor counted as an attempt. Other retryable failures are tried
        :attr:`PostQueue.attempts` times. Raises the last error when every attempt failed or the
        error is not worth retrying.
        """
        poster = self.poster
        attempt = 1
        while True:
            reserved = method in _API_NAMES and getattr(self._turn, "reserved", False)
            if reserved:
                self._turn.reserved = False  # taken by this call (a retry spends its own)
                # Built so slowly (a busy process) that it would reach Slack bunched with the posts
                # spent after it: it spends a turn of its own, as an unreserved post does.
                reserved = self.poster.monotonic() - self._turn.reserved_at <= LATENESS
            if method in _PACED and not reserved:
                self._pace()
            budget = getattr(poster.client, "budget", None)
            try:
                client = poster.unbudgeted_client() if reserved and budget is not None else poster.client
                with waiting():
                    if reserved and budget is not None:  # Slack refused another call since: wait as it asked
                        while (pause := budget.pause_left(_API_NAMES[method])) > 0:
                            poster.sleep(pause)
                    return getattr(client, method)(**kwargs)
            except SlackApiError as error:
                code = str(error.response.get("error") or "")
                status = getattr(error.response, "status_code", 200)
                limited = status == 429 or code in ("ratelimited", "rate_limited")
                if limited and reserved and budget is not None:  # as the budgeted client would: pause it for all
                    budget.refused(_API_NAMES[method], retry_after(error.response.headers) or 1.0)
                if limited and not poster.closed:
                    delay = retry_after(error.response.headers) or 1.0
                    attempt -= 1  # not an attempt: Slack said when
                elif attempt >= poster.attempts or not (status >= 500 or code in RETRYABLE_ERRORS):
                    raise
                else:
                    delay = retry_after(error.response.headers) or poster.backoff * 2 ** (attempt - 1)
                reason = code or f"HTTP {status}"
            except (SlackClientError, OSError) as error:
                if attempt >= poster.attempts:
                    raise
                delay = poster.backoff * 2 ** (attempt - 1)
                reason = type(error).__name__
            log.info("%s in %s failed (%s); trying again in %.1fs", method, self.channel, reason, delay)
            with waiting():
                poster.sleep(delay)
            attempt += 1

    def _pace(self) -> None:
        """Wait until this channel may take the next message: a token bucket of
        :data:`POST_BURST` refilled one per ``interval``, shared by the lane's two tracks."""
        interval = self.poster.interval
        if interval <= 0:
            return
        with self._pace_lock:
            now = self.poster.monotonic()
            if self._posts_at is not None:
                self._posts = min(float(POST_BURST), self._posts + (now - self._posts_at) / interval)
            self._posts_at = now
            # A post that has to wait goes a little later than the pace: the time it takes to reach
            # Slack varies, and one that arrives early is refused (pausing every post for a second).
            wait = 0.0 if self._posts >= 1 else (1 - self._posts) * interval + PACE_MARGIN
            self._posts -= 1
        if wait > 0:
            with waiting():
                self.poster.sleep(wait)


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
        turns: Turns | None = None,
    ) -> None:
        self.client = client
        self.turns = turns  # the jobs run in turns (see reviewbot.slack.turns); None: whenever ready
        self.interval = interval
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.monotonic = monotonic
        self._lanes: dict[str, Lane] = {}
        self._pending = 0
        self._delayed: set[tuple[str, bool, Hashable]] = set()  # keys of the jobs waiting for a delay
        self._closed = False
        self._unbudgeted: WebClient | None = None
        self._changed = threading.Condition()

    def unbudgeted_client(self) -> WebClient:
        """A client like :attr:`client` that does not spend Slack's budget, for a call whose turn
        was taken already (:meth:`Lane.reserve_post`)."""
        if self._unbudgeted is None:
            client = self.client
            plain = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout)
            plain.retry_handlers = list(client.retry_handlers)
            self._unbudgeted = plain
        return self._unbudgeted

    @property
    def closed(self) -> bool:
        """Whether the queue has stopped taking jobs (shutting down)."""
        return self._closed

    def submit(
        self,
        channel: str,
        job: Job,
        what: str,
        key: Hashable | None = None,
        *,
        urgent: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Queue *job* for *channel*; returns at once. *what* names it in logs; with a *key*, it
        is dropped if a job of that key is already waiting (see the module description). An
        *urgent* job goes on the channel's urgent track, which never waits behind the other.
        With a *delay*, the job is queued that many seconds from now (it counts as pending
        meanwhile: :meth:`wait_idle` waits for it); with a *key* too, it is dropped if one of that
        key is already waiting for its time."""
        if delay > 0:
            with self._changed:
                if self._closed:
                    log.warning("not posting %s in %s: shutting down", what, channel)
                    return
                if key is not None:
                    if (channel, urgent, key) in self._delayed:
                        return
                    self._delayed.add((channel, urgent, key))
                self._pending += 1
            timer = threading.Timer(delay, self._submit_later, (channel, job, what, key, urgent))
            timer.daemon = True
            timer.start()
            return
        worker: threading.Thread | None = None
        with self._changed:
            if self._closed:
                log.warning("not posting %s in %s: shutting down", what, channel)
                return
            lane = self._lanes.get(channel)
            if lane is None:
                lane = self._lanes[channel] = Lane(self, channel)
            track = lane.tracks[urgent]
            if key is not None:
                if key in track.waiting:
                    return
                track.waiting.add(key)
            track.jobs.append((job, what, key))
            self._pending += 1
            if not track.running:
                track.running = True
                name = f"post-{channel}{'-urgent' if urgent else ''}"
                worker = threading.Thread(target=self._drain, args=(lane, track), name=name, daemon=True)
        if worker is not None:
            # Started outside the lock: starting a thread waits for it to run, which under load
            # (hundreds of threads for the GIL) held every other submit, i.e. acknowledgements, up.
            worker.start()

    def _submit_later(self, channel: str, job: Job, what: str, key: Hashable | None, urgent: bool) -> None:
        """Queue a job submitted with a delay, now that it is over."""
        with self._changed:
            self._delayed.discard((channel, urgent, key))
        try:
            self.submit(channel, job, what, key, urgent=urgent)
        finally:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()

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

    def _drain(self, lane: Lane, track: _Track) -> None:
        while True:
            with self._changed:
                if not track.jobs:
                    track.running = False
                    return
                job, what, key = track.jobs.popleft()
                track.waiting.discard(key)
            try:
                with self.turns.turn() if self.turns is not None else nullcontext():
                    job(lane)
            except SlackApiError as error:
                log.warning("could not %s in %s: %s", what, lane.channel, error.response.get("error"))
            except Exception:
                log.exception("could not %s in %s", what, lane.channel)
            finally:
                lane.release_post()
                with self._changed:
                    self._pending -= 1
                    self._changed.notify_all()
