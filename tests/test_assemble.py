"""The PDF laid out in parts, on several processes, is the book one layout of the whole makes:
the same pages with the same text, outline, labels, links and destinations, each font
embedded once, and the same bytes whatever the number of processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import BOOKS, ROOT, build_book, run_bookbuild
from pypdf import PdfReader

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

from bookbuild.pipeline import build_timestamp, iso, prepare
from bookbuild.printspec import MIN_PAGES
from bookbuild.render import render_print
from bookbuild.resources import book_fonts
from bookbuild.writers import pdf


@dataclass
class Pair:
    name: str
    parts: Path  # built by `bookbuild build` (the parts, on two processes)
    whole: Path  # one write_pdf of the whole book, as the book was laid out before parts


def one_layout(book_dir: Path, target: Path) -> Path:
    manuscript, _ = prepare(book_dir)
    document = render_print(manuscript, book_fonts(), iso(build_timestamp(manuscript.book)))
    result = pdf.write_pdf(document, target)
    service = document.options.target
    if document.options.pad_to_minimum and service in MIN_PAGES:  # (as the build does)
        pdf.with_blank_pages(result, MIN_PAGES[service], service)
    return target


@pytest.fixture(scope="module", params=["generated", "structures", "openings"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         monkeypatch_module: pytest.MonkeyPatch) -> Pair:
    if request.param == "generated":
        # ~200 pages: notes, a preface with a note, parts, links between chapters, figures.
        source = generate(tmp_path_factory.mktemp("generated-src"), pages=200, features=True)
    else:  # (openings: parts that open on a verso, and sections that run on)
        source = BOOKS / request.param
    built = build_book(source, tmp_path_factory.mktemp(request.param), "--format", "pdf",
                       "--jobs", "2")
    whole = one_layout(source, tmp_path_factory.mktemp("whole") / "whole.pdf")
    return Pair(request.param, built.pdf, whole)


@pytest.fixture(scope="module")
def monkeypatch_module() -> pytest.MonkeyPatch:
    # One date for the in-process layout and the command's (the command reads the variable too).
    patch = pytest.MonkeyPatch()
    patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    yield patch
    patch.undo()


def page_texts(path: Path) -> list[str]:
    """pdftotext's text of each page, in its physical layout (running heads and folios too)."""
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")[:-1]


def outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, page index) of every outline entry, in order."""
    found: list[tuple[int, str, int]] = []

    def walk(items: list, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return found


def links(reader: PdfReader) -> list[tuple[int, str, tuple[float, ...]]]:
    """(page index, destination name, rectangle) of every internal link."""
    found = []
    for index, page in enumerate(reader.pages):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if "/Dest" in annotation:
                rect = tuple(round(float(v), 1) for v in annotation["/Rect"])
                found.append((index, str(annotation["/Dest"]), rect))
    return sorted(found)


def destinations(reader: PdfReader) -> dict[str, tuple[int, float, float]]:
    return {name: (reader.get_destination_page_number(dest), round(float(dest.left), 1),
                   round(float(dest.top), 1))
            for name, dest in reader.named_destinations.items()}


def fonts(path: Path) -> list[tuple[str, str]]:
    """(name, embedded) of every font dictionary pdffonts lists."""
    rows = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                          check=True).stdout.splitlines()[2:]
    return sorted((row.split()[0], row.split()[-5]) for row in rows)


def test_the_same_pages_with_the_same_text(pair: Pair) -> None:
    parts, whole = page_texts(pair.parts), page_texts(pair.whole)
    assert len(parts) == len(whole)
    if pair.name == "generated":
        assert len(parts) >= 180
    for number, (ours, theirs) in enumerate(zip(parts, whole, strict=True), start=1):
        assert ours == theirs, f"page {number} differs"


def test_contents_and_note_pages_are_written_in(pair: Pair) -> None:
    """The numbers that crossed from part to part as text are the pages the targets are on."""
    reader = PdfReader(pair.parts)
    labels = reader.page_labels
    where = destinations(reader)
    texts = page_texts(pair.parts)
    contents = next(i for i, text in enumerate(texts)
                    if any(line.strip() == "Contents" for line in text.splitlines()))
    entries = [(name, where[name][0]) for page, name, _ in links(reader) if page == contents]
    assert len(entries) >= 3
    for name, page in entries:
        assert f" {labels[page]}" in texts[contents], name


def test_the_same_outline_labels_links_and_destinations(pair: Pair) -> None:
    parts, whole = PdfReader(pair.parts), PdfReader(pair.whole)
    assert outline(parts) == outline(whole)
    # chapters nest under their part, or (the openings book) headings under their chapter
    assert any(depth > 0 for depth, _, _ in outline(parts))
    assert parts.page_labels == whole.page_labels
    assert links(parts) == links(whole)
    assert destinations(parts) == destinations(whole)
    assert len(links(parts)) > 10


def test_every_font_embedded_once(pair: Pair) -> None:
    listed = fonts(pair.parts)
    assert listed == fonts(pair.whole)
    assert len({name for name, _ in listed}) == len(listed)
    assert all(embedded == "yes" for _, embedded in listed)


def test_no_bigger_than_one_layout(pair: Pair) -> None:
    assert pair.parts.stat().st_size <= 1.05 * pair.whole.stat().st_size


def test_the_same_bytes_whatever_the_number_of_processes(tmp_path: Path) -> None:
    """And whatever Python's hash seed (the order of a set): each run is a new process."""
    built = []
    for jobs, seed in (("1", "1"), ("3", "2")):
        out = tmp_path / jobs
        result = run_bookbuild("build", BOOKS / "structures", "--out", out, "--format", "pdf",
                               "--jobs", jobs, env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        built.append(next(out.glob("*[!r].pdf")).read_bytes())  # (not the -cover.pdf)
    assert built[0] == built[1]


def test_what_cannot_be_laid_out_in_parts_is_laid_out_whole_and_said(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    (book / "numbered.css").write_text("figure { counter-increment: figure; }\n")
    manifest = (book / "book.toml").read_text()
    (book / "book.toml").write_text('stylesheets = ["numbered.css"]\n' + manifest)
    counted = build_book(book, tmp_path / "counted", "--format", "pdf")
    assert "(laid out in one process: the book's own stylesheet (numbered.css) may carry" \
        in counted.stdout
    styled = tmp_path / "styled"
    shutil.copytree(BOOKS / "features", styled)
    chapter = styled / "one.md"
    chapter.write_text(chapter.read_text() + "\n<style>p { font-size: 15pt; }</style>\n")
    inline = build_book(styled, tmp_path / "styled-out", "--format", "pdf")
    assert "(laid out in one process: a <style> element in the text may carry" in inline.stdout
    ua = build_book(BOOKS / "features", tmp_path / "ua", "--format", "pdf", "--pdf-variant", "pdf/ua-1")
    assert "(pdf/ua-1 is laid out in one process)" in ua.stdout
    plain = build_book(BOOKS / "features", tmp_path / "plain", "--format", "pdf")
    assert "one process" not in plain.stdout
    assert page_texts(plain.pdf) == page_texts(counted.pdf)  # (the counter draws nothing)
