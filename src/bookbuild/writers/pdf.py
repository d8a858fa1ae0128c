"""PrintDocument -> PDF with WeasyPrint: sandboxed fetching, page labels, an atomic write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydyf
from weasyprint import CSS, HTML
from weasyprint.document import Document

from ..model import PdfOptions, PrintDocument
from ..printspec import GUTTER_BANDS, band_index
from ..resources import TEMPLATES_DIR, book_fonts, styles_dir
from ..sandbox import BookFetcher, RefusedResource
from ..weasylog import captured

BODY_ANCHOR = "body-matter"


@dataclass(frozen=True)
class PdfResult:
    path: Path
    pages: int
    layouts: int  # how many times the book was laid out (1 when the gutter band was predicted)
    band: int  # the gutter band the margins were set for


def allowed_roots(book_dir: Path) -> tuple[Path, ...]:
    """What a layout may read: the book, bookbuild's styles and templates, the typeface."""
    fonts = tuple(face.path.parent for face in book_fonts().faces)
    return (book_dir, styles_dir(), TEMPLATES_DIR, *fonts)


def layout(document: PrintDocument, band: int) -> Document:
    fetcher = BookFetcher(allowed_roots(document.base_dir))
    # The book's stylesheets were checked, with their lines, when it was loaded; what WeasyPrint
    # says now about the whole document has no file to point at, so it stays off the terminal.
    with captured():
        try:
            rendered = HTML(string=document.html, base_url=document.base_dir.as_uri() + "/",
                            url_fetcher=fetcher).render(
                stylesheets=[CSS(string=document.page_css[band], url_fetcher=fetcher)])
        except RefusedResource as refused:
            raise refused.as_book_error(document.base_dir) from None
    if fetcher.refused:
        raise fetcher.refused[0].as_book_error(document.base_dir)
    return rendered


def write_pdf(document: PrintDocument, target: Path, previous_pages: int | None = None) -> PdfResult:
    rendered, layouts, band = layout_in_band(document, previous_pages)
    pad_to_even(rendered, document.page_css[band])
    first_body_page = body_start(rendered)
    options = write_options(document.options)
    def finish(document: Document, pdf: pydyf.PDF) -> None:
        add_page_labels(pdf, first_body_page)
        if options["full_fonts"]:
            complete_to_unicode(document, pdf)

    with target.open("wb") as handle:  # a staged temporary file: the pipeline renames it
        rendered.write_pdf(handle, finisher=finish, **options)
    return PdfResult(target, len(rendered.pages), layouts, band)


def write_options(options: PdfOptions) -> dict[str, object]:
    """WeasyPrint's write_pdf options for the manifest's variant and print target."""
    return {
        "pdf_variant": options.variant,
        # Print shops prefer whole fonts to subsets (KDP asks for full embedding).
        "full_fonts": options.target is not None,
    }


def layout_in_band(document: PrintDocument, previous_pages: int | None
                   ) -> tuple[Document, int, int]:
    """Lay out with the gutter for the predicted page count; again only if the guess was wrong.

    A layout is valid when its gutter is at least the minimum for the pages it produced. A wider
    gutter than needed is tried narrower once; if that pushes the book into a bigger band, the
    wider (valid) layout stands. Returns the layout, how many were made, and its band.
    """
    band = band_index(previous_pages or document.estimated_pages)
    valid: tuple[Document, int] | None = None
    for layouts in range(1, len(GUTTER_BANDS) + 2):
        rendered = layout(document, band)
        needed = band_index(even(len(rendered.pages)))
        if needed <= band:
            valid = (rendered, band)
        if needed == band or (valid is not None and (needed > band or layouts > 1)):
            break
        band = needed
    assert valid is not None, "every band was tried"
    return valid[0], layouts, valid[1]


def even(pages: int) -> int:
    return pages + pages % 2


def pad_to_even(rendered: Document, page_css: str) -> None:
    """Printers bind sheets: an odd page count gets a blank last page, of the same geometry."""
    if len(rendered.pages) % 2:
        # Its own document's second page: a left-hand page, as the last page of a book is
        # (its bleed, if any, on the outside edge).
        blank = HTML(string='<!DOCTYPE html><title>blank</title><div style="break-before: left"></div>'
                     ).render(stylesheets=[CSS(string=page_css)])
        rendered.pages.append(blank.pages[-1])


def body_start(rendered: Document) -> int:
    """Index of the first page of the body matter: where arabic page numbers start."""
    for index, page in enumerate(rendered.pages):
        if BODY_ANCHOR in page.anchors:
            return index
    return 0


def add_page_labels(pdf: pydyf.PDF, first_body_page: int) -> None:
    """/PageLabels so that a viewer's page numbers are the printed ones (i, ii … then 1, 2 …)."""
    numbers = pydyf.Array()
    if first_body_page > 0:
        numbers.extend([0, pydyf.Dictionary({"S": "/r"})])
    numbers.extend([first_body_page, pydyf.Dictionary({"S": "/D", "St": 1})])
    pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": numbers})


def complete_to_unicode(document: Document, pdf: pydyf.PDF) -> None:
    """With whole fonts, WeasyPrint 70 maps glyphs to text from the font's cmap alone, so
    ligatures (fi, fl, ffi) lose their text: copying, searching and screen readers see gaps.
    Add the layout's own glyph-to-text map, as the subset path does."""
    by_name = {font.name: font for font in document.fonts.values()}
    for obj in pdf.objects:
        if not isinstance(obj, pydyf.Dictionary) or obj.get("Type") != "/Font" or "ToUnicode" not in obj:
            continue
        font = by_name.get(obj.get("BaseFont"))
        if font is None:
            continue
        stream = pdf.objects[int(obj["ToUnicode"].split()[0])]
        if not isinstance(stream, pydyf.Stream):
            continue
        mapped = {line.split(b">", 1)[0] for line in stream.stream
                  if line.startswith(b"<") and b"> <" in line}
        extra = [f"<{glyph:04x}> <{''.join(c.encode('utf-16-be').hex() for c in text)}>".encode()
                 for glyph, text in sorted(font.to_unicode.items())
                 if f"<{glyph:04x}".encode() not in mapped and text]
        if extra:
            end = stream.stream.index(b"endcmap")
            for start in range(0, len(extra), 100):
                batch = extra[start:start + 100]
                stream.stream[end:end] = [f"{len(batch)} beginbfchar".encode(), *batch, b"endbfchar"]
                end += len(batch) + 2
