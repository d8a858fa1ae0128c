"""The print book as layout parts: runs of the text that open on a right-hand page.

A part's layout depends only on its own content, the page geometry and its side (it opens on a
recto), never on the pages before it. So the parts can be laid out apart, on every core, and
assembled (writers/assemble.py) into the book one layout of the whole would make:

- the front matter (half-title to the last prefatory section), one part;
- each section of the body (a chapter, a part's title page);
- the Notes.

What a part needs from the others crosses as plain data, never as a layout:

- page numbers (the contents, the Notes' "(page N)") are written in as text (`data-page`,
  which print.css shows instead of a `target-counter`), once the parts they point into are laid
  out: the body first, then the front matter, then the Notes;
- a link into another part is written as a `bookbuild-part:` URI, which the assembly turns back
  into a link to the named destination;
- the running head of a verso carries the book's title, which the half-title sets: a body part's
  body element sets it (carry_title);
- the folios are not laid out in the parts at all: they depend on where a part lands, so the
  assembly stamps them afterwards from one layout of the folios alone (writers/assemble.py).

The functions here work on the tree WeasyPrint parsed (xml.etree elements, plain tag names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.etree.ElementTree import Element, SubElement

FRONT_MATTER = "front-matter"
BODY_MATTER = "body-matter"
PART_LINK = "bookbuild-part:"  # a link whose target is laid out in another part
# Appended to a part: an empty recto after its last page. A part that ends on a recto then
# gets the blank verso the book has there; the sentinel's own page is dropped.
SENTINEL_CLASS = "bookbuild-part-end"


@dataclass(frozen=True)
class PartLayout:
    """One part laid out: plain data, so that it can cross a process (or a cache)."""

    pdf: bytes
    pages: int  # with the blank verso that closes it when it ends on a recto
    first_pages: int  # the same, in its first layout, before the line fitting
    layouts: int
    page_names: tuple[str, ...]  # each page's named page ("" none), "blank" for a blank page
    anchors: dict[str, int]  # each id in the part: the index of its page in the part
    # Each page's bookmarks: (level, label, x, y, state), x and y in PDF points
    bookmarks: tuple[tuple[tuple[int, str, float, float, str], ...], ...]
    fonts: dict[str, bytes] = field(default_factory=dict)  # BaseFont name: the whole font file
    seconds: float = 0.0  # how long the layout took (kept with it: what the bench projects from)
    # Why the assembly cannot merge this part's fonts with the others' ("" when it can): a
    # variable or colour font (WeasyPrint instantiates or blanks it as it embeds it), a font
    # from a collection, a bitmap font, glyphs the font lacks.
    unmergeable: str = ""
    # Where each page's text begins (writers/pdf.py: page_starts): (unit, count, what follows).
    page_starts: tuple[tuple[str, int, str] | None, ...] = ()


def first_body_page(laid_out: list[PartLayout], front: bool) -> int:
    """The index of the body's first page in the assembled book: after the front matter's part,
    when the book has one and a body after it (arabic folios start there)."""
    return laid_out[0].pages if front and len(laid_out) > 1 else 0


def _classes(element: Element) -> list[str]:
    return (element.get("class") or "").split()


def _child_with_class(parent: Element, name: str) -> Element | None:
    return next((child for child in parent if name in _classes(child)), None)


def _body(root: Element) -> Element:
    body = root.find("body")
    assert body is not None, "the print template has a body"
    return body


def part_roots(root: Element) -> list[Element]:
    """The element of each part, in reading order: the front matter's container, then each
    section of the body matter (the Notes last)."""
    body = _body(root)
    front = _child_with_class(body, FRONT_MATTER)
    matter = _child_with_class(body, BODY_MATTER)
    roots = [front] if front is not None else []
    if matter is not None:
        roots.extend(child for child in matter if child.tag == "section")
    return roots


def replace_element(root: Element, old: Element, new: Element) -> None:
    """Put `new` where `old` is in the tree."""
    for parent in root.iter():
        for index, child in enumerate(parent):
            if child is old:
                parent[index] = new
                return
    raise ValueError("not in the tree")


def part_ids(root: Element) -> list[str]:
    """Each part's anchor: the id at the top of its first page (the front matter's is none: it
    is the book's first page)."""
    return ["" if FRONT_MATTER in _classes(element) else element.get("id", "")
            for element in part_roots(root)]


def anchors_in(element: Element) -> set[str]:
    return {node.get("id", "") for node in element.iter() if node.get("id")}


def keep_only(root: Element, index: int) -> Element:
    """Reduce the book's tree to part `index` (in place): the other parts are removed, links
    into them become PART_LINK URIs, and the sentinel recto is appended. Returns the part's
    element."""
    roots = part_roots(root)
    kept = roots[index]
    body = _body(root)
    for element in roots:
        if element is kept:
            continue
        parent = body if FRONT_MATTER in _classes(element) else _child_with_class(body, BODY_MATTER)
        assert parent is not None
        parent.remove(element)
    matter = _child_with_class(body, BODY_MATTER)
    if FRONT_MATTER in _classes(kept) and matter is not None:
        body.remove(matter)
    here = anchors_in(root)
    for link in root.iter("a"):
        target = fragment(link)
        if target and target not in here:
            link.set("href", PART_LINK + target)
    container = kept if FRONT_MATTER in _classes(kept) else matter
    assert container is not None
    SubElement(container, "div", {"class": SENTINEL_CLASS, "style": "break-before: recto"})
    return kept


def write_numbers(root: Element, numbers: dict[str, str]) -> None:
    """The printed page of each link target laid out in another part, as text: on the
    contents' links and the Notes' "(page N)" links (print.css shows `data-page`)."""
    for link in _links_showing_pages(root):
        target = fragment(link)
        if target in numbers:
            link.set("data-page", numbers[target])


def fragment(link: Element) -> str:
    """The id a link within the book points to ("" for another kind of link), as WeasyPrint
    reads it (percent-decoded)."""
    href = link.get("href") or ""
    return unquote(href[1:]) if href.startswith("#") else ""


def _links_showing_pages(root: Element) -> list[Element]:
    contents = [link for nav in root.iter("nav") if "contents" in _classes(nav)
                for link in nav.iter("a")]
    notes = [link for link in root.iter("a") if "note-page" in _classes(link)]
    return contents + notes


def title_text(root: Element) -> str:
    """The book's title as the half-title sets it for the running heads (string-set content():
    the element's text, its white space collapsed)."""
    body = _body(root)
    for element in body.iter():
        if "half-title" in _classes(element):
            title = _child_with_class(element, "book-title")
            if title is not None:
                return re.sub(r"[ \t\n\r]+", " ", "".join(title.itertext())).strip()
    return ""


def carry_title(root: Element, title: str) -> None:
    """The running heads' book title, set as the half-title sets it, for a part without one."""
    body = _body(root)
    style = body.get("style", "")
    body.set("style", f"{style}; string-set: book-title {css_string(title)}".lstrip("; "))


def css_string(text: str) -> str:
    """`text` as a CSS string literal."""
    escaped = "".join(f"\\{ord(char):x} " if char in '"\\\n\r' or ord(char) < 32 else char
                      for char in text)
    return f'"{escaped}"'
