"""One cover template -> the EPUB's cover image (JPEG, 1600 x 2560) and, later, the print wrap.

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
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, optimize=True, progressive=False, dpi=(320, 320))
    return out.getvalue()
