"""E-reader grade EPUB: DAISY Ace, accessibility metadata, landmarks, cover, embedded fonts."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from conftest import BOOKS, NS, Built, Epub, ace_violations, build_book, epubcheck, run_ace
from fontTools.ttLib import TTFont
from PIL import Image


def test_daisy_ace_finds_no_violation(sample: Built, tmp_path: Path) -> None:
    report = run_ace(sample.epub, tmp_path / "ace")
    assert ace_violations(report) == []
    assert report["earl:result"]["earl:outcome"] == "pass"


def test_accessibility_metadata_follows_what_the_book_has(epub: Epub) -> None:
    assert epub.meta("schema:accessMode") == ["textual"]  # the sample book has no images
    assert epub.meta("schema:accessModeSufficient") == ["textual"]
    # (the print pages marked: the PDF was built with it)
    assert epub.meta("schema:accessibilityFeature") == [
        "structuralNavigation", "tableOfContents", "readingOrder", "printPageNumbers",
        "pageNavigation"]
    assert epub.meta("schema:accessibilityHazard") == ["none"]
    summary = epub.meta("schema:accessibilitySummary")[0]
    assert "table of contents" in summary and "endnotes" in summary
    # No conformance claim unless the manifest names who certifies it.
    assert epub.meta("dcterms:conformsTo") == [] and epub.meta("a11y:certifiedBy") == []


def test_conformance_claim_only_when_certified(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text() + 'certified_by = "Example Accessibility Lab"\n')
    built = build_book(book, tmp_path / "out")
    claimed = Epub(built.epub)
    assert claimed.meta("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    assert claimed.meta("a11y:certifiedBy") == ["Example Accessibility Lab"]
    report = epubcheck(built.epub, tmp_path)
    assert (report["checker"]["nError"], report["checker"]["nWarning"]) == (0, 0), report["messages"]


def test_landmarks_are_hidden_and_complete(epub: Epub) -> None:
    _, nav = epub.nav()
    landmarks = nav.find(".//x:nav[@epub:type='landmarks']", NS)
    assert landmarks.get("hidden") == "hidden"
    marks = {a.get("{http://www.idpf.org/2007/ops}type"): a.get("href")
             for a in landmarks.iterfind(".//x:a", NS)}
    assert marks == {
        "cover": "cover.xhtml",
        "titlepage": "titlepage.xhtml",
        "toc": "nav.xhtml#toc",
        "bodymatter": "introduction.xhtml",  # the preface is front matter
        "endnotes": "notes.xhtml",
    }
    assert nav.find(".//x:nav[@epub:type='toc']", NS).get("id") == "toc"


def test_generated_cover(epub: Epub) -> None:
    items = [i for i in epub.manifest.values() if "cover-image" in (i.get("properties") or "")]
    assert len(items) == 1 and items[0].get("media-type") == "image/jpeg"
    image = Image.open(io.BytesIO(epub.zip.read(epub.href(items[0].get("href")))))
    assert image.format == "JPEG" and image.size == (1600, 2560)
    # Not a blank placeholder: the design has a dark ground and light lettering.
    colours = image.convert("L").getextrema()
    assert colours[0] < 80 and colours[1] > 200
    assert epub.spine[0] == "text/cover.xhtml"
    cover = epub.document("text/cover.xhtml")
    img = cover.find(".//x:img", NS)
    assert img.get("role") == "doc-cover" and img.get("{http://www.idpf.org/2007/ops}type") == "cover"
    assert img.get("alt") == ("Cover of The Dissolution of the Soviet Union. "
                              "With a preface by David North")


def test_supplied_cover_is_used_and_validated(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    Image.new("RGB", (1600, 2560), (20, 60, 90)).save(book / "images" / "front.jpg")
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text() + 'cover = "images/front.jpg"\n')
    built = build_book(book, tmp_path / "out")
    epub = Epub(built.epub)
    cover = next(i for i in epub.manifest.values() if "cover-image" in (i.get("properties") or ""))
    assert epub.zip.read(epub.href(cover.get("href"))) == (book / "images" / "front.jpg").read_bytes()
    Image.new("RGB", (600, 400)).save(book / "images" / "front.jpg")
    from conftest import run_bookbuild

    result = run_bookbuild("build", book, "--out", tmp_path / "out2")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'{manifest}:21: error[cover-size]: the cover "front.jpg" is 600 x 400 pixels; it must be '
        "portrait and at least 1400 pixels wide (stores recommend 1600 x 2560)"
    )


def test_fonts_are_embedded_subset_and_licensed(epub: Epub) -> None:
    fonts = [i.get("href") for i in epub.manifest.values() if i.get("media-type") == "font/otf"]
    assert {Path(f).stem for f in fonts} == {
        "EBGaramond12-Regular", "EBGaramond12-Italic", "EBGaramond12-Bold"}
    regular = TTFont(io.BytesIO(epub.zip.read(epub.href(next(f for f in fonts if "Regular" in f)))))
    cmap = regular.getBestCmap()
    text = "".join(" ".join(epub.document(h).itertext()) for h in epub.spine)
    assert all(ord(c) in cmap for c in set(text) if c.isalpha())  # every letter the book uses
    assert len(cmap) < 400  # a subset, not the whole face (which maps thousands)
    original = Path("/usr/share/fonts/opentype/ebgaramond/EBGaramond12-Regular.otf")
    if original.exists():
        size = len(epub.zip.read(epub.href(next(f for f in fonts if "Regular" in f))))
        assert size < original.stat().st_size / 3
    assert "license" in " ".join(epub.zip.namelist()).lower()
    css = epub.zip.read(epub.href("styles/book.css")).decode()
    assert '@font-face' in css and 'url("../fonts/EBGaramond12-Regular.otf")' in css


def test_font_embedding_can_be_turned_off(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text() + "embed_fonts = false\n")
    epub = Epub(build_book(book, tmp_path / "out").epub)
    assert not [n for n in epub.zip.namelist() if n.endswith(".otf")]
    assert "@font-face" not in epub.zip.read(epub.href("styles/book.css")).decode()


def test_supplied_cover_media_type_is_what_the_image_is(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    Image.new("RGB", (1600, 2560), (90, 20, 20)).save(book / "images" / "front.png", format="JPEG")
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text() + 'cover = "images/front.png"\n')
    built = build_book(book, tmp_path / "out", "--format", "epub")
    epub = Epub(built.epub)
    cover = next(i for i in epub.manifest.values() if "cover-image" in (i.get("properties") or ""))
    assert cover.get("media-type") == "image/jpeg"
    report = epubcheck(built.epub, tmp_path)
    assert (report["checker"]["nError"], report["checker"]["nWarning"]) == (0, 0), report["messages"]
