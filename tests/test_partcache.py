"""Layouts kept between builds: an edit lays out again what it changed and what depends on
its page numbers, and the PDF is byte for byte the one a clean build makes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT, build_book

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

from bookbuild.writers.partcache import CACHE_DIR

PART_NOTE = re.compile(r"\((\d+) of (\d+) parts laid out, the rest kept from the last build\)")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A preface with a note, parts, four chapters with notes, links between them and figures.
    return generate(tmp_path_factory.mktemp("book"), pages=40, features=True)


@pytest.fixture
def book(source: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "book"
    shutil.copytree(source, copy)
    build_book(copy, tmp_path / "out", "--format", "pdf")
    return copy


def rebuild(book: Path) -> tuple[str, bytes]:
    """Build again into the same folder: the output line, and the PDF."""
    built = build_book(book, book.parent / "out", "--format", "pdf")
    return built.stdout, built.pdf.read_bytes()


def clean(book: Path) -> bytes:
    return build_book(book, book.parent / "clean", "--format", "pdf", "--no-cache").pdf.read_bytes()


def laid_out(stdout: str) -> tuple[int, int] | None:
    found = PART_NOTE.search(stdout)
    return (int(found[1]), int(found[2])) if found else None


def add_to_paragraph(path: Path, words: str) -> None:
    text = path.read_text(encoding="utf-8")
    paragraph = text.index("\n\n", text.index("\n\n") + 2) + 2  # the chapter's second block
    path.write_text(text[:paragraph] + words + " " + text[paragraph:], encoding="utf-8")


def test_a_word_added_lays_out_its_chapter_again_and_nothing_else(book: Path) -> None:
    add_to_paragraph(book / "chapter-002.md", "Indeed,")
    stdout, pdf = rebuild(book)
    count = laid_out(stdout)
    assert count is not None and count[0] == 1, stdout
    assert pdf == clean(book)


def test_a_chapter_that_gains_pages_moves_the_numbers_after_it(book: Path) -> None:
    chapter = book / "chapter-002.md"
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text + "\n" + "\n\n".join([text.split("\n\n")[2]] * 6) + "\n", encoding="utf-8")
    stdout, pdf = rebuild(book)
    count = laid_out(stdout)
    # The chapter, the contents (its numbers moved) and the Notes (their "(page N)" moved).
    assert count is not None and count[0] == 3, stdout
    assert pdf == clean(book)


def test_a_replaced_image_lays_out_the_chapter_that_places_it(book: Path) -> None:
    from PIL import Image

    Image.new("L", (900, 450), 90).save(book / "images" / "field.png", dpi=(300, 300))
    stdout, pdf = rebuild(book)
    count = laid_out(stdout)
    assert count is not None and count[0] == 1, stdout  # chapter 3 has the only figure
    assert pdf == clean(book)


def test_a_stylesheet_change_lays_out_everything(book: Path) -> None:
    (book / "house.css").write_text("p { word-spacing: 0.01em; }\n", encoding="utf-8")
    manifest = book / "book.toml"
    manifest.write_text('stylesheets = ["house.css"]\n' + manifest.read_text(encoding="utf-8"))
    stdout, pdf = rebuild(book)
    assert laid_out(stdout) is None, stdout  # every part laid out
    assert pdf == clean(book)


def test_a_damaged_layout_is_laid_out_again(book: Path) -> None:
    cache = book.parent / "out" / CACHE_DIR
    for path in cache.rglob("*.pdf"):
        path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    for path in list(cache.rglob("*.json"))[:1]:
        path.write_text("{not json", encoding="utf-8")
    add_to_paragraph(book / "chapter-001.md", "Indeed,")
    stdout, pdf = rebuild(book)
    assert laid_out(stdout) is None, stdout
    assert pdf == clean(book)


def test_only_the_layouts_of_the_last_build_are_kept(book: Path) -> None:
    cache = book.parent / "out" / CACHE_DIR
    before = len(list(cache.rglob("*.json")))
    add_to_paragraph(book / "chapter-001.md", "Indeed,")
    rebuild(book)
    assert len(list(cache.rglob("*.json"))) == before
    fonts = list(cache.rglob("*.font"))
    # Each typeface's file once, not once per chapter, and its subset for the book.
    assert fonts and len(fonts) <= 2 * len(list(cache.rglob("*.subset"))) <= 12


def test_the_books_font_subsets_are_kept_and_checked(book: Path) -> None:
    cache = book.parent / "out" / CACHE_DIR
    subsets = sorted(cache.rglob("*.subset"))
    assert subsets  # one per typeface the book sets
    made = {path: path.stat().st_mtime_ns for path in subsets}
    add_to_paragraph(book / "chapter-002.md", "Indeed,")  # no glyph the book does not have
    _, pdf = rebuild(book)
    assert {path: path.stat().st_mtime_ns for path in sorted(cache.rglob("*.subset"))} == made
    assert pdf == clean(book)
    for path in subsets:  # a subset changed by hand is made again, not trusted
        font = path.parent / "fonts" / f"{json.loads(path.read_text())['font']}.font"
        font.write_bytes(font.read_bytes()[:-10] + b"0123456789")
    add_to_paragraph(book / "chapter-003.md", "Indeed,")
    _, pdf = rebuild(book)
    assert pdf == clean(book)
    for path in subsets:  # and written again, whole
        font = path.parent / "fonts" / f"{json.loads(path.read_text())['font']}.font"
        assert hashlib.sha256(font.read_bytes()).hexdigest() == font.stem


def test_a_kept_folder_that_is_a_link_is_neither_read_nor_emptied(book: Path, tmp_path: Path) -> None:
    kept = book.parent / "out" / CACHE_DIR
    (stem,) = [path for path in kept.iterdir() if path.is_dir()]
    victim = tmp_path / "elsewhere"
    shutil.copytree(stem, victim)  # layouts that would be found, and files a prune would remove
    (victim / "thesis.json").write_text("{}", encoding="utf-8")
    shutil.rmtree(stem)
    stem.symlink_to(victim, target_is_directory=True)
    before = sorted(path.name for path in victim.rglob("*"))
    add_to_paragraph(book / "chapter-001.md", "Indeed,")
    stdout, pdf = rebuild(book)
    assert laid_out(stdout) is None, stdout  # nothing taken from the link
    assert sorted(path.name for path in victim.rglob("*")) == before
    assert pdf == clean(book)
