"""The image files a book carries: what they really are, how big, and (for SVG) that they run
nothing and load nothing. One place for these rules; chapters and covers both use them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from lxml import etree
from PIL import Image as Pillow
from PIL import ImageFile

from .limits import MAX_IMAGE_PIXELS, MAX_SVG_BYTES
from .mediatypes import IMAGE_TYPES, PILLOW_ALIASES, PILLOW_FORMATS
from .printspec import MIN_IMAGE_PPI, STANDARD_BLEED, WRAP_TOLERANCE_IN
from .stylesheets import references
from .xmlread import UnsafeXml, parse_xml


@dataclass(frozen=True)
class ImageProblem:
    code: str
    message: str
    hint: str
    line: int | None = None  # inside the image file (an SVG), when known


def image_problems(src: str, path: Path) -> list[ImageProblem]:
    """Why an image file of the book cannot go into it; empty when it can."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_TYPES:
        return [ImageProblem("image-format", f'"{src}" is not an image format e-readers show',
                             "use JPEG, PNG, GIF or SVG")]
    if suffix == ".svg":
        return svg_problems(src, path)
    return _raster_problems(src, path, IMAGE_TYPES[suffix])


def _raster_problems(src: str, path: Path, named_type: str) -> list[ImageProblem]:
    try:
        with Pillow.open(path) as picture:
            pixels = picture.size[0] * picture.size[1]
            kind = picture.format
            if pixels <= MAX_IMAGE_PIXELS:
                _load_strictly(picture)  # a truncated or corrupt file fails here, not in a reader
    except Pillow.DecompressionBombError as refused:  # Pillow will not open it; it says the size
        found = re.search(r"\((\d+) pixels\)", str(refused))
        pixels, kind = (int(found[1]) if found else MAX_IMAGE_PIXELS + 1), None
    except (OSError, SyntaxError, ValueError) as error:
        if "truncated" in str(error) or "broken" in str(error):
            return [ImageProblem("image-broken", f'"{src}" is damaged: the file ends too early',
                                 "save it again, or copy it again from where it came")]
        return [ImageProblem("image-format", f'"{src}" is not an image bookbuild can read',
                             "save it again as JPEG or PNG")]
    if pixels > MAX_IMAGE_PIXELS:
        return [ImageProblem("image-too-large", f'"{src}" has {pixels / 1e6:.0f} million pixels; the limit '
                             f"is {MAX_IMAGE_PIXELS / 1e6:.0f} million",
                             "scale it to the size it prints at, 300 pixels to the inch")]
    kind = PILLOW_ALIASES.get(kind, kind) if kind else kind
    if kind is not None and PILLOW_FORMATS.get(named_type) != kind:
        return [ImageProblem("image-type", f'"{src}" is a {kind} file, but its name says '
                             f"{named_type.split('/')[1].upper()}",
                             f"rename it to end in .{kind.lower()}, or convert it")]
    return []


def _load_strictly(picture: Pillow.Image) -> None:
    # WeasyPrint sets Pillow's global LOAD_TRUNCATED_IMAGES when imported: a cut-off JPEG would
    # then load (grey where the data ends) and pass unnoticed.
    saved, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        picture.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved


def svg_problems(src: str, path: Path) -> list[ImageProblem]:
    """An SVG is a program as much as a picture: no scripts, no events, no entities, no
    reference to anything but itself (or embedded data: images)."""
    if path.stat().st_size > MAX_SVG_BYTES:
        return [ImageProblem("file-too-large", f'"{src}" is larger than {MAX_SVG_BYTES // 1048576} MB',
                             "simplify the drawing, or use a PNG")]
    try:
        tree = etree.ElementTree(parse_xml(path.read_bytes()))
    except UnsafeXml:
        return [ImageProblem("svg-entity", f'"{src}" declares XML entities',
                             "remove the <!DOCTYPE …> with its <!ENTITY …> lines")]
    except etree.XMLSyntaxError as error:
        return [ImageProblem("image-format", f'"{src}" is not well-formed SVG: {error.msg}',
                             "save it again from the drawing program", error.lineno)]
    problems = []
    root = tree.getroot()
    if etree.QName(root).localname != "svg":
        return [ImageProblem("image-format", f'"{src}" is not an SVG drawing', "use an SVG, JPEG or PNG")]
    # Processing instructions before the root (<?xml-stylesheet …?>) are not in tree.iter().
    for node in [*root.itersiblings(preceding=True), *tree.iter(), *root.itersiblings()]:
        if isinstance(node, etree._ProcessingInstruction) and node.target == "xml-stylesheet":
            problems.append(_svg_problem(src, "svg-href", "loads a stylesheet", node.sourceline))
        if not isinstance(node.tag, str):
            continue
        name = etree.QName(node).localname
        if name in ("script", "foreignObject", "iframe", "handler"):
            problems.append(_svg_problem(src, "svg-script", f"contains <{name}>", node.sourceline))
        for attribute, value in node.attrib.items():
            local = etree.QName(attribute).localname.lower()
            if local.startswith("on"):
                problems.append(_svg_problem(src, "svg-script", f"has an event attribute ({local}=)",
                                             node.sourceline))
            elif local == "href" and not value.startswith(("#", "data:image/")):
                problems.append(_svg_problem(src, "svg-href", f'refers to "{value}"', node.sourceline))
            elif local == "style" or "url(" in value.lower():  # style="…", fill="url(…)"
                problems += _style_problems(src, value if local == "style" else f"x: {value}",
                                            node.sourceline, declarations=True)
        if name == "style":
            problems += _style_problems(src, node.text or "", node.sourceline)
    return problems


def _style_problems(src: str, css: str, line: int | None, declarations: bool = False
                    ) -> list[ImageProblem]:
    return [_svg_problem(src, "svg-href", f'loads "{ref.url}" in its CSS', line)
            for ref in references(css, declarations=declarations) if not ref.loads_nothing]


def _svg_problem(src: str, code: str, what: str, line: int | None) -> ImageProblem:
    return ImageProblem(code, f'the SVG "{src}" {what} (line {line} of the SVG)' if line else
                        f'the SVG "{src}" {what}',
                        "an SVG in a book is a drawing: remove scripts, events and references to "
                        "other files")


# ---- print cover art ------------------------------------------------------------------------

PRINT_ART_TYPES = ("JPEG", "PNG")


def front_art_problems(src: str, path: Path, panel_in: tuple[float, float]) -> list[ImageProblem]:
    """Why an image cannot be the print wrap's front art: it must be a JPEG or PNG with 300
    pixels to the inch at the size it covers the front panel (`panel_in`, bleed included; a
    picture of other proportions is cropped at its sides or its top and foot)."""
    problems = image_problems(src, path)
    if problems:
        return problems
    with Pillow.open(path) as picture:
        kind, (width, height) = picture.format, picture.size
    if kind not in PRINT_ART_TYPES:
        return [ImageProblem("cover-format", f'the front cover art "{src}" is {kind}; printers '
                             "take JPEG or PNG", "convert it to JPEG")]
    ppi = min(width / panel_in[0], height / panel_in[1])
    if ppi < MIN_IMAGE_PPI - 0.5:
        needed = (math.ceil(panel_in[0] * MIN_IMAGE_PPI), math.ceil(panel_in[1] * MIN_IMAGE_PPI))
        return [ImageProblem(
            "cover-resolution", f'the front cover art "{src}" is {width} x {height} pixels: '
            f"{ppi:.0f} pixels to the inch on the front panel ({panel_in[0]:g} x {panel_in[1]:g} in "
            f"with bleed), which needs {MIN_IMAGE_PPI}",
            f"use art of at least {needed[0]} x {needed[1]} pixels")]
    return []


def wrap_problems(src: str, path: Path) -> tuple[list[ImageProblem], tuple[float, float]]:
    """Why a PDF cannot be the book's print wrap (it must be a PDF of one page), and its page
    size in inches (its MediaBox: the wrap with its bleed)."""
    try:
        with pikepdf.open(path) as wrap:
            if len(wrap.pages) != 1:
                return [ImageProblem("cover-wrap", f'the cover wrap "{src}" has {len(wrap.pages)} '
                                     "pages; a wrap is one page: back, spine and front",
                                     "export the wrap alone")], (0, 0)
            box = [float(value) for value in wrap.pages[0].mediabox]
    except (pikepdf.PdfError, ValueError, OSError):
        return [ImageProblem("cover-wrap", f'the cover wrap "{src}" is not a PDF bookbuild can read',
                             "export it again as PDF")], (0, 0)
    return [], ((box[2] - box[0]) / 72, (box[3] - box[1]) / 72)


def wrap_height_problems(src: str, path: Path, trim_height_in: float) -> list[ImageProblem]:
    """A supplied wrap's problems that the page count does not change: a PDF of one page, as
    high as the trim and its bleed (its width, with the spine, is checked after the layout)."""
    problems, (_width, height) = wrap_problems(src, path)
    expected = trim_height_in + 2 * STANDARD_BLEED
    if not problems and abs(height - expected) > WRAP_TOLERANCE_IN:
        problems.append(ImageProblem(
            "cover-wrap-size", f'the cover wrap "{src}" is {height:.3f} in high; this book\'s wrap '
            f"is {expected:.3f} in high (the trim and {STANDARD_BLEED} in bleed top and bottom)",
            "make the wrap again for this trim size"))
    return problems
