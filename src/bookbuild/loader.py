"""Manifest + files -> Book: every path checked, every text decoded."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from PIL import Image

from .diagnostics import Report
from .images import front_art_problems, image_problems, wrap_height_problems
from .limits import MAX_IMAGE_PIXELS, MAX_SOURCE_BYTES
from .manifest import Manifest, read_manifest, slugify
from .model import PART_MEMBERS, SECTION_KINDS, Book, Section, opening_asked, print_opening
from .pagemap import is_page_id
from .printspec import POINTS_PER_INCH, front_panel
from .resources import OFL_TYPEFACES, TYPEFACES, book_fonts, install_hint
from .stylesheets import check_stylesheet

# Characters XML cannot carry (an EPUB is XML), raw or written as a character reference.
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_REFERENCE = re.compile(r"&#(?:[xX]0*([0-9a-fA-F]{1,6})|0*([0-9]{1,7}));")


def control_character(text: str, references: bool = True) -> tuple[int, int, str] | None:
    """The first character XML cannot carry: (line, column, "U+001B"), or None. A reference
    (&#x1b;) counts only in Markdown outside code, where it would become the character."""
    found = [(m.start(), ord(m[0])) for m in _RAW_CONTROL.finditer(text)]
    if references:
        from .parse import text_outside_code

        for match in _REFERENCE.finditer(text_outside_code(text)):
            code = int(match[1], 16) if match[1] else int(match[2])
            if (code < 0x20 and code not in (9, 10, 13)) or code in (0x7F, 0xFFFE, 0xFFFF):
                found.append((match.start(), code))
    if not found:
        return None
    start, code = min(found)
    line = text.count("\n", 0, start) + 1
    return line, start - (text.rfind("\n", 0, start) + 1) + 1, f"U+{code:04X}"


COVER_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
MIN_COVER_WIDTH = 1400  # below this, stores reject or blur the cover


def load(book_dir: Path) -> Book:
    # Absolute and without '..': every containment check below compares against this.
    book_dir = Path(os.path.normpath(book_dir.absolute()))
    manifest = read_manifest(book_dir)
    report = Report()
    sections = _sections(book_dir, manifest, report)
    stylesheets = tuple(
        path for i, name in enumerate(manifest.stylesheets)
        if (path := resolve_inside(book_dir, name, manifest.path, report,
                                   manifest.lines.get("stylesheets"))) is not None
    )
    style_files: dict[Path, None] = {}  # what the stylesheets import and load, in order, once
    for sheet in stylesheets:
        style_files.update(dict.fromkeys(check_stylesheet(sheet, book_dir, report)))
    cover, cover_type = None, None
    if manifest.epub.cover:
        line = manifest.lines.get("epub.cover")
        cover = resolve_inside(book_dir, manifest.epub.cover, manifest.path, report, line)
        cover_type = check_cover_image(cover, manifest.path, report, line) if cover else None
    cover_front, cover_wrap = _print_cover(book_dir, manifest, report)
    _check_typeface(manifest, report)
    # Problems with files do not stop here: parsing the sections that did load finds the rest,
    # and parse_book reports them all together.
    templates = book_dir / "templates"
    if templates.is_dir() and not templates.resolve().is_relative_to(book_dir.resolve()):
        report.error(templates, "template-outside", "the templates folder is a link that points outside "
                     "the book folder", hint="keep the book's templates inside its folder")
    return Book(
        root=book_dir,
        manifest_path=manifest.path,
        meta=manifest.meta,
        epub=manifest.epub,
        pdf=manifest.pdf,
        design=manifest.design,
        sections=sections,
        stylesheets=stylesheets,
        style_files=tuple(style_files),
        templates_dir=templates if templates.is_dir() and templates.resolve().is_relative_to(
            book_dir.resolve()) else None,
        cover_image=cover if cover_type else None,
        cover_media_type=cover_type,
        cover_front=cover_front,
        cover_wrap=cover_wrap,
        problems=tuple(report.items),
    )


def _check_typeface(manifest: Manifest, report: Report) -> None:
    """A typeface the manifest names must be on this machine, and under the OFL if the EPUB is
    to embed it. (The default one missing is only a warning: see pipeline.prepare.)"""
    line = manifest.lines.get("design.typeface")
    if line is None:
        return
    typeface = TYPEFACES[manifest.design.typeface]
    if not book_fonts(typeface.name).found:
        report.error(manifest.path, "typeface-missing", f"the typeface {typeface.name} is not installed "
                     "on this machine", line=line,
                     hint=f"{install_hint(typeface.package)}; or choose another")
    elif typeface.licence != "OFL" and manifest.epub.embed_fonts:
        report.error(manifest.path, "typeface-licence", f"{typeface.name} is under the {typeface.licence}, "
                     "and the EPUB embeds only faces under the SIL Open Font License", line=line,
                     hint=f"choose an OFL face, {' or '.join(OFL_TYPEFACES)}; or set embed_fonts = "
                     "false in [epub] to leave the EPUB's face to the reader")


def resolve_inside(root: Path, name: str, referrer: Path, report: Report,
                   line: int | None) -> Path | None:
    """Resolve a relative path that must stay inside the book folder, or report why not."""
    if Path(name).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", name):
        report.error(referrer, "path-absolute", f'"{name}" is an absolute path', line=line,
                     hint="give paths relative to the book folder")
        return None
    path = root / name
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        what = "is a link that points" if path.is_symlink() else "points"
        report.error(referrer, "path-outside", f'"{name}" {what} outside the book folder',
                     line=line, hint="keep every file of the book inside its folder")
        return None
    if not path.exists():
        report.error(referrer, "file-missing", f'"{name}" does not exist', line=line,
                     hint="check the name, or create the file")
        return None
    if path.is_dir():
        report.error(referrer, "not-a-file", f'"{name}" is a folder, not a file', line=line)
        return None
    if not path.is_file():  # a FIFO or a device: reading it would wait for ever
        report.error(referrer, "not-a-file", f'"{name}" is not a regular file', line=line,
                     hint="give a file of the book, not a pipe or a device")
        return None
    return path


def _sections(book_dir: Path, manifest: Manifest, report: Report) -> tuple[Section, ...]:
    sections: list[Section] = []
    ids: set[str] = set()
    in_body = False  # a front kind after the body has begun is back matter, where it stands
    part: str | None = None
    for entry in manifest.contents:
        path = resolve_inside(book_dir, entry.file, manifest.path, report, entry.line)
        if path is None:
            continue
        source = read_source(path, report)
        if source is None:
            continue
        kind = SECTION_KINDS[entry.kind]
        in_body = in_body or not kind.front
        section_id = _unique_id(Path(entry.file).stem, ids)
        if entry.kind == "part":
            part = section_id
        elif entry.kind not in PART_MEMBERS and kind.titled:
            part = None  # back matter after the last part (a part's own epigraph stays in it)
        sections.append(Section(
            id=section_id,
            kind=entry.kind,
            path=path,
            source=source,
            title=entry.title,
            front_matter=not in_body,
            part=part if entry.kind != "part" else None,
            opening=opening_asked(manifest.pdf.openings, entry.kind, entry.opening),
        ))
    return _settled_openings(sections)


def _settled_openings(sections: list[Section]) -> tuple[Section, ...]:
    """Each section's opening as print can have it (model.print_opening)."""
    first_of_body = next((s.id for s in sections if not s.front_matter), None)
    # The contents come after the front matter's unlisted pages (a dedication, an epigraph).
    after_contents = next((s.id for s in sections
                           if s.front_matter and s.kind_info.listed), None)
    before = [None, *(section.kind for section in sections)]
    return tuple(replace(section, opening=print_opening(
        section.opening, section.kind, section.id == first_of_body,
        section.id == after_contents, after)) for section, after in zip(sections, before, strict=False))


def read_source(path: Path, report: Report) -> str | None:
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        report.error(path, "file-too-large", f"the file is {size / 1048576:.1f} MB; the limit is 20 MB",
                     hint="split it into several sections")
        return None
    try:
        data = path.read_bytes()
    except OSError as error:  # no permission, an I/O error: the book's problem, said as such
        report.error(path, "unreadable", f"the file cannot be read: {error.strerror or error}",
                     hint="check its permissions")
        return None
    if b"\x00" in data:
        report.error(path, "binary-file", "this is a binary file, not Markdown text",
                     hint="list only Markdown files in [[contents]]")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        report.error(path, "encoding", "the file is not UTF-8 text", line=line, col=col,
                     hint="save it as UTF-8")
        return None
    if not text.strip():
        report.error(path, "empty-file", "the file is empty",
                     hint="write the section, or remove it from the contents")
        return None
    found = control_character(text)
    if found is not None:
        line, col, name = found
        report.error(path, "control-character", f"a control character ({name}) cannot go into a book",
                     line=line, col=col, hint="delete it; it is invisible in most editors")
        return None
    return text.removeprefix("\ufeff")


def _unique_id(stem: str, taken: set[str]) -> str:
    base = slugify(stem)
    if not base[0].isalpha():
        base = f"s-{base}"
    candidate, n = base, 2
    while candidate in taken or candidate in RESERVED_IDS or is_page_id(candidate):
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


# File stems the EPUB uses for its own documents.
RESERVED_IDS = frozenset({"titlepage", "nav", "notes", "cover", "copyright", "halftitle", "half-title",
                          "title-page", "contents", "body-matter", "toc", "landmarks"})


def _print_cover(book_dir: Path, manifest: Manifest, report: Report
                 ) -> tuple[Path | None, Path | None]:
    """The print wrap's front art and a supplied wrap, each checked (a wrap's size can only be
    checked against the page count, once the PDF is laid out: pipeline.py)."""
    pdf = manifest.pdf
    found: list[Path | None] = []
    for key, name in (("cover_front", pdf.cover_front), ("cover_wrap", pdf.cover_wrap)):
        line = manifest.lines.get(f"pdf.{key}")
        path = resolve_inside(book_dir, name, manifest.path, report, line) if name else None
        if path is not None:
            if key == "cover_front":
                problems = front_art_problems(name or "", path, front_panel(
                    pdf.width_pt / POINTS_PER_INCH, pdf.height_pt / POINTS_PER_INCH))
            else:
                problems = wrap_height_problems(name or "", path, pdf.height_pt / POINTS_PER_INCH)
            for problem in problems:
                report.error(manifest.path, problem.code, problem.message, line=line,
                             hint=problem.hint)
            path = None if problems else path
        found.append(path)
    return found[0], found[1]


def check_cover_image(path: Path, referrer: Path, report: Report, line: int | None) -> str | None:
    """Validate a manifest-supplied cover; return its media type, or None after reporting."""
    broken = [p for p in image_problems(path.name, path) if p.code == "image-broken"]
    for problem in broken:
        report.error(referrer, problem.code, f"the cover {problem.message}", line=line, hint=problem.hint)
    if broken:
        return None
    try:
        with Image.open(path) as image:
            kind, (width, height) = image.format, image.size
    except Image.DecompressionBombError:
        width, height, kind = MAX_IMAGE_PIXELS, 2, "PNG"  # over any limit: said just below
    except (OSError, SyntaxError):
        report.error(referrer, "cover-format", f'the cover "{path.name}" is not an image', line=line,
                     hint="use a JPEG or PNG of 1600 x 2560 pixels")
        return None
    if width * height > MAX_IMAGE_PIXELS:
        report.error(referrer, "image-too-large", f'the cover "{path.name}" has more than '
                     f"{MAX_IMAGE_PIXELS / 1e6:.0f} million pixels", line=line,
                     hint="stores recommend 1600 x 2560")
        return None
    if kind not in COVER_IMAGE_TYPES:
        report.error(referrer, "cover-format",
                     f'the cover "{path.name}" is {kind}; stores take JPEG or PNG',
                     line=line, hint="convert it to JPEG")
        return None
    if width < MIN_COVER_WIDTH or height < width:
        report.error(referrer, "cover-size",
                     f'the cover "{path.name}" is {width} x {height} pixels; it must be portrait and '
                     f"at least {MIN_COVER_WIDTH} pixels wide", line=line,
                     hint="stores recommend 1600 x 2560")
        return None
    return COVER_IMAGE_TYPES[kind]
