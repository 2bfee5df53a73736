"""Reading minutes back into a comparable structure: from the seed page and from our wikitext."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import mwparserfromhell


@dataclass
class Structure:
    """Title, attendance, and sections with their notes, in order."""

    title: str = ""
    present: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)


_INTRO = re.compile(r"^Notes from the Quarterly Review meeting with (?P<title>.*), \w+ \d+, .*$")


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _attendance(text: str, structure: Structure) -> None:
    present, _, remote = text.partition("participating remotely:")
    structure.present = _names(present.split(":", 1)[1].rstrip("; "))
    structure.remote = _names(remote)


def parse_seed(page: str) -> Structure:
    """The seed page as rendered on Meta-Wiki (headings end in ``[edit]``, bullets are ``•``)."""
    structure = Structure()
    # MediaWiki renders a space before ':', ';', '!' or '?' as a no-break space ("Katherine : ...").
    for line in page.replace("\xa0", " ").splitlines():
        stripped = line.strip()
        if match := _INTRO.match(stripped):
            structure.title = match.group("title")
        elif stripped.startswith("Present (in the office):"):
            _attendance(stripped, structure)
        elif stripped.endswith("[edit]"):
            structure.sections.append((stripped.removesuffix("[edit]").strip(), []))
        elif stripped.startswith("•") and structure.sections:
            structure.sections[-1][1].append(stripped.lstrip("•").strip())
    return structure


def plain(wikitext: str) -> str:
    """What a wiki shows for a piece of inline wikitext."""
    return html.unescape(mwparserfromhell.parse(wikitext).strip_code(normalize=True, collapse=True)).strip()


def parse_wikitext(text: str) -> Structure:
    """Our wikitext draft, read with a real wikitext parser."""
    structure = Structure()
    code = mwparserfromhell.parse(text)
    for heading in code.filter_headings(recursive=False):
        structure.sections.append((plain(str(heading.title)), []))
    structure.sections = []
    for line in text.splitlines():
        if match := re.match(r"^(={2,3}) (.*) \1$", line):
            structure.sections.append((plain(match.group(2)), []))
        elif match := re.match(r"^(\*+) (.*)$", line):
            if structure.sections:
                structure.sections[-1][1].append(plain(match.group(2)))
        elif line.startswith("'''Present (in the office)'''"):
            _attendance(plain(line), structure)
        elif match := _INTRO.match(plain(line)):
            structure.title = match.group("title")
    return structure
