"""Preflight: check a finished interior PDF (and its cover) as a print-on-demand service would.

Reads only the PDF (with pypdfium2, which sees every object's bounds and every image's
resolution), plus the build state beside it to name images by their source files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from . import printspec
from .diagnostics import Diagnostic, Report, book_error, display_path
from .limits import MAX_PDF_BYTES
from .proof import ProofResult, proof
from .state import BuildState

TOLERANCE_PT = 0.75  # rounding in layout and in the PDF's numbers


@dataclass
class PreflightResult:
    pdf: Path
    pages: int = 0
    trim_in: tuple[float, float] = (0.0, 0.0)
    findings: list[Diagnostic] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was checked, for the summary
    proof: ProofResult = field(default_factory=ProofResult)  # warnings: the typesetter's marks

    @property
    def passed(self) -> bool:
        return not self.findings


logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is said once, as a finding


def preflight(pdf_path: Path, target: str | None = None) -> PreflightResult:
    result = PreflightResult(pdf_path)
    report = Report()
    with _open(pdf_path) as document:
        pages = len(document)
        if pages == 0:
            raise book_error(pdf_path, "not-pdf", "the PDF has no pages")
        result.pages = pages
        trim = _box(document[0].get_trimbox())
        result.trim_in = (trim[2] - trim[0]) / 72, (trim[3] - trim[1]) / 72
        _check_trim(document, trim, target, report, pdf_path)
        _check_page_count(pages, target, report, pdf_path)
        _check_margins(document, pages, report, pdf_path)
        _check_images(document, report, pdf_path, _image_names(pdf_path))
        if target is not None:
            _check_no_marks(document, report, pdf_path)
    _check_fonts(pdf_path, report)
    result.checked = ["trim size", "page count", "fonts", "margins", "image resolution"]
    cover = pdf_path.with_name(f"{pdf_path.stem}-cover.pdf")
    if cover.exists():
        _check_cover(cover, pages, result.trim_in, report)
        result.checked.append("cover")
    result.findings = report.items
    result.proof = proof(pdf_path)
    return result


@contextmanager
def _open(path: Path) -> Iterator[pypdfium2.PdfDocument]:
    if not path.is_file():
        raise book_error(path, "no-pdf", "no such PDF", hint="build it first with 'bookbuild build'")
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError:
        raise book_error(path, "not-pdf", "this is not a PDF file pdfium can read") from None
    try:
        _check_page_tree(path, document)
        yield document
    finally:
        document.close()


def _check_page_tree(path: Path, document: pypdfium2.PdfDocument) -> None:
    """Every page must load: a page tree with a loop or a broken node is a damaged file, said
    once here rather than failing in each check that walks the pages."""
    for index in range(len(document)):
        try:
            document[index].close()
        except pypdfium2.PdfiumError:
            raise book_error(path, "pdf-damaged", f"page {index + 1} of the PDF cannot be read: its page "
                             "tree is damaged (a loop, or a missing page)",
                             hint="export the PDF again; bookbuild's own PDFs never have this") from None
    try:
        pages = len(PdfReader(path).pages)
    except (PdfReadError, RecursionError, ValueError, KeyError) as error:
        raise book_error(path, "pdf-damaged", f"the PDF's page tree cannot be read: {error}",
                         hint="export the PDF again; bookbuild's own PDFs never have this") from None
    if pages != len(document):
        raise book_error(path, "pdf-damaged", f"the PDF's page tree is damaged ({pages} or {len(document)} "
                         "pages, depending on the reader)", hint="export the PDF again")


def _box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE_PT


def _check_trim(document: pypdfium2.PdfDocument, trim: tuple[float, ...], target: str | None,
                report: Report, path: Path) -> None:
    width, height = trim[2] - trim[0], trim[3] - trim[1]
    for index in range(len(document)):
        box = _box(document[index].get_trimbox())
        if not (_near(box[2] - box[0], width) and _near(box[3] - box[1], height)):
            report.error(path, "trim", f"page {index + 1}: trim size {_inches(box)} differs from "
                         f"the first page's {_inches(trim)}")
    if target == "kdp" and not any(_near(width, w) and _near(height, h)
                                   for w, h in printspec.TRIM_SIZES.values()):
        report.error(path, "trim", f"the trim size {_inches(trim)} is not one KDP prints",
                     hint=f"use one of {', '.join(printspec.TRIM_SIZES)}")


def _inches(box: tuple[float, ...]) -> str:
    return f"{(box[2] - box[0]) / 72:.3g} × {(box[3] - box[1]) / 72:.3g} in"


def _check_page_count(pages: int, target: str | None, report: Report, path: Path) -> None:
    if pages % 2:
        report.error(path, "page-count", f"{pages} pages: printers need an even page count",
                     hint="rebuild: bookbuild adds a blank last page")
    if target == "kdp" and not printspec.KDP_MIN_PAGES <= pages <= printspec.KDP_MAX_PAGES:
        report.error(path, "page-count", f"{pages} pages: KDP prints "
                     f"{printspec.KDP_MIN_PAGES} to {printspec.KDP_MAX_PAGES}")


def _content_bounds(page: pypdfium2.PdfPage) -> tuple[float, float, float, float] | None:
    bounds = [obj.get_bounds() for obj in page.get_objects(max_depth=8)
              if obj.type in (pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_IMAGE,
                              pdfium_c.FPDF_PAGEOBJ_PATH)]
    if not bounds:
        return None
    return (min(b[0] for b in bounds), min(b[1] for b in bounds),
            max(b[2] for b in bounds), max(b[3] for b in bounds))


def _check_margins(document: pypdfium2.PdfDocument, pages: int, report: Report, path: Path) -> None:
    gutter = printspec.min_gutter(pages) * 72
    for index in range(pages):
        page = document[index]
        content = _content_bounds(page)
        if content is None:
            continue
        trim = _box(page.get_trimbox())
        bleed = not _near(_box(page.get_mediabox())[2] - _box(page.get_mediabox())[0], trim[2] - trim[0])
        floor = (printspec.MIN_OUTSIDE_BLEED if bleed else printspec.MIN_OUTSIDE) * 72
        recto = index % 2 == 0  # the first page is a right-hand page
        left, bottom = content[0] - trim[0], content[1] - trim[1]
        right, top = trim[2] - content[2], trim[3] - content[3]
        inside, outside = (left, right) if recto else (right, left)
        number = index + 1
        if inside < gutter - TOLERANCE_PT:
            report.error(path, "gutter", f"page {number}: inside margin {inside / 72:.3f} in; a "
                         f"{pages}-page book needs at least {gutter / 72:.3f} in")
        for side, value in (("outside", outside), ("top", top), ("bottom", bottom)):
            if value < floor - TOLERANCE_PT:
                report.error(path, "margin", f"page {number}: {side} margin {value / 72:.3f} in; "
                             f"the minimum is {floor / 72:.3f} in")


def _image_names(pdf_path: Path) -> dict[tuple[int, int], str]:
    """Pixel size -> source file, from the build that wrote this PDF."""
    images = BuildState(pdf_path.parent).images(pdf_path.stem)
    return {(width, height): src for src, width, height in images}


def _check_images(document: pypdfium2.PdfDocument, report: Report, path: Path,
                  names: dict[tuple[int, int], str]) -> None:
    for index in range(len(document)):
        for obj in document[index].get_objects(max_depth=8):
            if obj.type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
                continue
            meta = obj.get_metadata()
            ppi = min(meta.horizontal_dpi, meta.vertical_dpi)
            if ppi + 0.5 < printspec.MIN_IMAGE_PPI:
                left, bottom, right, top = obj.get_bounds()
                name = names.get((meta.width, meta.height), f"an image of {meta.width} × {meta.height} px")
                report.error(path, "image-resolution",
                             f"page {index + 1}: {name} is placed at {(right - left) / 72:.2f} × "
                             f"{(top - bottom) / 72:.2f} in, {ppi:.0f} ppi; print needs "
                             f"{printspec.MIN_IMAGE_PPI}",
                             hint="use an image with more pixels, or place it smaller")


def _check_no_marks(document: pypdfium2.PdfDocument, report: Report, path: Path) -> None:
    for index in range(len(document)):
        page = document[index]
        media, bleed = _box(page.get_mediabox()), _box(page.get_bleedbox())
        if any(abs(a - b) > TOLERANCE_PT for a, b in zip(media, bleed, strict=True)):
            report.error(path, "crop-marks", f"page {index + 1}: the page extends beyond its bleed "
                         "(crop marks?); print-on-demand services want none")
            return


def _check_fonts(path: Path, report: Report) -> None:
    try:
        reader = PdfReader(path)
    except PdfReadError as error:
        raise book_error(path, "not-pdf", f"pypdf cannot read it: {error}") from None
    missing: set[str] = set()
    for page in reader.pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for font in fonts.values():
            font = font.get_object()
            parts = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for part in parts:
                descriptor = part.get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor else {}
                if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    missing.add(str(font.get("/BaseFont")))
    for name in sorted(missing):
        report.error(path, "font-embedding", f"the font {name} is not embedded",
                     hint="install the font so that WeasyPrint can embed it")


def _check_cover(cover: Path, pages: int, trim_in: tuple[float, float], report: Report) -> None:
    if not cover.is_file() or cover.stat().st_size > MAX_PDF_BYTES:  # a device or a link to one
        report.error(cover, "cover", "the cover is not a PDF file of a sensible size",
                     hint="build it again with 'bookbuild build'")
        return
    try:
        reader = PdfReader(cover)
        reader.pages[0]
    except (PdfReadError, IndexError, OSError) as error:
        report.error(cover, "cover", f"the cover cannot be read as a PDF: {error}")
        return
    keywords = str(reader.metadata.get("/Keywords", "")) if reader.metadata else ""
    match = re.search(r"paper=(\w+)", keywords)
    paper = match.group(1) if match and match.group(1) in printspec.PAPER_INCHES_PER_PAGE else "white"
    expected = printspec.cover_size(trim_in[0], trim_in[1], pages, paper)
    media = reader.pages[0].mediabox
    actual = (float(media.width) / 72, float(media.height) / 72)
    if len(reader.pages) != 1:
        report.error(cover, "cover", f"the cover has {len(reader.pages)} pages; it must be one sheet")
    if any(abs(a - e) * 72 > TOLERANCE_PT for a, e in zip(actual, expected, strict=True)):
        report.error(cover, "cover-size",
                     f"the cover is {actual[0]:.3f} × {actual[1]:.3f} in; {pages} pages on {paper} "
                     f"paper need {expected[0]:.3f} × {expected[1]:.3f} in",
                     hint="rebuild the cover with the interior ('bookbuild build')")


def summary(result: PreflightResult) -> str:
    state = "passed" if result.passed else f"{len(result.findings)} problem(s)"
    return (f"{display_path(result.pdf)}: {result.pages} pages, trim {result.trim_in[0]:.3g} × "
            f"{result.trim_in[1]:.3g} in; checked {', '.join(result.checked)}: {state}")
