"""The channel's live view of a meeting, kept in step with the core after every change.

A started meeting gets one agenda message, updated in place at every move and agenda or
attendance change (one update for all the changes queued before it runs; through a button
click's ``response_url`` when one is usable, else ``chat.update``: see
:mod:`reviewbot.slack.agenda_updates`); each section gets a heading message whose thread holds
the notes taken in it, each echoed with its author (a burst of notes in one message, each with
its own Edit/Delete menu); edits and deletions update the echo; at the end the minutes are
uploaded (and published to the wiki, when set up). All of it is posted through the
:class:`PostQueue`, after Slack was acknowledged: the agenda, the minutes and the wiki's answer
on the channel's urgent track, never behind echoes. Jobs read the meeting's state when they run,
so a late or retried job shows what is current, and a note whose echo failed is echoed with the
next one; an echo Slack refuses as it is goes out as plain text, or is left out, and never holds
up the next.

Several bot processes may serve one meeting (requests spread over them, one PostgreSQL database):
each queues its own jobs, but a meeting's echo jobs (with its section headings and echo updates)
run in one process at a time, and so do its agenda updates: a job takes the meeting's lease on
its kind (:mod:`reviewbot.store.live_leases`) before it reads anything, and lets it go when done.
An echo job that takes it reads where the echoes stand from ``slack_messages`` (another process
may have echoed since), so no note is echoed twice; an agenda update reads the state and sends it
under the lease, so the newest state read is the last one sent. A job that finds the lease held
by another process posts nothing: its finding marks the lease wanted, and the holder, letting it
go, sees the mark and runs the lease's job (echo, or update the agenda) once more, which reads
what changed since (a note committed after the holder last looked is never left waiting). The job
that found the lease held is tried again only much later (:data:`LEASE_WAIT`), in case the holder
died: its lease expires (a living holder renews it, however long it waits for Slack). An edit's
update, which the holder's echo job does not do, is tried again :data:`LEASE_RETRY` seconds later.
No transaction is held open while Slack is called. On SQLite (one process) there are no leases:
the channel's queue already runs them in turn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from reviewbot.core.context import Caller, Clock
from reviewbot.core.followups import publish_report
from reviewbot.core.meetings import Meetings, MeetingView, NoteView, SectionView
from reviewbot.core.publishing import Publisher
from reviewbot.core.replies import Event, Reply
from reviewbot.slack import blocks, messages
from reviewbot.slack import text as slack_text
from reviewbot.slack.agenda_updates import AgendaUpdates, Click
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.post_queue import Lane, PostQueue
from reviewbot.store.database import DatabaseUnavailable
from reviewbot.store.live_leases import LEASE_SECONDS, LiveLeases
from reviewbot.store.schema import MeetingStatus

log = logging.getLogger(__name__)

Notify = Callable[[str], None]
ECHO_TURN = 10  # messages an echo job posts before it lets other jobs of its track go first
ECHO_PAGE = 25  # notes an echo job reads at a time: as many as one message can carry (50 blocks)
#: Slack errors that refuse one message as it is, not the channel or the token: an echo refused
#: with one is posted as plain text, and if that is refused too it is skipped, never retried.
REFUSED_MESSAGE_ERRORS = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long", "no_text"}
)
#: Seconds after which a job that found its meeting's lease held by another process tries again,
#: when the holder's next run does not do its work (an edit's update)...
LEASE_RETRY = 1.0
#: ...and when it does (echoes, the agenda): only in case the holder died (its lease expired).
LEASE_WAIT = LEASE_SECONDS
ECHO_LEASE = "echo"  # the note echoes, section headings and echo updates of a meeting
AGENDA_LEASE = "agenda"  # the meeting's live agenda message
_AGENDA_EVENTS = frozenset({Event.AGENDA_CHANGED, Event.ATTENDANCE_CHANGED, Event.CHAIR_ADDED})
_SHOWN_IN_AGENDA = _AGENDA_EVENTS | {Event.SECTION_CHANGED, Event.MEETING_ENDED}


class LiveMeeting:
    """Turns the core's replies into posts and updates in the meeting's channel."""

    def __init__(
        self,
        meetings: Meetings,
        poster: PostQueue,
        store: MessageStore,
        clock: Clock,
        publisher: Publisher | None = None,
        agenda_updates: AgendaUpdates | None = None,
        leases: LiveLeases | None = None,
    ) -> None:
        self.meetings = meetings
        self.poster = poster
        self.store = store
        self.clock = clock
        self.publisher = publisher
        self.agenda_updates = agenda_updates or AgendaUpdates()
        self.leases = leases  # None: this process is the only one (SQLite)
        self._echoed_through: dict[int, int] = {}  # meeting id: the last note number seen echoed
        # Echoes posted whose record the database could not take (it was unreachable): recorded
        # by the meeting's next echo job, and meanwhile never posted again (see _echoed_through).
        self._unrecorded: dict[int, list[tuple[list[int], str, str, int | None]]] = {}
        self._unrecorded_lock = threading.Lock()

    def react(self, reply: Reply, caller: Caller, notify: Notify | None = None, click: Click | None = None) -> None:
        """Schedule what *reply* (to *caller*) changes in the channel; returns at once. *notify*
        tells the caller, privately, when something could not be posted (e.g. the minutes). A
        button's *click* lends its ``response_url`` to the agenda updates (see
        :mod:`reviewbot.slack.agenda_updates`)."""
        channel = caller.channel_id
        meeting_id = reply.meeting_id
        if meeting_id is not None:
            if click is not None and reply.event in _SHOWN_IN_AGENDA:
                self.agenda_updates.offer(meeting_id, click)
            self._schedule(reply.event, meeting_id, channel, reply)
        if reply.has_minutes:
            self.poster.submit(
                channel,
                lambda lane: self._upload(lane, reply, notify),
                f"upload the minutes of #{meeting_id}",
                urgent=True,
            )
        published = reply.publish_meeting_id
        if published is not None and self.publisher is not None:
            self.poster.submit(
                channel,
                lambda lane: self._publish(lane, published, caller.user_id, notify),
                f"publish meeting #{published}",
                urgent=True,
            )

    def _schedule(self, event: Event, meeting_id: int, channel: str, reply: Reply) -> None:
        if event == Event.MEETING_STARTED:
            self._submit_leased(
                channel, meeting_id, AGENDA_LEASE, self._start, f"post the agenda of #{meeting_id}", urgent=True
            )
        elif event == Event.SECTION_CHANGED:
            # The new section's heading goes in line with the echoes (a thread's heading before
            # its notes); the agenda goes at once, one update for every move and click since the last.
            self._queue_heading(channel, meeting_id)
            self._queue_agenda(channel, meeting_id)
        elif event in _AGENDA_EVENTS or event == Event.MEETING_ENDED:
            self._queue_agenda(channel, meeting_id)
        elif event == Event.NOTE_ADDED:
            self._queue_echo(channel, meeting_id)
        elif event in (Event.NOTE_EDITED, Event.NOTE_REMOVED):
            note = reply.extra.get("note")
            note_id = getattr(note, "id", None)
            if note_id is not None:
                self._submit_leased(
                    channel,
                    meeting_id,
                    ECHO_LEASE,
                    lambda lane, meeting_id: self._renote(lane, meeting_id, note_id),
                    f"update note {note_id}",
                    key=("renote", note_id),
                    covered=False,
                )

    def _queue_agenda(self, channel: str, meeting_id: int) -> None:
        """Queue an update of the agenda message, on the urgent track (once, while one is waiting:
        it shows the state of when it runs, so every change queued before it is in it)."""
        self._submit_leased(
            channel,
            meeting_id,
            AGENDA_LEASE,
            self._refresh,
            f"update the agenda of #{meeting_id}",
            key=("agenda", meeting_id),
            urgent=True,
        )

    def _queue_heading(self, channel: str, meeting_id: int, delay: float = 0.0) -> None:
        """Queue the current section's heading (once, while one is waiting), in line with the
        note echoes: an echo job that also shows the heading (:meth:`_echo_notes`)."""
        self._submit_leased(
            channel,
            meeting_id,
            ECHO_LEASE,
            lambda lane, meeting_id: self._echo_notes(lane, meeting_id, announce=True),
            f"post the section heading of #{meeting_id}",
            key=("heading", meeting_id),
            delay=delay,
        )

    # -- jobs (run on the channel's lane, in order) ----------------------------------------------

    def _start(self, lane: Lane, meeting_id: int) -> None:
        """Post the agenda message, then queue the first section's heading (after it, in the channel)."""
        self._refresh(lane, meeting_id)
        self._queue_heading(lane.channel, meeting_id)

    def _refresh(self, lane: Lane, meeting_id: int) -> MeetingView | None:
        """Update the agenda message in place (posting it if a running meeting has none), through
        a click's ``response_url`` when one is usable, else ``chat.update``; a state older than
        the one showing is not sent (:class:`AgendaUpdates`)."""
        updates = self.agenda_updates
        version, view = updates.read(meeting_id, lambda: self.meetings.view_by_id(meeting_id))
        posted = self.store.get(meeting_id, messages.AGENDA)
        if posted is None and view.status != MeetingStatus.RUNNING:
            return view
        text, agenda_blocks = blocks.agenda_message(view, self.clock.now())
        if posted is None:
            response = lane.call("chat_postMessage", channel=lane.channel, text=text, blocks=agenda_blocks)
            self.store.put(meeting_id, messages.AGENDA, 0, lane.channel, response["ts"])
            updates.shown(meeting_id, version)
            return view
        updates.show(
            meeting_id,
            version,
            posted.ts,
            text,
            agenda_blocks,
            lambda: lane.call("chat_update", channel=posted.channel, ts=posted.ts, text=text, blocks=agenda_blocks),
        )
        if view.status != MeetingStatus.RUNNING:
            updates.forget(meeting_id)
        return view

    def _thread_of(self, meeting_id: int, section: SectionView | None) -> str | None:
        """The ``ts`` of the thread for *section*'s notes: the message that shows its heading
        (None if there is none yet: the next echo starts it); the agenda message for notes outside
        any section."""
        kind, ref = (messages.AGENDA, 0) if section is None else (messages.SECTION, section.id)
        posted = self.store.get(meeting_id, kind, ref)
        return None if posted is None else posted.ts

    def _heading_due(self, meeting_id: int) -> SectionView | None:
        """The running meeting's current section, if nothing shows its heading yet."""
        view = self.meetings.view_by_id(meeting_id)
        current = view.current
        if view.status != MeetingStatus.RUNNING or current is None:
            return None
        return None if self.store.get(meeting_id, messages.SECTION, current.id) else current

    def _echo_notes(self, lane: Lane, meeting_id: int, announce: bool = False) -> None:
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
        leaves the rest to the next echo job (queued now unless one is waiting), so that other
        jobs of the channel's track (a heading, an edit) wait for at most that many.
        """
        self._record_unrecorded(meeting_id)
        view = self.meetings.view_by_id(meeting_id)
        if meeting_id not in self._echoed_through or self.leases is not None:
            # With leases, another process may have echoed since this one last held the lease.
            self._echoed_through[meeting_id] = self._last_echoed_seq(meeting_id)
        posts = 0
        reserved = False
        while True:
            waiting = self._waiting_echoes(meeting_id)
            heading = None if waiting or not announce else self._heading_due(meeting_id)
            if not waiting and heading is None:
                return
            if not reserved:
                if posts == ECHO_TURN:
                    self._queue_echo(lane.channel, meeting_id, announce=announce)
                    return
                # Wait for the channel's turn first, then post what waits by then: when Slack's
                # budget is short (many meetings), a message carries every note that came meanwhile.
                lane.reserve_post()
                reserved = True
                if not self._still_held(meeting_id, ECHO_LEASE):
                    self._queue_echo(lane.channel, meeting_id, delay=LEASE_RETRY, announce=announce)
                    return
                continue
            if not waiting:
                assert heading is not None
                self._post_heading(lane, meeting_id, heading)
            else:
                first = waiting[0]
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

    def _post_heading(self, lane: Lane, meeting_id: int, section: SectionView) -> None:
        """Post *section*'s heading on its own (no note of it waits): the start of its thread."""
        text, heading = blocks.section_heading(section)
        response = lane.call("chat_postMessage", channel=lane.channel, text=text, blocks=heading)
        self.store.put(meeting_id, messages.SECTION, section.id, lane.channel, str(response["ts"]))

    def _waiting_echoes(self, meeting_id: int) -> list[NoteView]:
        """The next page of notes that wait for their echo (advancing past those that need none:
        already echoed, or typed as a message in the channel, which is its own echo)."""
        while page := self.meetings.notes_of(
            meeting_id, include_deleted=False, after_seq=self._echoed_through[meeting_id], limit=ECHO_PAGE
        ):
            echoed = self.store.of_meeting(meeting_id, messages.NOTE, [note.id for note in page])
            waiting = [note for note in page if note.id not in echoed and not note.from_message]
            if waiting:
                return waiting
            # Notes are numbered as they are committed, so none can appear below this page.
            self._echoed_through[meeting_id] = page[-1].seq
        return []

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
            ts = str(response["ts"])
            try:
                self.store.put_many(meeting_id, messages.NOTE, ids, lane.channel, ts, section_id)
            except DatabaseUnavailable:
                log.warning(
                    "echo of %d notes of #%s posted, not yet recorded: database unavailable", len(ids), meeting_id
                )
                with self._unrecorded_lock:
                    self._unrecorded.setdefault(meeting_id, []).append((ids, lane.channel, ts, section_id))

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

    def _last_echoed_seq(self, meeting_id: int) -> int:
        """The number of the last note echoed in the meeting (0 if none), for a process that has
        not echoed there yet (after a restart, say). Notes are echoed in order, and note ids grow
        with note numbers within a meeting, so the highest echoed id is the last echoed note."""
        return self.store.last_note_seq(meeting_id)

    def _queue_echo(self, channel: str, meeting_id: int, delay: float = 0.0, announce: bool = False) -> None:
        """Queue the job that echoes the meeting's new notes (once, while one is waiting); to
        *announce* a move, the job that shows the current section's heading too."""
        if announce:
            self._queue_heading(channel, meeting_id, delay)
            return
        self._submit_leased(
            channel,
            meeting_id,
            ECHO_LEASE,
            self._echo_notes,
            f"echo the notes of #{meeting_id}",
            key=("echo", meeting_id),
            delay=delay,
        )

    def _submit_leased(
        self,
        channel: str,
        meeting_id: int,
        lease: str,
        run: Callable[[Lane, int], object],
        what: str,
        key: tuple[str, int] | None = None,
        urgent: bool = False,
        delay: float = 0.0,
        covered: bool = True,
    ) -> None:
        """Queue a job that runs *run* holding the meeting's *lease* (see the module description):
        when another process holds it, the job posts nothing, and is queued again
        :data:`LEASE_WAIT` seconds later if the holder's next run of the lease's job does its
        work (*covered*: echoes, agenda updates), else :data:`LEASE_RETRY` seconds later."""

        def job(lane: Lane) -> None:
            if self.leases is None:
                run(lane, meeting_id)
                return
            if not self.leases.take(meeting_id, lease):
                retry = LEASE_WAIT if covered else LEASE_RETRY
                log.debug("%s: another process holds the lease; again in %.1fs", what, retry)
                self._submit_leased(channel, meeting_id, lease, run, what, key, urgent, retry, covered)
                return
            try:
                run(lane, meeting_id)
            finally:
                if self._release(meeting_id, lease):  # another process wanted it: its work, done here
                    self._run_lease_job(channel, meeting_id, lease)

        self.poster.submit(channel, job, what, key=key, urgent=urgent, delay=delay)

    def _run_lease_job(self, channel: str, meeting_id: int, lease: str) -> None:
        """Queue the job of the meeting's *lease* (still held): it does what another process
        wanted done when it found the lease held."""
        if lease == ECHO_LEASE:
            self._queue_echo(channel, meeting_id)
        else:
            self._queue_agenda(channel, meeting_id)

    def _still_held(self, meeting_id: int, lease: str) -> bool:
        """Whether this process still holds the meeting's *lease* (:class:`LiveLeases` renews it
        while the process lives: it is lost only if renewing failed for longer than the lease)."""
        return self.leases is None or self.leases.held(meeting_id, lease)

    def _release(self, meeting_id: int, lease: str) -> bool:
        """Let the meeting's *lease* go (if the database cannot be reached, it expires); True if
        another process wanted it meanwhile, and it is kept to run its job once more."""
        assert self.leases is not None
        try:
            return self.leases.release(meeting_id, lease)
        except DatabaseUnavailable as error:
            log.warning("could not let the %s lease of #%s go (%s); it expires", lease, meeting_id, error)
            return False

    def _renote(self, lane: Lane, meeting_id: int, note_id: int) -> None:
        """Show a note's new text (or its deletion) in its echo: the message that echoes it is
        shown again, with every note it carries."""
        posted = self.store.get(meeting_id, messages.NOTE, note_id)
        if posted is None:
            self._echo_notes(lane, meeting_id)
            return
        ids = self.store.refs_at(meeting_id, messages.NOTE, posted.channel, posted.ts) or [note_id]
        notes = [note for ref in ids if (note := self.meetings.note_of(meeting_id, ref)) is not None]
        starts = self.store.refs_at(meeting_id, messages.SECTION, posted.channel, posted.ts)
        heading = None
        if starts:  # the message starts its section's thread: its heading stays
            heading = next((s for s in self.meetings.view_by_id(meeting_id).sections if s.id == starts[0]), None)
        if notes:
            self._send_echo(lane, notes, "chat_update", heading, channel=posted.channel, ts=posted.ts)

    def _upload(self, lane: Lane, reply: Reply, notify: Notify | None) -> None:
        """Upload the reply's minutes as a file (rendering them, if the reply left that for now);
        on failure, say so privately."""
        minutes = reply.minutes_file()
        assert minutes is not None
        try:
            response = lane.call(
                "files_upload_v2",
                channel=lane.channel,
                content=minutes.content,
                filename=minutes.filename,
                title=minutes.title,
                initial_comment=f"Minutes of meeting #{minutes.meeting_id}: {slack_text.escape(minutes.summary)}",
            )
        except (SlackApiError, SlackClientError, OSError) as error:
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning("minutes upload failed for meeting %s: %s", minutes.meeting_id, reason)
            if notify is not None:
                notify(
                    f"⚠️ I could not upload the minutes ({slack_text.escape(str(reason))}). They are saved: "
                    f"`/review export {minutes.meeting_id}` posts them again."
                )
            return
        file = response.get("file") or {}
        if minutes.meeting_id and file.get("id"):
            self.store.put(
                minutes.meeting_id, messages.MINUTES, 0, lane.channel, str(file["id"]), file.get("permalink")
            )

    def _publish(self, lane: Lane, meeting_id: int, user_id: str, notify: Notify | None) -> None:
        """Publish the minutes to the wiki and say how it went, in the channel."""
        assert self.publisher is not None
        text = slack_text.of_reply(publish_report(self.publisher, meeting_id, user_id))
        try:
            lane.call("chat_postMessage", channel=lane.channel, text=text)
        except (SlackApiError, SlackClientError, OSError):
            if notify is None:
                raise
            notify(text)


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
