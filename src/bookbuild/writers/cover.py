"""One cover template -> the EPUB's cover image (JPEG, 1600 x 2560) and, later, the print wrap;
or the EPUB's cover from the print art the book supplies ([pdf] cover_front, cover_wrap).

WeasyPrint lays the cover out as a one-page PDF; pypdfium2 rasterizes it. No external program.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2
from PIL import Image
from weasyprint import HTML

from ..sandbox import BookFetcher, RefusedResource

COVER_SIZE = (1600, 2560)  # pixels: the 1:1.6 ratio stores recommend


def cover_pdf(html: str, base_dir: Path, roots: tuple[Path, ...], full_fonts: bool = False) -> bytes:
    fetcher = BookFetcher(roots)
    try:
        pdf = HTML(string=html, base_url=base_dir.as_uri() + "/",
                   url_fetcher=fetcher).write_pdf(full_fonts=full_fonts)
    except RefusedResource as refused:
        raise refused.as_book_error(base_dir) from None
    if fetcher.refused:
        raise fetcher.refused[0].as_book_error(base_dir)
    return pdf


def write_print_cover(html: str, base_dir: Path, roots: tuple[Path, ...], target: Path,
                      full_fonts: bool = False) -> None:
    """The print wrap; a print target's whole fonts, as in the interior."""
    target.write_bytes(cover_pdf(html, base_dir, roots, full_fonts))


def rasterize(pdf: bytes, size: tuple[int, int] = COVER_SIZE) -> bytes:
    """The first page of `pdf` as a JPEG of exactly `size` pixels."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        width, _height = page.get_size()
        bitmap = page.render(scale=size[0] / width, draw_annots=False)
        image = bitmap.to_pil().convert("RGB")
    finally:
        document.close()
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return _jpeg(image)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, optimize=True, progressive=False, dpi=(320, 320))
    return out.getvalue()


def art_cover(path: Path, trim_in: tuple[float, float], bleed_in: float,
              size: tuple[int, int] = COVER_SIZE) -> bytes:
    """The EPUB's cover from the print front art: what the front panel shows of it inside the
    trim (the art covers the panel and its bleed, centred: cover.css), at most as high as the
    cover image stores ask, as a JPEG."""
    with Image.open(path) as art:
        image = art.convert("RGB")
    panel = (trim_in[0] + bleed_in, trim_in[1] + 2 * bleed_in)
    inches_per_pixel = max(panel[0] / image.width, panel[1] / image.height)
    left = (image.width * inches_per_pixel - panel[0]) / 2  # (inches cropped off each side)
    top = (image.height * inches_per_pixel - panel[1]) / 2 + bleed_in
    x0, y0, x1, y1 = (round(v / inches_per_pixel)
                      for v in (left, top, left + trim_in[0], top + trim_in[1]))
    image = image.crop((x0, y0, x1, y1))
    if image.height > size[1]:
        image = image.resize((round(image.width * size[1] / image.height), size[1]),
                             Image.Resampling.LANCZOS)
    return _jpeg(image)


def wrap_front(pdf: bytes, trim_in: tuple[float, float], bleed_in: float,
               size: tuple[int, int] = COVER_SIZE) -> bytes:
    """The EPUB's cover from a print wrap: its front panel (the right-hand trim, bleed off)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        width, _height = page.get_size()
        scale = size[1] / (trim_in[1] * 72)
        image = page.render(scale=scale, draw_annots=False).to_pil().convert("RGB")
    finally:
        document.close()
    right = round((width - bleed_in * 72) * scale)
    left = round((width - (bleed_in + trim_in[0]) * 72) * scale)
    top = round(bleed_in * 72 * scale)
    return _jpeg(image.crop((left, top, right, top + size[1])))
