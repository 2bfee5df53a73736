"""Where things are in the checkout, for tests that run ``bot.py`` or read the repository's files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root (the directory with ``bot.py`` and ``pyproject.toml``)."""

BOT_SCRIPT = ROOT / "bot.py"
"""The bot's entry point, run as ``python bot.py`` as a user runs it."""

EXAMPLES = ROOT / "examples"
"""Example meetings: each ``NAME.replay`` and the minutes it gives, ``NAME.wiki``."""

REPLAY = EXAMPLES / "tech-ii-2016-07.replay"
"""The seed meeting (Technology II, July 2016) as the slash commands that re-enact it."""

SEED = EXAMPLES / "tech-ii-2016-07.meta-wiki.txt"
"""The seed minutes page, as Meta-Wiki renders it, as text."""
