"""What a wiki page shows, for comparing an imported page with its export: headings and list items.

Read with mwparserfromhell (headings by the parser; list items as the text of each list line), so
that a page and its export can be said to render the same even where their wikitext differs
(``==Foo==`` against ``== Foo ==``).
"""

from __future__ import annotations

import mwparserfromhell

from reviewbot.core.imports.lines import logical_lines
from tests.support.minutes_structure import plain


def headings(text: str) -> list[tuple[int, str]]:
    """Every heading of the page: its level and the text it shows."""
    return [(h.level, plain(str(h.title))) for h in mwparserfromhell.parse(text).filter_headings()]


def list_items(text: str) -> list[tuple[str, str]]:
    """Every list item of the page: its list prefix (``*``, ``#:``) and the text it shows."""
    items = []
    for line in logical_lines(text):
        prefix = line[: len(line) - len(line.lstrip("*#:;"))]
        if prefix:
            items.append((prefix, plain(line[len(prefix) :])))
    return items


def rendered_list_items(page_html: str) -> list[str]:
    """The text of every ``<li>``, ``<dd>`` and ``<dt>`` of a page as the wiki rendered it (nested
    items are their own entries, not part of their parent's text)."""
    from html.parser import HTMLParser

    class Items(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.items: list[str] = []
            self.open: list[int] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("li", "dd", "dt"):
                self.open.append(len(self.items))
                self.items.append("")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("li", "dd", "dt") and self.open:
                self.open.pop()

        def handle_data(self, data: str) -> None:
            if self.open:
                self.items[self.open[-1]] += data

    parser = Items()
    parser.feed(page_html)
    return [" ".join(item.split()) for item in parser.items]
