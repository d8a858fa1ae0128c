"""The Kobo variant (--target kobo): a kepub whose spans cover every sentence, read back from
the file as a Kobo device reads it, and which validates as the EPUB does."""

from __future__ import annotations

import itertools
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import BOOKS, Built, ace_violations, build_book, epubcheck, run_ace, run_bookbuild
from lxml import etree

from bookbuild.kobo import KEPT_AS_IS, SPAN_CLASS, _kobo_document
from bookbuild.model import EpubDocument

X = "{http://www.w3.org/1999/xhtml}"
KOBO_ID = re.compile(r"kobo\.(\d+)\.(\d+)")
DOCUMENT = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>
<body>
<section id="s"><h1 id="h">A Title</h1>
<p>First sentence. Second one? <em>Emph. Still</em> more: yes<sup><a href="#n">1</a></sup> end.</p>
<p><img src="a.png" alt="x"/> after the image.</p>
<ul><li>Item one. And more</li><li>Item two</li></ul>
<pre>kept. as it is.</pre>
<svg xmlns="http://www.w3.org/2000/svg"><text>Drawn. Text.</text></svg>
</section>
</body></html>"""


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def outside_spans(body: etree._Element) -> str:
    """The text of `body` that no koboSpan holds, outside what is kept as it is."""
    found: list[str] = []

    def walk(element: etree._Element, in_span: bool) -> None:
        if local(element) in KEPT_AS_IS:
            return
        here = in_span or element.get("class") == SPAN_CLASS
        if not here:
            found.append(element.text or "")
        for child in element:
            if isinstance(child.tag, str):
                walk(child, here)
            if not here:
                found.append(child.tail or "")

    walk(body, False)
    return "".join(found)


def span_ids(body: etree._Element) -> list[tuple[int, int]]:
    return [tuple(map(int, KOBO_ID.fullmatch(span.get("id")).groups()))  # type: ignore[union-attr]
            for span in body.iter(f"{X}span") if span.get("class") == SPAN_CLASS]


def in_order(ids: list[tuple[int, int]]) -> bool:
    """Paragraphs count up; the sentences of each count up from 1."""
    return all((b == (a[0], a[1] + 1)) or (b[0] > a[0] and b[1] == 1)
               for a, b in itertools.pairwise(ids))


def test_every_sentence_is_a_span_and_nothing_is_changed() -> None:
    before = etree.fromstring(DOCUMENT)
    after = etree.fromstring(_kobo_document(EpubDocument("t.xhtml", "t", "t", DOCUMENT)).content)
    body = after.find(f"{X}body")
    inner = body.find(f"{X}div[@id='book-columns']/{X}div[@id='book-inner']")
    assert inner is not None and len(body) == 1
    assert "".join(body.itertext()) == "".join(before.find(f"{X}body").itertext())
    assert outside_spans(body).strip() == ""
    spans = {span.get("id"): "".join(span.itertext()) for span in body.iter(f"{X}span")}
    assert spans == {
        "kobo.0.1": "A Title", "kobo.1.1": "First sentence. ", "kobo.1.2": "Second one? ",
        "kobo.1.3": "Emph. ", "kobo.1.4": "Still", "kobo.1.5": " more: ", "kobo.1.6": "yes",
        "kobo.1.7": "1", "kobo.1.8": " end.", "kobo.2.1": "", "kobo.2.2": " after the image.",
        "kobo.3.1": "Item one. ", "kobo.3.2": "And more", "kobo.3.3": "Item two"}
    assert body.find(f".//{X}span[@id='kobo.2.1']/{X}img") is not None
    assert after.find(f"{X}head/{X}style[@class='kobostylehacks']") is not None


@pytest.fixture(scope="module")
def kobo(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_book(BOOKS / "structures", tmp_path_factory.mktemp("kobo"), "--target", "kobo",
                      "--format", "epub")


def kepub_of(built: Built) -> Path:
    return built.epub.with_name(built.epub.stem + ".kepub.epub")


def test_the_kepub_marks_every_sentence_of_every_document(kobo: Built) -> None:
    kepub, epub = zipfile.ZipFile(kepub_of(kobo)), zipfile.ZipFile(kobo.epub)
    documents = [name for name in epub.namelist() if name.endswith(".xhtml")
                 and not name.endswith("nav.xhtml")]
    assert len(documents) >= 10
    for name in documents:
        ours = etree.fromstring(kepub.read(name)).find(f"{X}body")
        theirs = etree.fromstring(epub.read(name)).find(f"{X}body")
        assert "".join(ours.itertext()) == "".join(theirs.itertext()), name
        assert outside_spans(ours).strip() == "", name
        ids = span_ids(ours)
        assert ids and in_order(ids), name
        assert ours[0].get("id") == "book-columns" and ours[0][0].get("id") == "book-inner"
    assert kepub.read("EPUB/text/nav.xhtml") == epub.read("EPUB/text/nav.xhtml")


def test_the_kepub_validates_and_leaves_the_epub_as_it_was(kobo: Built, tmp_path: Path) -> None:
    assert epubcheck(kepub_of(kobo), tmp_path)["messages"] == []
    assert ace_violations(run_ace(kepub_of(kobo), tmp_path / "ace")) == []
    plain = build_book(BOOKS / "structures", tmp_path / "plain", "--format", "epub")
    assert plain.epub.read_bytes() == kobo.epub.read_bytes()
    assert not kepub_of(plain).exists()


def test_stores_in_the_manifest(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    manifest = (book / "book.toml").read_text()
    assert "[epub]\n" in manifest
    (book / "book.toml").write_text(manifest.replace("[epub]\n", '[epub]\nstores = ["kobo"]\n'))
    built = build_book(book, tmp_path / "out", "--format", "epub")
    assert kepub_of(built).is_file()
    (book / "book.toml").write_text(manifest.replace("[epub]\n", '[epub]\nstores = ["nook"]\n'))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2 and 'unknown store "nook" in stores (use kindle, kobo)' in result.stderr
