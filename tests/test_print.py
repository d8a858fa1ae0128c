"""Print-on-demand grade PDF: trim, bleed, gutters by page count, openings, labels,
contents and note page references from the layout, variants, the wrap cover, preflight."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pypdfium2
import pytest
from conftest import BOOKS, ROOT, Built, build_book, run_bookbuild
from pdfread import Pdf, normalize
from PIL import Image
from pypdf import PdfReader

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

from bookbuild import printspec
from bookbuild.loader import load
from bookbuild.model import notes_opening
from bookbuild.parse import parse_book


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A generated book of more than 150 pages, so that its gutter band is the second."""
    source = generate(tmp_path_factory.mktemp("long-src"), pages=190)
    return build_book(source, tmp_path_factory.mktemp("long"), "--target", "kdp")


@pytest.fixture(scope="module")
def openings(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Sections that open on the next page, run on, or open on a recto (tests/books/openings)."""
    return build_book(BOOKS / "openings", tmp_path_factory.mktemp("openings"))


@pytest.fixture(scope="module", params=["sample", "long", "openings"])
def built(request: pytest.FixtureRequest, sample: Built, long_book: Built,
          openings: Built) -> Built:
    return {"sample": sample, "long": long_book, "openings": openings}[request.param]


def named_pages(reader: PdfReader) -> dict[str, int]:
    return {name: reader.get_destination_page_number(dest)
            for name, dest in reader.named_destinations.items()}


def links_with_text(path: Path) -> list[tuple[int, str, str]]:
    """(page index, destination name, text under the link) for every internal link; a link
    split over several boxes (an italic title) is read as the union of its rectangles."""
    reader = PdfReader(path)
    document = pypdfium2.PdfDocument(str(path))
    found = []
    for index, page in enumerate(reader.pages):
        rects: dict[str, list[float]] = {}
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            dest = annot.get("/Dest")
            if not isinstance(dest, str):
                continue
            x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
            box = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
            old = rects.setdefault(dest, box)
            rects[dest] = [min(old[0], box[0]), min(old[1], box[1]),
                           max(old[2], box[2]), max(old[3], box[3])]
        textpage = document[index].get_textpage()
        for dest, (left, bottom, right, top) in rects.items():
            found.append((index, dest, normalize(textpage.get_text_bounded(left, bottom, right, top))))
    document.close()
    return found


def test_trim_box_is_the_trim_size(built: Built) -> None:
    for page in PdfReader(built.pdf).pages:
        assert (float(page.trimbox.width), float(page.trimbox.height)) == (432, 648)


def test_page_count_is_even(built: Built) -> None:
    assert len(PdfReader(built.pdf).pages) % 2 == 0


def test_labels_roman_then_arabic_from_1(built: Built) -> None:
    reader = PdfReader(built.pdf)
    labels = reader.page_labels
    first_body = named_pages(reader)["body-matter"]
    assert labels[0] == "i" and labels[first_body - 1].isalpha()
    assert labels[first_body:first_body + 3] == ["1", "2", "3"]
    assert all(label.isdigit() for label in labels[first_body:])


def test_every_section_opens_where_the_manifest_says(built: Built) -> None:
    """On a recto ("right"), or on the page after the text before it, with no blank page
    between ("any", "continuous"); the front matter's own pages on rectos."""
    reader = PdfReader(built.pdf)
    pages = named_pages(reader)
    pdf = Pdf(built.pdf)
    manuscript, _ = parse_book(load(built.source))
    book = manuscript.book
    openings = [(chapter.id, chapter.section.opening) for chapter in manuscript.chapters]
    for name, opening in [*openings, ("notes", notes_opening(book.pdf.openings)),
                          ("contents", "right"), ("title-page", "right"), ("half-title", "right")]:
        where = f"{name} opens on physical page {pages[name] + 1}"
        if opening == "right":
            assert pages[name] % 2 == 0, where
        else:
            assert pdf.texts[pages[name] - 1], f"{where}, after a blank page"
    assert len(openings) >= 8


def test_sections_open_on_the_next_page_or_run_on(openings: Built) -> None:
    """The openings book: a chapter opens on a verso, with no running head; one runs on below
    the one before, after the hedera; a blank page comes only before a recto opening; the
    book is brought up to KDP's 24 pages with blank pages at its end."""
    pdf = Pdf(openings.pdf)
    pages = named_pages(PdfReader(openings.pdf))
    second, third = pages["chapter-2"], pages["chapter-3"]
    assert second % 2 == 1 and pdf.texts[second].startswith("The Second Chapter")
    assert second < third <= second + 2 and pdf.texts[third - 1]  # (no blank page between)
    assert "\u2767 The Third Chapter" in pdf.texts[third]
    appendix = pdf.texts[pages["appendix-b"]]
    before, title, _ = appendix.partition("\u2767 Appendix B: Tables")
    assert title and before.strip(), "appendix B runs on below the last lines of appendix A"
    body = pages["body-matter"]
    recto_openings = {pages[name] for name in ("chapter-1", "chapter-4")}
    blank = [index for index, text in enumerate(pdf.texts) if not text]
    in_body = [index for index in blank if body <= index < pages["notes"]]
    assert all(index + 1 in recto_openings for index in in_body), in_body
    assert len(pdf.pages) == 24 and blank[-2:] == [22, 23] and pdf.texts[21]
    assert "(2 blank pages added at the end: KDP prints at least 24)" in openings.stdout


def test_contents_numbers_are_the_labels_of_the_destinations(built: Built) -> None:
    reader = PdfReader(built.pdf)
    pages = named_pages(reader)
    pdf = Pdf(built.pdf)
    entries = [(dest, text) for index, dest, text in links_with_text(built.pdf)
               if pdf.texts[index].startswith("Contents") or index in _contents_pages(pdf)]
    assert len(entries) >= 3
    for dest, text in entries:
        printed = text.rsplit(" ", 1)[-1]
        assert printed == reader.page_labels[pages[dest]], f"{text!r} -> {dest}"
        # and the title really is on that page
        title = re.sub(r"[ .]+[0-9ivxlc]+$", "", text)
        assert normalize(title)[:25] in pdf.texts[pages[dest]]


def _contents_pages(pdf: Pdf) -> set[int]:
    start = next(i for i, t in enumerate(pdf.texts) if t.startswith("Contents"))
    pages = {start}
    for index in range(start + 1, len(pdf.texts)):
        if "Contents" in pdf.texts[index][:60] or (pdf.texts[index] and ". . ." in pdf.texts[index]):
            pages.add(index)
        else:
            break
    return pages


def test_each_note_shows_the_page_of_its_call(built: Built) -> None:
    reader = PdfReader(built.pdf)
    pages = named_pages(reader)
    refs = [(dest, text) for _, dest, text in links_with_text(built.pdf) if "-noteref-" in dest]
    assert refs
    for dest, text in refs:
        match = re.fullmatch(r"\(page ([0-9ivxlc]+)\)", text)
        assert match, text
        assert match.group(1) == reader.page_labels[pages[dest]], dest


def test_inside_margin_meets_the_band_on_every_page(built: Built) -> None:
    reader = PdfReader(built.pdf)
    count = len(reader.pages)
    gutter = printspec.min_gutter(count) * 72
    document = pypdfium2.PdfDocument(str(built.pdf))
    checked = 0
    for index in range(count):
        page = document[index]
        bounds = [o.get_bounds() for o in page.get_objects(max_depth=8)]
        if not bounds:
            continue
        left, right = min(b[0] for b in bounds), max(b[2] for b in bounds)
        inside = left if index % 2 == 0 else 432 - right
        assert inside >= gutter - 0.5, f"page {index + 1}: inside margin {inside / 72:.3f} in"
        checked += 1
    document.close()
    assert checked > count / 2


def test_long_book_is_in_the_second_gutter_band(long_book: Built) -> None:
    count = len(PdfReader(long_book.pdf).pages)
    assert 150 < count <= 300
    document = pypdfium2.PdfDocument(str(long_book.pdf))
    recto = document[named_pages(PdfReader(long_book.pdf))["body-matter"]]
    left = min(o.get_bounds()[0] for o in recto.get_objects(max_depth=8))
    assert left == pytest.approx((0.5 + printspec.GUTTER_COMFORT) * 72, abs=1.0)
    document.close()


def test_wrap_cover_matches_the_formula(built: Built) -> None:
    cover = built.pdf.with_name(built.pdf.stem + "-cover.pdf")
    pages = len(PdfReader(built.pdf).pages)
    reader = PdfReader(cover)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    width, height = printspec.cover_size(6, 9, pages, "white")
    assert float(box.width) / 72 == pytest.approx(width, abs=0.005)
    assert float(box.height) / 72 == pytest.approx(height, abs=0.005)
    assert width == pytest.approx(0.125 + 6 + pages * 0.002252 + 6 + 0.125)
    trim = reader.pages[0].trimbox
    assert float(trim.width) / 72 == pytest.approx(12 + pages * 0.002252, abs=0.005)


def test_cover_spine_text_only_from_79_pages(sample: Built, long_book: Built) -> None:
    def cover_text(built: Built) -> str:
        cover = built.pdf.with_name(built.pdf.stem + "-cover.pdf")
        return normalize(PdfReader(cover).pages[0].extract_text())

    short, long = cover_text(sample), cover_text(long_book)
    assert short.count("The Dissolution of the Soviet Union") == 1  # the front only
    assert long.count("A Generated History in 190 Pages") == 2  # front and spine


def test_barcode_area_is_clear_white(sample: Built, tmp_path: Path) -> None:
    cover = sample.pdf.with_name(sample.pdf.stem + "-cover.pdf")
    document = pypdfium2.PdfDocument(str(cover))
    page = document[0]
    scale = 50 / 72
    image = page.render(scale=scale).to_pil().convert("RGB")
    document.close()
    bleed = 0.125
    # The back cover's lower right: 2 x 1.2 in, 0.375 in from the trim edges.
    x1 = int((bleed + 6 - 0.375 - 2) * 50) + 2
    y2 = int((bleed + 9 - 0.375) * 50) - 2
    box = image.crop((x1, y2 - int(1.2 * 50) + 4, x1 + 2 * 50 - 4, y2))
    assert box.getextrema() == ((255, 255), (255, 255), (255, 255))


def test_kdp_preflight_passes_on_both(built: Built) -> None:
    result = run_bookbuild("preflight", built.pdf, "--target", "kdp")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("passed")


def test_preflight_names_a_low_resolution_image(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    chapter = book / "one.md"
    # A 600-pixel image across the 4.75 in text width: about 126 ppi.
    chapter.write_text(chapter.read_text().replace('seen from above.")', 'seen from above."){.full}'))
    built = build_book(book, tmp_path / "low")
    result = run_bookbuild("preflight", built.pdf)
    assert result.returncode == 1
    assert "images/square.png is placed at 4.75 × 4.75 in, 126 ppi; print needs 300" in result.stdout
    # The same image at its own 300 ppi (2 x 2 in) passes.
    chapter.write_text(chapter.read_text().replace("{.full}", ""))
    built = build_book(book, tmp_path / "ok")
    assert run_bookbuild("preflight", built.pdf).returncode == 0


def test_preflight_finds_a_wrong_cover(tmp_path: Path, sample: Built) -> None:
    shutil.copy(sample.pdf, tmp_path / "book.pdf")
    shutil.copy(sample.pdf, tmp_path / "book-cover.pdf")  # an interior page is no cover
    result = run_bookbuild("preflight", tmp_path / "book.pdf")
    assert result.returncode == 1
    assert "error[cover" in result.stdout


def test_pdf_ua_and_pdf_a_variants(tmp_path: Path) -> None:
    ua = build_book(BOOKS / "features", tmp_path / "ua", "--format", "pdf", "--pdf-variant", "pdf/ua-1")
    reader = PdfReader(ua.pdf)
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    assert b"pdfuaid" in reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    pdfa = build_book(BOOKS / "features", tmp_path / "a", "--format", "pdf", "--pdf-variant", "pdf/a-2b")
    xmp = PdfReader(pdfa.pdf).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid" in xmp and re.search(rb"pdfaid:part[^0-9]*2", xmp)


def test_bleed_extends_top_bottom_and_outside_only(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    (book / "book.toml").write_text((book / "book.toml").read_text() + '\n[pdf]\nbleed = "0.125in"\n')
    built = build_book(book, tmp_path / "out", "--format", "pdf")
    reader = PdfReader(built.pdf)
    for index, page in enumerate(reader.pages[:2]):
        media, trim = page.mediabox, page.trimbox
        assert (float(trim.width), float(trim.height)) == (432, 648)
        assert float(media.height) == 648 + 18
        assert float(media.width) == 432 + 9  # the outside edge only, never the gutter
        outside_left = index % 2 == 1
        assert (float(media.left) < float(trim.left)) == outside_left


def test_image_is_placed_at_its_print_size(tmp_path: Path) -> None:
    """A 600-pixel image is 2 inches wide in print: 300 pixels to the inch."""
    built = build_book(BOOKS / "features", tmp_path / "out", "--format", "pdf")
    document = pypdfium2.PdfDocument(str(built.pdf))
    sizes = []
    for index in range(len(document)):
        for obj in document[index].get_objects(max_depth=8):
            if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE:
                left, _bottom, right, _top = obj.get_bounds()
                sizes.append(round((right - left) / 72, 2))
    document.close()
    assert sizes == [2.0]
    assert Image.open(BOOKS / "features" / "images" / "square.png").size == (600, 600)


def _pdf_with_page_tree(kids: bytes) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count 2 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 432 648] >>"]
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref


@pytest.mark.parametrize("kids", [b"2 0 R 3 0 R", b"2 0 R", b"3 0 R 9 0 R"])
def test_preflight_of_a_pdf_with_a_damaged_page_tree_is_a_diagnostic(tmp_path: Path, kids: bytes) -> None:
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(_pdf_with_page_tree(kids))
    result = run_bookbuild("preflight", damaged)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{damaged}: error[") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_spine_text_keeps_kdps_clearance_from_each_fold(long_book: Built) -> None:
    cover = long_book.pdf.with_name(long_book.pdf.stem + "-cover.pdf")
    pages = len(PdfReader(long_book.pdf).pages)
    spine = printspec.spine_width(pages, "white")
    fold_left = 6 * 72  # PDF units from the trim's left edge (the bleed lies outside it)
    fold_right = fold_left + spine * 72
    document = pypdfium2.PdfDocument(str(cover))
    text = document[0].get_textpage()
    boxes = [text.get_charbox(i) for i in range(text.count_chars())]
    chars = text.get_text_range()
    document.close()
    on_spine = [(c, b) for c, b in zip(chars, boxes, strict=False)
                if b[0] >= fold_left - 1 and b[2] <= fold_right + 1 and not c.isspace()]
    spine_text = "".join(c for c, _ in on_spine)
    assert "Generated" in spine_text and "Generator" in spine_text  # the title and the author
    clearance = printspec.SPINE_TEXT_CLEARANCE_IN * 72
    assert all(b[0] >= fold_left + clearance - 0.5 and b[2] <= fold_right - clearance + 0.5
               for _, b in on_spine)


def test_padding_without_a_print_target_is_said(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    manifest = (book / "book.toml").read_text()
    (book / "book.toml").write_text(manifest + "\n[pdf]\npad_to_minimum = true\n")
    built = build_book(book, tmp_path / "out", "--format", "pdf")
    assert len(PdfReader(built.pdf).pages) == 12  # (as without it)
    assert built.stderr.strip() == (
        f"{built.pdf}: warning[pad-to-minimum]: pad_to_minimum adds pages only for a print target, "
        'and there is none (set target = "kdp" in [pdf], or build with --target kdp)')
    padded = build_book(book, tmp_path / "kdp", "--format", "pdf", "--target", "kdp")
    assert len(PdfReader(padded.pdf).pages) == 24 and padded.stderr == ""
