"""People named in a command's text by @-mention, matched to their user ids."""

from __future__ import annotations

import re
from collections.abc import Mapping

from reviewbot.core.context import UserError


def people_mentioned(text: str, mentions: Mapping[str, str], usage: str) -> list[tuple[str, str]]:
    """``(user_id, name)`` of everyone *text* mentions; *mentions* maps each ``@Name`` the adapter
    recognised to its user id. A word that is not a mention is a mistake: the :class:`UserError`
    shows *usage* (say ``/review chair @name``)."""
    people: list[tuple[str, str]] = []
    rest = text
    # Longest names first, so that "@Ann Lee" is not taken for "@Ann" followed by "Lee".
    for name, user_id in sorted(mentions.items(), key=lambda item: -len(item[0])):
        pattern = re.compile("@" + re.escape(name.lstrip("@")), re.IGNORECASE)
        if pattern.search(rest):
            rest = pattern.sub(" ", rest)
            people.append((user_id, name.lstrip("@")))
    leftover = " ".join(w for w in re.split(r"[\s,;]+", rest) if w and w.lower() != "and")
    if leftover or not people:
        raise UserError(
            f"Mention each person with @ so I know who they are: `{usage}`"
            + (f" (I could not tell who “{leftover}” is)." if leftover else ".")
        )
    return people
