"""A wiki page's logical lines: its lines, but a template, tag, comment or table that spans
lines is one line, so that the reader (:mod:`reviewbot.core.imports.reader`) never cuts one in two.

mwparserfromhell finds what spans lines; it is run only on the runs of lines that may hold such
a thing, as a cheap count of openings and closings finds them (most lines of most pages hold
none, and parsing a whole long page costs seconds).
"""

from __future__ import annotations

import re

import mwparserfromhell
from mwparserfromhell.nodes import Argument, Comment, Tag, Template, Text

# What may open and close across lines, by kind: templates, comments, tables, tags.
_PAIRS = tuple(
    (re.compile(opening, re.IGNORECASE), re.compile(closing))
    for opening, closing in (
        (r"\{\{", r"\}\}"),
        (r"<!--", r"-->"),
        (r"^\{\|", r"^\|\}"),
        (r"<(?!/)(?!(?:br|hr|wbr)\b)\w+[^<>]*(?<!/)>", r"</\w+\s*>"),
    )
)


def _segments(lines: list[str]) -> list[list[str]]:
    """The lines in runs that may belong together: a run ends where every template, comment, table
    and tag opened in it looks closed (a cheap count; the parser has the last word in each run)."""
    runs, current, depths = [], [], [0] * len(_PAIRS)
    for line in lines:
        current.append(line)
        for kind, (opening, closing) in enumerate(_PAIRS):
            depths[kind] = max(0, depths[kind] + len(opening.findall(line)) - len(closing.findall(line)))
        if not any(depths):
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _joined(text: str) -> list[str]:
    """The lines of *text*, where a template, tag or comment that spans lines keeps them together."""
    pieces = []
    for node in mwparserfromhell.parse(text).nodes:
        piece = str(node)
        spans = isinstance(node, Template | Comment | Argument) or (
            isinstance(node, Tag) and (node.wiki_markup is None or node.wiki_markup == "{|")
        )
        pieces.append(piece.replace("\n", "\0") if spans and not isinstance(node, Text) else piece)
    masked = "".join(pieces)
    if len(masked) != len(text):  # the parser always gives the text back; never trust it blindly
        return text.split("\n")
    lines, start = [], 0
    for part in masked.split("\n"):
        lines.append(text[start : start + len(part)])
        start += len(part) + 1
    return lines


def logical_lines(text: str) -> list[str]:
    """The page's lines, where a template, tag or comment that spans lines keeps them together.

    Only the runs of lines that may hold such a thing are parsed (most lines of most pages hold
    none, and parsing a whole long page costs seconds).
    """
    lines: list[str] = []
    for run in _segments(text.split("\n")):
        lines += run if len(run) == 1 else _joined("\n".join(run))
    return lines
