"""Logging set-up: one format, quiet libraries, and no secret ever written to a log."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")
_PASSWORD_URL = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def redact(text: str) -> str:
    """*text* with Slack tokens and passwords in URLs replaced by ``***``."""
    return _PASSWORD_URL.sub(r"\1***@", _SECRET.sub("xox?-***", text))


class RedactingFilter(logging.Filter):
    """Rewrites every record so that tokens and passwords never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure(level: str = "INFO") -> None:
    """Log to standard error at *level*, with secrets redacted."""
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    if level != "DEBUG":
        for noisy in ("alembic", "slack_bolt", "slack_sdk", "waitress.queue", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
