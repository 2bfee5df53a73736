"""The reviewbot test suite, a package so that its modules import each other as ``tests.*``.

Laid out like ``src/reviewbot``: ``core`` (the core and its services), ``slack`` (the Slack
adapter), ``store`` (the database layer), ``system`` (the whole bot: processes, replays, faults,
the benchmark), and ``support`` (fakes and helpers shared by all of them). With this file pytest
puts the repository root on ``sys.path`` (its default ``prepend`` import mode), so ``from
tests.support.fakeslack import FakeSlack`` works without editing ``sys.path``.
"""
