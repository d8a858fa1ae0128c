"""One PDF from the parts laid out apart (pdfparts.py), with pikepdf (qpdf).

What one layout of the whole book has and separate layouts do not, made here:

- the folios: the folios' own layout (pdfparts.lay_out_folios), its content drawn on each page
  after the page's own;
- one font program per typeface: WeasyPrint subsets each part's fonts keeping the glyph ids
  (retain_gids), so one subset of the union of the parts' glyphs serves every part; its widths
  and text map are the union of theirs;
- the named destinations of all parts, links into another part (parts.PART_LINK) made links to
  them, the outline from the parts' bookmarks (their levels, so a chapter nests under a part
  title laid out apart), the page labels and the document information.
"""

from __future__ import annotations

import collections
import hashlib
import io
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pikepdf
from fontTools import subset as fonttools_subset
from fontTools.ttLib import TTFont
from weasyprint.anchors import make_page_bookmark_tree
from weasyprint.matrix import Matrix

from .. import parts
from ..parts import PartLayout

STAMPED = "/folio-"  # the folios' resources, on the pages they are stamped on


Subsetter = Callable[[bytes, list[int]], bytes]


def write(laid_out: list[PartLayout], folios: PartLayout, front: bool, subset_fonts: bool,
          target: Path, subsetter: Subsetter | None = None, jobs: int = 1) -> None:
    """Assemble the parts (the front matter first when `front`) into `target` (a staged
    temporary file), with the folios' layout stamped on their pages. `subsetter`: what makes
    a font's subset (default: subset(); pdfparts keeps them); `jobs`: threads that compress."""
    sources = [pikepdf.open(io.BytesIO(part.pdf)) for part in laid_out]
    out = pikepdf.new()
    offsets = []
    with warnings.catch_warnings():
        # (named destinations are not copied with the pages: _destinations makes them)
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        for source in sources:
            offsets.append(len(out.pages))
            out.pages.extend(source.pages)
    stamps = pikepdf.open(io.BytesIO(folios.pdf))
    names = [name for part in laid_out for name in part.page_names]
    # (a blank last page has no page in the folios' layout: it would end on the page before)
    assert len(stamps.pages) == len(names) - (names[-1] == "blank"), "a folio for every page"
    stamped = [(page, _stamp(out, page, stamp))
               for page, stamp, name in zip(out.pages, stamps.pages, names, strict=False)
               if name != "blank"]
    # Compressed as WeasyPrint compresses, at the highest level (qpdf's default is lower): most
    # of the assembly's time, shared among the cores (zlib lets go of the GIL).
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        compressed = pool.map(lambda content: zlib.compress(content, 9),
                              [content for _, content in stamped])
    for (page, _), content in zip(stamped, compressed, strict=True):
        page.obj.Contents.write(content, filter=pikepdf.Name.FlateDecode)
    _link_across_parts(out)
    _destinations(out, sources, offsets)
    _outline(out, laid_out, offsets)
    _page_labels(out, parts.first_body_page(laid_out, front))
    out.trailer.Info = out.copy_foreign(sources[0].trailer.Info)
    if "/Lang" in sources[0].Root:
        out.Root.Lang = sources[0].Root.Lang
    fonts: dict[str, bytes] = {}
    for part in (*laid_out, folios):
        fonts.update(part.fonts)
    _merge_fonts(out, fonts, (subsetter or subset) if subset_fonts else None)
    _share_images(out)
    out.save(target, deterministic_id=True, min_version=sources[0].pdf_version,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)


# ---- folios ------------------------------------------------------------------------------------

def _stamp(out: pikepdf.Pdf, page: pikepdf.Page, stamp: pikepdf.Page) -> bytes:
    """`stamp` drawn over `page`: its resources added to the page's under names of their own
    (STAMPED prefixed); the page's new content returned, the folio's appended to the page's (the
    folio is drawn where one layout would draw it, in the page's own content)."""
    resources = page.obj.Resources
    own: set[str] = set()
    for category, entries in _sorted_items(out.copy_foreign(stamp.obj.Resources)):
        if not isinstance(entries, pikepdf.Dictionary):
            continue
        if category not in resources:
            resources[category] = pikepdf.Dictionary()
        for key, value in _sorted_items(entries):
            own.add(key)
            resources[category][STAMPED + key[1:]] = value
    drawn = [pikepdf.ContentStreamInstruction(
                 [pikepdf.Name(STAMPED + str(operand)[1:])
                  if isinstance(operand, pikepdf.Name) and str(operand) in own else operand
                  for operand in instruction.operands], instruction.operator)
             for instruction in pikepdf.parse_content_stream(stamp)]
    content = page.obj.Contents.read_bytes()
    folio = pikepdf.unparse_content_stream(drawn)
    return b"q\n" + content + b"\nQ\nq\n" + folio + b"\nQ\n"


# ---- links, destinations, outline, labels ------------------------------------------------------

def _link_across_parts(out: pikepdf.Pdf) -> None:
    """A link laid out as a PART_LINK URI becomes a link to the named destination, as a link
    within one layout is."""
    for page in out.pages:
        for annotation in page.obj.get("/Annots", []):
            action = annotation.get("/A")
            if action is None or action.get("/S") != "/URI":
                continue
            uri = str(action.get("/URI", ""))
            if uri.startswith(parts.PART_LINK):
                del annotation["/A"]
                # (WeasyPrint wrote the URI percent-encoded; the destination's name is the id)
                annotation.Dest = pikepdf.String(unquote(uri[len(parts.PART_LINK):]))


def _destinations(out: pikepdf.Pdf, sources: list[pikepdf.Pdf], offsets: list[int]) -> None:
    names: dict[str, pikepdf.Array] = {}
    for source, offset in zip(sources, offsets, strict=True):
        if "/Names" not in source.Root or "/Dests" not in source.Root.Names:
            continue
        index_of = {page.obj.objgen: number for number, page in enumerate(source.pages)}
        for name, destination in pikepdf.NameTree(source.Root.Names.Dests).items():
            page = out.pages[offset + index_of[destination[0].objgen]]
            names.setdefault(name, pikepdf.Array([page.obj, *list(destination)[1:]]))
    if names:
        flat = pikepdf.Array()
        for name in sorted(names):
            flat.append(pikepdf.String(name))
            flat.append(names[name])
        out.Root.Names = pikepdf.Dictionary(Dests=pikepdf.Dictionary(Names=flat))


def _outline(out: pikepdf.Pdf, laid_out: list[PartLayout], offsets: list[int]) -> None:
    """The outline WeasyPrint would make of the whole book's bookmarks (its own tree maker)."""
    root: list[Any] = []
    skipped: list[int] = []
    last_by_depth: list[list[Any]] = [root]
    previous = 0
    for part, offset in zip(laid_out, offsets, strict=True):
        for number, marks in enumerate(part.bookmarks):
            page = SimpleNamespace(bookmarks=[(level, label, (x, y), state)
                                              for level, label, x, y, state in marks])
            previous = make_page_bookmark_tree(page, skipped, last_by_depth, previous,
                                               offset + number, Matrix())
    with out.open_outline() as outline:
        outline.root.extend(_items(out, root))


def _items(out: pikepdf.Pdf, tree: list[Any]) -> Iterator[pikepdf.OutlineItem]:
    for label, (number, x, y), children, state in tree:
        item = pikepdf.OutlineItem(label, number, pikepdf.PageLocation.XYZ, left=x, top=y, zoom=0)
        item.children.extend(_items(out, children))
        item.is_closed = state == "closed"
        yield item


def _page_labels(out: pikepdf.Pdf, body_start: int) -> None:
    """Roman numbers for the front matter, arabic from the body's first page (as pdf.py)."""
    numbers: list[Any] = []
    if body_start > 0:
        numbers.extend([0, pikepdf.Dictionary(S=pikepdf.Name.r)])
    numbers.extend([body_start, pikepdf.Dictionary(S=pikepdf.Name.D, St=1)])
    out.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(numbers))


# ---- fonts -------------------------------------------------------------------------------------

@dataclass
class _Face:
    """One typeface as the parts embedded it: every font dictionary, and what they used."""

    dictionaries: list[pikepdf.Object] = field(default_factory=list)
    widths: dict[int, float] = field(default_factory=dict)
    to_unicode: dict[int, str] = field(default_factory=dict)


def _merge_fonts(out: pikepdf.Pdf, originals: dict[str, bytes], subsetter: Subsetter | None
                 ) -> None:
    faces: dict[str, _Face] = {}
    resources = list(_font_resources(out))
    for fonts in resources:
        for key in sorted(fonts.keys()):
            font = fonts[key]
            if font.get("/Subtype") != "/Type0" or font.get("/Encoding") != "/Identity-H":
                continue  # a bitmap font, or one with missing glyphs: left as laid out
            face = faces.setdefault(str(font.BaseFont)[1:], _Face())
            if not any(font.objgen == seen.objgen for seen in face.dictionaries):
                face.dictionaries.append(font)
                face.widths.update(_widths(font.DescendantFonts[0].W))
                for glyph, text in _to_unicode(font.ToUnicode).items():
                    face.to_unicode.setdefault(glyph, text)
    for name, face in faces.items():
        merged = face.dictionaries[0]
        if len(face.dictionaries) > 1 or subsetter is not None:
            original = originals.get(name) if subsetter is not None else None
            _rewrite(out, merged, face, subsetter(original, _glyphs(face))
                     if subsetter is not None and original is not None else None)
        for fonts in resources:
            for key in sorted(fonts.keys()):
                if any(fonts[key].objgen == seen.objgen for seen in face.dictionaries):
                    fonts[key] = merged


def _share_images(out: pikepdf.Pdf) -> None:
    """An image placed in several parts is embedded once (as one layout embeds it)."""
    first: dict[tuple[str, bytes], pikepdf.Object] = {}
    for resources in _resources(out):
        xobjects = resources.get("/XObject")
        if xobjects is None:
            continue
        for key in sorted(xobjects.keys()):
            image = xobjects[key]
            if image.get("/Subtype") != "/Image":
                continue
            items = sorted((name, repr(value)) for name, value in image.stream_dict.items()
                           if name not in ("/Length", "/SMask"))
            smask = image.get("/SMask")
            same = (repr(items), hashlib.sha256(image.read_raw_bytes() + (
                smask.read_raw_bytes() if smask is not None else b"")).digest())
            xobjects[key] = first.setdefault(same, image)


def _font_resources(out: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every /Font resource dictionary of the pages and of the forms they draw."""
    for resources in _resources(out):
        if "/Font" in resources:
            yield resources.Font


def _resources(out: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every resource dictionary of the pages and of the forms they draw, once."""
    seen: set[tuple[int, int]] = set()
    # In page order: where two parts map a glyph to different text, the first (as one layout
    # keeps it) wins.
    pending = collections.deque(page.obj.get("/Resources") for page in out.pages)
    while pending:
        resources = pending.popleft()
        if resources is None or (resources.is_indirect and resources.objgen in seen):
            continue
        if resources.is_indirect:
            seen.add(resources.objgen)
        yield resources
        for _, xobject in _sorted_items(resources.get("/XObject", pikepdf.Dictionary())):
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                pending.append(xobject.Resources)


def _widths(array: pikepdf.Object) -> dict[int, float]:
    """A CID font's /W: `first [w w …]` runs (and `first last w` ranges)."""
    widths: dict[int, float] = {}
    items = list(array)
    index = 0
    while index < len(items):
        first = int(items[index])
        if isinstance(items[index + 1], pikepdf.Array):
            for offset, width in enumerate(items[index + 1]):
                widths[first + offset] = float(width)
            index += 2
        else:
            for glyph in range(first, int(items[index + 1]) + 1):
                widths[glyph] = float(items[index + 2])
            index += 3
    return widths


_BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]*)>")


def _to_unicode(stream: pikepdf.Object) -> dict[int, str]:
    """The glyph-to-text pairs of a ToUnicode CMap as WeasyPrint writes it (bfchar only)."""
    return {int(glyph, 16): bytes.fromhex(text.decode()).decode("utf-16-be", "replace")
            for glyph, text in _BFCHAR.findall(stream.read_bytes())}


def _glyphs(face: _Face) -> list[int]:
    """The glyphs of every part's use of a face."""
    return sorted(face.to_unicode) or sorted(face.widths)


def _rewrite(out: pikepdf.Pdf, font: pikepdf.Object, face: _Face, data: bytes | None) -> None:
    """Make `font` serve every part: the union of the widths and text, and (subsetting) `data`,
    one subset of the whole font file with the union of the glyphs, the glyph ids kept."""
    cid_font = font.DescendantFonts[0]
    runs: list[Any] = []
    for glyph in sorted(face.widths):
        if glyph - 1 not in face.widths:
            runs.extend([glyph, []])
        runs[-1].append(_number(face.widths[glyph]))
    cid_font.W = pikepdf.Array(runs)
    font.ToUnicode = pikepdf.Stream(out, _cmap(face.to_unicode))
    descriptor = cid_font.FontDescriptor
    box = [float(value) for value in descriptor.FontBBox]
    box[2] = max(face.widths.values(), default=0)
    descriptor.FontBBox = pikepdf.Array([_number(value) for value in box])
    if data is not None:
        key = "/FontFile3" if "/FontFile3" in descriptor else "/FontFile2"
        stream = pikepdf.Stream(out, data)
        old = descriptor[key]
        for name, value in _sorted_items(old.stream_dict):
            if name not in ("/Length", "/Filter", "/DecodeParms", "/Length1"):
                stream[name] = value
        if key == "/FontFile2":
            stream.Length1 = len(data)
        descriptor[key] = stream


def _sorted_items(dictionary: pikepdf.Object) -> list[tuple[str, pikepdf.Object]]:
    """A PDF dictionary's entries in the order of their names: pikepdf gives its keys as a
    set, whose order changes from process to process (and the PDF's object numbers with it)."""
    return [(key, dictionary[key]) for key in sorted(dictionary.keys())]


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def subset(original: bytes, glyphs: list[int]) -> bytes:
    """The font file with only `glyphs`, at their ids, as WeasyPrint subsets it."""
    options = fonttools_subset.Options(retain_gids=True, passthrough_tables=True, ignore_missing_glyphs=True,
                             hinting=False, desubroutinize=True, notdef_outline=False)
    options.drop_tables += ["GSUB", "GPOS", "SVG"]
    subsetter = fonttools_subset.Subsetter(options)
    subsetter.populate(gids=glyphs)
    font = TTFont(io.BytesIO(original), recalcTimestamp=False)  # (else the time of the build)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def _cmap(to_unicode: dict[int, str]) -> bytes:
    """A ToUnicode CMap, as WeasyPrint writes one."""
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo", b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0",
             b">> def", b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted(to_unicode.items())
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines.extend(f"<{glyph:04x}> <{text.encode('utf-16-be').hex()}>".encode() for glyph, text in batch)
        lines.append(b"endbfchar")
    lines.extend([b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"])
    return b"\n".join(lines)
