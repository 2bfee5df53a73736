"""The channel's live view of a meeting, kept in step with the core after every change.

Turns each reply's event into jobs on the channel's lanes (:class:`PostQueue`), all after Slack
was acknowledged: a started meeting gets one agenda message, updated in place at every move and
agenda or attendance change (one update for all the changes queued before it runs; through a
button click's ``response_url`` when one is usable, else ``chat.update``: see
:mod:`reviewbot.slack.agenda_updates`); notes are echoed into their sections' threads
(:mod:`reviewbot.slack.echoes`), through the ``/note`` command's ``response_url`` once the
section's thread has started; at the end the minutes are uploaded, and published to the wiki
when set up (:mod:`reviewbot.slack.uploads`). The agenda, the minutes and the wiki's answer go on
the channel's urgent track, never behind echoes. Jobs read the meeting's state when they run, so
a late or retried job shows what is current.

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
from collections.abc import Callable

from reviewbot.core.context import Caller, Clock
from reviewbot.core.meetings import Meetings, MeetingView
from reviewbot.core.publishing import Publisher
from reviewbot.core.replies import Event, Reply
from reviewbot.slack import blocks, messages
from reviewbot.slack.agenda_updates import AgendaUpdates, Click
from reviewbot.slack.echoes import Echoed, Echoes, Updated
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.post_queue import Lane, PostQueue
from reviewbot.slack.uploads import publish_minutes, upload_minutes
from reviewbot.store.database import DatabaseUnavailable
from reviewbot.store.live_leases import LEASE_SECONDS, LiveLeases
from reviewbot.store.schema import MeetingStatus

log = logging.getLogger(__name__)

Notify = Callable[[str], None]
#: Seconds after which a job that found its meeting's lease held by another process tries again,
#: when the holder's next run does not do its work (an edit's update)...
LEASE_RETRY = 1.0
#: ...and when it does (echoes, the agenda): only in case the holder died (its lease expired).
LEASE_WAIT = LEASE_SECONDS
#: Tries of an edit's update while its echo's ts is not known yet (one every LEASE_RETRY seconds).
PENDING_TRIES = 60
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
        echo_via_response_url: bool = True,
    ) -> None:
        self.meetings = meetings
        self.poster = poster
        self.store = store
        self.clock = clock
        self.publisher = publisher
        self.agenda_updates = agenda_updates or AgendaUpdates()
        self.leases = leases  # None: this process is the only one (SQLite)
        self.echoes = Echoes(meetings, store, shared=leases is not None)
        self.echo_via_response_url = echo_via_response_url  # else every echo is a chat.postMessage

    def react(
        self,
        reply: Reply,
        caller: Caller,
        notify: Notify | None = None,
        click: Click | None = None,
        response_url: str | None = None,
    ) -> None:
        """Schedule what *reply* (to *caller*) changes in the channel; returns at once. *notify*
        tells the caller, privately, when something could not be posted (e.g. the minutes). A
        button's *click* lends its ``response_url`` to the agenda updates (see
        :mod:`reviewbot.slack.agenda_updates`); a command's *response_url* lends itself to the
        echo of the note it took (:meth:`Echoes.offer`)."""
        channel = caller.channel_id
        meeting_id = reply.meeting_id
        if meeting_id is not None:
            if click is not None and reply.event in _SHOWN_IN_AGENDA:
                self.agenda_updates.offer(meeting_id, click)
            note_id = getattr(reply.extra.get("note"), "id", None)
            wanted = self.echo_via_response_url and reply.event == Event.NOTE_ADDED
            if wanted and response_url and isinstance(note_id, int):
                self.echoes.offer(note_id, response_url)
            self._schedule(reply.event, meeting_id, channel, reply)
        if reply.minutes is not None:
            self.poster.submit(
                channel,
                lambda lane: upload_minutes(lane, reply, self.store, notify),
                f"upload the minutes of #{meeting_id}",
                urgent=True,
            )
        published, publisher = reply.publish_meeting_id, self.publisher
        if published is not None and publisher is not None:
            self.poster.submit(
                channel,
                lambda lane: publish_minutes(lane, publisher, published, caller.user_id, notify),
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
            self._queue_echo(channel, meeting_id, announce=True)
            self._queue_agenda(channel, meeting_id)
        elif event in _AGENDA_EVENTS or event == Event.MEETING_ENDED:
            self._queue_agenda(channel, meeting_id)
        elif event == Event.NOTE_ADDED:
            self._queue_echo(channel, meeting_id)
        elif event in (Event.NOTE_EDITED, Event.NOTE_REMOVED):
            note = reply.extra.get("note")
            note_id = getattr(note, "id", None)
            if note_id is not None:
                self._queue_renote(channel, meeting_id, note_id)

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

    # -- jobs (run on the channel's lane, in order) ----------------------------------------------

    def _start(self, lane: Lane, meeting_id: int) -> None:
        """Post the agenda message, then queue the first section's heading (after it, in the channel)."""
        self._refresh(lane, meeting_id)
        self._queue_echo(lane.channel, meeting_id, announce=True)

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
            updates.shown(meeting_id, version, text, agenda_blocks)
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

    def _echo_notes(self, lane: Lane, meeting_id: int, announce: bool = False) -> None:
        """Echo the meeting's waiting notes (:meth:`Echoes.echo`; *announce*: a move, whose
        heading shows too), and queue what is left: the rest after this job's share, or the
        whole job again later if its lease was lost."""
        outcome = self.echoes.echo(lane, meeting_id, announce, lambda: self._still_held(meeting_id, ECHO_LEASE))
        if outcome is Echoed.TURN_OVER:
            self._queue_echo(lane.channel, meeting_id, announce=announce)
        elif outcome is Echoed.LEASE_LOST:
            self._queue_echo(lane.channel, meeting_id, delay=LEASE_RETRY, announce=announce)

    def _queue_echo(self, channel: str, meeting_id: int, delay: float = 0.0, announce: bool = False) -> None:
        """Queue the job that echoes the meeting's new notes (once, while one is waiting), in line
        with the other echoes; to *announce* a move, the one that shows the current section's
        heading too (:meth:`Echoes.echo`)."""
        kind = "heading" if announce else "echo"
        self._submit_leased(
            channel,
            meeting_id,
            ECHO_LEASE,
            lambda lane, meeting_id: self._echo_notes(lane, meeting_id, announce),
            f"post the section heading of #{meeting_id}" if announce else f"echo the notes of #{meeting_id}",
            key=(kind, meeting_id),
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

    def _queue_renote(self, channel: str, meeting_id: int, note_id: int, delay: float = 0.0, tries: int = 0) -> None:
        """Queue the job that shows a note's edit or deletion in its echo (:meth:`_renote`)."""
        self._submit_leased(
            channel,
            meeting_id,
            ECHO_LEASE,
            lambda lane, meeting_id: self._renote(lane, meeting_id, note_id, tries),
            f"update note {note_id}",
            key=("renote", note_id),
            delay=delay,
            covered=False,
        )

    def _renote(self, lane: Lane, meeting_id: int, note_id: int, tries: int = 0) -> None:
        """Show a note's edit or deletion in its echo (or echo it, if it has none yet). An echo
        posted through a ``response_url`` can be updated once Slack's event for it told its
        ``ts``: until then the job is tried again every :data:`LEASE_RETRY` seconds, for
        :data:`PENDING_TRIES` tries (the minutes have the change either way)."""
        updated = self.echoes.update(lane, meeting_id, note_id)
        if updated is Updated.NO_ECHO:
            self._echo_notes(lane, meeting_id)
        elif updated is Updated.NOT_YET:
            if tries + 1 < PENDING_TRIES:
                self._queue_renote(lane.channel, meeting_id, note_id, LEASE_RETRY, tries + 1)
            else:
                log.warning("the echo of note %s shows no edit: Slack never told where it is", note_id)
