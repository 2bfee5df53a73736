"""An in-memory wiki for the publishing tests: the core's wiki client without a MediaWiki.

It keeps revisions and lets the test play someone else editing a page, so that the rule "never
overwrite others' edits" can be checked without a server (the real MediaWiki tests do the rest).
"""

from __future__ import annotations

from reviewbot.core.publishing import EditConflict, PageState, SavedPage, WikiError


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
        return SavedPage(self.revids[title], "https://wiki.example/wiki/" + title.replace(" ", "_"))

    def someone_edits(self, title: str, text: str) -> None:
        self.next_rev += 1
        self.pages.setdefault(title, []).append(text)
        self.revids[title] = self.next_rev
