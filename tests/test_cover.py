"""The title fits the cover: broken between words in balanced lines, shrunk within limits, said
when it cannot; the spine keeps KDP's clearance; every cover glyph is from the typeface."""

from __future__ import annotations

from pathlib import Path

import pypdfium2
import pytest
from conftest import Built, build_book
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
