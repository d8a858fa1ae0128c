"""The print edition's pages in the EPUB: an empty page-break marker where each print page
begins, a page-list nav, and the metadata that says so. A step after render: it takes the
rendered EpubPackage and where the print layout began each page (pagemap.PageStart) and
returns the package with both; nothing in it lays out anything.

The place is found again from the unit and count the layout gave (pagemap.py), checked against
the characters that follow it; a page that begins inside a word (hyphenated across the page
break) gets its marker before the word, so that no word is broken for a screen reader; a marker
at the start of a link, an emphasis or a heading goes before it, so that its name does not say
the page number; none goes inside MathML.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from lxml import etree

from .model import EpubDocument, EpubPackage
from .pagemap import (
    NO_MARKER_INSIDE,
    NOT_TEXT,
    ONE_EDITION_ONLY,
    PageStart,
    counted,
    folded,
    is_counted,
    local_name,
    page_id,
)
from .xmlread import parser as xml_parser

XHTML = "http://www.w3.org/1999/xhtml"
EPUB_NS = "http://www.idpf.org/2007/ops"
# Elements a marker at their very start is hoisted out of (it goes just before them).
INLINE = frozenset({"a", "abbr", "b", "bdi", "bdo", "cite", "code", "dfn", "em", "i", "kbd",
                    "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "u", "var"})
# Inside a word: "dung-heaps" broken after its hyphen gets its marker before "dung".
WORD_JOINING = frozenset("-\u2010\u2011\u00ad'\u2019")
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Elements whose start or end is a word boundary even with no space written.
BLOCKS = frozenset({"address", "article", "aside", "blockquote", "br", "caption", "dd", "div",
                    "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5",
                    "h6", "header", "hr", "li", "nav", "ol", "p", "pre", "section", "table",
                    "tbody", "td", "tfoot", "th", "thead", "tr", "ul"})


@dataclass
class _Segment:
    """A text node of a unit: an element's text, or the tail after a child (`where`)."""

    document: int
    element: etree._Element
    where: str  # "text" or "tail"
    string: str
    before: int  # the unit's counted characters before this node
    boundary: bool  # a word boundary right before it (a block's start or end, a document's)


def mark_pages(package: EpubPackage, starts: tuple[PageStart, ...], units: dict[str, str]
               ) -> tuple[EpubPackage, int]:
    """`package` with a marker where each of `starts` begins and a page-list in its nav;
    `units`: the EPUB's id of each unit's elements -> the print edition's id of the unit.
    Also how many markers were placed (a start whose place the EPUB lacks gets none)."""
    trees = [etree.fromstring(document.content, xml_parser()) for document in package.documents]
    segments = _segments(trees, units)
    streams = {unit: "".join(counted(s.string) for s in found) for unit, found in segments.items()}
    befores = {unit: [s.before for s in found] for unit, found in segments.items()}
    places: list[tuple[PageStart, _Segment, int]] = []
    for start in starts:
        found = segments.get(start.unit)
        if not found:
            continue
        position = _position(streams[start.unit], start)
        if position is not None:
            places.append((start, *_word_start(found, position, befores[start.unit])))
    changed: set[int] = set()
    for start, segment, index in reversed(places):  # the later places first: indexes hold
        _insert(_marker(start.label), segment, index)
        changed.add(segment.document)
    documents = list(package.documents)
    for number in changed:
        documents[number] = replace(documents[number], content=_serialized(trees[number]))
    listed = [(start.label, package.documents[segment.document].file_name)
              for start, segment, _index in places]
    number = next(i for i, d in enumerate(documents) if d.file_name == package.nav.file_name)
    nav_root = etree.fromstring(documents[number].content, xml_parser()) if number in changed \
        else trees[number]
    nav = documents[number] = _with_page_list(documents[number], nav_root, listed)
    return replace(package, documents=tuple(documents), nav=nav), len(places)


def _segments(trees: list[etree._Element], units: dict[str, str]) -> dict[str, list[_Segment]]:
    found: dict[str, list[_Segment]] = {}
    for number, root in enumerate(trees):
        body = root.find(f"{{{XHTML}}}body")
        if body is None:
            continue
        boundary = True
        for unit, element, where, string, block in _text_nodes(body, None, units):
            if block:
                boundary = True
            if unit is None or not string:
                continue
            unit_segments = found.setdefault(unit, [])
            before = unit_segments[-1].before + len(counted(unit_segments[-1].string)) \
                if unit_segments else 0
            unit_segments.append(_Segment(number, element, where, string, before, boundary))
            boundary = string[-1].isspace()
    return found


def _text_nodes(element: etree._Element, unit: str | None, units: dict[str, str]
                ) -> Iterator[tuple[str | None, etree._Element, str, str, bool]]:
    """(unit, element, "text" or "tail", the string, whether a block boundary comes first), in
    document order; what one edition only has, and what is not laid out as text, left out."""
    name = local_name(element.tag)
    if name in NOT_TEXT or ONE_EDITION_ONLY.intersection((element.get("class") or "").split()):
        return
    unit = units.get(element.get("id") or "", unit)
    block = name in BLOCKS
    yield unit, element, "text", element.text or "", block
    for child in element:
        if isinstance(child.tag, str):
            yield from _text_nodes(child, unit, units)
            yield unit, child, "tail", child.tail or "", local_name(child.tag) in BLOCKS


def _position(stream: str, start: PageStart) -> int | None:
    """The place in the unit's counted characters: the layout's count when the characters that
    follow agree, else where they are found nearest to it, else the count; None when the unit
    has no such character."""
    stream, wanted = folded(stream), folded(start.snippet)
    if stream.startswith(wanted, start.offset):
        return start.offset
    for length in (len(wanted), 12):
        snippet = wanted[:length]
        found = list(_occurrences(stream, snippet))
        if snippet and found:
            return min(found, key=lambda i: abs(i - start.offset))
    return start.offset if 0 <= start.offset < len(stream) else None


def _occurrences(stream: str, snippet: str) -> Iterator[int]:
    index = stream.find(snippet)
    while index >= 0:
        yield index
        index = stream.find(snippet, index + 1)


def _word_start(segments: list[_Segment], position: int, befores: list[int]
                ) -> tuple[_Segment, int]:
    """The text node and index where the word holding counted character `position` begins
    (the page's first word, when a hyphen cut it across the page break)."""
    number = max(bisect.bisect_right(befores, position) - 1, 0)  # (befores: each segment's)
    segment = segments[number]
    index = _index_of(segment.string, position - segment.before)
    while True:
        while index > 0 and _in_word(segment.string[index - 1]):
            index -= 1
        if index > 0 or segment.boundary or number == 0:
            return segment, index
        previous = segments[number - 1]
        if previous.document != segment.document or not _in_word(previous.string[-1]):
            return segment, index
        number, segment, index = number - 1, previous, len(previous.string)


def _in_word(char: str) -> bool:
    """A character of the word a hyphenated page break may cut: letters and digits, and the
    hyphens and apostrophes inside words (a dash, a space or a quotation mark ends it)."""
    return char.isalnum() or char in WORD_JOINING




def _index_of(string: str, count: int) -> int:
    """The index in `string` of its counted character number `count` (from 0)."""
    seen = 0
    for index, char in enumerate(string):
        if is_counted(char):
            if seen == count:
                return index
            seen += 1
    return len(string)


def _marker(label: str) -> etree._Element:
    return etree.Element(f"{{{XHTML}}}span", {f"{{{EPUB_NS}}}type": "pagebreak",
                                               "role": "doc-pagebreak", "id": page_id(label),
                                               "aria-label": label}, nsmap={"epub": EPUB_NS})


def _insert(marker: etree._Element, segment: _Segment, index: int) -> None:
    element, where = segment.element, segment.where
    outside = _outermost(element, NO_MARKER_INSIDE)
    if outside is not None:  # no span in MathML: before the formula
        _insert_before(marker, outside)
    elif where == "text" and index == 0 and local_name(element.tag) in INLINE | HEADINGS:
        _insert_before(marker, _hoisted(element))
    elif where == "text":
        marker.tail = (element.text or "")[index:] or None
        element.text = (element.text or "")[:index] or None
        element.insert(0, marker)
    else:
        parent = element.getparent()
        marker.tail = (element.tail or "")[index:] or None
        element.tail = (element.tail or "")[:index] or None
        parent.insert(parent.index(element) + 1, marker)


def _hoisted(element: etree._Element) -> etree._Element:
    """The element a marker at the very start of `element` goes before: out of a link or an
    emphasis (and the ones it opens), out of a heading (whose name would say the page number)."""
    while (parent := element.getparent()) is not None \
            and local_name(parent.tag) in INLINE | HEADINGS \
            and parent.index(element) == 0 and not (parent.text or "").strip():
        element = parent
    return element


def _outermost(element: etree._Element, names: frozenset[str]) -> etree._Element | None:
    found = None
    for node in (element, *element.iterancestors()):
        if local_name(node.tag) in names:
            found = node
    return found


def _insert_before(marker: etree._Element, element: etree._Element) -> None:
    parent = element.getparent()
    assert parent is not None
    parent.insert(parent.index(element), marker)


def _serialized(root: etree._Element) -> bytes:
    return etree.tostring(root.getroottree(), encoding="utf-8", xml_declaration=True)


def _with_page_list(nav: EpubDocument, root: etree._Element, listed: list[tuple[str, str]]
                    ) -> EpubDocument:
    """The nav with a page-list of the markers, in page order (hidden: readers show their own
    "go to page")."""
    body = root.find(f"{{{XHTML}}}body")
    assert body is not None
    page_list = etree.SubElement(body, f"{{{XHTML}}}nav", {
        f"{{{EPUB_NS}}}type": "page-list", "role": "doc-pagelist", "id": "page-list",
        "aria-label": "Print page numbers", "hidden": "hidden"})
    page_list.text = page_list.tail = "\n"
    ol = etree.SubElement(page_list, f"{{{XHTML}}}ol")
    ol.text = ol.tail = "\n"
    here = PurePosixPath(nav.file_name).parent
    for label, file_name in listed:
        item = etree.SubElement(ol, f"{{{XHTML}}}li")
        href = f"{PurePosixPath(file_name).relative_to(here)}#{page_id(label)}"
        link = etree.SubElement(item, f"{{{XHTML}}}a", {"href": href})
        link.text = label
        item.tail = "\n"
    return replace(nav, content=_serialized(root))
