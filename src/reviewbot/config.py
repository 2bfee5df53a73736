"""Settings, read from the environment and from a ``.env`` file (the environment wins)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from reviewbot.logs import redact

DEFAULT_DATABASE_URL = "sqlite:///reviewbot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_INTRO = "Notes from the Quarterly Review meeting with {title}, {date}, {start} - {end} {tz}."
DEFAULT_DISCLAIMER = (
    "Please keep in mind that these minutes are mostly a rough paraphrase of what was said at the "
    "meeting, rather than a source of authoritative information. Consider referring to the "
    "presentation slides, blog posts, press releases and other official material"
)
DEFAULT_PAGE_TITLE = "Wikimedia monthly activities meetings/Quarterly reviews/{title}, {month} {year}"


class ConfigError(ValueError):
    """A setting has a value the bot cannot use."""


@dataclass(frozen=True)
class Settings:
    """Every setting reviewbot reads; see ``.env.example`` for what each one means."""

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 3000
    timezone: str = "America/Los_Angeles"
    http_threads: int = 32
    db_timeout_ms: int = 2000
    slack_post_interval: float = 1.0
    echo_via_response_url: bool = True
    log_level: str = "INFO"
    minutes_intro: str = DEFAULT_INTRO
    minutes_disclaimer: str = DEFAULT_DISCLAIMER
    wiki_page_title: str = DEFAULT_PAGE_TITLE
    wiki_api_url: str | None = None
    wiki_username: str | None = None
    wiki_password: str | None = field(default=None, repr=False)
    fiscal_year_start_month: int = 7
    scheduler_interval: int = 15

    @property
    def mode(self) -> str:
        """``socket``, ``http`` or ``console``, from which Slack credentials are set."""
        if self.slack_app_token and self.slack_bot_token:
            return "socket"
        if self.slack_bot_token and self.slack_signing_secret:
            return "http"
        return "console"

    @property
    def zone(self) -> ZoneInfo:
        """The configured timezone as a :class:`ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def __repr__(self) -> str:
        shown = {
            "mode": self.mode,
            "database_url": redact(self.database_url),
            "slack_api_url": self.slack_api_url,
            "timezone": self.timezone,
        }
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def load_settings(env: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env") -> Settings:
    """Build :class:`Settings` from *env* (default ``os.environ``) over the ``.env`` file."""
    values: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if env is None else env)

    def get(name: str) -> str | None:
        value = values.get(name, "").strip()
        return value or None

    def get_int(name: str, default: int, low: int, high: int) -> int:
        raw = get(name)
        if raw is None:
            return default
        try:
            number = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
        if not low <= number <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, not {number}")
        return number

    def get_seconds(name: str, default: float, high: float) -> float:
        raw = get(name)
        if raw is None:
            return default
        try:
            number = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
        if not 0 <= number <= high:
            raise ConfigError(f"{name} must be between 0 and {high:g} seconds, not {number:g}")
        return number

    def get_flag(name: str, default: bool) -> bool:
        raw = get(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")

    timezone = get("REVIEWBOT_TIMEZONE") or Settings.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"REVIEWBOT_TIMEZONE={timezone!r} is not an IANA timezone name (e.g. America/Los_Angeles)"
        ) from None
    api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    return Settings(
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_api_url=api_url,
        database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        host=get("HOST") or Settings.host,
        port=get_int("PORT", Settings.port, 0, 65535),
        timezone=timezone,
        http_threads=get_int("REVIEWBOT_HTTP_THREADS", Settings.http_threads, 1, 512),
        db_timeout_ms=get_int("REVIEWBOT_DB_TIMEOUT_MS", Settings.db_timeout_ms, 100, 600_000),
        slack_post_interval=get_seconds("REVIEWBOT_SLACK_POST_INTERVAL", Settings.slack_post_interval, 60),
        echo_via_response_url=get_flag("REVIEWBOT_ECHO_VIA_RESPONSE_URL", Settings.echo_via_response_url),
        log_level=(get("LOG_LEVEL") or Settings.log_level).upper(),
        minutes_intro=get("REVIEWBOT_MINUTES_INTRO") or DEFAULT_INTRO,
        minutes_disclaimer=get("REVIEWBOT_MINUTES_DISCLAIMER") or DEFAULT_DISCLAIMER,
        wiki_page_title=get("WIKI_PAGE_TITLE") or DEFAULT_PAGE_TITLE,
        wiki_api_url=get("WIKI_API_URL"),
        wiki_username=get("WIKI_USERNAME"),
        wiki_password=get("WIKI_PASSWORD"),
        fiscal_year_start_month=get_int("REVIEWBOT_FISCAL_YEAR_START_MONTH", 7, 1, 12),
        scheduler_interval=get_int("REVIEWBOT_SCHEDULER_INTERVAL", Settings.scheduler_interval, 0, 3600),
    )
