"""Where the echoes posted through a ``response_url`` are: learnt from Slack's ``message`` events.

Slack's answer to a ``response_url`` post does not say the message's ``ts``, which a later edit of
the note needs (``chat.update``); the ``message`` event Slack sends the app for each message it
posts does. :class:`EchoTimestamps` takes what those events say and writes it in batches, about
once a second, with one read and at most one write a batch: a write per echo cost the one SQLite
writer so much that acknowledgements waited (at 50 meetings, note p99 0.1 -> 2.5 s, in the
benchmark). An event may come before its echo was recorded (the echo job records it just after
posting): it is kept for a few batches and tried again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from reviewbot.slack.messages import MessageStore
from reviewbot.store.database import DatabaseUnavailable

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0  # how often what the events said is written
PATIENCE = 10  # batches an event waits for its echo to be recorded before it is dropped


class EchoTimestamps:
    """Collects ``(channel, note ids, ts)`` from message events and writes them in batches."""

    def __init__(self, store: MessageStore, interval: float = FLUSH_SECONDS) -> None:
        self.store = store
        self.interval = interval
        self._waiting: list[tuple[str, Sequence[int], str, int]] = []  # ..., batches tried
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def learn(self, channel: str, note_ids: Sequence[int], ts: str) -> None:
        """Note that the message *ts* in *channel* echoes *note_ids* (written with the next batch)."""
        with self._lock:
            self._waiting.append((channel, list(note_ids), ts, 0))
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="echo-timestamps", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Write what waits now; keep what is not settled yet for the next batches."""
        with self._lock:
            batch, self._waiting = self._waiting, []
        if not batch:
            return
        try:
            settled = self.store.learn_ts([(channel, ids, ts) for channel, ids, ts, _ in batch])
        except DatabaseUnavailable as error:
            log.info("echo timestamps not written yet: %s", error)
            settled = [False] * len(batch)
        again = [(c, ids, ts, tries + 1) for (c, ids, ts, tries), done in zip(batch, settled, strict=True) if not done]
        dropped = sum(1 for *_, tries in again if tries >= PATIENCE)
        if dropped:
            log.warning("%d echo timestamps dropped: their echoes were never recorded", dropped)
        with self._lock:
            self._waiting[:0] = [item for item in again if item[3] < PATIENCE]

    def close(self) -> None:
        """Stop the batches, writing what waits."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # never let the thread die: the next batch tries again
                log.exception("writing echo timestamps failed")
