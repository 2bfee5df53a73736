"""Tests of the whole bot: replays of real meetings, bot processes, faults, fuzzing, the benchmark."""
