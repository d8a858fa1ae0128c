"""The EPUB as KDP takes it for Kindle (`--target kindle`): what a Kindle would lose or refuse,
read from the package bookbuild wrote, against KDP's requirements and the Kindle Publishing
Guidelines (KPG). Findings are warnings: the EPUB stays what every other store receives.

With `bookbuild check --target kindle`, Calibre's ebook-convert also converts the EPUB to AZW3
(Kindle Format 8) and its warnings are reported; without Calibre the check is incomplete, never
a pass.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import tinycss2
from lxml import etree
from PIL import Image
from tinycss2 import ast
from tinycss2.color3 import parse_color

from .diagnostics import Diagnostic
from .mediatypes import FONT_TYPES
from .model import EpubPackage, TocEntry
from .validators import ToolResult
from .xmlread import parser as xml_parser

# KDP's eBook cover (KDP help, "Cover image guidelines"): height 1.6 times the width, ideally
# 2560 x 1600 pixels, at least 1000 x 625, at most 10000 a side.
COVER_RATIO = 1.6
COVER_RATIO_TOLERANCE = 0.1  # of the ratio: a cover within this is the shape KDP asks
COVER_MIN_PX = (625, 1000)  # width, height
COVER_MAX_PX = 10_000
# KPG 5.2: "Kindle devices and applications support two levels of nesting" in the contents.
NAV_LEVELS = 2
# KPG 3.11: Kindle embeds OpenType and TrueType fonts.
KINDLE_FONT_TYPES = frozenset({FONT_TYPES[".otf"], FONT_TYPES[".ttf"]})
# KPG 3.10.1: "forms, frames, and JavaScript" are not supported.
UNSUPPORTED_ELEMENTS = {
    "script": "a script (Kindle runs none)",
    "form": "a form", "input": "a form field", "button": "a form button", "select": "a form field",
    "textarea": "a form field", "iframe": "a frame", "frame": "a frame", "frameset": "frames",
}
CONVERT_TIMEOUT_S = 600
CALIBRE_INSTALL = "apt-get install calibre (or calibre-ebook.com); its ebook-convert converts to AZW3"


def kindle_findings(package: EpubPackage, shown: str, toc_depth: int) -> list[Diagnostic]:
    """What KDP's Kindle conversion would refuse or lose in `package` (shown as `shown`), made
    with the manifest's `toc_depth`."""
    found = [*_cover(package), *_nav_depth(package.toc, toc_depth), *_fonts(package), *_stylesheets(package),
             *_elements(package)]
    return [Diagnostic(shown, None, None, "warning", f"kindle-{code}", message, hint)
            for code, message, hint in found]


Finding = tuple[str, str, str | None]  # code, message, hint


def _cover(package: EpubPackage) -> Iterator[Finding]:
    cover = next((r for r in package.resources if "cover-image" in r.properties), None)
    if cover is None:
        yield "cover", "the EPUB has no cover image: KDP requires one inside the book (KPG 3.2)", \
            "give [epub] cover, or let bookbuild make one"
        return
    with Image.open(io.BytesIO(cover.content)) as image:
        width, height = image.size
    name = cover.file_name
    if width < COVER_MIN_PX[0] or height < COVER_MIN_PX[1]:
        yield "cover", f"the cover ({name}) is {width} x {height} pixels: KDP takes at least " \
            f"{COVER_MIN_PX[0]} x {COVER_MIN_PX[1]}", "give a larger cover; 1600 x 2560 is ideal"
    elif max(width, height) > COVER_MAX_PX:
        yield "cover", f"the cover ({name}) is {width} x {height} pixels: KDP takes at most " \
            f"{COVER_MAX_PX} on a side", "give a smaller cover; 1600 x 2560 is ideal"
    if abs(height / width - COVER_RATIO) > COVER_RATIO_TOLERANCE * COVER_RATIO:
        yield "cover", f"the cover ({name}) is {width} x {height} pixels, {height / width:.2f} times " \
            f"as high as wide: KDP asks for {COVER_RATIO} (1600 x 2560), and shows another shape " \
            "with bars or cropped", None


def _nav_depth(entries: tuple[TocEntry, ...], toc_depth: int) -> Iterator[Finding]:
    deep = [child for entry in entries for child in _below(entry, 1, NAV_LEVELS)]
    if deep:
        depth = _depth(entries)
        fits = toc_depth - (depth - NAV_LEVELS)  # the manifest's toc_depth that nests two levels
        yield "nav-depth", f"the contents nest {depth} levels deep: Kindle devices and apps show " \
            f"{NAV_LEVELS} (KPG 5.2), so \"{deep[0].title}\"" \
            + (f" and {len(deep) - 1} more entries" if len(deep) > 1 else "") + " would not show", \
            f"set [epub] toc_depth to {fits} for the Kindle edition" if fits >= 1 else None


def _below(entry: TocEntry, level: int, limit: int) -> Iterator[TocEntry]:
    for child in entry.children:
        if level + 1 > limit:
            yield child
        else:
            yield from _below(child, level + 1, limit)


def _depth(entries: tuple[TocEntry, ...]) -> int:
    return max((1 + _depth(entry.children) for entry in entries), default=0)


def _fonts(package: EpubPackage) -> Iterator[Finding]:
    for resource in package.resources:
        if resource.media_type.startswith("font/") and resource.media_type not in KINDLE_FONT_TYPES:
            yield "font", f"{resource.file_name} is {resource.media_type}: Kindle embeds OpenType and " \
                "TrueType fonts only (KPG 3.11), and sets that text in its own font", \
                "give the font as .otf or .ttf"


def _stylesheets(package: EpubPackage) -> Iterator[Finding]:
    for resource in package.resources:
        if resource.media_type != "text/css":
            continue
        css = resource.content.decode("utf-8", errors="replace")
        for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
            yield from _rule(rule, resource.file_name)


def _rule(rule: object, sheet: str) -> Iterator[Finding]:
    if isinstance(rule, ast.AtRule) and rule.content is not None and rule.at_keyword.lower() == "media":
        for inner in tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True):
            yield from _rule(inner, sheet)
        return
    if not isinstance(rule, ast.QualifiedRule):
        return
    selector = tinycss2.serialize(rule.prelude).strip()
    yield from _declarations(rule.content, f'{sheet}: "{selector}"')


def _declarations(content: object, where: str) -> Iterator[Finding]:
    for declaration in tinycss2.parse_declaration_list(content, skip_comments=True,
                                                       skip_whitespace=True):
        if not isinstance(declaration, ast.Declaration):
            continue
        values = [t for t in declaration.value if not isinstance(t, ast.WhitespaceToken)]
        name = declaration.lower_name
        if name == "line-height" and any(isinstance(t, (ast.NumberToken, ast.DimensionToken,
                                                        ast.PercentageToken)) and t.value < 0
                                         for t in values):
            yield "css", f"{where} sets a negative line-height, which Kindle does " \
                "not support (KPG 3.10.8)", None
        if name == "color" and len(values) == 1 and _is_black(values[0]):
            yield "css", f"{where} forces black text: on a Kindle set to a black " \
                "background it cannot be read, and KDP may suppress the book (KPG)", \
                "leave the text's colour to the reader"


def _is_black(token: object) -> bool:
    color = parse_color(token)
    return color is not None and not isinstance(color, str) and tuple(color)[:3] == (0, 0, 0) \
        and tuple(color)[3] > 0


def _elements(package: EpubPackage) -> Iterator[Finding]:
    for document in (*package.documents, package.nav):
        root = etree.fromstring(document.content, xml_parser())
        seen: set[str] = set()
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            local = etree.QName(element).localname
            if element.get("style"):  # (raw HTML in the Markdown may carry a style attribute)
                yield from _declarations(element.get("style"), f"{document.file_name}: a <{local}>'s style")
            if local in UNSUPPORTED_ELEMENTS and local not in seen:
                seen.add(local)
                yield "html", f"{document.file_name} has {UNSUPPORTED_ELEMENTS[local]} (<{local}>): " \
                    "Kindle supports no forms, frames or JavaScript (KPG 3.10.1)", None


def convert_to_azw3(epub: Path, shown: str) -> ToolResult:
    """Calibre's conversion to AZW3, the closest stand-in for KDP's own that runs here: what it
    warned of, and a conversion that failed. Run in Calibre's own Python (calibre_convert.py),
    which tells its warnings from its progress."""
    result = ToolResult("calibre")
    calibre = shutil.which("calibre-debug")
    if calibre is None or shutil.which("ebook-convert") is None:
        result.missing = CALIBRE_INSTALL
        return result
    with tempfile.TemporaryDirectory(prefix="bookbuild-kindle-") as scratch:
        target = Path(scratch) / f"{epub.stem}.azw3"
        try:
            run = subprocess.run([calibre, str(CONVERT_SCRIPT), str(epub), str(target)],
                                 capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, check=False,
                                 env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch,
                                      "LANG": "C.UTF-8", "CALIBRE_CONFIG_DIRECTORY": scratch})
        except subprocess.TimeoutExpired:
            run = None
        found = _reported(run.stdout) if run is not None else None
        for level, message in found or []:
            result.diagnostics.append(Diagnostic(shown, None, None, "warning", "kindle-convert",
                                                 f"Calibre{' (an error it went on from)' * (level > 2)}: "
                                                 f"{message}"))
        if run is None or run.returncode != 0 or found is None or not target.is_file():
            why = f"it did not finish within {CONVERT_TIMEOUT_S} s" if run is None else next(
                (line for line in reversed(run.stderr.splitlines()) if line.strip()), "no output")
            result.diagnostics.append(Diagnostic(shown, None, None, "error", "kindle-convert",
                                                 f"Calibre could not convert the EPUB to AZW3: {why}"))
    return result


CONVERT_SCRIPT = Path(__file__).with_name("calibre_convert.py")


def _reported(stdout: str) -> list[tuple[int, str]] | None:
    """The conversion's warnings (calibre_convert.py's last line); None when it printed none."""
    lines = stdout.strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    if not isinstance(found, list):
        return None
    return [(int(level), str(message)) for level, message in found]
