"""``reviewbot import --wiki-prefix`` against the local MediaWiki: pages under one prefix, one of
them edited several times, imported, imported again (updated, not duplicated), and exported.

Needs ``MEDIAWIKI_API_URL`` and the admin and bot accounts of ``scripts/mediawiki-test-server.sh``;
skipped without them, unless ``REVIEWBOT_REQUIRE_MEDIAWIKI=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.parse
import urllib.request
import uuid

import pytest
from sqlalchemy import func, select

from reviewbot.config import Settings
from reviewbot.import_command import run_import
from reviewbot.runtime import build_runtime
from reviewbot.store.schema import Meeting
from tests.support.doubles import FakeClock
from tests.support.mediawiki import API_URL, admin_site, need_mediawiki
from tests.support.paths import EXAMPLES, ROOT
from tests.support.wiki_structure import rendered_list_items

MESSY = ROOT / "tests" / "data" / "imports"

pytestmark = [pytest.mark.mediawiki, pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)]


def _parse(text: str) -> dict:
    data = urllib.parse.urlencode(
        {"action": "parse", "text": text, "contentmodel": "wikitext", "title": "Import check", "prop": "text|sections",
         "disableeditsection": "1", "format": "json", "formatversion": "2"}
    ).encode()  # fmt: skip
    with urllib.request.urlopen(API_URL, data, timeout=60) as response:
        return json.load(response)["parse"]


def _shown(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The headings (level and title) and list items of *text* as the wiki renders it."""
    parsed = _parse(text)
    return [(s["level"], s["line"]) for s in parsed["sections"]], rendered_list_items(parsed["text"])


def _args(prefix: str) -> argparse.Namespace:
    return argparse.Namespace(file=None, wiki=None, wiki_prefix=prefix, channel=None, workspace=None)


def test_import_a_prefix_from_mediawiki_again_and_export(database_url, capsys):
    need_mediawiki()
    site = admin_site()
    prefix = f"Import test {uuid.uuid4().hex[:8]}/"
    seed = (EXAMPLES / "tech-ii-2016-07.wiki").read_text().split("-->\n", 1)[1]
    search = (EXAMPLES / "search-platform-2026-q3.wiki").read_text().split("-->\n", 1)[1]
    no_year = search.replace("Search Platform, July 14,", "Infrastructure, March 3,")
    pages = {
        "Tech II, July 2016": seed,
        "Mobile Apps, Q1 2014-15": (MESSY / "mobile-2014-q3.wiki").read_text(),
        "Design, January 2015": (MESSY / "design-2015-01.wiki").read_text(),
        "Infrastructure": no_year,
        "Lunch": "We had lunch. No minutes.",
    }
    for title, text in pages.items():
        site.pages[prefix + title].edit(text, summary="import test")
    # The search review's page is written in three edits; the import reads the last.
    versions = [search.split("== Indexing pipeline ==")[0], search.replace("\n== Open questions ==", ""), search]
    for text in versions:
        site.pages[prefix + "Search Platform, Q3 2026"].edit(text, summary="import test, in steps")

    settings = Settings(
        database_url=database_url, wiki_api_url=API_URL, timezone="America/Los_Angeles",
        wiki_username=os.environ.get("MEDIAWIKI_BOT_USER"), wiki_password=os.environ.get("MEDIAWIKI_BOT_PASSWORD"),
    )  # fmt: skip
    assert run_import(_args(prefix), settings, clock=FakeClock()) == 0
    out = capsys.readouterr().out
    assert "imported 5 meetings," in out and f"skipped 1 page: {prefix}Lunch (no headings or notes)" in out

    site.pages[prefix + "Search Platform, Q3 2026"].edit(search + "* Dana: one more thing\n", summary="late note")
    assert run_import(_args(prefix), settings, clock=FakeClock()) == 0
    assert "imported 5 meetings (0 new, 5 updated)" in capsys.readouterr().out

    runtime = build_runtime(settings, clock=FakeClock())
    try:
        with runtime.db.read() as session:
            assert session.scalar(select(func.count(Meeting.id))) == 5
            meetings = {m.source_page.removeprefix(prefix): m for m in session.scalars(select(Meeting))}
        latest = site.pages[prefix + "Search Platform, Q3 2026"]
        assert meetings["Search Platform, Q3 2026"].source_revision == latest.revision
        assert meetings["Search Platform, Q3 2026"].source_wiki == API_URL
        created = next(iter(site.pages[prefix + "Infrastructure"].revisions(dir="newer", max_items=1)))["timestamp"]
        assert meetings["Infrastructure"].started_at.year == created.tm_year  # no year on the page

        def export(title: str) -> str:
            return runtime.commands.minutes_file(runtime.meetings.record(meetings[title].id)).content

        for title in ("Tech II, July 2016", "Infrastructure"):
            assert export(title) == pages[title]  # line for line
        assert "* Dana: one more thing" in export("Search Platform, Q3 2026")
        for title in ("Mobile Apps, Q1 2014-15", "Design, January 2015", "Search Platform, Q3 2026"):
            saved = site.pages[prefix + title].text(cache=False)
            assert _shown(export(title)) == _shown(saved), title
    finally:
        runtime.close()
