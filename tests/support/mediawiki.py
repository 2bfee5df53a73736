"""The local MediaWiki of ``scripts/mediawiki-test-server.sh``, for the tests that use a real wiki.

A test calls :func:`need_mediawiki` first: it is skipped without ``MEDIAWIKI_API_URL``, unless
``REVIEWBOT_REQUIRE_MEDIAWIKI=1`` (as in CI), when it fails. :func:`admin_site` writes pages as
the wiki's admin (someone else than the bot).
"""

from __future__ import annotations

import os
import urllib.parse

import pytest

API_URL = os.environ.get("MEDIAWIKI_API_URL")


def need_mediawiki() -> str:
    """The wiki's api.php address; the test is skipped (or fails, when it is required) without one."""
    if not API_URL:
        if os.environ.get("REVIEWBOT_REQUIRE_MEDIAWIKI") == "1":
            pytest.fail("MEDIAWIKI_API_URL is not set but REVIEWBOT_REQUIRE_MEDIAWIKI=1")
        pytest.skip("no MediaWiki (run scripts/mediawiki-test-server.sh)")
    return API_URL


def admin_site():
    """An mwclient site logged in as the wiki's admin."""
    import mwclient

    parts = urllib.parse.urlsplit(need_mediawiki())
    site = mwclient.Site(parts.netloc, path=parts.path.removesuffix("api.php"), scheme=parts.scheme)
    site.login(os.environ["MEDIAWIKI_ADMIN_USER"], os.environ["MEDIAWIKI_ADMIN_PASSWORD"])
    return site
