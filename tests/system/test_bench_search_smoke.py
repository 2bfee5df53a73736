"""The search benchmark (``make bench-search``: ``python -m bench.search``) still runs end to end:
a tiny run on SQLite, no figures checked."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import ROOT


def test_a_tiny_search_benchmark_run_completes(tmp_path):
    out = tmp_path / "search.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.search", "--db", "sqlite", "--notes", "3000", "--queries", "30",
         "--write-notes", "20", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,  # as make bench-search runs it
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sqlite = json.loads(out.read_text())["sqlite"]
    assert sqlite["import"]["notes"] == 3000 and sqlite["import"]["notes_per_second"] > 0
    assert sqlite["search"]["queries"] == 30 and sqlite["search"]["p95_ms"] > 0
    assert sqlite["size"]["database_mb_per_million_notes"] > 0
    assert sqlite["note_writes"]["add_note_us_with_index"] > 0 and sqlite["note_writes"]["bulk_us_with_index"] > 0
