"""load -> parse -> render -> write, top to bottom. Every input problem is found before any
output is touched; outputs are written whole or not at all."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lxml import html
from PIL import Image

from . import keptpages
from .cluster import ClusterSpec
from .coverfit import TITLE_MIN_PT, fit_title
from .diagnostics import BookError, Diagnostic, Report, book_error, display_path
from .glyphs import code_points, package_for, undrawable
from .images import wrap_problems
from .keptchapters import KeptChapters
from .keptpages import print_key
from .kindle import kindle_findings
from .kobo import kobo_package
from .loader import load
from .manifest import LAST_YEAR
from .model import Book, EpubPackage, Manuscript, PrintDocument
from .pagelist import mark_pages
from .pagemap import PageStart
from .parse import parse_book
from .printspec import (
    KDP_MAX_PAGES,
    KDP_MIN_PAGES,
    MIN_PAGES,
    POINTS_PER_INCH,
    STANDARD_BLEED,
    WRAP_TOLERANCE_IN,
    cover_size,
)
from .render import (
    COVER_PAGE_INCHES,
    CoverImage,
    accessibility_metadata,
    print_edition,
    render_cover_html,
    render_epub,
    render_print,
)
from .resources import TYPEFACES, book_fonts, install_hint, styles_dir
from .state import BuildState
from .workers import Job, available_cpus
from .writers.atomic import Staging
from .writers.cover import art_cover, cover_pdf, rasterize, wrap_front, write_print_cover
from .writers.epub import write_epub
from .writers.partcache import PartCache
from .writers.pdf import PdfResult, allowed_roots
from .writers.pdfparts import write_pdf

FORMATS = ("epub", "pdf")


@dataclass(frozen=True)
class Output:
    path: Path
    format: str
    bytes: int
    seconds: float
    pages: int | None = None
    note: str = ""  # how it was made, when not as usual (a PDF laid out in one process)


@dataclass
class BuildResult:
    outputs: list[Output] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


Progress = Callable[[str], None]


def build_timestamp(book: Book) -> dt.datetime:
    """SOURCE_DATE_EPOCH when set, else the manifest's date at midnight; always UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        last = dt.datetime(LAST_YEAR, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp()
        if not epoch.strip().isdigit() or int(epoch) > last:
            raise book_error("SOURCE_DATE_EPOCH", "environment",
                             f'"{epoch}" is not a number of seconds from 1970 to {LAST_YEAR}',
                             hint="unset it, or set it to an integer such as 1700000000")
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    day = dt.date.fromisoformat(book.meta.date)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def iso(timestamp: dt.datetime) -> str:
    return timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def prepare(book_dir: Path, *, strict: bool = False, pdf_overrides: dict[str, Any] | None = None,
            progress: Progress | None = None, kept: KeptChapters | None = None
            ) -> tuple[Manuscript, list[Diagnostic]]:
    """Load and parse: every check that needs no output. `kept`: the last build's parses."""
    book = load(book_dir)
    if pdf_overrides:
        book = replace(book, pdf=replace(book.pdf, **pdf_overrides))
    manuscript, warnings = parse_book(book, progress, kept)
    report = Report(list(warnings))
    fonts = book_fonts(manuscript.book.design.typeface)
    if not fonts.found:  # (a typeface the manifest names is an error instead: loader.py)
        report.warning(styles_dir() / "print.css", "font-missing",
                       f"the book's typeface, {fonts.family}, is not installed: the PDF would be set "
                       "in a fallback serif and the EPUB would embed no font",
                       hint=install_hint(TYPEFACES[fonts.family].package))
    else:
        for style, weight, used in faces_used(manuscript):
            if used and not any(f.style == style and f.weight == weight for f in fonts.faces):
                report.warning(styles_dir() / "print.css", "font-missing",
                               f"the book uses {style} {weight} text, and {fonts.family} has no such face "
                               "on this machine: it would be imitated from another face",
                               hint="install the face, or avoid that emphasis")
        if manuscript.book.epub.embed_fonts and fonts.license_text is None:
            report.warning(styles_dir() / "epub.css", "font-licence",
                           f"the licence of {fonts.family} is not on this machine "
                           f"({TYPEFACES[fonts.family].licence_file}): the EPUB embeds the face without it",
                           hint=f"{install_hint(TYPEFACES[fonts.family].package)} (its package ships "
                           "the licence), or set embed_fonts = false in [epub]")
    _check_glyphs(manuscript, report)
    # The narrower of the two fronts: the EPUB's cover image and the print wrap's front panel.
    panel = min(COVER_PAGE_INCHES[0], manuscript.book.pdf.width_pt / 72)
    if not fit_title(manuscript.meta.title, panel).fits:
        report.warning(manuscript.book.manifest_path, "cover-title", "the title has a word too long for "
                       f"the cover even at {TITLE_MIN_PT:.0f} pt: it is hyphenated there",
                       line=None, hint="shorten the title, or supply a cover image ([epub] cover)")
    if strict and report.warnings:
        raise BookError([_as_error(d) for d in report.warnings])
    return manuscript, report.warnings


def _check_glyphs(manuscript: Manuscript, report: Report) -> None:
    """Characters no font on this machine can draw: empty boxes in the PDF, and on any reader
    without such a font. Said once per section, at the first line that has one."""
    for chapter in manuscript.chapters:
        text = "".join(html.fragment_fromstring(f"<div>{markup}</div>").text_content()
                       for markup in (chapter.title.full_html, chapter.body_html,
                                      *(note.html for note in chapter.notes)))
        missing = undrawable(text)
        if not missing:
            continue
        source = chapter.section.source
        first = min((source.find(c) for c in missing if c in source), default=-1)
        line = source.count("\n", 0, first) + 1 if first >= 0 else None
        report.warning(chapter.section.path, "glyph-missing", f"no font on this machine can draw "
                       f"{code_points(missing)}: they would print as empty boxes", line=line,
                       hint="install a font that has them; on Debian: apt-get install "
                       + package_for(missing))


def faces_used(manuscript: Manuscript) -> list[tuple[str, int, bool]]:
    """Which of the typeface's styles the text asks for (bold italic is the rare one)."""
    text = "".join(c.body_html + "".join(n.html for n in c.notes) for c in manuscript.chapters)
    bold_italic = re.search(r"<(strong|b)>[^<]*<(em|i)>|<(em|i)>[^<]*<(strong|b)>", text) is not None
    return [("italic", 700, bold_italic)]


def _as_error(diagnostic: Diagnostic) -> Diagnostic:
    return replace(diagnostic, severity="error")


def check_output_dir(out_dir: Path) -> None:
    for parent in (out_dir, *out_dir.parents):
        if parent.exists():
            if not parent.is_dir():
                raise book_error(out_dir, "output", f"cannot write here: {display_path(parent)} is a file",
                                 hint="choose another --out folder")
            if not os.access(parent, os.W_OK):
                raise book_error(out_dir, "output", "cannot write to the output folder",
                                 hint="choose another --out folder")
            return


def build(book_dir: Path, out_dir: Path, formats: tuple[str, ...] = FORMATS, *,
          strict: bool = False, progress: Progress | None = None,
          pdf_overrides: dict[str, Any] | None = None, jobs: int | None = None,
          reuse_layouts: bool = True, cluster: ClusterSpec | None = None,
          stores: tuple[str, ...] = ()) -> BuildResult:
    """`jobs`: how many processes lay out the PDF's parts (None: every CPU this process may use);
    `cluster`: lay them out on a Dask cluster's workers instead (cluster.py);
    `reuse_layouts`: take the chapters the last build parsed and the parts it laid out, where
    nothing they depend on changed; `stores`: EPUB variants to make besides the manifest's."""
    say = progress or (lambda _message: None)
    kept = KeptChapters(out_dir) if reuse_layouts else None
    manuscript, warnings = prepare(book_dir, strict=strict, pdf_overrides=pdf_overrides,
                                   progress=say, kept=kept)
    result = BuildResult(warnings=list(warnings))
    timestamp = build_timestamp(manuscript.book)
    fonts = book_fonts(manuscript.book.design.typeface)
    check_output_dir(out_dir)
    slug = manuscript.meta.output_stem
    state = BuildState(out_dir)
    staging = Staging(out_dir)
    pdf_job: Job | None = None
    try:
        # The print templates first. The PDF is then laid out in its own process while the EPUB
        # is made here; any failure (an EPUB template included) cancels it, and the staging
        # leaves every earlier output as it was.
        document = render_print(manuscript, fonts, iso(timestamp))
        roots = allowed_roots(manuscript.book.root)
        front_cover_html = render_cover_html(manuscript, iso(timestamp))
        if "pdf" in formats:
            pdf_target = out_dir / f"{slug}.pdf"
            layouts = PartCache(out_dir, slug) if reuse_layouts else None
            pdf_job = Job(write_pdf, document, staging.path_for(pdf_target), state.pages(slug),
                          jobs or available_cpus(), layouts, cluster, daemon=False)
        page_list = manuscript.book.epub.page_list
        layout_key = print_key(document) if page_list else ""
        package: EpubPackage | None = None
        if "epub" in formats:
            say("writing the EPUB")
            started = time.perf_counter()
            cover = epub_cover(manuscript, front_cover_html, roots)
            package = render_epub(manuscript, fonts, iso(timestamp), cover)
            if manuscript.book.epub.for_store("kindle", stores):  # what KDP would refuse or lose
                result.warnings.extend(kindle_findings(package, display_path(out_dir / f"{slug}.epub"),
                                                       manuscript.book.epub.toc_depth))
            epub_seconds = time.perf_counter() - started
            if pdf_job is None or not page_list:  # (else marked once the PDF is laid out)
                kept_pages = keptpages.load(out_dir, slug, layout_key, document.page_units) \
                    if page_list else None
                result.outputs.extend(write_epub_output(
                    manuscript, package, kept_pages, out_dir / f"{slug}.epub", staging, timestamp,
                    epub_seconds, "" if kept_pages is not None or not page_list else NO_PAGE_LIST,
                    stores))
        if pdf_job is not None:
            pdf: PdfResult = pdf_job.wait(lambda seconds: say(f"laying out the PDF ({seconds:.0f} s)"))
            if package is not None and page_list:
                result.outputs[0:0] = write_epub_output(
                    manuscript, package, pdf.page_starts,
                    out_dir / f"{slug}.epub", staging, timestamp, epub_seconds, stores=stores)
            result.warnings.extend(page_count_warnings(document, pdf.pages, pdf_target))
            result.outputs.append(Output(pdf_target, "pdf", pdf.path.stat().st_size,
                                         time.perf_counter() - pdf_job.started, pdf.pages, pdf.note))
            say("making the print cover")
            started = time.perf_counter()
            cover_target = out_dir / f"{slug}-cover.pdf"
            staged = staging.path_for(cover_target)
            if manuscript.book.cover_wrap is not None:  # made elsewhere: its size checked
                check_wrap_size(manuscript.book, manuscript.book.cover_wrap, pdf.pages)
                shutil.copyfile(manuscript.book.cover_wrap, staged)
            else:
                wrap_html = render_cover_html(manuscript, iso(timestamp), pages=pdf.pages)
                write_print_cover(wrap_html, manuscript.book.root, roots, staged,
                                  full_fonts=manuscript.book.pdf.target is not None)
            result.outputs.append(Output(cover_target, "cover", staged.stat().st_size,
                                         time.perf_counter() - started, 1))
        if strict and result.warnings:  # the layout's own warnings (page count) count too
            raise BookError([_as_error(d) for d in result.warnings])
        staging.commit()
        if kept is not None:
            kept.save()  # the parses, for the next build: once the outputs are in place
        if pdf_job is not None and pdf.kept is not None:
            pdf.kept.save()  # the layouts, for the next build: once the outputs are in place
        if pdf_job is not None and page_list:
            keptpages.save(out_dir, slug, layout_key, pdf.page_starts)  # (for --format epub)
    except BaseException:
        if pdf_job is not None:
            pdf_job.cancel()
        staging.abort()
        raise
    if pdf_job is not None:
        state.record(slug, pdf.predicted_pages or pdf.pages, image_sizes(manuscript))
    return result


NO_PAGE_LIST = ("no print page numbers: the PDF was not laid out from these sources here; "
                "build with --format all to mark them")


def write_epub_output(manuscript: Manuscript, package: EpubPackage,
                      page_starts: tuple[PageStart, ...] | None, target: Path, staging: Staging,
                      timestamp: dt.datetime, seconds: float, note: str = "",
                      stores: tuple[str, ...] = ()) -> list[Output]:
    """Write the EPUB, with the print edition's pages marked when `page_starts` says where;
    and, for Kobo (`stores`, or the manifest's), the kepub beside it."""
    started = time.perf_counter()
    if page_starts:
        package = with_print_pages(manuscript, package, page_starts)
    staged = staging.path_for(target)
    write_epub(package, staged, timestamp)
    outputs = [Output(target, "epub", staged.stat().st_size,
                      seconds + time.perf_counter() - started, note=note)]
    if manuscript.book.epub.for_store("kobo", stores):
        started = time.perf_counter()
        kepub = target.with_name(f"{target.stem}.kepub.epub")
        staged = staging.path_for(kepub)
        write_epub(kobo_package(package), staged, timestamp)
        outputs.append(Output(kepub, "kepub", staged.stat().st_size, time.perf_counter() - started,
                              note="for Kobo: its sentences marked as Kobo's conversion marks them"))
    return outputs


def with_print_pages(manuscript: Manuscript, package: EpubPackage,
                     page_starts: tuple[PageStart, ...]) -> EpubPackage:
    """The package with its print page markers, page-list and the metadata that says so."""
    marked, placed = mark_pages(package, page_starts, dict(package.units))
    if not placed:
        return package
    return replace(marked, accessibility=accessibility_metadata(manuscript, print_edition(manuscript)))


def remember_outputs(key: str, out_dir: Path, result: BuildResult) -> None:
    """Record the build for the no-op check (cache.fresh_outputs)."""
    from .cache import remember

    remember(key, out_dir, [output.path for output in result.outputs])


def epub_cover(manuscript: Manuscript, html: str, roots: tuple[Path, ...]) -> CoverImage:
    """The manifest's cover image; else the print cover's front (its art, or a supplied wrap's
    front panel); else one made from the cover template's HTML."""
    book = manuscript.book
    if book.cover_image is not None and book.cover_media_type is not None:
        return CoverImage(book.cover_image.read_bytes(), book.cover_media_type)
    trim = (book.pdf.width_pt / POINTS_PER_INCH, book.pdf.height_pt / POINTS_PER_INCH)
    if book.cover_front is not None:
        return CoverImage(art_cover(book.cover_front, trim, STANDARD_BLEED), "image/jpeg")
    if book.cover_wrap is not None:
        return CoverImage(wrap_front(book.cover_wrap.read_bytes(), trim, STANDARD_BLEED),
                          "image/jpeg")
    return CoverImage(rasterize(cover_pdf(html, book.root, roots)), "image/jpeg")


def check_wrap_size(book: Book, wrap: Path, pages: int) -> None:
    """A supplied wrap must be the size the page count, the paper and the bleed make."""
    trim = (book.pdf.width_pt / POINTS_PER_INCH, book.pdf.height_pt / POINTS_PER_INCH)
    expected = cover_size(*trim, pages, book.pdf.paper)
    found = wrap_problems(wrap.name, wrap)[1]
    if all(abs(a - b) <= WRAP_TOLERANCE_IN for a, b in zip(found, expected, strict=True)):
        return
    raise book_error(book.manifest_path, "cover-wrap-size",
                     f'the cover wrap "{book.pdf.cover_wrap}" is {found[0]:.3f} x '
                     f"{found[1]:.3f} in; this book's wrap is {expected[0]:.3f} x {expected[1]:.3f} in "
                     f"({pages} pages on {book.pdf.paper} paper, {STANDARD_BLEED} in bleed)",
                     hint="make the wrap again at that size: its spine follows the page count")


def page_count_warnings(document: PrintDocument, pages: int, target: Path) -> list[Diagnostic]:
    report = Report()
    if pages > KDP_MAX_PAGES:
        report.warning(target, "page-count", f"the PDF has {pages} pages; KDP prints at most "
                       f"{KDP_MAX_PAGES}", hint="use a larger trim size, or split the book")
    if document.options.pad_to_minimum and document.options.target not in MIN_PAGES:
        report.warning(target, "pad-to-minimum", "pad_to_minimum adds pages only for a print "
                       "target, and there is none", hint='set target = "kdp" in [pdf], or build '
                       "with --target kdp")
    if document.options.target == "kdp" and pages < KDP_MIN_PAGES:
        report.warning(target, "page-count", f"the PDF has {pages} pages; KDP prints at least "
                       f"{KDP_MIN_PAGES}", hint="or set pad_to_minimum = true in [pdf]: "
                       "blank pages at the end make up the difference")
    return report.items


def image_sizes(manuscript: Manuscript) -> list[tuple[str, int, int]]:
    sizes = []
    for src in sorted({image.src for image in manuscript.images}):
        try:
            with Image.open(manuscript.book.root / src) as image:
                sizes.append((src, *image.size))
        except OSError:
            continue  # SVG and the like: no pixels to count
    return sizes
