"""Where bookbuild's own files are: templates, styles, and the typeface on this machine."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .model import DEFAULT_THEME, DEFAULT_TYPEFACE, DesignOptions

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"

BOOK_TYPEFACE = DEFAULT_TYPEFACE


@dataclass(frozen=True)
class Typeface:
    """A face a book may be set in ([design] typeface): its fontconfig family, the Debian
    package that installs it and the licence that package ships."""

    name: str
    package: str
    licence: str  # "OFL" (the EPUB may embed it) or the name of another licence
    licence_file: Path
    # Its old-style figures and ligatures set in print. Embedding a whole face (a print target),
    # WeasyPrint writes no text for a glyph it substitutes that has no code point of its own
    # (Libertine's old-style figures, its Th and tt): copied, searched or read aloud, the PDF
    # would lose those letters and figures.
    numerals: str = "oldstyle-nums"
    ligatures: str = "common-ligatures"


def install_hint(package: str) -> str:
    return f"install it: apt-get install {package} on Debian"


def _debian(package: str) -> Path:
    return Path("/usr/share/doc") / package / "copyright"


TYPEFACES: dict[str, Typeface] = {face.name: face for face in (
    Typeface("EB Garamond", "fonts-ebgaramond", "OFL", _debian("fonts-ebgaramond")),
    # (Libertine is dual-licensed, GPL with the font exception or OFL: the OFL is the one used.)
    Typeface("Linux Libertine O", "fonts-linuxlibertine", "OFL", _debian("fonts-linuxlibertine"),
             numerals="lining-nums", ligatures="no-common-ligatures"),
    Typeface("Gentium Plus", "fonts-sil-gentiumplus", "OFL", _debian("fonts-sil-gentiumplus")),
    Typeface("Noto Serif", "fonts-noto-core", "OFL", _debian("fonts-noto-core")),
    Typeface("TeX Gyre Pagella", "fonts-texgyre", "GUST Font License", _debian("fonts-texgyre")),
    Typeface("TeX Gyre Termes", "fonts-texgyre", "GUST Font License", _debian("fonts-texgyre")),
)}
NORMAL_WIDTH = "100"  # fontconfig's width of a face neither condensed nor expanded
OFL_TYPEFACES = tuple(face.name for face in TYPEFACES.values() if face.licence == "OFL")
# The faces the stylesheets use, as (style, weight), and fontconfig's slant and weight for each.
FACE_STYLES = {
    ("normal", 400): (0, 80),
    ("italic", 400): (100, 80),
    ("normal", 700): (0, 200),
    ("italic", 700): (100, 200),
}
# The declared fallback for the symbols a typeface lacks (⋮ ⅜, and the hedera in all but EB
# Garamond): an old-style face that matches them, named after the typeface in every stylesheet,
# embedded (subset) wherever it is used.
FALLBACK_TYPEFACE = "Linux Libertine O"


@cache
def styles_dir() -> Path:
    """styles/ ships inside the wheel; in a source checkout it is the repository's own."""
    for candidate in (PACKAGE_DIR / "styles", PACKAGE_DIR.parent.parent / "styles"):
        if (candidate / "print.css").is_file():
            return candidate
    raise FileNotFoundError("bookbuild's styles folder is missing from this installation")


def print_stylesheets(design: DesignOptions) -> tuple[Path, ...]:
    """bookbuild's print stylesheets for a design: the base, its theme, large print."""
    sheets = [styles_dir() / "print.css"]
    if design.theme != DEFAULT_THEME:
        sheets.append(styles_dir() / "themes" / f"{design.theme}.css")
    if design.large_print:
        sheets.append(styles_dir() / "large-print.css")
    return tuple(sheets)


def epub_stylesheets(design: DesignOptions) -> tuple[Path, ...]:
    """bookbuild's EPUB stylesheets for a design: the base and its theme (the size and leading
    are the reader's)."""
    sheets = [styles_dir() / "epub.css"]
    if design.theme != DEFAULT_THEME:
        sheets.append(styles_dir() / "themes" / f"{design.theme}.epub.css")
    return tuple(sheets)


@dataclass(frozen=True)
class FontFace:
    family: str
    style: str  # normal | italic
    weight: int
    path: Path

    @property
    def file_name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class FontSet:
    family: str
    faces: tuple[FontFace, ...]
    license_text: str | None

    @property
    def found(self) -> bool:
        return bool(self.faces)


@cache
def book_fonts(typeface: str = BOOK_TYPEFACE) -> FontSet:
    """The typeface's files on this machine (EB Garamond's 12-point optical size, made for text)."""
    files = _font_files(typeface)
    faces = []
    for (style, weight), (slant, fc_weight) in FACE_STYLES.items():
        path = _pick(files, slant, fc_weight)
        if path is not None:
            faces.append(FontFace(typeface, style, weight, path))
    return FontSet(typeface, tuple(faces), _licence_text(typeface))


@cache
def fallback_fonts() -> FontSet:
    """Linux Libertine's regular face, when installed: the EPUB embeds what the book needs of it."""
    fonts = book_fonts(FALLBACK_TYPEFACE)
    return FontSet(fonts.family, tuple(f for f in fonts.faces if (f.style, f.weight) == ("normal", 400)),
                   fonts.license_text)


def _licence_text(typeface: str) -> str | None:
    known = TYPEFACES.get(typeface)
    if known is None or not known.licence_file.is_file():
        return None
    return known.licence_file.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class _FontFile:
    path: Path
    slant: int
    weight: int
    style: str


def _font_files(family: str) -> list[_FontFile]:
    """The family's font files, as fontconfig describes them (WeasyPrint finds fonts through it
    too; without it there is nothing to find)."""
    if not shutil.which("fc-list"):
        return []
    result = subprocess.run(["fc-list", "--format", "%{file}|%{slant}|%{weight}|%{width}|%{style[0]}\\n",
                             family], capture_output=True, text=True, check=False)
    files = []
    for line in result.stdout.splitlines():
        path, slant, weight, width, style = [*line.split("|"), "", "", "", ""][:5]
        # (normal width only: Noto Serif's package has condensed faces of the same family)
        if Path(path).suffix.lower() in (".otf", ".ttf") and slant.isdigit() and weight.isdigit() \
                and width == NORMAL_WIDTH:
            files.append(_FontFile(Path(path), int(slant), int(weight), style))
    return files


def _pick(files: list[_FontFile], slant: int, weight: int) -> Path | None:
    matches = [f for f in files if f.slant == slant and f.weight == weight]
    # Prefer the text optical size (EB Garamond 12) over the 08 caption size.
    matches.sort(key=lambda f: (not f.style.startswith("12"), f.path.name))
    return matches[0].path if matches else None
