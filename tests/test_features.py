"""The features book end to end: figure, table, scene break, cross-chapter links, notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import NS, Built, Epub, epubcheck, text_of
from pdfread import Pdf


@pytest.fixture(scope="module")
def epub(features: Built) -> Epub:
    return Epub(features.epub)


def test_figure_is_packed_with_its_caption(epub: Epub) -> None:
    one = epub.document("text/one.xhtml")
    figure = one.find(".//x:figure", NS)
    img = figure.find("x:img", NS)
    assert img.get("alt") == "A grey square on white"
    assert text_of(figure.find("x:figcaption", NS)) == "The square, seen from above."
    packed = epub.zip.read(epub.href("images/square.png"))
    assert packed[:8] == b"\x89PNG\r\n\x1a\n"
    assert img.get("src") == "../images/square.png"
    assert "visual" in epub.meta("schema:accessMode")
    assert "alternativeText" in epub.meta("schema:accessibilityFeature")


def test_cross_chapter_links_reach_the_right_file(epub: Epub) -> None:
    one = epub.document("text/one.xhtml")
    link = next(a for a in one.iterfind(".//x:a", NS) if text_of(a) == "the table in the next chapter")
    assert link.get("href") == "two.xhtml#the-table"
    two = epub.document("text/two.xhtml")
    assert two.find(".//*[@id='the-table']", NS) is not None
    wanted = ("the first chapter", "figure")
    back = [a.get("href") for a in two.iterfind(".//x:a", NS) if text_of(a) in wanted]
    assert back == ["one.xhtml#the-first-chapter", "one.xhtml#a-figure"]


def test_same_note_labels_in_two_chapters_stay_apart(epub: Epub) -> None:
    notes = epub.document("text/notes.xhtml")
    items = {li.get("id"): text_of(li) for li in notes.iterfind(".//x:li", NS)}
    assert items == {
        "one-note-1": "The first note of chapter one. ↩",
        "one-note-2": "The second note of chapter one. ↩",
        "two-note-1": "The first note of chapter two. ↩",
    }


def test_table_and_scene_break(epub: Epub) -> None:
    two = epub.document("text/two.xhtml")
    assert [text_of(td) for td in two.iterfind(".//x:td", NS)] == ["1989", "Strikes", "1991", "Dissolution"]
    one = epub.document("text/one.xhtml")
    assert one.find(".//x:hr[@class='scene-break']", NS) is not None


def test_nested_contents_with_toc_depth_2(epub: Epub) -> None:
    _, nav = epub.nav()
    top = nav.find(".//x:nav[@epub:type='toc']/x:ol", NS)
    first = top.find("x:li", NS)
    assert text_of(first.find("x:a", NS)) == "The First Chapter"
    assert [text_of(a) for a in first.iterfind("x:ol/x:li/x:a", NS)] == ["A figure"]


def test_epubcheck_finds_nothing(features: Built, tmp_path: Path) -> None:
    report = epubcheck(features.epub, tmp_path)
    assert (report["checker"]["nFatal"], report["checker"]["nError"], report["checker"]["nWarning"]) \
        == (0, 0, 0), report["messages"]


def test_pdf_places_the_figure_and_resolves_the_links(features: Built) -> None:
    pdf = Pdf(features.pdf)
    placed = [x.get_object() for page in pdf.pages
              for x in (page.get("/Resources") or {}).get("/XObject", {}).values()]
    assert any(x.get("/Subtype") == "/Image" for x in placed)
    whole = " ".join(pdf.texts)
    assert "The square, seen from above." in whole
    # Internal links are link annotations that land where their words say, and can be clicked.
    links = [(number, a.get_object()) for number, page in enumerate(pdf.pages)
             for a in (page.get("/Annots") or [])]
    targets = {str(a["/Dest"]): number for number, a in links if "/Dest" in a}
    landing = {name: pdf.reader.get_destination_page_number(pdf.reader.named_destinations[name])
               for name in targets}
    for name, heading in (("the-table", "The table"), ("the-first-chapter", "The First Chapter"),
                          ("a-figure", "A figure")):
        assert heading in pdf.texts[landing[name]], name
    assert landing["the-table"] > targets["the-table"]  # "the table in the next chapter"
    for number, annotation in links:
        x1, y1, x2, y2 = (float(v) for v in annotation["/Rect"])
        assert abs(x2 - x1) > 1 and abs(y2 - y1) > 3, (number, annotation.get("/Dest"))
