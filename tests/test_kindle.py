"""--target kindle: the EPUB read as KDP's Kindle conversion would take it (kindle.py), and
`check --target kindle`, which converts it with Calibre and is never a pass without it."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import BOOKS, SAMPLE, build_book, run_bookbuild
from fontTools.ttLib import TTFont
from PIL import Image

from bookbuild import kindle
from bookbuild.model import EpubDocument
from bookbuild.resources import book_fonts


def kindle_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "warning[kindle-" in line]


def test_the_sample_book_loses_nothing_on_a_kindle(tmp_path: Path) -> None:
    built = build_book(SAMPLE, tmp_path / "out", "--format", "epub", "--target", "kindle")
    assert kindle_lines(built.stderr) == []
    assert built.epub.is_file()


def a_book_kindle_takes_badly(root: Path) -> Path:
    """Parts, chapters and their sections three levels deep in the contents, a square cover, a
    WOFF font, black text and a negative line height."""
    book = root / "book"
    (book / "fonts").mkdir(parents=True)
    (book / "part.md").write_text("# Part One\n")
    (book / "one.md").write_text("# One\n\nText.\n\n## A section\n\nMore text.\n")
    Image.new("RGB", (1600, 1600), "white").save(book / "cover.png")
    font = TTFont(str(next(f.path for f in book_fonts("Linux Libertine O").faces)))
    font.flavor = "woff"
    font.save(str(book / "fonts" / "face.woff"))
    (book / "extra.css").write_text(
        '@font-face { font-family: "Face"; src: url("fonts/face.woff"); }\n'
        "p.dark { color: #000; }\nh2 { line-height: -1em; }\nh3 { color: navy; }\n")
    (book / "book.toml").write_text(
        'stylesheets = ["extra.css"]\n\n[book]\ntitle = "Kindle"\ndate = "2026-11-25"\n\n'
        '[epub]\ntoc_depth = 2\ncover = "cover.png"\n\n'
        '[[contents]]\nfile = "part.md"\nkind = "part"\n\n[[contents]]\nfile = "one.md"\n')
    return book


def test_what_a_kindle_would_lose_is_a_warning_each(tmp_path: Path) -> None:
    book = a_book_kindle_takes_badly(tmp_path)
    built = build_book(book, tmp_path / "out", "--format", "epub", "--target", "kindle")
    epub = f"{tmp_path / 'out' / 'kindle.epub'}"
    assert kindle_lines(built.stderr) == [
        f"{epub}: warning[kindle-cover]: the cover (cover-image.png) is 1600 x 1600 pixels, 1.00 times "
        "as high as wide: KDP asks for 1.6 (1600 x 2560), and shows another shape with bars or cropped",
        f'{epub}: warning[kindle-nav-depth]: the contents nest 3 levels deep: Kindle devices and apps '
        'show 2 (KPG 5.2), so "A section" would not show (set [epub] toc_depth to 1 for the Kindle '
        "edition)",
        f"{epub}: warning[kindle-font]: fonts/face.woff is font/woff: Kindle embeds OpenType and "
        "TrueType fonts only (KPG 3.11), and sets that text in its own font (give the font as .otf "
        "or .ttf)",
        f'{epub}: warning[kindle-css]: extra.css: "p.dark" forces black text: on a Kindle set to a '
        "black background it cannot be read, and KDP may suppress the book (KPG) (leave the text's "
        "colour to the reader)",
        f'{epub}: warning[kindle-css]: extra.css: "h2" sets a negative line-height, which Kindle does '
        "not support (KPG 3.10.8)",
    ]
    # The same book for every other store: no such warning.
    other = build_book(book, tmp_path / "other", "--format", "epub")
    assert kindle_lines(other.stderr) == []


def test_the_manifest_can_name_kindle_among_its_stores(tmp_path: Path) -> None:
    book = a_book_kindle_takes_badly(tmp_path)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text().replace("[epub]\n", '[epub]\nstores = ["kindle"]\n'))
    built = build_book(book, tmp_path / "out", "--format", "epub")
    assert len(kindle_lines(built.stderr)) == 5


def test_forms_frames_scripts_and_inline_black_text_are_named() -> None:
    page = (b'<html xmlns="http://www.w3.org/1999/xhtml"><body><form><input/><input/></form>'
            b'<script>x()</script><p style="color: black; line-height: 1.2">Text.</p></body></html>')
    nav = b'<html xmlns="http://www.w3.org/1999/xhtml"><body><nav/></body></html>'
    package = SimpleNamespace(documents=(EpubDocument("text/one.xhtml", "one", "One", page),),
                              nav=EpubDocument("text/nav.xhtml", "nav", "Contents", nav))
    assert [message for _code, message, _hint in kindle._elements(package)] == [  # type: ignore[arg-type]
        "text/one.xhtml has a form (<form>): Kindle supports no forms, frames or JavaScript (KPG 3.10.1)",
        "text/one.xhtml has a form field (<input>): Kindle supports no forms, frames or JavaScript "
        "(KPG 3.10.1)",
        "text/one.xhtml has a script (Kindle runs none) (<script>): Kindle supports no forms, frames or "
        "JavaScript (KPG 3.10.1)",
        "text/one.xhtml: a <p>'s style forces black text: on a Kindle set to a black background it "
        "cannot be read, and KDP may suppress the book (KPG)",
    ]


def test_check_for_kindle_without_calibre_is_never_a_pass(tmp_path: Path) -> None:
    """Java and Node.js are there (EPUBCheck and Ace run), Calibre's ebook-convert is not."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("java", "node"):
        found = shutil.which(name)
        assert found is not None, f"{name} is not installed"
        os.symlink(found, tools / name)
    result = run_bookbuild("check", BOOKS / "features", "--target", "kindle", env={"PATH": str(tools)})
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    headline = next(line for line in lines if line.startswith("check: "))
    assert headline.startswith("check: incomplete, calibre not installed; ")
    assert "  calibre    not installed — install it: apt-get install calibre (or calibre-ebook.com); " \
           "its ebook-convert converts to AZW3" in lines
    assert "  epubcheck  0 errors, 0 warnings" in lines


def test_calibre_s_report_is_read_from_its_last_line() -> None:
    stdout = 'Parsing…\n[[2, "Referenced file \'EPUB/images/x.png\' not found"], [3, "CSS: bad"]]\n'
    assert kindle._reported(stdout) == [(2, "Referenced file 'EPUB/images/x.png' not found"),
                                        (3, "CSS: bad")]
    assert kindle._reported("Traceback …\nValueError: no\n") is None
    assert kindle._reported("") is None


@pytest.mark.skipif(shutil.which("calibre-debug") is None, reason="Calibre is not installed here")
def test_calibre_converts_the_sample_clean_and_names_a_missing_file(tmp_path: Path) -> None:
    built = build_book(SAMPLE, tmp_path / "out", "--format", "epub")
    assert kindle.convert_to_azw3(built.epub, "sample.epub").diagnostics == []
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(built.epub) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "EPUB/text/introduction.xhtml":
                data = data.replace(b"</section>", b'<p><img src="../images/gone.png" alt=""/></p></section>')
            target.writestr(info, data)
    found = kindle.convert_to_azw3(broken, "broken.epub").diagnostics
    assert [str(d) for d in found] == [
        "broken.epub: warning[kindle-convert]: Calibre: Referenced file 'EPUB/images/gone.png' not found"]


def test_the_contents_depth_hint_is_the_toc_depth_that_nests_two_levels() -> None:
    from bookbuild.model import TocEntry

    section = TocEntry("A section", "text/one.xhtml#s", (TocEntry("A subsection", "text/one.xhtml#t"),))
    chapters = (TocEntry("One", "text/one.xhtml", (section,)), TocEntry("Two", "text/two.xhtml"))
    [(code, message, hint)] = kindle._nav_depth(chapters, toc_depth=3)
    assert code == "nav-depth"
    assert message == ('the contents nest 3 levels deep: Kindle devices and apps show 2 (KPG 5.2), so '
                       '"A subsection" would not show')
    assert hint == "set [epub] toc_depth to 2 for the Kindle edition"
    assert list(kindle._nav_depth(chapters[1:], toc_depth=3)) == []
