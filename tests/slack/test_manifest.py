"""manifest.yml declares what the bot listens to: commands, the shortcut, events, scopes."""

from __future__ import annotations

import re

import pytest

from reviewbot.slack import blocks
from tests.support.paths import ROOT

MANIFEST = (ROOT / "manifest.yml").read_text()


def values(key: str) -> list[str]:
    return re.findall(rf"^\s*-?\s*{key}:\s*(\S.*?)\s*$", MANIFEST, re.MULTILINE)


def list_under(key: str) -> list[str]:
    block = re.search(rf"^(\s*){key}:\n((?:\1\s+-.*\n)+)", MANIFEST, re.MULTILINE)
    assert block, key
    return [line.strip()[2:] for line in block.group(2).splitlines()]


def test_manifest_matches_the_listeners():
    assert values("command") == ["/review", "/note"]
    assert values("should_escape") == ["true", "true"]  # mentions arrive as <@U...> for /review chair
    assert all(len(hint.strip('"')) <= 1000 for hint in values("usage_hint"))
    assert values("callback_id") == [blocks.ADD_TO_MINUTES] and values("type") == ["message"]
    assert len(values("name")[1]) <= 24  # a shortcut's name
    assert list_under("bot_events") == [
        "app_home_opened",
        "message.channels",
        "message.groups",  # scribe mode
        "team_join",  # display names known ahead (users:read)
        "user_change",
    ]
    assert set(list_under("bot")) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "users:read",
        "channels:history",
        "groups:history",
        "reactions:write",  # scribe mode: read messages, react
        "channels:read",  # search: which channels are public (conversations.info)
    }
    assert values("home_tab_enabled") == ["true"] and values("is_enabled") == ["true"]
    assert values("socket_mode_enabled") == ["true"]
    assert "\t" not in MANIFEST


def test_manifest_is_valid_yaml():
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(MANIFEST)
    assert [c["command"] for c in data["features"]["slash_commands"]] == ["/review", "/note"]
    assert data["features"]["shortcuts"][0]["callback_id"] == blocks.ADD_TO_MINUTES
    assert data["settings"]["socket_mode_enabled"] is True
