"""Editors' workflow: a new book, editions with their history and ISBNs, and diff."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import BOOKS, SAMPLE, build_book, run_bookbuild
from pdfread import Pdf

SECOND_EDITION = """
[[editions]]
number = 1
date = "2026-11-22"
summary = "First publication."

[[editions]]
number = 2
date = "2027-03-01"
summary = "Corrections to the introduction; a note on the 1991 coup."
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The sample book's first edition, then a second with edits, built into the same folder."""
    root = tmp_path_factory.mktemp("editions")
    out = root / "out"
    first_src = root / "first"
    shutil.copytree(SAMPLE, first_src)
    build_book(first_src, out)
    second_src = root / "second"
    shutil.copytree(SAMPLE, second_src)
    manifest = second_src / "book.toml"
    text = manifest.read_text().replace('date = "2026-11-22"\n', "")
    isbns = 'isbn_epub = "978-0-306-40615-7"\nisbn_print = "978-1-56619-909-4"\n'
    text = text.replace("[book]\n", "[book]\n" + isbns)
    manifest.write_text(text + SECOND_EDITION)
    intro = second_src / "introduction.md"
    intro.write_text(intro.read_text()
                     .replace("On this page, readers will find", "In this book, readers will find")
                     .replace("The ICFI developed this work", "A paragraph new in the second edition.\n\n"
                              "The ICFI developed this work"))
    months = second_src / "final-months.md"
    months.write_text(months.read_text().replace(
        "In the aftermath of the collapse of the coup,",
        "In the aftermath[^new] of the collapse of the coup,") + "\n[^new]: A note new in this edition.\n")
    return first_src, second_src, out


def test_second_edition_builds_beside_the_first(editions: tuple[Path, Path, Path]) -> None:
    _, second, out = editions
    first_files = {p.name: sha(p) for p in out.iterdir() if not p.name.startswith(".")}
    result = run_bookbuild("build", second, "--out", out)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == [
        "the-dissolution-of-the-soviet-union-2nd-edition-cover.pdf",
        "the-dissolution-of-the-soviet-union-2nd-edition.epub",
        "the-dissolution-of-the-soviet-union-2nd-edition.pdf",
        "the-dissolution-of-the-soviet-union-cover.pdf",
        "the-dissolution-of-the-soviet-union.epub",
        "the-dissolution-of-the-soviet-union.pdf",
    ]
    assert {name: sha(out / name) for name in first_files} == first_files  # the first untouched


def test_copyright_pages_show_edition_history_and_own_isbn(editions: tuple[Path, Path, Path]) -> None:
    _, second, out = editions
    run_bookbuild("build", second, "--out", out)
    epub = zipfile.ZipFile(out / "the-dissolution-of-the-soviet-union-2nd-edition.epub")
    titlepage = " ".join(epub.read("EPUB/text/titlepage.xhtml").decode().split())
    assert "Second edition, March 1, 2027" in titlepage
    assert "First edition, November 22, 2026: First publication." in titlepage
    assert "Second edition, March 1, 2027: Corrections to the introduction; a note on the 1991 coup." \
        in titlepage
    assert "ISBN 978-0-306-40615-7" in titlepage and "978-1-56619-909-4" not in titlepage
    assert "urn:isbn:9780306406157" in epub.read("EPUB/content.opf").decode()
    pdf = Pdf(out / "the-dissolution-of-the-soviet-union-2nd-edition.pdf")
    copyright_page = next(t for t in pdf.texts if "Edition history" in t)
    assert "Second edition, March 1, 2027" in copyright_page
    assert "ISBN 978-1-56619-909-4" in copyright_page and "978-0-306-40615-7" not in copyright_page


def test_diff_names_exactly_the_changes(editions: tuple[Path, Path, Path]) -> None:
    _, second, out = editions
    run_bookbuild("build", second, "--out", out)
    old = out / "the-dissolution-of-the-soviet-union.epub"
    new = out / "the-dissolution-of-the-soviet-union-2nd-edition.epub"
    result = run_bookbuild("diff", old, new)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"--- {old}", f"+++ {new}"]
    assert "metadata date: '2026-11-22' -> '2027-03-01'" in lines
    intro = lines.index('chapter "Introduction":')
    assert lines[intro + 1] == "  + ¶3: A paragraph new in the second edition."
    assert lines[intro + 2].startswith("  ~ ¶5: [-On-] {+In+} this [-page,-] {+book,+} readers will find")
    months = lines.index('chapter "August-December 1991: The final months of the USSR":')
    assert lines[months + 1] == "  + note 2: A note new in this edition."
    assert lines[-1] == ("2 chapters differ (2 changed, 0 added, 0 removed); paragraphs: 1 changed, "
                         "1 added, 0 removed; notes: 1 added, 0 removed, 0 renumbered")
    # The two book folders compare the same way.
    folders = run_bookbuild("diff", editions[0], second)
    assert folders.returncode == 1 and "  + ¶3: A paragraph new in the second edition." in folders.stdout


def test_diff_reports_renumbered_notes(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(BOOKS / "features", old)
    shutil.copytree(BOOKS / "features", new)
    one = new / "one.md"
    one.write_text(one.read_text().replace("A chapter that calls a note[^a]",
                                           "A chapter that first calls[^z] a note[^a]")
                   + "\n[^z]: A note put before the others.\n")
    result = run_bookbuild("diff", old, new)
    assert result.returncode == 1
    assert result.stdout.splitlines()[2:] == [
        'chapter "The First Chapter":',
        "  ~ ¶1: A chapter that {+first+} calls a note and another, and links to the table "
        "in the next chapter.",
        "  note 1 is now note 2: The first note of chapter one.",
        "  note 2 is now note 3: The second note of chapter one.",
        "  + note 1: A note put before the others.",
        "1 chapter differs (1 changed, 0 added, 0 removed); paragraphs: 1 changed, 0 added, "
        "0 removed; notes: 1 added, 0 removed, 2 renumbered",
    ]


def test_diff_identical_and_unusable(tmp_path: Path, features_epub: Path) -> None:
    same = run_bookbuild("diff", features_epub, features_epub)
    assert same.returncode == 0 and same.stdout.splitlines()[-1] == "no differences in the text"
    junk = tmp_path / "junk.epub"
    junk.write_text("not a zip")
    bad = run_bookbuild("diff", junk, features_epub)
    assert bad.returncode == 2
    assert bad.stderr == (f"{junk}: error[diff-input]: not an EPUB bookbuild can read "
                          "(give two EPUB files or two book folders)\n")


@pytest.fixture
def features_epub(features) -> Path:
    return features.epub


def test_edition_history_is_validated(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text().replace("[book]\n", "[book]\nedition = 3\n") + SECOND_EDITION
                        .replace("number = 2", "number = 1"))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{manifest}:2: error[manifest]: edition = 3, but the last [[editions]] entry is number 1 "
        "(remove edition, or make them agree)",
        f"{manifest}:7: error[manifest]: date = 2025-03-14, but the last [[editions]] entry is dated "
        "2027-03-01 (remove date, or make them agree)",
        f"{manifest}:29: error[manifest]: edition 1 follows edition 1: list the editions oldest first",
    ]


def test_new_book_builds_and_checks_clean(tmp_path: Path) -> None:
    folder = tmp_path / "my-first-book"
    created = run_bookbuild("new", folder)
    assert created.returncode == 0, created.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        "book.toml", "chapter-1.md", "chapter-2.md", "images", "preface.md"]
    assert list((folder / "images").iterdir()) == []
    manifest = (folder / "book.toml").read_text()
    assert 'title = "My First Book"' in manifest
    assert manifest.count("#") > 30  # every key explained
    built = build_book(folder, tmp_path / "out")
    assert built.epub.name == "my-first-book.epub"
    checked = run_bookbuild("check", folder)
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.splitlines()[0] == "check: 0 errors, 0 warnings"


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = run_bookbuild("new", tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"{tmp_path}: error[new]: the folder is not empty; bookbuild new writes "
                             "only into a new or empty folder (choose another name)\n")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_book_date_must_agree_with_the_last_edition(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text() + SECOND_EDITION)
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr == (f"{manifest}:6: error[manifest]: date = 2025-03-14, but the last "
                             "[[editions]] entry is dated 2027-03-01 (remove date, or make them agree)\n")


def test_new_keeps_any_title_valid_toml(tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    title = 'A "Quoted" Title \\ with a backslash'
    assert run_bookbuild("new", folder, "--title", title).returncode == 0
    import tomllib

    assert tomllib.loads((folder / "book.toml").read_text())["book"]["title"] == title


def test_a_new_book_takes_its_second_edition_without_a_date_clash(tmp_path: Path) -> None:
    folder = tmp_path / "my book"
    made = run_bookbuild("new", folder)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1] == \
        f"next: bookbuild build '{folder}'   (or: bookbuild serve '{folder}')"
    with (folder / "book.toml").open("a") as manifest:
        manifest.write('\n[[editions]]\nnumber = 2\ndate = "2099-01-01"\nsummary = "Second."\n')
    built = run_bookbuild("build", folder, "--out", tmp_path / "out", "--format", "epub")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out" / "my-book-2nd-edition.epub").exists()


def test_diff_counts_chapters_and_notes_apart_and_an_epub_against_its_folder(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(BOOKS / "features", old)
    shutil.copytree(BOOKS / "features", new)
    (new / "three.md").write_text("# Three\n\nA chapter added.\n")
    with (new / "book.toml").open("a") as manifest:
        manifest.write('\n[[contents]]\nfile = "three.md"\n')
    one = new / "one.md"
    text = one.read_text().replace("[^b]", "", 1)
    one.write_text(text.replace("[^b]: The second note of chapter one.\n", ""))
    result = run_bookbuild("diff", old, new)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].startswith("2 chapters differ (1 changed, 1 added, 0 removed)")
    assert "notes: 0 added, 1 removed" in result.stdout.splitlines()[-1]
    built = build_book(old, tmp_path / "out", "--format", "epub")
    same = run_bookbuild("diff", built.epub, old)
    assert same.returncode == 0, same.stdout  # no false metadata change between the two forms


def _rewritten(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
    return target


def test_diff_reads_no_entity_of_an_epub_from_outside(tmp_path: Path, features_epub: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    opf = zipfile.ZipFile(features_epub).read("EPUB/content.opf")
    xxe = opf.replace(b"<package", f'<!DOCTYPE package [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n<package'
                      .encode(), 1).replace(b"<dc:title>", b"<dc:title>&x;", 1)
    hostile = _rewritten(features_epub, tmp_path / "xxe.epub", {"EPUB/content.opf": xxe})
    result = run_bookbuild("diff", hostile, features_epub)
    assert result.returncode == 2
    assert result.stderr == (f"{hostile}: error[diff-input]: not an EPUB bookbuild will read: the XML "
                             "declares entities (give two EPUB files or two book folders)\n")
    assert "TOP-SECRET" not in result.stdout + result.stderr


def test_diff_reads_no_entry_beyond_its_limit(tmp_path: Path, features_epub: Path) -> None:
    from bookbuild.limits import MAX_ARCHIVE_ENTRY_BYTES

    opf = zipfile.ZipFile(features_epub).read("EPUB/content.opf")
    bomb = opf + b" " * MAX_ARCHIVE_ENTRY_BYTES  # compresses to almost nothing
    hostile = _rewritten(features_epub, tmp_path / "bomb.epub", {"EPUB/content.opf": bomb})
    assert hostile.stat().st_size < 1024 * 1024
    result = run_bookbuild("diff", hostile, features_epub)
    assert result.returncode == 2
    assert "is larger than 50 MB" in result.stderr and result.stderr.count("\n") == 1


def test_diff_of_a_pipe_is_refused_without_waiting(tmp_path: Path, features_epub: Path) -> None:
    import os

    pipe = tmp_path / "pipe.epub"
    os.mkfifo(pipe)
    result = run_bookbuild("diff", pipe, features_epub)
    assert result.returncode == 2
    assert result.stderr == (f"{pipe}: error[diff-input]: not a regular file (give two EPUB files or two "
                             "book folders)\n")
