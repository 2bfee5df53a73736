"""Search benchmark: ``/review search`` over a million notes, on SQLite and PostgreSQL.

Run from the repository root as ``python -m bench.search`` (``--help`` for the options; ``make
bench-search``). For each database it builds ten years of 100 teams' quarterly reviews (4,000
meetings of 250 notes: 1,000,000 notes of synthetic but word-like text, Zipf-distributed as
language is, with speakers, action items and decisions) through the migrations' schema, so the
full-text index is kept by its triggers (SQLite) or generated column (PostgreSQL) as the notes
go in. It reports:

* the import rate (notes per second, in transactions of 10,000 notes, index maintained);
* the database size per million notes (and the search index's part of it);
* search latency (p50/p95/p99) of a mix of searches run as ``/review search`` runs them
  (:meth:`reviewbot.core.search.Search.find`: parse, privacy scope, ranked page, highlights):
  words, two words, phrases, a speaker, dates and kinds, and ``in:all`` over every channel;
* the cost of the index on the note write path: notes through ``Meetings.add_note`` (the real
  hot path, one commit each) and in one transaction, with and without the search objects of
  migration 0008 (three rounds of 3,000 notes, medians).

Results go to ``bench/results/search.json``. PostgreSQL is the server at
``REVIEWBOT_BENCH_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
in a fresh schema dropped afterwards; all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.loadgen import percentile
from reviewbot.core import Caller
from reviewbot.core.commands import CommandHandler
from reviewbot.core.meetings import Meetings
from reviewbot.core.search import Search
from reviewbot.store.database import MIGRATIONS_DIR, Database
from reviewbot.store.search import STOP_WORDS
from tests.support.paths import ROOT
from tests.support.pgschema import schema_url

RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get(
    "REVIEWBOT_BENCH_POSTGRES_URL",
    os.environ.get("REVIEWBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
WORKSPACE = "TBENCH"
TEAMS = 100
QUARTERS = 40  # ten years of quarterly reviews
NOTES_PER_MEETING = 250
SECTIONS = ("Welcome", "Metrics", "Budget and spending", "Hiring", "Roadmap", "Risks", "Questions")
FIRST_REVIEW = datetime(2016, 7, 14, 15, 0, tzinfo=UTC)
BATCH = 10_000  # notes per import transaction
WRITE_ROUNDS = 3  # the write check's rounds (medians reported)

#: Words of review meetings, the most frequent first (after the function words).
DOMAIN = """
team plan budget quarter goal users editors traffic mobile data launch release product feature
review metrics growth community engineering design research survey hiring search page content
reading donors fundraising campaign partners grants legal policy privacy security infrastructure
servers performance latency outage incident postmortem deployment testing automation analytics
dashboard retention onboarding mentorship volunteers contributors articles wikis languages
translation accessibility interface desktop apps android ios notifications editing visual wikitext
templates references citations images commons uploads video audio maps reports pageviews unique
devices sessions engagement conversion donations revenue expenses headcount contractors vendors
office travel conference hackathon workshop training documentation roadmap milestones deadlines
blockers dependencies risks priorities strategy vision mission values culture diversity inclusion
safety harassment moderation abuse spam bots vandalism patrolling admins stewards arbitration
elections board trustees chapters affiliates movement governance transparency audit compliance
datacenter caching network storage database replication backups failover migration upgrade
refactoring api queries dumps exports imports tools gadgets extensions skins parser lua modules
kubernetes containers monitoring alerts paging oncall capacity hardware procurement bandwidth
cdn dns tls certificates authentication login accounts passwords tokens sso oauth sprint backlog
tickets phabricator gerrit patches reviews merges branches ci pipeline flaky tests coverage
benchmark profiling memory cpu regression rollback hotfix freeze schedule timeline estimate
forecast baseline target kpi okr objective outcome impact evaluation experiment ab variant
cohort sample significance results findings insights recommendations next steps followup action
decision owner deadline blocker update status progress risk issue question answer feedback
""".split()  # noqa: SIM905
FUNCTION = """
the of and to a in is that we for it on with as this are be was at by from have not but
our they will more can an or has which their about so there what all would if one also been
""".split()  # noqa: SIM905
NAMES = """
Katherine Lila Wes Greg Tilman Erik Terry Damon Toby Jaime Dario Luis Maggie Moiz Kevin Sherry
Gabriel Pats Juliet Zack Anna Jonathan Adam Victoria Geoff Ori Quim Jessie Rachel Boryana
""".split()  # noqa: SIM905


def say(message: str = "") -> None:
    """Print a line of the report at once."""
    print(message, flush=True)


class Corpus:
    """Word-like text in a Zipf distribution: function words, meeting words, then a long tail."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
        tail = {"".join(self.rng.choice(syllables) for _ in range(self.rng.randint(2, 4))) for _ in range(30_000)}
        self.words = FUNCTION + DOMAIN + sorted(tail - set(DOMAIN) - set(FUNCTION))
        weights = [1 / (rank**1.07) for rank in range(1, len(self.words) + 1)]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.speakers = [f"{first} {self.rng.choice(NAMES)}son" for first in NAMES]

    def sentence(self) -> str:
        """A note's text: 5 to 30 words."""
        count = self.rng.randint(5, 30)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))


def meeting_rows(corpus: Corpus, team: int, quarter: int, ids: dict[str, int]) -> tuple[list, list, list]:
    """The rows of one review: its meeting, its sections and its notes (ids assigned here)."""
    rng = corpus.rng
    ids["meeting"] += 1
    meeting_id = ids["meeting"]
    start = FIRST_REVIEW + timedelta(days=91 * quarter, hours=team % 9)
    year, q = 2016 + (quarter + 2) // 4, (quarter + 2) % 4 + 1
    meeting = (meeting_id, team + 1, f"Team {team + 1} quarterly review, Q{q} FY{year}", start)
    sections = []
    for position, title in enumerate(SECTIONS):
        ids["section"] += 1
        sections.append((ids["section"], meeting_id, position, title, start))
    people = rng.sample(corpus.speakers, 6)
    notes = []
    for seq in range(1, NOTES_PER_MEETING + 1):
        ids["note"] += 1
        section_id = sections[min(len(sections) - 1, (seq - 1) * len(sections) // NOTES_PER_MEETING)][0]
        said = corpus.sentence()
        roll = rng.random()
        kind, speaker, owner = "note", None, None
        if roll < 0.05:
            kind, owner = "action", rng.choice(people)
            note_text = f"{owner}: {said}"
        elif roll < 0.08:
            kind, note_text = "decision", said
        elif roll < 0.78:
            speaker = rng.choice(people)
            note_text = f"{speaker}: {said}"
        else:
            note_text = said
        at = start + timedelta(seconds=10 * seq)
        notes.append((ids["note"], meeting_id, section_id, seq, kind, speaker, owner, note_text, at))
    return [meeting], sections, notes


def _stamp(moment: datetime, sqlite: bool) -> object:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else naive


CHANNEL_SQL = "INSERT INTO channels (id, workspace_id, channel_id, created_at, private) VALUES ({p})"
MEETING_SQL = (
    "INSERT INTO meetings (id, channel_pk, status, title, created_at, started_at, ended_at, timezone) VALUES ({p})"
)
SECTION_SQL = "INSERT INTO sections (id, meeting_id, position, level, title, planned, created_at) VALUES ({p})"
NOTE_SQL = (
    "INSERT INTO notes (id, meeting_id, section_id, seq, depth, kind, speaker, owner, text, author_id, "
    "author_name, created_at, wikitext) VALUES ({p})"
)


def _sql(template: str, count: int, sqlite: bool) -> str:
    return template.format(p=", ".join(["?" if sqlite else "%s"] * count))


def load(db: Database, notes_wanted: int, seed: int) -> dict[str, Any]:
    """Import the synthetic reviews in transactions of :data:`BATCH` notes; the import rate."""
    sqlite = db.is_sqlite
    corpus = Corpus(seed)
    raw = db.engine.raw_connection()
    dbapi = raw.driver_connection
    cursor = dbapi.cursor()
    begin = "BEGIN IMMEDIATE" if sqlite else None

    def run(statement: str, rows: list[tuple]) -> None:
        if rows:
            cursor.executemany(statement, rows)

    def commit(pending: dict[str, list]) -> None:
        if begin:
            cursor.execute(begin)
        run(_sql(MEETING_SQL, 8, sqlite), pending["meetings"])
        run(_sql(SECTION_SQL, 7, sqlite), pending["sections"])
        run(_sql(NOTE_SQL, 13, sqlite), pending["notes"])
        dbapi.commit() if not sqlite else cursor.execute("COMMIT")
        for rows in pending.values():
            rows.clear()

    now = datetime.now(UTC)
    if begin:
        cursor.execute(begin)
    cursor.executemany(
        _sql(CHANNEL_SQL, 5, sqlite),
        [(team + 1, WORKSPACE, f"C{team + 1:05d}", _stamp(now, sqlite), False) for team in range(TEAMS)],
    )
    dbapi.commit() if not sqlite else cursor.execute("COMMIT")
    ids = {"meeting": 0, "section": 0, "note": 0}
    pending: dict[str, list] = {"meetings": [], "sections": [], "notes": []}
    made = 0
    generating = 0.0
    started = time.perf_counter()
    writing = 0.0
    for quarter in range(QUARTERS):
        for team in range(TEAMS):
            if made >= notes_wanted:
                break
            t0 = time.perf_counter()
            meetings, sections, notes = meeting_rows(corpus, team, quarter, ids)
            generating += time.perf_counter() - t0
            for mid, channel, title, start in meetings:
                end = start + timedelta(minutes=90)
                pending["meetings"].append((
                    mid, channel, "ended", title, _stamp(start, sqlite), _stamp(start, sqlite),
                    _stamp(end, sqlite), "America/Los_Angeles",
                ))  # fmt: skip
            for sid, mid, position, title, at in sections:
                pending["sections"].append((sid, mid, position, 1, title, True, _stamp(at, sqlite)))
            for nid, mid, sid, seq, kind, speaker, owner, note_text, at in notes:
                pending["notes"].append((
                    nid, mid, sid, seq, 0, kind, speaker, owner, note_text, "U0001", "Scribe", _stamp(at, sqlite),
                    False,
                ))  # fmt: skip
            made += len(notes)
            if len(pending["notes"]) >= BATCH:
                t0 = time.perf_counter()
                commit(pending)
                writing += time.perf_counter() - t0
    t0 = time.perf_counter()
    commit(pending)
    writing += time.perf_counter() - t0
    elapsed = time.perf_counter() - started
    cursor.close()
    raw.close()
    say(f"  imported {made:,} notes in {writing:.1f} s of writing ({made / writing:,.0f} notes/s; "
        f"{generating:.1f} s generating text)")  # fmt: skip
    return {
        "notes": made,
        "meetings": ids["meeting"],
        "write_seconds": round(writing, 2),
        "notes_per_second": round(made / writing),
        "total_seconds": round(elapsed, 2),
        "corpus": corpus,
    }


def settle(db: Database) -> None:
    """What an operator's maintenance would do after a bulk import: statistics for the planner."""
    if db.is_sqlite:
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("ANALYZE")
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def sizes(db: Database, path: Path | None) -> dict[str, int]:
    """Bytes on disk: the whole database, and the search index's part."""
    with db.engine.connect() as connection:
        if db.is_sqlite:
            assert path is not None
            total = path.stat().st_size
            try:
                index = connection.exec_driver_sql(
                    "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'notes_fts%'"
                ).scalar_one()
            except Exception:  # SQLite built without dbstat
                index = None
            return {"database_bytes": total, "index_bytes": int(index) if index is not None else -1}
        total = connection.exec_driver_sql(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).scalar_one()
        index = connection.exec_driver_sql("SELECT pg_relation_size('ix_notes_search')").scalar_one()
        column = connection.exec_driver_sql("SELECT sum(pg_column_size(search_vector)) FROM notes").scalar_one()
        return {"database_bytes": int(total), "index_bytes": int(index) + int(column or 0)}


def queries(corpus: Corpus, count: int, seed: int) -> list[tuple[str, str, int]]:
    """A mix of searches as people type them: ``(kind, query text, team)``."""
    rng = random.Random(seed)
    mix = [
        ("word", 35), ("two words", 20), ("phrase", 10), ("speaker", 10), ("dates and kind", 5),
        ("in:all word", 15), ("in:all two words", 5),
    ]  # fmt: skip
    kinds = [kind for kind, weight in mix for _ in range(weight)]
    out = []
    for _ in range(count):
        kind = rng.choice(kinds)
        team = rng.randrange(TEAMS)
        word, other = rng.sample(DOMAIN, 2)
        if kind in ("word", "in:all word"):
            query = word
        elif kind in ("two words", "in:all two words"):
            query = f"{word} {other}"
        elif kind == "phrase":  # two words next to each other in a note, not both very common
            while True:
                words = corpus.sentence().split()
                i = rng.randrange(len(words) - 1)
                if words[i] not in STOP_WORDS or words[i + 1] not in STOP_WORDS:
                    break
            query = f'"{words[i]} {words[i + 1]}"'
        elif kind == "speaker":
            query = f"{word} speaker:{rng.choice(NAMES)}"
        else:
            year = rng.randint(2017, 2025)
            query = f"{word} after:{year} before:{year + 2} is:{rng.choice(['action', 'decision'])}"
        if kind.startswith("in:all"):
            query += " in:all"
        out.append((kind, query, team))
    return out


def measure_searches(db: Database, corpus: Corpus, count: int, seed: int) -> dict[str, Any]:
    """Run the mix through the core's search; latency in milliseconds, overall and by kind."""
    search = Search(db, "America/Los_Angeles")
    mix = queries(corpus, count, seed)
    for _kind, query, team in mix[:20]:  # warm the caches and the pool
        search.find(Caller(WORKSPACE, f"C{team + 1:05d}", "U1", "bench"), query)
    timings: dict[str, list[float]] = {}
    found: dict[str, list[int]] = {}
    for kind, query, team in mix:
        caller = Caller(WORKSPACE, f"C{team + 1:05d}", "U1", "bench")
        t0 = time.perf_counter()
        results = search.find(caller, query)
        timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
        found.setdefault(kind, []).append(len(results.results))
    every = [ms for values in timings.values() for ms in values]
    report: dict[str, Any] = {"queries": len(every), **_latency(every), "by_kind": {}}
    for kind, values in timings.items():
        report["by_kind"][kind] = {**_latency(values), "queries": len(values),
                                   "with_results": sum(1 for n in found[kind] if n)}  # fmt: skip
    return report


def _latency(values: list[float]) -> dict[str, float]:
    return {f"p{p}_ms": round(percentile(values, p), 2) for p in (50, 95, 99)} | {"max_ms": round(max(values), 2)}


def _migration_0008() -> Any:
    path = next((MIGRATIONS_DIR / "versions").glob("0008_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def note_writes(url: str, count: int, with_index: bool) -> tuple[float, float]:
    """Seconds per note for *count* notes through ``Meetings.add_note`` one after the other (the
    hot path, a commit each), and for *count* notes inserted in one transaction (an import)."""
    db = Database(url)
    db.upgrade()
    if not with_index:
        migration = _migration_0008()
        with db.engine.begin() as connection:
            for statement in migration.SQLITE_DOWN if db.is_sqlite else migration.POSTGRESQL_DOWN:
                connection.exec_driver_sql(statement)
    meetings = Meetings(db, "America/Los_Angeles")
    caller = Caller("TW", "CWRITE", "U1", "Scribe")
    CommandHandler(meetings).handle("/review", "start Write check", caller)
    corpus = Corpus(7)
    lines = [f"Wes: {corpus.sentence()}" for _ in range(count)]
    t0 = time.perf_counter()
    for line in lines:
        meetings.add_note(caller, line)
    one_by_one = (time.perf_counter() - t0) / count
    with db.engine.connect() as connection:
        meeting_id, section_id = connection.exec_driver_sql(
            "SELECT meeting_id, section_id FROM notes ORDER BY id DESC LIMIT 1"
        ).one()
    now = _stamp(datetime.now(UTC), db.is_sqlite)
    rows = [
        (count + n + 1, meeting_id, section_id, count + n + 1, 0, "note", "Wes", None, line, "U1", "Scribe", now, False)
        for n, line in enumerate(lines)
    ]
    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        t0 = time.perf_counter()
        if db.is_sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(_sql(NOTE_SQL, 13, db.is_sqlite), rows)
        cursor.execute("COMMIT") if db.is_sqlite else raw.driver_connection.commit()
        bulk = (time.perf_counter() - t0) / count
    finally:
        raw.close()
    db.dispose()
    return one_by_one, bulk


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[tuple[str, Path | None]]:
    """A fresh SQLite file or PostgreSQL schema: its URL (and the SQLite file)."""
    if kind == "sqlite":
        path = workdir / f"search-{time.time_ns()}.db"
        yield f"sqlite:///{path}", path
        return
    with schema_url(POSTGRES_URL, prefix="bench") as url:
        yield url, None


def bench_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Everything measured on one database."""
    say(f"{kind}:")
    result: dict[str, Any] = {}
    with database(kind, workdir) as (url, path):
        db = Database(url, timeout_ms=60_000)
        db.upgrade()
        imported = load(db, args.notes, args.seed)
        corpus = imported.pop("corpus")
        result["import"] = imported
        t0 = time.perf_counter()
        settle(db)
        result["import"]["settle_seconds"] = round(time.perf_counter() - t0, 2)
        size = sizes(db, path)
        per_million = 1_000_000 / imported["notes"]
        result["size"] = {
            **size,
            "database_mb_per_million_notes": round(size["database_bytes"] * per_million / 2**20, 1),
            "index_mb_per_million_notes": round(size["index_bytes"] * per_million / 2**20, 1)
            if size["index_bytes"] >= 0 else None,
        }  # fmt: skip
        say(f"  size: {result['size']['database_mb_per_million_notes']} MB per million notes "
            f"(search index {result['size']['index_mb_per_million_notes']} MB)")  # fmt: skip
        result["search"] = measure_searches(db, corpus, args.queries, args.seed)
        s = result["search"]
        say(f"  search: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, max {s['max_ms']} ms "
            f"({s['queries']} searches)")  # fmt: skip
        for name, k in s["by_kind"].items():
            say(f"    {name:17} p50 {k['p50_ms']:7.2f}  p95 {k['p95_ms']:7.2f}  max {k['max_ms']:7.2f} ms "
                f"({k['queries']} searches, {k['with_results']} with results)")  # fmt: skip
        db.dispose()
    if args.write_notes:
        result["note_writes"] = measure_writes(kind, args, workdir)
    return result


def measure_writes(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The write check on fresh databases, without the search index (migration 0008's objects
    dropped) and with it, three rounds taking turns: the medians."""
    writes: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for round_ in range(WRITE_ROUNDS):
        for with_index in (False, True) if round_ % 2 == 0 else (True, False):
            with database(kind, workdir) as (url, _path):
                writes[with_index].append(note_writes(url, args.write_notes, with_index))

    def median(with_index: bool, which: int) -> float:
        return statistics.median(pair[which] for pair in writes[with_index]) * 1e6

    report = {
        "notes": args.write_notes,
        "rounds": WRITE_ROUNDS,
        "add_note_us_without_index": round(median(False, 0)),
        "add_note_us_with_index": round(median(True, 0)),
        "bulk_us_without_index": round(median(False, 1), 1),
        "bulk_us_with_index": round(median(True, 1), 1),
    }
    one = f"{report['add_note_us_without_index']} / {report['add_note_us_with_index']}"
    bulk = f"{report['bulk_us_without_index']} / {report['bulk_us_with_index']}"
    say(f"  note writes, µs per note without / with the search index: Meetings.add_note (a commit each) {one}; "
        f"{args.write_notes:,} in one transaction {bulk}")  # fmt: skip
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write ``bench/results/search.json``."""
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--notes", type=int, default=TEAMS * QUARTERS * NOTES_PER_MEETING)
    parser.add_argument("--queries", type=int, default=500, help="searches to time on each database")
    parser.add_argument("--write-notes", type=int, default=3000, help="notes per round of the write check (0: skip)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--write-only", action="store_true", help="only the write check, merged into --out")
    parser.add_argument("--out", type=Path, default=RESULTS / "search.json")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: drop the schema, delete the files
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "notes": args.notes,
        "teams": TEAMS,
        "quarters": QUARTERS,
    }
    if args.write_only and args.out and args.out.exists():
        report = json.loads(args.out.read_text())
    workdir = Path(tempfile.mkdtemp(prefix="reviewbot-search-"))
    try:
        for kind in kinds:
            if args.write_only:
                say(f"{kind}:")
                report.setdefault(kind, {})["note_writes"] = measure_writes(kind, args, workdir)
            else:
                report[kind] = bench_database(kind, args, workdir)
    finally:
        for leftover in workdir.glob("*"):
            leftover.unlink()
        workdir.rmdir()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        say(f"written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
