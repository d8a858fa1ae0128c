"""`bookbuild diff OLD NEW`: what changed between two builds (EPUBs) or two book folders,
chapter by chapter: paragraphs added, removed and changed (with a word diff), and notes
renumbered, so that an editor can write the history entry and a proofreader read only that."""

from __future__ import annotations

import difflib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree, html

from .diagnostics import book_error
from .xmlread import UnsafeXml, parse_xml, read_member

XHTML = "{http://www.w3.org/1999/xhtml}"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "li", "figcaption", "pre", "td", "th")


@dataclass
class ChapterText:
    key: str  # the file's stem: the same chapter in both editions
    title: str
    paragraphs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # in number order


@dataclass
class EditionText:
    label: str
    metadata: dict[str, str]
    chapters: list[ChapterText]


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _blocks(root: etree._Element) -> list[str]:
    """The text of each block, note calls left out (a renumbered note is not a changed line)."""
    for call in root.xpath("//*[local-name()='sup'][@class='noteref']"):
        parent = call.getparent()
        previous = call.getprevious()
        tail = call.tail or ""
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(call)
    found = []
    for element in root.iter():
        name = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if name in BLOCKS and not any(etree.QName(a).localname in BLOCKS for a in element.iterancestors()
                                      if isinstance(a.tag, str)):
            text = _text(element)
            if text:
                found.append(text)
    return found


def read_epub(path: Path) -> EditionText:
    try:
        return _read_epub(path)
    except UnsafeXml as refused:
        raise book_error(path, "diff-input", f"not an EPUB bookbuild will read: {refused}",
                         hint="give two EPUB files or two book folders") from None
    except (OSError, zipfile.BadZipFile, KeyError, IndexError, AttributeError, etree.XMLSyntaxError):
        raise book_error(path, "diff-input", "not an EPUB bookbuild can read",
                         hint="give two EPUB files or two book folders") from None


def _read_epub(path: Path) -> EditionText:
    try:
        archive = zipfile.ZipFile(path)
        container = parse_xml(read_member(archive, "META-INF/container.xml"))
        opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        opf = parse_xml(read_member(archive, opf_path))
    except (OSError, zipfile.BadZipFile, KeyError, IndexError, etree.XMLSyntaxError):
        raise book_error(path, "diff-input", "not an EPUB bookbuild can read",
                         hint="give two EPUB files or two book folders") from None
    base = opf_path.rpartition("/")[0]
    items = {i.get("id"): i.get("href") for i in opf.xpath("//*[local-name()='item']")}
    metadata: dict[str, str] = {}
    for element in opf.xpath("//*[local-name()='metadata']/*"):
        name = etree.QName(element)
        if name.namespace and "purl.org/dc" in name.namespace:  # title and subtitle, all creators
            value = (element.text or "").strip()
            metadata[name.localname] = f"{metadata[name.localname]}; {value}" \
                if name.localname in metadata else value
    chapters: list[ChapterText] = []
    notes_docs = []
    for ref in opf.xpath("//*[local-name()='itemref']/@idref"):
        href = items[ref]
        doc = parse_xml(read_member(archive, f"{base}/{href}" if base else href))
        section = doc.find(f".//{XHTML}section")
        kind = section.get(EPUB_TYPE) if section is not None else None
        if section is None or kind in ("titlepage", "cover") or "cover" in section.get("class", ""):
            continue
        if kind == "endnotes":
            notes_docs.append(doc)
            continue
        body = etree.fromstring(etree.tostring(section))
        for h1 in body.findall(f"{XHTML}h1"):
            body.remove(h1)
        if "continued" in section.get("class", "").split() and chapters:
            chapters[-1].paragraphs.extend(_blocks(body))  # the rest of a long chapter, split for size
            continue
        heading = section.find(f"{XHTML}h1")
        if heading is not None:
            for call in heading.xpath(".//*[@role='doc-noteref']/.."):
                _remove_keeping_tail(call)  # the title's note call is not part of its name
        title = _text(heading) if heading is not None else section.get("aria-label", "")
        chapters.append(ChapterText(Path(href).stem, title, _blocks(body)))
    for notes_doc in notes_docs:
        _attach_notes(chapters, notes_doc)
    return EditionText(str(path), metadata, chapters)


def _remove_keeping_tail(element: etree._Element) -> None:
    parent, before = element.getparent(), element.getprevious()
    if element.tail:
        if before is not None:
            before.tail = (before.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _attach_notes(chapters: list[ChapterText], notes_doc: etree._Element) -> None:
    by_title = {c.title: c for c in chapters}
    for group in notes_doc.iter(f"{XHTML}section"):
        heading = group.find(f"{XHTML}h2")
        title = _text(heading).removesuffix(" (continued)") if heading is not None else None
        if title not in by_title:
            continue
        for item in group.findall(f"{XHTML}ol/{XHTML}li"):  # a list inside a note is not a note
            for back in item.xpath(".//*[@role='doc-backlink']"):
                back.getparent().remove(back)
            by_title[title].notes.append(_text(item))


def read_folder(path: Path) -> EditionText:
    from .pipeline import prepare

    manuscript, _ = prepare(path)
    meta = manuscript.meta
    # As the EPUB's Dublin Core says them (read_epub): so that a folder compares with an EPUB.
    people = {role: "; ".join(c.name for c in meta.contributors if (c.role == "aut") == (role == "creator"))
              for role in ("creator", "contributor")}
    fields = {"title": "; ".join(filter(None, (meta.title, meta.subtitle))), "language": meta.language,
              "date": meta.date, "description": meta.description, "rights": meta.rights,
              "publisher": meta.publisher, **people}
    metadata = {key: value for key, value in fields.items() if value}
    chapters = []
    for chapter in manuscript.chapters:
        root = html.fragment_fromstring(chapter.body_html or "<p></p>", create_parent="div")
        notes = [_text(html.fragment_fromstring(n.html, create_parent="div")) for n in chapter.notes]
        chapters.append(ChapterText(chapter.id, chapter.title.text, _blocks(root), notes))
    return EditionText(str(path), metadata, chapters)


def read(path: Path) -> EditionText:
    if path.is_dir():
        return read_folder(path)
    if not path.exists():
        raise book_error(path, "diff-input", "no such file or folder")
    if not path.is_file():  # a pipe or a device: reading it could wait for ever
        raise book_error(path, "diff-input", "not a regular file",
                         hint="give two EPUB files or two book folders")
    return read_epub(path)


def word_diff(old: str, new: str) -> str:
    a, b = old.split(), new.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(" ".join(a[i1:i2]))
        if op in ("delete", "replace"):
            out.append("[-" + " ".join(a[i1:i2]) + "-]")
        if op in ("insert", "replace"):
            out.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(out)


@dataclass
class Counts:
    """What differs, each kind of thing counted apart: chapters, paragraphs, notes."""

    chapters_changed: int = 0
    chapters_added: int = 0
    chapters_removed: int = 0
    changed: int = 0  # paragraphs (and titles)
    added: int = 0
    removed: int = 0
    notes_added: int = 0
    notes_removed: int = 0
    renumbered: int = 0

    @property
    def chapters(self) -> int:
        return self.chapters_changed + self.chapters_added + self.chapters_removed


# The Dublin Core fields both an EPUB and a book folder can say: only these are compared.
COMPARED_METADATA = ("title", "language", "date", "creator", "contributor", "description", "rights",
                     "publisher")


def diff(old: EditionText, new: EditionText) -> tuple[list[str], Counts]:
    lines: list[str] = []
    counts = Counts()
    for key in COMPARED_METADATA:
        before, after = old.metadata.get(key), new.metadata.get(key)
        if before != after:
            lines.append(f"metadata {key}: {before!r} -> {after!r}")
    old_chapters = {c.key: c for c in old.chapters}
    new_keys = {c.key for c in new.chapters}
    for chapter in old.chapters:
        if chapter.key not in new_keys:
            lines.append(f'chapter "{chapter.title}": removed ({len(chapter.paragraphs)} paragraphs)')
            counts.chapters_removed += 1
    for chapter in new.chapters:
        earlier = old_chapters.get(chapter.key)
        if earlier is None:
            lines.append(f'chapter "{chapter.title}": added ({len(chapter.paragraphs)} paragraphs)')
            counts.chapters_added += 1
            continue
        body = _chapter_diff(earlier, chapter, counts)
        if body:
            counts.chapters_changed += 1
            title = chapter.title if chapter.title == earlier.title else \
                f"{earlier.title}\" -> \"{chapter.title}"
            lines.append(f'chapter "{title}":')
            lines.extend(f"  {line}" for line in body)
    return lines, counts


def _chapter_diff(old: ChapterText, new: ChapterText, counts: Counts) -> list[str]:
    lines = []
    if old.title != new.title:
        lines.append(f"~ title: {word_diff(old.title, new.title)}")
        counts.changed += 1
    matcher = difflib.SequenceMatcher(None, old.paragraphs, new.paragraphs, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        pairs = list(zip(range(i1, i2), range(j1, j2), strict=False)) if op == "replace" else []
        for i, j in pairs:
            if difflib.SequenceMatcher(None, old.paragraphs[i], new.paragraphs[j]).ratio() > 0.5:
                lines.append(f"~ ¶{j + 1}: {word_diff(old.paragraphs[i], new.paragraphs[j])}")
                counts.changed += 1
            else:
                lines += [f"- ¶{i + 1}: {old.paragraphs[i]}", f"+ ¶{j + 1}: {new.paragraphs[j]}"]
                counts.removed += 1
                counts.added += 1
        for i in range(i1 + len(pairs), i2):
            lines.append(f"- ¶{i + 1}: {old.paragraphs[i]}")
            counts.removed += 1
        for j in range(j1 + len(pairs), j2):
            lines.append(f"+ ¶{j + 1}: {new.paragraphs[j]}")
            counts.added += 1
    lines.extend(_notes_diff(old.notes, new.notes, counts))
    return lines


def _notes_diff(old: list[str], new: list[str], counts: Counts) -> list[str]:
    lines = []
    old_numbers = {text: number for number, text in enumerate(old, start=1)}
    new_numbers = {text: number for number, text in enumerate(new, start=1)}
    for text, number in new_numbers.items():
        if text in old_numbers and old_numbers[text] != number:
            lines.append(f"note {old_numbers[text]} is now note {number}: {_short(text)}")
            counts.renumbered += 1
    for text, number in new_numbers.items():
        if text not in old_numbers:
            lines.append(f"+ note {number}: {text}")
            counts.notes_added += 1
    for text, number in old_numbers.items():
        if text not in new_numbers:
            lines.append(f"- note {number}: {text}")
            counts.notes_removed += 1
    return lines


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def summary(counts: Counts) -> str:
    if not counts.chapters:
        return "no differences in the text"
    return (f"{counts.chapters} chapter{'s differ' if counts.chapters != 1 else ' differs'} "
            f"({counts.chapters_changed} changed, {counts.chapters_added} added, "
            f"{counts.chapters_removed} removed); paragraphs: {counts.changed} changed, "
            f"{counts.added} added, {counts.removed} removed; notes: {counts.notes_added} added, "
            f"{counts.notes_removed} removed, {counts.renumbered} renumbered")
