"""Tests of ``reviewbot.slack``: the Bolt app, the posting queue, Socket Mode, and the fake Slack."""
