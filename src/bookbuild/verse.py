"""Verse: lines kept as lines, indented lines kept indented.

Markdown writes a line of verse as a line ending in a hard break (two trailing spaces); the
lines of a stanza form one paragraph. A line that starts with spaces after a hard break is
indented: one space is only the writer's (or a converter's) separator, every two spaces more
are one step of indentation. python-markdown drops those spaces before inline markup, so a
preprocessor turns them into marks first, and `shape_verse` turns each marked paragraph into
one `<span class="line">` per line, as Standard Ebooks does:

    <p class="verse"><span class="line">…</span><br/><span class="line i1">…</span></p>

The `<br/>` stays for reading systems without CSS; the stylesheets hide it and give each line
a hanging indent, so that a line too long for the measure turns indented.
"""

from __future__ import annotations

import re

from lxml import etree, html
from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

INDENT_MARK = "\ue000"  # one step of indentation (a private-use character, never in a book)
MAX_INDENT = 4  # steps the stylesheets style: i1 … i4

_INLINE = frozenset({"a", "abbr", "b", "br", "cite", "code", "em", "i", "img", "mark", "q", "s",
                     "small", "span", "strong", "sub", "sup", "time", "u"})
_NOTE_DEFINITION = re.compile(r"^ {0,3}\[\^[^\]]+\]:[ \t]")  # its lines go on 4 spaces in
_QUOTE_PREFIX = re.compile(r"^( {0,3}>[ ]?)*")
_LIST_ITEM = re.compile(r"^( *)([-*+]|\d+[.)])( +)")


def _ends_in_hard_break(line: str) -> bool:
    return line.endswith("  ") and line.strip() != ""


class _IndentMarks(Preprocessor):
    """Leading spaces of verse lines -> INDENT_MARK, one per two spaces beyond the separator."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        previous = ""
        base = 0  # a list item's content column: its lines' own indentation starts there
        for line in lines:
            quote = _QUOTE_PREFIX.match(line).group(0)  # type: ignore[union-attr]
            text = line[len(quote):]
            spaces = len(text) - len(text.lstrip(" "))
            item = _LIST_ITEM.match(text)
            if item:
                base = len(item.group(0))
            elif _NOTE_DEFINITION.match(text):
                base = 4
            elif _ends_in_hard_break(previous) and text.startswith(" "):
                extra = spaces - base - 1  # beyond the list's column and the separator
                steps = min(max(extra + 1, 0) // 2, MAX_INDENT)
                line = quote + " " * min(spaces, base) + INDENT_MARK * steps + text.lstrip(" ")
            elif text.strip() and spaces < base:
                base = 0  # a line left of the list's column: the list is over
            out.append(line)
            previous = text
        return out


class VerseExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # After fenced code is stashed (25), so that code keeps its spaces.
        md.preprocessors.register(_IndentMarks(md), "bookbuild-verse-indent", 24)


def shape_verse(root: html.HtmlElement) -> None:
    """Every paragraph (or list item, definition, table cell holding only text) with hard line
    breaks becomes lines; then no mark is left anywhere."""
    for holder in list(root.iter("p", "li", "dd", "td", "th")):
        if holder.find("br") is not None and all(
                isinstance(child.tag, str) and child.tag in _INLINE for child in holder):
            _lines(holder)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.text and INDENT_MARK in element.text:
            element.text = element.text.replace(INDENT_MARK, "")
        if element.tail and INDENT_MARK in element.tail:
            element.tail = element.tail.replace(INDENT_MARK, "")


def _lines(paragraph: html.HtmlElement) -> None:
    children = list(paragraph)
    lines: list[list[html.HtmlElement | str]] = [[paragraph.text or ""]]
    for child in children:
        paragraph.remove(child)
        if child.tag == "br":
            lines.append([child.tail or ""])
        else:
            lines[-1].append(child)
    paragraph.text = None
    paragraph.set("class", " ".join(filter(None, [paragraph.get("class"), "verse"])))
    spans = [_span(line) for line in lines]
    spans = [span for span in spans if span is not None]
    for number, span in enumerate(spans):
        if number:
            paragraph.append(etree.Element("br"))
            paragraph[-1].tail = "\n"
        paragraph.append(span)


def _span(parts: list[html.HtmlElement | str]) -> html.HtmlElement | None:
    text = parts[0] if isinstance(parts[0], str) else ""
    text = text.lstrip("\n ")
    steps = len(text) - len(text.lstrip(INDENT_MARK))
    text = text.lstrip(INDENT_MARK)
    elements = [part for part in parts[1:] if not isinstance(part, str)]
    if not text.strip() and not elements:
        return None
    span = html.Element("span")
    span.set("class", f"line i{steps}" if steps else "line")
    span.text = text
    for element in elements:
        span.append(element)
    # The hard break leaves the line's trailing spaces: they are not part of the line.
    last = span[-1] if len(span) else None
    if last is not None:
        last.tail = (last.tail or "").rstrip()
    else:
        span.text = (span.text or "").rstrip()
    return span
