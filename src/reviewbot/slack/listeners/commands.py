"""Slash commands ``/review`` and ``/note``: translate the payload, call the core, reply.

The reply is the acknowledgement itself (so it arrives within Slack's 3 seconds, after the note
is committed); the live agenda, section threads, note echoes, the minutes file and the wiki
publication are queued for the channel and posted after the acknowledgement.
``/review agenda`` opens the agenda editor when Slack sent a trigger for it. ``/review agenda
import`` reads a wiki, which may take longer than Slack waits: it is acknowledged at once and
answered (privately, through the ``response_url``) once the page is read. A bug is an apology,
never a 500.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core import Caller
from reviewbot.core.agenda import outline
from reviewbot.core.replies import Event
from reviewbot.core.search import SearchResults
from reviewbot.runtime import Runtime
from reviewbot.slack import blocks, payloads
from reviewbot.slack import text as slack_text
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.privacy import ChannelPrivacy
from reviewbot.slack.users import UserDirectory

log = logging.getLogger(__name__)

#: What ``/review`` text opens the agenda editor (when Slack sent a trigger_id).
EDITOR_TEXTS = frozenset({"agenda", "agenda edit"})

#: Commands that wait for the wiki run here, after the acknowledgement.
_WIKI_READS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="wiki-read")

SORRY = (
    "⚠️ Something went wrong on my side and that command was not carried out. "
    "Everything recorded before it is safe; please try again."
)


def register(app: App, runtime: Runtime, users: UserDirectory, live: LiveMeeting) -> None:
    """Listen to ``/review`` and ``/note``."""
    privacy = ChannelPrivacy(runtime.db, runtime.meetings.clock)

    def on_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        acked = False

        def reply_with(**response: Any) -> None:
            nonlocal acked
            ack(**response)
            acked = True

        try:
            caller = Caller(
                workspace_id=command.get("team_id") or "",
                channel_id=command.get("channel_id") or "",
                user_id=command.get("user_id") or "",
                user_name=users.name(command.get("user_id") or "", command.get("user_name")) or "someone",
            )
            raw = command.get("text") or ""
            typed = slack_text.to_plain(raw, users.name)
            name = command.get("command") or ""
            if name == "/review" and " ".join(typed.lower().split()) in EDITOR_TEXTS and command.get("trigger_id"):
                open_agenda_editor(reply_with, client, respond, runtime, caller, command["trigger_id"])
                return
            if name == "/review" and [w.lower() for w in typed.split()[:2]] == ["agenda", "import"]:
                reply_with(response_type="ephemeral", text="📖 Reading the page from the wiki…")
                _WIKI_READS.submit(answer_later, runtime, live, respond, caller, typed)
                return
            reply = runtime.commands.handle(name, typed, caller, slack_text.mentions(raw, users.name))
            # A move shows in the live agenda and the section's thread; the mover alone gets the text.
            public = reply.public and reply.event != Event.SECTION_CHANGED
            # Queued (not posted) before the acknowledgement: posting never holds it up.
            live.react(
                reply,
                caller,
                lambda text: respond(response_type="ephemeral", text=text),
                response_url=command.get("response_url"),  # for the echo of a note it takes
            )
            found = reply.extra.get("search")
            if isinstance(found, SearchResults):  # /review search: results as blocks, privately
                text, results = blocks.search_results(found, search_links(live, found))
                reply_with(response_type="ephemeral", text=text, blocks=results)
            else:
                reply_with(response_type="in_channel" if public else "ephemeral", text=slack_text.of_reply(reply))
        except Exception:
            log.exception("command %s failed", command.get("command"))
            if not acked:
                ack(response_type="ephemeral", text=SORRY)
        privacy.learn(client, command)  # after the acknowledgement, on a worker thread

    # Bolt tries listeners in the order they were added: /note, by far the most frequent, first.
    app.command("/note")(on_command)
    app.command("/review")(on_command)


def answer_later(runtime: Runtime, live: LiveMeeting, respond: Respond, caller: Caller, typed: str) -> None:
    """Run a ``/review`` command that reads the wiki, after the acknowledgement; answer privately."""
    try:
        reply = runtime.commands.handle("/review", typed, caller)
        live.react(reply, caller, lambda text: respond(response_type="ephemeral", text=text))
        respond(response_type="ephemeral", text=slack_text.of_reply(reply))
    except Exception:
        log.exception("/review %s failed", " ".join(typed.split()[:2]))
        try:
            respond(response_type="ephemeral", text=SORRY)
        except Exception:
            log.exception("could not apologise for /review %s", " ".join(typed.split()[:2]))


def open_agenda_editor(
    ack: Ack, client: WebClient, respond: Respond, runtime: Runtime, caller: Caller, trigger_id: str
) -> None:
    """Open the agenda editor, or explain why not (and then show the agenda as text)."""
    view, error = payloads.attempt(lambda: runtime.meetings.editable_agenda(caller))
    if error is not None:
        ack(response_type="ephemeral", text=error)
        return
    ack()
    sections = view.sections if view is not None else ()
    title = view.title if view is not None and view.started_at is not None else None
    meta = blocks.metadata(channel=caller.channel_id)
    try:
        client.views_open(trigger_id=trigger_id, view=blocks.agenda_editor(outline(sections), meta, title))
    except SlackApiError as failure:
        log.info("could not open the agenda editor: %s", failure.response.get("error"))
        text = "\n".join(blocks.agenda_lines(view)) if view is not None and view.sections else "The agenda is empty."
        respond(response_type="ephemeral", text=f"{text}\n(`/review agenda add &lt;Title&gt;` adds a section.)")


def search_links(live: LiveMeeting, found: SearchResults) -> dict[int, str]:
    """The posted minutes of each result's meeting that has no wiki link, by meeting id."""
    ids = {result.meeting_id for result in found.results if result.link is None}
    return {meeting_id: posted.url for meeting_id, posted in live.store.minutes(ids).items() if posted.url}
