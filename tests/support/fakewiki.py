"""An in-memory wiki for the publishing and reading tests: the core's wiki client (and reader)
without a MediaWiki.

It keeps revisions and lets the test play someone else editing a page, so that the rule "never
overwrite others' edits" can be checked without a server (the real MediaWiki tests do the rest).
"""

from __future__ import annotations

from reviewbot.core.publishing import EditConflict, PageState, SavedPage, WikiError
from reviewbot.core.wiki_pages import WikiPage


class FakeWiki:
    """An in-memory wiki: pages with revisions, and someone else who can edit them."""

    name = "https://wiki.example/w/api.php"

    def __init__(self) -> None:
        self.pages: dict[str, list[str]] = {}
        self.revids: dict[str, int] = {}
        self.next_rev = 100
        self.fail: WikiError | None = None

    def page_state(self, title: str) -> PageState:
        if self.fail:
            raise self.fail
        return PageState(title in self.pages, self.revids.get(title))

    def save(self, title: str, text: str, summary: str, base_revision: int | None, create_only: bool) -> SavedPage:
        if self.fail:
            raise self.fail
        if create_only and title in self.pages:
            raise EditConflict("articleexists")
        if base_revision is not None and self.revids.get(title) != base_revision:
            raise EditConflict("editconflict")
        self.someone_edits(title, text)
        return SavedPage(self.revids[title], self.url(title))

    def read_page(self, title: str, dated: bool = True) -> WikiPage | None:
        if self.fail:
            raise self.fail
        if title not in self.pages:
            return None
        return WikiPage(title, self.pages[title][-1], self.revids[title], self.url(title))

    def titles_with_prefix(self, prefix: str) -> list[str]:
        if self.fail:
            raise self.fail
        return sorted(title for title in self.pages if title.startswith(prefix))

    @staticmethod
    def url(title: str) -> str:
        return "https://wiki.example/wiki/" + title.replace(" ", "_")

    def someone_edits(self, title: str, text: str) -> None:
        self.next_rev += 1
        self.pages.setdefault(title, []).append(text)
        self.revids[title] = self.next_rev
