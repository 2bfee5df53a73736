"""Publishing minutes to a wiki: never overwriting others' edits, clear errors, a real MediaWiki."""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
import uuid
from dataclasses import replace

import pytest

from reviewbot.config import Settings
from reviewbot.console import CHANNEL, WORKSPACE, Console
from reviewbot.core import Caller
from reviewbot.core.publishing import WikiError
from reviewbot.runtime import build_runtime
from tests.support.doubles import FakeClock
from tests.support.fakewiki import FakeWiki
from tests.support.mediawiki import API_URL, admin_site, need_mediawiki

CALLER = Caller(WORKSPACE, CHANNEL, "tilman", "tilman")


def run_meeting(console: Console, title: str = "Tech II", note: str = "Katherine: congrats") -> None:
    for line in ["/review agenda add Backup Datacenter", f"/review start {title}", f"/note {note}", "/review end"]:
        console.run_line("@tilman " + line)


@pytest.fixture
def wiki_runtime(settings, clock):
    wiki = FakeWiki()
    rt = build_runtime(replace(settings, wiki_page_title="Reviews/{title}, {month} {year}"), clock=clock, wiki=wiki)
    yield rt, wiki
    rt.close()


def test_end_publishes_and_publish_again_overwrites_own_page(wiki_runtime, capsys):
    rt, wiki = wiki_runtime
    console = Console(rt.commands, publisher=rt.publisher)
    run_meeting(console)
    out = capsys.readouterr().out
    assert (
        "Minutes published to the wiki: Reviews/Tech II, July 2016 "
        "(https://wiki.example/wiki/Reviews/Tech_II,_July_2016)" in out
    )
    assert list(wiki.pages) == ["Reviews/Tech II, July 2016"]
    assert "* Katherine: congrats" in wiki.pages["Reviews/Tech II, July 2016"][-1]
    console.run_line("@tilman /review publish last")
    assert "Minutes published" in capsys.readouterr().out
    assert len(wiki.pages["Reviews/Tech II, July 2016"]) == 2


def test_someone_elses_edit_is_never_overwritten(wiki_runtime, capsys):
    rt, wiki = wiki_runtime
    console = Console(rt.commands, publisher=rt.publisher)
    run_meeting(console)
    wiki.someone_edits("Reviews/Tech II, July 2016", "fixed a typo by hand")
    console.run_line("@tilman /review publish")
    out = capsys.readouterr().out
    assert "was edited by someone else" in out and "draft" in out
    assert wiki.pages["Reviews/Tech II, July 2016"][-1] == "fixed a typo by hand"
    assert "Reviews/Tech II, July 2016/reviewbot draft" in wiki.pages


def test_existing_page_not_created_by_the_bot_is_not_overwritten(wiki_runtime, capsys):
    rt, wiki = wiki_runtime
    wiki.someone_edits("Reviews/Tech II, July 2016", "a human's page")
    run_meeting(Console(rt.commands, publisher=rt.publisher))
    assert "was edited by someone else" in capsys.readouterr().out
    assert wiki.pages["Reviews/Tech II, July 2016"] == ["a human's page"]


def test_wiki_errors_are_one_clear_message_and_lose_nothing(wiki_runtime, capsys):
    rt, wiki = wiki_runtime
    wiki.fail = WikiError("the wiki refused the login: check WIKI_USERNAME (User@botname) and WIKI_PASSWORD")
    console = Console(rt.commands, publisher=rt.publisher)
    run_meeting(console)
    out = capsys.readouterr().out
    assert "Could not publish meeting #1 to the wiki: the wiki refused the login" in out
    assert "`/review publish 1` tries again" in out
    assert "* Katherine: congrats" in out  # the draft was still posted
    wiki.fail = None
    console.run_line("@tilman /review publish 1")
    assert "Minutes published" in capsys.readouterr().out


def test_publish_without_wiki_settings_explains(runtime, capsys):
    console = Console(runtime.commands)
    run_meeting(console)
    console.run_line("@tilman /review publish")
    assert "Publishing to a wiki is not set up" in capsys.readouterr().out


# -- a real MediaWiki (scripts/mediawiki-test-server.sh) -------------------------------------------


def _api(**params: str) -> dict:
    query = urllib.parse.urlencode({**params, "format": "json", "formatversion": "2"})
    with urllib.request.urlopen(f"{API_URL}?{query}", timeout=30) as response:
        return json.load(response)


def _wiki_settings(database_url: str, password: str | None = None) -> Settings:
    return Settings(
        database_url=database_url,
        wiki_api_url=API_URL,
        wiki_username=os.environ.get("MEDIAWIKI_BOT_USER"),
        wiki_password=password or os.environ.get("MEDIAWIKI_BOT_PASSWORD"),
        wiki_page_title="Quarterly reviews/{title}, {month} {year}",
    )


@pytest.mark.mediawiki
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_publish_to_a_real_mediawiki(database_url, capsys):
    need_mediawiki()
    title = f"Tech II {uuid.uuid4().hex[:8]}"
    rt = build_runtime(_wiki_settings(database_url), clock=FakeClock())
    console = Console(rt.commands, publisher=rt.publisher)
    hostile = "Katherine: [[Category:Spam]] {{subst:PAGENAME}} ~~~~ <b>x</b> & more"
    run_meeting(console, title=title, note=hostile)
    out = capsys.readouterr().out
    assert "Minutes published to the wiki" in out, out
    page = f"Quarterly reviews/{title}, July 2016"
    saved = _api(action="query", prop="revisions", titles=page, rvprop="content|user", rvslots="main")
    revision = saved["query"]["pages"][0]["revisions"][0]
    sent = rt.commands.minutes_file(rt.meetings.record(1)).content
    assert revision["slots"]["main"]["content"].strip() == sent.strip()  # no pre-save transform happened
    parsed = _api(action="parse", page=page, prop="text|categories|templates|links")["parse"]
    assert parsed["categories"] == [] and parsed["templates"] == [] and parsed["links"] == []
    assert _list_items(parsed["text"]) == [hostile]

    # Someone edits the page by hand: the next publish goes to a draft subpage.
    admin = admin_site()
    admin.pages[page].edit("A human fixed this.", summary="manual edit")
    console.run_line("@tilman /review publish 1")
    out = capsys.readouterr().out
    assert "was edited by someone else" in out
    assert admin.pages[page].text() == "A human fixed this."
    assert "Katherine" in admin.pages[page + "/reviewbot draft"].text()
    rt.close()


@pytest.mark.mediawiki
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wrong_bot_password_is_reported_clearly(database_url, capsys):
    need_mediawiki()
    rt = build_runtime(_wiki_settings(database_url, password="wrong-password-0000000000000000"), clock=FakeClock())
    run_meeting(Console(rt.commands, publisher=rt.publisher), title=f"Bad {uuid.uuid4().hex[:6]}")
    out = capsys.readouterr().out
    assert "Could not publish meeting #1 to the wiki: the wiki refused the login" in out
    assert "wrong-password" not in out
    rt.close()


@pytest.mark.mediawiki
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unreachable_wiki_is_reported_clearly(database_url, capsys):
    need_mediawiki()
    settings = replace(_wiki_settings(database_url), wiki_api_url="http://127.0.0.1:9/api.php")
    rt = build_runtime(settings, clock=FakeClock())
    run_meeting(Console(rt.commands, publisher=rt.publisher), title="Offline")
    assert "could not reach the wiki at 127.0.0.1:9" in capsys.readouterr().out
    rt.close()


def _list_items(page_html: str) -> list[str]:
    """The text of every <li> of rendered HTML."""
    from html.parser import HTMLParser

    class Items(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.items: list[str] = []
            self.depth = 0

        def handle_starttag(self, tag, attrs):
            if tag == "li":
                self.depth += 1
                self.items.append("")

        def handle_endtag(self, tag):
            if tag == "li":
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.items[-1] += data

    parser = Items()
    parser.feed(page_html)
    return [item.strip() for item in parser.items]
