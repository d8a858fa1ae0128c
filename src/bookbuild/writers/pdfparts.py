"""The PDF laid out part by part (parts.py), on every core, then assembled (assemble.py).

The book's HTML is parsed once, here; each part is laid out in a process of its own, forked
from this one (so it starts with the parsed tree), which reduces the tree to its part, lays it
out and fits its lines (writers/pdf.py: Layout, Fitting), and returns plain data only: the
part's PDF and what the other parts and the assembly need of it (parts.PartLayout). WeasyPrint's
documents cannot cross a process, and need not.

The order is what the page numbers ask for: the body's parts, all at once; then the front
matter, whose contents need their pages; then the Notes, whose "(page N)" need the pages of the
calls in both. The folios depend on where each page lands, and on nothing else: they are laid
out last, on their own (lay_out_folios), and stamped on the pages; so no part waits for the page
it starts on, and a part whose start moves need not be laid out again.

Each part's layout is kept in the output folder (partcache.py) under a key made of all it
depends on (PartsBuild.key): a build lays out again only the parts whose key changed.

The result is the book one layout of the whole makes (writers/pdf.py: layout_in_band): the same
gutter band chosen by the same rule, each part fitted by the same rule, the same pages.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, Protocol
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring

import cssselect2
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.text.ffi import pango
from weasyprint.text.fonts import get_hb_object_data

from .. import __version__, parts, stylesheets
from ..cache import code_digest, file_hash, library_versions
from ..cluster import ClusterSpec
from ..model import PrintDocument
from ..pagemap import PageStart, lower_roman, numbered
from ..parts import PartLayout
from ..printspec import GUTTER_BANDS, MIN_PAGES, band_index
from ..resources import book_fonts
from ..workers import layout_slot, run_all
from . import assemble, pdf
from .partcache import PartCache
from .pdf import Layout, PdfResult, complete_to_unicode, even, page_starts, write_options

# What a part's layout draws of the page's margins: everything but the folio, which the
# assembly stamps (the folio is the one thing on a page that depends on the pages before it).
WITHOUT_FOLIO = "@page { @bottom-center { content: none !important; } }"
MARGIN_BOXES = ("top-left-corner", "top-left", "top-center", "top-right", "top-right-corner",
                "bottom-left-corner", "bottom-left", "bottom-right", "bottom-right-corner",
                "left-top", "left-middle", "left-bottom", "right-top", "right-middle", "right-bottom")
# The folios' layout draws the folio and nothing else: it is drawn over pages that have the rest.
ONLY_FOLIO = ("@page { background: none !important; marks: none !important; "
              + " ".join(f"@{box} {{ content: none !important; }}" for box in MARGIN_BOXES) + " }"
              + "html, body { background: none !important; }")
# The paragraphs laid out before the parts are forked, to load what every layout needs.
WARM_UP_PARAGRAPHS = 6
# What a book's own stylesheet may set that makes a chapter's layout depend on the chapters
# before it: where a chapter opens, counters and running strings that run on across chapters.
CARRIED = frozenset({"break-before", "page-break-before", "counter-reset", "counter-increment",
                     "string-set"})
# How often the body's parts may be laid out again on the other side before the sides settle
# (a part laid out on a verso may fit its lines into a page more or fewer, and move the sides of
# the parts after it; one more round has always settled them).
SIDE_ROUNDS = 4


class PartRequest(NamedTuple):
    """One part's layout, as asked of a Layouts."""

    part: int  # its index in the book's parts
    band: int
    numbers: dict[str, str]  # the page numbers of the links into other parts
    fit: bool
    verso: bool  # opens on a left-hand page


def write_pdf(document: PrintDocument, target: Path, previous_pages: int | None, jobs: int,
              cache: PartCache | None = None, cluster: ClusterSpec | None = None) -> PdfResult:
    """Lay the book out in parts, `jobs` at a time (or on the `cluster`'s workers), and assemble
    them in `target`; with `cache`, a part laid out before with all it depends on unchanged is
    taken from it."""
    remote = None
    if cluster is not None:
        from .pdfcluster import ClusterLayouts  # (Dask: only when asked for)

        remote = ClusterLayouts(cluster, document)
    try:
        result = _write_pdf(document, target, previous_pages, jobs, cache, remote)
    finally:
        if remote is not None:
            remote.close()
    options = document.options
    if options.pad_to_minimum and options.target in MIN_PAGES:
        return pdf.with_blank_pages(result, MIN_PAGES[options.target], options.target)
    return result


def _write_pdf(document: PrintDocument, target: Path, previous_pages: int | None, jobs: int,
               cache: PartCache | None, remote: Layouts | None) -> PdfResult:
    """A PDF/A or PDF/UA variant is laid out in one process: its structure (tags, CIDSets) is
    made by WeasyPrint for the whole document, and the assembly does not carry it."""
    def in_one_process(why: str) -> PdfResult:
        layouts = remote or LocalLayouts(None, document, jobs)
        return replace(layouts.whole(target, previous_pages), note=why)

    if document.options.variant is not None:
        return in_one_process(f"{document.options.variant} is laid out in one process")
    if document.book_stylesheets:
        names = ", ".join(path.name for path in document.book_stylesheets)
        return in_one_process("laid out in one process: the book's own stylesheet "
                              f"({names}) may carry from chapter to chapter")
    build = PartsBuild(document, jobs, cache, remote)
    if build.styled:
        return in_one_process(f"laid out in one process: {build.styled} may carry from chapter "
                              "to chapter")
    if len(build.ids) < 2:
        return in_one_process("")  # nothing to share out
    try:
        return build.write(target, previous_pages)
    except CannotAssemble as reason:
        return in_one_process(f"laid out in one process: {reason}")


class Layouts(Protocol):
    """Who lays the parts out: processes forked here (LocalLayouts) or a cluster's workers
    (pdfcluster.ClusterLayouts). Each returns its results in the order of the requests."""

    warm_up: bool  # whether laying a few paragraphs out here first helps the layouts

    def parts(self, requests: list[PartRequest]) -> list[PartLayout]: ...

    def folios(self, band: int, names: list[list[str]], front: bool) -> PartLayout: ...

    def whole(self, target: Path, previous_pages: int | None) -> PdfResult: ...


class LocalLayouts:
    """Each layout in a process of its own, forked from this one with the tree parsed (so it
    starts with it), `jobs` at a time."""

    warm_up = True

    def __init__(self, source: HTML | None, document: PrintDocument, jobs: int):
        self.source = source
        self.document = document
        self.jobs = jobs

    def parts(self, requests: list[PartRequest]) -> list[PartLayout]:
        return run_all([(lay_out_part, (self.source, self.document, *request))
                        for request in requests], self.jobs)

    def folios(self, band: int, names: list[list[str]], front: bool) -> PartLayout:
        found: PartLayout = run_all(
            [(lay_out_folios, (self.source, self.document, band, names, front))], 1)[0]
        return found

    def whole(self, target: Path, previous_pages: int | None) -> PdfResult:
        with layout_slot():  # (laid out here, in this process: it counts as one of the jobs)
            return pdf.write_pdf(self.document, target, previous_pages)


class CannotAssemble(Exception):
    """Something in the parts the assembly cannot make one PDF of (a font it cannot merge)."""


class PartsBuild:
    def __init__(self, document: PrintDocument, jobs: int, cache: PartCache | None,
                 remote: Layouts | None = None):
        self.document = document
        self.jobs = jobs
        self.cache = cache
        self.source = Layout(document, 0).source  # parsed once: every part is forked with it
        self.pool: Layouts = remote or LocalLayouts(self.source, document, jobs)
        root = self.source.etree_element
        self.styled = styled_across_parts(root)
        self.ids = parts.part_ids(root)
        self.groups = parts.part_groups(root)
        count = len(self.ids)
        self.front = [0] if self.ids and self.ids[0] == "" else []
        self.notes = [count - 1] if self.ids and self.ids[-1] == "notes" and count > 1 else []
        self.body = [i for i in range(count) if i not in self.front and i not in self.notes]
        # (keys, and sizes)
        self.trees = [b"".join(tostring(element) for element in group) for group in self.groups]
        front_ids = {anchor for i in self.front for anchor in parts.anchors_in(*self.groups[i])}
        self.front_calls = any(parts.fragment(link) in front_ids for i in self.notes
                               for element in self.groups[i] for link in element.iter("a"))
        # Whether each part ends before a part that opens on a recto (its last page then
        # brings the blank verso before it), and whether each opens on one itself.
        self.on_recto = [parts.opens_on_recto(group[0]) for group in self.groups]
        self.before_recto = [*self.on_recto[1:], True]
        self.laid: dict[str, PartLayout] = {}  # this build's layouts, by key
        self.context = self._context()
        self.warmed = False
        self.laid_count = 0  # parts laid out by this build (the rest came from the cache)
        self.seconds: dict[str, float] = {}

    def write(self, target: Path, previous_pages: int | None) -> PdfResult:
        band = band_index(previous_pages or self.document.estimated_pages)
        valid: tuple[int, list[PartLayout]] | None = None
        for tries in range(1, len(GUTTER_BANDS) + 2):
            laid_out = self.lay_out(band, True)
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
            laid_out = self.lay_out(band, False)
        folios = self.lay_out_folios(band, laid_out)
        unmergeable = next((part.unmergeable for part in (*laid_out, folios) if part.unmergeable), "")
        if unmergeable:
            raise CannotAssemble(unmergeable)
        started = time.perf_counter()
        assemble.write(laid_out, folios, bool(self.front),
                       not write_options(self.document.options)["full_fonts"], target,
                       self._kept_subset if self.cache is not None else None, self.jobs)
        self.seconds["assembly"] = time.perf_counter() - started
        note = ""
        if self.cache is not None and self.laid_count < len(laid_out):
            note = (f"{self.laid_count} of {len(laid_out)} parts laid out, the rest kept from the "
                    "last build")
        return PdfResult(target, sum(part.pages for part in laid_out),
                         max(part.layouts for part in laid_out), band, unfitted, note,
                         {**self.seconds, "parts": [part.seconds for part in laid_out]},
                         self.cache, self._page_starts(laid_out))

    def _page_starts(self, laid_out: list[PartLayout]) -> tuple[PageStart, ...]:
        """Where each page of the assembled book begins, with its folio."""
        return numbered((start for part in laid_out
                         for _page, start in zip(range(part.pages), part.page_starts, strict=True)),
                        parts.first_body_page(laid_out, bool(self.front)))

    def lay_out(self, band: int, fit: bool) -> list[PartLayout]:
        done = self._body_on_their_sides(band, fit)
        numbers = body_numbers(self.body, done)
        body_pages = sum(done[j].pages for j in self.body)
        verso = {i for i in self.notes if body_pages % 2}  # (the body opens on a recto)
        for i in self.notes:
            numbers[self.ids[i]] = str(1 + body_pages)
        if self.front_calls:  # the Notes show pages of the front matter: it goes first
            done.update(zip(self.front, self._run(self.front, band, numbers, fit), strict=True))
            for i in self.front:
                numbers.update(front_numbers(done[i]))
            done.update(zip(self.notes, self._run(self.notes, band, numbers, fit, verso),
                            strict=True))
        else:  # each needs only the body's pages: both at once
            both = self.front + self.notes
            done.update(zip(both, self._run(both, band, numbers, fit, verso), strict=True))
        return [done[i] for i in range(len(self.ids))]

    def _body_on_their_sides(self, band: int, fit: bool) -> dict[int, PartLayout]:
        """The body's parts, each laid out on the side it opens on. Each is laid out on a recto
        first; those that open on a verso then (at once), until the sides settle."""
        verso: set[int] = set()
        for _round in range(SIDE_ROUNDS):
            done = dict(zip(self.body, self._run(self.body, band, {}, fit, verso), strict=True))
            sides = self._verso_starts(done)
            if sides == verso:
                return done
            verso = sides
        raise CannotAssemble("the chapters' sides did not settle")

    def _verso_starts(self, done: dict[int, PartLayout]) -> set[int]:
        """The body's parts that open on a verso, from the pages of their text (without the
        blank verso that may close them: a part laid out on the other side has it or not)."""
        verso = set()
        page = 0  # from the body's first page, a recto
        for i in self.body:
            closing_blank = done[i].page_names[-1:] == ("blank",)
            if page % 2:
                assert not self.on_recto[i], "a part that opens on a recto follows a blank verso"
                verso.add(i)
            page += done[i].pages - (1 if closing_blank else 0)
            if self.before_recto[i] and page % 2:
                page += 1
        return verso

    def _run(self, indices: list[int], band: int, numbers: dict[str, str], fit: bool,
             verso: set[int] | None = None) -> list[PartLayout]:
        """Parts `indices` laid out (those in `verso` opening on a verso), from this build's
        layouts or the cache where they have them."""
        verso = verso or set()
        keys = [self.key(i, band, numbers, fit, i in verso) for i in indices]
        found = {i: self.laid.get(key) or (self.cache.get(key) if self.cache is not None else None)
                 for i, key in zip(indices, keys, strict=True)}
        missing = [(i, key) for i, key in zip(indices, keys, strict=True) if found[i] is None]
        # The longest first (by the length of its HTML), so that no long part starts last and
        # keeps the others waiting; the results are the same in any order.
        missing.sort(key=lambda item: -len(self.trees[item[0]]))
        if len(missing) > 1 and not self.warmed and self.pool.warm_up:
            self._warm_up(band)
        requests = [PartRequest(i, band, numbers, fit, i in verso) for i, _ in missing]
        for (i, key), laid in zip(missing, self.pool.parts(requests), strict=True):
            found[i] = laid
            self.laid_count += 1
            if self.cache is not None:
                self.cache.put(key, laid)
        result = [part for i in indices if (part := found[i]) is not None]
        self.laid.update(zip(keys, result, strict=True))
        return result

    def _warm_up(self, band: int) -> None:
        """Lay out a few of the book's paragraphs here, once, before the parts are forked: each
        layout process then starts with what every layout loads first (cffi's C types, the
        hyphenation patterns, the typeface, what writes a PDF's fonts), which it would
        otherwise load for itself, at about a quarter of a second each (measured: 10.9 s ->
        9.4 s for a 102-page book in one process)."""
        self.warmed = True
        root = self.source.etree_element
        sample = Element("html", dict(root.attrib))
        head = root.find("head")
        if head is not None:
            sample.append(copy.deepcopy(head))
        body = SubElement(sample, "body")
        for paragraph in itertools.islice(
                (p for i in self.body for section in self.groups[i] for p in section.iter("p")),
                WARM_UP_PARAGRAPHS):
            body.append(copy.deepcopy(paragraph))
        rendered = Layout(self.document, band, source=_with_tree(self.source, sample),
                          page_css=WITHOUT_FOLIO).render()
        rendered.write_pdf(io.BytesIO(), **write_options(self.document.options))

    def lay_out_folios(self, band: int, laid_out: list[PartLayout]) -> PartLayout:
        names = [list(part.page_names) for part in laid_out]
        key = _digest(self.context, "folios", self.document.page_css[band], json.dumps(names),
                      bool(self.front))
        found = self.cache.get(key) if self.cache is not None else None
        if found is None:
            found = self.pool.folios(band, names, bool(self.front))
            if self.cache is not None:
                self.cache.put(key, found)
        self.seconds["folios"] = found.seconds
        return found

    def _kept_subset(self, original: bytes, glyphs: list[int]) -> bytes:
        """assemble.subset, kept between builds: an edit seldom adds a glyph to the book."""
        assert self.cache is not None
        key = _digest(self.context, "subset", hashlib.sha256(original).hexdigest(), glyphs)
        found = self.cache.get_subset(key)
        if found is None:
            found = assemble.subset(original, glyphs)
            self.cache.put_subset(key, found)
        return found

    def key(self, index: int, band: int, numbers: dict[str, str], fit: bool, verso: bool) -> str:
        """Everything part `index`'s layout depends on, hashed: its tree, the page numbers
        written into it, the files it places, the band, its
        page geometry, its side and whether the next part opens on a recto, and the context
        (the rest of the document and the programs)."""
        group = self.groups[index]
        targets = sorted({target for element in group for link in element.iter("a")
                          if (target := parts.fragment(link))})
        role = "front" if index in self.front else "body"
        return _digest(self.context, self.trees[index], role, band, fit,
                       self.document.page_css[band],
                       [(target, numbers[target]) for target in targets if target in numbers],
                       [placed for element in group for placed in self._placed_files(element)],
                       sorted(parts.anchors_in(*group) & self.document.page_units),
                       verso, self.before_recto[index])

    def _context(self) -> str:
        """What every part's layout depends on: the document around the parts (its head, with
        the typeface's @font-face rules), the stylesheets and the files they load, the
        typeface's files, the PDF's options, and the programs' versions."""
        root = self.source.etree_element
        head = root.find("head")
        body = root.find("body")
        files = [*self.document.stylesheets, *self.document.style_files,
                 *(face.path for face in book_fonts(self.document.design.typeface).faces)]
        return _digest(__version__, code_digest(), pango.pango_version(), library_versions(),
                       tostring(head) if head is not None else b"", sorted(root.attrib.items()),
                       sorted(body.attrib.items()) if body is not None else [], WITHOUT_FOLIO,
                       ONLY_FOLIO, write_options(self.document.options),
                       [(str(path), file_hash(path)) for path in files])

    def _placed_files(self, element: Element) -> list[tuple[str, str]]:
        """The book's files a part's elements load (images, SVG, objects), with their digests."""
        placed = []
        for node in element.iter():
            for attribute in ("src", "data", "poster", "{http://www.w3.org/1999/xlink}href"):
                value = node.get(attribute)
                if value and not urlsplit(value).scheme and not value.startswith("#"):
                    path = self.document.base_dir / unquote(urlsplit(value).path)
                    placed.append((value, file_hash(path)))
        return placed


def lay_out_part(source: HTML, document: PrintDocument, index: int, band: int,
                 numbers: dict[str, str], fit: bool = True, verso: bool = False) -> PartLayout:
    """Part `index` of the book, laid out in `band`, opening on a verso or a recto (in a forked
    process: the tree is its own)."""
    started = time.perf_counter()
    root = source.etree_element
    parts.write_numbers(root, numbers)
    parts.keep_only(root, index, verso)
    book = Layout(document, band, source=source, page_css=WITHOUT_FOLIO)
    first = book.render()
    lead = 1 if verso else 0  # the recto before a verso opening: dropped, as the sentinel's page
    first_pages = len(first.pages) - 1 - lead
    rendered, more = book.fit(first) if fit else (first, 0)
    rendered.pages = rendered.pages[lead:-1]
    return _as_plain_data(rendered, document, first_pages, 1 + more, started)


def lay_out_folios(source: HTML, document: PrintDocument, band: int, names: list[list[str]],
                   front: bool) -> PartLayout:
    """Every page of the book, empty but for its folio, as one layout would number it: the
    front matter's pages in a front-matter container, the body's in one with the body's page
    name (where print.css restarts the count), each page with its own page name; a blank page
    made as the book makes it, by a break to the side of the page after it. `names`: each
    part's page names (parts.PartLayout.page_names)."""
    started = time.perf_counter()
    root = Element("html", dict(source.etree_element.attrib))
    head = source.etree_element.find("head")
    if head is not None:
        root.append(copy.deepcopy(head))
    body = SubElement(root, "body")
    front_matter = SubElement(body, "div", {"class": parts.FRONT_MATTER})
    matter = SubElement(body, "div", {"style": "page: body"})
    number = 0
    after_blank = False
    for index, part_names in enumerate(names):
        container = front_matter if front and index == 0 else matter
        for name in part_names:
            if name == "blank":
                after_blank = True
            else:
                style = []
                if number:
                    side = "right" if number % 2 == 0 else "left"
                    style.append(f"break-before: {side if after_blank else 'page'}")
                if name and (container is front_matter or name != "body"):
                    style.append(f"page: {name}")
                SubElement(container, "div", {"style": "; ".join(style)})
                after_blank = False
            number += 1
    book = Layout(document, band, source=_with_tree(source, root), page_css=ONLY_FOLIO)
    return _as_plain_data(book.render(), document, 0, 1, started)


def _with_tree(source: HTML, root: Element) -> HTML:
    """`source` (its base URL, fetcher, media) with another tree."""
    other = copy.copy(source)
    other.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
    other.etree_element = other.wrapper_element.etree_element
    return other


def _as_plain_data(rendered: Document, document: PrintDocument, first_pages: int,
                   layouts: int, started: float) -> PartLayout:
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
    unmergeable = next((f"the font {font.family} cannot be shared between chapters"
                        for font in rendered.fonts.values()
                        if "fvar" in font.tables or font.png or font.svg or font.colr
                        or font.index or font.bitmap or font.missing), "")
    return PartLayout(buffer.getvalue(), len(rendered.pages), first_pages, layouts, names,
                      anchors, bookmarks, fonts, round(time.perf_counter() - started, 3),
                      unmergeable, page_starts(rendered.pages, document.page_units))


def styled_across_parts(root: Element) -> str:
    """What in the book's HTML could make one chapter's layout depend on another's: a <style>
    element (it styles the whole book), or a style attribute that sets CARRIED properties."""
    body = root.find("body")
    for element in body.iter() if body is not None else ():
        if element.tag == "style":
            return "a <style> element in the text"
        style = element.get("style")
        if style and stylesheets.declared_inline(style, CARRIED):
            return f'a style attribute ("{style[:40]}")'
    return ""


def body_numbers(body: list[int], done: dict[int, PartLayout]) -> dict[str, str]:
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


def _digest(*parts_of_key: object) -> str:
    hasher = hashlib.sha256()
    for part in parts_of_key:
        hasher.update(part if isinstance(part, bytes) else json.dumps(part, default=str).encode())
        hasher.update(b"\0")
    return hasher.hexdigest()
