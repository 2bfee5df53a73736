"""Load benchmark (``make bench``): the top of the hour at workspace scale, then the single-meeting figures.

Run from the repository root as ``python -m bench.run`` (``--help`` for the options): it imports
the load generator (:mod:`bench.loadgen`) and the test fakes (:mod:`tests.support`) as packages.

The headline is the workspace scenario of issue 15 (:mod:`bench.workspace`): 10, 50 and 100
meetings in one workspace starting together, with attendance clicks, notes, moves and a common
end, against a fake Slack that enforces Slack's rate limits; one bot process on SQLite and three
on one PostgreSQL. It reports what users see (acknowledgements, notes, the agenda, the minutes),
the Web API calls, the 429s and the calls made before ``Retry-After``, lost and doubled notes,
and the goals of issue 15 met or not. Results: ``bench/results/workspace.json`` and
``workspace.png``.

Then, as a secondary table, single-meeting note throughput: for each database (SQLite,
PostgreSQL) this starts ``python bot.py`` exactly as production does (HTTP mode, waitress)
against a local fake Slack Web API (rate limits off: this is about the note path), and
``bench/bare_app.py`` (a Bolt app that only acknowledges, on the same server with the same
settings). Concurrent note-takers (1, 8 and 32) send Slack-signed ``/note`` commands over
keep-alive connections into one running meeting per level, the two apps taking turns. It reports
acknowledgement latency (p50/p95/p99) and notes per second for both and their ratio, checks that
every acknowledged note is in the database and in the wiki draft in acknowledgement order per
note-taker (``lost 0``), and measures start-up time, idle memory and the cost of rendering
minutes of 1k-100k notes. Results: ``bench/results/latest.json`` and ``latency.png``.

``--readme`` rewrites the figures in README.md (the workspace table) and docs/performance.md
(all of them). Every run is bounded and stops by itself; all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from bench import workspace, workspace_report
from bench.loadgen import (
    NoteTaker,
    acked_tokens,
    chair,
    draft_tokens,
    percentile,
    rendered_draft,
    run_together,
    stored_tokens,
)
from bench.loadgen import check as check_notes
from reviewbot.core.meetings import load_record
from reviewbot.core.minutes import MeetingRecord, NoteRecord, SectionRecord, render_wikitext
from reviewbot.store.database import Database
from reviewbot.store.schema import Channel, Meeting, MeetingStatus, Note, NoteKind, Section
from tests.support.botprocess import BotProcess, bot_env
from tests.support.credentials import SIGNING_SECRET
from tests.support.fakeslack import FakeSlack
from tests.support.paths import ROOT
from tests.support.pgschema import schema_url

RESULTS = ROOT / "bench" / "results"
BARE_APP = ROOT / "bench" / "bare_app.py"
CONCURRENCY = (1, 8, 32)
RENDER_SIZES = (1_000, 10_000, 100_000)
POSTGRES_URL = os.environ.get(
    "REVIEWBOT_BENCH_POSTGRES_URL",
    os.environ.get("REVIEWBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
POST_INTERVAL = 1.0  # seconds between posts to one channel, as in production (--post-interval)
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
WORKSPACE_START, WORKSPACE_END = "<!-- workspace:start -->", "<!-- workspace:end -->"
WORKSPACE_MEETINGS = (10, 50, 100)


def say(message: str = "") -> None:
    """Print a line of the report at once."""
    print(message, flush=True)


# -- databases --------------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file in *workdir*, or a new PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    with schema_url(POSTGRES_URL, prefix="bench") as url:
        yield url


# -- what else the machine is doing ---------------------------------------------------------------


def _jiffies() -> tuple[int, int]:
    """Busy and total CPU time of the machine, in clock ticks."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _process_ticks(pid: int) -> int:
    """CPU time used so far by a process and its waited-for children, in clock ticks."""
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(x) for x in parts[11:15])


def _postgres_ticks() -> int:
    """CPU time of PostgreSQL's processes (they work for the bot during the PostgreSQL runs)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += _process_ticks(int(entry.name))
            except OSError:
                continue
    return total


class CpuUsage:
    """How much of the machine's CPU went to processes other than the benchmark's own (the load
    generator, the bot, the bare app, PostgreSQL) between creation and :meth:`other_share`."""

    def __init__(self, own: tuple[int, ...]) -> None:
        self.own = own
        self.busy, self.total = _jiffies()
        self.start = {pid: _process_ticks(pid) for pid in own}
        self.postgres = _postgres_ticks()
        self.ours = sum(self.start.values()) + self.postgres

    def seconds(self, pids: tuple[int, ...], postgres: bool = False) -> tuple[float, float]:
        """CPU seconds used since creation by the processes *pids* (and by PostgreSQL's, second)."""
        tick = os.sysconf("SC_CLK_TCK")
        used = sum(_process_ticks(pid) - self.start[pid] for pid in pids)
        return used / tick, (_postgres_ticks() - self.postgres) / tick

    def other_share(self) -> float:
        """Share (0-1) of all CPU time used by other processes since creation."""
        busy, total = _jiffies()
        ours = sum(_process_ticks(pid) for pid in self.own) + _postgres_ticks()
        if total == self.total:
            return 0.0
        return max(0.0, ((busy - self.busy) - (ours - self.ours)) / (total - self.total))


def wait_for_quiet(own: tuple[int, ...], limit: float = 0.15, patience: float = 60.0) -> float:
    """Wait (at most *patience* s) until other processes use under *limit* of the CPU for half a
    second; returns the last share seen. Other people's test runs on a shared machine would
    otherwise land in the middle of a measurement."""
    deadline = time.monotonic() + patience
    while True:
        usage = CpuUsage(own)
        time.sleep(0.5)
        share = usage.other_share()
        if share < limit or time.monotonic() > deadline:
            return share


# -- driving the bot ----------------------------------------------------------------------------


def prepare_meeting(url: str, slack: FakeSlack, channel: str, title: str) -> None:
    """An agenda of three sections, attendance, and the meeting started at the second section."""
    for line in (
        "/review agenda add Welcome",
        "/review agenda add Capacity planning",
        "/review agenda add - Dashboards",
        "/review present Heather, Gabriel, Ori",
        "/review remote Darian",
        f"/review start {title}",
        "/review next",
    ):
        chair(url, slack, channel, line)


def bare_ack(status: int | None, reply: object) -> bool:
    """The bare app acknowledges with an empty 200."""
    return status == 200


def takers_for(url: str, concurrency: int, count: int, channel: str, bare: bool, first: int = 0) -> list[NoteTaker]:
    """*concurrency* note-takers sending *count* notes each to *url*, numbered from *first*."""
    extra: dict[str, Any] = {"accept": bare_ack} if bare else {}
    return [
        NoteTaker(number=n + 1, urls=[url], count=count, secret=SIGNING_SECRET, channel=channel, first=first, **extra)
        for n in range(concurrency)
    ]


def latency_stats(takers: list[NoteTaker], seconds: float) -> dict[str, Any]:
    """p50/p95/p99/max latency (ms) and throughput of one run."""
    latencies = [s.latency * 1000 for t in takers for s in t.sent]
    acked = sum(len(t.acked) for t in takers)
    return {
        "requests": len(latencies),
        "acknowledged": acked,
        "failed": len(latencies) - acked,
        "seconds": round(seconds, 3),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "notes_per_s": round(acked / seconds, 1) if seconds else 0.0,
    }


def bench_database(
    kind: str,
    slack: FakeSlack,
    notes_per_level: int,
    levels: tuple[int, ...],
    rounds: int,
    sizes: tuple[int, ...] = RENDER_SIZES,
    patience: float = 60.0,
    post_interval: float = POST_INTERVAL,
) -> dict[str, Any]:
    """Start-up, memory, and the load at every concurrency level, on one database."""
    workdir = Path(tempfile.mkdtemp(prefix=f"reviewbot-bench-{kind}-"))
    try:
        with database(kind, workdir) as url:
            return _bench_database(
                kind, url, workdir, slack, notes_per_level, levels, rounds, sizes, patience, post_interval
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _bench_database(
    kind: str,
    url: str,
    workdir: Path,
    slack: FakeSlack,
    notes_per_level: int,
    levels: tuple[int, ...],
    rounds: int,
    sizes: tuple[int, ...],
    patience: float,
    post_interval: float,
) -> dict[str, Any]:
    # Channel posts (note echoes, the agenda) paced as in production; the draft is checked by
    # rendering it from the database with the bot's own renderer rather than waiting for the
    # upload, which queues behind one paced echo per note.
    env = bot_env(url, slack.api_url, workdir, REVIEWBOT_SLACK_POST_INTERVAL=str(post_interval))
    result: dict[str, Any] = {"levels": {}}
    first = BotProcess(env, workdir).start()
    result["startup_fresh_s"] = round(first.ready_seconds, 3)
    first.stop()
    bot = BotProcess(env, workdir).start()
    bare = BotProcess(env, workdir, script=BARE_APP).start()
    try:
        result["startup_s"] = round(bot.ready_seconds, 3)
        result["bare_startup_s"] = round(bare.ready_seconds, 3)
        time.sleep(0.5)
        result["rss_idle_kib"], result["bare_rss_idle_kib"] = bot.rss_kib(), bare.rss_kib()
        say(
            f"[{kind}] start-up to ready: {result['startup_fresh_s']:.2f} s fresh (migrations), "
            f"{result['startup_s']:.2f} s restart; bare Bolt {result['bare_startup_s']:.2f} s. "
            f"Idle RSS {result['rss_idle_kib'] / 1024:.1f} MiB (bare {result['bare_rss_idle_kib'] / 1024:.1f} MiB)"
        )
        for number in range(1, max(levels) + 1):
            slack.users[f"U{number:04d}"] = {"name": f"taker{number}", "display_name": f"Taker {number}"}
        totals = {"acknowledged": 0, "lost_db": 0, "lost_draft": 0, "order_db": 0, "order_draft": 0}
        for concurrency in levels:
            channel = f"CBENCH{kind[:2].upper()}{concurrency}"
            prepare_meeting(bot.url, slack, channel, f"Load test, {concurrency} note-takers")
            count = math.ceil(notes_per_level / concurrency)
            sent: list[list[NoteTaker]] = []
            # Warm-up (not measured): every taker's first notes resolve its name, open connections.
            for app_url, bare_app in ((bare.url, True), (bot.url, False)):
                warm = takers_for(app_url, concurrency, 3, channel, bare_app)
                run_together(warm)
                if not bare_app:
                    sent.append(warm)
            # The same load in rounds, bare and reviewbot taking turns, so that whatever else the
            # machine does at the time weighs on both alike.
            runs: dict[str, Any] = {}
            first = 3
            for _ in range(rounds):
                share = math.ceil(count / rounds)
                own = (os.getpid(), bot.pid, bare.pid)
                wait_for_quiet(own, patience=patience)
                for name, app_url, bare_app in (("bare", bare.url, True), ("reviewbot", bot.url, False)):
                    gc.collect()
                    takers = takers_for(app_url, concurrency, share, channel, bare_app, first=first)
                    usage = CpuUsage(own)
                    seconds = run_together(takers)
                    run = runs.setdefault(name, {"takers": [], "seconds": 0.0, "other_cpu": []})
                    run["takers"].extend(takers)
                    run["seconds"] += seconds
                    run["other_cpu"].append(usage.other_share())
                    if not bare_app:
                        sent.append(takers)
                first += share
            stats = {
                name: {**latency_stats(run["takers"], run["seconds"]),
                       "other_cpu_pct": round(100 * max(run["other_cpu"]), 1)}
                for name, run in runs.items()
            }  # fmt: skip
            chair(bot.url, slack, channel, "/review end")
            drafted = draft_tokens(rendered_draft(url, channel))
            check = check_notes(acked_tokens(*sent), stored_tokens(url, channel), drafted)
            runs = stats
            for key in totals:
                totals[key] += check[key]
            ratio = {
                key: round(runs["reviewbot"][key] / runs["bare"][key], 2) if runs["bare"][key] else None
                for key in ("p50_ms", "p95_ms", "p99_ms", "notes_per_s")
            }
            result["levels"][str(concurrency)] = {**runs, "ratio": ratio, "check": check}
            say(_level_line(kind, concurrency, runs, ratio, check))
        result["rss_after_load_kib"] = bot.rss_kib()
        result["totals"] = totals
        lost = totals["lost_db"] + totals["lost_draft"]
        say(
            f"[{kind}] {totals['acknowledged']} acknowledged notes checked against the database and the drafts: "
            f"lost {lost}, order kept per note-taker: "
            f"{'yes' if not (totals['order_db'] or totals['order_draft']) else 'NO'}. "
            f"RSS after load {result['rss_after_load_kib'] / 1024:.1f} MiB"
        )
    finally:
        bare.stop()
        bot.stop()
    result["load_render"] = bench_load_render(url, sizes)
    return result


def _level_line(kind: str, concurrency: int, runs: dict[str, Any], ratio: dict[str, Any], check: dict[str, int]) -> str:
    bot, bare = runs["reviewbot"], runs["bare"]
    return (
        f"[{kind}] {concurrency:>2} note-takers: reviewbot p50/p95/p99 {bot['p50_ms']:.1f}/{bot['p95_ms']:.1f}/"
        f"{bot['p99_ms']:.1f} ms {bot['notes_per_s']:.0f} notes/s | bare {bare['p50_ms']:.1f}/{bare['p95_ms']:.1f}/"
        f"{bare['p99_ms']:.1f} ms {bare['notes_per_s']:.0f}/s | ratio p50 {ratio['p50_ms']} p95 {ratio['p95_ms']} "
        f"p99 {ratio['p99_ms']} notes/s {ratio['notes_per_s']} | lost {check['lost_db'] + check['lost_draft']}"
        f" | other processes' CPU up to {max(bot['other_cpu_pct'], bare['other_cpu_pct']):.0f}%"
    )


# -- rendering ------------------------------------------------------------------------------------


def synthetic_record(notes: int, sections: int = 40) -> MeetingRecord:
    """A meeting of *notes* notes in *sections* sections: replies, speakers, actions, decisions."""
    per = math.ceil(notes / sections)
    made: list[SectionRecord] = []
    for s in range(sections):
        items = []
        for i in range(min(per, notes - s * per)):
            n = s * per + i
            if n % 20 == 7:
                items.append(NoteRecord(f"Heather: ship the [[dashboard]] by Q{n % 4 + 1} #{n}", kind="action",
                                        owner="Heather"))  # fmt: skip
            elif n % 25 == 3:
                items.append(NoteRecord(f"keep the {{{{Template}}}} & <b>tags</b> out #{n}", kind="decision"))
            else:
                items.append(NoteRecord(f"Gabriel: the p99 went from 3s to 300ms, see https://example.org/{n}",
                                        depth=1 if i and n % 3 == 0 else 0, speaker="Gabriel"))  # fmt: skip
        made.append(SectionRecord(f"Section {s + 1}", level=1 + (s % 3 == 2), notes=tuple(items)))
    start = datetime(2016, 7, 14, 15, 0, tzinfo=UTC)
    return MeetingRecord(
        title="Technology II", timezone="America/Los_Angeles", started_at=start,
        ended_at=start + timedelta(hours=1, minutes=25), present=("Heather", "Gabriel"), remote=("Darian",),
        sections=tuple(made), meeting_id=1,
    )  # fmt: skip


def measure(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall time (s) of *repeat* runs, and the peak traced memory (MiB) of one more."""
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    gc.collect()
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 2**20


def growth(sizes: tuple[int, ...], seconds: list[float]) -> float:
    """The exponent k of time ~ n^k between the smallest and the largest size (1.0 is linear).

    With one size (or a time too small to measure) there is no growth to speak of: 1.0.
    """
    if len(sizes) < 2 or sizes[0] == sizes[-1] or min(seconds[0], seconds[-1]) <= 0:
        return 1.0
    return math.log(seconds[-1] / seconds[0]) / math.log(sizes[-1] / sizes[0])


def bench_render(sizes: tuple[int, ...] = RENDER_SIZES) -> dict[str, Any]:
    """Rendering minutes (wikitext) from a stored record: time and peak memory by size."""
    rows = []
    for size in sizes:
        record = synthetic_record(size)
        seconds, peak = measure(lambda record=record: render_wikitext(record), 3 if size < 100_000 else 2)
        rows.append({"notes": size, "seconds": round(seconds, 4), "peak_mib": round(peak, 1),
                     "us_per_note": round(seconds / size * 1e6, 2)})  # fmt: skip
    exponent = growth(sizes, [r["seconds"] for r in rows])
    say(_render_line("render", rows, exponent))
    return {"rows": rows, "growth_exponent": round(exponent, 3), "linear": exponent <= 1.15}


def bench_load_render(url: str, sizes: tuple[int, ...] = RENDER_SIZES) -> dict[str, Any]:
    """What ``/review end`` does for a meeting of n stored notes: load it, render it."""
    db = Database(url)
    rows = []
    try:
        for size in sizes:
            meeting_id = _store_meeting(db, size)

            def work(meeting_id: int = meeting_id) -> str:
                with db.read() as session:
                    record = load_record(session, session.get(Meeting, meeting_id))
                return render_wikitext(record)

            seconds, peak = measure(work, 2 if size < 100_000 else 1)
            rows.append({"notes": size, "seconds": round(seconds, 4), "peak_mib": round(peak, 1),
                         "us_per_note": round(seconds / size * 1e6, 2)})  # fmt: skip
    finally:
        db.dispose()
    exponent = growth(sizes, [r["seconds"] for r in rows])
    say(_render_line(f"load+render ({url.split(':')[0].split('+')[0]})", rows, exponent))
    return {"rows": rows, "growth_exponent": round(exponent, 3), "linear": exponent <= 1.15}


def _store_meeting(db: Database, size: int) -> int:
    record = synthetic_record(size)
    now = datetime.now(UTC)
    with db.write() as session:
        channel = Channel(workspace_id="T0001", channel_id=f"CRENDER{size}", created_at=now)
        session.add(channel)
        session.flush()
        meeting = Meeting(channel_pk=channel.id, status=MeetingStatus.ENDED, title=record.title, created_at=now,
                          started_at=record.started_at, ended_at=record.ended_at, timezone=record.timezone)  # fmt: skip
        session.add(meeting)
        session.flush()
        rows, seq = [], 0
        for position, section in enumerate(record.sections):
            stored = Section(meeting_id=meeting.id, position=position, level=section.level, title=section.title,
                             planned=True, created_at=now)  # fmt: skip
            session.add(stored)
            session.flush()
            for note in section.notes:
                seq += 1
                rows.append({"meeting_id": meeting.id, "section_id": stored.id, "seq": seq, "depth": note.depth,
                             "kind": NoteKind(note.kind), "speaker": note.speaker, "owner": note.owner,
                             "text": note.text, "author_id": "U0001", "author_name": "Taker 1",
                             "created_at": now})  # fmt: skip
        for start in range(0, len(rows), 5000):
            session.execute(insert(Note), rows[start : start + 5000])
        return meeting.id


def _render_line(what: str, rows: list[dict[str, Any]], exponent: float) -> str:
    cells = ", ".join(
        f"{_size(r['notes'])} notes {r['seconds'] * 1000:.0f} ms ({r['us_per_note']:.1f} µs/note) "
        f"peak {r['peak_mib']:.1f} MiB"
        for r in rows
    )
    return f"[{what}] {cells}; growth exponent {exponent:.2f} ({'linear' if exponent <= 1.15 else 'NOT linear'})"


# -- machine, output -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    mem = next(
        (int(n.split()[1]) for n in Path("/proc/meminfo").read_text().splitlines() if n.startswith("MemTotal")),
        0,
    )
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "filesystem": _filesystem(tempfile.gettempdir()),
    }
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    except Exception:
        info["postgresql"] = None
    return info


def _filesystem(path: str) -> str:
    try:
        out = subprocess.run(["df", "-T", path], capture_output=True, text=True, check=True).stdout
        return out.splitlines()[1].split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def git_commit() -> str:
    """The commit the figures were measured at."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "bench"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()  # fmt: skip
        return out.stdout.strip() + ("+changes" if dirty else "")
    except OSError:
        return "unknown"


def chart(results: dict[str, Any], path: Path) -> None:
    """Latency by concurrency, reviewbot and bare Bolt, one panel per database."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in ("sqlite", "postgresql") if k in results["databases"]]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4.2), squeeze=False, sharey=True)
    for ax, kind in zip(axes[0], kinds, strict=True):
        levels = results["databases"][kind]["levels"]
        xs = [int(c) for c in levels]
        for app, color in (("reviewbot", "tab:blue"), ("bare", "tab:gray")):
            label = "reviewbot" if app == "reviewbot" else "bare Bolt (ack only)"
            for stat, style in (("p50_ms", "-"), ("p99_ms", "--")):
                ys = [levels[c][app][stat] for c in levels]
                ax.plot(xs, ys, style, marker="o", color=color, label=f"{label} {stat[:3]}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel("concurrent note-takers")
        ax.set_title(f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}: /note acknowledgement latency")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("latency (ms)")
    axes[0][-1].legend(fontsize=8, loc="upper left")
    m = results["machine"]
    fig.suptitle(f"{m['cores']} cores {m['cpu']}, {m['memory_gib']} GiB; {results['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict[str, Any], short: bool = False) -> str:
    """The latest figures as Markdown: the latency table (all of it for docs/performance.md; the
    README's, *short*, without start-up, memory and rendering)."""
    m = results["machine"]
    lines = [
        f"Measured {results['date']} at {results['commit']} on {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Linux {m['kernel']}, {m['filesystem']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}; {results['notes_per_level']} notes per level.",
        "",
        "| database | note-takers | reviewbot p50 / p95 / p99 | bare Bolt p50 / p95 / p99 | p99 ratio "
        "| notes/s (ratio) | lost |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for kind, data in results["databases"].items():
        for c, level in data["levels"].items():
            bot, bare, ratio = level["reviewbot"], level["bare"], level["ratio"]
            lost = level["check"]["lost_db"] + level["check"]["lost_draft"]
            lines.append(
                f"| {kind} | {c} | {bot['p50_ms']:.1f} / {bot['p95_ms']:.1f} / {bot['p99_ms']:.1f} ms "
                f"| {bare['p50_ms']:.1f} / {bare['p95_ms']:.1f} / {bare['p99_ms']:.1f} ms | {ratio['p99_ms']:.2f} "
                f"| {bot['notes_per_s']:.0f} ({ratio['notes_per_s']:.2f}) | {lost} |"
            )
    if short:
        return "\n".join(lines)
    lines += ["", "| | " + " | ".join(results["databases"]) + " |", "| --- |" + " ---: |" * len(results["databases"])]
    dbs = list(results["databases"].values())
    lines.append("| start-up to ready (fresh database / restart) | "
                 + " | ".join(f"{d['startup_fresh_s']:.2f} s / {d['startup_s']:.2f} s" for d in dbs)
                 + " |")  # fmt: skip
    lines.append("| resident memory idle / after load | "
                 + " | ".join(f"{d['rss_idle_kib'] / 1024:.0f} / {d['rss_after_load_kib'] / 1024:.0f} MiB" for d in dbs)
                 + " |")  # fmt: skip
    for size_index, first_row in enumerate(dbs[0]["load_render"]["rows"]):
        cells = []
        for d in dbs:
            row = d["load_render"]["rows"][size_index]
            cells.append(f"{row['seconds'] * 1000:.0f} ms, peak {row['peak_mib']:.0f} MiB")
        lines.append(f"| load + render minutes of {_size(first_row['notes'])} notes | " + " | ".join(cells) + " |")
    render = results["render"]
    pure = ", ".join(
        f"{_size(r['notes'])} {r['seconds'] * 1000:.0f} ms / {r['peak_mib']:.0f} MiB" for r in render["rows"]
    )
    growths = ", ".join(f"{kind} {d['load_render']['growth_exponent']:.2f}" for kind, d in results["databases"].items())
    other = max(
        (level[app]["other_cpu_pct"] for d in dbs for level in d["levels"].values() for app in ("reviewbot", "bare")),
        default=0.0,
    )
    lines += [
        "",
        f"Rendering alone: {pure}; growth exponent {render['growth_exponent']:.2f} (1.00 is linear; "
        f"load + render: {growths}). Other processes on the machine used up to {other:.0f}% of its CPU "
        "during a measured run.",
    ]
    return "\n".join(lines)


def _size(notes: int) -> str:
    return f"{notes // 1000}k" if notes % 1000 == 0 else str(notes)


def _replace_between(path: Path, start: str, end: str, table: str) -> None:
    """Put *table* between the markers *start* and *end* of *path*."""
    content = path.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(content):
        raise SystemExit(f"{path.name} has no {start} ... {end} markers")
    path.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", content))


def update_docs(out: Path) -> None:
    """Rewrite the figures from the latest results in *out*: README.md's bench markers get the
    workspace table, docs/performance.md's workspace markers all the workspace figures and its
    bench markers the single-meeting ones."""
    docs = ROOT / "docs" / "performance.md"
    if (out / "workspace.json").exists():
        ws = json.loads((out / "workspace.json").read_text())
        _replace_between(ROOT / "README.md", README_START, README_END, workspace_report.short_table(ws))
        _replace_between(docs, WORKSPACE_START, WORKSPACE_END, workspace_report.full_table(ws))
    if (out / "latest.json").exists():
        _replace_between(docs, README_START, README_END, markdown(json.loads((out / "latest.json").read_text())))


def run_workspace(args: argparse.Namespace, kinds: list[str], info: dict[str, Any], commit: str) -> dict[str, Any]:
    """The workspace scenario for every database and number of meetings; writes workspace.json."""
    meetings = tuple(int(n) for n in args.workspace_meetings.split(","))
    scenario = workspace.Scenario(meetings[0], args.workspace_minutes, seed=args.seed)
    setups = [(kind, 1 if kind == "sqlite" else 3) for kind in kinds]
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": info,
        "scenario": {"meetings": list(meetings), "minutes": args.workspace_minutes, "seed": args.seed,
                     "attendees": scenario.attendees, "takers": scenario.takers, "note_every_s": scenario.note_every,
                     "start_spread_s": scenario.start_spread, "sections": len(workspace.SECTIONS)},
        "runs": workspace.run_all(setups, meetings, scenario, database, args.workspace_drain),
        "budget": [workspace.budget_arithmetic(workspace.Scenario(n, args.workspace_minutes)) for n in meetings],
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "workspace.json").write_text(json.dumps(results, indent=2) + "\n")
    if not args.no_chart:
        workspace_report.chart(results, args.out / "workspace.png")
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--workspace-meetings", default=",".join(map(str, WORKSPACE_MEETINGS)),
                        help="meetings at once in the workspace scenario (default 10,50,100)")  # fmt: skip
    parser.add_argument("--workspace-minutes", type=float, default=3.0,
                        help="length of the workspace scenario's meetings in minutes (default 3)")  # fmt: skip
    parser.add_argument("--workspace-drain", type=float, default=120.0,
                        help="seconds to wait after the end for echoes and minutes (default 120)")  # fmt: skip
    parser.add_argument("--workspace-only", action="store_true", help="skip the single-meeting figures")
    parser.add_argument("--no-workspace", action="store_true", help="only the single-meeting figures")
    parser.add_argument("--quick", action="store_true",
                        help="development: the workspace scenario alone, 10 meetings of 1 minute, SQLite")  # fmt: skip
    parser.add_argument("--seed", type=int, default=15, help="seed of the workspace scenario (default 15)")
    parser.add_argument("--notes-per-level", type=int, default=4096,
                        help="notes sent at each concurrency level, to each app (default 4096)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=4, help="turns bare/reviewbot take at each level (default 4)")
    parser.add_argument("--render-sizes", default=",".join(map(str, RENDER_SIZES)),
                        help="meeting sizes (notes) for the rendering figures")  # fmt: skip
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="seconds to wait for other processes to quieten before each round")  # fmt: skip
    parser.add_argument("--post-interval", type=float, default=POST_INTERVAL,
                        help="REVIEWBOT_SLACK_POST_INTERVAL for the bot (default 1, as in production)")  # fmt: skip
    parser.add_argument("--levels", default=",".join(map(str, CONCURRENCY)), help="concurrency levels")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results and charts go")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG charts")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the figures in README.md and docs/performance.md")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        args.workspace_only, args.workspace_meetings, args.workspace_minutes = True, "10", 1.0
        args.db = "sqlite"
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    commit, info = git_commit(), machine()
    say(f"reviewbot benchmark at {commit}: {info['cores']} cores {info['cpu']}, {info['memory_gib']} GiB")
    if "postgresql" in kinds and info["postgresql"] is None:
        raise SystemExit(f"PostgreSQL at {POSTGRES_URL} is not reachable (use --db sqlite to skip it)")
    lost = 0
    tables = []
    if not args.no_workspace:
        ws = run_workspace(args, kinds, info, commit)
        lost += sum(run["notes"]["missing_from_minutes"] for run in ws["runs"])
        tables.append(workspace_report.full_table(ws))
    if not args.workspace_only:
        results = run_throughput(args, kinds, info, commit)
        lost += sum(d["totals"]["lost_db"] + d["totals"]["lost_draft"] for d in results["databases"].values())
        tables.append(markdown(results))
    if args.readme:
        update_docs(args.out)
    say(f"lost {lost}")
    for table in tables:
        say()
        say(table)
    return 1 if lost else 0


def run_throughput(args: argparse.Namespace, kinds: list[str], info: dict[str, Any], commit: str) -> dict[str, Any]:
    """The single-meeting figures (against a bare Bolt app); writes latest.json."""
    levels = tuple(int(c) for c in args.levels.split(","))
    sizes = tuple(int(n) for n in args.render_sizes.split(","))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": info,
        "notes_per_level": args.notes_per_level,
        "rounds": args.rounds,
        "databases": {},
    }
    # The throughput figures are about the note path, not Slack's pacing of echoes: no rate limits.
    with FakeSlack(rate_limits=False) as slack:
        for kind in kinds:
            results["databases"][kind] = bench_database(
                kind, slack, args.notes_per_level, levels, args.rounds, sizes, args.quiet_wait, args.post_interval
            )
    results["render"] = bench_render(sizes)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    if not args.no_chart:
        chart(results, args.out / "latency.png")
    return results


if __name__ == "__main__":
    sys.exit(main())
