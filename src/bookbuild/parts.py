"""The print book as layout parts: runs of the text that start a page.

A part's layout depends only on its own content, the page geometry and its side (the page it
opens on is a recto or a verso), never on the pages before it. So the parts can be laid out
apart, on every core, and assembled (writers/assemble.py) into the book one layout of the whole
would make:

- the front matter (half-title to the last prefatory section), one part;
- each section of the body that starts a page (a chapter, a part's title page), with the
  sections that run on after it ([pdf] openings = "continuous");
- the Notes.

A part that opens on the next page ("any") may open on a verso. Its side is known only once
the parts before it are laid out; but its page count does not depend on it (the text block is
as wide on a verso as on a recto), so every part is laid out as if it opened on a recto, and
the parts that do not are laid out again, on a verso (writers/pdfparts.py).

What a part needs from the others crosses as plain data, never as a layout:

- page numbers (the contents, the Notes' "(page N)") are written in as text (`data-page`,
  which print.css shows instead of a `target-counter`), once the parts they point into are laid
  out: the body first, then the front matter, then the Notes;
- a link into another part is written as a `bookbuild-part:` URI, which the assembly turns back
  into a link to the named destination;
- the running heads need nothing from another part: each section's title sets both the
  recto's (its own title) and the verso's (the book's, from its data-book attribute);
- the folios are not laid out in the parts at all: they depend on where a part lands, so the
  assembly stamps them afterwards from one layout of the folios alone (writers/assemble.py).

The functions here work on the tree WeasyPrint parsed (xml.etree elements, plain tag names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.etree.ElementTree import Element, SubElement

FRONT_MATTER = "front-matter"
BODY_MATTER = "body-matter"
RUNS_ON_CLASS = "opening-continuous"  # a section that runs on after the one before it
ANY_SIDE_CLASS = "opening-any"  # a section (or the Notes) that opens on the next page, either side
# Put before a part laid out on a verso: its page, the recto before, is dropped.
LEAD_CLASS = "bookbuild-part-lead"
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


def part_groups(root: Element) -> list[list[Element]]:
    """The elements of each part, in reading order: the front matter's container, then each
    section of the body matter that starts a page, with the sections that run on after it (the
    Notes last)."""
    body = _body(root)
    front = _child_with_class(body, FRONT_MATTER)
    matter = _child_with_class(body, BODY_MATTER)
    groups = [[front]] if front is not None else []
    first_body = len(groups)
    for child in matter if matter is not None else ():
        if child.tag != "section":
            continue
        if RUNS_ON_CLASS in _classes(child) and len(groups) > first_body:
            groups[-1].append(child)
        else:
            groups.append([child])
    return groups


def part_roots(root: Element) -> list[Element]:
    """The first element of each part (part_groups)."""
    return [group[0] for group in part_groups(root)]


def opens_on_recto(element: Element) -> bool:
    """Whether a part's first element opens on a right-hand page (the front matter does)."""
    return ANY_SIDE_CLASS not in _classes(element)


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


def anchors_in(*elements: Element) -> set[str]:
    return {node.get("id", "") for element in elements for node in element.iter() if node.get("id")}


def keep_only(root: Element, index: int, verso: bool = False) -> Element:
    """Reduce the book's tree to part `index` (in place): the other parts are removed, links
    into them become PART_LINK URIs, and the sentinel page is appended: a recto when the next
    part opens on one (so that a part ending on a recto gets the blank verso the book has
    there), else just the next page. With `verso`, a lead page comes first, so that the part
    opens on a verso. Returns the part's first element."""
    groups = part_groups(root)
    kept = groups[index]
    next_on_recto = index + 1 >= len(groups) or opens_on_recto(groups[index + 1][0])
    body = _body(root)
    for group in groups:
        for element in group if group is not kept else ():
            parent = body if FRONT_MATTER in _classes(element) else _child_with_class(body, BODY_MATTER)
            assert parent is not None
            parent.remove(element)
    matter = _child_with_class(body, BODY_MATTER)
    if FRONT_MATTER in _classes(kept[0]) and matter is not None:
        body.remove(matter)
    here = anchors_in(root)
    for link in root.iter("a"):
        target = fragment(link)
        if target and target not in here:
            link.set("href", PART_LINK + target)
    container = kept[0] if FRONT_MATTER in _classes(kept[0]) else matter
    assert container is not None
    if verso:
        container.insert(0, Element("div", {"class": LEAD_CLASS, "style": "break-after: verso"}))
    SubElement(container, "div", {"class": SENTINEL_CLASS,
                                  "style": f"break-before: {'recto' if next_on_recto else 'page'}"})
    return kept[0]


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
