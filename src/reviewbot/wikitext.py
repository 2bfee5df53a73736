"""Escaping of user-typed text for MediaWiki wikitext.

Everything a user types (notes, speakers, titles, section names, attendee names) goes through
:func:`inline` (or :func:`heading` for section titles) before it reaches the minutes, so that it
renders as exactly that literal text on one line and can never become wiki markup: no headings,
lists, links, templates, categories, signatures, behaviour switches, tables, HTML or comments.

The escaping is targeted rather than blanket, so the wikitext stays readable and editable by
people: ordinary prose (``didn't``, ``Danny_B``, ``large & small``, ``(-4.5%)``) is left as it is,
and only the characters that could start markup are written as numeric character references.

What MediaWiki 1.39 does, as checked by ``tests/core/test_wikitext_hostile.py`` against a real wiki:

* Text is NFC-normalized when it reaches the wiki (its request handling does it to every value), so
  :func:`normalize` does the same, and what is sent is what is stored.
* Character references are decoded only in the browser, after every wikitext pass, so ``&#91;``
  is a bracket on the page and never the start of a link; an ``&`` that would start a reference
  in the user's own text is written ``&amp;`` so that it shows as typed.
* Free links need ``protocol:`` and the ISBN/RFC/PMID magic links need a space after the word;
  both are matched case-insensitively with Unicode folding for protocols (``httpſ://`` is a link,
  ``ſ`` folding to ``s``) and at a word boundary by the wiki's own idea of a word, so the colon or
  the space is escaped wherever the wiki might see a boundary.
* A space before ``: ; ! ? %`` is shown as a no-break space ("French spacing"): a matter of
  typography that the escaping leaves alone.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from html.entities import html5

__all__ = ["heading", "inline", "normalize", "plain"]

# Protocols that MediaWiki (1.39 default $wgUrlProtocols) turns into free external links.
_URL_PROTOCOLS = (
    "bitcoin", "ftp", "ftps", "geo", "git", "gopher", "http", "https", "irc", "ircs", "magnet",
    "mailto", "matrix", "mms", "news", "nntp", "redis", "sftp", "sip", "sips", "sms", "ssh", "svn",
    "tel", "telnet", "urn", "worldwind", "xmpp",
)  # fmt: skip

# Not after an ASCII letter, digit or underscore: those are word characters for the wiki too, and
# anything else (an accented letter, a combining mark, a digit of another script) may or may not
# be, so a word boundary is assumed there and the escape is made.
_NOT_AFTER_WORD = r"(?<![0-9A-Za-z_])"

_WHITESPACE = re.compile(r"\s+")
# An "&" that starts a character reference: numeric, anything named with a ";", or one of the
# names a browser decodes even without it ("&copy", "&not"), so "AT&T" stays as it is.
_LEGACY_ENTITIES = sorted((name for name in html5 if not name.endswith(";")), key=len, reverse=True)
_ENTITY_LIKE = re.compile(r"&(?=#|[0-9A-Za-z]+;|" + "|".join(_LEGACY_ENTITIES) + ")")
# Python's IGNORECASE folds like the wiki's PCRE does (``ſ`` matches ``s``, ``K`` matches ``k``).
_PROTOCOL_COLON = re.compile(_NOT_AFTER_WORD + r"(?i:(" + "|".join(_URL_PROTOCOLS) + r")):")
_MAGIC_LINK = re.compile(_NOT_AFTER_WORD + r"(ISBN|RFC|PMID) (?=[0-9Xx])")
_APOSTROPHES = re.compile(r"'{2,}|^'|'$")
_TILDES = re.compile(r"~{3,}")
_UNDERSCORES = re.compile(r"_{2,}")
_DASHES = re.compile(r"-{4,}")
_LINE_START = re.compile(r"^[*#:;!|=\-{}]")
_CHARACTERS = str.maketrans({
    "<": "&lt;", ">": "&gt;", "[": "&#91;", "]": "&#93;", "{": "&#123;", "}": "&#125;", "|": "&#124;",
})  # fmt: skip


def _ref(char: str) -> str:
    return f"&#{ord(char)};"


def _ref_all(match: re.Match[str]) -> str:
    return "".join(_ref(c) for c in match.group(0))


# What is dropped from typed text in favour of a space: the characters of the Unicode categories
# Cc (controls), Cs (surrogates), Zl and Zp (line and paragraph separators), and U+FFFE, U+FFFF.
# One regular expression instead of a category look-up per character: rendering 100k notes took
# twice as long with the look-ups (tests/system/test_fuzz.py checks the two agree).
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def normalize(text: str) -> str:
    """Make *text* one NFC line: controls and line breaks become spaces, runs of space fold.

    This is exactly the text that :func:`inline` and :func:`heading` show on the wiki.
    """
    text = _BREAKS.sub(" ", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return unicodedata.normalize("NFC", text)


def inline(text: str) -> str:
    """Return wikitext that renders as exactly ``normalize(text)``, with no markup.

    It is safe anywhere in running text: after a list marker, in a heading, between bold labels,
    and next to ``''`` (apostrophes at either end are escaped so they can't join the wiki's own).
    """
    text = normalize(text)
    text = _ENTITY_LIKE.sub("&amp;", text)
    text = text.translate(_CHARACTERS)
    text = _APOSTROPHES.sub(_ref_all, text)
    text = _TILDES.sub(_ref_all, text)
    text = _UNDERSCORES.sub(_ref_all, text)
    text = _DASHES.sub(_ref_all, text)
    # Last, on the text as the wiki will see it, so a reference written above counts as the
    # non-word it ends with (";").
    text = _PROTOCOL_COLON.sub(lambda m: m.group(1) + "&#58;", text)
    text = _MAGIC_LINK.sub(lambda m: m.group(1) + "&#32;", text)
    return _LINE_START.sub(lambda m: _ref(m.group(0)), text)


def heading(text: str) -> str:
    """Return wikitext for a heading's title: :func:`inline`, and ``=`` can never close it."""
    return inline(text).replace("=", "&#61;")


# Characters without which a piece of wikitext has no markup (plain() then needs no parser).
_MARKUP = re.compile(r"[\[\]{}<>'&_~=|]")
# What plain() leaves out altogether: references, galleries, and links that show no text.
_HIDDEN_TAGS = frozenset({"ref", "references", "gallery"})
_NOT_TEXT_LINKS = ("file:", "image:", "category:", "media:")


def plain(wikitext: str) -> str:
    """What a piece of wikitext (an imported note, heading or name) reads as, on one line: links
    by their label, markup gone, and no templates, references, files or categories.

    The reverse of :func:`inline`, for showing imported wikitext where wikitext is not read (an
    agenda, Markdown, the fields of a meeting). The result is plain text: escape it again before
    it goes back into wikitext.
    """
    if not _MARKUP.search(wikitext):
        return " ".join(wikitext.split())
    import mwparserfromhell  # only for text with markup: most text has none

    code = mwparserfromhell.parse(wikitext)
    hidden = [tag for tag in code.filter_tags() if str(tag.tag).strip().lower() in _HIDDEN_TAGS]
    hidden += [link for link in code.filter_wikilinks() if str(link.title).strip().lower().startswith(_NOT_TEXT_LINKS)]
    for node in hidden:
        with contextlib.suppress(ValueError):  # already gone with an enclosing node
            code.remove(node)
    return " ".join(code.strip_code(normalize=True, collapse=True).split())
