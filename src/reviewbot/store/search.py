"""Full-text search of notes on the database's own engine: SQLite FTS5 or PostgreSQL ``tsvector``.

Migration 0008 built the index (``notes_fts`` kept in step by triggers on SQLite, the column
``notes.search_vector`` set by a trigger, with a GIN index, on PostgreSQL); this module asks it.
Both hold each note's channel and kind as filter terms, so a search in some channels is answered
by the index alone (dates need the meetings' rows). A search is a :class:`NoteQuery` (words,
phrases, a speaker, kinds, dates, and the channels whose meetings to search, which the caller
has already decided); :func:`search_notes` answers one page of :class:`NoteHit`, best first, the
matched words of each note's text between :data:`MARK_START` and :data:`MARK_END`.

The query text is built here from word tokens only (runs of letters and digits), quoted for each
engine's query language, so nothing a person types can change its meaning; every value, the
query text included, is a bound parameter. A page is ranked with ids only, then read (and its
matches highlighted) for its few rows, so that a common word costs one pass over its matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from reviewbot.store.schema import Meeting, Note, Publication, Section

#: Where a matched word starts and ends in :attr:`NoteHit.text` (private-use characters, which
#: nobody types and no tokenizer counts as part of a word).
MARK_START = "\ue000"
MARK_END = "\ue001"

_WORD = re.compile(r"\w+")

#: At most this many matches are ranked: the most recent ones (see :func:`search_notes`).
RANKED = 1000
#: PostgreSQL: up to this many matches (as planned), the most recent are found from the GIN index
#: at once; beyond, among the newest note ids where about RANKED of them should be.
FEW_MATCHES = 8000
PAGE = "LIMIT :limit OFFSET :offset"


#: Words too common to search for (PostgreSQL's English list): both engines leave them out,
#: PostgreSQL by itself and SQLite here, where ranking a word costs a pass over every note that has it.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing a an the and but if or
    because as until while of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where
    why how all any both each few more most other some such no nor not only own same so than too very s
    t can will just don should now""".split()  # noqa: SIM905
)


def words_of(text_: str) -> tuple[str, ...]:
    """The word tokens of *text_*, lower case: what each engine indexes a note as (before stemming)."""
    return tuple(_WORD.findall(text_.lower()))


@dataclass(frozen=True)
class NoteQuery:
    """What to look for, and where: every word, every phrase and the speaker must all match."""

    channel_pks: tuple[int, ...]
    #: Every other channel (the ones not to search), when known: a search then names whichever
    #: of the two lists is shorter to the index.
    other_pks: tuple[int, ...] | None = None
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    speaker: str | None = None
    kinds: tuple[str, ...] = ()  # NoteKind values; empty for any
    after: datetime | None = None  # meetings on or after (UTC)
    before: datetime | None = None  # meetings before (UTC)

    def searchable(self) -> bool:
        """Whether there is any word to look for (stop characters and punctuation are not)."""
        return bool(self._terms())

    def _terms(self, loose: bool = False) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
        """``(column, tokens, as typed)`` for each term: a word, a phrase (several tokens; with
        *loose*, its words apart) or the speaker; common words (:data:`STOP_WORDS`) left out,
        except from the speaker's name and from a phrase as typed (PostgreSQL keeps their place)."""
        words = [word for w in self.words for word in words_of(w) if word not in STOP_WORDS]
        terms = [("", (word,), (word,)) for word in words]
        for phrase in self.phrases:
            typed = words_of(phrase)
            kept = tuple(word for word in typed if word not in STOP_WORDS)
            if loose:
                terms += [("", (word,), (word,)) for word in kept]
            elif kept:
                terms.append(("", kept, typed))
        if self.speaker and (tokens := words_of(self.speaker)):
            terms.append(("speaker", tokens, tokens))
        return terms

    def fts5(self, loose: bool = False) -> str:
        """The query in FTS5's language: each term a quoted phrase in the text or speaker (the
        speaker's in the speaker only), then the channels (or the channels not) and the kinds.
        With *loose*, a phrase's words need not be next to each other (cheaper to find)."""
        parts = []
        for column, tokens, typed in self._terms(loose):
            phrase = '"' + " ".join(tokens) + '"'
            if len(tokens) > 1 and tokens != typed:  # common words left out: near each other
                kept = [i for i, word in enumerate(typed) if word not in STOP_WORDS]
                near = kept[-1] - kept[0] - 1  # the words between the first and the last kept
                phrase = "NEAR(" + " ".join(f'"{token}"' for token in tokens) + f", {near})"
            parts.append(f"speaker : {phrase}" if column else f"{{text speaker}} : {phrase}")
        match = " AND ".join(parts)
        if self.kinds:
            match += " AND kind : (" + " OR ".join(self.kinds) + ")"
        others = self.other_pks
        if others is None or len(self.channel_pks) <= len(others):
            match += " AND scope : (" + " OR ".join(f"ch{pk}" for pk in self.channel_pks) + ")"
        elif others:
            match += " NOT scope : (" + " OR ".join(f"ch{pk}" for pk in others) + ")"
        return match

    def tsquery(self, loose: bool = False) -> str:
        """The words in PostgreSQL's ``to_tsquery`` language: quoted lexemes, ``<->`` within a
        phrase (with *loose*, ``&``), the speaker's of weight ``A`` (a plain word matches the text
        or the speaker). Only phrases and the speaker make the index check the rows it finds."""
        parts = []
        for column, _kept, tokens in self._terms(loose):
            weight = ":A" if column else ""
            lexemes = [f"'{token}'{weight}" for token in tokens]
            parts.append(lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")")
        return " & ".join(parts)

    def tsquery_filter(self) -> str | None:
        """The channels (or the channels not) and the kinds as a ``tsquery`` of the literal
        lexemes the index holds for them; None when nothing is to be filtered."""
        parts = []
        if self.kinds:
            parts.append("(" + " | ".join(f"'k#{kind}'" for kind in self.kinds) + ")")
        others = self.other_pks
        if others is None or len(self.channel_pks) <= len(others):
            parts.append("(" + " | ".join(f"'ch#{pk}'" for pk in self.channel_pks) + ")")
        elif others:
            parts.append("!(" + " | ".join(f"'ch#{pk}'" for pk in others) + ")")
        return " & ".join(parts) or None


@dataclass(frozen=True)
class NoteHit:
    """One note found, with what a result line shows of it and its meeting."""

    note_id: int
    meeting_id: int
    channel_pk: int
    meeting_title: str | None
    meeting_at: datetime  # when the meeting started (or was prepared), UTC
    meeting_timezone: str | None
    section_title: str | None
    speaker: str | None
    kind: str
    text: str  # the note's text, matched words between MARK_START and MARK_END
    wikitext: bool  # the note was imported as wikitext
    source_wiki: str | None  # an imported meeting's wiki (its api.php address) ...
    source_page: str | None  # ... and page
    published_url: str | None  # the wiki page the minutes were last published to


@dataclass(frozen=True)
class NotePage:
    """One page of results, best first, and whether more follow."""

    hits: tuple[NoteHit, ...]
    offset: int
    more: bool
    recent_only: bool = False  # more than RANKED notes matched: the best of the most recent RANKED


def search_notes(session: Session, query: NoteQuery, offset: int = 0, limit: int = 10) -> NotePage:
    """The notes that match *query*, best first, from *offset*: at most *limit* of them.

    When more than :data:`RANKED` notes match (a common word in every channel), the best are
    those of the :data:`RANKED` most recent matches (:attr:`NotePage.recent_only`): ranking
    costs a little for every note ranked, and finding the most recent matches costs nearly
    nothing, so a search stays fast however common its words.
    """
    if not query.channel_pks or not query.searchable():
        return NotePage((), offset, False)
    sqlite = session.get_bind().dialect.name == "sqlite"
    ids, recent_only = _ranked_ids(session, query, sqlite, offset, limit + 1)
    more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return NotePage((), offset, False, recent_only)
    marked = _highlighted(session, query, sqlite, ids)
    return NotePage(_allowed(_hits(session, ids, marked), query), offset, more, recent_only)


def _filters(query: NoteQuery, sqlite: bool) -> tuple[str, dict[str, object]]:
    """The SQL conditions on meetings ``m`` (the dates) and their values; the channels and kinds
    are filtered by the index itself."""
    sql, params = "", {}
    for name, value, op in (("after", query.after, ">="), ("before", query.before, "<")):
        if value is not None:
            sql += f" AND coalesce(m.started_at, m.created_at) {op} :{name}"
            params[name] = _stored_time(value, sqlite)
    return sql, params


def _stored_time(moment: datetime, sqlite: bool) -> object:
    """A UTC moment as the ``UTCDateTime`` columns hold it (SQLite: text that sorts as time)."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else naive


def _expanding(sql: str, params: dict[str, object]) -> object:
    """The statement, with the list of note ids (if any) bound as a list."""
    statement = text(sql)
    if "ids" in params:
        statement = statement.bindparams(bindparam("ids", expanding=True))
    return statement


def _ranked_ids(session: Session, query: NoteQuery, sqlite: bool, offset: int, limit: int) -> tuple[list[int], bool]:
    """The ids of the matching notes from *offset*, best first (ties: the newest note first),
    and whether only the most recent :data:`RANKED` matches were ranked."""
    filters, params = _filters(query, sqlite)
    params.update(limit=limit, offset=offset, ranked=RANKED)
    if sqlite:
        params["match"] = query.fts5()
        if filters:  # dates: the meetings' rows are needed
            sql = (
                "SELECT n.id FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid "
                "JOIN meetings m ON m.id = n.meeting_id "
                f"WHERE notes_fts MATCH :match{filters} ORDER BY notes_fts.rank LIMIT :limit OFFSET :offset"
            )
            return _ids(session, sql, params), False
        # The index alone: the newest matches come straight off it (phrases as mere words, a
        # little more than the matches, found much faster); FTS5 ranks them (bm25 over the text
        # and the speaker).
        floor = session.execute(
            text("SELECT rowid FROM notes_fts WHERE notes_fts MATCH :loose ORDER BY rowid DESC LIMIT 1 OFFSET :ranked"),
            {**params, "loose": query.fts5(loose=True)},
        ).scalar()
        recent = " AND rowid > :floor" if floor is not None else ""
        params["floor"] = floor
        sql = (
            f"SELECT rowid FROM notes_fts WHERE notes_fts MATCH :match{recent} "
            "ORDER BY rank LIMIT :limit OFFSET :offset"
        )
        return _ids(session, sql, params), floor is not None
    params["tsquery"] = query.tsquery()
    matched = "to_tsquery('english', :tsquery)"
    tsfilter = query.tsquery_filter()
    if tsfilter is not None:
        params["filter"] = tsfilter
        matched = f"({matched} && CAST(:filter AS tsquery))"
    meetings = " JOIN meetings m ON m.id = n.meeting_id" if filters else ""
    where = f"n.search_vector @@ {matched} AND n.deleted_at IS NULL{filters}"
    rank = f"ts_rank(n.search_vector, {matched}) DESC, n.id DESC"
    if filters:  # dates: every match is ranked
        return _ids(session, f"SELECT n.id FROM notes n{meetings} WHERE {where} ORDER BY {rank} {PAGE}", params), False
    # The planner's estimate of the matches (phrases as mere words) picks the way to the most
    # recent: few, all of them from the GIN index at once; many, those among the newest ids.
    loose = {**params, "loose": query.tsquery(loose=True)}
    loose_where = where.replace(":tsquery", ":loose")
    plan = session.execute(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM notes n WHERE {loose_where}"), loose).scalar()
    if _planned_rows(plan) <= FEW_MATCHES:
        sql = (
            f"WITH recent AS (SELECT n.id, n.search_vector FROM notes n WHERE {where} "
            "ORDER BY n.id + 0 DESC LIMIT :ranked + 1) "  # + 0: from the GIN index, not walking the ids
            "SELECT n.id, (SELECT count(*) FROM recent) FROM (SELECT * FROM recent ORDER BY id DESC LIMIT :ranked) n "
            f"ORDER BY {rank} {PAGE}"
        )
        rows = session.execute(text(sql), params).all()
        return [row[0] for row in rows], bool(rows) and rows[0][1] > RANKED
    # Many: the matches are spread over the notes, so about the last RANKED of them lie within the
    # newest RANKED / (share of notes matching) ids; the GIN index and the id range find those
    # without walking. Should the estimate be wrong and too few be there, all are searched.
    newest = session.execute(text("SELECT max(id) FROM notes")).scalar() or 0
    params["floor"] = newest - int(RANKED * newest / max(1.0, _planned_rows(plan)))
    ids = _ids(session, f"SELECT n.id FROM notes n WHERE {where} AND n.id > :floor ORDER BY {rank} {PAGE}", params)
    if len(ids) == params["limit"] or (offset and ids):
        return ids, True
    return _ids(session, f"SELECT n.id FROM notes n WHERE {where} ORDER BY {rank} {PAGE}", params), False


def _planned_rows(plan: object) -> float:
    """The rows PostgreSQL expects of an ``EXPLAIN (FORMAT JSON)``; a great many if it cannot say."""
    try:
        return float(plan[0]["Plan"]["Plan Rows"])  # type: ignore[index]
    except (TypeError, KeyError, IndexError, ValueError):
        return float("inf")


def _ids(session: Session, sql: str, params: dict[str, object]) -> list[int]:
    return [row[0] for row in session.execute(text(sql), params)]


def _highlighted(session: Session, query: NoteQuery, sqlite: bool, ids: list[int]) -> dict[int, str]:
    """The text of each of the notes *ids*, with the query's matched words marked."""
    params: dict[str, object] = {"ids": ids, "start": MARK_START, "end": MARK_END}
    if sqlite:
        params["match"] = query.fts5()
        sql = (
            "SELECT rowid, highlight(notes_fts, 0, :start, :end) FROM notes_fts "
            "WHERE notes_fts MATCH :match AND rowid IN :ids"
        )
    else:
        params["tsquery"] = query.tsquery()
        params["options"] = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
        sql = (
            "SELECT n.id, ts_headline('english', n.text, to_tsquery('english', :tsquery), :options) "
            "FROM notes n WHERE n.id IN :ids"
        )
    return {row[0]: row[1] for row in session.execute(_expanding(sql, params), params)}  # type: ignore[call-overload]


def _hits(session: Session, ids: list[int], marked: dict[int, str]) -> list[NoteHit]:
    """The notes *ids* with their meetings and sections, in the order of *ids*."""
    rows = session.execute(
        select(Note, Meeting, Section.title)
        .join(Meeting, Meeting.id == Note.meeting_id)
        .outerjoin(Section, Section.id == Note.section_id)
        .where(Note.id.in_(ids))
    ).all()
    meeting_ids = {meeting.id for _, meeting, _ in rows}
    published: dict[int, str] = {}
    for meeting_id, url in session.execute(
        select(Publication.meeting_id, Publication.url)
        .where(Publication.meeting_id.in_(meeting_ids))
        .order_by(Publication.draft.desc(), Publication.id)  # the last page that is not a draft wins
    ):
        published[meeting_id] = url
    by_id = {}
    for note, meeting, section_title in rows:
        by_id[note.id] = NoteHit(
            note_id=note.id,
            meeting_id=meeting.id,
            channel_pk=meeting.channel_pk,
            meeting_title=meeting.title,
            meeting_at=meeting.started_at or meeting.created_at,
            meeting_timezone=meeting.timezone,
            section_title=section_title,
            speaker=note.speaker,
            kind=str(note.kind),
            text=marked.get(note.id, note.text),
            wikitext=bool(note.wikitext),
            source_wiki=meeting.source_wiki,
            source_page=meeting.source_page,
            published_url=published.get(meeting.id),
        )
    return [by_id[note_id] for note_id in ids if note_id in by_id]


def _allowed(hits: list[NoteHit], query: NoteQuery) -> tuple[NoteHit, ...]:
    """Only the hits of the channels searched (what the index says, checked on the rows)."""
    allowed = set(query.channel_pks)
    return tuple(hit for hit in hits if hit.channel_pk in allowed)
