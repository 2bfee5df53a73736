"""Tests of ``reviewbot.core``: the pure rules and the services on a real database."""
