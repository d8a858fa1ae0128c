"""The corpus: four real public-domain books, built as a new user would and checked as the
stores do (tests/corpus.py, also `make corpus`), then read back for what a reader would see."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import NS, Epub
from conftest import text_of as text
from corpus import BookResult, corpus_dir, run_corpus, table
from pdfread import Pdf, line_starts

BOOKS = ("engels", "holmes", "souls", "whitman")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BookResult]:
    found = corpus_dir()
    if found is None:
        message = "no corpus beside the checkout (../shared/corpus) and no BOOKBUILD_CORPUS"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    results = run_corpus(found, tmp_path_factory.mktemp("corpus") / "books", say=False)
    print("\n" + table(results))
    return {result.book: result for result in results}


@pytest.fixture(scope="session")
def epubs(corpus: dict[str, BookResult]) -> dict[str, Epub]:
    return {name: Epub(Path(result.epub)) for name, result in corpus.items() if result.epub}


@pytest.mark.parametrize("book", BOOKS)
def test_builds_clean_and_passes_every_validator(corpus: dict[str, BookResult], book: str) -> None:
    result = corpus[book]
    assert result.exit_code == 0 and result.build_messages == [], result.build_messages
    assert result.missing == {}, f"validators not installed: {result.missing}"
    assert result.findings == {"epubcheck": [], "ace": [], "preflight": [], "pages": []}


# Each design choice that changes the layout most, built on a real book ([design] added in a
# copy): the validators, the EPUB's page markers against the PDF, the preflight and the proof
# all clean, as the plain corpus is. (python tests/corpus.py --design builds all four.)
DESIGNS = [('theme = "modern"', "souls"), ('theme = "plain"', "holmes"),
           ('size = "large-print"', "engels")]


@pytest.mark.parametrize(("design", "book"), DESIGNS)
def test_a_design_builds_a_real_book_clean(design: str, book: str,
                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    found = corpus_dir()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no corpus beside the checkout (../shared/corpus) and no BOOKBUILD_CORPUS")
        pytest.skip("no corpus")
    [result] = run_corpus(found, tmp_path_factory.mktemp("designed") / "books", say=False,
                          design=design, books=(book,))
    assert result.exit_code == 0 and result.build_messages == [], result.build_messages
    assert result.findings == {"epubcheck": [], "ace": [], "preflight": [], "pages": []}
    assert result.proof_warnings == 0, result.proof


def notes_of(epub: Epub) -> dict[str, list[str]]:
    """Each note's id -> the hrefs of its back-links, across every notes document."""
    notes: dict[str, list[str]] = {}
    for href in epub.spine:
        if href.startswith("text/notes"):
            for item in epub.document(href).xpath("//x:li[@id]", namespaces=NS):
                notes[item.get("id")] = item.xpath(".//x:a[@role='doc-backlink']/@href", namespaces=NS)
    return notes


def calls_of(epub: Epub) -> list[tuple[str, str, str, str]]:
    """Every note call in reading order: (document, call id, number shown, href)."""
    calls = []
    for href in epub.spine:
        for call in epub.document(href).xpath("//x:a[@role='doc-noteref']", namespaces=NS):
            calls.append((href, call.get("id"), text(call), call.get("href")))
    return calls


def nav_titles(epub: Epub) -> list[str]:
    _, nav = epub.nav()
    return [text(a) for a in nav.xpath("//x:nav[@epub:type='toc']//x:a", namespaces=NS)]


def test_engels_notes_are_all_there_in_reading_order_and_linked_both_ways(epubs: dict[str, Epub]) -> None:
    epub = epubs["engels"]
    notes, calls = notes_of(epub), calls_of(epub)
    assert len(notes) == 141
    numbers: dict[str, list[int]] = {}
    for document, call_id, shown, href in calls:
        numbers.setdefault(document, []).append(int(shown))
        target = href.partition("#")[2]
        assert f"{Path(document).name}#{call_id}" in notes[target]
    for document, shown in numbers.items():
        assert shown == sorted(shown) and shown[0] == 1, (document, shown)
    called = {href.partition("#")[2] for *_, href in calls}
    assert called == set(notes)


def test_engels_dedication_is_in_the_book_but_not_the_contents(epubs: dict[str, Epub],
                                                                corpus: dict[str, BookResult]) -> None:
    epub = epubs["engels"]
    assert epub.spine[3:6] == ["text/s-01-preface.xhtml", "text/s-02-dedication.xhtml",
                               "text/s-03-introduction.xhtml"]
    section = epub.document("text/s-02-dedication.xhtml").find(".//{http://www.w3.org/1999/xhtml}section")
    assert section.get("role") == "doc-dedication"
    assert not any("Working-Classes of Great" in title for title in nav_titles(epub))
    pdf = Pdf(Path(corpus["engels"].pdf))
    contents = next(t for t in pdf.texts if t.startswith("Contents"))
    assert "Working-Classes" not in contents and "Preface" in contents
    assert not any("Working-Classes" in title for title in pdf.outline_titles())
    title_page = epub.document("text/titlepage.xhtml")
    assert "Translated by Florence Kelley Wischnewetzky" in text(title_page).replace("\xa0", " ")


def test_engels_tables_have_no_empty_header(epubs: dict[str, Epub]) -> None:
    epub = epubs["engels"]
    tables = [t for href in epub.spine for t in epub.document(href).xpath("//x:table", namespaces=NS)]
    assert len(tables) == 3
    for figures in tables:
        assert all(text(th) for th in figures.xpath(".//x:th", namespaces=NS))


def test_souls_untitled_dedication_and_chapter_epigraphs(epubs: dict[str, Epub]) -> None:
    epub = epubs["souls"]
    dedication = epub.document("text/s-01-dedication.xhtml")
    assert text(dedication.find(".//{http://www.w3.org/1999/xhtml}title")) == "Dedication"
    assert [text(line) for line in dedication.xpath("//x:span[@class='line']", namespaces=NS)] == \
        ["To", "Burghardt and Yolande", "the Lost and the Found"]
    assert "Dedication" not in nav_titles(epub)
    chapters = [h for h in epub.spine if re.match(r"text/s-(0[3-9]|1[0-6])-", h)]
    assert len(chapters) == 14
    for href in chapters:
        # (after the heading; a print page marker before it is no element of the text's)
        first = epub.document(href).xpath("//x:section/*[not(@role='doc-pagebreak')][2]",
                                          namespaces=NS)[0]
        assert first.get("role") == "doc-epigraph", href
    svgs = [i for i in epub.manifest.values() if i.get("media-type") == "image/svg+xml"]
    assert len(svgs) == 18


def test_whitman_verse_lines_stay_lines_and_indents_stay_indents(epubs: dict[str, Epub],
                                                                 corpus: dict[str, BookResult]) -> None:
    epub = epubs["whitman"]
    song = epub.document("text/s-04-song-of-myself.xhtml")
    first = song.xpath("//x:p[@class='verse']", namespaces=NS)[0]
    assert [text(s) for s in first.xpath("x:span", namespaces=NS)] == [
        "I celebrate myself, and sing myself,", "And what I assume you shall assume,",
        "For every atom belonging to me as good belongs to you."]
    inscriptions = epub.document("text/s-02-inscriptions.xhtml")
    indented = [text(s) for s in inscriptions.xpath("//x:span[@class='line i1']", namespaces=NS)]
    assert "Know’st thou not there is but one theme for ever-enduring bards?" in indented
    assert "Epigraph" not in nav_titles(epub)
    starts = line_starts(Path(corpus["whitman"].pdf), [
        "And menacing voice, What singest thou", "Know’st thou not there is but one theme",
        "I celebrate myself, and sing myself,", "And what I assume you shall assume,"])
    assert starts["I celebrate myself, and sing myself,"] == \
        pytest.approx(starts["And what I assume you shall assume,"], abs=0.5)
    assert starts["Know’st thou not there is but one theme"] > \
        starts["And menacing voice, What singest thou"] + 10


def test_holmes_stories_in_order(epubs: dict[str, Epub]) -> None:
    titles = nav_titles(epubs["holmes"])
    assert len(titles) == 12
    assert titles[0] == "A Scandal in Bohemia" and titles[-1] == "The Adventure of the Copper Beeches"
