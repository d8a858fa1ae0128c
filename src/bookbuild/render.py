"""Manuscript -> finished documents through Jinja2 templates: an EPUB package and a print HTML.

Templates are data (src/bookbuild/templates/, overridable from the book's own templates/);
so are the stylesheets (styles/). Nothing here writes a file.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from . import __version__, printspec
from .diagnostics import book_error, display_path
from .fonts import subset_font
from .model import (
    SECTION_KINDS,
    Book,
    Chapter,
    Contributor,
    EpubDocument,
    EpubPackage,
    EpubResource,
    Manuscript,
    Metadata,
    PrintDocument,
    TocEntry,
)
from .parse import image_media_type
from .resources import TEMPLATES_DIR, FontSet, styles_dir

TEXT_DIR = "text"
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


def no_widow(text: str) -> markupsafe.Markup | str:
    """Tie a title's last two words together, so that no line holds a single word. Takes plain
    text (escaped here) or markup (a Markup, kept)."""
    markup = text if isinstance(text, markupsafe.Markup) else markupsafe.escape(text)
    head, space, tail = str(markup).rpartition(" ")
    if not space or head.count("<") > head.count(">"):  # one word, or the space is inside a tag
        return markup
    return markupsafe.Markup(f"{head}\u00a0{tail}")


def edition_label(edition: int) -> str:
    return f"{ORDINALS[edition - 1]} edition" if edition <= len(ORDINALS) else f"Edition {edition}"


def date_label(iso_date: str) -> str:
    day = dt.date.fromisoformat(iso_date)
    return f"{day:%B} {day.day}, {day.year}"


def environment(book: Book) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(TEMPLATES_DIR))]
    if book.templates_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(book.templates_dir)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith((".xhtml.j2", ".html.j2")),
        keep_trailing_newline=True,
    )
    env.globals.update(credit=credit, credit_lines=credit_lines, version=__version__)
    env.filters["no_widow"] = no_widow
    return env


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render, turning a mistake in a book's own template into a diagnostic with its line."""
    try:
        return env.get_template(name).render(**context)
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
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
        path, line = _template_frame(exc, env, name)
        if line is None:  # not from a template: a bug of ours, not the book's
            raise
        raise book_error(path, "template", f"{type(exc).__name__}: {exc}", line=line) from None


def _template_frame(exc: BaseException, env: jinja2.Environment, name: str) -> tuple[str, int | None]:
    """Jinja rewrites tracebacks so that template frames carry the template's file and line."""
    found: tuple[str, int | None] = (name, None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = (display_path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


def common_context(ms: Manuscript, isbn: str | None, typeface: str | None) -> dict[str, Any]:
    return {
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
        return "cover-image." + ("png" if self.media_type == "image/png" else "jpg")


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
    return render_template(env, "cover.html.j2", meta=ms.meta, timestamp=timestamp, layout=layout,
                           page_css=page_css + variables, keywords=keywords,
                           stylesheet=(styles_dir() / "cover.css").as_uri(),
                           spine_text=pages is not None and pages >= printspec.MIN_PAGES_FOR_SPINE_TEXT)


def render_epub(ms: Manuscript, fonts: FontSet, modified: str, cover: CoverImage) -> EpubPackage:
    env = environment(ms.book)
    files = _id_files(ms)
    typeface = fonts.family if fonts.found and ms.book.epub.embed_fonts else None
    base = common_context(ms, ms.meta.isbn_epub, typeface)

    def document(template: str, file_name: str, doc_id: str, title: str, **extra: Any) -> EpubDocument:
        content = render_template(env, template, page_title=title, body_class=None,
                                  stylesheets=[_relative(file_name, CSS_FILE)], **base, **extra)
        content = _resolve_links(content, file_name, files)
        return EpubDocument(file_name, doc_id, title, content.encode("utf-8"))

    documents = [
        document("epub/cover.xhtml.j2", COVER_FILE, "cover", "Cover",
                 image=_relative(COVER_FILE, cover.file_name), alt=cover_alt(ms.meta)),
        document("epub/titlepage.xhtml.j2", TITLEPAGE_FILE, "titlepage", ms.meta.title),
    ]
    for chapter in ms.chapters:
        epub_type = SECTION_KINDS[chapter.kind]
        documents.append(document(
            "epub/section.xhtml.j2", chapter_file(chapter), chapter.id, chapter.title.text,
            chapter=chapter, epub_type=epub_type, role=f"doc-{epub_type}",
            body=_epub_images(chapter.body_html),
        ))
    if ms.has_notes:
        groups = [{"chapter": c, "file": Path(chapter_file(c)).name} for c in ms.chapters if c.notes]
        documents.append(document("epub/notes.xhtml.j2", NOTES_FILE, "notes", "Notes", groups=groups))

    toc = _epub_toc(ms)
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
    nav = EpubDocument(nav.file_name, nav.id, nav.title, nav.content, properties=("nav",))
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
    )


def _id_files(ms: Manuscript) -> dict[str, str]:
    """Which EPUB file holds each id, so that '#id' links can cross files."""
    files: dict[str, str] = {"notes": NOTES_FILE, "titlepage": TITLEPAGE_FILE, "cover": COVER_FILE}
    for chapter in ms.chapters:
        for element_id in chapter.ids:
            files[element_id] = chapter_file(chapter)
        for note in chapter.notes:
            files[note.id] = NOTES_FILE
    return files


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


def _epub_toc(ms: Manuscript) -> list[TocEntry]:
    depth = ms.book.epub.toc_depth
    entries = []
    for chapter in ms.chapters:
        file_name = chapter_file(chapter)
        children = tuple(
            TocEntry(h.text, f"{file_name}#{h.id}") for h in chapter.headings if h.level <= depth
        ) if depth > 1 else ()
        entries.append(TocEntry(chapter.title.text, file_name, _nest(children, chapter, depth)))
    if ms.has_notes:
        entries.append(TocEntry("Notes", NOTES_FILE))
    return entries


def _nest(flat: tuple[TocEntry, ...], chapter: Chapter, depth: int) -> tuple[TocEntry, ...]:
    """Turn the flat list of sub-headings into a tree by their levels."""
    levels = {f"{chapter_file(chapter)}#{h.id}": h.level for h in chapter.headings}
    root: list[tuple[TocEntry, list[Any]]] = []
    stack: list[tuple[int, list[Any]]] = [(1, root)]
    for entry in flat:
        level = levels[entry.href]
        while stack[-1][0] >= level:
            stack.pop()
        node: tuple[TocEntry, list[Any]] = (entry, [])
        stack[-1][1].append(node)
        stack.append((level, node[1]))

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
    if fonts.found and ms.book.epub.embed_fonts:
        text = "".join(sorted(set("".join(d.content.decode("utf-8") for d in documents))))
        urls = []
        for face in fonts.faces:
            name = f"fonts/{face.file_name}"
            urls.append(_relative(CSS_FILE, name))
            resources.append(EpubResource(name, f"font-{face.path.stem.lower()}",
                                          "font/otf", subset_font(face.path, text)))
        if fonts.license_text:
            resources.append(EpubResource("fonts/LICENSE.txt", "font-license", "text/plain",
                                          fonts.license_text.encode("utf-8")))
        css_parts.append(render_template(env, "fonts.css.j2", fonts=fonts, face_urls=urls))
    css_parts.append((styles_dir() / "epub.css").read_text(encoding="utf-8"))
    css_parts.extend(sheet.read_text(encoding="utf-8") for sheet in ms.book.stylesheets)
    resources.append(EpubResource(CSS_FILE, "css", "text/css", "\n".join(css_parts).encode("utf-8")))
    seen = set()
    for image in ms.images:
        if image.src in seen:
            continue
        seen.add(image.src)
        resources.append(EpubResource(image.src, f"img-{len(seen)}", image_media_type(image.src),
                                      (ms.book.root / image.src).read_bytes()))
    return tuple(resources)


def accessibility_metadata(ms: Manuscript) -> tuple[tuple[str, str], ...]:
    """schema.org accessibility properties, derived from what the book really has."""
    has_images = bool(ms.images)
    features = ["structuralNavigation", "tableOfContents", "readingOrder"]
    if has_images and all(image.alt.strip() for image in ms.images):
        features.append("alternativeText")
    modes = ["textual"] + (["visual"] if has_images else [])
    summary = (
        "This publication has a table of contents, structured headings in a logical reading "
        "order" + (", and endnotes linked both ways with the text" if ms.has_notes else "")
        + ". " + ("All images have text alternatives. " if "alternativeText" in features else "")
        + "It contains no hazards: no flashing, motion or sound."
    )
    pairs = [("schema:accessMode", mode) for mode in modes]
    pairs.append(("schema:accessModeSufficient", "textual"))
    pairs += [("schema:accessibilityFeature", feature) for feature in features]
    pairs.append(("schema:accessibilityHazard", "none"))
    pairs.append(("schema:accessibilitySummary", summary))
    # A conformance claim is a promise somebody makes: only when the manifest names them.
    if ms.book.epub.certified_by:
        pairs.append(("dcterms:conformsTo", CONFORMANCE))
        pairs.append(("a11y:certifiedBy", ms.book.epub.certified_by))
    return tuple(pairs)


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


def render_print(ms: Manuscript, fonts: FontSet, timestamp: str) -> PrintDocument:
    env = environment(ms.book)
    front = [c for c in ms.chapters if c.is_front_matter]
    body = [c for c in ms.chapters if not c.is_front_matter]
    contents = []
    for chapter in front + body:
        part = "front" if chapter.is_front_matter else "body"
        contents.append(_ContentsEntry(chapter.id, chapter.title.html, part, 1))
    if ms.has_notes:
        contents.append(_ContentsEntry("notes", "Notes", "body", 1))
    pdf = ms.book.pdf
    page_css = tuple(
        render_template(env, "print/page.css.j2",
                        page=printspec.geometry(pdf.width_pt, pdf.height_pt, band, pdf.bleed_in))
        for band in range(len(printspec.GUTTER_BANDS))
    )
    font_css = ""
    if fonts.found:
        urls = [face.path.as_uri() for face in fonts.faces]
        font_css = render_template(env, "fonts.css.j2", fonts=fonts, face_urls=urls)
    stylesheets = (styles_dir() / "print.css", *ms.book.stylesheets)
    html = render_template(
        env, "print/book.html.j2",
        **common_context(ms, ms.meta.isbn_print, fonts.family if fonts.found else None),
        authors=ms.meta.authors,
        timestamp=timestamp,
        font_css=font_css,
        stylesheets=[path.as_uri() for path in stylesheets],
        contents=contents,
        front=front,
        body=body,
        notes=[c for c in ms.chapters if c.notes],
    )
    words = sum(len(chapter.body_html.split()) for chapter in ms.chapters)
    estimate = printspec.estimate_pages(words, pdf.width_pt, pdf.height_pt, len(ms.chapters))
    return PrintDocument(meta=ms.meta, html=html, base_dir=ms.book.root, stylesheets=stylesheets,
                         page_css=page_css, estimated_pages=estimate, options=pdf)


def metadata_title(meta: Metadata) -> str:
    return f"{meta.title}: {meta.subtitle}" if meta.subtitle else meta.title
