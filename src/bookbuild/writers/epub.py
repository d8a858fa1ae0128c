"""EpubPackage -> .epub with ebooklib, then one finalize step that makes the file reproducible.

ebooklib writes wall-clock zip times, no package xml:lang, and orders entries as it likes;
`finalize` re-packs the archive: `mimetype` first and stored, entries sorted, every time fixed.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from ebooklib import epub

from ..model import EpubPackage, TocEntry, isbn_urn

OPF_PATH = "EPUB/content.opf"
ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def write_epub(package: EpubPackage, target: Path, timestamp: dt.datetime) -> None:
    """Write the EPUB to `target` (a staged temporary file: the pipeline renames it)."""
    book = _ebooklib_book(package)
    raw = io.BytesIO()
    epub.write_epub(raw, book, {"epub3_pages": False, "mtime": timestamp, "epub3_landmark": False,
                                "raise_exceptions": True})
    target.write_bytes(finalize(raw.getvalue(), package.meta.language, timestamp))


class _Item(epub.EpubItem):
    """An item with manifest properties (nav, svg, mathml, cover-image), which ebooklib's writer
    reads from this attribute when it is there."""

    def __init__(self, uid: str, file_name: str, media_type: str, content: bytes,
                 properties: tuple[str, ...]):
        super().__init__(uid=uid, file_name=file_name, media_type=media_type, content=content)
        self.properties = list(properties)


def _ebooklib_book(package: EpubPackage) -> epub.EpubBook:
    meta = package.meta
    book = epub.EpubBook()
    book.set_identifier(meta.identifier)
    book.set_title(meta.title)
    book.set_language(meta.language)
    for person in meta.contributors:
        element = "creator" if person.role == "aut" else "contributor"
        book.add_metadata("DC", element, person.name, {"id": person.uid})
        book.add_metadata(None, "meta", person.role,
                          {"refines": f"#{person.uid}", "property": "role", "scheme": "marc:relators"})
        if person.file_as:
            book.add_metadata(None, "meta", person.file_as,
                              {"refines": f"#{person.uid}", "property": "file-as"})
    book.add_metadata("DC", "date", meta.date)
    for name in ("description", "rights", "publisher"):
        value = getattr(meta, name)
        if value:
            book.add_metadata("DC", name, value)
    if meta.isbn_epub:
        book.add_metadata("DC", "identifier", isbn_urn(meta.isbn_epub),
                          {"id": "isbn"})
    if meta.subtitle:
        book.add_metadata("DC", "title", meta.subtitle, {"id": "subtitle"})
        book.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    for prop, value in package.accessibility:
        book.add_metadata(None, "meta", value, {"property": prop})
    if any("cover-image" in r.properties for r in package.resources):
        # EPUB 2 readers (older Kindles among them) find the cover through this.
        book.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})

    spine = []
    for document in package.documents:
        item = _Item(document.id, document.file_name, "application/xhtml+xml", document.content,
                     document.properties)
        book.add_item(item)
        if document.in_spine:
            spine.append(item)
    for resource in package.resources:
        book.add_item(_Item(resource.id, resource.file_name, resource.media_type, resource.content,
                            resource.properties))
    book.add_item(epub.EpubNcx())
    book.toc = [_ncx_entry(entry, f"toc-{i}") for i, entry in enumerate(package.toc, start=1)]
    book.spine = spine
    return book


def _ncx_entry(entry: TocEntry, uid: str) -> epub.Link | tuple[epub.Section, list]:
    if not entry.children:
        return epub.Link(entry.href, entry.title, uid)
    children = [_ncx_entry(child, f"{uid}-{i}") for i, child in enumerate(entry.children, start=1)]
    return (epub.Section(entry.title, entry.href), children)


def finalize(data: bytes, language: str, timestamp: dt.datetime) -> bytes:
    """Re-pack the archive reproducibly and patch what ebooklib cannot write."""
    # Zip cannot store dates before 1980: a book dated earlier gets 1980-01-01 in its entries
    # (its dcterms:modified keeps the real date).
    date_time = max(timestamp.astimezone(dt.UTC), ZIP_EPOCH).timetuple()[:6]
    source = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(n for n in source.namelist() if n != "mimetype")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        _add(target, "mimetype", b"application/epub+zip", date_time, zipfile.ZIP_STORED)
        for name in names:
            content = source.read(name)
            if name == OPF_PATH:
                content = _patch_opf(content, language)
            elif name.endswith(".ncx"):
                content = _patch_ncx(content)
            _add(target, name, content, date_time, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _add(archive: zipfile.ZipFile, name: str, content: bytes, date_time: tuple[int, ...],
         compression: int) -> None:
    info = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
    info.compress_type = compression
    info.create_system = 3  # Unix, whatever machine builds it
    info.external_attr = 0o644 << 16
    archive.writestr(info, content, compresslevel=9 if compression else None)


def _patch_opf(content: bytes, language: str) -> bytes:
    text = content.decode("utf-8")
    text = re.sub(r"<package\b(?![^>]*xml:lang)", f'<package xml:lang="{language}"', text, count=1)
    return text.encode("utf-8")


def _patch_ncx(content: bytes) -> bytes:
    # ebooklib writes dtb:depth 0; readers use it to size the table of contents.
    text = content.decode("utf-8")
    depth = max(1, _ncx_depth(text))
    text = re.sub(r'(<meta[^>]*name="dtb:depth"[^>]*content=")\d+', rf"\g<1>{depth}", text)
    text = re.sub(r'(<meta[^>]*content=")\d+("[^>]*name="dtb:depth")', rf"\g<1>{depth}\2", text)
    return text.encode("utf-8")


def _ncx_depth(text: str) -> int:
    depth = deepest = 0
    for tag in re.finditer(r"<(/?)navPoint\b", text):
        depth += -1 if tag[1] else 1
        deepest = max(deepest, depth)
    return deepest
