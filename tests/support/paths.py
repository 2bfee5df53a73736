"""Where things are in the checkout, for tests that run ``bot.py`` or read the repository's files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root (the directory with ``bot.py`` and ``pyproject.toml``)."""

BOT_SCRIPT = ROOT / "bot.py"
"""The bot's entry point, run as ``python bot.py`` as a user runs it."""

_SHARED = ROOT.parent / "shared" / "reference"
REPLAY = _SHARED / "tech-ii-2016-07.replay"
"""The seed meeting (Technology II, July 2016) as the slash commands that re-enact it."""

SEED = _SHARED / "000_a6ba07826f29178b.txt"
"""The seed minutes page, as Meta-Wiki renders it, as text."""
