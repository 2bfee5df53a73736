"""``/review search``: find what was said in past meetings, with the database's full-text search.

The query language: words (every one must match, in the note or its speaker's name), ``"a
phrase"``, ``speaker:Name`` (or ``speaker:"Full Name"``), ``after:2016-07-01`` (on or after;
a year or a month is enough: ``after:2016``), ``before:2017-01-01`` (strictly before),
``is:action``, ``is:decision`` and ``in:all``.

Where it looks is the privacy rule (:func:`scope`): the meetings of the channel the search is
typed in, and with ``in:all`` also every *public* channel's of the same workspace and the
archive's (meetings imported from a wiki without a channel, in a pseudo-channel of a workspace
:data:`~reviewbot.core.channels.ARCHIVE_WORKSPACE`, which are public). A channel whose privacy is not known yet
counts as private, so a private channel's minutes are only ever found from that channel.

Results are a neutral :class:`SearchResults` (each adapter shows them its own way; Slack as
blocks with a "More" button) and a plain-text rendering (:func:`results_text`) for the console,
the command line and as Slack's fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, or_, select
from sqlalchemy.orm import Session

from reviewbot.core.channels import ARCHIVE_WORKSPACE, channel_row
from reviewbot.core.context import Caller, UserError
from reviewbot.core.replies import Link, Reply
from reviewbot.store.database import Database
from reviewbot.store.schema import Channel, NoteKind
from reviewbot.store.search import MARK_END, MARK_START, RANKED, NoteHit, NoteQuery, search_notes

PAGE_SIZE = 10
EXCERPT = 300  # characters of a note shown in a result
USAGE = (
    'Search past minutes: `/review search <words>`, with `"a phrase"`, `speaker:Name`, '
    "`after:2016-07-01`, `before:2017`, `is:action`, `is:decision`, and `in:all` to look in every "
    "public channel too."
)

_TOKEN = re.compile(r'(\w+):"([^"]*)"?|"([^"]*)"?|(\S+)')
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


@dataclass(frozen=True)
class ParsedQuery:
    """A search as typed, taken apart."""

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    speaker: str | None = None
    kinds: tuple[str, ...] = ()
    after: date | None = None
    before: date | None = None
    everywhere: bool = False


def parse(text: str) -> ParsedQuery:
    """Take a search apart; a mistake raises :class:`UserError` saying what to type."""
    words: list[str] = []
    phrases: list[str] = []
    kinds: list[str] = []
    found: dict[str, object] = {}
    for match in _TOKEN.finditer(text.translate(_QUOTES)):
        key, quoted, phrase, bare = match.groups()
        if phrase is not None:
            if phrase.strip():
                phrases.append(phrase.strip())
            continue
        if key is None:
            key, sep, value = bare.partition(":")
            if not sep or key.lower() not in ("speaker", "after", "before", "is", "in"):
                words.append(bare)
                continue
        else:
            value = quoted
        key = key.lower()
        if key not in ("speaker", "after", "before", "is", "in"):
            phrases.append(f"{key} {value}")
            continue
        value = value.strip()
        if key == "speaker":
            if not value:
                raise UserError('`speaker:` needs a name: `speaker:Katherine` or `speaker:"Katherine Maher"`.')
            found["speaker"] = value
        elif key in ("after", "before"):
            found[key] = _date(key, value)
        elif key == "is":
            kind = {"action": NoteKind.ACTION, "actions": NoteKind.ACTION, "decision": NoteKind.DECISION,
                    "decisions": NoteKind.DECISION}.get(value.lower())  # fmt: skip
            if kind is None:
                raise UserError(f"`is:{value}` is not something I can search for: try `is:action` or `is:decision`.")
            kinds.append(kind.value)
        elif value.lower() == "all":
            found["everywhere"] = True
        else:
            raise UserError(f"`in:{value}` is not a place I can search: `in:all` looks in every public channel.")
    return ParsedQuery(
        words=tuple(words),
        phrases=tuple(phrases),
        speaker=found.get("speaker"),  # type: ignore[arg-type]
        kinds=tuple(dict.fromkeys(kinds)),
        after=found.get("after"),  # type: ignore[arg-type]
        before=found.get("before"),  # type: ignore[arg-type]
        everywhere=bool(found.get("everywhere")),
    )


def _date(key: str, value: str) -> date:
    """``2016-07-14``, ``2016-07`` or ``2016``: the first day it names."""
    match = _DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day = match.groups()
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise UserError(
            f"`{key}:{value}` is not a date I know: write it as `{key}:2016-07-14` (or `2016-07`, `2016`)."
        ) from None


@dataclass(frozen=True)
class Result:
    """One note found, as a result line shows it."""

    note_id: int
    meeting_id: int
    meeting_title: str
    meeting_date: date
    section: str | None
    speaker: str | None
    kind: str
    segments: tuple[tuple[str, bool], ...]  # the note's text in pieces; True for a matched word
    link: Link | None  # the wiki page at the note's section (published or imported from), if any


@dataclass(frozen=True)
class SearchResults:
    """One page of a search's results, best first."""

    query: str  # as typed (the "More" button asks it again)
    results: tuple[Result, ...]
    offset: int
    more: bool
    everywhere: bool
    recent_only: int = 0  # so many matches were ranked, the most recent (more matched); 0: all were


def visible_from(caller: Caller, everywhere: bool) -> ColumnElement[bool]:
    """The privacy rule, as a condition on :class:`Channel` rows: the caller's own channel, and
    with *everywhere* also the public channels of its workspace (of every workspace for the
    command line, which is in none) and the archive. Unknown privacy counts as private."""
    here = (Channel.workspace_id == caller.workspace_id) & (Channel.channel_id == caller.channel_id)
    if not everywhere:
        return here
    public = Channel.private.is_(False)
    if caller.workspace_id:
        public = public & (Channel.workspace_id == caller.workspace_id)
    return or_(here, public, Channel.workspace_id == ARCHIVE_WORKSPACE)


def scope(session: Session, caller: Caller, everywhere: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The channels (row ids) whose meetings a search from the caller's channel may find, and
    every other channel."""
    where = visible_from(caller, everywhere)
    rows = session.execute(select(Channel.id, case((where, True), else_=False)).order_by(Channel.id)).all()
    return tuple(pk for pk, ok in rows if ok), tuple(pk for pk, ok in rows if not ok)


def remember_privacy(db: Database, workspace_id: str, channel_id: str, private: bool, now: datetime) -> bool:
    """Record whether a channel is private (as the chat platform said at *now*); whether that
    changed it."""
    with db.write() as session:
        caller = Caller(workspace_id, channel_id, "", "")
        channel = channel_row(session, caller, now)
        assert channel is not None
        channel.privacy_checked_at = now
        if channel.private is private:
            return False
        channel.private = private
        return True


def privacy_known_since(db: Database, workspace_id: str, channel_id: str, since: datetime) -> bool:
    """Whether a channel's privacy was learnt from the chat at or after *since* (by any process
    on the database)."""
    with db.read() as session:
        checked = session.scalar(
            select(Channel.privacy_checked_at).where(
                Channel.workspace_id == workspace_id, Channel.channel_id == channel_id, Channel.private.is_not(None)
            )
        )
    return checked is not None and checked >= since


class Search:
    """Runs searches for people in a channel."""

    def __init__(self, db: Database, timezone: str) -> None:
        self.db = db
        self.timezone = timezone

    def command(self, caller: Caller, text: str) -> Reply:
        """``/review search <query>``: the first page of results, privately."""
        results = self.find(caller, text, 0)
        return Reply(results_text(results), extra={"search": results})

    def find(self, caller: Caller, text: str, offset: int = 0) -> SearchResults:
        """The page of results at *offset* of the search *text* typed in the caller's channel."""
        if not text.strip():
            raise UserError(USAGE)
        parsed = parse(text)
        query = NoteQuery(
            channel_pks=(),
            words=parsed.words,
            phrases=parsed.phrases,
            speaker=parsed.speaker,
            kinds=parsed.kinds,
            after=self._start_of(parsed.after),
            before=self._start_of(parsed.before),
        )
        if not query.searchable():
            raise UserError(
                f"There is nothing to search for in `{text.strip()}` (very common words such as “the” are "
                f"left out). {USAGE}"
            )
        if parsed.after and parsed.before and parsed.after >= parsed.before:
            raise UserError("`after:` must be an earlier date than `before:`.")
        with self.db.read() as session:  # the channels and their notes as of one moment
            allowed, others = scope(session, caller, parsed.everywhere)
            query = replace(query, channel_pks=allowed, other_pks=others)
            page = search_notes(session, query, max(0, offset), PAGE_SIZE)
        results = tuple(self._result(hit) for hit in page.hits)
        recent = RANKED if page.recent_only else 0
        return SearchResults(text.strip(), results, page.offset, page.more, parsed.everywhere, recent)

    def _start_of(self, day: date | None) -> datetime | None:
        return None if day is None else datetime.combine(day, datetime.min.time(), ZoneInfo(self.timezone))

    def _result(self, hit: NoteHit) -> Result:
        zone = ZoneInfo(hit.meeting_timezone or self.timezone)
        title = hit.meeting_title or hit.source_page or "Untitled meeting"
        return Result(
            note_id=hit.note_id,
            meeting_id=hit.meeting_id,
            meeting_title=title,
            meeting_date=hit.meeting_at.astimezone(zone).date(),
            section=hit.section_title,
            speaker=hit.speaker,
            kind=hit.kind,
            segments=excerpt(segments_of(hit.text), EXCERPT),
            link=_link(hit, title),
        )


def segments_of(marked: str) -> tuple[tuple[str, bool], ...]:
    """Split a highlighted text into ``(text, matched)`` pieces."""
    pieces: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{MARK_START}{MARK_END}]", marked)):
        if part:
            pieces.append((part, i % 2 == 1))
    return tuple(pieces)


def excerpt(segments: tuple[tuple[str, bool], ...], limit: int) -> tuple[tuple[str, bool], ...]:
    """At most about *limit* characters of the text, from a little before its first match."""
    total = sum(len(text) for text, _ in segments)
    if total <= limit:
        return segments
    before = 0
    for text, matched in segments:
        if matched:
            break
        before += len(text)
    skip = max(0, min(before - limit // 4, total - limit))
    out: list[tuple[str, bool]] = [("…", False)] if skip else []
    position, room = 0, limit
    for text, matched in segments:
        start = max(0, skip - position)
        position += len(text)
        piece = text[start : start + room]
        if piece:
            out.append((piece, matched))
            room -= len(piece)
        if room <= 0:
            out.append(("…", False))
            break
    return tuple(out)


def anchor(title: str) -> str:
    """MediaWiki's link fragment of a heading: spaces become underscores."""
    return quote("_".join(title.split()), safe="!$&'()*+,/:;=?@-._~")


def _link(hit: NoteHit, title: str) -> Link | None:
    """The wiki page at the note's section: where the minutes were published, or imported from."""
    fragment = f"#{anchor(hit.section_title)}" if hit.section_title else ""
    if hit.published_url:
        return Link(hit.published_url + fragment, title)
    if hit.source_wiki and hit.source_page:
        parts = urlsplit(hit.source_wiki)
        if parts.scheme in ("http", "https") and parts.path.endswith("api.php"):
            base = f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix('api.php')}index.php"
            page = quote("_".join(hit.source_page.split()), safe="/:")
            return Link(f"{base}?title={page}{fragment}", title)
    return None


def result_heading(result: Result) -> str:
    """``Title, July 14, 2016 · Section · Speaker``: where a note was said, in plain text."""
    when = f"{result.meeting_date:%B} {result.meeting_date.day}, {result.meeting_date.year}"
    parts = [f"{result.meeting_title}, {when}"]
    if result.section:
        parts.append(result.section)
    if result.speaker:
        parts.append(result.speaker)
    if result.kind != NoteKind.NOTE.value:
        parts.append(result.kind)
    return " · ".join(parts)


def summary(results: SearchResults) -> str:
    """The line above the results."""
    where = "this channel and every public channel" if results.everywhere else "this channel"
    if not results.results:
        if results.offset:
            return f"No more results for `{results.query}`."
        hint = "" if results.everywhere else " (`in:all` also looks in every public channel)"
        return f"🔎 Nothing found for `{results.query}` in the minutes of {where}{hint}."
    first, last = results.offset + 1, results.offset + len(results.results)
    more = " (more follow)" if results.more else ""
    if results.recent_only:
        more += f"; best of the {results.recent_only:,} most recent matches (add words to narrow it down)"
    return f"🔎 Results {first}–{last} for `{results.query}` in the minutes of {where}{more}:"


def results_text(results: SearchResults) -> str:
    """The results as plain text, matched words in ``*bold*``, each with its link."""
    lines = [summary(results)]
    for number, result in enumerate(results.results, start=results.offset + 1):
        note = "".join(f"*{text}*" if matched else text for text, matched in result.segments)
        link = f" ({result.link.url})" if result.link else ""
        lines.append(f"{number}. {result_heading(result)}{link}\n    {note}")
    return "\n".join(lines)
