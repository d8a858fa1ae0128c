"""The sample book's PDF, read back with pypdf: pages, outline, contents, labels, fonts, notes."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import pytest
from conftest import SAMPLE, Built
from pdfread import Pdf, normalize

from bookbuild.loader import load
from bookbuild.parse import parse_book


@pytest.fixture(scope="module")
def pdf(sample: Built) -> Pdf:
    return Pdf(sample.pdf)


@pytest.fixture(scope="module")
def chapter_titles() -> list[str]:
    manuscript, _ = parse_book(load(SAMPLE))
    return [chapter.title.text for chapter in manuscript.chapters]


def test_every_page_is_6_by_9_inches(pdf: Pdf) -> None:
    assert {(float(p.mediabox.width), float(p.mediabox.height)) for p in pdf.pages} == {(432, 648)}


def test_outline_lists_preface_chapters_and_notes_in_order(pdf: Pdf, chapter_titles: list[str]) -> None:
    outline = pdf.outline_titles()
    assert len(chapter_titles) == 9  # the preface, the introduction and seven sections
    assert outline[outline.index(chapter_titles[0]):] == [*chapter_titles, "Notes"]
    assert outline[:3] == ["Title page", "Copyright", "Contents"]


def test_contents_numbers_are_the_pages_where_titles_appear(pdf: Pdf, chapter_titles: list[str]) -> None:
    printed = pdf.contents_numbers([*chapter_titles, "Notes"])
    contents_page = next(i for i, t in enumerate(pdf.texts) if t.startswith("Contents"))
    for title, number in printed.items():
        page = pdf.page_starting_with(title, after=contents_page + 1)
        assert pdf.labels[page] == number, f"{title}: contents says {number}, found on {pdf.labels[page]}"


def test_front_matter_is_roman_and_body_starts_at_1(pdf: Pdf, chapter_titles: list[str]) -> None:
    intro = pdf.page_starting_with("Introduction", after=5)
    assert pdf.labels[:intro] == [_roman(i) for i in range(1, intro + 1)]
    assert pdf.labels[intro:intro + 3] == ["1", "2", "3"]
    # The printed folio at the foot of the body's first page is "1".
    assert pdf.texts[intro].endswith(" 1")


def test_sections_open_as_the_sample_asks(pdf: Pdf, chapter_titles: list[str]) -> None:
    """The preface and the introduction on rectos; the dossier's seven sections each on the
    page after the one before (book.toml: openings = "any"), so no page of the body is blank;
    blank pages at the end bring the book to KDP's 24."""
    preface, introduction, *sections = [pdf.page_starting_with(title, after=4)
                                        for title in chapter_titles]
    assert preface % 2 == 0 and introduction % 2 == 0
    assert any(page % 2 for page in sections), "a section opens on a verso"
    notes = pdf.page_starting_with("Notes", after=introduction)
    assert all(pdf.texts[introduction:notes + 1])
    assert len(pdf.pages) == 24 and notes < 22 and not any(pdf.texts[notes + 1:])


def test_every_font_is_embedded(pdf: Pdf) -> None:
    assert pdf.fonts_not_embedded() == []


def test_pdffonts_agrees(sample: Built) -> None:
    if shutil.which("pdffonts") is None:
        pytest.fail("pdffonts is missing (apt-get install poppler-utils; make test installs it)")
    lines = subprocess.run(["pdffonts", str(sample.pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert lines, "pdffonts lists no fonts"
    assert all(line.split()[-5] == "yes" for line in lines), lines
    assert any("EB-Garamond" in line for line in lines)


def test_notes_show_the_page_of_their_call(pdf: Pdf) -> None:
    notes_page = pdf.page_starting_with("Notes", after=10)
    text = " ".join(pdf.texts[notes_page:])
    references = re.findall(r"\(page ([0-9]+|[ivxl]+)\)", text)
    assert len(references) == 4
    # The first note's call is in the preface, quoting the Times of July 26.
    call_page = next(i for i, t in enumerate(pdf.texts) if re.search(r"wrote on July 26: ?1", t))
    assert references[0] == pdf.labels[call_page]


def test_metadata_title_language_and_dates(sample: Built, pdf: Pdf) -> None:
    info = pdf.reader.metadata
    manifest = tomllib.loads((SAMPLE / "book.toml").read_text())
    assert info.title == manifest["book"]["title"]
    assert pdf.reader.trailer["/Root"]["/Lang"] == "en"
    assert info["/CreationDate"].startswith("D:" + manifest["book"]["date"].replace("-", ""))


def test_the_dateline_and_block_quotes_are_in_the_text(pdf: Pdf) -> None:
    whole = " ".join(pdf.texts)
    assert "Detroit, Michigan July 28, 1989" in whole
    assert normalize("“Largely overlooked in the original manifesto") in whole
    for residue in ("Read more", "Latest articles", "Reports and resolutions", "WSWS Media"):
        assert residue not in whole


def _roman(number: int) -> str:
    numerals = [(10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    for value, letters in numerals:
        while number >= value:
            out, number = out + letters, number - value
    return out
