"""Concurrent note-takers: each sends Slack-signed ``/note`` commands over a keep-alive connection.

A note-taker sends its next note only after the previous one was acknowledged, as a person does,
and records for every note what came back and how long the acknowledgement took. Used by the
fault tests and by the benchmark.
"""

from __future__ import annotations

import http.client
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.support.credentials import SIGNING_SECRET
from tests.support.slack_signing import FORM_CONTENT_TYPE, _decode, post, sign, slash_command_body

_SEQ = re.compile(r"#(\d+)")
TOKEN = re.compile(r"\bu(\d+)n(\d+)\b")


@dataclass
class Sent:
    """One command sent by a note-taker and what came back (``status`` None: no answer at all)."""

    taker: str
    index: int
    text: str
    url: str
    status: int | None
    reply: dict[str, Any] | str | None
    latency: float
    acked: bool

    @property
    def seq(self) -> int | None:
        """The note's number in the meeting, as the acknowledgement says."""
        if not self.acked:
            return None
        assert isinstance(self.reply, dict)
        match = _SEQ.search(self.reply["text"])
        return int(match.group(1)) if match else None


class SignedConnection:
    """A keep-alive HTTP connection to the bot that POSTs signed slash commands."""

    def __init__(self, url: str, secret: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.url, self.path, self.secret = url, parts.path, secret
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)

    def post(self, body: bytes, content_type: str = FORM_CONTENT_TYPE) -> tuple[int, dict[str, Any] | str]:
        """Sign and send *body*; returns the status and the decoded answer."""
        headers = {"Content-Type": content_type, **sign(body, self.secret)}
        self.conn.request("POST", self.path, body=body, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, _decode(raw, response.headers.get_content_type(), None)

    def connect(self) -> None:
        """Open the connection now (else the first request opens it); a failure is left to it."""
        try:
            self.conn.connect()
        except OSError:
            self.conn.close()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def recorded(status: int | None, reply: dict[str, Any] | str | None) -> bool:
    """Whether an answer to ``/note`` says the note was recorded (``✓ Noted #n ...``)."""
    return status == 200 and isinstance(reply, dict) and str(reply.get("text", "")).startswith("✓")


def note_text(taker_number: int, index: int) -> str:
    """A note as people type them, with a token ``u<taker>n<index>`` that identifies it."""
    token = f"u{taker_number}n{index}"
    if index % 3 == 1:
        return f"Heather: the failover drill passed, next one in Q3 & <soon> {token}"
    if index % 3 == 2:
        return f"> follow-up on the dashboard's 99th percentile {token}"
    return f"capacity planning for FY17 looks fine {token}"


@dataclass
class NoteTaker:
    """One person taking notes: *count* notes numbered from *first*, each to ``urls[pick(i)]``."""

    number: int
    urls: Sequence[str]
    count: int
    secret: str
    first: int = 0
    channel: str = "C0001"
    team: str = "T0001"
    response_url: str = ""
    text: Callable[[int, int], str] = note_text
    pick: Callable[[int], int] | None = None
    stop_on_failure: bool = True
    #: How an answer counts as an acknowledgement; the bare baseline app answers an empty 200.
    accept: Callable[[int | None, dict[str, Any] | str | None], bool] = recorded
    sent: list[Sent] = field(default_factory=list)

    @property
    def user_id(self) -> str:
        """The taker's Slack user id."""
        return f"U{self.number:04d}"

    @property
    def name(self) -> str:
        """The taker's Slack handle."""
        return f"taker{self.number}"

    def run(self, start: threading.Barrier | None = None, stop: threading.Event | None = None) -> None:
        """Send the notes; stops early when *stop* is set or (by default) at the first failure."""
        connections = {url: SignedConnection(url, self.secret) for url in dict.fromkeys(self.urls)}
        try:
            for connection in connections.values():  # latency is measured from the request on
                connection.connect()
            if start is not None:
                start.wait()
            for index in range(self.first, self.first + self.count):
                if stop is not None and stop.is_set():
                    break
                url = self.urls[self.pick(index) if self.pick else index % len(self.urls)]
                text = self.text(self.number, index)
                body = slash_command_body(
                    "/note", text, user_id=self.user_id, user_name=self.name, channel_id=self.channel,
                    team_id=self.team, response_url=self.response_url,
                )  # fmt: skip
                began = time.perf_counter()
                try:
                    status, reply = connections[url].post(body)
                except (OSError, http.client.HTTPException):
                    connections[url].close()
                    status, reply = None, None
                latency = time.perf_counter() - began
                entry = Sent(self.user_id, index, text, url, status, reply, latency, self.accept(status, reply))
                self.sent.append(entry)
                if not entry.acked and self.stop_on_failure:
                    break
        finally:
            for connection in connections.values():
                connection.close()

    @property
    def acked(self) -> list[Sent]:
        """The acknowledged notes, in acknowledgement order."""
        return [s for s in self.sent if s.acked]


def run_together(takers: Sequence[NoteTaker], stop: threading.Event | None = None) -> float:
    """Run every taker in its own thread, all starting at once; returns the wall time in seconds."""
    barrier = threading.Barrier(len(takers) + 1)
    threads = [threading.Thread(target=t.run, args=(barrier, stop), daemon=True) for t in takers]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def percentile(values: Sequence[float], p: float) -> float:
    """The *p*-th percentile (nearest rank) of *values*."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def chair(url: str, slack: Any, channel: str, line: str, user: str = "U0001", secret: str = "") -> dict[str, Any]:
    """Send one signed slash command line (``/review start X``) as the chair; it must be answered."""
    name, _, typed = line.partition(" ")
    body = slash_command_body(
        name, typed, user_id=user, user_name="chair", channel_id=channel, response_url=slack.response_url(user)
    )
    status, reply = post(url, body, secret or SIGNING_SECRET)
    if status != 200 or not isinstance(reply, dict):
        raise AssertionError(f"{line!r} answered {status}: {reply!r}")
    return reply


def wait_for_draft(slack: Any, channel: str, timeout: float = 60) -> str:
    """The wiki draft uploaded to *channel* (the latest one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drafts = [u for u in slack.uploads if u.completed and u.channel_id == channel]
        if drafts:
            return drafts[-1].content.decode()
        time.sleep(0.02)
    raise AssertionError(f"no draft was uploaded to {channel}")


def token_of(text: str) -> str:
    """The ``u<taker>n<index>`` token of a note, or ""."""
    match = TOKEN.search(text)
    return match.group(0) if match else ""


def taker_of(token: str) -> str:
    """The user id of the note-taker a token belongs to."""
    return f"U{int(token[1:].split('n')[0]):04d}"


def stored_tokens(database_url: str, channel: str) -> dict[str, list[str]]:
    """Tokens of the stored notes of *channel*'s latest meeting, per author, in ``seq`` order."""
    from sqlalchemy import select

    from reviewbot.store.database import Database
    from reviewbot.store.schema import Channel, Meeting, Note

    db = Database(database_url)
    try:
        with db.read() as session:
            meeting_id = session.scalar(
                select(Meeting.id)
                .join(Channel, Meeting.channel_pk == Channel.id)
                .where(Channel.channel_id == channel)
                .order_by(Meeting.id.desc())
                .limit(1)
            )
            rows = session.execute(
                select(Note.author_id, Note.text)
                .where(Note.meeting_id == meeting_id, Note.deleted_at.is_(None))
                .order_by(Note.seq)
            ).all()
    finally:
        db.dispose()
    stored: dict[str, list[str]] = {}
    for author, text in rows:
        stored.setdefault(author, []).append(token_of(text))
    return stored


def rendered_draft(database_url: str, channel: str) -> str:
    """The wiki draft of *channel*'s latest meeting, rendered from the database as the bot does."""
    from sqlalchemy import select

    from reviewbot.core.meetings import load_record
    from reviewbot.core.minutes import render_wikitext
    from reviewbot.store.database import Database
    from reviewbot.store.schema import Channel, Meeting

    db = Database(database_url)
    try:
        with db.read() as session:
            meeting = session.scalars(
                select(Meeting)
                .join(Channel, Meeting.channel_pk == Channel.id)
                .where(Channel.channel_id == channel)
                .order_by(Meeting.id.desc())
                .limit(1)
            ).one()
            return render_wikitext(load_record(session, meeting))
    finally:
        db.dispose()


def draft_tokens(draft: str) -> dict[str, list[str]]:
    """Tokens of the notes in a wiki draft, per note-taker, in the draft's order."""
    found: dict[str, list[str]] = {}
    for line in draft.splitlines():
        if line.startswith("*") and (token := token_of(line)):
            found.setdefault(taker_of(token), []).append(token)
    return found


def check(acked: dict[str, list[str]], stored: dict[str, list[str]], drafted: dict[str, list[str]]) -> dict[str, int]:
    """Acknowledged notes missing from the database or the draft, and takers whose order broke."""
    result = dict.fromkeys(("acknowledged", "lost_db", "lost_draft", "order_db", "order_draft", "unacked_stored"), 0)
    for taker, tokens in acked.items():
        wanted = set(tokens)
        in_db, in_draft = stored.get(taker, []), drafted.get(taker, [])
        result["acknowledged"] += len(tokens)
        result["lost_db"] += len(wanted - set(in_db))
        result["lost_draft"] += len(wanted - set(in_draft))
        result["order_db"] += [t for t in in_db if t in wanted] != [t for t in tokens if t in set(in_db)]
        result["order_draft"] += [t for t in in_draft if t in wanted] != [t for t in tokens if t in set(in_draft)]
        result["unacked_stored"] += len(set(in_db) - wanted)
    return result


def acked_tokens(*groups: Sequence[NoteTaker]) -> dict[str, list[str]]:
    """The acknowledged notes' tokens per note-taker, in acknowledgement order, over several runs."""
    acked: dict[str, list[str]] = {}
    for takers in groups:
        for taker in takers:
            acked.setdefault(taker.user_id, []).extend(token_of(s.text) for s in taker.acked)
    return acked
