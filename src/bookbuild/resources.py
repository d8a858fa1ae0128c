"""Where bookbuild's own files are: templates, styles, and the typeface on this machine."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"

BOOK_TYPEFACE = "EB Garamond"
# The faces the stylesheets use, as fontconfig styles, in the order we prefer their files.
FACE_STYLES = {
    ("normal", 400): ("Regular",),
    ("italic", 400): ("Italic",),
    ("normal", 700): ("Bold",),
    ("italic", 700): ("Bold Italic", "BoldItalic"),
}
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
FONT_LICENSE_FILES = (Path("/usr/share/doc/fonts-ebgaramond/copyright"),)
# The declared fallback for the symbols EB Garamond lacks (⋮ ⅜): an old-style face that matches
# it, named after it in every stylesheet, embedded (subset) wherever it is used.
FALLBACK_TYPEFACE = "Linux Libertine O"
FALLBACK_LICENSE_FILES = (Path("/usr/share/doc/fonts-linuxlibertine/copyright"),)


@cache
def styles_dir() -> Path:
    """styles/ ships inside the wheel; in a source checkout it is the repository's own."""
    for candidate in (PACKAGE_DIR / "styles", PACKAGE_DIR.parent.parent / "styles"):
        if (candidate / "print.css").is_file():
            return candidate
    raise FileNotFoundError("bookbuild's styles folder is missing from this installation")


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
def book_fonts() -> FontSet:
    """EB Garamond's files on this machine (the 12-point optical size, made for text)."""
    files = _font_files(BOOK_TYPEFACE)
    faces = []
    for (style, weight), names in FACE_STYLES.items():
        path = _pick(files, names)
        if path is not None:
            faces.append(FontFace(BOOK_TYPEFACE, style, weight, path))
    license_text = next((p.read_text(encoding="utf-8", errors="replace")
                         for p in FONT_LICENSE_FILES if p.is_file()), None)
    return FontSet(BOOK_TYPEFACE, tuple(faces), license_text)


@cache
def fallback_fonts() -> FontSet:
    """Linux Libertine's regular face, when installed: the EPUB embeds what the book needs of it."""
    # Its files are LinLibertine_R.otf (regular), _RI (italic), _RB (bold)…
    path = next((p for p in _font_files(FALLBACK_TYPEFACE) if p.stem.endswith("_R")), None)
    faces = (FontFace(FALLBACK_TYPEFACE, "normal", 400, path),) if path else ()
    license_text = next((p.read_text(encoding="utf-8", errors="replace")
                         for p in FALLBACK_LICENSE_FILES if p.is_file()), None)
    return FontSet(FALLBACK_TYPEFACE, faces, license_text)


def _font_files(family: str) -> list[Path]:
    if shutil.which("fc-list"):
        result = subprocess.run(["fc-list", "--format", "%{file}\n", family],
                                capture_output=True, text=True, check=False)
        files = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    else:
        stem = family.replace(" ", "")
        files = [p for d in FONT_DIRS if d.is_dir() for p in d.rglob(f"{stem}*")]
    return sorted(p for p in files if p.suffix.lower() in (".otf", ".ttf"))


def _pick(files: list[Path], styles: tuple[str, ...]) -> Path | None:
    for style in styles:
        wanted = style.replace(" ", "").lower()
        matches = [p for p in files if p.stem.lower().split("-")[-1] == wanted]
        if matches:
            # Prefer the text optical size (EBGaramond12) over the 08 caption size.
            return sorted(matches, key=lambda p: ("12" not in p.stem, p.name))[0]
    return None
