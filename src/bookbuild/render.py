"""Manuscript -> finished documents through Jinja2 templates: an EPUB package and a print HTML.

Templates are data (src/bookbuild/templates/, overridable from the book's own templates/);
so are the stylesheets (styles/). Nothing here writes a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import os
import posixpath
import re
import signal
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from jinja2.sandbox import ImmutableSandboxedEnvironment
from lxml import etree

from . import __version__, printspec
from .coverfit import fit_spine, fit_title
from .diagnostics import book_error, display_path
from .fonts import font_characters, subset_font
from .headings import chapter_labels, with_first_lines
from .mediatypes import FONT_TYPES, media_type
from .model import (
    Book,
    Chapter,
    Contributor,
    EpubDocument,
    EpubPackage,
    EpubResource,
    Heading,
    Manuscript,
    Metadata,
    PrintDocument,
    TocEntry,
    isbn_urn,
    notes_opening,
)
from .pagemap import BOOK_UNITS, EPUB_IDS, unit_ids
from .parse import EPUB_NS, inner_xhtml
from .rawhtml import MATHML_NS, SVG_NS, refusals
from .resources import (
    FALLBACK_TYPEFACE,
    TEMPLATES_DIR,
    TYPEFACES,
    FontSet,
    epub_stylesheets,
    fallback_fonts,
    print_stylesheets,
    styles_dir,
)
from .stylesheets import content_strings
from .xmlread import parser as xml_parser

TEXT_DIR = "text"
# A font's licence beside it: OFL.txt, LICENSE, LICENCE-Mine.txt, COPYING (names an EPUB can carry)
LICENCE_NAME = re.compile(r"(OFL|LICEN[CS]E|COPYING)([-_][A-Za-z0-9_-]*)?(\.txt)?", re.IGNORECASE)
XHTML_NS = "http://www.w3.org/1999/xhtml"
NAV_FILE = f"{TEXT_DIR}/nav.xhtml"
NOTES_FILE = f"{TEXT_DIR}/notes.xhtml"
TITLEPAGE_FILE = f"{TEXT_DIR}/titlepage.xhtml"
COVER_FILE = f"{TEXT_DIR}/cover.xhtml"
CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
# The generated cover: a 5 x 8 in page rasterized at 320 ppi gives 1600 x 2560 pixels.
COVER_PAGE_INCHES = (5.0, 8.0)
CSS_FILE = "styles/book.css"

ROLE_CREDITS = {
    "aut": "{name}",
    "aui": "With an introduction by {name}",
    "edt": "Edited by {name}",
    "trl": "Translated by {name}",
    "ill": "Illustrated by {name}",
    "pht": "Photographs by {name}",
    "com": "Compiled by {name}",
    "ann": "Annotated by {name}",
    "aft": "Afterword by {name}",
    "wpr": "With a preface by {name}",
}
ORDINALS = ["First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth",
            "Ninth", "Tenth"]


def credit(person: Contributor) -> str:
    return person.credit or ROLE_CREDITS.get(person.role, "{name}").format(name=person.name)


def credit_lines(person: Contributor) -> tuple[str, str]:
    """A credit split before the name, for layouts that set the name apart."""
    text = credit(person)
    if text.endswith(person.name):
        return text[: -len(person.name)].strip(), person.name
    return "", text


# What ties a title's last two words in print: a space, then a word joiner (no break before it).
# WeasyPrint sets a no-break space narrower than a space in EB Garamond (3.1 pt against 5.2 at
# 25 pt), and a title's words would run together ("SovietUnion"). One joiner: a letter-spaced
# title gives it its spacing too.
PRINT_TIE = " \u2060"


def no_widow(text: str, tie: str = "\u00a0") -> markupsafe.Markup | str:
    """Tie a title's last two words together, so that no line holds a single word. Takes plain
    text (escaped here) or markup (a Markup, kept)."""
    markup = text if isinstance(text, markupsafe.Markup) else markupsafe.escape(text)
    head, space, tail = str(markup).rpartition(" ")
    if not space or head.count("<") > head.count(">"):  # one word, or the space is inside a tag
        return markup
    return markupsafe.Markup(f"{head}{tie}{tail}")


def print_no_widow(text: str) -> markupsafe.Markup | str:
    return no_widow(text, PRINT_TIE)


def inside_last_paragraph(markup: str, addition: str) -> markupsafe.Markup:
    """Put `addition` (a note's back-links) at the end of the note's last paragraph, so that
    it does not stand alone on a line after the note."""
    text = str(markup)
    if text.endswith("</p>"):
        return markupsafe.Markup(f"{text[:-4]}{addition}</p>")
    return markupsafe.Markup(f"{text}{addition}")


def edition_label(edition: int) -> str:
    return f"{ORDINALS[edition - 1]} edition" if edition <= len(ORDINALS) else f"Edition {edition}"


def date_label(iso_date: str) -> str:
    day = dt.date.fromisoformat(iso_date)
    return f"{day:%B} {day.day}, {day.year}"


# A book's own template is untrusted: it renders in Jinja's sandbox, which stops code, and under
# a time limit, which stops loops (nested `range` would run for hours).
TEMPLATE_SECONDS = 20


class _ContainedLoader(jinja2.FileSystemLoader):
    """Loads a template only when its file, links resolved, is inside the folder: a symbolic link
    to /etc/passwd in a book's templates/ is refused, not included."""

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        root = Path(self.searchpath[0]).resolve()
        if not Path(filename).resolve().is_relative_to(root):
            raise book_error(filename, "template-outside",
                             f'the template "{template}" is a link to a file outside {display_path(root)}',
                             hint="copy the file into the book's templates/ folder")
        return source, filename, uptodate


class _TemplateTimeout(BaseException):
    """A BaseException: Jinja's constant folding catches Exception, and would swallow it."""


class BookSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, and no attribute of a path: a template given chapter.section.path must
    not call read_text or write_text on it (or join it to /etc)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, os.PathLike):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def is_safe_callable(self, obj: Any) -> bool:
        if isinstance(getattr(obj, "__self__", None), os.PathLike):
            return False
        return super().is_safe_callable(obj)


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _TemplateTimeout in the main thread after `seconds` (elsewhere: no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise _TemplateTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def environment(book: Book) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [_ContainedLoader(str(TEMPLATES_DIR))]
    if book.templates_dir is not None:
        loaders.insert(0, _ContainedLoader(str(book.templates_dir)))
    env = BookSandbox(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith((".xhtml.j2", ".html.j2")),
        keep_trailing_newline=True,
    )
    env.globals.update(credit=credit, credit_lines=credit_lines, version=__version__)
    env.filters["no_widow"] = no_widow
    env.filters["print_no_widow"] = print_no_widow
    env.filters["inside_last_paragraph"] = inside_last_paragraph
    return env


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render, turning a mistake in a book's own template into a diagnostic with its line."""
    try:
        with _time_limit(TEMPLATE_SECONDS):
            return env.get_template(name).render(**context)
    except _TemplateTimeout as exc:
        path, line = _template_frame(exc, env, name)
        raise book_error(path, "template-time", f"the template ran for more than {TEMPLATE_SECONDS} s "
                         "and was stopped", line=line, hint="look for a loop that never ends") from None
    except jinja2.exceptions.SecurityError as exc:
        path, line = _template_frame(exc, env, name)
        raise book_error(path, "template-unsafe", str(exc).rstrip("."), line=line,
                         hint="a book's templates may use its data and filters, not Python's internals") \
            from None
    except jinja2.TemplateSyntaxError as exc:
        raise book_error(exc.filename or name, "template", exc.message or "syntax error",
                         line=exc.lineno) from None
    except jinja2.UndefinedError as exc:
        path, line = _template_frame(exc, env, name)
        raise book_error(path, "template", f"{exc.message}", line=line,
                         hint="check the variable's name against README.md, 'Templates'") from None
    except jinja2.TemplateNotFound as exc:
        path, line = _template_frame(exc, env, name)
        raise book_error(path, "template", f'no template named "{exc.name}"', line=line,
                         hint="check the name in {% extends %} or {% include %}") from None
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, RecursionError,
            MemoryError) as exc:
        path, line = _template_frame(exc, env, name)
        if line is None:  # not from a template: a bug of ours, not the book's
            raise
        raise book_error(path, "template", f"{type(exc).__name__}: {exc}", line=line) from None


def _template_frame(exc: BaseException, env: jinja2.Environment, name: str) -> tuple[str, int | None]:
    """Jinja rewrites tracebacks so that template frames carry the template's file and line;
    a frame it did not rewrite (a timeout is no Exception) maps its line through the template."""
    found: tuple[str, int | None] = (name, None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if template is not None and template.filename:  # template code, not rewritten: map it
            found = (display_path(template.filename), template.get_corresponding_lineno(tb.tb_lineno))
        elif filename.endswith(".j2"):
            found = (display_path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


def common_context(ms: Manuscript, isbn: str | None, typeface: str | None) -> dict[str, Any]:
    design = ms.book.design
    return {
        "design": design,
        "labels": chapter_labels(ms.chapters, design, ms.meta.language),  # "Chapter One"
        "meta": ms.meta,
        "edition_label": edition_label(ms.meta.edition),
        "date_label": date_label(ms.meta.date),
        "history": [(edition_label(e.number), date_label(e.date), e.summary)
                    for e in ms.meta.editions] if len(ms.meta.editions) > 1 else [],
        "isbn": isbn,
        "typeface": typeface,
    }


# ---- EPUB --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Landmark:
    type: str
    href: str
    title: str


def chapter_file(chapter: Chapter) -> str:
    return f"{TEXT_DIR}/{chapter.id}.xhtml"


@dataclass(frozen=True)
class CoverImage:
    content: bytes
    media_type: str

    @property
    def file_name(self) -> str:
        # Beside the package document, not in images/: a book's own images/cover.jpg stays its own.
        return "cover-image." + ("png" if self.media_type == "image/png" else "jpg")  # (reserved below)


def render_cover_html(ms: Manuscript, timestamp: str, *, pages: int | None = None) -> str:
    """The cover as HTML for WeasyPrint: the EPUB's front cover (5 x 8 in, for a 1600 x 2560
    image) or, given the interior's page count, the print wrap: back, spine and front with bleed."""
    env = environment(ms.book)
    pdf = ms.book.pdf
    if pages is None:
        width, height = COVER_PAGE_INCHES
        page_css = f"@page {{ size: {width}in {height}in; margin: 0; }}\n"
        variables = f":root {{ --trim-width: {width}in; --spine-width: 0in; }}"
        layout, keywords = "front", None
    else:
        trim_w, trim_h = pdf.width_pt / 72, pdf.height_pt / 72
        spine = printspec.spine_width(pages, pdf.paper)
        page_css = (f"@page {{ size: {2 * trim_w + spine:.4f}in {trim_h:.4f}in; margin: 0; "
                    f"bleed: {printspec.STANDARD_BLEED}in; marks: none; }}\n")
        variables = f":root {{ --trim-width: {trim_w:.4f}in; --spine-width: {spine:.4f}in; }}"
        layout, keywords = "wrap", f"bookbuild-cover, paper={pdf.paper}, pages={pages}"
    panel = COVER_PAGE_INCHES[0] if pages is None else pdf.width_pt / 72
    art = ms.book.cover_front
    # The wrap's front panel is the supplied art, if any (the EPUB's cover is made from it
    # directly: pipeline.epub_cover).
    front_art = urllib.parse.quote(_book_path(ms.book, art)) \
        if art is not None and pages is not None else None
    spine_size = None
    if pages is not None and pages >= printspec.MIN_PAGES_FOR_SPINE_TEXT:
        spine_size = fit_spine(spine_text(ms.meta), printspec.spine_width(pages, pdf.paper),
                               pdf.height_pt / 72)
    return render_template(env, "cover.html.j2", meta=ms.meta, timestamp=timestamp, layout=layout,
                           page_css=page_css + variables, keywords=keywords,
                           stylesheet=(styles_dir() / "cover.css").as_uri(),
                           title=fit_title(ms.meta.title, panel), spine_size=spine_size,
                           spine_author=spine_author(ms.meta), front_art=front_art)


def spine_author(meta: Metadata) -> str:
    return next((person.name for person in meta.contributors if person.role == "aut"), "")


def spine_text(meta: Metadata) -> str:
    """What the spine shows: the title and the author, as cover.html.j2 writes them."""
    return f"{meta.title}  ·  {spine_author(meta)}" if spine_author(meta) else meta.title


def render_epub(ms: Manuscript, fonts: FontSet, modified: str, cover: CoverImage) -> EpubPackage:
    env = environment(ms.book)
    ms = with_first_lines(ms, in_print=False)
    pieces = {chapter.id: _chapter_pieces(chapter) for chapter in ms.chapters}
    notes_documents = _notes_documents(ms)
    files = _id_files(ms, pieces, notes_documents)
    typeface = fonts.family if fonts.found and ms.book.epub.embed_fonts else None
    base = common_context(ms, ms.meta.isbn_epub, typeface)

    book_sheets = [_book_path(ms.book, sheet) for sheet in ms.book.stylesheets]

    def document(template: str, file_name: str, doc_id: str, title: str, **extra: Any) -> EpubDocument:
        sheets = [_relative(file_name, sheet) for sheet in (CSS_FILE, *book_sheets)]
        content = render_template(env, template, page_title=title, body_class=None,
                                  stylesheets=sheets, **base, **extra)
        content = _resolve_links(content, file_name, files)
        root = _checked_output(content, template, ms.book)
        return EpubDocument(file_name, doc_id, title, content.encode("utf-8"),
                            properties=_content_properties(root))

    documents = [
        document("epub/cover.xhtml.j2", COVER_FILE, "cover", "Cover",
                 image=_relative(COVER_FILE, cover.file_name), alt=cover_alt(ms.meta)),
        document("epub/titlepage.xhtml.j2", TITLEPAGE_FILE, "titlepage", ms.meta.title),
    ]
    for chapter in ms.chapters:
        for piece in pieces[chapter.id]:
            documents.append(document(
                "epub/section.xhtml.j2", piece.file, piece.id, chapter.title.text,
                chapter=chapter, epub_type=chapter.kind_info.epub_type, role=chapter.kind_info.role,
                body=_epub_images(piece.body), piece=piece,
            ))
    for number, groups in enumerate(notes_documents, start=1):
        documents.append(document("epub/notes.xhtml.j2", _notes_file(number), _notes_id(number), "Notes",
                                  groups=groups, continued=number > 1, section_id=_notes_id(number)))

    toc = _epub_toc(ms, files)
    first_body = next((c for c in ms.chapters if not c.is_front_matter), ms.chapters[0])
    landmarks = [
        _Landmark("cover", Path(COVER_FILE).name, "Cover"),
        _Landmark("titlepage", Path(TITLEPAGE_FILE).name, "Title page"),
        _Landmark("toc", "nav.xhtml#toc", "Contents"),
        _Landmark("bodymatter", Path(chapter_file(first_body)).name, "Start of content"),
    ]
    if ms.has_notes:
        landmarks.append(_Landmark("endnotes", Path(NOTES_FILE).name, "Notes"))
    nav_toc = [_strip_dir(entry) for entry in toc]
    nav = document("epub/nav.xhtml.j2", NAV_FILE, "nav", "Contents", toc=nav_toc, landmarks=landmarks)
    nav = EpubDocument(nav.file_name, nav.id, nav.title, nav.content, properties=("nav", *nav.properties))
    documents.insert(2, nav)

    resources = (EpubResource(cover.file_name, "cover-image", cover.media_type, cover.content,
                              ("cover-image",)), *_epub_resources(ms, fonts, documents))
    return EpubPackage(
        meta=ms.meta,
        documents=tuple(documents),
        nav=nav,
        resources=tuple(resources),
        toc=tuple(toc),
        modified=modified,
        accessibility=accessibility_metadata(ms),
        units=_units(ms, pieces, notes_documents),
    )


def _units(ms: Manuscript, pieces: dict[str, list[DocumentPiece]],
           notes_documents: list[list[dict[str, Any]]]) -> tuple[tuple[str, str], ...]:
    """The EPUB's id of every element of a unit (pagemap.py) -> the print edition's id of it:
    a section's later documents and the notes' go on with the same unit."""
    units = {EPUB_IDS.get(unit, unit): unit for unit in BOOK_UNITS}
    for chapter in ms.chapters:
        units.update((piece.id, chapter.id) for piece in pieces[chapter.id])
        units.update((note.id, note.id) for note in chapter.notes)
    for number, groups in enumerate(notes_documents, start=1):
        units[_notes_id(number)] = "notes"  # (the first: its "Notes" heading)
        for group in groups:
            heading = f"notes-{group['chapter'].id}"
            units[heading if group["part"] == 1 else f"{heading}--{group['part']}"] = heading
    return tuple(sorted(units.items()))


# Older reading systems (Adobe's RMSDK, the first Kobos) fail on XHTML documents much larger
# than this: a longer chapter, or the notes of a long book, are split into several documents.
MAX_DOCUMENT_BYTES = 300 * 1024
_TEXT_BYTES = MAX_DOCUMENT_BYTES - 20 * 1024  # room for the template around the text


@dataclass(frozen=True)
class DocumentPiece:
    """One EPUB document of a section: the whole of it, or one part of a long one."""

    file: str
    id: str
    body: str
    number: int  # 1 for the section's first document, which carries its heading

    @property
    def continued(self) -> bool:
        return self.number > 1


def _chapter_pieces(chapter: Chapter) -> list[DocumentPiece]:
    chunks = split_markup(chapter.body_html, _TEXT_BYTES)
    return [DocumentPiece(chapter_file(chapter) if n == 1 else f"{TEXT_DIR}/{chapter.id}--{n}.xhtml",
                          chapter.id if n == 1 else f"{chapter.id}--{n}", chunk, n)
            for n, chunk in enumerate(chunks, start=1)]


def split_markup(markup: str, limit: int) -> list[str]:
    """Cut an XHTML fragment between its top-level blocks into pieces of at most `limit` bytes
    (a single larger block stays whole), before a heading where one is near the limit."""
    if len(markup.encode("utf-8")) <= limit:
        return [markup]
    root = etree.fromstring(f'<div xmlns:epub="{EPUB_NS}">{markup}</div>'.encode())
    chunks: list[list[etree._Element]] = [[]]
    size = 0
    for block in [part for child in root for part in _split_list(child, limit)]:
        block_size = len(etree.tostring(block, encoding="utf-8"))
        if chunks[-1] and size + block_size > limit:
            heads = [i for i, b in enumerate(chunks[-1]) if isinstance(b.tag, str) and b.tag in _HEADINGS
                     and i > len(chunks[-1]) // 3]
            cut = heads[-1] if heads else len(chunks[-1])
            chunks.append(chunks[-1][cut:])
            del chunks[-2][cut:]
            size = sum(len(etree.tostring(b, encoding="utf-8")) for b in chunks[-1])
        chunks[-1].append(block)
        size += block_size
    pieces = []
    for chunk in chunks:
        holder = etree.Element("div")
        for block in chunk:
            holder.append(block)
        pieces.append(inner_xhtml(holder))
    return pieces


_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})


def _split_list(block: etree._Element, limit: int) -> list[etree._Element]:
    """A list too long for one document (a bibliography, a glossary) becomes several lists
    that go on where the last stopped (an ordered one from the right number)."""
    if block.tag not in ("ol", "ul") or len(etree.tostring(block, encoding="utf-8")) <= limit:
        return [block]
    parts: list[etree._Element] = []
    size, first = limit, int(block.get("start", "1"))
    for number, item in enumerate(list(block)):
        item_size = len(etree.tostring(item, encoding="utf-8"))
        if size + item_size > limit:
            parts.append(etree.Element(block.tag, dict(block.attrib)))
            if block.tag == "ol" and number:
                parts[-1].set("start", str(first + number))
            size = 0
        parts[-1].append(item)
        size += item_size
    parts[-1].tail = block.tail
    return parts


def _notes_file(number: int) -> str:
    return NOTES_FILE if number == 1 else f"{TEXT_DIR}/notes--{number}.xhtml"


def _notes_id(number: int) -> str:
    return "notes" if number == 1 else f"notes--{number}"


def _notes_documents(ms: Manuscript) -> list[list[dict[str, Any]]]:
    """The notes, chapter by chapter, in as many documents as MAX_DOCUMENT_BYTES asks for; a
    chapter's notes cut between two documents go on under its heading, "continued"."""
    documents: list[list[dict[str, Any]]] = []
    size = _TEXT_BYTES  # start a first document
    for chapter in ms.chapters:
        group: dict[str, Any] | None = None
        for note in chapter.notes:
            note_size = len(note.html.encode("utf-8")) + 400  # the item and its back-links
            if size + note_size > _TEXT_BYTES and (size or not documents):
                documents.append([])
                size, group = 0, None
            if group is None:
                group = {"chapter": chapter, "notes": [], "part": 1 + sum(
                    g["chapter"] is chapter for doc in documents for g in doc),
                    "file": Path(chapter_file(chapter)).name}  # for a book's own older template
                documents[-1].append(group)
            group["notes"].append(note)
            size += note_size
    return documents


def _id_files(ms: Manuscript, pieces: dict[str, list[DocumentPiece]],
              notes_documents: list[list[dict[str, Any]]]) -> dict[str, str]:
    """Which EPUB file holds each id, so that '#id' links can cross files."""
    files: dict[str, str] = {"notes": NOTES_FILE, "titlepage": TITLEPAGE_FILE, "cover": COVER_FILE}
    for chapter in ms.chapters:
        for element_id in chapter.ids:
            files[element_id] = chapter_file(chapter)
        for piece in pieces[chapter.id][1:]:
            for element_id in re.findall(r'\sid="([^"]+)"', piece.body):
                files[element_id] = piece.file
    for number, groups in enumerate(notes_documents, start=1):
        for group in groups:
            for note in group["notes"]:
                files[note.id] = _notes_file(number)
    return files


def _checked_output(xhtml: str, template: str, book: Book) -> etree._Element:
    """A rendered document, parsed as the XML it must be. When the book has templates of its
    own, what they write into the body meets the same allow-list as raw HTML in the Markdown:
    a template may not ship a script or a remote load the text could not."""
    override = book.templates_dir / template if book.templates_dir else None
    shown = override if override is not None and override.is_file() else \
        book.templates_dir or book.manifest_path  # (an included or extended template of the book's)
    try:
        root = etree.fromstring(xhtml.encode("utf-8"), xml_parser())
    except etree.XMLSyntaxError as error:
        raise book_error(shown, "template-xhtml", f"the template writes XHTML that is not well-formed: "
                         f"{error.msg}", hint="write XHTML: close every tag, and write characters, "
                         "not HTML-only entities such as &nbsp;") from None
    if book.templates_dir is not None:
        body = root.find(f"{{{XHTML_NS}}}body")
        fragment = "".join(etree.tostring(child, encoding="unicode") for child in body) \
            if body is not None else ""
        found = refusals(fragment, images=True)
        if found:
            raise book_error(shown, found[0].code, f"the template writes what a book may not carry: "
                             f"{found[0].message}", hint=found[0].hint)
    return root


def _content_properties(root: etree._Element) -> tuple[str, ...]:
    """The package properties EPUB requires of a document with inline SVG or MathML."""
    found = {etree.QName(el).namespace for el in root.iter() if isinstance(el.tag, str)}
    return tuple(name for name, ns in (("mathml", MATHML_NS), ("svg", SVG_NS)) if ns in found)


def font_licences(book: Book) -> tuple[Path, ...]:
    """The licence files beside the fonts the book's stylesheets load (OFL.txt, LICENSE…),
    inside the book folder: a font's licence asks to travel with it."""
    folders = dict.fromkeys(path.parent for path in book.style_files if path.suffix.lower() in FONT_TYPES)
    root = book.root.resolve()
    return tuple(path for folder in folders for path in sorted(folder.iterdir())
                 if path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(root)
                 and LICENCE_NAME.fullmatch(path.name))


def _book_style_files(book: Book) -> tuple[Path, ...]:
    return tuple(dict.fromkeys((*book.stylesheets, *book.style_files)))


def _book_path(book: Book, path: Path) -> str:
    """A book file's name inside the EPUB: its place in the book folder."""
    return path.relative_to(book.root).as_posix()


def _relative(from_file: str, to_file: str) -> str:
    return posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")


def _resolve_links(content: str, file_name: str, files: dict[str, str]) -> str:
    def resolve(match: re.Match[str]) -> str:
        target = files.get(match[1])
        if target is None or target == file_name:
            return match[0]
        return f'href="{_relative(file_name, target)}#{match[1]}"'

    return re.sub(r'href="#([^"]+)"', resolve, content)


def _epub_images(body_html: str) -> str:
    # Chapter sources refer to images from the book folder; the XHTML lives one level down.
    return re.sub(r'(<img\b[^>]*\bsrc=")(?![a-z]+:|/)', r"\1../", body_html)


def _epub_toc(ms: Manuscript, files: dict[str, str]) -> list[TocEntry]:
    """The contents: every listed section, the chapters of a part nested under it, then Notes."""
    depth = ms.book.epub.toc_depth
    labels = chapter_labels(ms.chapters, ms.book.design, ms.meta.language)
    entries: list[TocEntry] = []
    members: dict[str, list[TocEntry]] = {}  # part id -> its chapters' entries
    for chapter in ms.chapters:
        if not chapter.listed:
            continue
        headings = [h for h in chapter.headings if h.level <= depth] if depth > 1 else []
        entry = TocEntry(listed_title(ms, chapter, labels), chapter_file(chapter),
                         _nest(headings, files))
        if chapter.section.part in members:
            members[chapter.section.part].append(entry)
        else:
            entries.append(entry)
        if chapter.kind == "part":
            members[chapter.id] = []
    parts = {f"{TEXT_DIR}/{part}.xhtml": tuple(chapters) for part, chapters in members.items()}
    entries = [TocEntry(e.title, e.href, e.children + parts[e.href]) if e.href in parts else e
               for e in entries]
    if ms.has_notes:
        entries.append(TocEntry("Notes", NOTES_FILE))
    return entries


def listed_title(ms: Manuscript, chapter: Chapter, labels: dict[str, str], html: bool = False
                 ) -> str:
    """A section's title as the contents, the nav and the outline list it: with its label
    ("Chapter One: Title") when the design asks for that."""
    title = chapter.title.html if html else chapter.title.text
    if ms.book.design.label_in_contents and chapter.id in labels:
        label = str(markupsafe.escape(labels[chapter.id])) if html else labels[chapter.id]
        return f"{label}: {title}"
    return title


def _nest(headings: list[Heading], files: dict[str, str]) -> tuple[TocEntry, ...]:
    """Turn a chapter's flat list of sub-headings into a tree by their levels."""
    root: list[tuple[TocEntry, list[Any]]] = []
    stack: list[tuple[int, list[Any]]] = [(1, root)]
    for heading in headings:
        while stack[-1][0] >= heading.level:
            stack.pop()
        node: tuple[TocEntry, list[Any]] = (TocEntry(heading.text, f"{files[heading.id]}#{heading.id}"), [])
        stack[-1][1].append(node)
        stack.append((heading.level, node[1]))

    def build(nodes: list[tuple[TocEntry, list[Any]]]) -> tuple[TocEntry, ...]:
        return tuple(TocEntry(e.title, e.href, build(kids)) for e, kids in nodes)

    return build(root)


def _strip_dir(entry: TocEntry) -> TocEntry:
    # The nav document sits in text/ beside the chapters.
    return TocEntry(entry.title, entry.href.removeprefix(f"{TEXT_DIR}/"),
                    tuple(_strip_dir(child) for child in entry.children))


def _epub_resources(ms: Manuscript, fonts: FontSet,
                    documents: list[EpubDocument]) -> tuple[EpubResource, ...]:
    env = environment(ms.book)
    resources: list[EpubResource] = []
    css_parts = []
    own_css = [path.read_text(encoding="utf-8") for path in epub_stylesheets(ms.book.design)]
    if fonts.found and ms.book.epub.embed_fonts:
        # The stylesheets' own characters too: the ornament an ::after draws is in no document.
        sheets = own_css + [p.read_text(encoding="utf-8", errors="replace")
                            for p in _book_style_files(ms.book) if p.suffix.lower() == ".css"]
        shown = "".join(d.content.decode("utf-8") for d in documents) \
            + "".join(content_strings(sheet) for sheet in sheets)
        # (both cases of every letter: a stylesheet may set a heading in capitals, and only the
        # lower-case É of "été" is in the text)
        text = "".join(sorted(set(shown) | set(shown.upper()) | set(shown.lower())))
        urls = []
        for face in fonts.faces:
            name = f"fonts/{face.file_name}"
            urls.append(_relative(CSS_FILE, name))
            resources.append(EpubResource(name, f"font-{face.path.stem.lower()}",
                                          media_type(name) or "font/otf", subset_font(face.path, text)))
        if fonts.license_text:
            # (named after the typeface: a book's own fonts/LICENSE.txt is its fonts')
            name = f"fonts/LICENSE-{fonts.family.replace(' ', '')}.txt"
            resources.append(EpubResource(name, "font-license", "text/plain",
                                          fonts.license_text.encode("utf-8")))
        css_parts.append(render_template(env, "fonts.css.j2", fonts=fonts, face_urls=urls))
        resources, css_parts = _fallback_font(env, fonts, text, resources, css_parts)
    css_parts += own_css
    css_parts.append(render_template(env, "epub/design.css.j2", design=ms.book.design,
                                     fallback=FALLBACK_TYPEFACE))
    resources.append(EpubResource(CSS_FILE, "css", "text/css", "\n".join(css_parts).encode("utf-8")))
    # The book's own stylesheets, and what they import and load, keep their places in the book
    # folder, so every relative url() in them still points at its file.
    ours = {resource.file_name for resource in resources} | {"cover-image.jpg", "cover-image.png"}
    # The licences beside the book's fonts travel with them.
    licences = font_licences(ms.book)
    for i, path in enumerate((*_book_style_files(ms.book), *licences), start=1):
        name = _book_path(ms.book, path)
        if name in ours:
            raise book_error(path, "name-reserved", f'"{name}" is the name of one of bookbuild\'s own '
                             "files in the EPUB", hint="rename it, and the references to it")
        kind = "text/plain" if path in licences else media_type(path) or "text/css"
        resources.append(EpubResource(name, f"style-{i}", kind, path.read_bytes()))
    seen = {resource.file_name for resource in resources}
    for image in ms.images:
        if image.src in seen:
            continue
        seen.add(image.src)
        kind = media_type(image.src) or "application/octet-stream"  # (parse let only images through)
        resources.append(EpubResource(image.src, f"img-{len(seen)}", kind,
                                      (ms.book.root / image.src).read_bytes()))
    return tuple(resources)


def _fallback_font(env: jinja2.Environment, fonts: FontSet, text: str, resources: list[EpubResource],
                   css_parts: list[str]) -> tuple[list[EpubResource], list[str]]:
    """The symbols the typeface lacks (⋮, ⅜), from the declared fallback, embedded so that no
    reading system draws them from whatever it has. Nothing when the typeface has them all."""
    fallback = fallback_fonts()
    regular = next((face for face in fonts.faces if (face.style, face.weight) == ("normal", 400)), None)
    if not fallback.found or regular is None:
        return resources, css_parts
    face = fallback.faces[0]
    lacking = "".join(char for char in text if char.isprintable() and not char.isspace()
                      and ord(char) not in font_characters(regular.path)
                      and ord(char) in font_characters(face.path))
    if not lacking:
        return resources, css_parts
    name = f"fonts/{face.file_name}"
    resources = [*resources, EpubResource(name, "font-fallback", "font/otf", subset_font(face.path, lacking))]
    if fallback.license_text:
        resources.append(EpubResource(f"fonts/LICENSE-{face.path.stem}.txt", "font-fallback-license",
                                      "text/plain", fallback.license_text.encode("utf-8")))
    css = render_template(env, "fonts.css.j2", fonts=fallback, face_urls=[_relative(CSS_FILE, name)])
    return resources, [*css_parts, css]


def accessibility_metadata(ms: Manuscript, print_pages: str | None = None
                           ) -> tuple[tuple[str, str], ...]:
    """schema.org accessibility properties, derived from what the book really has.
    `print_pages`: the print edition the EPUB marks the pages of (pagelist.py), if it does."""
    has_images = bool(ms.images)
    features = ["structuralNavigation", "tableOfContents", "readingOrder"]
    if print_pages:
        features += ["printPageNumbers", "pageNavigation"]
    if has_images and all(image.alt.strip() for image in ms.images):
        features.append("alternativeText")
    modes = ["textual"] + (["visual"] if has_images else [])
    summary = (
        "This publication has a table of contents, structured headings in a logical reading "
        "order" + (", and endnotes linked both ways with the text" if ms.has_notes else "")
        + ". " + ("All images have text alternatives. " if "alternativeText" in features else "")
        + (f"The page numbers of the print edition ({print_pages}) are marked where each page "
           "begins, with a page list to go to them; its blank pages have no marker. "
           if print_pages else "")
        + "It contains no hazards: no flashing, motion or sound."
    )
    pairs = [("schema:accessMode", mode) for mode in modes]
    pairs.append(("schema:accessModeSufficient", "textual"))
    pairs += [("schema:accessibilityFeature", feature) for feature in features]
    pairs.append(("schema:accessibilityHazard", "none"))
    pairs.append(("schema:accessibilitySummary", summary))
    if print_pages:
        pairs.append(("pageBreakSource", print_source(ms)))
    # A conformance claim is a promise somebody makes: only when the manifest names them.
    if ms.book.epub.certified_by:
        pairs.append(("dcterms:conformsTo", CONFORMANCE))
        pairs.append(("a11y:certifiedBy", ms.book.epub.certified_by))
    return tuple(pairs)


def print_edition(ms: Manuscript) -> str:
    """The print edition in words: pages differ between trims and editions."""
    width, height = (f"{points / 72:.2f}".rstrip("0").rstrip(".")
                     for points in (ms.book.pdf.width_pt, ms.book.pdf.height_pt))
    return f"{ms.meta.title}, {edition_label(ms.meta.edition).lower()}, {width} × {height} in print"


def print_source(ms: Manuscript) -> str:
    """pageBreakSource: the print edition's ISBN when it has one, else its words."""
    if ms.meta.isbn_print:
        return isbn_urn(ms.meta.isbn_print)
    return print_edition(ms)


def cover_alt(meta: Metadata) -> str:
    names = ", ".join(credit(person) for person in meta.contributors)
    title = f"{meta.title}: {meta.subtitle}" if meta.subtitle else meta.title
    return f"Cover of {title}" + (f". {names}" if names else "")


# ---- Print -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ContentsEntry:
    id: str
    html: str
    part: str  # front | body
    level: int
    kind: str = "chapter"


def render_print(ms: Manuscript, fonts: FontSet, timestamp: str) -> PrintDocument:
    env = environment(ms.book)
    ms = with_first_lines(ms, in_print=True)
    front = [c for c in ms.chapters if c.is_front_matter]
    body = [c for c in ms.chapters if not c.is_front_matter]
    # A dedication or an epigraph that opens the book comes before the contents, as in print.
    opening = list(itertools.takewhile(lambda c: not c.listed, front))
    front = front[len(opening):]
    labels = chapter_labels(ms.chapters, ms.book.design, ms.meta.language)
    contents = [
        _ContentsEntry(chapter.id, listed_title(ms, chapter, labels, html=True),
                       "front" if chapter.is_front_matter else "body",
                       2 if chapter.section.part else 1, chapter.kind)
        for chapter in front + body if chapter.listed
    ]
    if ms.has_notes:
        contents.append(_ContentsEntry("notes", "Notes", "body", 1))
    pdf = ms.book.pdf
    page_css = tuple(
        render_template(env, "print/page.css.j2",
                        page=printspec.geometry(pdf.width_pt, pdf.height_pt, band, pdf.bleed_in,
                                                ms.book.design.large_print))
        for band in range(len(printspec.GUTTER_BANDS))
    )
    design = ms.book.design
    words = sum(len(chapter.body_html.split()) for chapter in ms.chapters)
    estimate = printspec.estimate_pages(words, pdf.width_pt, pdf.height_pt, len(ms.chapters),
                                        design.scale * design.grid)
    head_chars = printspec.running_head_chars(pdf.width_pt, estimate, design)
    font_css = render_template(env, "print/design.css.j2", design=design, typeface=TYPEFACES[design.typeface],
                               scale=css_number(design.scale), grid=css_number(design.grid))
    if fonts.found:
        urls = [face.path.as_uri() for face in fonts.faces]
        font_css += render_template(env, "fonts.css.j2", fonts=fonts, face_urls=urls)
    own = print_stylesheets(design)
    stylesheets = (*own, *ms.book.stylesheets)
    html = render_template(
        env, "print/book.html.j2",
        **common_context(ms, ms.meta.isbn_print, fonts.family if fonts.found else None),
        authors=ms.meta.authors,
        timestamp=timestamp,
        # (CSS made from our templates and the registry: raw text in <style>, never escaped)
        font_css=markupsafe.Markup(font_css),
        stylesheets=[path.as_uri() for path in stylesheets],
        contents=contents,
        opening=opening,
        front=front,
        body=body,
        notes=[c for c in ms.chapters if c.notes],
        notes_opening=notes_opening(pdf.openings),
        head=functools.partial(running_head, limit=head_chars),
    )
    return PrintDocument(meta=ms.meta, html=html, base_dir=ms.book.root, stylesheets=stylesheets,
                         page_css=page_css, estimated_pages=estimate, options=pdf,
                         style_files=ms.book.style_files, page_units=unit_ids(ms), design=design,
                         own_sheets=len(own))


def running_head(title: str, limit: int) -> str:
    """A title as its running head holds it on one line of `limit` characters: whole when it
    fits; else what comes before its colon; else cut after a word, with an ellipsis."""
    if len(title) <= limit:
        return title
    before, colon, _after = title.partition(": ")  # (a colon that ends a phrase, not "5:30")
    if colon and 0 < len(before.strip()) <= limit:
        return before.strip()
    return title[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:.\u2013\u2014\u00a0 ") + "\u2026"


def css_number(value: float) -> str:
    """A number for a stylesheet: six decimals at most, no trailing zeros (1, not 1.000000)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def metadata_title(meta: Metadata) -> str:
    return f"{meta.title}: {meta.subtitle}" if meta.subtitle else meta.title
