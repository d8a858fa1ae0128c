"""The PDF laid out part by part (parts.py), on every core, then assembled (assemble.py).

The book's HTML is parsed once, here; each part is laid out in a process of its own, forked
from this one (so it starts with the parsed tree), which reduces the tree to its part, lays it
out and fits its lines (writers/pdf.py: Layout, Fitting), and returns plain data only: the
part's PDF and what the other parts and the assembly need of it (PartLayout). WeasyPrint's
documents cannot cross a process, and need not.

The order is what the page numbers ask for: the body's parts, all at once; then the front
matter, whose contents need their pages; then the Notes, whose "(page N)" need the pages of
the calls in both. The folios are stamped at assembly, so no part waits for the page it starts on.

The result is the book one layout of the whole makes (writers/pdf.py: layout_in_band): the same
gutter band chosen by the same rule, each part fitted by the same rule, the same pages.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path

from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.text.fonts import get_hb_object_data

from .. import parts, stylesheets
from ..model import PrintDocument
from ..printspec import GUTTER_BANDS, band_index
from ..workers import run_all
from . import assemble, pdf
from .pdf import Layout, PdfResult, complete_to_unicode, even, write_options

# What a part's layout draws of the page's margins: everything but the folio, which the
# assembly stamps (the folio is the one thing on a page that depends on the pages before it).
WITHOUT_FOLIO = "@page { @bottom-center { content: none !important; } }"


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


def lay_out_part(source: HTML, document: PrintDocument, index: int, band: int,
                 numbers: dict[str, str], title: str, fit: bool = True) -> PartLayout:
    """Part `index` of the book, laid out in `band` (in a forked process: the tree is its own)."""
    root = source.etree_element
    parts.write_numbers(root, numbers)
    kept = parts.keep_only(root, index)
    if parts.FRONT_MATTER not in (kept.get("class") or "").split():
        parts.carry_title(root, title)
    book = Layout(document, band, source=source, page_css=WITHOUT_FOLIO)
    first = book.render()
    first_pages = len(first.pages) - 1
    rendered, more = book.fit(first) if fit else (first, 0)
    rendered.pages = rendered.pages[:-1]  # the sentinel's page
    return _as_plain_data(rendered, document, first_pages, 1 + more)


def _as_plain_data(rendered: Document, document: PrintDocument, first_pages: int,
                   layouts: int) -> PartLayout:
    options = write_options(document.options)
    buffer = io.BytesIO()
    finisher = (lambda doc, pdf: complete_to_unicode(doc, pdf)) if options["full_fonts"] else None
    rendered.write_pdf(buffer, finisher=finisher, **options)
    anchors: dict[str, int] = {}
    for number, page in enumerate(rendered.pages):
        for anchor in page.anchors:
            anchors.setdefault(anchor, number)
    scale = 0.75  # CSS px to PDF points
    bookmarks = tuple(
        tuple((level, label, x * scale, (page.height - y) * scale, state)
              for level, label, (x, y), state in page.bookmarks)
        for page in rendered.pages)
    names = tuple("blank" if page._page_box.page_type.blank else (page._page_box.page_type.name or "")
                  for page in rendered.pages)
    fonts = {font.name.decode()[1:]: get_hb_object_data(font.hb_face)
             for font in rendered.fonts.values()}
    return PartLayout(buffer.getvalue(), len(rendered.pages), first_pages, layouts, names,
                      anchors, bookmarks, fonts)


def write_pdf(document: PrintDocument, target: Path, previous_pages: int | None,
              jobs: int) -> PdfResult:
    """Lay the book out in parts, `jobs` at a time, and assemble them in `target`. A PDF/A or
    PDF/UA variant is laid out in one process: its structure (tags, CIDSets) is made by
    WeasyPrint for the whole document, and the assembly does not carry it."""
    if document.options.variant is not None:
        return _in_one_process(document, target, previous_pages,
                               f"{document.options.variant} is laid out in one process")
    carried = carried_across_parts(document)
    if carried:
        return _in_one_process(document, target, previous_pages, "laid out in one process: the "
                               f"book's stylesheet sets {', '.join(carried)}, which can carry "
                               "from chapter to chapter")
    probe = Layout(document, 0)  # the book parsed once: every part is forked with it
    source = probe.source
    title = parts.title_text(source.etree_element)
    ids = parts.part_ids(source.etree_element)
    if len(ids) < 2:
        return pdf.write_pdf(document, target, previous_pages)  # nothing to share out
    count = len(ids)
    front = [0] if ids and ids[0] == "" else []
    notes = [count - 1] if ids and ids[-1] == "notes" else []
    body = [i for i in range(count) if i not in front and i not in notes]

    def lay_out(band: int, fit: bool) -> list[PartLayout]:
        done: dict[int, PartLayout] = {}
        laid = run_all([(lay_out_part, (source, document, i, band, {}, title, fit)) for i in body], jobs)
        done.update(zip(body, laid, strict=True))
        numbers = body_numbers(ids, body, done)
        if notes:
            numbers[ids[notes[0]]] = str(1 + sum(done[i].pages for i in body))
        for i in front:
            done[i] = run_all([(lay_out_part, (source, document, i, band, numbers, title, fit))], 1)[0]
            numbers.update(front_numbers(done[i]))
        for i in notes:
            done[i] = run_all([(lay_out_part, (source, document, i, band, numbers, title, fit))], 1)[0]
        return [done[i] for i in range(count)]

    band = band_index(previous_pages or document.estimated_pages)
    valid: tuple[int, list[PartLayout]] | None = None
    for tries in range(1, len(GUTTER_BANDS) + 2):
        laid_out = lay_out(band, True)
        needed = band_index(sum(part.first_pages for part in laid_out))
        if needed <= band:
            valid = (band, laid_out)
        if needed == band or (valid is not None and (needed > band or tries > 1)):
            break
        band = needed
    assert valid is not None, "every band was tried"
    band, laid_out = valid
    unfitted = sum(part.first_pages for part in laid_out)
    if band_index(even(sum(part.pages for part in laid_out))) > band:
        laid_out = lay_out(band, False)
    assemble.write(laid_out, probe, band, target)
    return PdfResult(target, sum(part.pages for part in laid_out),
                     max(part.layouts for part in laid_out), band, unfitted)


def _in_one_process(document: PrintDocument, target: Path, previous_pages: int | None,
                    why: str) -> PdfResult:
    return replace(pdf.write_pdf(document, target, previous_pages), note=why)


# What a book's own stylesheet may set that makes a chapter's layout depend on the chapters
# before it: where a chapter opens, counters and running strings that run on across chapters.
CARRIED = frozenset({"break-before", "page-break-before", "counter-reset", "counter-increment",
                     "string-set"})


def carried_across_parts(document: PrintDocument) -> list[str]:
    found: list[str] = []
    for path in document.stylesheets[1:]:  # the first is bookbuild's print.css
        try:
            css = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the layout reports it, with the file's name
        found += [name for name in stylesheets.declared(css, CARRIED) if name not in found]
    return found


def body_numbers(ids: list[str], body: list[int], done: dict[int, PartLayout]) -> dict[str, str]:
    """The printed page (arabic, from the body's first page) of every id in the body's parts."""
    numbers: dict[str, str] = {}
    start = 1
    for i in body:
        for anchor, page in done[i].anchors.items():
            numbers.setdefault(anchor, str(start + page))
        start += done[i].pages
    return numbers


def front_numbers(front: PartLayout) -> dict[str, str]:
    """The printed page (roman, from the book's first page) of every id in the front matter."""
    return {anchor: lower_roman(page + 1) for anchor, page in front.anchors.items()}


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
