"""The EPUB knows the print pages (pagelist.py, pagemap.py): a marker where each PDF page
begins, read back against the PDF's own pages (pagecheck.py), a page-list, the metadata."""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import (
    NS,
    ONE_CHAPTER_MANIFEST,
    ROOT,
    SAMPLE,
    Built,
    Epub,
    ace_violations,
    build_book,
    epubcheck,
    run_ace,
    run_bookbuild,
)
from lxml import etree
from pagecheck import epub_markers, marker_problems

from bookbuild import pagelist
from bookbuild.pagemap import PageStart

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

X = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A 150-page book with a preface, parts, notes and figures, built as a user would."""
    folder = tmp_path_factory.mktemp("generated")
    book = generate(folder / "book", 150, features=True)
    return build_book(book, folder / "out")


def test_every_print_page_of_the_sample_book_is_marked_where_it_begins(sample: Built) -> None:
    assert marker_problems(sample.epub, sample.pdf) == []
    markers, _page_list, _problems = epub_markers(sample.epub)
    labels = [label for label, _name, _after in markers]
    # The title page and the copyright page, the preface's roman pages, then the body's.
    assert labels[:2] == ["iii", "iv"] and "1" in labels and labels.index("1") > labels.index("vii")


def test_every_page_of_a_150_page_book_is_marked_where_it_begins(generated: Built) -> None:
    problems = marker_problems(generated.epub, generated.pdf)
    assert problems == []
    markers, _page_list, _problems = epub_markers(generated.epub)
    assert len(markers) > 140


def test_the_pages_of_a_book_of_lists_tables_verse_parts_and_a_dedication_are_marked(
        tmp_path: Path) -> None:
    built = build_book(ROOT / "tests" / "books" / "structures", tmp_path / "out")
    assert marker_problems(built.epub, built.pdf) == []


def test_a_book_laid_out_in_one_process_marks_its_pages_as_well(tmp_path: Path) -> None:
    # A stylesheet of the book's own: one layout of the whole book (writers/pdf.py: write_pdf).
    book = tmp_path / "book"
    generate(book, 40, features=True)
    (book / "extra.css").write_text("blockquote { font-style: italic; }\n", encoding="utf-8")
    manifest = book / "book.toml"
    manifest.write_text('stylesheets = ["extra.css"]\n' + manifest.read_text(encoding="utf-8"),
                        encoding="utf-8")
    built = build_book(book, tmp_path / "out")
    assert "laid out in one process" in built.stdout
    assert marker_problems(built.epub, built.pdf) == []


def test_pages_taken_from_kept_layouts_are_marked_as_a_clean_build_marks_them(
        generated: Built, tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(generated.source, book)
    out = tmp_path / "out"
    shutil.copytree(generated.out, out)
    chapter = book / "chapter-003.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace(" the ", " the the ", 3),
                       encoding="utf-8")
    kept = build_book(book, out)
    assert "parts laid out, the rest kept" in kept.stdout
    clean = build_book(book, tmp_path / "clean", "--no-cache")
    assert kept.epub.read_bytes() == clean.epub.read_bytes()
    assert marker_problems(kept.epub, kept.pdf) == []


def test_a_page_list_passes_epubcheck_and_ace_and_says_so_in_the_metadata(
        generated: Built, tmp_path: Path) -> None:
    report = epubcheck(generated.epub, tmp_path)
    assert [m["ID"] for m in report["messages"]] == []
    assert ace_violations(run_ace(generated.epub, tmp_path / "ace")) == []
    epub = Epub(generated.epub)
    features = epub.meta("schema:accessibilityFeature")
    assert "printPageNumbers" in features and "pageNavigation" in features
    source = epub.meta("pageBreakSource")
    assert source == ["A Generated History in 150 Pages, first edition, 6 × 9 in print"]
    summary = epub.meta("schema:accessibilitySummary")[0]
    assert "page numbers of the print edition" in summary and "blank pages have no marker" in summary
    _href, nav = epub.nav()
    assert nav.xpath("//x:nav[@epub:type='page-list']/@hidden", namespaces=NS) == ["hidden"]


def test_an_epub_only_build_marks_the_pages_the_last_pdf_build_laid_out(
        generated: Built, tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(generated.source, book)
    out = tmp_path / "out"
    shutil.copytree(generated.out, out)
    result = run_bookbuild("build", book, "--out", out, "--format", "epub")
    assert result.returncode == 0 and "no print page numbers" not in result.stdout + result.stderr
    assert epub_markers(out / generated.epub.name)[0] == epub_markers(generated.epub)[0]

    # A word changed: the kept pages are not these sources' any more.
    chapter = book / "chapter-002.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace(" the ", " a ", 1), encoding="utf-8")
    result = run_bookbuild("build", book, "--out", out, "--format", "epub")
    assert result.returncode == 0
    assert (result.stdout + result.stderr).count("no print page numbers") == 1
    epub = Epub(out / generated.epub.name)
    assert epub_markers(epub.path)[0] == []
    assert "pageNavigation" not in epub.meta("schema:accessibilityFeature")
    assert epub.meta("pageBreakSource") == []


def test_a_kept_page_map_from_elsewhere_is_not_used(generated: Built, tmp_path: Path) -> None:
    # Planted in a book's own build/ folder (or written by another user): not signed with
    # this user's key, so never read.
    book = tmp_path / "book"
    shutil.copytree(generated.source, book)
    out = tmp_path / "out"
    shutil.copytree(generated.out, out)
    kept = next((out / ".bookbuild-parts").glob("*.pages"))
    kept.write_text(kept.read_text().replace('"mac": "', '"mac": "0'))
    result = run_bookbuild("build", book, "--out", out, "--format", "epub")
    assert result.returncode == 0 and "no print page numbers" in result.stdout
    assert epub_markers(out / generated.epub.name)[0] == []


def test_page_list_false_in_the_manifest_writes_no_markers(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(SAMPLE, book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n[epub]\npage_list = false\n",
                        encoding="utf-8")
    built = build_book(book, tmp_path / "out")
    markers, page_list, _problems = epub_markers(built.epub)
    assert markers == [] and page_list == []
    assert "printPageNumbers" not in Epub(built.epub).meta("schema:accessibilityFeature")


def test_diff_sees_no_change_between_editions_with_and_without_markers(sample: Built,
                                                                        tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(SAMPLE, book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n[epub]\npage_list = false\n",
                        encoding="utf-8")
    unmarked = build_book(book, tmp_path / "out", "--format", "epub")
    assert epub_markers(unmarked.epub)[0] == [] and epub_markers(sample.epub)[0] != []
    result = run_bookbuild("diff", unmarked.epub, sample.epub)
    assert result.returncode == 0, result.stdout


def test_the_print_isbn_names_the_page_source(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(ONE_CHAPTER_MANIFEST.replace(
        'language = "en"', 'language = "en"\nisbn_print = "978-0-306-40615-7"'), encoding="utf-8")
    (book / "one.md").write_text("# One\n\n" + "Words of the chapter. " * 400 + "\n", encoding="utf-8")
    built = build_book(book, tmp_path / "out")
    assert Epub(built.epub).meta("pageBreakSource") == ["urn:isbn:9780306406157"]
    assert marker_problems(built.epub, built.pdf) == []


def test_an_author_id_that_looks_like_a_page_marker_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(ONE_CHAPTER_MANIFEST, encoding="utf-8")
    (book / "one.md").write_text("# One\n\nText.\n\n## Later {#page-12}\n\nMore.\n", encoding="utf-8")
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr == (f"{book}/one.md:5:11: error[id-reserved]: the id \"page-12\" is reserved "
                             "for the print page markers (choose another id)\n")


def test_a_heading_named_like_a_page_gets_another_id(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(ONE_CHAPTER_MANIFEST, encoding="utf-8")
    (book / "one.md").write_text("# One\n\nText.\n\n## Page 12\n\nMore.\n\n[Back](#page-12)\n",
                                 encoding="utf-8")
    built = build_book(book, tmp_path / "out")
    with zipfile.ZipFile(built.epub) as archive:
        root = etree.fromstring(archive.read("EPUB/text/one.xhtml"))
    heading = root.find(f".//{X}h2")
    assert heading is not None and heading.get("id") not in (None, "page-12")
    assert root.find(f".//{X}p/{X}a").get("href") == f"#{heading.get('id')}"


# ---- pagelist.py on small trees --------------------------------------------------------------

def _marked(body: str, *starts: PageStart) -> str:
    """`body` (XHTML inside <section id="u">) with the markers `starts` ask for, placed as
    pagelist.mark_pages places them."""
    root = etree.fromstring(f'<html xmlns="http://www.w3.org/1999/xhtml"><body><section id="u">'
                            f'{body}</section></body></html>'.encode())
    segments = pagelist._segments([root], {"u": "u"})["u"]
    stream = "".join(pagelist.counted(s.string) for s in segments)
    places = []
    for start in starts:
        position = pagelist._position(stream, start)
        assert position is not None
        places.append((start, *pagelist._word_start(segments, position, [s.before for s in segments])))
    for start, segment, index in reversed(places):
        pagelist._insert(pagelist._marker(start.label), segment, index)
    section = root.find(f".//{X}section")
    assert section is not None
    text = etree.tostring(section, encoding="unicode")
    return text[text.index(">") + 1:text.rindex("<")].replace(' xmlns="http://www.w3.org/1999/xhtml"', "") \
        .replace(' xmlns:epub="http://www.idpf.org/2007/ops"', "")


MARK = '<span epub:type="pagebreak" role="doc-pagebreak" id="page-7" aria-label="7"/>'


@pytest.mark.parametrize(("body", "offset", "snippet", "marked"), [
    # mid-paragraph: before the page's first word
    ("<p>One two three four.</p>", 6, "three", f"<p>One two {MARK}three four.</p>"),
    # a word hyphenated across the page break: before the word
    ("<p>One information here.</p>", 8, "mation", f"<p>One {MARK}information here.</p>"),
    # ... across an inline element
    ("<p>One <em>infor</em>mation.</p>", 8, "mation", f"<p>One {MARK}<em>infor</em>mation.</p>"),
    # at the start of an emphasis or a link: before it
    ("<p>One <a href='#x'><em>two</em></a> three.</p>", 3, "two",
     f'<p>One {MARK}<a href="#x"><em>two</em></a> three.</p>'),
    # between list items: at the start of the item
    ("<ul><li>One.</li><li>Two.</li></ul>", 4, "Two", f"<ul><li>One.</li><li>{MARK}Two.</li></ul>"),
    # between table rows: at the start of the first cell
    ("<table><tr><td>a</td></tr><tr><td>b</td><td>c</td></tr></table>", 1, "bc",
     f"<table><tr><td>a</td></tr><tr><td>{MARK}b</td><td>c</td></tr></table>"),
    # the count a little off (the editions' text differs): found by what follows
    ("<p>ISBN 978-0 Set in a face.</p>", 3, "Setin", f"<p>ISBN 978-0 {MARK}Set in a face.</p>"),
    # back-links are the EPUB's own: not counted
    ("<p>Note.<a class='backlink' href='#r'>↩</a> Next words.</p>", 5, "Next",
     f'<p>Note.<a class="backlink" href="#r">↩</a> {MARK}Next words.</p>'),
    # at the start of a heading: before it (the heading's name would say the number)
    ("<p>One.</p><h2>Two</h2>", 4, "Two", f"<p>One.</p>{MARK}<h2>Two</h2>"),
    # a heading a theme sets in capitals: the print's snippet is as the layout drew it (the
    # layout's count lands on "Two" only after a word the EPUB has and print lacks)
    ("<p>One.</p><h2>Two Three</h2><p>Four.</p>", 2, "TWOTHREEFour",
     f"<p>One.</p>{MARK}<h2>Two Three</h2><p>Four.</p>"),
    # never inside MathML: before the formula
    ('<p>One <math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math> two.</p>', 3, "x",
     f'<p>One {MARK}<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math> two.</p>'),
])
def test_a_marker_goes_before_the_word_the_page_begins_with(body: str, offset: int, snippet: str,
                                                            marked: str) -> None:
    assert _marked(body, PageStart(0, "7", "u", offset, snippet)) == marked


def test_two_pages_that_begin_in_one_paragraph_get_a_marker_each_in_order() -> None:
    body = "<p>" + " ".join(f"w{n}" for n in range(30)) + "</p>"
    marked = _marked(body, PageStart(0, "7", "u", 20, "w10"), PageStart(1, "8", "u", 50, "w20"))
    eight = MARK.replace("7", "8")
    assert marked == ("<p>" + " ".join(f"w{n}" for n in range(10)) + f" {MARK}"
                      + " ".join(f"w{n}" for n in range(10, 20)) + f" {eight}"
                      + " ".join(f"w{n}" for n in range(20, 30)) + "</p>")


def test_a_place_the_epub_lacks_gets_no_marker() -> None:
    assert pagelist._position("Short", PageStart(0, "7", "u", 40, "Nowhere")) is None


def test_a_table_that_runs_over_pages_is_marked_at_its_rows_not_its_repeated_header(
        tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(ONE_CHAPTER_MANIFEST, encoding="utf-8")
    rows = "\n".join(f"| {n} | Row {n} of the long table | {n * 7} |" for n in range(1, 141))
    (book / "one.md").write_text("# One\n\nBefore the table.\n\n| Number | Words | Sevens |\n"
                                 f"|---|---|---|\n{rows}\n\nAfter the table.\n", encoding="utf-8")
    built = build_book(book, tmp_path / "out")
    markers, _page_list, _problems = epub_markers(built.epub)
    assert len(markers) >= 4  # the table runs over three pages at least
    assert marker_problems(built.epub, built.pdf) == []
    with zipfile.ZipFile(built.epub) as archive:
        root = etree.fromstring(archive.read("EPUB/text/one.xhtml"))
    for span in root.iter(f"{X}span"):  # each at the start of a cell of the body's rows
        assert span.getparent().tag == f"{X}td" or span.getparent().tag in (f"{X}h1", f"{X}section")


def _preface_markers(tree: etree._Element) -> list[etree._Element]:
    return [s for s in tree.iter(f"{X}span") if s.get("role") == "doc-pagebreak"]


def _a_word_late(tree: etree._Element) -> None:
    marker = _preface_markers(tree)[1]  # a page that begins mid-paragraph
    first, rest = (marker.tail or "").split(" ", 1)
    marker.tail = rest
    before = marker.getprevious()
    if before is not None:
        before.tail = (before.tail or "") + first + " "
    else:
        parent = marker.getparent()
        parent.text = (parent.text or "") + first + " "


def _swapped(tree: etree._Element) -> None:
    one, two = _preface_markers(tree)[1:3]
    labels = one.get("aria-label"), two.get("aria-label")
    for marker, label in zip((one, two), reversed(labels), strict=True):
        marker.set("aria-label", label)
        marker.set("id", f"page-{label}")


@pytest.mark.parametrize("spoil", [_a_word_late, _swapped])
def test_the_check_finds_a_marker_a_word_late_or_on_another_page(sample: Built, tmp_path: Path,
                                                                  spoil: object) -> None:
    # pagecheck itself: markers moved are found (else the tests above could pass on wrong ones).
    with zipfile.ZipFile(sample.epub) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    name = "EPUB/text/preface.xhtml"
    tree = etree.fromstring(entries[name])
    assert callable(spoil)
    spoil(tree)
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(broken, "w") as archive:
        for entry, content in entries.items():
            archive.writestr(entry, etree.tostring(tree, xml_declaration=True, encoding="utf-8")
                             if entry == name else content)
    assert marker_problems(broken, sample.pdf) != []
