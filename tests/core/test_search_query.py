"""The search query language (core/search.py): words, phrases, speaker, dates, kinds, scope;
excerpts, anchors and the plain-text rendering."""

from __future__ import annotations

from datetime import date

import pytest

from reviewbot.core.context import UserError
from reviewbot.core.replies import Link
from reviewbot.core.search import (
    ParsedQuery,
    Result,
    SearchResults,
    anchor,
    excerpt,
    parse,
    results_text,
    segments_of,
)
from reviewbot.store.search import MARK_END, MARK_START, NoteQuery


def test_words_phrases_and_operators():
    assert parse('budget "next quarter" speaker:Katherine after:2016-07 before:2017 is:action in:all') == (
        ParsedQuery(
            words=("budget",),
            phrases=("next quarter",),
            speaker="Katherine",
            kinds=("action",),
            after=date(2016, 7, 1),
            before=date(2017, 1, 1),
            everywhere=True,
        )
    )
    assert parse('speaker:"Katherine Maher" IS:Decision').speaker == "Katherine Maher"
    assert parse("is:decision is:action").kinds == ("decision", "action")
    assert parse("“smart quotes”").phrases == ("smart quotes",)
    assert parse('"unclosed phrase').phrases == ("unclosed phrase",)
    assert parse("Q3: http://example.org/x").words == ("Q3:", "http://example.org/x")
    assert parse("after:2016-07-14").after == date(2016, 7, 14)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("after:2016-02-30", "not a date"),
        ("before:tomorrow", "not a date"),
        ("is:open", "is:action"),
        ("in:general", "in:all"),
        ("speaker:", "needs a name"),
    ],
)
def test_mistakes(text, says):
    with pytest.raises(UserError) as error:
        parse(text)
    assert says in str(error.value)


def test_engine_queries_are_built_from_word_tokens_only():
    query = NoteQuery((1,), words=('bud"get', "it's"), phrases=("next  quarter",), speaker="Katherine Maher")
    words = '{text speaker} : "bud" AND {text speaker} : "get"'  # "it" and "s" are too common
    assert query.fts5() == (
        f'{words} AND {{text speaker}} : "next quarter" AND speaker : "katherine maher" AND scope : (ch1)'
    )
    # The channels searched, or those not searched, whichever list is shorter; and the kinds.
    assert NoteQuery((1, 2, 3), (4,), words=("x",), kinds=("action",)).fts5() == (
        '{text speaker} : "x" AND kind : (action) NOT scope : (ch4)'
    )
    assert NoteQuery((1,), (2, 3), words=("x",)).fts5() == '{text speaker} : "x" AND scope : (ch1)'
    assert NoteQuery((1, 2), (), words=("x",)).fts5() == '{text speaker} : "x"'
    assert query.tsquery() == "'bud' & 'get' & ('next' <-> 'quarter') & ('katherine':A <-> 'maher':A)"
    assert query.tsquery_filter() == "('ch#1')"
    assert NoteQuery((1, 2, 3), (4,), kinds=("action", "decision")).tsquery_filter() == (
        "('k#action' | 'k#decision') & !('ch#4')"
    )
    assert NoteQuery((1, 2), ()).tsquery_filter() is None
    assert not NoteQuery((1,), words=("!!!", "--")).searchable()
    assert not NoteQuery((1,), words=("the", "of"), phrases=("and the",)).searchable()
    stopped = NoteQuery((1,), words=("the", "budget"), phrases=("state of the art", "the plan"))
    assert stopped.fts5() == (
        '{text speaker} : "budget" AND {text speaker} : NEAR("state" "art", 2) AND {text speaker} : "plan" '
        "AND scope : (ch1)"
    )
    assert stopped.fts5(loose=True) == (
        '{text speaker} : "budget" AND {text speaker} : "state" AND {text speaker} : "art" '
        'AND {text speaker} : "plan" AND scope : (ch1)'
    )
    assert stopped.tsquery() == "'budget' & ('state' <-> 'of' <-> 'the' <-> 'art') & ('the' <-> 'plan')"


def test_segments_and_excerpts():
    marked = f"we cut the {MARK_START}budget{MARK_END} by {MARK_START}half{MARK_END}"
    assert segments_of(marked) == (("we cut the ", False), ("budget", True), (" by ", False), ("half", True))
    long = (("x" * 500, False), ("budget", True), ("y" * 500, False))
    cut = excerpt(long, 100)
    assert cut[0] == ("…", False) and ("budget", True) in cut and cut[-1] == ("…", False)
    assert sum(len(text) for text, _ in cut) <= 102
    assert excerpt((("short", False),), 100) == (("short", False),)


def test_anchor_is_mediawikis():
    assert anchor("Budget review") == "Budget_review"
    assert anchor("Q&A  and  more") == "Q&A_and_more"
    assert anchor("Über 100%") == "%C3%9Cber_100%25"


def test_plain_text():
    result = Result(
        note_id=1, meeting_id=2, meeting_title="Tech Q1", meeting_date=date(2016, 7, 14), section="Budget",
        speaker="Wes", kind="action", segments=(("cut the ", False), ("budget", True)),
        link=Link("https://wiki.example/wiki/Tech_Q1#Budget", "Tech Q1"),
    )  # fmt: skip
    text = results_text(SearchResults("budget", (result,), 0, True, False))
    assert "Results 1–1 for `budget` in the minutes of this channel (more follow)" in text
    assert "1. Tech Q1, July 14, 2016 · Budget · Wes · action (https://wiki.example/wiki/Tech_Q1#Budget)" in text
    assert "cut the *budget*" in text
    assert "Nothing found" in results_text(SearchResults("zeppelin", (), 0, False, False))
