"""The design choices a self-publisher makes ([design]), as readers see them: the chapter
labels in the EPUB and the PDF (headings, contents, nav, outline), the drop cap, and the
validators' verdicts (tests/books/design)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pypdfium2
import pytest
from conftest import BOOKS, NS, Built, ace_violations, build_book, epubcheck, run_ace, text_of
from lxml import etree
from pdfread import Pdf

BOOK = BOOKS / "design"
LISTED = ["Chapter One: Beginnings", "Chapter Two: The Middle", "Chapter Three: Endings"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_book(BOOK, tmp_path_factory.mktemp("design"))


def xhtml(built: Built, name: str) -> etree._Element:
    with zipfile.ZipFile(built.epub) as epub:
        return etree.fromstring(epub.read(f"EPUB/{name}"))


def test_the_epub_heading_carries_its_label_once(built: Built) -> None:
    root = xhtml(built, "text/chapter-2.xhtml")
    heading = root.find(".//x:section/x:h1", NS)
    label = heading.find("x:span[@class='chapter-label']", NS)
    assert label.text == "Chapter Two" and text_of(heading) == "Chapter Two The Middle"
    # The drop cap's paragraph, after the epigraph, as in print (::first-letter: the word whole)
    opening = root.find(".//x:section/x:p[@class='first-line-drop-cap']", NS)
    assert opening is not None and text_of(opening).startswith("Youth ")
    assert opening.getprevious().get("class") == "epigraph"
    assert "Chapter" not in text_of(xhtml(built, "text/afterword.xhtml").find(".//x:h1", NS))


def test_the_nav_lists_the_labels(built: Built) -> None:
    nav = xhtml(built, "text/nav.xhtml")
    titles = [text_of(a) for a in nav.iterfind(".//x:nav[@epub:type='toc']//x:a", NS)]
    assert [title for title in titles if title.startswith("Chapter")] == LISTED
    assert "Preface" in titles and "Afterword" in titles


def test_the_pdf_contents_outline_and_running_heads(built: Built) -> None:
    pdf = Pdf(built.pdf)
    numbers = pdf.contents_numbers(LISTED)
    outline = pdf.outline_titles()
    assert all(title in outline for title in LISTED)
    two = next(i for i, text in enumerate(pdf.texts) if "chapter two The Middle" in text)
    assert pdf.labels[two] == numbers["Chapter Two: The Middle"]
    # The label is on the opening pages and in the contents only (never in a running head).
    contents = next(i for i, text in enumerate(pdf.texts) if text.startswith("Contents"))
    labelled = [i for i, text in enumerate(pdf.texts) if "chapter " in text.lower()]
    assert labelled == [contents, two - 2, two, two + 2]


def test_the_drop_cap_stands_two_lines_high(built: Built) -> None:
    """The first letter of a chapter's text (after its epigraph) is the page's largest."""
    document = pypdfium2.PdfDocument(str(built.pdf))
    pdf = Pdf(built.pdf)
    page = next(i for i, text in enumerate(pdf.texts) if "chapter two The Middle" in text)
    text = document[page].get_textpage()
    chars = text.get_text_range()

    def height(index: int) -> float:
        _left, bottom, _right, top = text.get_charbox(index)
        return top - bottom

    letters = sorted((i for i, char in enumerate(chars) if char.isalpha()), key=height)
    assert chars[letters[-1]] == "Y"  # (of "Youth", the first word after the epigraph)
    assert height(letters[-1]) > 2.5 * height(letters[len(letters) // 2])
    document.close()


def test_the_epub_passes_epubcheck_and_ace(built: Built, tmp_path: Path) -> None:
    assert epubcheck(built.epub, tmp_path)["messages"] == []
    assert ace_violations(run_ace(built.epub, tmp_path / "ace")) == []
