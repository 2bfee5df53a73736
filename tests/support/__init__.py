"""Fakes and helpers shared by the tests and the benchmark (``python -m bench.run``): a fake Slack Web
API and Socket Mode endpoint, Slack request signing, the bot as a thread or a process, a fake
clock, PostgreSQL schemas of one's own. No tests here."""
