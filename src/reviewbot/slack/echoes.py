"""Note echoes: each note taken by command shown in its section's thread, with its author.

A section's thread starts with a message that shows its heading (posted when the meeting moves
there, or with the section's first notes when they wait for the same post); each note is echoed
into it with an Edit/Delete menu, a burst of notes in one message (as many as one message holds):
through the ``response_url`` of the ``/note`` that took it once the thread has started (at once,
and spending none of ``chat.postMessage``'s budget), else with ``chat.postMessage`` in the
channel's turn. Edits and deletions show the message again. Notes typed as messages in the channel are their own
echo. :class:`Echoes` does this work for the live view (:mod:`reviewbot.slack.live`), which
schedules it on the channel's lane and, with several processes, under the meeting's lease.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from reviewbot.core.meetings import Meetings, MeetingView, NoteView, SectionView
from reviewbot.slack import blocks, messages, turns
from reviewbot.slack.agenda_updates import RESPONSE_URL_SECONDS
from reviewbot.slack.echo_timestamps import EchoTimestamps
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.post_queue import Lane
from reviewbot.store.database import DatabaseUnavailable

log = logging.getLogger(__name__)

ECHO_TURN = 10  # messages an echo job posts before it lets other jobs of its track go first
ECHO_PAGE = 25  # notes an echo job reads at a time: as many as one message can carry (50 blocks)
ECHO_WORKERS = 2  # echo jobs reading or recording at once (one process, SQLite)
MAX_THREADS = 10_000  # threads' ts kept before the memory is cleared
MAX_REPLY_URLS = 10_000  # response_urls kept before the stale ones are looked for
RESPOND_TIMEOUT = 5  # seconds to wait for Slack's answer to a response_url POST
#: Seconds between the tries to record an echo just posted, when the database does not take it
#: (a busy database, a full connection pool): what another process cannot see it may post again.
RECORD_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)
#: Slack errors that refuse one message as it is, not the channel or the token: an echo refused
#: with one is posted as plain text, and if that is refused too it is skipped, never retried.
REFUSED_MESSAGE_ERRORS = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long", "no_text"}
)


class Echoed(Enum):
    """How an echo job ended."""

    DONE = "done"  # nothing waits any more
    TURN_OVER = "turn over"  # it posted its share (ECHO_TURN): queue the next one
    LEASE_LOST = "lease lost"  # it may no longer post: try again later


class Updated(Enum):
    """What showing a note's change in its echo came to."""

    DONE = "done"  # the echo shows it
    NO_ECHO = "no echo"  # the note has no echo yet
    NOT_YET = "not yet"  # its echo's ts is not known yet (posted through a response_url)


class Echoes:
    """Echoes the notes of meetings into their sections' threads (see the module description).
    *shared*: other processes echo too (they take turns through leases), so where a meeting's
    echoes stand is read again at every job."""

    def __init__(self, meetings: Meetings, store: MessageStore, shared: bool = False) -> None:
        self.meetings = meetings
        self.store = store
        self.timestamps = EchoTimestamps(store)  # of echoes posted through a response_url
        self.shared = shared
        self._echoed_through: dict[int, int] = {}  # meeting id: the last note number seen echoed
        # Echoes posted whose record the database could not take (it was unreachable): recorded
        # by the meeting's next echo job, and meanwhile never posted again (see _echoed_through).
        self._unrecorded: dict[int, list[tuple[list[int], str, str, int | None]]] = {}
        self._unrecorded_lock = threading.Lock()
        self._lock = threading.Lock()  # guards the two memories below
        self._reply_urls: dict[int, tuple[str, float]] = {}  # note id: its /note's response_url, when
        self._threads: dict[tuple[int, int], str] = {}  # (meeting, section or 0): its thread's ts
        # Echo jobs reading and recording at once, on SQLite: a few, so that at a burst (fifty
        # meetings moving on together) they do not crowd out the acknowledgements' reads and its one
        # writer. Not with several processes (PostgreSQL): a job waiting here holds its meeting's
        # lease, which the other processes' jobs then find held.
        self._busy: contextlib.AbstractContextManager[object] = (
            contextlib.nullcontext() if shared else threading.BoundedSemaphore(ECHO_WORKERS)
        )

    def _thread_of(self, meeting_id: int, section: SectionView | None) -> str | None:
        """The ``ts`` of the thread for *section*'s notes: the message that shows its heading
        (None if there is none yet: the next echo starts it); the agenda message for notes outside
        any section."""
        kind, ref = (messages.AGENDA, 0) if section is None else (messages.SECTION, section.id)
        known = self._threads.get((meeting_id, ref))
        if known is not None:
            return known
        posted = self.store.get(meeting_id, kind, ref)
        if posted is None:
            return None
        with self._lock:
            if len(self._threads) > MAX_THREADS:
                self._threads.clear()
            self._threads[(meeting_id, ref)] = posted.ts  # a thread, once started, stays where it is
        return posted.ts

    def _heading_due(self, meeting_id: int) -> SectionView | None:
        """The running meeting's current section, if nothing shows its heading yet."""
        current = self.meetings.running_section(meeting_id)
        if current is None:
            return None
        return None if self.store.get(meeting_id, messages.SECTION, current.id) else current

    def echo(
        self, lane: Lane, meeting_id: int, announce: bool = False, held: Callable[[], bool] = lambda: True
    ) -> Echoed:
        """Echo the notes of the meeting not echoed yet, in order: consecutive notes of one
        section in one message (as many as fit, :func:`blocks.echo_fits`), a few messages a job.
        A section's first echo shows its heading too and starts its thread; *announce* (a move)
        also shows the current section's heading when no note of it waits by the job's turn.

        Headings go with notes when Slack's budget is short: a move waits for the channel's next
        post like an echo, and the notes taken meanwhile go in the heading's message. At the top
        of the hour (100 meetings), separate headings took 600 of the 900 posts three minutes
        allow the whole workspace.

        The notes are read a page (:data:`ECHO_PAGE`) at a time from after the last one echoed: a
        job never rereads the whole meeting, which once a meeting had thousands of notes held up
        every command for tens of milliseconds. Each message waits for its turn (the channel's
        pace, Slack's budget) before the notes it carries are read again, so that a note that
        came during the wait goes in it. After :data:`ECHO_TURN` messages the job ends and
        leaves the rest to the next echo job (:attr:`Echoed.TURN_OVER`: the caller queues it), so
        that other jobs of the channel's track (a heading, an edit) wait for at most that many.
        *held* says whether the job may still post (its lease: :attr:`Echoed.LEASE_LOST` if not).
        """
        self._record_unrecorded(meeting_id)
        view: MeetingView | None = None  # read when a message needs the sections (not for a response_url)
        if meeting_id not in self._echoed_through or self.shared:
            # Another process may have echoed since this one last did.
            self._echoed_through[meeting_id] = self._last_echoed_seq(meeting_id)
        posts = 0
        reserved = False
        while True:
            with self._busy:
                waiting, last_page = self._waiting_echoes(meeting_id)
                heading = None if waiting or not announce else self._heading_due(meeting_id)
            if waiting and not held():
                return Echoed.LEASE_LOST
            sent = self._respond(meeting_id, waiting, lane.channel) if waiting else 0
            if not waiting and heading is None:
                return Echoed.DONE
            if sent:
                posts += 1  # through a /note's response_url: no post of Slack's budget spent
                if sent == len(waiting) and last_page and not announce:
                    # Nothing else waited: a note committed since has queued an echo job of its own.
                    return Echoed.DONE
                continue
            if not reserved:
                if posts == ECHO_TURN:
                    return Echoed.TURN_OVER
                # Wait for the channel's turn first, then post what waits by then: when Slack's
                # budget is short (many meetings), a message carries every note that came meanwhile.
                lane.reserve_post()
                reserved = True
                if not held():
                    return Echoed.LEASE_LOST
                continue
            if not waiting:
                assert heading is not None
                self._post_heading(lane, meeting_id, heading)
            else:
                first = waiting[0]
                view = view or self.meetings.view_by_id(meeting_id)
                sections = {s.id: s for s in view.sections}
                if first.section is not None and first.section.id not in sections:
                    view = self.meetings.view_by_id(meeting_id)  # a section added since
                    sections = {s.id: s for s in view.sections}
                section = sections.get(first.section.id) if first.section else None
                thread = self._thread_of(meeting_id, section)
                starts = section if thread is None and section is not None else None
                batch = _batches(waiting, blocks.heading_size(starts) if starts else (0, 0))[0]
                self._post_echo(lane, meeting_id, batch, thread, starts)
                self._echoed_through[meeting_id] = batch[-1].seq
            posts += 1
            reserved = False

    def offer(self, note_id: int, response_url: str) -> None:
        """Remember the ``response_url`` of the ``/note`` command that took a note: its echo may
        go through it (:meth:`_respond`)."""
        now = time.monotonic()
        with self._lock:
            if len(self._reply_urls) > MAX_REPLY_URLS:  # notes echoed some other way, or long ago
                for stale in [n for n, (_, issued) in self._reply_urls.items() if now - issued > RESPONSE_URL_SECONDS]:
                    del self._reply_urls[stale]
            self._reply_urls[note_id] = (response_url, now)

    def _take_url(self, notes: list[NoteView]) -> str | None:
        """A fresh ``response_url`` of one of *notes* (the newest), forgetting theirs."""
        now = time.monotonic()
        with self._lock:
            offered = [self._reply_urls.pop(note.id, None) for note in notes]
        fresh = [url for url, issued in filter(None, offered) if now - issued < RESPONSE_URL_SECONDS]
        return fresh[-1] if fresh else None

    def _respond(self, meeting_id: int, waiting: list[NoteView], channel: str) -> int:
        """Echo the first of the *waiting* notes (those of one thread, as many as one message
        holds) through the ``response_url`` of a ``/note`` that took one of them, when their
        section's thread has started; how many it echoed (none: they go with ``chat.postMessage``).

        A command's ``response_url`` posts in its channel without spending ``chat.postMessage``
        (about one a second per channel and 300 a minute for the whole workspace, which the
        notes of fifty meetings exceed), and at once: no wait for the channel's turn. Its answer
        does not say the message's ``ts``: the echo is recorded without one (as a posted echo is,
        under the meeting's lease or on its channel's lane, so no other job posts it again), to be
        filled in from the ``message`` event Slack sends for it (:mod:`.echo_timestamps`)."""
        with self._busy:
            thread = self._thread_of(meeting_id, waiting[0].section)
        if thread is None:
            return 0
        batch = _batches(waiting)[0]
        url = self._take_url(batch)
        if url is None:
            return 0
        text, echo = blocks.note_echoes(batch)
        body = {"response_type": "in_channel", "replace_original": False, "thread_ts": thread}
        body.update(text=text, blocks=echo)
        try:
            with turns.waiting():
                response = WebhookClient(url, timeout=RESPOND_TIMEOUT).send_dict(body)
        except OSError as error:
            log.info("echo through a response_url failed: %s", type(error).__name__)
            return 0
        if response.status_code != 200:
            log.info("echo through a response_url refused: HTTP %s %.80s", response.status_code, response.body)
            return 0
        with self._busy:
            self._record(meeting_id, [note.id for note in batch], channel, messages.PENDING_TS, None)
        self._echoed_through[meeting_id] = batch[-1].seq
        return len(batch)

    def _post_heading(self, lane: Lane, meeting_id: int, section: SectionView) -> None:
        """Post *section*'s heading on its own (no note of it waits): the start of its thread."""
        text, heading = blocks.section_heading(section)
        response = lane.call("chat_postMessage", channel=lane.channel, text=text, blocks=heading)
        self.store.put(meeting_id, messages.SECTION, section.id, lane.channel, str(response["ts"]))

    def _waiting_echoes(self, meeting_id: int) -> tuple[list[NoteView], bool]:
        """The next page of notes that wait for their echo (advancing past those that need none:
        already echoed, or typed as a message in the channel, which is its own echo), and
        whether it was the last page of the meeting's notes."""
        while page := self.meetings.notes_of(
            meeting_id, include_deleted=False, after_seq=self._echoed_through[meeting_id], limit=ECHO_PAGE
        ):
            echoed = self.store.of_meeting(meeting_id, messages.NOTE, [note.id for note in page])
            waiting = [note for note in page if note.id not in echoed and not note.from_message]
            if waiting:
                return waiting, len(page) < ECHO_PAGE
            # Notes are numbered as they are committed, so none can appear below this page.
            self._echoed_through[meeting_id] = page[-1].seq
        return [], True

    def _post_echo(
        self,
        lane: Lane,
        meeting_id: int,
        notes: list[NoteView],
        thread: str | None,
        starts: SectionView | None = None,
    ) -> None:
        """Post one message echoing *notes* into *thread* (or, when it *starts* a section's
        thread, at the top of the channel with the section's heading), and remember it for each
        of them. If Slack refuses the message as it is, each note is echoed on its own (so one
        note that Slack refuses does not take the others with it)."""
        response = self._send_echo(lane, notes, "chat_postMessage", starts, channel=lane.channel, thread_ts=thread)
        if response is None and len(notes) > 1:
            for note in notes:
                self._post_echo(lane, meeting_id, [note], thread, starts)
                if starts is not None and (thread := self._thread_of(meeting_id, starts)) is not None:
                    starts = None  # the first note's message started the thread
            return
        if response is not None:  # None: Slack refuses this echo, which must not hold up the next
            ids = [note.id for note in notes]
            section_id = starts.id if starts is not None else None
            self._record(meeting_id, ids, lane.channel, str(response["ts"]), section_id)

    def _record(self, meeting_id: int, ids: list[int], channel: str, ts: str, section_id: int | None) -> None:
        """Remember the echo just posted (its *ts*, or :data:`messages.PENDING_TS`), trying again
        for a few seconds if the database does not take it; if it still cannot, keep it to record
        with the meeting's next echo job (in this process's memory, which other processes cannot
        see: hence the tries)."""
        for delay in (*RECORD_RETRY_DELAYS, None):
            try:
                self.store.put_many(meeting_id, messages.NOTE, ids, channel, ts, section_id)
                return
            except DatabaseUnavailable:
                if delay is None:
                    break
                with turns.waiting():
                    time.sleep(delay)
        log.warning("echo of %d notes of #%s posted, not yet recorded: database unavailable", len(ids), meeting_id)
        with self._unrecorded_lock:
            self._unrecorded.setdefault(meeting_id, []).append((ids, channel, ts, section_id))

    def _record_unrecorded(self, meeting_id: int) -> None:
        """Record the echoes of the meeting that were posted while the database was unreachable
        (raises :class:`DatabaseUnavailable`, keeping them, if it still is)."""
        with self._unrecorded_lock:
            waiting = self._unrecorded.pop(meeting_id, [])
        while waiting:
            ids, channel, ts, section_id = waiting[0]
            try:
                self.store.put_many(meeting_id, messages.NOTE, ids, channel, ts, section_id)
            except DatabaseUnavailable:
                with self._unrecorded_lock:
                    self._unrecorded.setdefault(meeting_id, [])[:0] = waiting
                raise
            waiting.pop(0)

    def _send_echo(
        self, lane: Lane, notes: list[NoteView], method: str, heading: SectionView | None = None, **where: str | None
    ) -> Any:
        """Post or update (*method*) an echo of *notes* (under the section's *heading*, when the
        message shows it); Slack's answer, or None if it refuses that message.

        An echo whose blocks Slack refuses (:data:`REFUSED_MESSAGE_ERRORS`) goes out as plain
        text, without the Edit/Delete menu; one refused even so is left out, with a warning (the
        notes themselves are stored and in the minutes either way). Any other error (the channel,
        the token, Slack being down) is raised, to be tried again later; a rate limit is waited
        out by the lane, however long Slack asks.
        """
        text, echo = blocks.note_echoes(notes, heading)
        numbers = ", ".join(f"#{note.seq}" for note in notes)
        for attempt in ({"text": text, "blocks": echo}, {"text": text}):
            try:
                return lane.call(method, **where, **attempt)
            except SlackApiError as error:
                reason = error.response.get("error")
                if reason not in REFUSED_MESSAGE_ERRORS:
                    raise
                log.warning("Slack refused the echo of note %s in %s (%s)", numbers, lane.channel, reason)
        log.warning("left out the echo of note %s in %s: Slack refuses it", numbers, lane.channel)
        return None

    def forget_positions(self) -> None:
        """Forget where each meeting's echoes stand (as a restart does): read again when needed."""
        self._echoed_through.clear()

    def _last_echoed_seq(self, meeting_id: int) -> int:
        """The number of the last note echoed in the meeting (0 if none), for a process that has
        not echoed there yet (after a restart, say). Notes are echoed in order, and note ids grow
        with note numbers within a meeting, so the highest echoed id is the last echoed note."""
        return self.store.last_note_seq(meeting_id)

    def update(self, lane: Lane, meeting_id: int, note_id: int) -> Updated:
        """Show a note's new text (or its deletion) in its echo: the message that echoes it is
        shown again, with every note it carries. :attr:`Updated.NO_ECHO` if the note has no echo
        yet (the next echo shows it as it is now); :attr:`Updated.NOT_YET` if its echo went
        through a ``response_url`` and its ``ts`` is not known yet (try again shortly)."""
        posted = self.store.get(meeting_id, messages.NOTE, note_id)
        if posted is None:
            return Updated.NO_ECHO
        if posted.ts == messages.PENDING_TS:
            return Updated.NOT_YET
        ids = self.store.refs_at(meeting_id, messages.NOTE, posted.channel, posted.ts) or [note_id]
        notes = [note for ref in ids if (note := self.meetings.note_of(meeting_id, ref)) is not None]
        starts = self.store.refs_at(meeting_id, messages.SECTION, posted.channel, posted.ts)
        heading = None
        if starts:  # the message starts its section's thread: its heading stays
            heading = next((s for s in self.meetings.view_by_id(meeting_id).sections if s.id == starts[0]), None)
        if notes:
            self._send_echo(lane, notes, "chat_update", heading, channel=posted.channel, ts=posted.ts)
        return Updated.DONE


def _batches(notes: list[NoteView], first: tuple[int, int] = (0, 0)) -> list[list[NoteView]]:
    """*notes* (in order) cut into the messages that echo them: consecutive notes of one section,
    as many as fit in one message (the first one holding *first* already: a heading)."""
    batches: list[list[NoteView]] = []
    size = first
    for note in notes:
        more = blocks.echo_size(note)
        last = batches[-1] if batches else None
        same_thread = last is not None and _section_id(last[0]) == _section_id(note)
        if last is None and blocks.echo_fits(size, more):
            batches.append([note])
            size = (size[0] + more[0], size[1] + more[1])
        elif last is not None and same_thread and blocks.echo_fits(size, more):
            last.append(note)
            size = (size[0] + more[0], size[1] + more[1])
        else:
            batches.append([note])
            size = more
    return batches


def _section_id(note: NoteView) -> int | None:
    return note.section.id if note.section else None
