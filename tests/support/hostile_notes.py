"""Hostile user input for the wikitext escaping tests: every string here must render literally.

Each entry is something a person could type into a note, a section title or a name, chosen
because MediaWiki (1.39) would otherwise turn it into markup, a link, a page property, a
pre-save-transform expansion, or page structure. The expected rendering of each is
``wikitext.normalize(raw)``.
"""

from __future__ import annotations

HOSTILE_NOTES: list[str] = [
    # Links, categories, files, interwiki.
    "[[Category:Hacked]] this note adds a category",
    "[[:Category:Visible link]] and [[Main Page|a piped link]]",
    "[[File:Example.png|thumb|left|alt=x]] image",
    "[[Image:Example.jpg]] and [[Media:Example.ogg]]",
    "[[wikipedia:Main Page]] interwiki and [[en:Foo]] language link",
    "[[Special:Random]] [[#anchor]] [[/subpage]] [[../parent]]",
    "[http://example.org an external link] and [//example.org protocol relative]",
    "[https://example.org/?a=1&b=2 query] [mailto:someone@example.org mail]",
    "bare http://example.org/path?x=1 and https://example.org and HTTP://EXAMPLE.ORG",
    "mailto:someone@example.org ftp://ftp.example.org irc://irc.libera.chat/#wikimedia",
    "news:comp.lang.python tel:+15555550123 ssh://host git://example.org/r.git xmpp:a@b",
    "sip:alice@example.org urn:isbn:0451450523 magnet:?xt=urn:btih:abc geo:37.78,-122.41",
    "httpſ://example.org (long s folds to s) and ſsh://host",
    "Hotel:example.org Intel:example.org digit:1 (protocol names inside words)",
    "éhttp://example.org a\u0300http://example.org \U0001e4d0http://example.org \u0300RFC 1234",
    "http://example.org/image.png (an inline image when external images are allowed)",
    "ISBN 978-0-306-40615-7 and ISBN 0306406152 and ISBN 030640615X",
    "RFC 1234 and PMID 12345678 and RFC\u00a02119 with a no-break space",
    "see RFC\t1234 and ISBN\u3000978\u20120306406157",
    # Templates, parser functions, magic words, variables, language converter.
    "{{Delete|reason=spam}} {{tl|x}}",
    "{{subst:CURRENTYEAR}} {{safesubst:PAGENAME}} {{subst:#time:Y}}",
    "{{#if:yes|shown|hidden}} {{#expr:1+1}} {{#invoke:Module|main}} {{#tag:ref|x}}",
    "{{PAGENAME}} {{!}} {{=}} {{CURRENTTIME}} {{NUMBEROFUSERS}} {{int:edit}}",
    "{{DEFAULTSORT:Zzz}} {{DISPLAYTITLE:<i>Owned</i>}} {{DEFAULTSORTKEY:x}}",
    "{{{1}}} {{{param|default}}} triple braces",
    "-{zh-hans:简体; zh-hant:繁體}- and -{R|raw}- and -{H|A=>B}-",
    # Pre-save transform: signatures.
    "~~~~ signed",
    "~~~ name only and ~~~~~ date only",
    "~~~~~~ six tildes and ~~ two tildes",
    # Behaviour switches.
    "__NOTOC__ __NOINDEX__ __NOEDITSECTION__ __FORCETOC__ __TOC__",
    "__INDEX__ __NEWSECTIONLINK__ __HIDDENCAT__ __STATICREDIRECT__ __notoc__",
    # Quotes and HTML.
    "'''bold''' and ''italic'' and '''''both''''' and ''''four''''",
    "'apostrophes at the edges'",
    "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <big>big</big> <sup>sup</sup>",
    "<script>alert(1)</script> <style>body{display:none}</style>",
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</div>',
    '<span onmouseover="alert(1)">hover</span> <a href="http://example.org">a</a>',
    "<ref>a footnote</ref> <references/> <ref name=x/>",
    "<gallery>File:Example.png|caption</gallery> <imagemap>x</imagemap>",
    "<pre>preformatted</pre> <poem>a\npoem</poem> <html><b>raw</b></html>",
    "<nowiki>[[not a link]]</nowiki> and </nowiki>[[Category:After]]<nowiki>",
    "<includeonly>[[Category:Inc]]</includeonly><noinclude>x</noinclude><onlyinclude>y</onlyinclude>",
    "<categorytree>Foo</categorytree> <inputbox>type=search</inputbox> <templatedata>{}</templatedata>",
    "<!-- an unclosed comment hides everything after it",
    "a comment <!-- hidden --> in the middle and a stray -->",
    "<br> <br/> <hr> <table><tr><td>cell</td></tr></table>",
    # Entities, which the wiki decodes even inside <nowiki>.
    "&rarr; &amp; &#x41; &lt;b&gt; &nbsp; &#91;&#91;Category:X&#93;&#93;",
    "&copy 2024 &ampx &lt3 &#; &#0; &#x110000; &foo; &Amp;",
    "AT&T R&D large & small a&&b &&#91;",
    # Line structure.
    "first line\n== A heading ==\nsecond line",
    "x\n{| class=wikitable\n|cell\n|}",
    "x\n----\ny",
    "x\n* another item\n# numbered\n: indented\n; term : definition",
    "x\n leading space makes pre",
    "x\r\n== CRLF heading ==\r\n",
    "x\u2028== line separator heading ==\u2029y\x85z",
    "x\n\n\nparagraph break",
    "*starts with a star",
    "#starts with a hash",
    ":starts with a colon",
    ";starts with a semicolon : and a colon",
    "=starts with an equals sign=",
    "== looks like a heading ==",
    "!starts with an exclamation mark",
    "|starts with a pipe",
    "{|starts a table",
    "|}ends a table",
    "-----starts with dashes",
    "   leading spaces",
    "\u037estarts with a Greek question mark (NFC makes it a semicolon)",
    "ends with a colon:",
    # Control, invisible and directional characters.
    "NUL\x00 ESC\x1b[31mred\x1b[0m DEL\x7f BEL\x07 VT\x0b FF\x0c",
    "C1 controls \x80\x9f and noncharacters \ufffe\uffff",
    "zero\u200bwidth\u200cnon\u200djoiner and \ufeffBOM and soft\u00adhyphen",
    "\u202eright-to-left override\u202c and \u2067isolate\u2069 and \u200fRLM",
    "\u202e]]yrogetaC[[ reversed category",
    "\x7f'\"`UNIQ--nowiki-00000000-QINU`\"'\x7f fake strip marker",
    "e\u0301 combining (NFC), \u212b angstrom sign, \u2126 ohm sign, <\u0338 not less",
    "emoji 🎉 and CJK 漢字 and Arabic مرحبا",
    "tab\tseparated\tvalues   and   runs   of   spaces",
    # Odd signs from other scripts that look like markup but are not.
    "［［Category:Fullwidth］］ ｛｛template｝｝ ＜b＞",
    # Long text.
    "long " + "[[Category:Spam]] {{x}} ~~~~ ''' " * 400,
    "x" * 20000,
    # Prose that must stay readable.
    "Retired gitblit. thanks to Danny_B and Paladox (community) and @mutante",
    "Katherine : that's what I find ; really ! okay ? 100 %",
    "« quoted » and ‹ single ›",
]

HOSTILE_TITLES: list[str] = [
    "= Level one =",
    "Title == with == equals",
    "[[Category:Heading]] {{tl}} ~~~~",
    "__NOTOC__ <b>bold</b> '''x'''",
    "x\n== injected ==",
    "ends with equals =",
    "RFC 1234 http://example.org",
]

HOSTILE_NAMES: list[str] = [
    "'''Admin'''",
    "[[User:Mallory|Alice]]",
    "~~~",
    "Bob; '''participating remotely''': Eve",
    "{{PAGENAME}}",
    "O'Brien",
    "'quoted'",
    "mailto:eve@example.org",
]

HOSTILE_MEETING_TITLE = "''Q3'' [[Category:Meetings]] {{DISPLAYTITLE:x}} ~~~~ 'Review'"

SEED_PROSE: list[str] = [
    "Retired gitblit. thanks to Danny_B and Paladox (community) and @mutante",
    "As usual, lots of large & small things",
    "KPIs related to CI merge times slightly improved (-4.5%)",
    "Katherine : that's what I find",
    "didn't",
]
