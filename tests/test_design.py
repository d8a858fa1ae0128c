"""The design choices a self-publisher makes ([design]), as readers see them: the chapter
labels in the EPUB and the PDF (headings, contents, nav, outline), the drop cap, and the
validators' verdicts (tests/books/design); a second typeface at another size and leading in
the modern theme (tests/books/typeface); large print (tests/books/large-print)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pypdfium2
import pytest
import tinycss2
from conftest import BOOKS, NS, Built, ace_violations, build_book, epubcheck, run_ace, run_bookbuild, text_of
from lxml import etree
from pdfread import Pdf

from bookbuild.proof import Block, Line

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


# ---- A second typeface, a size and a theme (tests/books/typeface) ------------------------

@pytest.fixture(scope="module")
def typeface(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_book(BOOKS / "typeface", tmp_path_factory.mktemp("typeface"))


def body_block(pdf: Path) -> Block:
    """The text block the print proof finds: the body's size (CSS px), leading and edges (pt)."""
    from bookbuild.proof import _block, _lines

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        block = _block([_lines(document, index) for index in range(len(document))])
    finally:
        document.close()
    assert block is not None
    return block


def test_the_pdf_is_set_in_the_chosen_face_size_and_leading(typeface: Built) -> None:
    pdf = Pdf(typeface.pdf)
    assert pdf.fonts() and all("Gentium" in name for name in pdf.fonts()), pdf.fonts()
    assert pdf.fonts_not_embedded() == []
    block = body_block(typeface.pdf)
    assert block.size == pytest.approx(12 * 4 / 3, abs=0.05)  # 12 pt, read in CSS px
    assert block.leading == pytest.approx(12 * 1.45, abs=0.05)


def test_the_modern_theme_sets_titles_in_capitals(typeface: Built) -> None:
    pdf = Pdf(typeface.pdf)
    assert any(text.startswith("ANOTHER FACE") for text in pdf.texts)  # the title page
    opening = pdf.page_starting_with("Chapter 2")
    assert pdf.texts[opening].startswith("Chapter 2 THE MIDDLE")


def test_the_epub_embeds_the_face_with_its_licence_and_names_it_last(typeface: Built) -> None:
    with zipfile.ZipFile(typeface.epub) as epub:
        names = epub.namelist()
        css = epub.read("EPUB/styles/book.css").decode()
        package = etree.fromstring(epub.read("EPUB/content.opf"))
    fonts = sorted(name for name in names if name.startswith("EPUB/fonts/"))
    assert {"EPUB/fonts/GentiumPlus-Regular.ttf", "EPUB/fonts/GentiumPlus-Italic.ttf",
            "EPUB/fonts/LICENSE-GentiumPlus.txt"} <= set(fonts)
    assert not any("Garamond" in name for name in fonts)
    types = {item.get("href"): item.get("media-type") for item in package.iter("{*}item")}
    assert types["fonts/GentiumPlus-Regular.ttf"] == "font/ttf"
    # The hedera Gentium lacks (epub.css's scene break) comes from the declared fallback, subset.
    assert types["fonts/LinLibertine_R.otf"] == "font/otf"
    # The theme's rules after epub.css, then the face: sizes in em, nothing the reader's own
    # settings would have to fight.
    assert css.index("text-transform: uppercase") > css.index("section.endnotes")
    assert css.rstrip().endswith('html { font-family: "Gentium Plus", "Linux Libertine O", Georgia, serif; }')
    assert "var(" not in css and "pt;" not in css and "12pt" not in css
    # The reading text's size and line height are the reader's.
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type != "qualified-rule":
            continue
        selectors = {part.strip() for part in tinycss2.serialize(rule.prelude).split(",")}
        declared = {d.lower_name for d in tinycss2.parse_declaration_list(rule.content, True, True)
                    if d.type == "declaration"}
        assert not (selectors & {"html", "body", "p"} and declared & {"line-height", "font-size"}), selectors
    copyright_page = etree.fromstring(zipfile.ZipFile(typeface.epub).read("EPUB/text/titlepage.xhtml"))
    assert "Set in Gentium Plus." in text_of(copyright_page)


def test_the_typeface_epub_passes_epubcheck_and_ace(typeface: Built, tmp_path: Path) -> None:
    assert epubcheck(typeface.epub, tmp_path)["messages"] == []
    assert ace_violations(run_ace(typeface.epub, tmp_path / "ace")) == []


def test_a_typeface_not_installed_is_one_line_naming_its_package(tmp_path: Path) -> None:
    from bookbuild.resources import book_fonts

    if book_fonts("Noto Serif").found:
        pytest.skip("Noto Serif is installed here")
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "typeface", book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text().replace('"Gentium Plus"', '"Noto Serif"'))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr == (f"{book}/book.toml:27: error[typeface-missing]: the typeface Noto Serif is "
                             "not installed on this machine (install it: apt-get install "
                             "fonts-noto-core on Debian; or choose another)\n")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# ---- Large print (tests/books/large-print) ------------------------------------------------

@pytest.fixture(scope="module")
def large_print(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_book(BOOKS / "large-print", tmp_path_factory.mktemp("large-print"))


def test_large_print_is_16_points_ragged_unhyphenated_with_a_wider_gutter(large_print: Built) -> None:
    block = body_block(large_print.pdf)
    assert block.size == pytest.approx(16 * 4 / 3, abs=0.05)
    assert block.leading == pytest.approx(16 * 1.5, abs=0.05)
    # Inside margin: KDP's gutter for under 150 pages, bookbuild's comfort, large print's more;
    # outside: bookbuild's, and large print's more.
    inside, outside = (0.375 + 0.25 + 0.25) * 72, (0.625 + 0.125) * 72
    assert block.left[0] == pytest.approx(inside, abs=0.2)  # a recto: the gutter on the left
    assert block.left[1] == pytest.approx(outside, abs=0.2)  # a verso: the outside on the left
    width = float(Pdf(large_print.pdf).pages[0].mediabox.width)
    assert block.right[1] <= width - inside + 0.2 and block.right[0] <= width - outside + 0.2
    lines = [line for _page, line in _body_lines(large_print.pdf)]
    assert not any(line.text.endswith("\u2010") for line in lines)  # no word broken by the layout
    assert len({round(line.right) for line in lines}) > len(lines) / 3  # ragged: lines end with their words


def _body_lines(pdf: Path) -> list[tuple[int, Line]]:
    from bookbuild.proof import _lines

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        block = body_block(pdf)
        return [(index, line) for index in range(len(document)) for line in _lines(document, index)
                if abs(line.size - block.size) < 0.2 and len(line.chars) > 20]
    finally:
        document.close()


def test_large_print_passes_the_preflight_and_the_proof(large_print: Built) -> None:
    result = run_bookbuild("preflight", large_print.pdf)
    assert result.returncode == 0 and "warning[" not in result.stdout, result.stdout


def test_a_title_too_long_for_its_running_head_is_cut_there(large_print: Built) -> None:
    pdf = Pdf(large_print.pdf)
    opening = next(i for i, text in enumerate(pdf.texts) if text.startswith("The Middle: A Long Account"))
    recto = next(i for i in range(opening + 1, len(pdf.texts)) if pdf.labels[i].isdigit()
                 and int(pdf.labels[i]) % 2)
    # The head (drawn after the text): what comes before the colon.
    assert "The Middle" in pdf.texts[recto] and "Long Account" not in pdf.texts[recto]
    assert any(t.startswith("The Middle: A Long Account") for t in pdf.outline_titles())  # whole there


def test_running_heads_fit_their_line() -> None:
    from bookbuild.model import DesignOptions
    from bookbuild.printspec import running_head_chars
    from bookbuild.render import running_head

    title = "The 1991 Berlin Conference of Workers against Imperialist War and Colonialism"
    assert running_head(title, 80) == title
    assert running_head(title, 40) == "The 1991 Berlin Conference of Workers\u2026"
    assert running_head("After 1991: The defense of historical truth", 30) == "After 1991"
    regular = running_head_chars(432, 100, DesignOptions())
    assert regular > running_head_chars(432, 100, DesignOptions(theme="modern"))  # wider capitals
    assert regular > running_head_chars(432, 700, DesignOptions())  # a thicker book's gutter


def test_a_pdf_in_libertine_keeps_its_figures_and_ligatures_in_its_text(tmp_path: Path) -> None:
    """Copied, searched or read aloud, the text is the book's: Libertine's old-style figures and
    its Th and tt ligatures have no code point, and with the whole face embedded (a print
    target) WeasyPrint writes no text for them."""
    book = tmp_path / "book"
    book.mkdir()
    contents = ""
    for name in ("one", "two", "three"):
        (book / f"{name}.md").write_text(f"# The {name.title()}\n\nThe letters of 1989 and 2024 are better "
                                         "than that.\n")
        contents += f'\n[[contents]]\nfile = "{name}.md"\n'
    (book / "book.toml").write_text('[book]\ntitle = "Theory"\ndate = "2026-11-25"\n' + contents
                                    + '\n[pdf]\ntarget = "kdp"\n\n[design]\ntypeface = "Linux Libertine O"\n')
    built = build_book(book, tmp_path / "out", "--format", "pdf", "--jobs", "2")
    text = " ".join(Pdf(built.pdf).texts)
    assert "The letters of 1989 and 2024 are better than that." in text
    assert all("Libertine" in name for name in Pdf(built.pdf).fonts())
