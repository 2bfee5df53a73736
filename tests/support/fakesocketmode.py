"""A fake of Slack's Socket Mode endpoint on loopback, for the bot's Socket Mode end to end.

Slack's side of Socket Mode, as far as the bot sees it: ``apps.connections.open`` (answered by
:class:`FakeSlack` with :attr:`FakeSocketMode.url`) gives a WebSocket URL; on connecting, the app
gets a ``hello``; Slack then sends envelopes (a slash command's form fields as ``payload``) and the
app acknowledges each with its ``envelope_id``, and the reply as ``payload``. A ``disconnect``
message asks the app to connect again; once it has, the old connection is closed. A plain
``ws://`` URL on a port other than 443 is what slack_sdk's own client accepts for tests.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


class FakeSocketMode:
    """Sends envelopes to the connected app and collects its acknowledgements."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._current: ServerConnection | None = None
        self.connections = 0  # how many times the app connected
        self.acks: dict[str, dict[str, Any] | None] = {}
        self._server: Server | None = None

    def __enter__(self) -> FakeSocketMode:
        self._server = serve(self._serve, "127.0.0.1", 0, ping_interval=None)
        threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()

    @property
    def url(self) -> str:
        """The WebSocket URL ``apps.connections.open`` hands out."""
        assert self._server is not None
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=fake-ticket"

    def _serve(self, websocket: ServerConnection) -> None:
        with self._changed:
            previous, self._current = self._current, websocket
            self.connections += 1
            self._changed.notify_all()
        if previous is not None:
            previous.close()  # the app connected again: its old connection is done with
        websocket.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}))
        try:
            for message in websocket:
                data = json.loads(message)
                if "envelope_id" in data:
                    with self._changed:
                        self.acks[data["envelope_id"]] = data.get("payload")
                        self._changed.notify_all()
        except ConnectionClosed:
            pass  # the app went away: stopped, killed, or connecting again

    def wait_connected(self, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until the app has connected *count* times in all."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.connections >= count, timeout):
                raise AssertionError(f"the app connected {self.connections} times, not {count}")

    def send(self, message: dict[str, Any]) -> None:
        """Send *message* on the current connection."""
        with self._changed:
            websocket = self._current
        assert websocket is not None, "no app is connected"
        websocket.send(json.dumps(message))

    def drop(self) -> None:
        """Close the current connection without a ``disconnect`` message first (a network drop)."""
        with self._changed:
            websocket = self._current
        assert websocket is not None, "no app is connected"
        websocket.close()

    def slash_command(self, payload: dict[str, str], timeout: float = 10.0) -> dict[str, Any] | None:
        """Send a slash command envelope; return the payload of its acknowledgement."""
        envelope_id = str(uuid.uuid4())
        self.send(
            {"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True, "payload": payload}
        )
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no acknowledgement of {payload.get('command')} {payload.get('text')!r}")
            return self.acks[envelope_id]

    def event(self, payload: dict[str, Any], retry: int = 0, timeout: float = 10.0) -> None:
        """Send an Events API envelope (*payload* as an ``event_callback`` body); wait for its ack."""
        envelope_id = str(uuid.uuid4())
        self.send(
            {
                "envelope_id": envelope_id,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": retry,
                "retry_reason": "timeout" if retry else "",
                "payload": payload,
            }
        )
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no acknowledgement of event {payload.get('event', {}).get('type')}")
