"""The benchmark (``make bench``: ``python -m bench.run`` from the repository root) still runs end to
end: a tiny run of each part on SQLite, no figures checked."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import ROOT


def test_a_tiny_benchmark_run_completes_and_loses_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--db", "sqlite", "--no-workspace", "--levels", "1,4", "--rounds", "1",
         "--notes-per-level", "8", "--render-sizes", "50,100", "--quiet-wait", "0", "--post-interval", "0",
         "--no-chart",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,  # as make bench runs it
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nlost 0\n" in result.stdout
    results = json.loads((tmp_path / "latest.json").read_text())
    sqlite = results["databases"]["sqlite"]
    assert set(sqlite["levels"]) == {"1", "4"}
    for level in sqlite["levels"].values():
        assert level["check"]["lost_db"] == level["check"]["lost_draft"] == 0
        assert level["reviewbot"]["failed"] == level["bare"]["failed"] == 0
        assert set(level["ratio"]) == {"p50_ms", "p95_ms", "p99_ms", "notes_per_s"}
    assert [row["notes"] for row in results["render"]["rows"]] == [50, 100]
    assert sqlite["rss_idle_kib"] > 0 and sqlite["startup_s"] > 0


def test_a_tiny_workspace_run_answers_everything_and_loses_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--db", "sqlite", "--workspace-only", "--workspace-meetings", "2",
         "--workspace-minutes", "0.5", "--workspace-drain", "60", "--no-chart", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nlost 0\n" in result.stdout
    (run,) = json.loads((tmp_path / "workspace.json").read_text())["runs"]
    assert run["meetings"] == 2 and run["database"] == "sqlite" and run["processes"] == 1
    kinds = run["requests"]["by_kind"]
    assert kinds["start"]["ok"] == kinds["end"]["ok"] == 2
    assert kinds["click"]["planned"] == 16 and kinds["move"]["planned"] == 10
    assert run["requests"]["unanswered"] == 0
    assert run["notes"]["acknowledged"] > 0 and run["notes"]["echoed_twice"] == 0
    assert run["minutes_s"]["missing"] == 0 and run["web_api"]["calls"] > 0
    assert set(run["goals"]) and all(isinstance(met, bool) for met in run["goals"].values())
