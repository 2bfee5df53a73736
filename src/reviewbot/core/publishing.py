"""Publishing minutes to a wiki, without ever overwriting someone else's edits.

The wiki itself is behind the small :class:`WikiClient` interface (``reviewbot.wiki`` implements
it with mwclient). A page is overwritten only when its latest revision is the one reviewbot
published last; otherwise the minutes go to a draft subpage and the conflict is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from reviewbot.core.context import Clock, SystemClock, UserError
from reviewbot.core.meetings import load_record
from reviewbot.core.minutes import Wording, page_title, render_wikitext
from reviewbot.core.replies import Link
from reviewbot.store.database import Database
from reviewbot.store.schema import Meeting, Publication

log = logging.getLogger(__name__)

DRAFT_SUFFIX = "/reviewbot draft"


class WikiError(Exception):
    """The wiki could not be used; the message says why in one sentence."""


class EditConflict(WikiError):
    """The page changed between reading it and saving it, or exists where it should not."""


@dataclass(frozen=True)
class PageState:
    """What the wiki says of a page: whether it exists and its latest revision."""

    exists: bool
    revision_id: int | None = None


@dataclass(frozen=True)
class SavedPage:
    """A saved revision and the page's address."""

    revision_id: int
    url: str


class WikiClient(Protocol):
    """The operations publishing needs from a wiki."""

    name: str

    def page_state(self, title: str) -> PageState:
        """The page's existence and latest revision id."""
        ...

    def save(self, title: str, text: str, summary: str, base_revision: int | None, create_only: bool) -> SavedPage:
        """Save *text* as the page; raise EditConflict if it changed since *base_revision*."""
        ...


@dataclass(frozen=True)
class PublishOutcome:
    """What happened, as a message for the channel."""

    text: str
    url: str
    page_title: str
    conflict: bool
    link: Link  # the page (or draft subpage) as written in the text


class Publisher:
    """Publishes a meeting's minutes to the configured wiki."""

    def __init__(
        self, db: Database, client: WikiClient, page_pattern: str, wording: Wording, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.client = client
        self.page_pattern = page_pattern
        self.wording = wording
        self.clock = clock or SystemClock()

    def publish(self, meeting_id: int, user_id: str | None = None) -> PublishOutcome:
        """Publish the meeting's minutes; raises WikiError with a clear message on failure."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                raise UserError(f"There is no meeting {meeting_id}.")
            if meeting.ended_at is None:
                raise UserError("The minutes are published when the meeting has ended (`/review end`).")
            if meeting.source_page is not None and meeting.source_wiki == self.client.name:
                raise UserError(  # publishing it again would copy the page to a second one, or a draft
                    f"Meeting #{meeting_id} was imported from the wiki page “{meeting.source_page}”: "
                    "its minutes are there already."
                )
            record = load_record(session, meeting)
            title = page_title(record, self.page_pattern)
            last = session.scalars(
                select(Publication)
                .where(
                    Publication.wiki == self.client.name, Publication.page_title == title, Publication.draft.is_(False)
                )
                .order_by(Publication.id.desc())
                .limit(1)
            ).first()
            last_revision = last.revision_id if last else None
        text = render_wikitext(record, self.wording)
        summary = f"Minutes of {record.title}"[:250] + " (reviewbot)"
        state = self.client.page_state(title)
        conflict = False
        try:
            if not state.exists:
                saved = self.client.save(title, text, summary, base_revision=None, create_only=True)
            elif last_revision is not None and state.revision_id == last_revision:
                saved = self.client.save(title, text, summary, base_revision=last_revision, create_only=False)
            else:
                raise EditConflict("edited since reviewbot last published it")
        except EditConflict as why:
            log.info("wiki page %r changed by someone else (%s); publishing a draft subpage", title, why)
            conflict = True
            draft_title = title + DRAFT_SUFFIX
            saved = self.client.save(draft_title, text, summary, base_revision=None, create_only=False)
        with self.db.write() as session:
            session.add(
                Publication(
                    meeting_id=meeting_id,
                    wiki=self.client.name,
                    page_title=title + (DRAFT_SUFFIX if conflict else ""),
                    revision_id=saved.revision_id,
                    url=saved.url,
                    draft=conflict,
                    published_at=self.clock.now(),
                    published_by=user_id,
                )
            )
        if conflict:
            draft = Link(saved.url, title + DRAFT_SUFFIX)
            message = (
                f"⚠️ {draft}: the page *{title}* was edited by someone else since reviewbot last published "
                "it (or was not created by reviewbot), so I did not overwrite it. The minutes are in the "
                "draft subpage; merge them by hand."
            )
        else:
            draft = Link(saved.url, title)
            message = f"📘 Minutes published to the wiki: {draft}"
        return PublishOutcome(text=message, url=saved.url, page_title=title, conflict=conflict, link=draft)


def published_pages(db: Database, meeting_ids: Iterable[int]) -> dict[int, str]:
    """The URL of the latest wiki page (or draft subpage) each meeting was published to."""
    ids = list(meeting_ids)
    if not ids:
        return {}
    with db.read() as session:
        rows = session.execute(
            select(Publication.meeting_id, Publication.url)
            .where(Publication.meeting_id.in_(ids))
            .order_by(Publication.id)
        ).all()
    return {meeting_id: url for meeting_id, url in rows}
