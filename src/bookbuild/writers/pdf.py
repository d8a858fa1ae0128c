"""PrintDocument -> PDF with WeasyPrint: sandboxed fetching, page labels, an atomic write."""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import cssselect2
import pikepdf
import pydyf
from weasyprint import CSS, HTML
from weasyprint.document import Document, Page
from weasyprint.formatting_structure import boxes

from .. import linebreak, linefit, pagemap, parts
from ..model import PdfOptions, PrintDocument
from ..printspec import GUTTER_BANDS, band_index
from ..resources import BOOK_TYPEFACE, TEMPLATES_DIR, book_fonts, styles_dir
from ..sandbox import BookFetcher, RefusedResource
from ..weasylog import captured

BODY_ANCHOR = "body-matter"
# The first layout and up to three more after the line fitting mended it (linefit.py), while
# each has fewer faults than the one before: each costs as much as the first, and a mended
# paragraph can show a new fault further on.
FIT_LAYOUTS = 4


@dataclass(frozen=True)
class PdfResult:
    path: Path
    pages: int
    layouts: int  # how many times the book was laid out (1 when the gutter band was predicted)
    band: int  # the gutter band the margins were set for
    # The page count of the unfitted layout the band was chosen from: what the next build
    # predicts its band from (the fitted count may stand in another band, and a guess from it
    # could choose another gutter for the same sources).
    predicted_pages: int = 0
    note: str = ""  # said to the user once the PDF is written (how it was laid out, if not as usual)
    seconds: dict[str, Any] = field(default_factory=dict)  # per stage, for the benchmarks
    kept: Any = None  # the parts' layouts (partcache.PartCache), saved once the build succeeded
    page_starts: tuple[pagemap.PageStart, ...] = ()  # where each page with text begins


PAGE_BOXES = ("/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox")


def with_blank_pages(result: PdfResult, minimum: int, target: str) -> PdfResult:
    """The PDF brought up to `minimum` pages, as printers ask of a short book: blank pages at
    its end, each with the boxes of the page two before it (the same side: with bleed, a
    recto's and a verso's boxes differ)."""
    missing = minimum - result.pages
    if missing <= 0:
        return result
    with pikepdf.open(result.path, allow_overwriting_input=True) as book:
        for _ in range(missing):
            like = book.pages[max(0, len(book.pages) - 2)].obj
            blank = pikepdf.Dictionary(Type=pikepdf.Name.Page, Resources=pikepdf.Dictionary())
            for box in PAGE_BOXES:
                if box in like:
                    blank[box] = pikepdf.Array(list(like[box]))
            book.pages.append(pikepdf.Page(blank))
        book.save(result.path, deterministic_id=True,
                  object_stream_mode=pikepdf.ObjectStreamMode.generate)
    added = f"{missing} blank pages added at the end: {target.upper()} prints at least {minimum}"
    return replace(result, pages=minimum, note="; ".join(filter(None, (result.note, added))))


def allowed_roots(book_dir: Path, typeface: str = BOOK_TYPEFACE) -> tuple[Path, ...]:
    """What a layout may read: the book, bookbuild's styles and templates, the typeface."""
    fonts = tuple(face.path.parent for face in book_fonts(typeface).faces)
    return (book_dir, styles_dir(), TEMPLATES_DIR, *fonts)


class Layout:
    """One layout of the book in one gutter band: the HTML parsed once, laid out as it is, then
    mended by the line fitting (linefit.py) and laid out again. A pure function of the document
    and the band."""

    def __init__(self, document: PrintDocument, band: int, source: HTML | None = None,
                 page_css: str = "", fetcher: BookFetcher | None = None):
        """`source`: the book's tree already parsed and prepared (parsed() below), reduced to one
        part (parts.py) when `page_css` adds what a part needs; else the whole book, fetching its
        files with `fetcher` (default: from the book folder, bookbuild's and the typeface's)."""
        self.document = document
        self.split = source is None  # the whole book: fitted part by part
        # (a part's source fetches with the fetcher it was parsed with: its refusals are there)
        self.fetcher = source.url_fetcher if source is not None else fetcher or BookFetcher(
            allowed_roots(document.base_dir, document.design.typeface))
        self.page_css = CSS(string=document.page_css[band] + page_css, url_fetcher=self.fetcher)
        with self._weasyprint():
            self.source = source or parsed(document, self.fetcher)

    def render(self) -> Document:
        with self._weasyprint():
            self.source = _reparsed(self.source)
            return self.source.render(stylesheets=[self.page_css])

    def fit(self, first: Document) -> tuple[Document, int]:
        """Mend what `first` (this layout's render) has, part by part (parts.py): each part
        goes through the line fitting on its own (Fitting), and the book is laid out again while
        any part asks for it. Each part keeps the pages of its best layout, so the book is the
        one its parts laid out apart would make. The fitted book, and how many more layouts.

        When the parts' best pages come from different layouts, each part's tree goes back to
        the state its best pages were laid out from, and the book is laid out once more: the
        page numbers the contents and the Notes show (target-counter) must be those of the very
        pages printed."""
        groups = parts.part_groups(self.source.etree_element) if self.split else []
        pages_of = self.parts_of(first)
        if len(groups) != len(pages_of):
            groups = [[] for _ in pages_of]
        fittings = [Fitting(pages, group) for pages, group in zip(pages_of, groups, strict=True)]
        renders = [first]
        while any(fitting.wants for fitting in fittings):
            rendered = self.render()
            renders.append(rendered)
            for fitting, pages in zip(fittings, self.parts_of(rendered), strict=True):
                if fitting.wants:
                    fitting.laid_out(pages, len(renders) - 1)
        rounds = {fitting.best_round for fitting in fittings}
        if len(rounds) == 1:
            return renders[rounds.pop()], len(renders) - 1
        for fitting in fittings:
            fitting.restore(self.source.etree_element)
        return self.render(), len(renders)

    def parts_of(self, rendered: Document) -> list[list[Page]]:
        """The pages of each part: from the page its anchor is on to the next part's (a blank
        verso before a part is the end of the part before)."""
        first_pages: dict[str, int] = {}
        for index, page in enumerate(rendered.pages):
            for anchor in page.anchors:
                first_pages.setdefault(anchor, index)
        ids = parts.part_ids(self.source.etree_element)[1:] if self.split else []
        starts = sorted({0, *(first_pages[anchor] for anchor in ids if anchor in first_pages)})
        bounds = [*starts, len(rendered.pages)]
        return [rendered.pages[begin:end] for begin, end in itertools.pairwise(bounds)]

    @contextlib.contextmanager
    def _weasyprint(self) -> Iterator[None]:
        # The book's stylesheets were checked, with their lines, when it was loaded; what
        # WeasyPrint says now about the whole document has no file to point at: off the terminal.
        with captured():
            try:
                yield
            except RefusedResource as refused:
                raise refused.as_book_error(self.document.base_dir) from None
        if self.fetcher.refused:
            raise self.fetcher.refused[0].as_book_error(self.document.base_dir)


class Fitting:
    """One part's way through the line fitting: the first layout's paragraphs broken into lines
    as a whole (linebreak.py), then the line fitting (linefit.py) while each layout has fewer
    faults than the one before, at most FIT_LAYOUTS layouts in all. After each layout the part
    says whether it wants another (its tree is then changed for it)."""

    def __init__(self, pages: list[Page], elements: list[Element] | None = None):
        """`elements`: the part's elements, when the part is one of several in the tree: their
        state at the best layout is kept, to lay the book out again from (Layout.fit)."""
        self.best_pages = pages
        self.best_round = 0
        self.elements = elements or []
        self.best_trees = copy.deepcopy(self.elements)
        self.best_score = linefit.find(pages, linefit.FitState()).score
        self.state = linefit.FitState()  # (the judgement of the first layout's fixes starts here)
        self.layouts = 0  # after the first
        self.undone = False
        self.plans = linebreak.plan(linebreak.paragraphs(_boxes(pages))) if FIT_LAYOUTS > 1 else []
        if self.plans:
            linebreak.apply(self.plans)
            self.state.planned.update(found.paragraph for found in self.plans)
            self.wants = True
        else:
            self.fixes = linefit.find(pages, self.state)
            self.wants = self._mend()

    def laid_out(self, pages: list[Page], round_number: int = 0) -> None:
        self.layouts += 1
        self.round = round_number
        if self.plans:
            # A paragraph the layout did not set as planned goes back to its first-fit lines,
            # and to the line fitting, in the next layout.
            for found in linebreak.unfollowed(self.plans, _boxes(pages)):
                linebreak.undo(found)
                self.state.planned.discard(found.paragraph)
                self.undone = True
            self.plans = []
            self.fixes = linefit.find(pages, self.state)
            # Lines broken as a whole read better than first fit's even where first fit has
            # no fault the proof would name: the planned layout stands unless it has more.
            if self.fixes.score <= self.best_score and not self.undone:
                self._best(pages)
        else:
            self.fixes = linefit.find(pages, self.state)
            if self.fixes.score >= self.best_score:
                self.wants = False  # no better: another round would not be either
                return
            self._best(pages)
        self.wants = self._mend()

    def _best(self, pages: list[Page]) -> None:
        self.best_pages, self.best_score, self.best_round = pages, self.fixes.score, self.round
        self.best_trees = copy.deepcopy(self.elements)

    def restore(self, root: Element) -> None:
        """Put the part's trees back as its best layout had them."""
        for element, best in zip(self.elements, self.best_trees, strict=True):
            parts.replace_element(root, element, best)
        self.elements = self.best_trees

    def _mend(self) -> bool:
        """Change the tree for the next layout; False when another is not worth making."""
        if self.layouts >= FIT_LAYOUTS - 1:
            return False
        changed = linefit.apply(self.fixes, self.state) if self.fixes else False
        if not (changed or self.undone):
            return False
        self.undone = False
        return True


def _boxes(pages: list[Page]) -> list[Any]:
    return [page._page_box for page in pages]


def parsed(document: PrintDocument, fetcher: BookFetcher) -> HTML:
    """The book's HTML parsed, with the breaks print allows and forbids (linefit.prepare)."""
    source = HTML(string=document.html, base_url=document.base_dir.as_uri() + "/",
                  url_fetcher=fetcher)
    linefit.prepare(source.etree_element)
    return source


def layout(document: PrintDocument, band: int) -> Document:
    """The book laid out and fitted in one band."""
    book = Layout(document, band)
    return book.fit(book.render())[0]


def _reparsed(source: HTML) -> HTML:
    """The same document after the line fitting changed its tree: the styles are matched anew
    (cssselect2's wrapper keeps what it read of the tree)."""
    mended = copy.copy(source)
    mended.wrapper_element = cssselect2.ElementWrapper.from_html_root(source.etree_element,
                                                                      content_language=None)
    mended.etree_element = mended.wrapper_element.etree_element
    return mended


def write_pdf(document: PrintDocument, target: Path, previous_pages: int | None = None,
              fetcher: BookFetcher | None = None) -> PdfResult:
    rendered, layouts, band, unfitted_pages = layout_in_band(document, previous_pages, fetcher)
    pad_to_even(rendered, document.page_css[band])
    first_body_page = body_start(rendered)
    options = write_options(document.options)
    def finish(document: Document, pdf: pydyf.PDF) -> None:
        add_page_labels(pdf, first_body_page)
        if options["full_fonts"]:
            complete_to_unicode(document, pdf)

    with target.open("wb") as handle:  # a staged temporary file: the pipeline renames it
        rendered.write_pdf(handle, finisher=finish, **options)
    return PdfResult(target, len(rendered.pages), layouts, band, unfitted_pages,
                     page_starts=pagemap.numbered(page_starts(rendered.pages, document.page_units),
                                                  first_body_page))


def write_options(options: PdfOptions) -> dict[str, object]:
    """WeasyPrint's write_pdf options for the manifest's variant and print target."""
    return {
        "pdf_variant": options.variant,
        # Print shops prefer whole fonts to subsets (KDP asks for full embedding).
        "full_fonts": options.target is not None,
    }


def layout_in_band(document: PrintDocument, previous_pages: int | None,
                   fetcher: BookFetcher | None = None) -> tuple[Document, int, int, int]:
    """Lay out with the gutter for the predicted page count; again only if the guess was wrong;
    then fit the lines of the layout whose band is right.

    A layout is valid when its gutter is at least the minimum for the pages it produced. A wider
    gutter than needed is tried narrower once; if that pushes the book into a bigger band, the
    wider (valid) layout stands. The fitting changes a page count by a line or two; if that
    ever leaves the gutter too narrow, the unfitted layout stands. Returns the layout, how many
    were made, its band, and the unfitted layout's page count (the next build's prediction).
    """
    band = band_index(previous_pages or document.estimated_pages)
    valid: tuple[Layout, Document, int] | None = None
    for layouts in range(1, len(GUTTER_BANDS) + 2):
        book = Layout(document, band, fetcher=fetcher)
        rendered = book.render()
        needed = band_index(even(len(rendered.pages)))
        if needed <= band:
            valid = (book, rendered, band)
        if needed == band or (valid is not None and (needed > band or layouts > 1)):
            break
        band = needed
    assert valid is not None, "every band was tried"
    book, first, band = valid
    fitted, more = book.fit(first)
    if band_index(even(len(fitted.pages))) > band:
        fitted = first
    return fitted, layouts + more, band, len(first.pages)


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


# Where a page begins (pagemap.py): the unit, the counted characters before, the next ones.
Start = tuple[str, int, str]


def page_starts(pages: list[Page], units: frozenset[str]) -> tuple[Start | None, ...]:
    """For each page, where its first text of a unit begins (pagemap.py); None for a page with
    none (a blank page, the half-title, the contents). Running heads and folios (margin boxes)
    and generated text (list numbers, ::before) are not the text's; a hyphen the layout added
    at a line's end is not counted."""
    if not units:  # (the folios' layout)
        return (None,) * len(pages)
    before: dict[str, int] = {}
    repeated: set[int] = set()
    runs_of_pages = [list(_text_runs(page._page_box, None, units, repeated)) for page in pages]
    firsts: list[tuple[str, int] | None] = []
    for runs in runs_of_pages:
        firsts.append((runs[0][0], before.get(runs[0][0], 0)) if runs else None)
        for unit, chars in runs:
            before[unit] = before.get(unit, 0) + len(chars)
    starts: list[Start | None] = []
    for index, first in enumerate(firsts):
        if first is None:
            starts.append(None)
            continue
        unit, offset = first
        following = "".join(chars for runs in runs_of_pages[index:index + 2]
                            for run_unit, chars in runs if run_unit == unit)
        starts.append((unit, offset, following[:pagemap.SNIPPET]))
    return tuple(starts)


def _text_runs(box: Any, unit: str | None, units: frozenset[str], repeated: set[int]
               ) -> Iterator[tuple[str, str]]:
    """(unit, counted characters) of each text box under `box`, in the order laid out. A table's
    header and footer rows, drawn again on each page the table runs onto, count once (`repeated`:
    the ones already met)."""
    if isinstance(box, boxes.MarginBox) or "::" in (box.element_tag or ""):
        return
    if isinstance(box, boxes.TableRowGroupBox) and (box.is_header or box.is_footer):
        if id(box.element) in repeated:
            return
        repeated.add(id(box.element))
    element = box.element
    if element is not None and not isinstance(box, boxes.TextBox):
        if pagemap.ONE_EDITION_ONLY.intersection((element.get("class") or "").split()) \
                or pagemap.local_name(element.tag) in pagemap.NOT_TEXT:
            return
        unit = element.get("id") if element.get("id") in units else unit
    if isinstance(box, boxes.TextBox):
        if unit is not None:
            text = box.text
            hyphen = box.style["hyphenate_character"]
            if hyphen and text.endswith(hyphen):
                text = text[:-len(hyphen)]
            chars = pagemap.counted(text)
            if chars:
                yield unit, chars
        return
    for child in getattr(box, "children", ()):
        yield from _text_runs(child, unit, units, repeated)
