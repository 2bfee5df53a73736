"""The real Bolt app over HTTP, with Slack-signed requests, against the fake Slack Web API."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from tests.support.botserver import BotServer
from tests.support.credentials import BOT_TOKEN, SIGNING_SECRET
from tests.support.fakeslack import UPLOAD
from tests.support.paths import ROOT
from tests.support.slack_client import SlackUser
from tests.support.slack_signing import FORM_CONTENT_TYPE, post, sign, slash_command_body


def test_a_meeting_runs_end_to_end(bot, fake_slack):
    tilman = SlackUser(bot, fake_slack, "U100", "Tilman")
    katherine = SlackUser(bot, fake_slack, "U200", "Katherine")
    reply = tilman.ok("/review", "agenda add Backup Datacenter")
    assert reply["response_type"] == "ephemeral" and "Added section 1" in reply["text"]
    tilman.ok("/review", "agenda add Architecture")
    tilman.ok("/review", "agenda add - Document RFC")
    reply = tilman.ok("/review", "start Tech II")
    assert reply["response_type"] == "in_channel"
    assert "Backup Datacenter" in reply["text"]
    tilman.ok("/review", "present Heather, Gabriel")
    tilman.ok("/review", "remote Darian")
    reply = katherine.ok("/note", "congrats on the failover")
    assert reply["response_type"] == "ephemeral" and "#1" in reply["text"]
    tilman.ok("/note", "Katherine: <b>thanks</b> & more")
    assert tilman.ok("/review", "next")["text"].startswith("➡️ Now at *2 Architecture*")
    tilman.ok("/review", "goto Document RFC")
    reply = tilman.ok("/review", "end")
    assert "Meeting ended" in reply["text"] and reply["response_type"] == "in_channel"

    fake_slack.wait_for("files.completeUploadExternal")
    upload = fake_slack.uploads[-1]
    assert upload.channel_id == "C0001"
    assert upload.filename.endswith(".wiki")
    wiki = upload.content.decode()
    assert "'''Present (in the office)''': Heather, Gabriel; '''participating remotely''': Darian" in wiki
    assert "* congrats on the failover" in wiki
    # What the user typed, stored as typed (Slack sent &lt;b&gt; ... &amp;), escaped for the wiki.
    assert "* Katherine: &lt;b&gt;thanks&lt;/b&gt; & more" in wiki
    with bot.runtime.db.read() as session:
        from reviewbot.store.schema import Note

        texts = [n.text for n in session.query(Note).order_by(Note.seq)]
    assert texts == ["congrats on the failover", "Katherine: <b>thanks</b> & more"]


def test_note_authors_and_speakers(bot, fake_slack):
    tilman = SlackUser(bot, fake_slack, "U100", "Tilman")
    fake_slack.users["U300"] = {"name": "zack", "display_name": "Zack", "real_name": "Zack M"}
    SlackUser(bot, fake_slack, "U300", "Zack")  # joins: the bot knows the name it will be mentioned by
    tilman.ok("/review", "start Review")
    tilman.ok("/review", "present Katherine")
    tilman.ok("/note", "Katherine: hello")
    # A real mention arrives as a <@U...> token; what the user typed around it is escaped.
    status, _ = tilman.command("/note", "&gt; <@U300>: we will share findings", escape=False)
    assert status == 200
    tilman.ok("/note", "Background: not a speaker")
    with bot.runtime.db.read() as session:
        from reviewbot.store.schema import Note

        notes = session.query(Note).order_by(Note.seq)
        rows = [(n.speaker, n.text, n.depth, n.author_id, n.author_name) for n in notes]
    assert rows == [
        ("Katherine", "Katherine: hello", 0, "U100", "Tilman"),
        ("Zack", "@Zack: we will share findings", 1, "U100", "Tilman"),
        (None, "Background: not a speaker", 0, "U100", "Tilman"),
    ]


def test_mistakes_get_private_help_not_errors(bot, fake_slack):
    tilman = SlackUser(bot, fake_slack, "U100", "Tilman")
    cases = [
        ("/note", "too early", "No meeting is running"),
        ("/review", "frobnicate", "I don't know `/review frobnicate`"),
        ("/review", "next", "No meeting is running"),
        ("/review", "agenda add -  ", "Give the section a title"),
        ("/review", "agenda add - Orphan", "A subsection goes under a top-level section"),
        ("/review", "start", "Give the meeting a title"),
    ]
    for command, text, expected in cases:
        reply = tilman.ok(command, text)
        assert reply["response_type"] == "ephemeral", (text, reply)
        assert expected in reply["text"], (text, reply)
    tilman.ok("/review", "agenda add Only")
    tilman.ok("/review", "start Now")
    tilman.ok("/note", "kept")
    for command, text, expected in [
        ("/note", "", "The note is empty"),
        ("/note", "   ", "The note is empty"),
        ("/review", "next", "This is the last section"),
        ("/review", "prev", "This is the first section"),
        ("/review", "goto 9", "There is no section 9"),
        ("/review", "goto Nowhere", "No section is called"),
        ("/review", "start Again", "already running"),
        ("/note", ">>> too deep", "Replies nest at most"),
        ("/review", "present", "Name the people"),
    ]:
        reply = tilman.ok(command, text)
        assert reply["response_type"] == "ephemeral" and expected in reply["text"], (text, reply)
    with bot.runtime.db.read() as session:
        from reviewbot.store.schema import Note

        assert [n.text for n in session.query(Note)] == ["kept"]


def test_undo_removes_only_your_own_last_note(bot, fake_slack):
    a = SlackUser(bot, fake_slack, "U1", "Ann")
    b = SlackUser(bot, fake_slack, "U2", "Bob")
    a.ok("/review", "start R")
    a.ok("/note", "one")
    a.ok("/note", "two")
    b.ok("/note", "three")
    reply = a.ok("/note", "undo")
    assert "two" in reply["text"]
    assert "three" in b.ok("/note", "undo")["text"]
    reply = a.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal")
    wiki = fake_slack.uploads[-1].content.decode()
    assert "* one" in wiki and "* two" not in wiki and "* three" not in wiki


def _state(bot) -> tuple:
    """Everything a refused request must leave as it was."""
    with bot.runtime.db.read() as session:
        from reviewbot.store.schema import Attendee, Channel, Meeting, Note, Section

        return (
            [(c.workspace_id, c.channel_id) for c in session.query(Channel).order_by(Channel.id)],
            [(m.id, m.status, m.title, m.current_section_id) for m in session.query(Meeting).order_by(Meeting.id)],
            [(s.id, s.position, s.title) for s in session.query(Section).order_by(Section.id)],
            [(n.seq, n.text, n.deleted_at) for n in session.query(Note).order_by(Note.seq)],
            [a.name for a in session.query(Attendee).order_by(Attendee.id)],
        )


def _forged(url: str, command: str, text: str, how: str) -> int:
    """Send a slash command that Slack did not send (or not now); returns the HTTP status."""
    body = slash_command_body(command, text, user_id="U1", user_name="ann")
    now = int(time.time())
    if how == "wrong secret":
        return post(url, body, "not-the-secret")[0]
    if how == "stale":
        return post(url, body, SIGNING_SECRET, timestamp=now - 5 * 60 - 30)[0]
    if how == "from the future":
        return post(url, body, SIGNING_SECRET, timestamp=now + 5 * 60 + 30)[0]
    if how == "tampered":  # signed for one text, sent with another
        signed = slash_command_body(command, "harmless", user_id="U1", user_name="ann")
        headers = sign(signed, SIGNING_SECRET)
        return post(url, body, "ignored", headers=headers)[0]
    if how == "garbled":
        headers = {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=0"}
        return post(url, body, "ignored", headers=headers)[0]
    if how == "unsigned":
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": FORM_CONTENT_TYPE})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
    raise ValueError(how)


FORGERIES = ["wrong secret", "stale", "from the future", "tampered", "garbled", "unsigned"]


def test_wrong_signature_and_stale_timestamp_are_refused(bot, fake_slack):
    body = slash_command_body("/review", "agenda add X", user_id="U1", user_name="ann")
    status, _ = post(bot.url, body, "not-the-secret")
    assert status == 401
    status, _ = post(bot.url, body, SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    with bot.runtime.db.read() as session:
        from reviewbot.store.schema import Section

        assert session.query(Section).count() == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", FORGERIES)
def test_forged_requests_change_nothing_in_a_running_meeting(bot, fake_slack, how):
    ann = SlackUser(bot, fake_slack, "U1", "Ann")
    ann.ok("/review", "agenda add One")
    ann.ok("/review", "start Guarded")
    ann.ok("/note", "genuine")
    before = _state(bot)
    attempts = [("/note", "forged note"), ("/note", "undo"), ("/review", "next"),
                ("/review", "agenda add Forged"), ("/review", "present Mallory"), ("/review", "end")]  # fmt: skip
    for command, text in attempts:
        assert _forged(bot.url, command, text, how) == 401, (command, text)
    assert _state(bot) == before
    assert not fake_slack.uploads


def test_another_workspace_is_refused(bot, fake_slack):
    stranger = SlackUser(bot, fake_slack, "U9", "Eve", team="T9999")
    status, _ = stranger.command("/review", "agenda add Intrusion")
    assert status == 403
    with bot.runtime.db.read() as session:
        from reviewbot.store.schema import Section

        assert session.query(Section).count() == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_another_workspace_changes_nothing_in_a_running_meeting(bot, fake_slack):
    ann = SlackUser(bot, fake_slack, "U1", "Ann")
    ann.ok("/review", "agenda add One")
    ann.ok("/review", "start Guarded")
    ann.ok("/note", "genuine")
    before = _state(bot)
    # Same channel id and user id as the real ones, but another workspace: signed correctly.
    for user in (SlackUser(bot, fake_slack, "U1", "Ann", team="T9999"),
                 SlackUser(bot, fake_slack, "U9", "Eve", channel="C9", team="T9999")):  # fmt: skip
        for command, text in [("/note", "foreign note"), ("/note", "undo"), ("/review", "next"),
                              ("/review", "start Foreign"), ("/review", "end")]:  # fmt: skip
            assert user.command(command, text)[0] == 403, (command, text)
    assert _state(bot) == before
    assert not fake_slack.uploads


def test_channels_run_meetings_independently(bot, fake_slack):
    a = SlackUser(bot, fake_slack, "U1", "Ann", channel="C1")
    b = SlackUser(bot, fake_slack, "U2", "Bob", channel="C2")
    a.ok("/review", "start Alpha")
    b.ok("/review", "start Beta")
    a.ok("/note", "alpha note")
    b.ok("/note", "beta note")
    a.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal")
    wiki = fake_slack.uploads[-1].content.decode()
    assert "alpha note" in wiki and "beta note" not in wiki
    assert "Beta" in b.ok("/review", "status")["text"]


def test_upload_failure_is_reported_and_minutes_stay_exportable(bot, fake_slack):
    a = SlackUser(bot, fake_slack, "U1", "Ann")
    a.ok("/review", "start Alpha")
    a.ok("/note", "kept")
    fake_slack.fail_next("files.getUploadURLExternal", error="not_in_channel")
    a.ok("/review", "end")
    deadline = time.monotonic() + 5
    while not (told := [r for r in fake_slack.responses("U1") if "could not upload" in r.get("text", "")]):
        assert time.monotonic() < deadline, fake_slack.responses("U1")
        time.sleep(0.05)
    assert "/review export" in told[0]["text"] and told[0]["response_type"] == "ephemeral"
    reply = a.ok("/review", "export last")
    assert "Draft of meeting" in reply["text"]
    fake_slack.wait_for("files.completeUploadExternal")
    assert "* kept" in fake_slack.uploads[-1].content.decode()


def test_end_answers_before_the_minutes_are_read_and_a_failed_read_is_told_never_lost(bot, fake_slack, monkeypatch):
    """The acknowledgement of ``/review end`` does not read the whole meeting: the upload job
    does. If the database fails it there, the chair is told how to post the minutes later."""
    from reviewbot.store.database import DatabaseUnavailable

    a = SlackUser(bot, fake_slack, "U1", "Ann")
    a.ok("/review", "start Alpha")
    a.ok("/note", "kept")
    meetings = bot.runtime.meetings
    record, reads = meetings.record, []

    def lost_once(meeting_id: int):
        reads.append(meeting_id)
        if len(reads) == 1:
            raise DatabaseUnavailable("connection lost")
        return record(meeting_id)

    monkeypatch.setattr(meetings, "record", lost_once)
    ended = a.ok("/review", "end")
    assert "Meeting ended.* 0 sections, 1 note" in ended["text"], ended
    deadline = time.monotonic() + 5
    while not (told := [r for r in fake_slack.responses("U1") if "could not read the minutes" in r.get("text", "")]):
        assert time.monotonic() < deadline, fake_slack.responses("U1")
        time.sleep(0.05)
    assert "`/review export" in told[0]["text"] and told[0]["response_type"] == "ephemeral"
    assert not fake_slack.uploads
    a.ok("/review", "export last")
    fake_slack.wait_for("files.completeUploadExternal")
    assert "* kept" in fake_slack.uploads[-1].content.decode()


def test_rate_limited_upload_is_retried(bot, fake_slack):
    a = SlackUser(bot, fake_slack, "U1", "Ann")
    a.ok("/review", "start Alpha")
    fake_slack.fail_next("files.completeUploadExternal", status=429, retry_after=1)
    a.ok("/review", "end")
    calls = fake_slack.wait_for("files.completeUploadExternal", count=2, timeout=10)
    assert [c.status for c in calls] == [429, 200]


# -- Slack's Web API failing: rate limits and server errors are retried, the meeting goes on ----


def _author_names(bot) -> list[str]:
    with bot.runtime.db.read() as session:
        from reviewbot.store.schema import Note

        return [n.author_name for n in session.query(Note).order_by(Note.seq)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_user_lookup_rate_limited_or_failing_is_retried(bot, fake_slack):
    # People who joined while the bot was down: looked up after their first note, off its way.
    SlackUser(bot, fake_slack, "U1", "Ann").ok("/review", "start Flaky Slack")
    faults = {"U2": (429, "Bea"), "U3": (503, "Cid"), "U4": (502, "Dee"), "U5": (500, "Eve")}
    for user_id, (status, name) in faults.items():
        fake_slack.fail_next("users.info", status=status, retry_after=0)
        person = SlackUser(bot, fake_slack, user_id, name, joins=False)
        assert person.ok("/note", f"noted by {name}")["text"].startswith("✓")
        _wait_for(lambda user_id=user_id: bot.slack.users.knows(user_id))
        assert person.ok("/note", f"named {name}")["text"].startswith("✓")
    lookups = fake_slack.calls_to("users.info")
    for user_id, (status, _) in faults.items():
        assert [c.status for c in lookups if c.args.get("user") == user_id] == [status, 200]
    assert _author_names(bot) == ["bea", "Bea", "cid", "Cid", "dee", "Dee", "eve", "Eve"]


def _wait_for(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_long_rate_limit_does_not_hold_the_acknowledgement(bot, fake_slack):
    SlackUser(bot, fake_slack, "U1", "Ann").ok("/review", "start Rate limited")
    fake_slack.fail_next("users.info", status=429, retry_after=120)
    bea = SlackUser(bot, fake_slack, "U2", "Bea", joins=False)
    # The look-up is refused for 120 s: the notes are recorded at once with the payload's name.
    assert bea.ok("/note", "first")["text"].startswith("✓")
    fake_slack.wait_for("users.info")
    # Slack asked for 120 s of quiet: the next note does not ask again, and is not held either.
    assert bea.ok("/note", "second")["text"].startswith("✓")
    time.sleep(0.2)
    assert [c.status for c in fake_slack.calls_to("users.info") if c.args.get("user") == "U2"] == [429]
    assert _author_names(bot) == ["bea", "bea"]


def test_an_unknown_user_is_not_looked_up_for_every_command(bot, fake_slack):
    chair = SlackUser(bot, fake_slack, "U1", "Ann")
    chair.ok("/review", "start Lookups")
    stranger = SlackUser(bot, fake_slack, "U7", "Ghost", joins=False)
    fake_slack.users.pop("U7")  # Slack does not know this user: users.info answers user_not_found
    assert stranger.ok("/note", "note 0")["text"].startswith("✓")
    fake_slack.wait_for("users.info")
    for n in range(1, 3):
        assert stranger.ok("/note", f"note {n}")["text"].startswith("✓")
    time.sleep(0.2)
    assert len([c for c in fake_slack.calls_to("users.info") if c.args.get("user") == "U7"]) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_slack_failing_at_start_is_retried(database_url, fake_slack, clock):
    from reviewbot.config import Settings

    fake_slack.fail_next("auth.test", status=429, retry_after=0)
    fake_slack.fail_next("auth.test", status=502)
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url, database_url=database_url, port=0)  # fmt: skip
    bot = BotServer(settings, clock)
    try:
        statuses = [c.status for c in fake_slack.calls_to("auth.test")]
        assert statuses[:3] == [429, 502, 200] and set(statuses[3:]) <= {200}
        ann = SlackUser(bot, fake_slack, "U1", "Ann")
        ann.ok("/review", "start After a bumpy start")
        assert ann.ok("/note", "works")["text"].startswith("✓")
        # A stranger is still refused: the installed workspace was learnt despite the failures.
        assert SlackUser(bot, fake_slack, "U9", "Eve", team="T9999").command("/note", "x")[0] == 403
    finally:
        bot.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_minutes_upload_server_errors_are_retried(bot, fake_slack):
    a = SlackUser(bot, fake_slack, "U1", "Ann")
    a.ok("/review", "start Alpha")
    a.ok("/note", "kept")
    fake_slack.fail_next("files.getUploadURLExternal", status=500)
    fake_slack.fail_next(UPLOAD, status=502)
    fake_slack.fail_next("files.completeUploadExternal", status=503)
    a.ok("/review", "end")
    calls = fake_slack.wait_for("files.completeUploadExternal", count=2, timeout=20)
    assert [c.status for c in calls] == [503, 200]
    assert [c.status for c in fake_slack.calls_to(UPLOAD)] == [502, 200]
    assert [c.status for c in fake_slack.calls_to("files.getUploadURLExternal")] == [500, 200, 200]
    assert "* kept" in fake_slack.uploads[-1].content.decode()
    private = [r for r in fake_slack.responses("U1") if r.get("response_type") != "in_channel"]
    assert not private  # no failure was reported: it went through (an in-channel one is the note's echo)


def test_a_bug_in_a_command_is_an_apology_not_a_500(bot, fake_slack, monkeypatch):
    a = SlackUser(bot, fake_slack, "U1", "Ann")
    a.ok("/review", "start Alpha")
    a.ok("/note", "kept")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(bot.runtime.commands, "handle", broken)
    reply = a.ok("/note", "during the bug")
    assert reply["response_type"] == "ephemeral" and "Something went wrong on my side" in reply["text"]
    assert [n.text for n in bot.runtime.meetings.record(1).all_notes()] == ["kept"]


def test_bot_refuses_to_start_with_a_bad_token(fake_slack, tmp_path):
    import subprocess
    import sys

    fake_slack.invalid_token = True
    env = {
        "PATH": "/usr/bin:/bin",
        "SLACK_BOT_TOKEN": "xoxb-bad-token",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 4
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in result.stderr
    assert "Traceback" not in result.stderr and "xoxb-bad-token" not in result.stderr


def test_http_mode_logs_its_mode_in_one_line_and_serves_health(fake_slack, tmp_path):
    import subprocess
    import sys
    import time
    import urllib.request

    env = {
        "PATH": "/usr/bin:/bin",
        "SLACK_BOT_TOKEN": "xoxb-good-token",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "PORT": "38517",
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py")], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        line = proc.stderr.readline()
        while "reviewbot 0.1.0" not in line and line:
            line = proc.stderr.readline()
        assert "HTTP mode at http://127.0.0.1:38517/slack/events (32 threads)" in line
        assert "xoxb" not in line
        for _ in range(50):
            try:
                with urllib.request.urlopen("http://127.0.0.1:38517/healthz", timeout=2) as response:
                    assert response.read() == b"ok\n"
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("no answer on /healthz")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_many_idle_keep_alive_connections_do_not_stop_new_requests(bot):
    """Slack (or a proxy) may hold hundreds of keep-alive connections open: waitress's default of
    100 made a request on a new connection wait, unanswered, until an idle one timed out."""
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(bot.url)
    idle = []
    try:
        for _ in range(300):  # each sends one request, then stays open and idle
            connection = socket.create_connection((url.hostname, url.port), timeout=5)
            connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
            idle.append(connection)
        began = time.monotonic()
        with urllib.request.urlopen(f"http://{url.netloc}/healthz", timeout=5) as response:
            assert response.read() == b"ok\n"
        assert time.monotonic() - began < 2
    finally:
        for connection in idle:
            connection.close()


def test_the_main_loop_does_not_poll_a_connection_whose_request_is_being_served():
    from types import SimpleNamespace

    from reviewbot.slack.server import QuietChannel

    def channel(**state: object) -> object:
        base = {"will_close": False, "close_when_flushed": False, "total_outbufs_len": 0, "requests": []}
        return SimpleNamespace(adj=SimpleNamespace(outbuf_high_watermark=1000), **{**base, **state})

    def writable(**state: object) -> bool:
        return QuietChannel.writable(channel(**state))  # type: ignore[arg-type]

    assert not writable()  # nothing to send
    assert writable(total_outbufs_len=10)  # output left after the request: the loop sends it
    assert not writable(total_outbufs_len=10, requests=["running"])  # the task sends its own output
    assert writable(total_outbufs_len=2000, requests=["running"])  # piled up: the task waits for the loop
    assert writable(will_close=True, requests=["running"])
    assert writable(close_when_flushed=True)


def test_socket_mode_requests_get_the_same_database_deadline(monkeypatch):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from reviewbot.slack.server import socket_mode_handler_class
    from reviewbot.store.deadlines import DEADLINES

    seen: list[float | None] = []

    def handle(self: object, client: object, req: object) -> None:
        seen.append(DEADLINES.request_deadline())

    monkeypatch.setattr(SocketModeHandler, "handle", handle)
    handler = socket_mode_handler_class(1.5)
    began = time.monotonic()
    handler.handle(object.__new__(handler), None, None)
    assert seen[0] is not None and 1.4 <= seen[0] - began <= 1.6
    assert DEADLINES.request_deadline() is None  # only while the request is handled
