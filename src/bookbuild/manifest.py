"""book.toml -> validated settings. Every problem is collected, then reported at once."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import Report, book_error
from .headings import NUMBERINGS, check_pattern, words_language
from .model import (
    DEFAULT_OPENING_KEY,
    LARGE_PRINT_LEADING,
    LARGE_PRINT_PT,
    LEADINGS,
    MAX_NAME_LENGTH,
    NOTES_OPENING_KEY,
    OPENINGS,
    SECTION_KINDS,
    TEXT_SIZES_PT,
    THEMES,
    Contributor,
    DesignOptions,
    Edition,
    EpubOptions,
    Metadata,
    PdfOptions,
    fill_output_name,
)
from .printspec import PAPER_INCHES_PER_PAGE, TRIM_LIMITS_IN, TRIM_SIZES
from .resources import TYPEFACES
from .typography import smart_quotes

MANIFEST_NAME = "book.toml"
LAST_YEAR = 2107  # zip's dates end with 2107
MAX_SLUG_LENGTH = 80  # the slug names files; "-2nd-edition", "-cover" and ".pdf" come after it

UNIT_POINTS = {"in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "pt": 1.0}

# MARC relator codes a book's contributors commonly carry.
MARC_ROLES = {
    "aui": "author of introduction",
    "aut": "author",
    "aft": "author of afterword",
    "ann": "annotator",
    "ant": "bibliographic antecedent",
    "com": "compiler",
    "ctb": "contributor",
    "edt": "editor",
    "ill": "illustrator",
    "pbl": "publisher",
    "pht": "photographer",
    "trl": "translator",
    "wpr": "writer of preface",
    "wac": "writer of added commentary",
}

_BCP47 = re.compile(
    r"^[a-zA-Z]{2,3}(-[a-zA-Z]{3}){0,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?"
    r"(-([a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*(-[a-wyzA-WYZ0-9](-[a-zA-Z0-9]{2,8})+)*"
    r"(-x(-[a-zA-Z0-9]{1,8})+)?$"
)


@dataclass(frozen=True)
class Field:
    kind: type | tuple[type, ...]
    required: bool = False
    check: Callable[[Any], str | None] | None = None  # returns an error message or None


@dataclass(frozen=True)
class ContentEntry:
    file: str
    kind: str
    title: str | None
    line: int | None
    opening: str | None = None  # where it starts in print, when the entry says


@dataclass(frozen=True)
class Manifest:
    path: Path
    meta: Metadata
    epub: EpubOptions
    pdf: PdfOptions
    design: DesignOptions
    contents: tuple[ContentEntry, ...]
    stylesheets: tuple[str, ...]
    lines: dict[str, int]  # "table.key" -> line in book.toml, for later diagnostics


def check_language(value: str) -> str | None:
    if not _BCP47.match(value):
        return f'"{value}" is not a BCP 47 language tag (for example "en", "en-GB", "de")'
    return None


def check_isbn(value: str) -> str | None:
    digits = re.sub(r"[\s-]", "", value).upper()
    if re.fullmatch(r"\d{13}", digits):
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
        if total % 10 == 0:
            return None
    elif re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits))
        if total % 11 == 0:
            return None
    else:
        return f'"{value}" is not an ISBN (13 digits, or 10 for an old ISBN)'
    return f'"{value}" is not a valid ISBN: its check digit is wrong'


def check_date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return f"{value.isoformat()} is a date and time; give the date alone (YYYY-MM-DD)"
    try:
        if not isinstance(value, dt.date) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
            raise ValueError
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return f'"{value}" is not a date (write it as YYYY-MM-DD)'
    if day.year > LAST_YEAR:  # a zip archive (an EPUB) cannot date its files later
        return f"{day.isoformat()} is after {LAST_YEAR}, the last year an EPUB's files can carry"
    return None


def check_slug(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
        return f'"{value}" is not a plain file name: use letters, digits, ".", "_" and "-"'
    if len(value) > MAX_SLUG_LENGTH:
        return f"the slug is {len(value)} characters long; the limit is {MAX_SLUG_LENGTH}"
    return None


def check_trim(value: str) -> str | None:
    size = parse_trim(value)
    if size is None:
        names = ", ".join(TRIM_SIZES)
        return f'unknown trim size "{value}" (use one of {names}, or "WIDTHxHEIGHT" with in, mm or cm)'
    low, high = TRIM_LIMITS_IN
    if not all(low * 72 - 0.01 <= side <= high * 72 + 0.01 for side in size):  # (mm round)
        return f'a trim of "{value}" is not a book page: each side must be {low} to {high} in'
    return None


def check_role(value: str) -> str | None:
    if value not in MARC_ROLES:
        return f'"{value}" is not a MARC relator code bookbuild knows ({", ".join(sorted(MARC_ROLES))})'
    return None


def check_kind(value: str) -> str | None:
    if value not in SECTION_KINDS:
        return f'unknown kind "{value}" (use one of {", ".join(SECTION_KINDS)})'
    return None


def check_opening(value: str) -> str | None:
    if value not in OPENINGS:
        return f'unknown opening "{value}" (use {", ".join(OPENINGS)})'
    return None


LARGE_PRINT = "large-print"  # [design] size: the preset (model.LARGE_PRINT_PT)


def check_size(value: float | str) -> str | None:
    """`size = 11` (points), or the preset "large-print"."""
    if isinstance(value, str):
        return None if value == LARGE_PRINT else f'unknown size "{value}" (give points, or "{LARGE_PRINT}")'
    low, high = TEXT_SIZES_PT
    if not low <= value <= high:
        return f"{value:g} pt is not a text size for a book (give {low:g} to {high:g})"
    return None


def check_leading(value: float) -> str | None:
    low, high = LEADINGS
    if not low <= value <= high:
        return f"{value:g} is not a leading for a book (give {low:g} to {high:g} times the size)"
    return None


def _design_options(design: dict[str, Any]) -> DesignOptions:
    """[design] as the layout reads it: a size in points, and the leading that size asks for."""
    size = design.get("size", DesignOptions.size)
    if size == LARGE_PRINT:
        size = LARGE_PRINT_PT
    default_leading = LARGE_PRINT_LEADING if size >= LARGE_PRINT_PT else DesignOptions.leading
    return DesignOptions(**{**design, "size": float(size),
                            "leading": float(design.get("leading", default_leading))})


def check_openings(value: str | dict[str, Any]) -> str | None:
    """`openings = "any"`, or a table: a kind (or "default", or "notes") -> an opening."""
    if isinstance(value, str):
        return check_opening(value)
    keys = (DEFAULT_OPENING_KEY, NOTES_OPENING_KEY, *SECTION_KINDS)
    problems = []
    for key, opening in value.items():
        if key not in keys:
            problems.append(f'unknown key "{key}" (use "default", "notes" or a kind: '
                            f'{", ".join(SECTION_KINDS)})')
        elif not isinstance(opening, str) or check_opening(opening):
            problems.append(f'{key} must be one of {", ".join(OPENINGS)}, not {_describe(opening)}')
        elif opening == "continuous" and not _runs_on(key):
            problems.append(f'{key} cannot be "continuous": {_own_page(key)}')
    return "; ".join(problems) or None


def _runs_on(key: str) -> bool:
    return key not in SECTION_KINDS or SECTION_KINDS[key].runs_on


def _own_page(kind: str) -> str:
    return f'a {kind} has a page of its own (use "right" or "any")'


def check_toc_depth(value: int) -> str | None:
    return None if 1 <= value <= 3 else f"toc_depth must be 1, 2 or 3, not {value}"


def check_output_name(value: str) -> str | None:
    if re.search(r"[{}]", re.sub(r"\{(slug|edition|ordinal)\}", "", value)):
        return f'"{value}" may use only {{slug}}, {{edition}} and {{ordinal}}'
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", fill_output_name(value, "s", 1)):
        return f'"{value}" must be a plain file name: letters, digits, ".", "_" and "-", no folders'
    if len(fill_output_name(value, "s" * MAX_SLUG_LENGTH, 1)) > MAX_NAME_LENGTH:
        return f'"{value}" can make a file name over {MAX_NAME_LENGTH} characters'
    if "{edition}" not in value and "{ordinal}" not in value:
        return f'"{value}" must contain {{edition}} or {{ordinal}}: otherwise the next edition ' \
               "would overwrite this one's files"
    return None


def check_edition(value: int) -> str | None:
    return None if value >= 1 else f"edition must be 1 or more, not {value}"


PDF_VARIANTS = ("pdf/ua-1", "pdf/a-2b", "pdf/a-3b", "pdf/ua-2")
PRINT_TARGETS = ("kdp",)
# The stores an EPUB is checked or made for: kindle checks it against KDP's requirements
# (kindle.py), kobo writes <name>.kepub.epub too (kobo.py).
STORE_TARGETS = ("kindle", "kobo")


def parse_length(value: str) -> float | None:
    """"0.125in", "3mm", "0" -> inches."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(in|mm|cm|pt)?\s*", value.lower())
    if not match or (match.group(2) is None and float(match.group(1)) != 0):
        return None
    return float(match.group(1)) * UNIT_POINTS[match.group(2) or "pt"] / 72.0


def check_bleed(value: str) -> str | None:
    inches = parse_length(value)
    if inches is None:
        return f'"{value}" is not a length (write it as "0.125in" or "3mm")'
    if inches > 0.5:
        return f'a bleed of "{value}" is more than any printer asks for (0.125in is the norm)'
    return None


def check_paper(value: str) -> str | None:
    return None if value in PAPER_INCHES_PER_PAGE else f'paper must be "white" or "cream", not "{value}"'


def check_variant(value: str) -> str | None:
    return None if value in PDF_VARIANTS else f'unknown PDF variant "{value}" (use {", ".join(PDF_VARIANTS)})'


def check_target(value: str) -> str | None:
    known = ", ".join(PRINT_TARGETS)
    return None if value in PRINT_TARGETS else f'unknown print target "{value}" (use {known})'


def parse_trim(value: str) -> tuple[float, float] | None:
    """A trim name or an explicit size ("6x9in", "148mm x 210mm") -> (width, height) in points."""
    text = value.strip().lower()
    if text in TRIM_SIZES:
        return TRIM_SIZES[text]
    number = r"(\d+(?:\.\d+)?)\s*(in|mm|cm|pt)?"
    match = re.fullmatch(number + r"\s*x\s*" + number, text)
    if not match:
        return None
    width, width_unit, height, height_unit = match.groups()
    unit = height_unit or width_unit
    if unit is None:
        return None
    return (float(width) * UNIT_POINTS[width_unit or unit], float(height) * UNIT_POINTS[unit])


BOOK_FIELDS: dict[str, Field] = {
    "title": Field(str, required=True),
    "subtitle": Field(str),
    "slug": Field(str, check=check_slug),
    "language": Field(str, check=check_language),
    "identifier": Field(str),
    "date": Field((str, dt.date), check=check_date),
    "description": Field(str),
    "rights": Field(str),
    "publisher": Field(str),
    "edition": Field(int, check=check_edition),
    "isbn_epub": Field(str, check=check_isbn),
    "isbn_print": Field(str, check=check_isbn),
    "contributors": Field(list),
    "output_name": Field(str, check=lambda v: check_output_name(v)),
}
EDITION_FIELDS: dict[str, Field] = {
    "number": Field(int, required=True, check=check_edition),
    "date": Field((str, dt.date), required=True, check=check_date),
    "summary": Field(str, required=True),
}
CONTRIBUTOR_FIELDS: dict[str, Field] = {
    "name": Field(str, required=True),
    "role": Field(str, check=check_role),
    "file_as": Field(str),
    "credit": Field(str),
}
CONTENT_FIELDS: dict[str, Field] = {
    "file": Field(str, required=True),
    "kind": Field(str, check=check_kind),
    "title": Field(str),
    "opening": Field(str, check=check_opening),
}
EPUB_FIELDS: dict[str, Field] = {
    "toc_depth": Field(int, check=check_toc_depth),
    "embed_fonts": Field(bool),
    "cover": Field(str),
    "certified_by": Field(str),
    "page_list": Field(bool),
    "stores": Field(list, check=lambda v: next(
        (f'unknown store "{s}" in stores (use {", ".join(STORE_TARGETS)})' for s in v
         if s not in STORE_TARGETS), None)),
}
PDF_FIELDS: dict[str, Field] = {
    "trim": Field(str, check=check_trim),
    "bleed": Field(str, check=check_bleed),
    "paper": Field(str, check=check_paper),
    "target": Field(str, check=check_target),
    "variant": Field(str, check=check_variant),
    "openings": Field((str, dict), check=check_openings),
    "pad_to_minimum": Field(bool),
    "cover_front": Field(str),
    "cover_wrap": Field(str),
}
FIRST_LINES = ("none", "small-caps", "drop-cap")
DESIGN_FIELDS: dict[str, Field] = {
    "chapter_label": Field(str, check=check_pattern),
    "numbering": Field(str, check=lambda v: None if v in NUMBERINGS else
                       f'unknown numbering "{v}" (use {", ".join(NUMBERINGS)})'),
    "label_in_contents": Field(bool),
    "first_line": Field(str, check=lambda v: None if v in FIRST_LINES else
                        f'unknown first_line "{v}" (use {", ".join(FIRST_LINES)})'),
    "typeface": Field(str, check=lambda v: None if v in TYPEFACES else
                      f'unknown typeface "{v}" (use one of {", ".join(TYPEFACES)})'),
    "size": Field((int, float, str), check=lambda v: check_size(v)),
    "leading": Field((int, float), check=lambda v: check_leading(v)),
    "theme": Field(str, check=lambda v: None if v in THEMES else
                   f'unknown theme "{v}" (use {", ".join(THEMES)})'),
}
TOP_FIELDS: dict[str, Field] = {
    "book": Field(dict, required=True),
    "contents": Field(list, required=True),
    "epub": Field(dict),
    "pdf": Field(dict),
    "design": Field(dict),
    "stylesheets": Field(list),
    "editions": Field(list),
}

_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list", dict: "a table", dt.date: "a date"}


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "book"
    if len(slug) > MAX_SLUG_LENGTH:  # a long title: cut at a word, within the limit
        slug = slug[:MAX_SLUG_LENGTH].rsplit("-", 1)[0] or slug[:MAX_SLUG_LENGTH]
    return slug


class KeyLines:
    """Finds the line of a key in the TOML source (tomllib keeps no positions)."""

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
    _key = re.compile(r'^\s*([A-Za-z0-9_\-]+|"[^"]*")\s*=')

    def __init__(self, text: str):
        self.lines: dict[str, int] = {}
        counts: dict[str, int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._header.match(line)
            if header:
                brackets, name = header.groups()
                if brackets == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    parent, _, leaf = name.rpartition(".")
                    parent_path = self._resolve(parent, counts) if parent else ""
                    table = f"{parent_path}.{leaf}[{index}]".lstrip(".")
                else:
                    table = name
                self.lines.setdefault(table, number)
                continue
            key = self._key.match(line)
            if key:
                self.lines.setdefault(f"{table}.{key.group(1).strip(chr(34))}".lstrip("."), number)

    def _resolve(self, name: str, counts: dict[str, int]) -> str:
        return f"{name}[{counts[name] - 1}]" if name in counts else name

    def line(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return None


class _Validator:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.keys = KeyLines(text)
        self.report = Report()

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        self.report.error(self.path, "manifest", message, line=self.keys.line(key), hint=hint)

    def table(self, data: Any, prefix: str, fields: dict[str, Field]) -> dict[str, Any]:
        """Check one table against its fields; return only the values that passed."""
        where = prefix or "the manifest"
        if not isinstance(data, dict):
            self.error(prefix, f"[{prefix}] must be a table")
            return {}
        valid: dict[str, Any] = {}
        for key, value in data.items():
            full = f"{prefix}.{key}".lstrip(".")
            field = fields.get(key)
            if field is None:
                known = ", ".join(fields)
                self.error(full, f'unknown key "{key}" in {where}', hint=f"known keys: {known}")
                continue
            kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                names = [_TYPE_NAMES[kind] for kind in kinds if not (kind is int and float in kinds)]
                self.error(full, f'"{full}" must be {" or ".join(names)}, not {_describe(value)}')
                continue
            problem = field.check(value) if field.check else None
            if problem is None and isinstance(value, str):
                problem = _control_problem(value)
            if problem:
                self.error(full, f'"{full}": {problem}')
                continue
            valid[key] = value
        for key, field in fields.items():
            if field.required and key not in data:
                self.error(prefix, f'{where} is missing the required key "{key}"')
        return valid


def _control_problem(value: str) -> str | None:
    from .loader import control_character

    found = control_character(value, references=False)  # metadata is escaped: "&#x1b;" is text
    return f"a control character ({found[2]}) cannot go into a book" if found else None


def _describe(value: Any) -> str:
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind) and not (isinstance(value, bool) and kind is int):
            return name
    return type(value).__name__


def read_manifest(book_dir: Path) -> Manifest:
    path = book_dir / MANIFEST_NAME
    if not book_dir.is_dir():
        raise book_error(book_dir, "no-book", "no such book folder",
                         hint="give the folder that holds book.toml, or create one with 'bookbuild new'")
    if not path.is_file():
        raise book_error(path, "no-manifest", "the book folder has no book.toml",
                         hint="every book needs a manifest; see README.md, 'The manifest'")
    if not path.resolve().is_relative_to(book_dir.resolve()):
        raise book_error(path, "path-outside", "book.toml is a link that points outside the book folder",
                         hint="keep every file of the book inside its folder")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise book_error(path, "encoding", "book.toml is not UTF-8 text", line=line,
                         hint="save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from None
    return validate(path, text, data)


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> Exception:
    message = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    line, col = (int(match.group(1)), int(match.group(2))) if match else (None, None)
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
    message = re.sub(r"\s*\(at end of document\)", " at the end of the file", message)
    if message.startswith("Illegal character '\\n'"):
        message = "a string is not closed before the end of the line"
    return book_error(path, "toml", f"TOML syntax error: {message[0].lower()}{message[1:]}",
                      line=line, col=col)


def validate(path: Path, text: str, data: dict[str, Any]) -> Manifest:
    v = _Validator(path, text)
    top = v.table(data, "", TOP_FIELDS)
    book = v.table(top.get("book", {}), "book", BOOK_FIELDS)
    contributors = [
        v.table(c, f"book.contributors[{i}]", CONTRIBUTOR_FIELDS)
        for i, c in enumerate(book.get("contributors", []))
    ]
    contents = _contents(v, top.get("contents"))
    epub = v.table(top.get("epub", {}), "epub", EPUB_FIELDS)
    pdf = v.table(top.get("pdf", {}), "pdf", PDF_FIELDS)
    design = v.table(top.get("design", {}), "design", DESIGN_FIELDS)
    if "cover_front" in pdf and "cover_wrap" in pdf:
        v.error("pdf.cover_wrap", "give cover_front or cover_wrap, not both",
                hint="cover_front is art for the front panel; cover_wrap a whole wrap made elsewhere")
    language = book.get("language", "en")
    if design.get("numbering") == "words" and words_language(language) is None:
        v.error("design.numbering", f'numbering = "words" has no words for the language "{language}"',
                hint='use "arabic" or "roman"')
    editions = _editions(v, top.get("editions", []), book)
    raw_book = data.get("book")
    if isinstance(raw_book, dict) and "date" not in raw_book and not top.get("editions"):
        v.error("book", 'book is missing the required key "date"',
                hint='give the publication date, date = "YYYY-MM-DD", or an [[editions]] history')
    stylesheets = top.get("stylesheets", [])
    for i, sheet in enumerate(stylesheets):
        if not isinstance(sheet, str):
            v.error(f"stylesheets[{i}]", "stylesheets must list file paths as strings")
    v.report.raise_if_errors()
    return Manifest(
        path=path,
        meta=_metadata(book, contributors, editions),
        epub=EpubOptions(**{**epub, "stores": tuple(epub.get("stores", ()))}),
        pdf=_pdf_options(pdf),
        design=_design_options(design),
        contents=contents,
        stylesheets=tuple(stylesheets),
        lines=v.keys.lines,
    )


def _contents(v: _Validator, entries: Any) -> tuple[ContentEntry, ...]:
    if entries is None:
        return ()
    if not entries:
        v.error("contents", "the contents list is empty",
                hint='add at least one [[contents]] entry with file = "chapter.md"')
        return ()
    result: list[ContentEntry] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(entries):
        entry = v.table(raw, f"contents[{i}]", CONTENT_FIELDS)
        if "file" not in entry:
            continue
        line = v.keys.line(f"contents[{i}].file")
        name = entry["file"]
        if not name.strip():
            v.error(f"contents[{i}].file", "the file name is empty",
                    hint='name the Markdown file, e.g. file = "chapter-1.md"')
            continue
        if name in seen:
            v.error(f"contents[{i}].file", f'"{name}" is listed twice in the contents',
                    hint=f"it is already entry {seen[name] + 1}")
            continue
        seen[name] = i
        kind = entry.get("kind", "chapter")
        if entry.get("opening") == "continuous" and not _runs_on(kind):
            v.error(f"contents[{i}].opening", f'"{name}" cannot run on: {_own_page(kind)}')
        result.append(ContentEntry(name, kind, _smart(entry.get("title")), line, entry.get("opening")))
    return tuple(result)


def _editions(v: _Validator, entries: list[Any], book: dict[str, Any]) -> tuple[Edition, ...]:
    """The edition history, oldest first; the current edition is the last one listed."""
    editions = []
    for i, raw in enumerate(entries):
        entry = v.table(raw, f"editions[{i}]", EDITION_FIELDS)
        if len(entry) < len(EDITION_FIELDS):
            continue
        date = entry["date"]
        editions.append(Edition(entry["number"], date.isoformat() if isinstance(date, dt.date) else date,
                                smart_quotes(entry["summary"])))
        if len(editions) > 1 and editions[-1].number <= editions[-2].number:
            v.error(f"editions[{i}].number", f"edition {editions[-1].number} follows edition "
                    f"{editions[-2].number}: list the editions oldest first")
    if editions and "date" in book and _iso(book["date"]) != editions[-1].date:
        v.error("book.date", f"date = {_iso(book['date'])}, but the last [[editions]] entry is dated "
                f"{editions[-1].date}", hint="remove date, or make them agree")
    if editions and "edition" in book and book["edition"] != editions[-1].number:
        v.error("book.edition", f"edition = {book['edition']}, but the last [[editions]] entry is "
                f"number {editions[-1].number}", hint="remove edition, or make them agree")
    return tuple(editions)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _metadata(book: dict[str, Any], contributors: list[dict[str, Any]],
              editions: tuple[Edition, ...] = ()) -> Metadata:
    title = smart_quotes(book.get("title", ""))
    date = book.get("date")
    date_text = date.isoformat() if isinstance(date, dt.date) else date
    date_text = date_text or (editions[-1].date if editions else "1970-01-01")
    people = tuple(
        Contributor(
            name=smart_quotes(c["name"]),
            role=c.get("role", "aut"),
            file_as=c.get("file_as"),
            uid=f"contributor-{i + 1}",
            credit=_smart(c.get("credit")),
        )
        for i, c in enumerate(contributors)
        if "name" in c
    )
    # Without an identifier, derive a stable one from the title: never a random uuid.
    raw_title = book.get("title", "")  # the identifier stays what it was before smart quotes
    identifier = book.get("identifier") or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, raw_title)}"
    return Metadata(
        title=title,
        subtitle=_smart(book.get("subtitle")),
        slug=book.get("slug") or slugify(raw_title),
        language=book.get("language", "en"),
        identifier=identifier,
        date=date_text,
        description=_smart(book.get("description")),
        rights=_smart(book.get("rights")),
        publisher=_smart(book.get("publisher")),
        edition=book.get("edition", editions[-1].number if editions else 1),
        editions=editions,
        output_name=book.get("output_name"),
        isbn_epub=book.get("isbn_epub"),
        isbn_print=book.get("isbn_print"),
        contributors=people,
    )


def _smart(text: str | None) -> str | None:
    return smart_quotes(text) if text else text


def _pdf_options(pdf: dict[str, Any]) -> PdfOptions:
    trim = pdf.get("trim", "6x9")
    width, height = parse_trim(trim) or TRIM_SIZES["6x9"]
    return PdfOptions(trim=trim, width_pt=width, height_pt=height,
                      bleed_in=parse_length(pdf.get("bleed", "0")) or 0.0,
                      paper=pdf.get("paper", "white"), target=pdf.get("target"),
                      variant=pdf.get("variant"), openings=_openings(pdf.get("openings")),
                      pad_to_minimum=pdf.get("pad_to_minimum", False),
                      cover_front=pdf.get("cover_front"), cover_wrap=pdf.get("cover_wrap"))


def _openings(value: str | dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return ((DEFAULT_OPENING_KEY, value),)
    return tuple(sorted(value.items()))
