"""Where each print page begins, said in terms both editions share: the rules the PDF's layout
(writers/pdf.py: page_starts) and the EPUB's page markers (pagelist.py) both follow.

A place in the text is a *unit* and a count. A unit is an element both editions have, under
the same id: a section, a note, a notes heading, the title and copyright pages. The count is
how many *counted* characters of the unit's own text come before the place: every character
but white space, soft hyphens and zero-width marks (so line breaking, justification and the
hyphens a layout inserts change nothing), outside the units nested in it and outside what one
edition has and the other has not (the print Notes' page references, the EPUB's back-links).
Each page start also carries the counted characters that follow it, to find the place again
where the two editions' text differs a little (the copyright page names another ISBN).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Manuscript

# Print page markers' ids; reserved (parse.py): a book's own id may not look like one.
PAGE_ID = re.compile(r"page-(?:[1-9][0-9]*|(?=[ivxlcdm])m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})"
                     r"(?:ix|iv|v?i{0,3}))\Z")
# The book's own units (the templates' ids), and where the EPUB names one otherwise.
BOOK_UNITS = ("title-page", "copyright")
EPUB_IDS = {"title-page": "titlepage"}
# Inside a unit, what one edition has and the other has not (by class): never counted.
ONE_EDITION_ONLY = frozenset({"note-page", "backlink"})
# Elements whose text is not laid out as text (an inline SVG is drawn as a picture).
NOT_TEXT = frozenset({"svg", "script", "style", "template"})
# Elements a marker may not go into (MathML has no HTML span): it goes just before them.
NO_MARKER_INSIDE = frozenset({"math"})
NOT_COUNTED = frozenset({"\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"})
SNIPPET = 40  # counted characters kept after each page start


@dataclass(frozen=True)
class PageStart:
    """Where print page `label` (its folio: roman in the front matter, arabic after) begins."""

    page: int  # the page's index in the PDF
    label: str
    unit: str  # the print edition's id of the unit
    offset: int  # counted characters of the unit before the page's first
    snippet: str  # the counted characters that follow


def page_id(label: str) -> str:
    return f"page-{label}"


def is_page_id(value: str) -> bool:
    return PAGE_ID.match(value) is not None


def is_counted(char: str) -> bool:
    return not char.isspace() and char not in NOT_COUNTED


def counted(text: str) -> str:
    return "".join(c for c in text if is_counted(c))


def folded(text: str) -> str:
    """`text` in lower case, each character for one: the print edition's text is as a theme's
    `text-transform` set it (a title in capitals), the EPUB's as written."""
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


def unit_ids(manuscript: Manuscript) -> frozenset[str]:
    """The print edition's ids of every unit of the book."""
    ids = {*BOOK_UNITS, "notes"}
    for chapter in manuscript.chapters:
        ids.add(chapter.id)
        if chapter.notes:
            ids.add(f"notes-{chapter.id}")
        ids.update(note.id for note in chapter.notes)
    return frozenset(ids)


def numbered(starts: Iterable[tuple[str, int, str] | None], first_body_page: int
             ) -> tuple[PageStart, ...]:
    """Each page's start (None: no text), in page order, as PageStarts with their folios."""
    return tuple(PageStart(index, folio(index, first_body_page), *start)
                 for index, start in enumerate(starts) if start is not None)


def folio(index: int, first_body_page: int) -> str:
    """The printed folio of page `index`: lower roman before the body, arabic from it (as the
    PDF's page labels and the folios say)."""
    if index < first_body_page:
        return lower_roman(index + 1)
    return str(index - first_body_page + 1)


def lower_roman(number: int) -> str:
    """CSS's lower-roman counter style."""
    numerals = (("m", 1000), ("cm", 900), ("d", 500), ("cd", 400), ("c", 100), ("xc", 90),
                ("l", 50), ("xl", 40), ("x", 10), ("ix", 9), ("v", 5), ("iv", 4), ("i", 1))
    out = []
    for numeral, value in numerals:
        while number >= value:
            out.append(numeral)
            number -= value
    return "".join(out)


def local_name(tag: object) -> str:
    """An element's name without its namespace (the EPUB's XHTML has one, the print tree not)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
