"""``reviewbot import``: past minutes pages, from a file or a wiki, become stored past meetings.

The command line side of :mod:`reviewbot.core.imports`: it finds the pages (a file, standard
input, one wiki page, or every page under a prefix, through the ``WIKI_*`` settings), imports
them one transaction each, prints a line per meeting and the report, and turns every problem into
one sentence and an exit code (1: nothing to import there; 2: the wiki is not set up).
"""

from __future__ import annotations

import argparse
import sys
from hashlib import sha256
from pathlib import Path

from reviewbot.config import Settings
from reviewbot.core import Clock, SystemClock
from reviewbot.core.context import UserError
from reviewbot.core.imports.importer import FILE_SOURCE, Importer, ImportReport, Source, count, wiki_source
from reviewbot.core.publishing import WikiError
from reviewbot.core.wiki_pages import WikiReader


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``import`` subcommand and its options."""
    parser = sub.add_parser("import", help="import past minutes pages (a file or wiki pages) as ended meetings")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("file", nargs="?", help="a file of minutes wikitext (- for standard input)")
    what.add_argument("--wiki", metavar="TITLE", help="the wiki page (WIKI_API_URL) to import")
    what.add_argument("--wiki-prefix", metavar="PREFIX", help="import every wiki page whose title starts so")
    parser.add_argument(
        "--channel", help="attach the meetings to this channel (default: the archive; a page imported again stays put)"
    )
    parser.add_argument("--workspace", help="the channel's workspace, if the bot has not seen the channel yet")


def _fail(message: str, code: int = 1) -> int:
    print(f"reviewbot: {message}", file=sys.stderr)
    return code


def _wiki_reader(settings: Settings) -> WikiReader | None:
    if not settings.wiki_api_url:
        return None
    from reviewbot.wiki import MediaWikiClient

    return MediaWikiClient(settings.wiki_api_url, settings.wiki_username or "", settings.wiki_password or "")


def run_import(
    args: argparse.Namespace, settings: Settings, clock: Clock | None = None, wiki: WikiReader | None = None
) -> int:
    """Run ``reviewbot import`` with parsed *args*; the exit code."""
    from reviewbot.runtime import build_runtime

    if args.workspace and not args.channel:
        return _fail("--workspace goes with --channel: it names the channel's workspace")
    text = None
    if args.file is not None:
        try:
            text = _read_text(args.file)
        except UserError as error:
            return _fail(str(error))
    else:
        try:
            wiki = wiki or _wiki_reader(settings)
        except WikiError as error:  # a WIKI_API_URL that is no api.php address
            return _fail(str(error), 2)
        if wiki is None:
            return _fail("the wiki is not set up: set WIKI_API_URL (and WIKI_USERNAME, WIKI_PASSWORD) first", 2)
    runtime = build_runtime(settings)
    report = ImportReport()
    try:
        importer = Importer(runtime.db, runtime.commands.wording, settings.timezone, clock or SystemClock())
        channel = importer.channel(args.channel, args.workspace)
        if text is not None:
            _one(importer, _file_source(importer, args.file, text), channel, report)
        else:
            assert wiki is not None
            if args.wiki:
                if (source := wiki_source(wiki, args.wiki)) is None:
                    return _fail(f"there is no wiki page “{args.wiki}”")
                _one(importer, source, channel, report)
            else:
                titles = wiki.titles_with_prefix(args.wiki_prefix)
                if not titles:
                    return _fail(f"no wiki page starts with “{args.wiki_prefix}”")
                for title in titles:  # read one at a time, as they are imported
                    if (source := wiki_source(wiki, title)) is None:
                        report.skipped.append((title, "no such page: gone since it was listed"))
                    else:
                        _one(importer, source, channel, report)
    except (UserError, WikiError) as error:
        if report.meeting_ids or report.skipped:
            print(report.line() + ", before this error:")  # what was done stays done
        return _fail(str(error))
    finally:
        runtime.close()
    print(report.line())
    return 1 if report.skipped and not report.meeting_ids else 0


def _read_text(name: str) -> str:
    """The text of the file *name* (``-``: standard input), which must be UTF-8; else a UserError."""
    where = "standard input" if name == "-" else name
    try:
        if name == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8", "surrogateescape")
        else:
            data = Path(name).read_bytes()
    except FileNotFoundError:
        raise UserError(f"no such file: {name}") from None
    except OSError as error:
        raise UserError(f"cannot read {where}: {error.strerror or type(error).__name__}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{where} is not UTF-8 text (byte {error.start:,} is not): wikitext is expected") from None


def _file_source(importer: Importer, name: str, text: str) -> Source:
    """A file is keyed by its full path; standard input by the meeting's title and day, or by its
    text's digest when it gives no day (two undated pages must not replace each other)."""
    if name != "-":
        path = Path(name).resolve()
        return Source(wiki=FILE_SOURCE, page=str(path), text=text, title_hint=path.stem)
    record = importer.read(Source(wiki=FILE_SOURCE, page="-", text=text, title_hint="")).record
    day = f" {record.started_at:%Y-%m-%d}" if record.started_at else f" #{sha256(text.encode()).hexdigest()[:12]}"
    return Source(wiki=FILE_SOURCE, page=f"(standard input) {record.title}{day}", text=text, title_hint=record.title)


def _one(importer: Importer, source: Source, channel: tuple[str, str] | None, report: ImportReport) -> None:
    before = report.notes
    meeting_id = importer.import_one(source, channel, report)
    if meeting_id is not None:
        print(f"meeting #{meeting_id}: {source.page} ({count(report.notes - before, 'note')})")
