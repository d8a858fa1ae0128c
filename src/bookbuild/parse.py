"""Markdown -> XHTML blocks, headings and notes, one section at a time.

`parse_section` is pure: the same Section always gives the same Chapter, so later builds can
cache it per chapter. `parse_book` adds the book-wide pass: unique ids and link targets.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import markdown
from lxml import etree, html

from .diagnostics import Diagnostic, Report, display_path
from .images import image_problems
from .limits import MAX_NESTING
from .model import Book, Chapter, Heading, Image, Manuscript, Note, Section
from .pagemap import is_page_id
from .rawhtml import mark_foreign_content, refusals
from .stylesheets import references
from .typography import SMARTY_SUBSTITUTIONS, refine
from .verse import VerseExtension, shape_verse

if TYPE_CHECKING:
    from .keptchapters import KeptChapters

EPUB_NS = "http://www.idpf.org/2007/ops"
EPUB_TYPE = f"{{{EPUB_NS}}}type"
etree.register_namespace("epub", EPUB_NS)  # serialize epub:type, not ns0:type

_NOTE_REF = re.compile(r"\[\^([^\]\s]+)\](?!:)")
_NOTE_DEF = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_CONTAINER = re.compile(r"^\s*([-*+]|\d+[.)])\s|^ {0,3}\[\^[^\]]+\]:")  # list items, notes

def markdown_converter() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=["footnotes", "attr_list", "tables", "toc", "smarty", "fenced_code",
                    "sane_lists", "md_in_html", "def_list", VerseExtension()],
        extension_configs={
            "footnotes": {"USE_DEFINITION_ORDER": False},
            "smarty": {"substitutions": SMARTY_SUBSTITUTIONS},
            "toc": {"permalink": False},
        },
        output_format="xhtml",
    )


def parse_book(book: Book, progress: Callable[[str], None] | None = None,
               kept: KeptChapters | None = None) -> tuple[Manuscript, list[Diagnostic]]:
    """Parse every section; errors (the loader's too) raise BookError, warnings are returned.
    `kept`: the sections the last build parsed, taken where they did not change."""
    report = Report(list(book.problems))
    if kept is not None:
        kept.open(book)
    chapters = []
    for number, section in enumerate(book.sections, start=1):
        if progress is not None:
            progress(f"parsing {number}/{len(book.sections)} sections")
        chapter, diagnostics = _parse_kept(section, kept)
        report.extend(diagnostics)
        if chapter is not None:
            chapters.append(chapter)
    # With a section that could not be read, links to it would be false alarms.
    complete = len(chapters) == len(book.sections) and not any(d.severity == "error" for d in book.problems)
    chapters = _unique_ids_book_wide(chapters)
    chapters = _resolve_file_links(book, chapters, report, complete)
    if complete:
        _check_links(chapters, report)
    _check_images(book, chapters, report)
    report.raise_if_errors()
    return Manuscript(book=book, chapters=tuple(chapters)), report.warnings


@dataclass
class _SourceScan:
    """What the parser needs to know of the source text, with line numbers."""

    refs: dict[str, tuple[int, int]]  # first use of each note label -> (line, col)
    defs: dict[str, list[int]]  # label -> lines of its definitions


def _without_code(lines: list[str]) -> list[str]:
    """The source with code blanked out (fenced and indented blocks, inline spans), columns kept:
    a book may show `<script>` or `[^1]` as code. Indented lines that continue a list item or a
    note are text, not code."""
    out: list[str] = []
    in_fence = in_code = False
    previous, anchor = "", ""  # the line before; the last line neither blank nor indented
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append("")
        elif in_fence:
            out.append("")
        elif not line.strip():
            out.append(line)
        else:
            indented = line.startswith(("    ", "\t"))
            if indented and (in_code or (not previous.strip() and not _CONTAINER.match(anchor))):
                in_code = True
                out.append("")
            else:
                in_code = False
                anchor = anchor if indented else line
                out.append(_CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line))
        previous = line
    return out


def text_outside_code(source: str) -> str:
    """The source with its code blanked out, lines and columns kept."""
    return "\n".join(_without_code(source.split("\n")))


def _scan_source(section: Section, report: Report) -> _SourceScan:
    scan = _SourceScan({}, {})
    in_note = False  # inside a note's definition: its first line, then its indented ones
    for number, line in enumerate(_without_code(section.source.splitlines()), start=1):
        definition = _NOTE_DEF.match(line)
        if definition:
            scan.defs.setdefault(definition.group(1), []).append(number)
        in_note = bool(definition) or (in_note and (not line.strip() or line.startswith(("    ", "\t"))))
        for match in _NOTE_REF.finditer(line, definition.end() if definition else 0):
            if in_note:
                report.error(section.path, "note-in-note", f"a note calls note [^{match.group(1)}]: "
                             "notes cannot call notes", line=number, col=match.start() + 1,
                             hint="put what it says into the note itself, or call it from the text")
                continue
            scan.refs.setdefault(match.group(1), (number, match.start() + 1))
    for label, (ref_line, ref_col) in scan.refs.items():
        if label not in scan.defs:
            report.error(section.path, "note-undefined",
                         f"note [^{label}] is used but never defined", line=ref_line, col=ref_col,
                         hint=f'define it with "[^{label}]: …"')
    for label, lines in scan.defs.items():
        if len(lines) > 1:
            report.error(section.path, "note-duplicate",
                         f"note [^{label}] is defined {len(lines)} times", line=lines[1],
                         hint=f"the first definition is on line {lines[0]}")
        if label not in scan.refs:
            report.warning(section.path, "note-unused",
                           f"note [^{label}] is defined but never used", line=lines[0],
                           hint=f'refer to it with "[^{label}]" in the text, or remove it')
    return scan


def parse_section(section: Section) -> tuple[Chapter | None, Report]:
    report = Report()
    # A problem found here does not stop the other checks: every problem of the file is
    # reported in one run, not in waves.
    _scan_source(section, report)
    try:
        source_html = markdown_converter().convert(section.source)
    except RecursionError:  # python-markdown recurses once per level of nested lists
        source_html = ""
        depth = MAX_NESTING + 1
    else:
        depth = 0
    root = html.fragment_fromstring(source_html or "<p></p>", create_parent="div")
    deepest = max(depth, _depth(root))
    if deepest > MAX_NESTING:
        report.error(section.path, "nesting-too-deep", f"block quotes, lists or HTML elements are nested "
                     f"more than {MAX_NESTING} levels deep", line=_deepest_line(section.source),
                     hint="no book nests that deep: close the quotes, lists or <div>s sooner")
        return None, report
    _drop_comments(root)
    _check_tree(section, root, report)
    _check_unsupported(section, root, report)
    mark_foreign_content(root)
    shape_verse(root)
    # Notes first: a call in the title is numbered and linked like any other.
    notes = _collect_notes(section, root)
    _check_reserved_ids(section, root, notes, report)
    _refine_text(root)
    title = _take_title(section, root, report)
    images = _make_figures(root)
    _mark_epigraph(section, root)
    _complete_tables(root)
    for hr in root.iter("hr"):
        hr.set("class", "scene-break")
    headings = _headings(section, root, report)
    if title is None:
        return None, report
    return Chapter(
        section=section,
        title=title,
        body_html=inner_xhtml(root),
        headings=headings,
        notes=notes,
        images=images,
        ids=frozenset(el.get("id") for el in root.iter() if el.get("id")) | {section.id, title.id}
        | set(re.findall(r'\sid="([^"]+)"', title.full_html)),  # a note call in the title
    ), report


def _depth(root: html.HtmlElement) -> int:
    """How deep the tree goes, without recursion (the point is a tree too deep to recurse)."""
    deepest, stack = 0, [(root, 0)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in element)
    return deepest


def _deepest_line(source: str) -> int | None:
    """The line with the most quote marks, list indent or opening tags: where to look."""
    def weight(line: str) -> int:
        stripped = line.lstrip(" >")
        return (len(line) - len(stripped)) + line.count("<") - line.count("</")

    lines = source.splitlines()
    return max(range(len(lines)), key=lambda i: weight(lines[i])) + 1 if lines else None


def _check_reserved_ids(section: Section, root: html.HtmlElement, notes: tuple[Note, ...],
                        report: Report) -> None:
    """An id the author gave ({#ch-note-1}) that is one of this chapter's note or call ids would
    take the note's link or duplicate the call's id."""
    generated = {note.id for note in notes} | {ref for note in notes for ref in note.ref_ids}
    for element in root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id in generated and element.get("role") != "doc-noteref":
            line, col = _position(section.source, f"#{element_id}")
            report.error(section.path, "id-reserved", f'the id "{element_id}" is reserved for the notes',
                         line=line, col=col, hint="choose another id")
        elif element_id and is_page_id(element_id):
            # The author's own ({#page-12}, id="page-12"); one made from a heading is renamed.
            for written in (f"{{#{element_id}", f'id="{element_id}"', f"id='{element_id}'"):
                if written in section.source:
                    line, col = _position(section.source, written.lstrip("{").removeprefix("id="))
                    report.error(section.path, "id-reserved", f'the id "{element_id}" is reserved for '
                                 "the print page markers", line=line, col=col, hint="choose another id")
                    break


def _check_unsupported(section: Section, root: html.HtmlElement, report: Report) -> None:
    """Markup the dialect does not have must not turn silently into literal text."""
    lines = _without_code(section.source.splitlines())
    for number, line in enumerate(lines, start=1):
        following = lines[number] if number < len(lines) else ""
        if re.search(r"(?<!\\)\\$", line) and following.strip():
            report.warning(section.path, "line-break", "a backslash at the end of a line is not a "
                           "line break here: it would print as a backslash", line=number,
                           col=len(line), hint="end the line with two spaces instead")
    # A definition with no term: python-markdown writes <dd> with no <dt> (invalid XHTML), or
    # leaves the colon in the text. Either way the author is told; the text stays a paragraph.
    stray = [p for p in root.iter("p") if re.match(r":[ \t]", p.text or "")]
    for definitions in list(root.iter("dl")):
        if len(definitions) and definitions[0].tag == "dd":
            stray.append(definitions[0])
            definitions.tag = "div"
            for item in definitions:
                item.tag = "p" if item.find("p") is None else "div"
    colon_lines = [n for n, text in enumerate(section.source.splitlines(), start=1)
                   if re.match(r" {0,3}:[ \t]", text)]
    for found in stray:
        first_word = (re.findall(r"[^\W_]{2,}", _plain(found)) or [""])[0]
        found_line = next((n for n in colon_lines if first_word in section.source.splitlines()[n - 1]),
                          None)
        report.warning(section.path, "definition-list", 'a line starting with ":" has no term '
                       "above it", line=found_line, col=1 if found_line else None,
                       hint="put the term on the line just above it, as a definition list has it")


def _check_tree(section: Section, root: html.HtmlElement, report: Report) -> None:
    """Raw HTML against the allow-list (rawhtml.py); <style> elements against the CSS rules."""
    source = text_outside_code(section.source)
    for refusal in refusals(html.tostring(root, encoding="unicode")):
        line, col = _position(source, refusal.needle)
        report.error(section.path, refusal.code, refusal.message, line=line, col=col, hint=refusal.hint)
    for style in root.iter("style"):
        for ref in references(style.text or ""):
            if ref.loads_nothing:
                continue
            code, message = (("html-remote-import", "<style> may not @import a remote stylesheet")
                             if ref.is_import and ref.is_remote else
                             ("html-remote", "raw HTML may not load anything from the network")
                             if ref.is_remote else
                             ("html-style-url", "a <style> element may not load files: "
                              "put the rule in the book's stylesheet"))
            line, col = _position(source, "@import" if ref.is_import else "url(")
            report.error(section.path, code, message, line=line, col=col,
                         hint="remove it; a book's text is HTML without scripts or remote content")


def _drop_comments(root: html.HtmlElement) -> None:
    # Comments are the editor's (photo captions we have no photograph for): never output.
    for comment in root.xpath("//comment()"):
        comment.drop_tree()


def _take_title(section: Section, root: html.HtmlElement, report: Report) -> Heading | None:
    first = root.find("h1")
    heading = None
    if first is not None:
        title_id = first.get("id") or section.id
        if title_id == section.id:  # the section element carries that id already
            title_id = f"{section.id}-title"
        heading = _heading(1, title_id, first)
        first.drop_tree()
    if heading is not None and not heading.text:
        report.error(section.path, "no-title", "the section's title is only a note call",
                     line=_source_line(section.source, ""), hint="give the heading words before the call")
        return None
    if section.title:
        title_id = heading.id if heading else f"{section.id}-title"
        calls = _note_calls(heading.full_html) if heading else ""
        return Heading(1, title_id, section.title, _escape(section.title),
                       _escape(section.title) + calls)
    if heading is None and not section.kind_info.titled:
        # A dedication or an epigraph needs no heading; its documents still need a title.
        label = section.title or section.kind.replace("-", " ").capitalize()
        return Heading(1, f"{section.id}-title", label, _escape(label), _escape(label), shown=False)
    if heading is None:
        report.error(section.path, "no-title", "the section has no title",
                     line=1, hint='start it with "# Title", or give title = "…" in book.toml')
    return heading


def _heading(level: int, heading_id: str, element: html.HtmlElement) -> Heading:
    """A heading as the text shows it (note calls and links included) and as everything else
    that names it does: the contents, nav, outline and running heads, without them."""
    bare = copy.deepcopy(element)
    for call in bare.xpath(".//sup[@class='noteref']"):
        call.drop_tree()
    for link in bare.xpath(".//a"):
        link.drop_tag()
    return Heading(level, heading_id, _plain(bare), inner_xhtml(bare).strip(),
                   inner_xhtml(element))


def _note_calls(markup: str) -> str:
    return "".join(re.findall(r'<sup class="noteref">.*?</sup>', markup))


def _collect_notes(section: Section, root: html.HtmlElement) -> tuple[Note, ...]:
    """Move python-markdown's footnotes out of the text; number them in reading order (a call
    in a block quote or a heading as much as one in a paragraph) and give calls and notes
    book-wide ids."""
    container = root.find("div[@class='footnote']")
    if container is None:
        return ()
    container.drop_tree()
    # Only the list's own items: a list inside a note is part of that note.
    items = {item.get("id", "").partition(":")[2]: item for item in container.xpath("./ol/li")}
    calls = root.xpath("//sup[starts-with(@id, 'fnref')]")
    numbers: dict[str, int] = {}
    for label in [call.find("a").get("href", "").partition(":")[2] for call in calls] + list(items):
        numbers.setdefault(label, len(numbers) + 1)
    refs: dict[int, list[str]] = {}
    for sup in calls:
        link = sup.find("a")
        number = numbers[link.get("href", "").partition(":")[2]]
        ref_id = f"{section.id}-noteref-{number}"
        if number in refs:
            ref_id += f"-{len(refs[number]) + 1}"
        refs.setdefault(number, []).append(ref_id)
        sup.attrib.clear()
        sup.set("class", "noteref")
        link.attrib.clear()
        link.set("id", ref_id)
        link.set("href", f"#{section.id}-note-{number}")
        link.set(EPUB_TYPE, "noteref")
        link.set("role", "doc-noteref")
        link.text = str(number)
    notes = []
    for label, item in items.items():
        for backref in item.find_class("footnote-backref"):
            backref.drop_tree()
        _refine_text(item)
        # python-markdown puts a no-break space before the back-link we just removed.
        body = re.sub(r"[\s\u00a0]+(</p>)?$", r"\1", inner_xhtml(item).strip())
        number = numbers[label]
        notes.append(Note(number, f"{section.id}-note-{number}", tuple(refs.get(number, ())), body))
    return tuple(sorted(notes, key=lambda note: note.number))


def _make_figures(root: html.HtmlElement) -> tuple[Image, ...]:
    """A paragraph holding only an image becomes a figure; the image's title is its caption."""
    images = []
    for img in list(root.iter("img")):
        images.append(Image(img.get("src", ""), img.get("alt", "")))
        parent = img.getparent()
        alone = parent.tag == "p" and len(parent) == 1 and not (parent.text or "").strip() \
            and not (img.tail or "").strip()
        if not alone:
            continue
        parent.tag = "figure"
        parent.set("class", "figure")
        caption = img.attrib.pop("title", None)
        if caption:
            figcaption = etree.SubElement(parent, "figcaption")
            figcaption.text = caption
    return tuple(images)


def _headings(section: Section, root: html.HtmlElement, report: Report) -> tuple[Heading, ...]:
    headings = []
    level_above = 1
    for element in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        level = int(element.tag[1])
        line = _source_line(section.source, _plain(element))
        if level == 1:
            report.error(section.path, "heading-level", "a section has one level-1 heading, its title",
                         line=line, hint='use "##" for the headings inside a chapter')
        elif level > level_above + 1:
            report.error(section.path, "heading-level",
                         f"heading level {level} follows level {level_above}: levels may not skip",
                         line=line, hint=f"use {'#' * (level_above + 1)} here")
        level_above = level
        heading = _heading(level, element.get("id", ""), element)
        if heading.full_html != heading.html:  # a note call or a link: the outline takes the words
            element.set("data-title", heading.text)
        headings.append(heading)
    return tuple(headings)


def _mark_epigraph(section: Section, root: html.HtmlElement) -> None:
    """Block quotes at the very head of a chapter, before its text, are its epigraph."""
    if not section.kind_info.titled:
        return  # a dedication or a book's epigraph is such a page already
    for element in root:
        if not isinstance(element.tag, str) or element.tag != "blockquote":
            break
        element.set("class", " ".join(filter(None, [element.get("class"), "epigraph"])))
        element.set(EPUB_TYPE, "epigraph")
        element.set("role", "doc-epigraph")


def _complete_tables(root: html.HtmlElement) -> None:
    """A header cell left empty (the corner of a table of figures) is an ordinary cell: screen
    readers have nothing to announce for it, and Ace fails an empty header."""
    for table in list(root.iter("table")):
        for cell in table.iter("th"):
            if not _plain(cell):
                cell.tag = "td"
        columns = max((len(row.findall("td")) + len(row.findall("th")) for row in table.iter("tr")),
                      default=0)
        for cell in table.iter("td", "th"):
            if _NUMERIC.fullmatch(_plain(cell)):
                cell.set("class", "num")
        if columns >= WIDE_TABLE_COLUMNS:
            table.set("class", "wide")
        # The holder lets a wide table scroll sideways on a phone instead of being cut off.
        holder = html.Element("div")
        holder.set("class", "table")
        table.addprevious(holder)
        holder.tail, table.tail = table.tail, None
        holder.append(table)


WIDE_TABLE_COLUMNS = 6  # from this many columns a table is set small to fit the print measure
# A figure, a sum, a percentage, or the ditto mark that stands for the figure above.
_NUMERIC = re.compile(r"[-+−–—]?[£$€]?\s?\d[\d,.\s\u2009\u00a0]*%?|[”\u3003]|[-–—]")


def _refine_text(root: html.HtmlElement) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in ("code", "pre"):
            continue
        if element.text:
            element.text = refine(element.text)
        if element.tail:
            element.tail = refine(element.tail)


# parse_section is pure and Section is hashable: a long-running process (bookbuild serve)
# parses again only the sections whose text changed.
_parse_cached = functools.lru_cache(maxsize=4096)(parse_section)


def _parse_kept(section: Section, kept: KeptChapters | None) -> tuple[Chapter | None, Report]:
    found = kept.get(section) if kept is not None else None
    if found is not None:
        return found
    chapter, report = _parse_cached(section)
    if kept is not None:
        kept.put(section, chapter, report)
    return chapter, report


# Ids the templates give their own elements (and "notes-<chapter>" headings): a heading or a
# note may not take one, or links and page numbers would land in the wrong place.
TEMPLATE_IDS = frozenset({"notes", "notes-title", "contents", "copyright", "title-page", "half-title",
                          "body-matter", "titlepage", "toc", "toc-title", "landmarks", "cover"})


def _unique_ids_book_wide(chapters: list[Chapter]) -> list[Chapter]:
    """python-markdown makes ids unique in one file; the print edition is one document."""
    # Section ids name files and anchors: they are never renamed, so they are taken first.
    taken: set[str] = set(TEMPLATE_IDS) | {c.id for c in chapters} | {f"notes-{c.id}" for c in chapters}
    taken |= {note.id for c in chapters for note in c.notes}
    result = []
    for chapter in chapters:
        # (an id like a print page marker's, made from a heading "Page 12", is renamed too)
        clashes = {i for i in chapter.ids if (i in taken or is_page_id(i)) and i != chapter.id}
        renames = {}
        for old in sorted(clashes):
            new, n = f"{chapter.id}-{old}", 2
            while new in taken or new in chapter.ids or is_page_id(new):
                new, n = f"{chapter.id}-{old}-{n}", n + 1
            renames[old] = new
        taken |= (chapter.ids - clashes) | set(renames.values())
        if renames:
            chapter = _rename_ids(chapter, renames)
        result.append(chapter)
    return result


def _rename_ids(chapter: Chapter, renames: dict[str, str]) -> Chapter:
    """Rename ids, and the chapter's own links to them (a link from another chapter to a
    clashing id keeps meaning the first one in the book)."""
    body = re.sub(r'(\s(?:id|href)="#?)([^"]+)(")', lambda m: m[1] + renames.get(m[2], m[2]) + m[3],
                  chapter.body_html)
    headings = tuple(replace(h, id=renames.get(h.id, h.id)) for h in chapter.headings)
    title = replace(chapter.title, id=renames.get(chapter.title.id, chapter.title.id))
    ids = frozenset(renames.get(i, i) for i in chapter.ids)
    return replace(chapter, title=title, body_html=body, headings=headings, ids=ids)


def _check_links(chapters: list[Chapter], report: Report) -> None:
    """Every '#id' link, in the text, the titles and the notes, must land somewhere."""
    known = set().union(*(c.ids for c in chapters)) | {n.id for c in chapters for n in c.notes}
    for chapter in chapters:
        markup = chapter.title.full_html + chapter.body_html + "".join(n.html for n in chapter.notes)
        shown = display_path(chapter.section.path)
        note_problem = any(d.path == shown and d.code.startswith("note-") for d in report.errors)
        for target in re.findall(r'href="#([^"]+)"', markup):
            if target.startswith("fn:") and not note_problem and target not in known:
                report.error(chapter.section.path, "note-in-note", f"a note calls note [^{target[3:]}]: "
                             "notes cannot call notes", line=_position(chapter.section.source,
                                                                       f"[^{target[3:]}]")[0],
                             hint="put what it says into the note itself, or call it from the text")
                continue
            if target not in known and not target.startswith(("fn:", "fnref")):
                line, col = _position(chapter.section.source, f"(#{target})")
                report.error(chapter.section.path, "link-target",
                             f'the link to "#{target}" points at no heading or anchor in the book',
                             line=line, col=col,
                             hint="check the id; a heading's id is shown in the EPUB's contents")


_FILE_LINK = re.compile(r'href="(?![a-zA-Z][a-zA-Z0-9+.-]*:|/|#)([^"#]+\.(?:md|markdown))(?:#([^"]*))?"')


def _resolve_file_links(book: Book, chapters: list[Chapter], report: Report,
                        complete: bool) -> list[Chapter]:
    """A link to another Markdown file of the book ("chapter-2.md#x") becomes a link to that
    section (or to the anchor in it), which each output then resolves as its own."""
    by_path = {c.section.path.resolve(): c for c in chapters}

    def resolve(chapter: Chapter, markup: str) -> str:
        def target(match: re.Match[str]) -> str:
            name, fragment = match[1], match[2]
            found = by_path.get((chapter.section.path.parent / name).resolve())
            if found is None:
                if complete:
                    line, col = _position(chapter.section.source, name)
                    report.error(chapter.section.path, "link-file",
                                 f'the link to "{name}" names no file of the book\'s contents',
                                 line=line, col=col,
                                 hint="link to a file listed in [[contents]], or to a web address")
                return match[0]
            if not fragment:
                return f'href="#{found.id}"'
            renamed = f"{found.id}-{fragment}"  # see _unique_ids_book_wide
            if fragment in found.ids or renamed in found.ids:
                return f'href="#{fragment if fragment in found.ids else renamed}"'
            if complete:
                line, col = _position(chapter.section.source, f"{name}#{fragment}")
                report.error(chapter.section.path, "link-target",
                             f'the link to "{name}#{fragment}" points at no heading or anchor in '
                             f"{name}", line=line, col=col,
                             hint="check the id; a heading's id is shown in the EPUB's contents")
            return match[0]

        return _FILE_LINK.sub(target, markup)

    result = []
    for chapter in chapters:
        notes = tuple(replace(note, html=resolve(chapter, note.html)) for note in chapter.notes)
        title = replace(chapter.title, full_html=resolve(chapter, chapter.title.full_html))
        result.append(replace(chapter, title=title, body_html=resolve(chapter, chapter.body_html),
                              notes=notes))
    return result


def _check_images(book: Book, chapters: list[Chapter], report: Report) -> None:
    from .loader import resolve_inside

    for chapter in chapters:
        for image in chapter.images:
            line, col = _position(chapter.section.source, image.src)
            url = urlsplit(image.src)
            if url.scheme in ("http", "https") or image.src.startswith("//"):
                shown = display_path(chapter.section.path)
                if any(d.code == "html-remote" and (d.path, d.line) == (shown, line) for d in report.errors):
                    continue  # raw HTML's <img>: said once already
                report.error(chapter.section.path, "image-remote",
                             f'the image "{image.src}" is on the network', line=line, col=col,
                             hint="download it into the book folder and refer to it there")
                continue
            if url.scheme == "file":
                report.error(chapter.section.path, "image-file-url",
                             f'"{image.src}": file:// URLs are not allowed', line=line, col=col,
                             hint="copy the image into the book folder and give a relative path")
                continue
            path = resolve_inside(book.root, image.src, chapter.section.path, report, line)
            if path is None:
                continue
            for problem in image_problems(image.src, path):
                report.error(chapter.section.path, problem.code, problem.message, line=line, col=col,
                             hint=problem.hint)
            if not image.alt.strip():
                report.warning(chapter.section.path, "image-alt",
                               f'the image "{image.src}" has no alt text', line=line, col=col,
                               hint="describe it for readers who cannot see it: ![description](…)")


def _position(source: str, needle: str) -> tuple[int | None, int | None]:
    needle = needle.lower()
    for number, line in enumerate(source.splitlines(), start=1):
        col = line.lower().find(needle)
        if col >= 0:
            return number, col + 1
    return None, None


def _source_line(source: str, text: str) -> int | None:
    for number, line in enumerate(source.splitlines(), start=1):
        if line.lstrip().startswith("#") and text[:20] in line:
            return number
    return None


def _plain(element: html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_VOID = "area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr"
# An empty element that is not void, written <td/>: the print HTML is parsed as HTML, where
# that opens an element which swallows what follows. Written <td></td>, it means the same in both.
_SELF_CLOSED = re.compile(rf"<(?!(?:{_VOID})\b)([a-zA-Z][\w:-]*)(\s[^<>]*?)?/>")


def inner_xhtml(element: html.HtmlElement) -> str:
    """The element's content as XHTML (well-formed, characters not entities)."""
    parts = [_escape(element.text or "")]
    for child in element:
        parts.append(etree.tostring(child, method="xml", encoding="unicode", with_tail=True))
    markup = "".join(parts).replace(f' xmlns:epub="{EPUB_NS}"', "")
    return _SELF_CLOSED.sub(lambda m: f"<{m[1]}{m[2] or ''}></{m[1]}>", markup)
