"""Reading XML bookbuild did not write (a book's SVG, an EPUB given to `diff`): no entities, no
DTD, no network, no file. Entity expansion is how XML bombs and XXE work; no book needs it."""

from __future__ import annotations

import zipfile

from lxml import etree

from .limits import MAX_ARCHIVE_ENTRIES, MAX_ARCHIVE_ENTRY_BYTES


class UnsafeXml(ValueError):
    pass


def parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(data: bytes) -> etree._Element:
    """The document's root; UnsafeXml for declared entities, XMLSyntaxError for bad XML."""
    if b"<!ENTITY" in data:  # refused unread, before any parser sees it
        raise UnsafeXml("the XML declares entities")
    root = etree.fromstring(data, parser())
    info = root.getroottree().docinfo
    # (another encoding hides the bytes above from the search: the parsed document still tells)
    if info.internalDTD is not None and any(True for _ in info.internalDTD.iterentities()):
        raise UnsafeXml("the XML declares entities")
    if info.system_url:
        raise UnsafeXml(f'the XML refers to a DTD elsewhere ("{info.system_url}")')
    return root


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One entry of an archive from outside, within the limits whatever its header claims."""
    if len(archive.infolist()) > MAX_ARCHIVE_ENTRIES:
        raise UnsafeXml(f"the archive has more than {MAX_ARCHIVE_ENTRIES} entries")
    with archive.open(name) as member:
        data = member.read(MAX_ARCHIVE_ENTRY_BYTES + 1)
    if len(data) > MAX_ARCHIVE_ENTRY_BYTES:
        raise UnsafeXml(f'"{name}" is larger than {MAX_ARCHIVE_ENTRY_BYTES // 1048576} MB')
    return data
