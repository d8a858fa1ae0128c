"""The structures real books have, built end to end and read back from the EPUB and the PDF:
dedications and epigraphs without headings, parts, back matter, verse, definition lists, tables
with empty header cells, note calls in headings and block quotes, links between files, titles
with quotes, long documents split for older readers, the contents' page numbers on one edge."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pypdfium2
import pytest
from conftest import BOOKS, NS, Built, Epub, ace_violations, build_book, epubcheck, run_ace, run_bookbuild
from conftest import text_of as text
from lxml import etree
from pdfread import Pdf, line_starts

BOOK = BOOKS / "structures"
XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_book(BOOK, tmp_path_factory.mktemp("structures"))


@pytest.fixture(scope="module")
def epub(built: Built) -> Epub:
    return Epub(built.epub)


@pytest.fixture(scope="module")
def pdf(built: Built) -> Pdf:
    return Pdf(built.pdf)


def nav_tree(epub: Epub) -> list:
    """The nav's contents as nested [title, [children]] lists."""
    _, nav = epub.nav()

    def walk(ol: etree._Element) -> list:
        items = []
        for li in ol.findall(f"{XHTML}li"):
            child = li.find(f"{XHTML}ol")
            items.append([text(li.find(f"{XHTML}a")), walk(child) if child is not None else []])
        return items

    return walk(nav.xpath("//x:nav[@epub:type='toc']/x:ol", namespaces=NS)[0])


def outline_tree(pdf: Pdf) -> list:
    def walk(items: list) -> list:
        tree: list = []
        for item in items:
            if isinstance(item, list):
                tree[-1][1] = walk(item)
            else:
                tree.append([item.title, []])
        return tree

    return walk(pdf.reader.outline)


def test_epubcheck_and_ace_find_nothing(built: Built, tmp_path: Path) -> None:
    report = epubcheck(built.epub, tmp_path)
    assert report["messages"] == []
    assert ace_violations(run_ace(built.epub, tmp_path / "ace")) == []


def test_untitled_dedication_has_a_page_and_a_title_but_no_entry(epub: Epub, pdf: Pdf) -> None:
    page = epub.document("text/dedication.xhtml")
    assert text(page.find(f".//{XHTML}title")) == "Dedication"
    section = page.find(f".//{XHTML}section")
    assert section.get(f"{{{NS['epub']}}}type") == "dedication" and section.get("role") == "doc-dedication"
    assert section.get("aria-label") == "Dedication"
    assert page.find(f".//{XHTML}h1") is None
    titles = str(nav_tree(epub))
    assert "Dedication" not in titles and "Epigraph" not in titles
    contents = next(t for t in pdf.texts if t.startswith("Contents"))
    assert "mother" not in contents and "Dedication" not in contents
    assert not any("mother" in title or "Dedication" in title for title in pdf.outline_titles())
    # In print: a recto page of its own, with no running head and no folio.
    index = next(i for i, t in enumerate(pdf.texts) if t.startswith("To my mother"))
    assert index % 2 == 0
    assert pdf.texts[index] == "To my mother who read to me"


def test_parts_group_their_chapters_and_back_matter_returns_to_the_top(epub: Epub, pdf: Pdf) -> None:
    expected = [
        ["Acknowledgments", []],
        ["Part One: Beginnings", [["The Factory System", []], ["Second Chapter, with a Link", []]]],
        ["Part Two: Endings", [["Third Chapter", []]]],
        ["Afterword", []],
        ["About the Author’s Life", []],
        ["Notes", []],
    ]
    assert nav_tree(epub) == expected
    outline = outline_tree(pdf)
    part_one = next(item for item in outline if item[0] == "Part One: Beginnings")
    assert [child[0] for child in part_one[1]] == ["The Factory System", "Second Chapter, with a Link"]
    assert next(item for item in outline if item[0] == "Part Two: Endings")[1][0][0] == "Third Chapter"
    assert ["Afterword", []] in outline
    for name, kind in [("part-one", "part"), ("acknowledgments", "acknowledgments"),
                       ("afterword", "afterword")]:
        section = epub.document(f"text/{name}.xhtml").find(f".//{XHTML}section")
        assert section.get("role") == f"doc-{kind}"
    about = epub.document("text/about.xhtml").find(f".//{XHTML}section")
    assert about.get("role") is None and about.get(f"{{{NS['epub']}}}type") is None


def test_a_note_call_in_a_title_works_and_stays_out_of_every_other_place(epub: Epub, pdf: Pdf) -> None:
    chapter = epub.document("text/chapter-1.xhtml")
    call = chapter.find(f".//{XHTML}h1//{XHTML}a")
    assert call.get("role") == "doc-noteref" and call.get("href") == "notes.xhtml#chapter-1-note-1"
    notes = epub.document("text/notes.xhtml")
    note = notes.xpath("//x:li[@id='chapter-1-note-1']", namespaces=NS)[0]
    assert note.xpath(".//x:a[@role='doc-backlink']/@href", namespaces=NS) == \
        [f"chapter-1.xhtml#{call.get('id')}"]
    assert text(chapter.find(f".//{XHTML}title")) == "The Factory System"
    assert text(notes.xpath("//x:section[@class='notes-group']/x:h2", namespaces=NS)[0]) == \
        "The Factory System"
    assert "The Factory System" in pdf.outline_titles()
    contents = next(t for t in pdf.texts if t.startswith("Contents"))
    assert re.search(r"The Factory System[ .]+3 ", contents), contents
    # The running head of the chapter's second page, and the note's page in the print notes.
    notes_page = next(t for t in pdf.texts if t.startswith("Notes The Factory System"))
    assert "A note called from the chapter’s title. (page 3)" in notes_page
    # A running head takes the title without its call: the afterword's recto after its opening.
    opening = pdf.page_starting_with("Afterword")
    lines = pypdfium2.PdfDocument(pdf.path)[opening + 2].get_textpage().get_text_range().splitlines()
    assert opening % 2 == 0 and "afterword" in [line.strip() for line in lines]  # not "afterword1"
    assert "Afterword" in pdf.outline_titles()


def test_note_numbers_follow_reading_order(epub: Epub) -> None:
    chapter = epub.document("text/chapter-1.xhtml")
    calls = chapter.xpath("//x:a[@role='doc-noteref']", namespaces=NS)
    assert [text(call) for call in calls] == ["1", "2", "3", "4"]
    notes = epub.document("text/notes.xhtml")
    bodies = [text(li) for li in notes.xpath("//x:section[@class='notes-group'][1]//x:li", namespaces=NS)]
    assert bodies[2].startswith("Called from inside a block quote")
    assert bodies[3].startswith("Called after the quotation")


def test_a_link_in_a_title_leaves_a_plain_contents_entry(epub: Epub, pdf: Pdf) -> None:
    contents = next(t for t in pdf.texts if t.startswith("Contents"))
    assert re.search(r"Second Chapter, with a Link[ .]+5 ", contents), contents
    heading = epub.document("text/chapter-2.xhtml").find(f".//{XHTML}h1")
    assert heading.find(f"{XHTML}a").get("href") == "#appendix-1"


def test_links_to_markdown_files_become_links_in_both_outputs(epub: Epub, built: Built) -> None:
    chapter = epub.document("text/chapter-1.xhtml")
    hrefs = chapter.xpath("//x:p/x:a/@href", namespaces=NS)
    assert hrefs == ["chapter-2.xhtml#an-anchor", "chapter-2.xhtml#chapter-2"]
    anchor_page = Pdf(built.pdf).page_starting_with("Second Chapter")
    first_page = Pdf(built.pdf).page_starting_with("The Factory System")
    targets = [t for index in range(len(Pdf(built.pdf).pages)) for t in _link_targets(built.pdf, index)]
    assert targets and not [t for t in targets if isinstance(t, str) and ".md" in t]
    assert anchor_page in _link_targets(built.pdf, first_page + 1) or \
        anchor_page in _link_targets(built.pdf, first_page)


def _link_targets(path: Path, index: int) -> list[int | str]:
    """Where each link on a page goes: a page index, or a URI."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    found: list[int | str] = []
    for annotation in reader.pages[index].get("/Annots") or []:
        annotation = annotation.get_object()
        action = annotation.get("/A")
        if action is not None and "/URI" in action:
            found.append(str(action["/URI"]))
        destination = annotation.get("/Dest")
        if destination is not None:
            if not isinstance(destination, list):
                destination = reader.named_destinations[str(destination)]
                found.append(reader.get_destination_page_number(destination))
            else:
                found.append(reader.get_page_number(destination[0].get_object()))
    return found


def test_a_link_to_a_file_outside_the_contents_is_an_error(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text('[book]\ntitle = "T"\ndate = "2025-01-01"\n\n'
                                    '[[contents]]\nfile = "one.md"\n')
    (book / "one.md").write_text("# One\n\nText.\n\nSee [the notes](notes.md#x).\n")
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        'one.md:5:17: error[link-file]: the link to "notes.md" names no file of the book\'s contents '
        "(link to a file listed in [[contents]], or to a web address)")
    assert not (tmp_path / "out").exists()


def test_empty_header_cells_are_data_cells(epub: Epub) -> None:
    table = epub.document("text/chapter-1.xhtml").find(f".//{XHTML}table")
    first_row = table.find(f".//{XHTML}tr")
    assert [cell.tag.removeprefix(XHTML) for cell in first_row] == ["td", "th", "th"]
    assert all(text(th) for th in table.iter(f"{XHTML}th"))
    figures = table.xpath(".//x:td[@class='num']", namespaces=NS)
    assert [text(td) for td in figures][:2] == ["29,000", "77,000"]


def test_titles_and_names_get_the_texts_typography(epub: Epub, pdf: Pdf, built: Built) -> None:
    assert epub.opf.xpath("//dc:title/text()", namespaces=NS) == ["The Reader’s Companion",
                                                                 "A “test” of structures"]
    assert epub.opf.xpath("//dc:creator/text()", namespaces=NS) == ["Ada O’Example"]
    title_page = epub.document("text/titlepage.xhtml")
    assert text(title_page.find(f".//{XHTML}h1")).replace("\xa0", " ") == "The Reader’s Companion"
    assert pdf.texts[0] == "THE READER’S COMPANION"
    # The running head of a verso carries the book's title.
    assert any("the reader’s companion" in t for t in pdf.texts[4:])
    assert "'" not in "".join(pdf.texts[:4])


def test_verse_keeps_its_lines_and_indents(epub: Epub, built: Built) -> None:
    chapter = epub.document("text/chapter-1.xhtml")
    verse = chapter.xpath("//x:p[@class='verse']", namespaces=NS)[0]
    lines = verse.xpath("x:span", namespaces=NS)
    assert [(line.get("class"), text(line)) for line in lines] == [
        ("line", "I celebrate myself, and sing myself,"),
        ("line", "And what I assume you shall assume,"),
        ("line i1", "For every atom belonging to me as good belongs to you."),
    ]
    epigraph = epub.document("text/epigraph.xhtml").xpath("//x:span[not(@role='doc-pagebreak')]",
                                                          namespaces=NS)
    assert [line.get("class") for line in epigraph] == ["line", "line", "line i1"]
    # In print each line starts a line of its own; the indented one starts further right.
    starts = line_starts(built.pdf, ["I celebrate", "And what I", "For every atom"])
    assert starts["I celebrate"] == pytest.approx(starts["And what I"], abs=0.5)
    assert starts["For every atom"] > starts["And what I"] + 10


def test_definition_lists(epub: Epub) -> None:
    chapter = epub.document("text/chapter-1.xhtml")
    terms = chapter.xpath("//x:dl/x:dt", namespaces=NS)
    assert [text(t) for t in terms] == ["Apple", "Pear"]
    assert text(chapter.xpath("//x:dl/x:dd", namespaces=NS)[0]) == "A fruit that keeps."


def test_a_chapter_epigraph_is_marked_as_one(epub: Epub) -> None:
    chapter = epub.document("text/chapter-3.xhtml")
    quote = chapter.find(f".//{XHTML}blockquote")
    assert quote.get("role") == "doc-epigraph" and quote.get(f"{{{NS['epub']}}}type") == "epigraph"
    assert chapter.xpath("//x:blockquote[@role='doc-epigraph']", namespaces=NS) == [quote]
    # A block quote later in a chapter is a quotation, not an epigraph.
    assert epub.document("text/chapter-1.xhtml").find(f".//{XHTML}blockquote").get("role") is None


def test_markup_the_dialect_lacks_is_a_warning(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text('[book]\ntitle = "T"\ndate = "2025-01-01"\n\n'
                                    '[[contents]]\nfile = "one.md"\n')
    (book / "one.md").write_text("# One\n\n: a definition with no term\n\n"
                                 "A line that ends in a backslash\\\nand goes on.\n")
    result = run_bookbuild("build", book, "--out", tmp_path / "out", "--format", "epub")
    assert result.returncode == 0
    lines = result.stderr.strip().splitlines()
    assert [line.removeprefix(f"{book}/") for line in lines] == [
        'one.md:3:1: warning[definition-list]: a line starting with ":" has no term above it '
        "(put the term on the line just above it, as a definition list has it)",
        "one.md:5:32: warning[line-break]: a backslash at the end of a line is not a line break "
        "here: it would print as a backslash (end the line with two spaces instead)",
    ]


def test_note_back_links_close_the_last_paragraph(epub: Epub) -> None:
    notes = epub.document("text/notes.xhtml")
    for link in notes.xpath("//x:a[@role='doc-backlink']", namespaces=NS):
        assert link.getparent().tag == f"{XHTML}p"


def test_cover_fits_a_phone_screen(built: Built, tmp_path: Path) -> None:
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with zipfile.ZipFile(built.epub) as archive:
        archive.extractall(tmp_path / "epub")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 360, "height": 640})
        page.goto((tmp_path / "epub/EPUB/text/cover.xhtml").as_uri())
        box = page.evaluate("(() => { const r = document.querySelector('img').getBoundingClientRect();"
                            " return [r.left, r.top, r.right, r.bottom]; })()")
        browser.close()
    left, top, right, bottom = box
    assert left >= 0 and top >= 0 and right <= 360 and bottom <= 640
    assert right - left > 300 or bottom - top > 600  # it fills the screen, not a corner of it


def test_long_documents_are_split_for_older_readers(tmp_path: Path) -> None:
    book = tmp_path / "long"
    book.mkdir()
    (book / "book.toml").write_text('[book]\ntitle = "Long"\ndate = "2025-01-01"\n\n'
                                    '[[contents]]\nfile = "one.md"\n\n[[contents]]\nfile = "two.md"\n')
    paragraph = "A sentence of the long chapter that goes on for a while to fill the file. " * 8
    parts = ["# One\n"]
    for section in range(1, 31):
        parts.append(f"## Section {section}\n")
        parts += [f"{paragraph}[^n{section}-{k}]\n" for k in range(20)]
    parts += [f"[^n{s}-{k}]: " + f"The note {s}.{k}, with words enough to weigh something in the "
              "notes document. " * 3 for s in range(1, 31) for k in range(20)]
    (book / "one.md").write_text("\n".join(parts))
    (book / "two.md").write_text("# Two\n\nBack to [section 12](one.md#section-12).\n")
    out = tmp_path / "out"
    built = build_book(book, out, "--format", "epub")
    epub = Epub(built.epub)
    sizes = {href: len(epub.zip.read(epub.href(href))) for href in epub.spine}
    assert max(sizes.values()) <= 300 * 1024, sizes
    assert len([h for h in sizes if h.startswith("text/one")]) >= 2
    assert len([h for h in sizes if h.startswith("text/notes")]) >= 2
    # Every link lands on an id that exists in the file it names.
    ids = {href: set(epub.document(href).xpath("//@id")) for href in epub.spine}
    for href in epub.spine:
        base = href.rpartition("/")[0]
        for link in epub.document(href).xpath("//x:a/@href", namespaces=NS):
            target, _, fragment = link.partition("#")
            target = f"{base}/{target}" if target else href
            assert target in ids and (not fragment or fragment in ids[target]), (href, link)
    assert epubcheck(built.epub, tmp_path)["messages"] == []


def test_contents_numbers_stand_on_one_right_edge(tmp_path: Path) -> None:
    """A title that wraps and roman numbers: every number ends at the same x, clear of the dots."""
    book = tmp_path / "book"
    book.mkdir()
    paragraph = "A paragraph of the preface that fills the front matter with roman pages. " * 10
    (book / "preface.md").write_text("# Preface\n\n" + "\n\n".join([paragraph] * 45))
    (book / "foreword.md").write_text("# Foreword\n\n" + paragraph)
    (book / "one.md").write_text("# A Chapter Whose Title Is So Long That It Cannot Fit on One Line of "
                                 "the Contents Page\n\n" + paragraph)
    (book / "two.md").write_text("# Two\n\n" + paragraph)
    (book / "book.toml").write_text(
        '[book]\ntitle = "Numbers"\ndate = "2025-01-01"\n\n[[contents]]\nfile = "foreword.md"\n'
        'kind = "foreword"\n\n[[contents]]\nfile = "preface.md"\nkind = "preface"\n\n'
        '[[contents]]\nfile = "one.md"\n\n[[contents]]\nfile = "two.md"\n')
    built = build_book(book, tmp_path / "out", "--format", "pdf")
    numbers = _contents_numbers(built.pdf)
    assert [n for n, _, _ in numbers][:2] == ["vii", "ix"] and len(numbers) == 4
    assert any(len(n) >= 3 for n, _, _ in numbers)  # a wide roman number
    edges = [right for _, _, right in numbers]
    assert max(edges) - min(edges) <= 0.5, numbers
    for _, gap, _ in numbers:
        assert gap >= 3, numbers  # the dots stop short of the number


def _contents_numbers(path: Path) -> list[tuple[str, float, float]]:
    """Each contents line's page number, the gap before it, and its right edge."""
    document = pypdfium2.PdfDocument(path)
    for index in range(len(document)):
        textpage = document[index].get_textpage()
        if not textpage.get_text_range().lstrip().startswith("Contents"):
            continue
        lines: dict[int, list[tuple[float, float, str]]] = {}
        for i in range(textpage.count_chars()):
            char = textpage.get_text_range(i, 1)
            if char.strip():
                left, bottom, right, _ = textpage.get_charbox(i, loose=True)  # loose: on the baseline
                lines.setdefault(round(bottom), []).append((left, right, char))
        found = []
        for key in sorted(lines, reverse=True):
            chars = sorted(lines[key])
            tail, right_edge, number_left = "", 0.0, 0.0
            while chars and (chars[-1][2].isdigit() or chars[-1][2] in "ivxlc"):
                left, right, char = chars.pop()
                right_edge = right_edge or right
                tail, number_left = char + tail, left
            if tail and chars and chars[-1][2] == ".":
                found.append((tail, number_left - chars[-1][1], right_edge))
        return found
    raise AssertionError("no contents page")


def test_a_parts_own_epigraph_keeps_the_part_together(tmp_path: Path) -> None:
    from bookbuild.loader import load

    book = tmp_path / "book"
    book.mkdir()
    for name, source in [("part.md", "# Part Two\n"), ("motto.md", "> A motto.\n"), ("one.md", "# One\n"),
                       ("after.md", "# Afterword\n")]:
        (book / name).write_text(source)
    (book / "book.toml").write_text(
        '[book]\ntitle = "T"\ndate = "2025-01-01"\n\n[[contents]]\nfile = "part.md"\nkind = "part"\n\n'
        '[[contents]]\nfile = "motto.md"\nkind = "epigraph"\n\n[[contents]]\nfile = "one.md"\n\n'
        '[[contents]]\nfile = "after.md"\nkind = "afterword"\n')
    assert [(s.id, s.part) for s in load(book).sections] == [
        ("part", None), ("motto", "part"), ("one", "part"), ("after", None)]


def test_diff_reads_the_notes_of_a_title_with_a_note_call(built: Built) -> None:
    from bookbuild.diff import read_epub

    chapters = {c.title: c for c in read_epub(built.epub).chapters}
    assert len(chapters["The Factory System"].notes) == 4
    assert "Dedication" in chapters


def test_a_list_too_long_for_one_document_is_split_and_numbered_on(tmp_path: Path) -> None:
    book = tmp_path / "list"
    book.mkdir()
    items = "".join(f"{n}. An entry of the long bibliography, number {n}, with a title and a place "
                    f"of publication long enough to weigh.\n" for n in range(1, 3001))
    (book / "one.md").write_text(f"# Bibliography\n\n{items}")
    (book / "book.toml").write_text('[book]\ntitle = "L"\ndate = "2025-01-01"\n\n[[contents]]\n'
                                    'file = "one.md"\nkind = "appendix"\n')
    epub = Epub(build_book(book, tmp_path / "out", "--format", "epub").epub)
    documents = [href for href in epub.spine if href.startswith("text/one")]
    assert len(documents) >= 2
    assert all(len(epub.zip.read(epub.href(href))) <= 300 * 1024 for href in documents)
    lists = [ol for href in documents for ol in epub.document(href).xpath("//x:ol", namespaces=NS)]
    starts = [int(ol.get("start", "1")) for ol in lists]
    counts = [len(ol) for ol in lists]
    assert starts[0] == 1 and all(starts[i + 1] == starts[i] + counts[i] for i in range(len(lists) - 1))
    assert sum(counts) == 3000
    assert epubcheck(epub.path, tmp_path)["messages"] == []
