"""Tests for the Slack test doubles: tests/support/fakeslack.py and tests/support/slack_signing.py."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode
from urllib.request import Request, urlopen

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry import handler as retry_handler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.support.fakeslack import RESPONSE_URL_USES, UPLOAD, FakeSlack
from tests.support.slack_signing import interactive_body, post, sign, slack_escape, slash_command_body

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.api_url, timeout=5)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record (instead of doing) the sleeps of slack_sdk's built-in retry handlers."""
    recorded: list[float] = []
    fake_time = SimpleNamespace(sleep=recorded.append)
    monkeypatch.setattr(builtin_handlers, "time", fake_time)  # RateLimitErrorRetryHandler
    monkeypatch.setattr(retry_handler, "time", fake_time)  # interval-based handlers (server errors)
    return recorded


# ---------------------------------------------------------------------- FakeSlack


def test_api_url_is_joinable_by_slack_sdk(slack: FakeSlack):
    assert slack.api_url.startswith("http://127.0.0.1:")
    assert slack.api_url.endswith("/api/")


def test_auth_test(slack: FakeSlack, client: WebClient):
    resp = client.auth_test()
    assert resp["ok"] is True
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == ("T0001", "UBOT", "B0001")
    assert resp["url"] and resp["team"] and resp["user"]
    (call,) = slack.calls_to("auth.test")
    assert call.token == "xoxb-test"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert "xoxb-test" not in repr(call)


def test_missing_token_is_not_authed(slack: FakeSlack):
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=slack.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"


def test_post_message_and_update(slack: FakeSlack, client: WebClient):
    first = client.chat_postMessage(channel="C0001", text="Agenda item 1 & <2>")
    second = client.chat_postMessage(channel="C0001", text="reply", thread_ts=first["ts"])
    assert first["channel"] == "C0001"
    assert first["ts"] < second["ts"]
    assert first["ts"].startswith("1700000000.") and len(first["ts"].split(".")[1]) == 6
    assert first["message"]["text"] == "Agenda item 1 & <2>"
    assert second["message"]["thread_ts"] == first["ts"]

    updated = client.chat_update(
        channel="C0001",
        ts=first["ts"],
        text="Agenda item 1 (done)",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}],
    )
    assert (updated["channel"], updated["ts"]) == ("C0001", first["ts"])
    assert updated["text"] == "Agenda item 1 (done)"
    assert slack.messages[("C0001", first["ts"])]["text"] == "Agenda item 1 (done)"

    (update_call,) = slack.wait_for("chat.update")
    assert update_call.args["blocks"][0]["type"] == "section"
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.postMessage", "chat.update"]

    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C0001", ts="1.000000", text="x")
    assert err.value.response["error"] == "message_not_found"

    client.chat_delete(channel="C0001", ts=second["ts"])
    assert ("C0001", second["ts"]) not in slack.messages


def test_form_and_json_bodies_give_the_same_args(slack: FakeSlack, client: WebClient):
    blocks = [{"type": "divider"}]
    client.api_call("chat.postMessage", json={"channel": "C0001", "text": "hi", "blocks": blocks})
    form = {"channel": "C0001", "text": "hi", "blocks": json.dumps(blocks)}
    client.api_call("chat.postMessage", params=form)
    json_call, form_call = slack.wait_for("chat.postMessage", 2)
    assert json_call.args == form_call.args == {"channel": "C0001", "text": "hi", "blocks": blocks}
    assert json_call.headers["content-type"].startswith("application/json")
    assert form_call.headers["content-type"] == "application/x-www-form-urlencoded"


def test_post_ephemeral(client: WebClient):
    resp = client.chat_postEphemeral(channel="C0001", user="U123", text="only you")
    assert resp["message_ts"]


def test_users_info(slack: FakeSlack, client: WebClient):
    slack.users["U123"] = {"name": "tilman", "display_name": "Tilman", "real_name": "Tilman Bayer"}
    user = client.users_info(user="U123")["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U123", "tilman", "Tilman Bayer")
    assert user["profile"]["display_name"] == "Tilman"
    assert user["profile"]["real_name"] == "Tilman Bayer"

    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


def test_conversations_info_and_views(slack: FakeSlack, client: WebClient):
    slack.channels["C777"] = {"name": "quarterly-review"}
    assert client.conversations_info(channel="C777")["channel"]["name"] == "quarterly-review"
    with pytest.raises(SlackApiError):
        client.conversations_info(channel="C404")

    view = {"type": "modal", "title": {"type": "plain_text", "text": "Review"}, "blocks": []}
    opened = client.views_open(trigger_id="1.2.3", view=view)["view"]
    assert opened["id"] and opened["title"]["text"] == "Review"
    new_view = {**view, "blocks": [{"type": "divider"}]}
    updated = client.views_update(view_id=opened["id"], view=new_view)["view"]
    assert updated["id"] == opened["id"] and slack.views[opened["id"]]["blocks"] == [{"type": "divider"}]
    published = client.views_publish(user_id="U123", view={"type": "home", "blocks": []})["view"]
    assert published["id"] and published["type"] == "home"


def test_unknown_method_is_recorded(slack: FakeSlack, client: WebClient):
    with pytest.raises(SlackApiError) as err:
        client.api_call("pins.add", json={"channel": "C0001"})
    assert err.value.response["error"] == "unknown_method"
    assert slack.calls_to("pins.add")[0].args == {"channel": "C0001"}


def test_set_handler_adds_a_method(slack: FakeSlack, client: WebClient):
    slack.set_handler("conversations.open", lambda args: {"channel": {"id": "D" + args["users"]}})
    assert client.conversations_open(users="U123")["channel"]["id"] == "DU123"


def test_files_upload_v2_end_to_end(slack: FakeSlack, client: WebClient):
    content = "== Minutes ==\n* Größe & <Umlaute>\n"
    resp = client.files_upload_v2(
        channel="C0001",
        content=content,
        filename="minutes.wiki",
        title="Q3 review minutes",
        initial_comment="Here are the minutes",
        thread_ts="1700000000.000100",
    )
    assert resp["ok"] is True
    assert resp["file"]["title"] == "Q3 review minutes"

    (upload,) = slack.uploads
    assert upload.filename == "minutes.wiki"
    assert upload.content == content.encode("utf-8")
    assert upload.completed and upload.title == "Q3 review minutes" and upload.channel_id == "C0001"
    assert upload.file_id == resp["file"]["id"]

    (get_url,) = slack.calls_to("files.getUploadURLExternal")
    assert get_url.args["filename"] == "minutes.wiki"
    assert int(get_url.args["length"]) == len(content.encode("utf-8"))
    (complete,) = slack.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C0001"
    assert complete.args["initial_comment"] == "Here are the minutes"
    assert complete.args["thread_ts"] == "1700000000.000100"
    assert [f["title"] for f in complete.args["files"]] == ["Q3 review minutes"]
    methods = [c.method for c in slack.calls]
    assert methods == ["files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"]


def test_upload_failure_surfaces_in_slack_sdk(slack: FakeSlack, client: WebClient):
    slack.fail_next(UPLOAD, status=500)
    with pytest.raises((SlackRequestError, OSError)):
        client.files_upload_v2(channel="C0001", content="x", filename="a.txt")
    assert slack.uploads == []
    assert slack.calls_to("files.completeUploadExternal") == []


def test_rate_limit_is_retried_after_retry_after(slack: FakeSlack, client: WebClient, sleeps: list[float]):
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    slack.fail_next("chat.postMessage", retry_after=3, times=2)

    resp = client.chat_postMessage(channel="C0001", text="hello")

    assert resp["ok"] is True
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 429, 200]
    assert len(sleeps) == 2 and all(3 <= s < 4 for s in sleeps)


def test_rate_limit_without_retry_handler_raises(slack: FakeSlack, client: WebClient):
    client.retry_handlers.clear()
    slack.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0001", text="hello")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C0001", text="hello")["ok"]  # only the next call failed


def test_server_error_and_error_injection(slack: FakeSlack, client: WebClient, sleeps: list[float]):
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=1))
    slack.fail_next("users.info", status=503)
    slack.users["U1"] = {"name": "a"}
    assert client.users_info(user="U1")["ok"]
    assert [c.status for c in slack.calls_to("users.info")] == [503, 200]
    assert len(sleeps) == 1

    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0001", text="x")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "channel_not_found"


def test_invalid_token(slack: FakeSlack, client: WebClient):
    slack.invalid_token = True
    with pytest.raises(SlackApiError) as err:
        client.auth_test()
    assert err.value.response["error"] == "invalid_auth"


def test_wait_for_times_out_with_what_was_received(slack: FakeSlack, client: WebClient):
    client.auth_test()
    with pytest.raises(AssertionError) as err:
        slack.wait_for("chat.postMessage", timeout=0.1)
    assert "auth.test" in str(err.value)
    assert "xoxb-test" not in str(err.value)


def test_wait_for_sees_calls_from_other_threads(slack: FakeSlack, client: WebClient):
    def later() -> None:
        time.sleep(0.05)
        client.chat_postMessage(channel="C0001", text="late")

    thread = threading.Thread(target=later)
    thread.start()
    (call,) = slack.wait_for("chat.postMessage", timeout=5)
    thread.join()
    assert call.args["text"] == "late"
    slack.clear()
    assert slack.calls == []


# ---------------------------------------------------------------------- FakeSlack: rate limits


class HandClock:
    """A monotonic clock (seconds) that moves only when told to, or when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    sleep = advance


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
def limited(clock: HandClock) -> Iterator[FakeSlack]:
    """A fake Slack whose rate limits run on ``clock``."""
    with FakeSlack(monotonic=clock) as fake:
        yield fake


def api(slack: FakeSlack, method: str, **args: str) -> tuple[int, str | None, dict[str, Any]]:
    """Call ``method`` without slack_sdk (no retries); the HTTP status, Retry-After and body."""
    request = Request(slack.api_url + method, data=urlencode(args).encode(),
                      headers={"Authorization": "Bearer xoxb-test"})  # fmt: skip
    try:
        with urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("Retry-After"), json.loads(response.read())
    except HTTPError as error:
        with error:
            return error.code, error.headers.get("Retry-After"), json.loads(error.read())


def statuses(slack: FakeSlack, method: str, times: int, **args: str) -> list[int]:
    return [api(slack, method, **args)[0] for _ in range(times)]


@pytest.mark.parametrize(
    ("method", "burst", "seconds_per_call"),
    [
        ("users.list", 5, 3.0),  # Tier 2: 20 a minute
        ("conversations.info", 10, 1.2),  # Tier 3: 50 a minute
        ("chat.update", 10, 1.2),
        ("users.info", 20, 0.6),  # Tier 4: 100 a minute
        ("files.getUploadURLExternal", 20, 0.6),
        ("auth.test", 120, 0.1),  # 600 a minute
    ],
)
def test_a_burst_then_the_refill_rate(limited: FakeSlack, clock: HandClock, method, burst, seconds_per_call):
    assert statuses(limited, method, burst) == [200] * burst
    clock.advance(seconds_per_call * 3)  # three calls' worth
    assert statuses(limited, method, 3) == [200] * 3
    status, retry_after, body = api(limited, method)
    assert (status, body) == (429, {"ok": False, "error": "ratelimited"})
    assert retry_after == str(math.ceil(seconds_per_call))

    clock.advance(int(retry_after))
    assert api(limited, method)[0] == 200
    calls = limited.calls_to(method)
    assert len(calls) == burst + 5  # refused calls are recorded too
    assert [c.status for c in calls if c.limited] == [429]
    assert limited.limited_calls == [calls[-2]] and limited.early_calls == []


def test_the_bucket_holds_no_more_than_a_burst(limited: FakeSlack, clock: HandClock):
    clock.advance(3600)  # an idle hour earns no more than a burst
    assert statuses(limited, "conversations.info", 11, channel="C0001") == [200] * 10 + [429]


def test_retry_after_is_the_time_until_a_token_rounded_up(limited: FakeSlack, clock: HandClock):
    assert statuses(limited, "users.list", 5) == [200] * 5  # Tier 2: a token every 3 s
    clock.advance(1.0)
    assert api(limited, "users.list")[:2] == (429, "2")  # 2 s to go
    clock.advance(2.0)
    assert api(limited, "users.list")[0] == 200
    clock.advance(2.5)
    assert api(limited, "users.list")[:2] == (429, "1")  # 0.5 s to go: rounded up
    assert statuses(limited, "users.info", 20, user="UBOT") == [200] * 20
    assert api(limited, "users.info", user="UBOT")[:2] == (429, "1")  # 0.6 s: rounded up


def test_post_message_is_limited_per_channel(limited: FakeSlack, clock: HandClock):
    assert statuses(limited, "chat.postMessage", 5, channel="C1", text="x") == [200] * 4 + [429]
    assert api(limited, "chat.postMessage", channel="C1", text="x")[:2] == (429, "1")
    # The Retry-After covers the method in the whole workspace: another channel must wait too.
    assert api(limited, "chat.postMessage", channel="C2", text="x")[:2] == (429, "1")
    assert [c.early for c in limited.limited_calls] == [False, True, True]
    assert [c.refused_by for c in limited.limited_calls] == ["channel", "pause", "pause"]

    clock.advance(1.0)  # one message a second in C1; C2 has its own burst
    assert statuses(limited, "chat.postMessage", 2, channel="C1", text="x") == [200, 429]
    clock.advance(1.0)
    assert statuses(limited, "chat.postMessage", 5, channel="C2", text="x") == [200] * 4 + [429]


def test_post_message_is_limited_per_workspace(limited: FakeSlack, clock: HandClock):
    for n in range(15):  # 15 channels x a burst of 4 = the workspace's burst of 60
        assert statuses(limited, "chat.postMessage", 4, channel=f"C{n}", text="x") == [200] * 4
    assert api(limited, "chat.postMessage", channel="C99", text="x")[:2] == (429, "1")
    assert limited.limited_calls[-1].refused_by == "workspace"
    clock.advance(1.0)  # 300 a minute: 5 a second for the workspace, whichever the channels
    assert [api(limited, "chat.postMessage", channel=f"D{n}", text="x")[0] for n in range(6)] == [200] * 5 + [429]


def test_calls_before_retry_after_are_recorded_and_refused(limited: FakeSlack, clock: HandClock):
    assert statuses(limited, "users.list", 6) == [200] * 5 + [429]  # Retry-After: 3
    clock.advance(1.0)
    assert api(limited, "users.list")[:2] == (429, "2")  # early: refused with the time left
    assert api(limited, "users.info", user="UBOT")[0] == 200  # other methods are not blocked
    clock.advance(1.5)
    assert api(limited, "users.list")[:2] == (429, "1")
    early = limited.early_calls
    assert [c.method for c in early] == ["users.list", "users.list"]
    assert all(c.status == 429 and c.limited for c in early)
    assert limited.early_call_count == 2

    clock.advance(0.5)  # the 3 s have passed: the token that came back is there
    assert api(limited, "users.list")[0] == 200
    limited.clear()
    assert limited.early_calls == [] and limited.early_call_count == 2  # the count is since the start


def test_a_client_that_honours_retry_after_makes_no_early_calls(
    limited: FakeSlack, clock: HandClock, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=clock.sleep))
    client = WebClient(token="xoxb-test", base_url=limited.api_url, timeout=5)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    for _ in range(16):  # Tier 3: a burst of 10, then the client waits as told
        assert client.conversations_info(channel="C0001")["ok"]
    calls = limited.calls_to("conversations.info")
    assert sum(c.limited for c in calls) == len(calls) - 16 > 0
    assert limited.early_calls == [] and limited.early_call_count == 0


def test_a_response_url_may_be_used_five_times(limited: FakeSlack):
    url = limited.response_url("cmd")
    body = json.dumps({"text": "hi"}).encode()
    answers = [post(url, body, SECRET, content_type="application/json") for _ in range(RESPONSE_URL_USES + 1)]
    assert answers[:-1] == [(200, "ok")] * RESPONSE_URL_USES
    assert answers[-1] == (404, {"ok": False, "error": "used_url"})
    assert post(limited.response_url("cmd"), body, SECRET, content_type="application/json") == (200, "ok")
    calls = limited.calls_to("response_url:cmd")  # every URL of that name, each with its own count
    assert [(c.status, c.limited) for c in calls] == [(200, False)] * 5 + [(404, True), (200, False)]
    assert limited.response_url("cmd") != limited.response_url("cmd")


def test_rate_limits_can_be_turned_off(clock: HandClock):
    with FakeSlack(rate_limits=False, monotonic=clock) as slack:
        assert statuses(slack, "users.list", 30) == [200] * 30
        url = slack.response_url()
        assert [post(url, b"{}", SECRET, content_type="application/json")[0] for _ in range(7)] == [200] * 7
    with FakeSlack(monotonic=clock) as slack:
        assert statuses(slack, "users.list", 6) == [200] * 5 + [429]
        slack.rate_limits = False
        assert statuses(slack, "users.list", 30) == [200] * 30
        assert slack.limited_calls == slack.calls_to("users.list")[5:6] and slack.early_calls == []


def test_injected_faults_take_precedence_and_spend_no_tokens(limited: FakeSlack, clock: HandClock):
    limited.fail_next("users.list", status=500)
    limited.fail_next("users.list", retry_after=30)
    assert [api(limited, "users.list")[:2] for _ in range(2)] == [(500, None), (429, "30")]
    assert statuses(limited, "users.list", 6) == [200] * 5 + [429]  # the faults left the burst whole
    limited.fail_next("users.list", error="invalid_cursor")
    assert api(limited, "users.list")[2] == {"ok": False, "error": "invalid_cursor"}  # even while blocked
    assert [c.limited for c in limited.calls_to("users.list")] == [False] * 7 + [True, False]


# ---------------------------------------------------------------------- signing helpers


def test_sign_matches_slack_sdk_verifier():
    body = slash_command_body("/review", "start", user_id="U123", user_name="tilman")
    headers = sign(body, SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    assert not SignatureVerifier(SECRET).is_valid_request(body + b"x", headers)
    old = sign(body, SECRET, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, old)


def test_sign_known_vector():
    # The example from Slack's "Verifying requests from Slack" documentation.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = sign(body, SECRET, timestamp=1531420618)
    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


def test_slash_command_body_fields_and_escaping():
    body = slash_command_body(
        "/review",
        "Q&A <draft> & more",
        user_id="U123",
        user_name="tilman",
        response_url="http://127.0.0.1:1/response/x",
    )
    pairs = [pair.split("=", 1)[0] for pair in body.decode().split("&")]
    assert pairs == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert fields["text"] == "Q&amp;A &lt;draft&gt; &amp; more"
    assert fields["command"] == "/review"
    assert fields["response_url"] == "http://127.0.0.1:1/response/x"
    assert (fields["channel_id"], fields["team_id"], fields["trigger_id"]) == ("C0001", "T0001", "1.2.3")
    assert b"command=%2Freview" in body and b"text=Q%26amp%3BA+%26lt%3Bdraft" in body

    raw = slash_command_body("/review", "a<b", user_id="U1", user_name="x", escape=False)
    assert parse_qs(raw.decode())["text"] == ["a<b"]
    assert slack_escape("<@U1> & co") == "&lt;@U1&gt; &amp; co"


def test_interactive_body():
    payload = {"type": "block_actions", "user": {"id": "U123"}, "actions": [{"action_id": "next"}]}
    body = interactive_body(payload)
    assert json.loads(parse_qs(body.decode())["payload"][0]) == payload


def test_post_sends_signed_request(slack: FakeSlack):
    body = json.dumps({"text": "done"}).encode()
    status, answer = post(slack.response_url("cmd"), body, SECRET, content_type="application/json")
    assert (status, answer) == (200, "ok")
    (call,) = slack.wait_for("response_url:cmd")
    assert call.args == {"text": "done"} and slack.responses("cmd") == [{"text": "done"}]
    headers = {
        "X-Slack-Request-Timestamp": call.headers["x-slack-request-timestamp"],
        "X-Slack-Signature": call.headers["x-slack-signature"],
    }
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)

    slack.fail_next("response_url:cmd", status=500)
    status, answer = post(slack.response_url("cmd"), body, SECRET, content_type="application/json")
    assert status == 500 and isinstance(answer, dict) and answer["ok"] is False


def test_slash_command_through_bolt_app(slack: FakeSlack, client: WebClient):
    """The whole loop: signed slash command over HTTP -> Bolt app -> respond() + chat.postMessage here."""
    app = App(signing_secret=SECRET, client=client)

    @app.command("/review")
    def review(ack, respond, command, client: WebClient) -> None:
        ack()
        respond(f"Starting review: {command['text']}")
        client.chat_postMessage(channel=command["channel_id"], text="Agenda")

    class BoltHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            resp = app.dispatch(BoltRequest(body=body, headers=headers))
            payload = resp.body.encode()
            self.send_response(resp.status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), BoltHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        body = slash_command_body(
            "/review",
            "Q3 <draft>",
            user_id="U123",
            user_name="tilman",
            response_url=slack.response_url("cmd"),
        )
        assert post(url, body, SECRET)[0] == 200
        assert post(url, body, "wrong-secret")[0] == 401
        (response,) = slack.wait_for_response("cmd")
        assert response["text"] == "Starting review: Q3 &lt;draft&gt;"
        slack.wait_for("chat.postMessage")
    finally:
        server.shutdown()
        server.server_close()


def test_users_list_is_paged_by_cursor(slack: FakeSlack, client: WebClient):
    for n in range(5):
        slack.users[f"U{n:03d}"] = {"name": f"user{n}", "display_name": f"User {n}"}
    pages, cursor = [], ""
    while True:
        answer = client.users_list(limit=2, cursor=cursor or None)
        pages.append([member["id"] for member in answer["members"]])
        cursor = answer["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert [len(page) for page in pages] == [2, 2, 2]  # the bot user and five more
    assert sorted(user for page in pages for user in page) == sorted(slack.users)
    assert pages[0] == sorted(slack.users)[:2]
    assert client.users_list()["members"][0]["profile"]["display_name"] == "User 0"  # one page of 200
