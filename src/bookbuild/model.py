"""The data model that flows through the pipeline. Pure, frozen, hashable dataclasses.

load  -> Book (metadata, options, ordered Sections with their source text)
parse -> Manuscript (the Book plus one Chapter per Section: HTML, headings, notes)
render -> EpubPackage / PrintDocument (finished documents, ready for a writer)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic


def isbn_urn(isbn: str) -> str:
    """An ISBN as a URN, its digits only (the manifest checked it)."""
    return f"urn:isbn:{re.sub(r'[^0-9X]', '', isbn)}"


@dataclass(frozen=True)
class Kind:
    """What a kind of section is: its EPUB semantics and where it sits in a book."""

    name: str
    epub_type: str | None  # EPUB structural semantics; None where the vocabularies have none
    front: bool = False  # front matter when it comes before the body (roman folios in print)
    titled: bool = True  # False: a page that needs no heading (a dedication, an epigraph)
    listed: bool = True  # has an entry in the contents, the nav and the PDF outline
    runs_on: bool = True  # False: a page of its own, whatever the openings (a part's title page)

    @property
    def role(self) -> str | None:
        """The DPUB-ARIA role that matches the epub:type (Ace checks that they agree)."""
        return f"doc-{self.epub_type}" if self.epub_type else None


# Kinds of section a manifest may name, in the order a book usually has them.
SECTION_KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("dedication", "dedication", front=True, titled=False, listed=False, runs_on=False),
    Kind("epigraph", "epigraph", front=True, titled=False, listed=False, runs_on=False),
    Kind("foreword", "foreword", front=True),
    Kind("preface", "preface", front=True),
    Kind("acknowledgments", "acknowledgments", front=True),
    Kind("introduction", "introduction"),
    Kind("prologue", "prologue"),
    Kind("part", "part", runs_on=False),
    Kind("chapter", "chapter"),
    Kind("epilogue", "epilogue"),
    Kind("afterword", "afterword"),
    Kind("conclusion", "conclusion"),
    Kind("appendix", "appendix"),
    Kind("about-the-author", None),
)}
# Where a section starts in print: on the next right-hand page (a blank verso before it when
# needed), on the next page, or run on after the section before it, below an ornament.
OPENINGS = ("right", "any", "continuous")
NOTES_OPENING_KEY = "notes"  # [pdf.openings] notes = …: where the Notes start
DEFAULT_OPENING_KEY = "default"


def print_opening(asked: str, kind: str, first_of_body: bool, first_after_contents: bool,
                  after: str | None = None) -> str:
    """Where a section opens in print, given what the manifest asked: the body's first section
    opens on a right-hand page (its page 1); a section that has a page of its own, follows one
    (`after`: the kind before it; a part's title page) or follows the contents, starts a page
    however it was asked to run on."""
    if first_of_body:
        return "right"
    own_page = not SECTION_KINDS[kind].runs_on or (after is not None and not SECTION_KINDS[after].runs_on)
    if asked == "continuous" and (first_after_contents or own_page):
        return "any"
    return asked


def opening_asked(openings: tuple[tuple[str, str], ...], key: str, own: str | None = None) -> str:
    """What the manifest asks for a section of kind `key` (or the Notes): its own `opening`,
    else its kind's in [pdf.openings], else the book's."""
    table = dict(openings)
    return own or table.get(key) or table.get(DEFAULT_OPENING_KEY, "right")


def notes_opening(openings: tuple[tuple[str, str], ...]) -> str:
    """The Notes start a page, on the right or on the next one."""
    asked = opening_asked(openings, NOTES_OPENING_KEY)
    return "any" if asked == "continuous" else asked


# The kinds that a part groups: the chapters after a part nest under it until the next part;
# any other kind after the last part (an afterword, an appendix) returns to the top level.
PART_MEMBERS = frozenset({"chapter", "prologue", "epilogue"})


@dataclass(frozen=True)
class Contributor:
    name: str
    role: str  # MARC relator code: aut, aui, edt, trl, ill, ...
    file_as: str | None = None
    uid: str = "creator"
    credit: str | None = None  # how the title page names them, e.g. "With a preface by …"


@dataclass(frozen=True)
class Edition:
    number: int
    date: str  # ISO 8601 date
    summary: str


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass(frozen=True)
class Metadata:
    title: str
    language: str
    identifier: str
    date: str  # ISO 8601 date
    slug: str
    subtitle: str | None = None
    description: str | None = None
    rights: str | None = None
    publisher: str | None = None
    edition: int = 1
    isbn_epub: str | None = None
    isbn_print: str | None = None
    contributors: tuple[Contributor, ...] = ()
    editions: tuple[Edition, ...] = ()  # the history, oldest first
    output_name: str | None = None  # a pattern: {slug}, {edition}, {ordinal}

    @property
    def authors(self) -> tuple[Contributor, ...]:
        return tuple(c for c in self.contributors if c.role == "aut")

    @property
    def output_stem(self) -> str:
        """The outputs' file name without extension; an edition above the first says so, so
        that building the second edition never overwrites the first's files."""
        pattern = self.output_name or ("{slug}" if self.edition == 1 else "{slug}-{ordinal}-edition")
        return fill_output_name(pattern, self.slug, self.edition)


OUTPUT_FIELDS = ("slug", "edition", "ordinal")
MAX_NAME_LENGTH = 120  # characters of an output's name: far inside every file system's limit


def fill_output_name(pattern: str, slug: str, edition: int) -> str:
    """{slug}, {edition} and {ordinal}, and nothing else: not str.format, which would let a
    manifest reach attributes ({edition.__doc__}) or pad a number to any width."""
    values = {"slug": slug, "edition": str(edition), "ordinal": ordinal(edition)}
    return re.sub(r"\{(slug|edition|ordinal)\}", lambda m: values[m[1]], pattern)


@dataclass(frozen=True)
class EpubOptions:
    toc_depth: int = 1
    embed_fonts: bool = True
    cover: str | None = None  # an image in the book folder; otherwise one is generated
    certified_by: str | None = None  # who certifies the accessibility conformance claim
    page_list: bool = True  # the print edition's pages marked in the EPUB (pagelist.py)
    stores: tuple[str, ...] = ()  # the stores of every build: "kindle" (checked), "kobo" (a kepub)

    def for_store(self, store: str, asked: tuple[str, ...] = ()) -> bool:
        """Whether this build is for `store`: the manifest names it, or the command line does."""
        return store in (*asked, *self.stores)


@dataclass(frozen=True)
class PdfOptions:
    trim: str = "6x9"
    width_pt: float = 432.0
    height_pt: float = 648.0
    bleed_in: float = 0.0
    paper: str = "white"  # for the cover's spine width
    target: str | None = None  # a print-on-demand service whose rules the PDF must meet: "kdp"
    variant: str | None = None  # "pdf/ua-1", "pdf/a-2b", …
    cover_front: str | None = None  # art for the print wrap's front panel (the book's file)
    cover_wrap: str | None = None  # a whole print wrap made elsewhere (a PDF of the book's)
    # Where sections open (OPENINGS), as (kind or "default" or "notes", opening) pairs
    openings: tuple[tuple[str, str], ...] = ()
    pad_to_minimum: bool = False  # blank pages at the end up to the target's fewest pages


# print.css is drawn for 11 pt text on lines 15.18 pt apart; a design scales it (DesignOptions).
BASE_SIZE_PT, BASE_LINE_PT = 11.0, 15.18
# [design] size: the text sizes a book may ask for, and the large-print preset.
TEXT_SIZES_PT = (9.0, 20.0)
LARGE_PRINT_PT = 16.0
LARGE_PRINT_LEADING = 1.5
LEADINGS = (1.2, 2.0)
DEFAULT_THEME = "classic"  # print.css and epub.css alone
DEFAULT_TYPEFACE = "EB Garamond"  # resources.TYPEFACES
THEMES = (DEFAULT_THEME, "modern", "plain")


@dataclass(frozen=True)
class DesignOptions:
    """The book's design choices ([design] in the manifest)."""

    chapter_label: str | None = None  # "Chapter {N}": above each chapter's title (labels.py)
    numbering: str = "arabic"  # how the label writes the number: arabic, roman, words
    label_in_contents: bool = False  # the contents, the nav and the outline show the label too
    first_line: str = "none"  # a chapter's first line: none, small-caps, drop-cap
    typeface: str = DEFAULT_TYPEFACE
    size: float = 11.0  # the print text size, in points (the EPUB's is the reader's)
    leading: float = 1.38  # the print line height, as a multiple of the size
    theme: str = DEFAULT_THEME  # THEMES: headings, ornaments and the title page together

    @property
    def scale(self) -> float:
        """The text size over the one print.css is drawn for."""
        return self.size / BASE_SIZE_PT

    @property
    def grid(self) -> float:
        """The line (size times leading) over the one print.css is drawn for."""
        return self.size * self.leading / BASE_LINE_PT

    @property
    def large_print(self) -> bool:
        """16 pt or more is set as large-print guidelines ask: ragged right, no hyphenation,
        wider margins (large-print.css, printspec.geometry)."""
        return self.size >= LARGE_PRINT_PT




@dataclass(frozen=True)
class Section:
    """One entry of the manifest's contents, with its source text."""

    id: str  # unique, XML-safe; also the EPUB file name stem
    kind: str
    path: Path
    source: str
    title: str | None = None  # from the manifest; otherwise the file's first heading
    front_matter: bool = False  # a front kind before the first section of the body
    part: str | None = None  # the id of the part this section belongs to
    opening: str = "right"  # where it starts in print (OPENINGS, as print_opening settled it)

    @property
    def kind_info(self) -> Kind:
        return SECTION_KINDS[self.kind]


@dataclass(frozen=True)
class Book:
    root: Path
    manifest_path: Path
    meta: Metadata
    epub: EpubOptions
    pdf: PdfOptions
    sections: tuple[Section, ...]
    stylesheets: tuple[Path, ...] = ()  # the book's own CSS, added after ours
    style_files: tuple[Path, ...] = ()  # what that CSS imports and loads: stylesheets, fonts, images
    templates_dir: Path | None = None  # the book's own templates, overriding ours
    design: DesignOptions = DesignOptions()
    cover_image: Path | None = None  # a supplied cover, validated
    cover_front: Path | None = None  # the print wrap's front art, validated ([pdf] cover_front)
    cover_wrap: Path | None = None  # a supplied print wrap, validated but for its size
    cover_media_type: str | None = None  # what the image really is, not what its name says
    problems: tuple[Diagnostic, ...] = ()  # what loading found; parse_book reports it with its own


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str  # plain text without note calls, for the nav, <title>, outline and running heads
    html: str  # inline markup kept (italics), without note calls or links: for the contents
    full_html: str = ""  # everything the heading shows in the text, note calls included
    shown: bool = True  # False: a label only (an untitled dedication's "Dedication")


@dataclass(frozen=True)
class Note:
    number: int  # restarts in each chapter
    id: str  # book-wide unique id of the note
    ref_ids: tuple[str, ...]  # ids of the calls in the text (a note may be called twice)
    html: str


@dataclass(frozen=True)
class Image:
    src: str  # relative to the book folder
    alt: str


@dataclass(frozen=True)
class Chapter:
    section: Section
    title: Heading  # level 1
    body_html: str  # XHTML fragment, title excluded
    headings: tuple[Heading, ...]  # levels 2+, in order
    notes: tuple[Note, ...]
    images: tuple[Image, ...]
    ids: frozenset[str]  # every id this chapter defines

    @property
    def id(self) -> str:
        return self.section.id

    @property
    def kind(self) -> str:
        return self.section.kind

    @property
    def kind_info(self) -> Kind:
        return self.section.kind_info

    @property
    def is_front_matter(self) -> bool:
        return self.section.front_matter

    @property
    def listed(self) -> bool:
        """Whether the contents, the nav and the outline name this section."""
        return self.kind_info.listed and self.title.shown


@dataclass(frozen=True)
class Manuscript:
    book: Book
    chapters: tuple[Chapter, ...]

    @property
    def meta(self) -> Metadata:
        return self.book.meta

    @property
    def has_notes(self) -> bool:
        return any(c.notes for c in self.chapters)

    @property
    def images(self) -> tuple[Image, ...]:
        return tuple(image for chapter in self.chapters for image in chapter.images)


@dataclass(frozen=True)
class EpubDocument:
    file_name: str  # inside the EPUB, e.g. "text/preface.xhtml"
    id: str
    title: str
    content: bytes
    in_spine: bool = True
    properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class EpubResource:
    file_name: str
    id: str
    media_type: str
    content: bytes
    properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class TocEntry:
    title: str
    href: str  # file#id inside the EPUB
    children: tuple[TocEntry, ...] = ()


@dataclass(frozen=True)
class EpubPackage:
    meta: Metadata
    documents: tuple[EpubDocument, ...]  # in reading order
    nav: EpubDocument
    resources: tuple[EpubResource, ...]
    toc: tuple[TocEntry, ...]
    modified: str  # dcterms:modified, UTC, "YYYY-MM-DDThh:mm:ssZ"
    accessibility: tuple[tuple[str, str], ...]  # (property, value) metadata pairs
    # The EPUB's id of each element of a unit of text -> the print edition's id of the unit
    # (pagemap.py): where the print pages' markers go.
    units: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PrintDocument:
    meta: Metadata
    html: str
    base_dir: Path  # the book folder: relative URLs resolve here
    stylesheets: tuple[Path, ...]  # bookbuild's (resources.print_stylesheets), then the book's
    page_css: tuple[str, ...]  # the page geometry for each gutter band (printspec.GUTTER_BANDS)
    estimated_pages: int  # a guess from the text's length, to pick the first band
    options: PdfOptions
    style_files: tuple[Path, ...] = ()  # what the book's CSS imports and loads (fonts, images)
    page_units: frozenset[str] = frozenset()  # the ids of the units of text (pagemap.py)
    design: DesignOptions = DesignOptions()  # its typeface, size and theme
    own_sheets: int = 1  # how many of the stylesheets are bookbuild's

    @property
    def book_stylesheets(self) -> tuple[Path, ...]:
        return self.stylesheets[self.own_sheets:]
