"""The MediaWiki client behind publishing and the archive's import, using mwclient and a bot password.

Publishing saves pages (``page_state``, ``save``: the core's ``WikiClient``); the import reads them
(``read_page``, ``titles_with_prefix``: the core's ``WikiReader``). Reading needs no login when no
username is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import mwclient
import requests
from mwclient.errors import APIError, LoginError, MwClientError

from reviewbot.core.publishing import EditConflict, PageState, SavedPage, WikiError
from reviewbot.core.wiki_pages import WikiPage

log = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = "reviewbot/0.1 (meeting minutes bot)"


class MediaWikiClient:
    """A wiki reached through its ``api.php`` URL, logged in with a bot password."""

    def __init__(self, api_url: str, username: str, password: str, timeout: float = 15) -> None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path.endswith("api.php"):
            raise WikiError(f"WIKI_API_URL must be the wiki's api.php address, not {api_url!r}")
        self.name = api_url
        self._scheme, self._host = parts.scheme, parts.netloc
        self._path = parts.path[: -len("api.php")]
        self._username, self._password = username, password
        self._timeout = timeout
        self._site: mwclient.Site | None = None
        self._lock = threading.Lock()

    def _connect(self) -> mwclient.Site:
        with self._lock:
            if self._site is None:
                site = mwclient.Site(
                    self._host,
                    path=self._path,
                    scheme=self._scheme,
                    clients_useragent=USER_AGENT,
                    max_retries=2,
                    retry_timeout=2,
                    connection_options={"timeout": self._timeout},
                )
                if self._username:
                    site.login(self._username, self._password)
                self._site = site
            return self._site

    def _call(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except LoginError:
            self._site = None
            raise WikiError(
                "the wiki refused the login: check WIKI_USERNAME (User@botname) and WIKI_PASSWORD"
            ) from None
        except APIError as error:
            if error.code in ("editconflict", "articleexists"):
                raise EditConflict(error.code) from None
            if error.code in ("ratelimited", "actionthrottledtext"):
                raise WikiError("the wiki is rate-limiting edits; try `/review publish` again in a minute") from None
            raise WikiError(f"the wiki refused to {what}: {error.code} ({error.info})") from None
        except (requests.RequestException, OSError) as error:
            self._site = None
            raise WikiError(f"could not reach the wiki at {self._host} ({type(error).__name__})") from None
        except MwClientError as error:
            raise WikiError(f"the wiki refused to {what}: {type(error).__name__}") from None

    def page_state(self, title: str) -> PageState:
        """Whether the page exists, and its latest revision."""

        def read() -> PageState:
            page = self._connect().pages[title]
            return PageState(exists=bool(page.exists), revision_id=page.revision or None)

        return self._call("read the page", read)

    def save(self, title: str, text: str, summary: str, base_revision: int | None, create_only: bool) -> SavedPage:
        """Save the page; only if it does not exist when *create_only*, else only over *base_revision*."""

        def write() -> SavedPage:
            site = self._connect()
            page = site.pages[title]
            kwargs: dict[str, object] = {}
            if create_only:
                kwargs["createonly"] = True
            elif base_revision is not None:
                if page.revision != base_revision:
                    raise EditConflict("changed since it was read")
                kwargs["baserevid"] = base_revision
            result = page.edit(text, summary=summary, bot=True, **kwargs)
            revision = int(result.get("newrevid") or result.get("oldrevid") or page.revision or 0)
            return SavedPage(revision_id=revision, url=self._page_url(site, title))

        return self._call("save the page", write)

    def _page_url(self, site: mwclient.Site, title: str) -> str:
        server = site.site.get("server", f"{self._scheme}://{self._host}")
        if server.startswith("//"):
            server = f"{self._scheme}:{server}"
        article_path = site.site.get("articlepath", "/index.php?title=$1")
        return server + article_path.replace("$1", quote(title.replace(" ", "_"), safe="/:"))

    def read_page(self, title: str, dated: bool = True) -> WikiPage | None:
        """The page called *title* (following a redirect) as it is now, or None if there is none;
        when *dated*, with its first revision's time (a second request)."""

        def read() -> WikiPage | None:
            site = self._connect()
            latest = _first_page(
                site.get("query", prop="revisions", titles=title, redirects=1, rvprop="ids|content",
                         rvslots="main", formatversion=2)
            )  # fmt: skip
            if latest is None or latest.get("missing") or not latest.get("revisions"):
                return None
            revision = latest["revisions"][0]
            return WikiPage(
                title=latest["title"],
                text=revision["slots"]["main"].get("content", ""),
                revision_id=int(revision["revid"]),
                url=self._page_url(site, latest["title"]),
                first_edited=_created(site, latest["pageid"]) if dated else None,
            )

        return self._call("read the page", read)

    def titles_with_prefix(self, prefix: str) -> list[str]:
        """The titles of every page (not redirect) whose title starts with *prefix*, in title order."""

        def titles() -> list[str]:
            site = self._connect()
            namespace, rest = 0, prefix
            name, colon, after = prefix.partition(":")
            if colon:
                known = {str(n).casefold(): number for number, n in site.namespaces.items() if n}
                if name.strip().casefold() in known:
                    namespace, rest = known[name.strip().casefold()], after
            pages = site.allpages(prefix=rest.replace(" ", "_"), namespace=str(namespace), filterredir="nonredirects")
            return sorted(page.name for page in pages)

        return self._call("list the pages", titles)


def _created(site: mwclient.Site, page_id: int) -> datetime | None:
    """When the page was created: its first revision's time."""
    first = _first_page(
        site.get("query", prop="revisions", pageids=page_id, rvdir="newer", rvlimit=1, rvprop="timestamp",
                 formatversion=2)
    )  # fmt: skip
    if not first or not first.get("revisions"):
        return None
    return datetime.strptime(first["revisions"][0]["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _first_page(result: dict[str, Any]) -> dict[str, Any] | None:
    pages = result.get("query", {}).get("pages") or []
    return pages[0] if pages else None
