"""Escaping of user-typed text for MediaWiki wikitext.

Everything a user types (notes, speakers, titles, section names, attendee names) goes through
:func:`inline` (or :func:`heading` for section titles) before it reaches the minutes, so that it
renders as exactly that literal text on one line and can never become wiki markup: no headings,
lists, links, templates, categories, signatures, behaviour switches, tables, HTML or comments.

The escaping is targeted rather than blanket, so the wikitext stays readable and editable by
people: ordinary prose (``didn't``, ``Danny_B``, ``large & small``, ``(-4.5%)``) is left as it is,
and only the characters that could start markup are written as numeric character references.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["heading", "inline", "normalize"]

# Protocols that MediaWiki (1.39 default $wgUrlProtocols) turns into free external links.
_URL_PROTOCOLS = (
    "bitcoin", "ftp", "ftps", "geo", "git", "gopher", "http", "https", "irc", "ircs", "magnet",
    "mailto", "matrix", "mms", "news", "nntp", "redis", "sftp", "sip", "sips", "sms", "ssh", "svn",
    "tel", "telnet", "urn", "worldwind", "xmpp",
)  # fmt: skip

_WHITESPACE = re.compile(r"\s+")
_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_PROTOCOL_COLON = re.compile(r"(?i)\b(" + "|".join(_URL_PROTOCOLS) + r"):")
_PROTOCOL_RELATIVE = re.compile(r"//")
_MAGIC_LINK = re.compile(r"\b(ISBN|RFC|PMID)(\s+)(?=[0-9Xx])")
_APOSTROPHES = re.compile(r"'{2,}")
_TILDES = re.compile(r"~{3,}")
_UNDERSCORES = re.compile(r"_{2,}")
_DASHES = re.compile(r"-{4,}")
_LINE_START = re.compile(r"^[*#:;!|=\-{}]")


def _ref(char: str) -> str:
    return f"&#{ord(char)};"


def _ref_all(match: re.Match[str]) -> str:
    return "".join(_ref(c) for c in match.group(0))


def normalize(text: str) -> str:
    """Make *text* a single line: controls and line breaks become spaces, runs of space fold."""
    chars = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\t\n\r\f\v\u2028\u2029\x85" or category == "Zl" or category == "Zp":
            chars.append(" ")
        elif category == "Cc" or category == "Cs" or char in "\ufffe\uffff":
            continue
        else:
            chars.append(char)
    return _WHITESPACE.sub(" ", "".join(chars)).strip()


def inline(text: str) -> str:
    """Return wikitext that renders as exactly *text* (normalized to one line), with no markup."""
    text = normalize(text)
    text = _ENTITY_LIKE.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("[", "&#91;").replace("]", "&#93;")
    text = text.replace("{", "&#123;").replace("}", "&#125;")
    text = text.replace("|", "&#124;")
    text = _APOSTROPHES.sub(_ref_all, text)
    text = _TILDES.sub(_ref_all, text)
    text = _UNDERSCORES.sub(_ref_all, text)
    text = _DASHES.sub(_ref_all, text)
    text = _PROTOCOL_COLON.sub(lambda m: m.group(1) + "&#58;", text)
    text = _PROTOCOL_RELATIVE.sub("&#47;/", text)
    text = _MAGIC_LINK.sub(lambda m: m.group(1) + "&#32;", text)
    return _LINE_START.sub(lambda m: _ref(m.group(0)), text)


def heading(text: str) -> str:
    """Return wikitext for a heading's title: :func:`inline`, and ``=`` can never close it."""
    return inline(text).replace("=", "&#61;")
