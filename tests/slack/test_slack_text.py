"""The core's plain text made Slack mrkdwn: escaped, moments as date tokens, links as links."""

from __future__ import annotations

from datetime import UTC, datetime

from reviewbot.core.replies import Link, Moment, Reply
from reviewbot.slack.text import escape, mrkdwn, of_reply, to_plain


def test_a_moment_is_a_date_token_every_reader_sees_in_their_own_time():
    moment = Moment(datetime(2016, 10, 13, 15, 0, tzinfo=UTC), "America/Los_Angeles")
    assert mrkdwn(f"On {moment}.", [moment]) == (
        "On <!date^1476370800^{date_long_pretty} at {time}|Thursday, October 13, 2016 at 8:00 AM PDT>."
    )


def test_what_people_typed_never_becomes_a_mention_or_a_link():
    typed = "<!channel> & <https://evil.example|click> <@U123>"
    assert escape(typed) == "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; &lt;@U123&gt;"
    link = Link("https://wiki.example/Page?a=1&b=2", "Q3 <review>")
    reply = Reply(f"⚠️ {typed} published: {link}", marks=(link,))
    assert of_reply(reply) == (
        "⚠️ &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; &lt;@U123&gt; published: "
        "<https://wiki.example/Page?a=1&amp;b=2|Q3 &lt;review&gt;>"
    )
    assert to_plain(of_reply(Reply(typed))) == typed  # and Slack's own reading gives it back


def test_text_without_marks_is_only_escaped():
    assert mrkdwn("`/review start <title>`") == "`/review start &lt;title&gt;`"
