"""The sample book's EPUB, opened as a reading system would, and validated by EPUBCheck."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import NS, SAMPLE, Built, Epub, epubcheck, text_of


@pytest.fixture(scope="module")
def epub(sample: Built) -> Epub:
    return Epub(sample.epub)


def manifest_files() -> list[str]:
    manifest = tomllib.loads((SAMPLE / "book.toml").read_text(encoding="utf-8"))
    return [entry["file"] for entry in manifest["contents"]]


def test_mimetype_is_first_and_stored(sample: Built) -> None:
    first = zipfile.ZipFile(sample.epub).infolist()[0]
    assert first.filename == "mimetype"
    assert first.compress_type == zipfile.ZIP_STORED
    assert zipfile.ZipFile(sample.epub).read("mimetype") == b"application/epub+zip"


def test_spine_follows_the_manifest(epub: Epub) -> None:
    stems = [Path(href).stem for href in epub.spine]
    assert stems[:3] == ["cover", "titlepage", "nav"]
    assert stems[3:-1] == [Path(f).stem for f in manifest_files()]
    assert stems[-1] == "notes"


def test_nav_titles_are_the_chapter_titles(epub: Epub) -> None:
    nav_href, nav = epub.nav()
    heading = nav.find(".//x:nav[@epub:type='toc']/x:h1", NS)
    assert heading is not None and heading.text == "Contents"
    links = nav.findall(".//x:nav[@epub:type='toc']//x:a", NS)
    assert len(links) == len(manifest_files()) + 1  # and the Notes
    base = nav_href.rpartition("/")[0]
    for link in links:
        href = link.get("href")
        doc = epub.document(f"{base}/{href}" if base else href)
        assert text_of(doc.find(".//x:h1", NS)) == text_of(link)


def test_every_note_call_resolves_and_every_note_links_back(epub: Epub) -> None:
    notes_href = next(h for h in epub.spine if h.endswith("notes.xhtml"))
    notes = epub.document(notes_href)
    calls = 0
    for href in epub.spine:
        doc = epub.document(href)
        for call in doc.iterfind(".//x:a[@epub:type='noteref']", NS):
            calls += 1
            assert call.get("role") == "doc-noteref"
            file_name, _, note_id = call.get("href").partition("#")
            assert file_name == "notes.xhtml"
            note = notes.find(f".//x:li[@id='{note_id}']", NS)
            assert note is not None, note_id
            back = note.find(".//x:a[@epub:type='backlink']", NS)
            back_file, _, back_id = back.get("href").partition("#")
            assert back.get("role") == "doc-backlink"
            assert back_file == Path(href).name and back_id == call.get("id")
    assert calls == 4  # the Times twice, the ICFI in 1991, North in 1992


def test_notes_are_grouped_under_chapter_titles_and_restart(epub: Epub) -> None:
    notes = epub.document(next(h for h in epub.spine if h.endswith("notes.xhtml")))
    section = notes.find(".//x:section[@epub:type='endnotes']", NS)
    assert section.get("role") == "doc-endnotes"
    groups = [(text_of(g.find("x:h2", NS)), [li.get("value") for li in g.iterfind(".//x:li", NS)])
              for g in section.iterfind("x:section", NS)]
    assert groups == [
        ("Preface to Perestroika versus Socialism", ["1", "2"]),
        ("August-December 1991: The final months of the USSR", ["1"]),
        ("After 1991: The defense of historical truth and the fight for socialist consciousness", ["1"]),
    ]
    assert not notes.xpath("//*[@epub:type='endnote']", namespaces=NS)  # deprecated pairing


def test_roles_are_on_sections_not_body_and_languages_everywhere(epub: Epub) -> None:
    assert epub.opf.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    for href in epub.spine:
        doc = epub.document(href)
        assert doc.get("lang") == "en"
        assert doc.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
        body = doc.find("x:body", NS)
        assert body.get("role") is None and body.get("{http://www.idpf.org/2007/ops}type") is None
    preface = epub.document(next(h for h in epub.spine if h.endswith("preface.xhtml")))
    assert preface.find(".//x:section", NS).get("role") == "doc-preface"


def test_metadata(epub: Epub) -> None:
    assert epub.opf.findtext(".//dc:title", namespaces=NS) == "The Dissolution of the Soviet Union"
    assert epub.opf.findtext(".//dc:identifier", namespaces=NS).startswith("urn:uuid:")
    assert epub.opf.xpath("//dc:creator", namespaces=NS) == []  # the dossier is unsigned
    contributor = epub.opf.find(".//dc:contributor", NS)
    assert contributor.text == "David North"
    roles = epub.opf.xpath(f"//opf:meta[@refines='#{contributor.get('id')}'][@property='role']",
                           namespaces=NS)
    assert [r.text for r in roles] == ["aui"]
    assert epub.meta("dcterms:modified") == ["2026-11-22T00:00:00Z"]


def test_text_is_the_authors_without_web_residue(epub: Epub) -> None:
    text = " ".join(text_of(epub.document(h)) for h in epub.spine)
    for residue in ("Read more", "Latest articles", "Reports and resolutions", "The end of the USSR",
                    "WSWS Media", "Photo caption"):
        assert residue not in text
    assert "Detroit, Michigan" in text and "July 28, 1989" in text


def test_epubcheck_finds_nothing(sample: Built, tmp_path: Path) -> None:
    report = epubcheck(sample.epub, tmp_path)
    messages = [(m["severity"], m["ID"], m["message"]) for m in report["messages"]]
    assert report["checker"]["nFatal"] == 0, messages
    assert report["checker"]["nError"] == 0, messages
    assert report["checker"]["nWarning"] == 0, messages


def test_symbols_the_typeface_lacks_come_embedded_from_the_fallback(sample: Built, tmp_path: Path) -> None:
    """EB Garamond has no vertical ellipsis: the EPUB embeds Linux Libertine, cut down to what
    the book uses, with its licence, named after EB Garamond; a book without such symbols
    (the sample) carries no second face."""
    import io

    from conftest import ONE_CHAPTER_MANIFEST, build_book
    from fontTools.ttLib import TTFont

    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(ONE_CHAPTER_MANIFEST)
    (book / "one.md").write_text("# One\n\n> From birth till death enslaved\n> ⋮\n> Hereditary bondsmen!\n")
    built = build_book(book, tmp_path / "out", "--format", "epub")
    with zipfile.ZipFile(built.epub) as epub:
        names = epub.namelist()
        assert "EPUB/fonts/LinLibertine_R.otf" in names and "EPUB/fonts/LICENSE-LinLibertine_R.txt" in names
        font = TTFont(io.BytesIO(epub.read("EPUB/fonts/LinLibertine_R.otf")))
        css = epub.read("EPUB/styles/book.css").decode()
    assert 0x22EE in font.getBestCmap()
    assert 'font-family: "Linux Libertine O"' in css and '"EB Garamond", "Linux Libertine O"' in css
    report = epubcheck(built.epub, tmp_path)
    assert (report["checker"]["nError"], report["checker"]["nWarning"]) == (0, 0), report["messages"]
    with zipfile.ZipFile(sample.epub) as epub:
        assert not any("Libertine" in name for name in epub.namelist())
