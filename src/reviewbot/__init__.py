"""reviewbot: runs review meetings from a prepared agenda and hands over wiki-ready minutes."""

__version__ = "0.1.0"
