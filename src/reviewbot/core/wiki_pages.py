"""Reading pages from a wiki: what importing past minutes and importing an agenda need.

The core never talks to a wiki itself; it is given a :class:`WikiReader` (``reviewbot.wiki``
implements it with mwclient, the tests with a fake), the reading counterpart of publishing's
``WikiClient``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class WikiPage:
    """One page as the wiki holds it now: its wikitext, latest revision and address.

    ``first_edited`` is when the page was created (its first revision), which dates minutes
    whose intro line gives no year.
    """

    title: str
    text: str
    revision_id: int
    url: str
    first_edited: datetime | None = None


class WikiReader(Protocol):
    """The read operations the archive needs from a wiki."""

    name: str

    def read_page(self, title: str, dated: bool = True) -> WikiPage | None:
        """The page called *title*, or None when there is no such page; ``first_edited`` only
        when *dated* (it may cost the wiki another request)."""
        ...

    def titles_with_prefix(self, prefix: str) -> list[str]:
        """The titles of every page whose title starts with *prefix*, in title order."""
        ...
