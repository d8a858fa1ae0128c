"""The title fits the cover: broken between words in balanced lines, shrunk within limits, said
when it cannot; the spine keeps KDP's clearance; every cover glyph is from the typeface."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pypdfium2
import pytest
from conftest import Built, build_book, run_bookbuild
from pdfread import normalize
from PIL import Image
from pypdf import PdfReader

from bookbuild import printspec
from bookbuild.coverfit import TITLE_MAX_PT, TITLE_MIN_PT, fit_title, text_width

ONE_WORD = "Antidisestablishmentarians"  # 26 letters
TWELVE_WORDS = "The Long and Winding Account of How Twelve Small Words Made One Title"
MANIFEST = """[book]
title = "{title}"
{subtitle}language = "en"
date = "2024-05-01"

[[book.contributors]]
name = "Ann Author"
role = "aut"

[[contents]]
file = "one.md"
"""
FRONT_TEXT_WIDTH = 6 - 2 * 0.42 - 2 * 0.45  # a 6 x 9 in front panel inside its frame, inches


def test_a_short_title_keeps_the_designs_size_on_one_line() -> None:
    fit = fit_title("Walden", 6)
    assert fit == fit.__class__(("Walden",), TITLE_MAX_PT, True)


def test_one_long_word_shrinks_and_stays_whole() -> None:
    fit = fit_title(ONE_WORD, 5)
    assert fit.fits and fit.lines == (ONE_WORD,) and TITLE_MIN_PT <= fit.size_pt < TITLE_MAX_PT
    assert text_width(ONE_WORD, fit.size_pt) <= (5 - 2 * 0.42 - 2 * 0.45) * 72


def test_twelve_words_break_between_words_in_balanced_lines() -> None:
    fit = fit_title(TWELVE_WORDS, 5)
    assert fit.fits and " ".join(fit.lines) == TWELVE_WORDS and 2 <= len(fit.lines) <= 4
    widths = [text_width(line, fit.size_pt) for line in fit.lines]
    assert max(widths) - min(widths) < 0.35 * max(widths)  # no long line above a stub


def test_a_word_no_size_can_hold_is_said() -> None:
    assert not fit_title("Pneumonoultramicroscopicsilicovolcanoconiosis" * 2, 5).fits


def _book(root: Path, title: str, subtitle: str = "") -> Path:
    book = root / "book"
    book.mkdir(parents=True)
    lines = f'subtitle = "{subtitle}"\n' if subtitle else ""
    (book / "book.toml").write_text(MANIFEST.format(title=title, subtitle=lines))
    (book / "one.md").write_text("# One\n\n" + ("Some words of text for the pages. " * 40 + "\n\n") * 12)
    return book


@pytest.fixture(scope="module", params=["one-word", "twelve-words", "subtitle"])
def cover(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Built]:
    root = tmp_path_factory.mktemp(request.param)
    title, subtitle = {"one-word": (ONE_WORD, ""), "twelve-words": (TWELVE_WORDS, ""),
                       "subtitle": ("Incomprehensibilities", "A Study of Words That Will Not Fit on "
                                    "Any Reasonable Cover at All")}[request.param]
    return title, build_book(_book(root, title, subtitle), root / "out")


def test_the_title_is_drawn_whole_inside_the_front_frame(cover: tuple[str, Built]) -> None:
    title, built = cover
    assert "cover-title" not in built.stderr
    wrap = built.pdf.with_name(built.pdf.stem + "-cover.pdf")
    pages = len(PdfReader(built.pdf).pages)
    spine = printspec.spine_width(pages, "white")
    document = pypdfium2.PdfDocument(str(wrap))
    page = document[0]
    text = page.get_textpage()
    # The front panel's text column, in PDF units from the trim's left edge (the bleed is outside
    # it): the back and the spine, then the panel's and the frame's padding and the frame's rule.
    left = (6 + spine + 0.42 + 0.45) * 72 + 1.2
    right = left + (6 - 2 * 0.42 - 2 * 0.45) * 72
    drawn = text.get_text_range()
    start = drawn.replace("\r\n", " ").replace("\n", " ").find(title.split()[0])
    assert start >= 0, drawn
    boxes = [text.get_charbox(i) for i in range(start, start + len(title)) if not drawn[i].isspace()]
    document.close()
    assert all(left - 1 <= box[0] and box[2] <= right + 1 for box in boxes), (left, right, boxes[:3])
    lines = [line for line in drawn.replace("\r\n", "\n").split("\n") if line.strip()]
    title_lines = [line.strip() for line in lines if line.strip() and line.strip() in title]
    assert " ".join(title_lines).startswith(title.split()[0]) and all(
        word in title.split() for line in title_lines for word in line.split())  # whole words


def test_every_glyph_of_the_cover_is_from_the_typeface(cover: tuple[str, Built]) -> None:
    _title, built = cover
    wrap = PdfReader(built.pdf.with_name(built.pdf.stem + "-cover.pdf"))
    fonts = {str(font.get_object()["/BaseFont"]) for font in
             wrap.pages[0]["/Resources"]["/Font"].values()}
    assert fonts and all("EB-Garamond" in name or "EBGaramond" in name for name in fonts), fonts


# ---- print cover art: [pdf] cover_front, cover_wrap ------------------------------------------

ART_COLOUR = (30, 90, 160)


def _art(path: Path, size: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, ART_COLOUR).save(path, dpi=(300, 300))


def _with_pdf_keys(book: Path, keys: str) -> Path:
    with (book / "book.toml").open("a") as manifest:
        manifest.write(f"\n[pdf]\n{keys}\n")
    return book


def _pixel(pdf: Path, x_in: float, y_in: float) -> tuple[int, ...]:
    """The colour at (x, y) inches from the top left of the page's MediaBox (bleed included)."""
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        image = document[0].render(scale=10 / 72).to_pil().convert("RGB")
    finally:
        document.close()
    return tuple(image.getpixel((round(x_in * 10), round(y_in * 10))))


def _epub_cover(built: Built) -> Image.Image:
    with zipfile.ZipFile(built.epub) as epub:
        return Image.open(io.BytesIO(epub.read("EPUB/cover-image.jpg"))).convert("RGB")


def _made_wrap(tmp_path: Path) -> Path:
    """The wrap bookbuild makes for the one-chapter book "Wrapped" (a wrap "made elsewhere")."""
    first = build_book(_book(tmp_path / "a", "Wrapped"), tmp_path / "first")
    return first.pdf.with_name(first.pdf.stem + "-cover.pdf")


def _close(found: tuple[int, ...], wanted: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(found, wanted, strict=True))


def test_front_art_covers_the_front_panel_and_is_the_epub_cover(tmp_path: Path) -> None:
    book = _with_pdf_keys(_book(tmp_path, "Art"), 'cover_front = "images/front.jpg"')
    _art(book / "images" / "front.jpg", (1838, 2775))  # 6.125 x 9.25 in at 300 ppi
    built = build_book(book, tmp_path / "out")
    wrap = built.pdf.with_name(built.pdf.stem + "-cover.pdf")
    width = float(PdfReader(wrap).pages[0].mediabox.width) / 72
    assert _close(_pixel(wrap, width - 3, 4.6), ART_COLOUR)  # the front panel
    assert _close(_pixel(wrap, width - 0.05, 0.05), ART_COLOUR)  # its bleed, at the corner
    assert not _close(_pixel(wrap, 3, 4.6), ART_COLOUR)  # the back: the design's, as before
    text = normalize(PdfReader(wrap).pages[0].extract_text())
    assert "Art" not in text.split()  # no title drawn over the art
    cover = _epub_cover(built)
    assert cover.height == 2560 and _close(cover.getpixel((cover.width // 2, 1280)), ART_COLOUR)


def test_front_art_under_300_ppi_is_refused(tmp_path: Path) -> None:
    book = _with_pdf_keys(_book(tmp_path, "Art"), 'cover_front = "images/front.jpg"')
    _art(book / "images" / "front.jpg", (1200, 1800))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'{book / "book.toml"}:14: error[cover-resolution]: the front cover art "images/front.jpg" '
        "is 1200 x 1800 pixels: 195 pixels to the inch on the front panel (6.125 x 9.25 in with "
        "bleed), which needs 300 (use art of at least 1838 x 2775 pixels)")
    assert not (tmp_path / "out").exists()


def test_a_wrap_made_elsewhere_is_checked_against_the_page_count(tmp_path: Path) -> None:
    made = _made_wrap(tmp_path)  # the right size for this book
    book = _with_pdf_keys(_book(tmp_path / "b", "Wrapped"), 'cover_wrap = "wrap.pdf"')
    shutil.copyfile(made, book / "wrap.pdf")
    built = build_book(book, tmp_path / "out")
    assert built.pdf.with_name(built.pdf.stem + "-cover.pdf").read_bytes() == made.read_bytes()
    cover = _epub_cover(built)  # the wrap's front panel, its frame and title
    assert cover.height == 2560 and 1590 <= cover.width <= 1720
    pages = len(PdfReader(built.pdf).pages)
    # Twice the text: more pages, a wider spine; the same wrap no longer fits.
    text = (book / "one.md").read_text()
    (book / "one.md").write_text(text + text.removeprefix("# One\n"))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    width, height = printspec.cover_size(6, 9, pages, "white")
    assert f'error[cover-wrap-size]: the cover wrap "wrap.pdf" is {width:.3f} x {height:.3f} in; ' \
           "this book's wrap is " in result.stderr
    assert "(make the wrap again at that size: its spine follows the page count)" in result.stderr
    assert built.pdf.with_name(built.pdf.stem + "-cover.pdf").read_bytes() == made.read_bytes()


def test_a_wrap_must_be_a_one_page_pdf(tmp_path: Path) -> None:
    book = _with_pdf_keys(_book(tmp_path, "Wrapped"), 'cover_wrap = "wrap.pdf"\ncover_front = "a.jpg"')
    (book / "wrap.pdf").write_text("not a PDF")
    _art(book / "a.jpg", (1838, 2775))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f'{book / "book.toml"}:14: error[manifest]: give cover_front or cover_wrap, not both '
        "(cover_front is art for the front panel; cover_wrap a whole wrap made elsewhere)"]
    (book / "book.toml").write_text((book / "book.toml").read_text().replace('cover_front = "a.jpg"', ""))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.stderr.strip() == (f'{book / "book.toml"}:14: error[cover-wrap]: the cover wrap '
                                     '"wrap.pdf" is not a PDF bookbuild can read (export it again '
                                     "as PDF)")


def test_a_wrap_of_another_trim_is_refused_when_the_book_is_loaded(tmp_path: Path) -> None:
    made = _made_wrap(tmp_path)
    book = _with_pdf_keys(_book(tmp_path / "b", "Wrapped"), 'trim = "5x8"\ncover_wrap = "wrap.pdf"')
    shutil.copyfile(made, book / "wrap.pdf")
    result = run_bookbuild("build", book, "--out", tmp_path / "out", "--format", "epub")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'{book / "book.toml"}:15: error[cover-wrap-size]: the cover wrap "wrap.pdf" is 9.250 in '
        "high; this book's wrap is 8.250 in high (the trim and 0.125 in bleed top and bottom) "
        "(make the wrap again for this trim size)")
    assert not (tmp_path / "out").exists()

