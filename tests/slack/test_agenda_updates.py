"""Agenda updates through a click's response_url: uses and age of a URL, the fallback to
chat.update, and no older state shown over a newer one (slack/agenda_updates.py)."""

from __future__ import annotations

import threading
from typing import Any

from reviewbot.slack.agenda_updates import RESPONSE_URL_SECONDS, AgendaUpdates, Click


class Recorder:
    """The sends through response_urls and the chat.update fallbacks, in order."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refuse = refuse or set()
        self.now = 1000.0

    def send(self, url: str, text: str, blocks: Any) -> bool:
        self.sent.append((url, text))
        return url not in self.refuse

    def update(self, text: str):
        return lambda: self.sent.append(("chat.update", text))


def shown(updates: AgendaUpdates, recorder: Recorder, text: str, ts: str = "1.1", meeting: int = 7) -> bool:
    version, _ = updates.read(meeting, lambda: None)
    return updates.show(meeting, version, ts, text, [], recorder.update(text))


def test_a_clicks_url_is_used_five_times_then_chat_update():
    recorder = Recorder()
    updates = AgendaUpdates(recorder.send, lambda: recorder.now)
    updates.offer(7, Click("https://hooks/1", "1.1"))
    for n in range(6):
        assert shown(updates, recorder, f"state {n}")
    assert recorder.sent == [("https://hooks/1", f"state {n}") for n in range(5)] + [("chat.update", "state 5")]


def test_the_newest_click_is_used_first_and_a_refused_url_is_dropped():
    recorder = Recorder(refuse={"https://hooks/2"})
    updates = AgendaUpdates(recorder.send, lambda: recorder.now)
    updates.offer(7, Click("https://hooks/1", "1.1"))
    updates.offer(7, Click("https://hooks/2", "1.1"))
    assert shown(updates, recorder, "a") and shown(updates, recorder, "b")
    assert recorder.sent == [("https://hooks/2", "a"), ("https://hooks/1", "a"), ("https://hooks/1", "b")]


def test_only_a_click_on_the_agenda_message_and_not_too_old():
    recorder = Recorder()
    updates = AgendaUpdates(recorder.send, lambda: recorder.now)
    updates.offer(7, Click("https://hooks/other-message", "9.9"))
    updates.offer(8, Click("https://hooks/other-meeting", "1.1"))
    assert shown(updates, recorder, "a")
    updates.offer(7, Click("https://hooks/old", "1.1"))
    recorder.now += RESPONSE_URL_SECONDS
    assert shown(updates, recorder, "b")
    assert recorder.sent == [("chat.update", "a"), ("chat.update", "b")]


def test_an_older_state_never_replaces_a_newer_one():
    recorder = Recorder()
    updates = AgendaUpdates(recorder.send, lambda: recorder.now)
    older, _ = updates.read(7, lambda: "older")
    newer, _ = updates.read(7, lambda: "newer")
    assert updates.show(7, newer, "1.1", "newer", [], recorder.update("newer"))
    assert not updates.show(7, older, "1.1", "older", [], recorder.update("older"))  # came late: not sent
    assert recorder.sent == [("chat.update", "newer")]
    posted, _ = updates.read(8, lambda: None)
    updates.shown(8, posted, "posted", [])  # the agenda message was posted with this state
    assert not updates.show(8, posted, "1.1", "again", [], recorder.update("again"))


def test_a_state_that_looks_like_the_one_showing_is_not_sent_again():
    # Two jobs read the same meeting (an update queued before the start ran after it): the
    # second state is newer but shows nothing new, so it spends neither a use nor a chat.update.
    recorder = Recorder()
    updates = AgendaUpdates(recorder.send, lambda: recorder.now)
    posted, _ = updates.read(9, lambda: None)
    updates.shown(9, posted, "now at 1", [{"type": "section"}])
    again, _ = updates.read(9, lambda: None)
    assert not updates.show(9, again, "1.1", "now at 1", [{"type": "section"}], recorder.update("now at 1"))
    moved, _ = updates.read(9, lambda: None)
    assert updates.show(9, moved, "1.1", "now at 2", [{"type": "section"}], recorder.update("now at 2"))
    assert recorder.sent == [("chat.update", "now at 2")]


def test_racing_updates_end_with_the_newest_state_showing():
    # Twenty threads read and show at once; whatever the order the sends take, the state last
    # sent is the newest one read, and no state is sent after a newer one.
    recorder = Recorder()
    updates = AgendaUpdates(recorder.send, lambda: recorder.now)
    start = threading.Barrier(20)

    def update() -> None:
        start.wait(5)
        version, _ = updates.read(7, lambda: None)
        updates.show(7, version, "1.1", str(version), [], recorder.update(str(version)))

    threads = [threading.Thread(target=update) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    sent = [int(text) for _, text in recorder.sent]
    assert sent == sorted(sent) and sent[-1] == 20
