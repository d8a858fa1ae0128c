"""A book's own CSS, read with tinycss2: what it imports and loads is checked to stay in the book
and is packed into the EPUB where the CSS expects it; inline SVG and MathML reach the EPUB valid."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import Epub, ace_violations, build_book, epubcheck, run_ace, run_bookbuild
from pdfread import Pdf
from PIL import Image

from bookbuild.diagnostics import Report
from bookbuild.stylesheets import check_stylesheet, references

MANIFEST = """stylesheets = ["book.css"]

[book]
title = "Case"
language = "en"
date = "2024-05-01"

[[contents]]
file = "one.md"
"""


def a_font_file() -> Path:
    """Any TrueType font of this machine, to stand for a book's own typeface."""
    found = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Sans:style=Book"],
                           capture_output=True, text=True, check=False).stdout.strip()
    if not found.endswith(".ttf"):
        found = str(next(Path("/usr/share/fonts").rglob("*.ttf")))
    return Path(found)


def make_book(root: Path, css: str, markdown: str = "# One\n\nA short chapter.\n") -> Path:
    book = root / "book"
    (book / "css").mkdir(parents=True)
    (book / "fonts").mkdir()
    (book / "book.toml").write_text(MANIFEST)
    (book / "one.md").write_text(markdown)
    (book / "book.css").write_text(css)
    return book


@pytest.fixture(scope="module")
def styled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("styled")
    book = make_book(root, '@import "css/more.css";\n'
                     '@font-face { font-family: "Mine"; src: url("fonts/My-Font.ttf"); }\n'
                     'p { font-family: "Mine", serif; }\n')
    (book / "css" / "more.css").write_text('h1 { background: url("../images/paper.png") repeat-x; }\n')
    (book / "images").mkdir()
    Image.new("RGB", (8, 8), "white").save(book / "images" / "paper.png")
    shutil.copy(a_font_file(), book / "fonts" / "My-Font.ttf")
    (book / "fonts" / "OFL.txt").write_text("SIL Open Font License, Version 1.1\n")
    (book / "fonts" / "LICENSE.txt").write_text("Copyright the font's authors\n")
    (book / "fonts" / "notes.txt").write_text("not a licence\n")
    return book, build_book(book, root / "out")


def test_what_a_stylesheet_imports_and_loads_is_packed_where_it_points(styled: tuple) -> None:
    _, built = styled
    names = zipfile.ZipFile(built.epub).namelist()
    for name in ("EPUB/book.css", "EPUB/css/more.css", "EPUB/fonts/My-Font.ttf", "EPUB/images/paper.png",
                 "EPUB/fonts/OFL.txt", "EPUB/fonts/LICENSE.txt",  # (the font's licence goes with it)
                 "EPUB/fonts/LICENSE-EBGaramond.txt"):  # (and bookbuild's typeface's, under its name)
        assert name in names
    assert "EPUB/fonts/notes.txt" not in names
    chapter = Epub(built.epub).document("text/one.xhtml")
    links = chapter.xpath("//x:link/@href", namespaces={"x": "http://www.w3.org/1999/xhtml"})
    assert links == ["../styles/book.css", "../book.css"]  # the book's CSS after ours


def test_a_book_with_its_own_font_builds_without_a_word_and_validates(styled: tuple, tmp_path: Path
                                                                      ) -> None:
    _, built = styled
    assert "warning" not in built.stderr and "error" not in built.stderr, built.stderr
    assert epubcheck(built.epub, tmp_path)["messages"] == []
    assert ace_violations(run_ace(built.epub, tmp_path / "ace")) == []


def test_the_pdf_sets_the_text_in_the_books_own_font(styled: tuple) -> None:
    _, built = styled
    fonts = subprocess.run(["pdffonts", str(built.pdf)], capture_output=True, text=True, check=True).stdout
    assert "+Mine" in fonts  # embedded under its @font-face name
    drawn: dict[str, str] = {}

    def visit(text: str, cm: object, tm: object, font: dict | None, size: float) -> None:
        if font is not None and text.strip():
            drawn[str(font["/BaseFont"])] = drawn.get(str(font["/BaseFont"]), "") + text

    for page in Pdf(built.pdf).reader.pages:
        page.extract_text(visitor_text=visit)
    body_font = next(name for name, text in drawn.items() if "short chapter" in text)
    assert body_font.endswith("+Mine")


@pytest.mark.parametrize(("css", "code", "line", "col"), [
    ("p { background: url('\\68ttp://example.org/x.png'); }", "css-remote", 1, 17),  # a CSS escape
    ('@import url("https://example.org/a.css");', "css-remote", 1, 1),
    ("@import '//example.org/a.css' screen;", "css-remote", 1, 1),
    ('@import "../../../etc/passwd.css";', "css-outside", 1, 1),
    ("@font-face { font-family: X; src: url(file:///etc/fonts/x.ttf); }", "css-outside", 1, 35),
    ("@font-face { font-family: X; src: url(fonts/none.ttf); }", "css-missing", 1, 35),
    ("\n\nh1 { background: image-set('//evil.org/y.png' 1x); }", "css-remote", 3, 18),
    ("q { background: url(notes.txt) }", "css-file-type", 1, 17),
    ("q { background: url('my%20notes.css') }", "css-file-name", 1, 17),
    ("@import 'data:text/css,@import url(https://example.org/t.css);';", "css-data", 1, 1),
    ("p { background: url('data:text/html,<script>x</script>') }", "css-data", 1, 17),
    ("p { background: url(cut.png) }", "image-broken", 1, 17),
])
def test_a_reference_a_book_may_not_make_is_an_error_with_its_line(tmp_path: Path, css: str, code: str,
                                                                   line: int, col: int) -> None:
    book = make_book(tmp_path, css)
    (book / "notes.txt").write_text("x")
    (book / "my notes.css").write_text("")
    whole = book / "whole.png"
    Image.new("RGB", (300, 300), "navy").save(whole)
    (book / "cut.png").write_bytes(whole.read_bytes()[:400])
    report = Report()
    check_stylesheet(book / "book.css", book, report)
    assert [(d.code, d.line, d.col) for d in report.errors] == [(code, line, col)]


def test_an_import_inside_the_book_is_checked_too(tmp_path: Path) -> None:
    book = make_book(tmp_path, '@import "css/more.css";')
    (book / "css" / "more.css").write_text("\nbody { background: url(http://example.org/p.png) }")
    report = Report()
    used = check_stylesheet(book / "book.css", book, report)
    assert [(Path(d.path).name, d.code, d.line) for d in report.errors] == [("more.css", "css-remote", 2)]
    assert used == [book / "css" / "more.css"]


def test_an_import_cycle_ends(tmp_path: Path) -> None:
    book = make_book(tmp_path, '@import "css/more.css";')
    (book / "css" / "more.css").write_text('@import "../book.css";')
    report = Report()
    assert check_stylesheet(book / "book.css", book, report) == [book / "css" / "more.css",
                                                                 book / "book.css"]
    assert report.items == []


def test_a_stylesheet_nested_beyond_reason_is_an_error_not_a_crash(tmp_path: Path) -> None:
    book = make_book(tmp_path, "p { color: " + "(" * 20000 + " }")
    report = Report()
    assert check_stylesheet(book / "book.css", book, report) == []
    assert [d.code for d in report.errors] == ["css-nesting"]


def test_a_huge_stylesheet_is_refused_before_it_is_read(tmp_path: Path) -> None:
    book = make_book(tmp_path, "")
    with (book / "book.css").open("wb") as handle:
        handle.truncate(48 * 1024 * 1024)
    report = Report()
    check_stylesheet(book / "book.css", book, report)
    assert [d.code for d in report.errors] == ["file-too-large"]


def test_embedded_pictures_and_fonts_load_nothing(tmp_path: Path) -> None:
    book = make_book(tmp_path, "p { background: url(data:image/png;base64,iVBORw0KGgo=) }\n"
                     "@font-face { font-family: X; src: url(data:font/woff2;base64,d09GMgAB) }")
    report = Report()
    assert check_stylesheet(book / "book.css", book, report) == [] and report.items == []


def test_a_book_given_by_a_path_with_dot_dot_builds(tmp_path: Path) -> None:
    book = make_book(tmp_path, '@font-face { font-family: "Mine"; src: url("fonts/Mine.ttf"); }')
    shutil.copy(a_font_file(), book / "fonts" / "Mine.ttf")
    (tmp_path / "elsewhere").mkdir()
    result = run_bookbuild("build", "../book", "--out", "out", "--format", "epub", cwd=tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(next((tmp_path / "elsewhere" / "out").glob("*.epub"))).namelist()
    assert "EPUB/fonts/Mine.ttf" in names and not any(".." in name for name in names)


def test_references_reads_declarations_of_a_style_attribute() -> None:
    found = references("background: url( 'a.png' ); color: red", declarations=True)
    assert [(r.url, r.is_remote) for r in found] == [("a.png", False)]


def test_inline_svg_and_mathml_reach_the_epub_in_their_namespaces(tmp_path: Path) -> None:
    book = make_book(tmp_path, "", "# One\n\nA formula: <math><mi>x</mi><mo>=</mo><mn>2</mn></math>.\n\n"
                     '<svg viewBox="0 0 10 10" role="img" aria-label="A dot" width="20" height="20">'
                     '<circle cx="5" cy="5" r="4"/></svg>\n')
    built = build_book(book, tmp_path / "out")
    epub = Epub(built.epub)
    item = epub.opf.xpath("//opf:item[@href='text/one.xhtml']",
                          namespaces={"opf": "http://www.idpf.org/2007/opf"})[0]
    assert item.get("properties").split() == ["mathml", "svg"]
    chapter = epub.document("text/one.xhtml")
    assert chapter.xpath("//s:svg/@viewBox", namespaces={"s": "http://www.w3.org/2000/svg"}) == ["0 0 10 10"]
    assert chapter.xpath("count(//m:math/m:mi)", namespaces={"m": "http://www.w3.org/1998/Math/MathML"}) == 1
    assert epubcheck(built.epub, tmp_path)["messages"] == []
