"""``/review scribe``: who takes the minutes by typing in the channel (scribe mode)."""

from __future__ import annotations

from collections.abc import Mapping

from reviewbot.core.context import Caller
from reviewbot.core.meetings import Meetings
from reviewbot.core.mentions import people_mentioned
from reviewbot.core.replies import Reply, Visibility

USAGE = "/review scribe me` or `/review scribe @name"
HOW = (
    "Their messages in this channel are the minutes, one note a line, written as with `/note` "
    "(`Speaker: text`, `> reply`, `action Owner: text`, `decision text`; `// aside` is left out). "
    "Replies in a section's thread are notes of that section, whoever writes them."
)


def scribe(meetings: Meetings, caller: Caller, text: str, mentions: Mapping[str, str]) -> Reply:
    """``/review scribe [me | @name ... | off [@name ...]]``: name scribes, list them, take them off."""
    words = text.split()
    verb = words[0].lower() if words else ""
    if not verb:
        names = meetings.scribes(caller)
        if not names:
            return Reply(f"No scribes yet: `{USAGE}` makes one. {HOW}")
        return Reply(f"Scribes: {', '.join(names)}. {HOW}")
    if verb in ("off", "stop", "remove"):
        rest = text.strip()[len(words[0]) :].strip()
        people = people_mentioned(rest, mentions, "/review scribe off @name") if rest else [_me(caller)]
        removed, names = meetings.remove_scribes(caller, people)
        if not removed:
            asked = ", ".join(name for _, name in people)
            scribes = f"Scribes: {', '.join(names)}." if names else "No one scribes."
            return Reply(f"{asked} {'is not a scribe' if len(people) == 1 else 'are not scribes'}. {scribes}")
        left = f"Scribes: {', '.join(names)}." if names else "No scribes left: take notes with `/note`."
        one = len(removed) == 1
        return Reply(f"✍️ {', '.join(removed)} no longer scribe{'s' if one else ''}. {left}", Visibility.CHANNEL)
    people = [_me(caller)] if verb == "me" and len(words) == 1 else people_mentioned(text, mentions, USAGE)
    added, names = meetings.add_scribes(caller, people)
    if not added:
        return Reply(f"Already scribes: {', '.join(names)}.")
    one = len(added) == 1
    return Reply(
        f"✍️ {', '.join(added)} {'is' if one else 'are'} now {'a scribe' if one else 'scribes'} of this meeting. {HOW}",
        Visibility.CHANNEL,
    )


def _me(caller: Caller) -> tuple[str, str]:
    return caller.user_id, caller.user_name
