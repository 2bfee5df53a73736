"""User-typed text never becomes wiki markup: checked offline, and against a real MediaWiki.

The offline tests parse escaped text with mwparserfromhell and look for every kind of markup.
The tests marked ``mediawiki`` send a whole page of hostile notes to a real wiki, have it parsed
(with the pre-save transform) and saved, and check what the wiki made of it. They need a wiki::

    eval "$(scripts/mediawiki-test-server.sh)"
    .venv/bin/pytest -m mediawiki tests/core/test_wikitext_hostile.py

Without ``MEDIAWIKI_API_URL`` they are skipped, unless ``REVIEWBOT_REQUIRE_MEDIAWIKI=1``, when they
fail.

How the wiki shows a literal text is ``wikitext.normalize(raw)`` with one typographic exception,
which :func:`_displayed` models: MediaWiki 1.39 writes the space before ``? : ; ! % » ›`` (and after
``« ‹``) as a no-break space, looking at the wikitext of each text node as written, character
references not yet decoded.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import unicodedata
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import mwclient
import mwparserfromhell
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mwparserfromhell.nodes import HTMLEntity, Node, Tag, Text
from mwparserfromhell.nodes.heading import Heading

from reviewbot import wikitext
from tests.support.hostile_notes import HOSTILE_MEETING_TITLE, HOSTILE_NAMES, HOSTILE_NOTES, HOSTILE_TITLES, SEED_PROSE

PAGE_TITLE = "Reviewbot escaping test"
PARSE_PROPS = "text|categories|templates|links|externallinks|properties|sections|iwlinks|images|langlinks"
EMPTY_PROPS = ("categories", "templates", "links", "externallinks", "iwlinks", "images", "langlinks")

# ---------------------------------------------------------------------------------------------
# Offline checks of one escaped text


# Protocols of MediaWiki's default $wgUrlProtocols, written out here independently of wikitext.py.
_PROTOCOLS = (
    "bitcoin|ftp|ftps|geo|git|gopher|http|https|irc|ircs|magnet|mailto|matrix|mms|news|nntp|redis|"
    "sftp|sip|sips|sms|ssh|svn|tel|telnet|urn|worldwind|xmpp"
)
_TRAPS: dict[str, re.Pattern[str]] = {
    "line break": re.compile(r"[\n\r\u2028\u2029\x85]"),
    "link, template, table or converter bracket": re.compile(r"[\[\]{}|]"),
    "HTML tag or comment": re.compile(r"[<>]"),
    "bold or italic": re.compile(r"''"),
    "signature": re.compile(r"~~~"),
    "behaviour switch": re.compile(r"__"),
    "horizontal rule": re.compile(r"----"),
    "free external link": re.compile(rf"(?i)\b(?:{_PROTOCOLS}):"),
    "ISBN, RFC or PMID magic link": re.compile(r"\b(?:ISBN|RFC|PMID)\s"),
    "strip marker or control character": re.compile(r"[\x00-\x1f\x7f]"),
}


def _assert_inert(source: str) -> None:
    """*source*, one result of :func:`wikitext.inline`, holds nothing that could start markup."""
    for name, pattern in _TRAPS.items():
        found = pattern.search(source)
        assert found is None, f"{name} {found.group(0)!r} in {source[:200]!r}"
    assert not re.match(r"[*#:;=!|{}\s-]", source), f"line-start markup in {source[:200]!r}"
    assert not source.startswith("'") and not source.endswith("'"), f"edge apostrophe in {source[:200]!r}"
    assert unicodedata.is_normalized("NFC", source), "the wiki would NFC-normalize it"


def _literal(nodes: list[Node]) -> str:
    """The decoded text of parsed wikitext nodes, failing on any node that is markup."""
    parts = []
    for node in nodes:
        assert isinstance(node, Text | HTMLEntity), f"markup {type(node).__name__}: {str(node)[:200]!r}"
        parts.append(str(node))
    return html.unescape("".join(parts))


def _check_inline(raw: str) -> None:
    expected = wikitext.normalize(raw)
    source = wikitext.inline(raw)
    _assert_inert(source)
    assert html.unescape(source) == expected
    first, *rest = mwparserfromhell.parse("* " + source).nodes
    assert isinstance(first, Tag) and first.wiki_markup == "*"
    assert _literal(rest) == " " + expected


def _check_heading(raw: str) -> None:
    expected = wikitext.normalize(raw)
    source = wikitext.heading(raw)
    _assert_inert(source)
    assert "=" not in source
    assert html.unescape(source) == expected
    if not expected:
        return  # "==  ==" is the renderer's business
    (node,) = mwparserfromhell.parse(f"== {source} ==").nodes
    assert isinstance(node, Heading) and node.level == 2
    assert _literal(node.title.nodes) == f" {expected} "


@pytest.mark.parametrize("raw", HOSTILE_NOTES + HOSTILE_TITLES + HOSTILE_NAMES, ids=lambda r: repr(r[:40]))
def test_hostile_text_is_inert(raw: str):
    _check_inline(raw)
    _check_heading(raw)


def test_corpus_is_big_enough():
    assert len(HOSTILE_NOTES) >= 40
    assert len(set(HOSTILE_NOTES)) == len(HOSTILE_NOTES)


@pytest.mark.parametrize("prose", SEED_PROSE)
def test_seed_prose_passes_through_unchanged(prose: str):
    assert wikitext.inline(prose) == prose
    assert wikitext.heading(prose) == prose


def test_normalize_makes_one_nfc_line():
    assert wikitext.normalize(" a\n\n b\r\n\tc\x00d\u2028e\x85f\ufffeg  ") == "a b c d e f g"
    assert wikitext.normalize("e\u0301 \u212b \u037e") == "é Å ;"
    assert wikitext.normalize("lone \ud800 surrogate") == "lone surrogate"
    assert wikitext.normalize("no-break\u00a0space") == "no-break space"


def test_escapes_read_well():
    assert wikitext.inline("[[Category:X]]") == "&#91;&#91;Category:X&#93;&#93;"
    assert wikitext.inline("see https://example.org") == "see https&#58;//example.org"
    assert wikitext.inline("ISBN 9780306406157") == "ISBN&#32;9780306406157"
    assert wikitext.inline("Hotel: booked") == "Hotel: booked"
    assert wikitext.inline("AT&T R&D & &amp; &copy") == "AT&T R&D & &amp;amp; &amp;copy"
    assert wikitext.inline("'quoted'") == "&#39;quoted&#39;"
    assert wikitext.heading("a = b") == "a &#61; b"


_SPECIAL = [
    "[[", "]]", "[", "]", "{{", "}}", "{|", "|}", "|", "<", ">", "<!--", "-->", "</nowiki>", "'", "''",
    "'''", "~", "~~~", "~~~~", "_", "__", "__NOTOC__", "-", "----", "-{", "}-", "=", "==", "*", "#", ":",
    ";", "!", "&", "&amp;", "&#x41;", "&#91;", "&lt;", "&copy", "&#", "&not", "http://", "https:",
    "mailto:", "ſ", "httpſ:", "//", "ISBN 978", "RFC 1", "PMID 2", " 0306406152", "\n", "\r\n", "\t", " ",
    "\u00a0", "\u3000", "\u2028", "\x00", "\x7f", "\x1b", "\x85", "\ud800", "\ufffe", "\u037e", "\u0338",
    "\u0301", "\u212a", "\ufeff", "\u202e", "\u200b", "é", "?", "%", "«", "»",
]  # fmt: skip
hostile_text = st.lists(st.one_of(st.sampled_from(_SPECIAL), st.text(max_size=4)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(hostile_text)
def test_any_text_is_inert(raw: str):
    _check_inline(raw)
    _check_heading(raw)
    assert wikitext.normalize(wikitext.normalize(raw)) == wikitext.normalize(raw)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_unicode_text_is_inert(raw: str):
    _check_inline(raw)
    _check_heading(raw)


# ---------------------------------------------------------------------------------------------
# A whole draft page, as the renderer writes it


_FRENCH_BEFORE = re.compile(r" (?=[?:;!%»›](?!\w))")
_FRENCH_AFTER = re.compile(r"([«‹]) ")


def _displayed(source: str) -> str:
    """What a wikitext text node written as *source* shows on the page (French spacing, decoded)."""
    source = _FRENCH_AFTER.sub("\\1\xa0", _FRENCH_BEFORE.sub("\xa0", source))
    return html.unescape(source)


@dataclass
class Block:
    """A paragraph, list item or heading the page must have: its tag and its runs of text.

    A run is ``(tag, wikitext)``: tag ``b`` or ``i`` for our own bold/italic labels, ``""`` for
    plain text; ``plain`` is what the user's text alone would show (``normalize``).
    """

    tag: str
    runs: list[tuple[str, str]]
    plain: str
    depth: int = 0

    def displayed(self) -> str:
        """The text content the wiki must show for this block."""
        return "".join(_displayed(source) for _, source in self.runs)


@dataclass
class Draft:
    """A page of minutes: its wikitext and the blocks it must render to."""

    wikitext: str
    blocks: list[Block] = field(default_factory=list)

    def count(self, tag: str) -> int:
        """How many elements of *tag* the rendered page must have."""
        if tag in ("b", "i"):
            return sum(run_tag == tag for block in self.blocks for run_tag, _ in block.runs)
        if tag == "ul":  # a list opens at its first item and at every deeper reply
            previous: Block | None = None
            lists = 0
            for block in self.blocks:
                if block.tag == "li":
                    depth_before = previous.depth if previous and previous.tag == "li" else -1
                    lists += max(0, block.depth - depth_before)
                previous = block
            return lists
        return sum(block.tag == tag for block in self.blocks)


def build_draft(
    notes: list[str], titles: list[str], names: list[str], meeting_title: str, escape: bool = True
) -> Draft:
    """The minutes page the renderer would write, with every user text from the arguments."""
    esc = wikitext.inline if escape else wikitext.normalize
    esc_heading = wikitext.heading if escape else wikitext.normalize
    norm = wikitext.normalize
    lines: list[str] = []
    draft = Draft("")

    title = esc(meeting_title)
    before = f"Notes from the Quarterly Review meeting with {title}, held as "
    lines += [f"{before}''{title}''.", ""]
    shown = norm(meeting_title)
    plain = f"Notes from the Quarterly Review meeting with {shown}, held as {shown}."
    draft.blocks.append(Block("p", [("", before), ("i", title), ("", ".")], plain))

    present = ", ".join(esc(n) for n in names)
    remote = ", ".join(esc(n) for n in reversed(names))
    lines += [f"'''Present (in the office)''': {present}; '''participating remotely''': {remote}", ""]
    plain = (
        f"Present (in the office): {', '.join(map(norm, names))}; "
        f"participating remotely: {', '.join(map(norm, reversed(names)))}"
    )
    runs = [("b", "Present (in the office)"), ("", f": {present}; "), ("b", "participating remotely")]
    draft.blocks.append(Block("p", [*runs, ("", f": {remote}")], plain))

    per_section = -(-len(notes) // len(titles))
    for k, section_title in enumerate(titles):
        level = 3 if k % 3 == 2 else 2
        marks = "=" * level
        source = esc_heading(section_title)
        lines.append(f"{marks} {source} {marks}")
        draft.blocks.append(Block(f"h{level}", [("", source)], norm(section_title)))
        for j, note in enumerate(notes[k * per_section : (k + 1) * per_section]):
            depth = (0, 1, 2, 1)[j % 4]
            stars = "*" * (depth + 1)
            text = esc(note)
            if (k + j) % 5 == 4:
                lines.append(f"{stars} '''Action:''' {text}")
                runs = [("b", "Action:"), ("", f" {text}")]
                draft.blocks.append(Block("li", runs, f"Action: {norm(note)}", depth))
            else:
                lines.append(f"{stars} {text}")
                draft.blocks.append(Block("li", [("", text)], norm(note), depth))
        lines.append("")
    draft.wikitext = "\n".join(lines).rstrip("\n")  # as saved: the wiki trims the page's end
    return draft


def hostile_draft(escape: bool = True) -> Draft:
    """The page of every hostile note, title and name."""
    return build_draft(HOSTILE_NOTES, HOSTILE_TITLES, HOSTILE_NAMES, HOSTILE_MEETING_TITLE, escape)


def test_draft_page_keeps_one_list_item_per_note():
    draft = hostile_draft()
    code = mwparserfromhell.parse(draft.wikitext)
    for kind in ("templates", "wikilinks", "external_links", "comments", "arguments"):
        assert not getattr(code, f"filter_{kind}")(recursive=True), kind
    headings = [(h.level, _literal(h.title.nodes).strip()) for h in code.filter_headings(recursive=False)]
    assert headings == [(int(b.tag[1]), b.plain) for b in draft.blocks if b.tag in ("h2", "h3")]
    tags = Counter(t.wiki_markup for t in code.filter_tags(recursive=False))
    items = [b for b in draft.blocks if b.tag == "li"]
    assert tags == {"*": sum(b.depth + 1 for b in items), "'''": draft.count("b"), "''": draft.count("i")}

    item_lines = [line for line in draft.wikitext.split("\n") if line.startswith("*")]
    assert len(item_lines) == len(items) == len(HOSTILE_NOTES)
    for line, block in zip(item_lines, items, strict=True):
        nodes = mwparserfromhell.parse(line).nodes
        stars, rest = nodes[: block.depth + 1], nodes[block.depth + 1 :]
        assert all(isinstance(n, Tag) and n.wiki_markup == "*" for n in stars)
        if block.runs[0][0] == "b":
            space, label, *rest = rest
            assert str(space) == " " and isinstance(label, Tag) and str(label) == "'''Action:'''"
            assert _literal(rest) == " " + block.plain.removeprefix("Action: ")
        else:
            assert _literal(rest) == " " + block.plain
    for block in draft.blocks:  # the model of French spacing changes nothing but spaces
        assert block.displayed().replace("\xa0", " ") == block.plain


# ---------------------------------------------------------------------------------------------
# The real wiki


class _Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: _Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.text: list[str] = []

    def ancestors(self) -> list[_Element]:
        found, node = [], self.parent
        while node is not None:
            found.append(node)
            node = node.parent
        return found


class _Page(HTMLParser):
    """The elements of rendered HTML, with the text of each block (p, li, hN) gathered apart."""

    BLOCKS = ("p", "li", "h2", "h3")
    VOID = ("br", "hr", "img", "meta", "link", "input", "wbr")

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[_Element] = []
        self.stack: list[_Element] = []
        self.stray: list[str] = []
        self.comments: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, dict(attrs), self.stack[-1] if self.stack else None)
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            if element.tag in ("b", "i"):
                element.text.append(data)
        block = next((e for e in reversed(self.stack) if e.tag in self.BLOCKS), None)
        (block.text if block else self.stray).append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _mismatches(expected: list[Any], got: list[Any]) -> list[str]:
    """Short descriptions of where two lists differ (full texts can be very long)."""
    found = [f"{len(expected)} expected, {len(got)} found"] if len(expected) != len(got) else []
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            found.append(f"#{index}: expected {str(want)[:160]!r}, got {str(have)[:160]!r}")
    return found


def check_rendered(parsed: dict[str, Any], draft: Draft) -> None:
    """The wiki's parse of *draft*: exactly our structure, every text literal, no links or properties."""
    for key in EMPTY_PROPS:
        assert parsed[key] == [], f"{key}: {json.dumps(parsed[key], ensure_ascii=False)[:500]}"
    assert not parsed["properties"], parsed["properties"]
    headings = [b for b in draft.blocks if b.tag in ("h2", "h3")]
    sections = [(int(s["level"]), s["line"]) for s in parsed["sections"]]
    assert all("<" not in line for _, line in sections), sections
    assert not _mismatches(
        [(int(b.tag[1]), b.plain) for b in headings], [(lv, html.unescape(line)) for lv, line in sections]
    )

    page = _Page(parsed["text"])
    assert not page.comments, page.comments
    assert "".join(page.stray).strip() == "", f"text outside any block: {''.join(page.stray)[:300]!r}"
    tags = Counter(e.tag for e in page.elements)
    assert set(tags) <= {"div", "p", "ul", "li", "h2", "h3", "span", "b", "i"}, tags
    for tag in ("p", "ul", "li", "h2", "h3", "b", "i"):
        assert tags[tag] == draft.count(tag), f"{tag}: {tags[tag]} found, {draft.count(tag)} expected"
    (wrapper,) = [e for e in page.elements if e.tag == "div"]
    assert wrapper.parent is None and wrapper.attrs.get("class") == "mw-parser-output"
    for span in (e for e in page.elements if e.tag == "span"):
        assert span.parent is not None and span.parent.tag in ("h2", "h3"), span.attrs
    for element in page.elements:
        assert not (set(element.attrs) - {"class", "id"}), (element.tag, element.attrs)

    blocks = [e for e in page.elements if e.tag in _Page.BLOCKS]
    assert not _mismatches([b.tag for b in draft.blocks], [e.tag for e in blocks])
    depths = [sum(a.tag == "li" for a in e.ancestors()) for e in blocks if e.tag == "li"]
    assert depths == [b.depth for b in draft.blocks if b.tag == "li"]
    texts = ["".join(e.text).strip("\n") for e in blocks]
    assert not _mismatches([b.displayed() for b in draft.blocks], texts)
    labels = [(e.tag, "".join(e.text)) for e in page.elements if e.tag in ("b", "i")]
    expected_labels = [(tag, _displayed(src)) for b in draft.blocks for tag, src in b.runs if tag]
    assert labels == expected_labels


def _require_wiki() -> str:
    url = os.environ.get("MEDIAWIKI_API_URL", "")
    why = 'MEDIAWIKI_API_URL is not set (start a wiki: eval "$(scripts/mediawiki-test-server.sh)")'
    if url:
        try:
            with urllib.request.urlopen(f"{url}?action=query&meta=siteinfo&format=json", timeout=10) as r:
                json.load(r)["query"]["general"]
            return url
        except (OSError, ValueError, KeyError) as error:
            why = f"no MediaWiki at {url}: {error}"
    if os.environ.get("REVIEWBOT_REQUIRE_MEDIAWIKI") == "1":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def api_url() -> str:
    """The API URL of the wiki to test against."""
    return _require_wiki()


def api(url: str, **params: str) -> dict[str, Any]:
    """POST one API request; fail on any error or warning (such as non-NFC text)."""
    data = urllib.parse.urlencode({"format": "json", "formatversion": "2", **params}).encode()
    with urllib.request.urlopen(url, data, timeout=120) as response:
        result = json.load(response)
    assert "error" not in result, result["error"]
    assert "warnings" not in result, result["warnings"]
    return result


def parse(url: str, **params: str) -> dict[str, Any]:
    """``action=parse`` with every property the checks look at."""
    options = {"prop": PARSE_PROPS, "disablelimitreport": "1", "disableeditsection": "1", "disabletoc": "1"}
    return api(url, action="parse", **options, **params)["parse"]


@pytest.mark.mediawiki
def test_wiki_knows_no_other_protocols(api_url: str):
    protocols = api(api_url, action="query", meta="siteinfo", siprop="protocols")["query"]["protocols"]
    names = {p.split(":")[0].lower() for p in protocols if p != "//"}
    assert names <= set(wikitext._URL_PROTOCOLS)


@pytest.mark.mediawiki
def test_wiki_falls_for_the_traps_when_nothing_is_escaped(api_url: str):
    """The checks below would catch the traps: unescaped, the wiki makes links, categories and more."""
    draft = hostile_draft(escape=False)
    parsed = parse(api_url, title=PAGE_TITLE, text=draft.wikitext, contentmodel="wikitext", pst="1")
    categories = {c["category"] for c in parsed["categories"]}
    assert {"Hacked", "Pages_using_ISBN_magic_links", "Pages_using_RFC_magic_links"} <= categories
    assert parsed["externallinks"] and parsed["links"] and parsed["templates"] and parsed["iwlinks"]
    assert {"notoc", "noindex", "defaultsort"} <= set(parsed["properties"])
    with pytest.raises(AssertionError):
        check_rendered(parsed, draft)


@pytest.mark.mediawiki
def test_wiki_renders_hostile_page_literally(api_url: str):
    draft = hostile_draft()
    parsed = parse(api_url, title=PAGE_TITLE, text=draft.wikitext, contentmodel="wikitext", pst="1")
    check_rendered(parsed, draft)


def random_hostile_text(rng: random.Random) -> str:
    """A note of markup fragments, printable ASCII and any code point, as the property test makes."""
    parts = []
    for _ in range(rng.randint(1, 25)):
        roll = rng.random()
        if roll < 0.6:
            parts.append(rng.choice(_SPECIAL))
        elif roll < 0.8:
            parts.append(chr(rng.randint(0x20, 0x7E)))
        else:
            parts.append(chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])))
    return "".join(parts)


@pytest.mark.mediawiki
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_wiki_renders_random_hostile_page_literally(api_url: str, seed: int):
    rng = random.Random(seed)
    notes = [n for n in (random_hostile_text(rng) for _ in range(200)) if wikitext.normalize(n)]
    titles = [t for t in (random_hostile_text(rng) for _ in range(6)) if wikitext.normalize(t)]
    names = [random_hostile_text(rng) for _ in range(4)]
    draft = build_draft(notes, titles or ["Notes"], names, random_hostile_text(rng))
    parsed = parse(api_url, title=PAGE_TITLE, text=draft.wikitext, contentmodel="wikitext", pst="1")
    check_rendered(parsed, draft)


@pytest.mark.mediawiki
def test_wiki_saves_hostile_page_unchanged(api_url: str):
    user, password = os.environ.get("MEDIAWIKI_BOT_USER"), os.environ.get("MEDIAWIKI_BOT_PASSWORD")
    if not (user and password):
        pytest.fail("MEDIAWIKI_BOT_USER and MEDIAWIKI_BOT_PASSWORD must be set with MEDIAWIKI_API_URL")
    parts = urllib.parse.urlsplit(api_url)
    site = mwclient.Site(parts.netloc, path=parts.path.rsplit("/", 1)[0] + "/", scheme=parts.scheme)
    site.login(user, password)
    draft = hostile_draft()
    result = site.pages[PAGE_TITLE].edit(draft.wikitext, summary="reviewbot escaping test")
    assert result["result"] == "Success", result

    saved = site.pages[PAGE_TITLE].text(cache=False)
    assert saved == draft.wikitext, "the wiki changed the text when saving it (pre-save transform)"
    check_rendered(parse(api_url, page=PAGE_TITLE), draft)
