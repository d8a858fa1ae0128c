"""Reading an EPUB's print page markers back against the PDF they came from, as a reader with
both editions would: after the marker for page N, the EPUB goes on with the first words of page
N of the PDF; every page with text of the EPUB's has one marker; the page-list lists them all.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
import unicodedata
import zipfile
from pathlib import Path

from lxml import etree
from pypdf import PdfReader

XHTML = "http://www.w3.org/1999/xhtml"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
OPF = "{http://www.idpf.org/2007/opf}"
COMPARED = 20  # counted characters compared after each marker


def counted(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and c not in "\u00ad\u200b\u200c\u200d\u2060\ufeff")


def epub_markers(epub_path: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]], list[str]]:
    """The markers in reading order: (label, the document, the counted text after it); the
    page-list's (label, href); and what is wrong with any marker's markup."""
    problems: list[str] = []
    markers: list[tuple[str, str, str]] = []
    page_list: list[tuple[str, str]] = []
    with zipfile.ZipFile(epub_path) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
        items = {item.get("id"): item for item in opf.iter(f"{OPF}item")}
        for itemref in opf.iter(f"{OPF}itemref"):
            item = items[itemref.get("idref")]
            name = posixpath.join("EPUB", item.get("href"))
            root = etree.fromstring(archive.read(name))
            for span in root.iter(f"{{{XHTML}}}span"):
                if span.get(EPUB_TYPE) != "pagebreak":
                    continue
                label = span.get("aria-label") or ""
                if span.get("role") != "doc-pagebreak" or span.get("id") != f"page-{label}" \
                        or span.text or len(span):
                    problems.append(f"{name}: marker {label} is not an empty pagebreak span")
                markers.append((label, name, _text_after(span)))
            if "nav" in (item.get("properties") or "").split():
                for nav in root.iter(f"{{{XHTML}}}nav"):
                    if nav.get(EPUB_TYPE) == "page-list":
                        page_list += [(link.text or "", posixpath.join(posixpath.dirname(name),
                                                                       link.get("href")))
                                      for link in nav.iter(f"{{{XHTML}}}a")]
    return markers, page_list, problems


def _text_after(span: etree._Element) -> str:
    """The EPUB's text after a marker, spaces kept (the first word is needed)."""
    text = ""
    for node in span.xpath("following::text()"):
        parent = node.getparent()
        if any("backlink" in (a.get("class") or "").split()
               for a in (parent, *parent.iterancestors())):
            continue
        text += str(node)
        if len(counted(text)) >= COMPARED + 40:
            break
    return " ".join(unicodedata.normalize("NFKC", text).split())


def drawn_again(epub_path: Path) -> tuple[set[str], set[str]]:
    """What the print edition draws on pages beside the text, as counted text: the running heads
    (the book's and the sections' titles, "notes"; casefolded: set in small capitals), and the
    header rows of tables (drawn again on each page a table runs onto)."""
    heads = {"notes", "contents"}
    rows: set[str] = set()
    with zipfile.ZipFile(epub_path) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
        heads |= {counted(t.text or "").casefold()
                  for t in opf.iter("{http://purl.org/dc/elements/1.1/}title")}
        for name in archive.namelist():
            if name.endswith(".xhtml"):
                root = etree.fromstring(archive.read(name))
                heads |= {counted("".join(h.itertext())).casefold()
                          for h in root.iter(f"{{{XHTML}}}h1", f"{{{XHTML}}}a")}
                rows |= {counted("".join(row.itertext()))
                         for head in root.iter(f"{{{XHTML}}}thead") for row in head}
    return heads, rows


def pdf_pages(pdf_path: Path) -> tuple[list[str], list[list[str]]]:
    """Each page's label and its lines of text (pdftotext), without the folio line."""
    labels = list(PdfReader(pdf_path).page_labels)
    run = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True,
                         text=True, check=True)
    pages = run.stdout.split("\f")[:len(labels)]
    lines = []
    for label, page in zip(labels, pages, strict=True):
        found = [line for line in page.splitlines() if line.strip()]
        if found and found[-1].rstrip().endswith(label):  # (pdftotext may join it to the text)
            found[-1] = found[-1].rstrip()[:-len(label)]
            found = found if found[-1].strip() else found[:-1]
        lines.append(found)
    return labels, lines


def is_contents(lines: list[str]) -> bool:
    return bool(lines) and (lines[0].strip() == "Contents" or
                            sum(". . ." in line for line in lines) * 3 > len(lines))


def marker_problems(epub_path: Path, pdf_path: Path, *, half_title: bool = True) -> list[str]:
    """Everything wrong between the EPUB's page markers and the PDF's pages; [] when none."""
    markers, page_list, problems = epub_markers(epub_path)
    labels, lines = pdf_pages(pdf_path)
    heads, rows = drawn_again(epub_path)
    index = {label: number for number, label in enumerate(labels)}
    seen: dict[str, int] = {}
    for label, name, after in markers:
        seen[label] = seen.get(label, 0) + 1
        if label not in index:
            problems.append(f"marker {label} ({name}): the PDF has no such page")
            continue
        number = index[label]
        if not any(_starts_page(after, body) for body in _body_lines(lines[number], heads, rows)):
            problems.append(f"marker {label} ({name}): the EPUB goes on with {after[:40]!r}, "
                            f"page {label} begins {' '.join(lines[number][:2])[:60]!r}")
    problems += [f"page {label} has {count} markers" for label, count in seen.items() if count > 1]
    order = [index.get(label, -1) for label, _name, _after in markers]
    if order != sorted(order):
        problems.append("the markers are not in the order of the pages")
    for number, page in enumerate(lines):
        has_text = bool(page) and not is_contents(page) and not (half_title and number == 0)
        if has_text and labels[number] not in seen:
            problems.append(f"page {labels[number]} has text ({page[0][:40]!r}) and no marker")
    wanted = [(label, f"{name}#page-{label}") for label, name, _after in markers]
    if page_list != wanted:
        problems.append(f"the page-list ({len(page_list)} entries) does not list the "
                        f"{len(markers)} markers in order")
    return problems


def _body_lines(page: list[str], heads: set[str], rows: set[str]) -> list[list[str]]:
    """A page's lines of text as they are, and without a first line that is a running head (a
    section's opening page has none: its first line is the title), then without a table's
    repeated header row; each without the numbers and dashes of lists (the notes', drawn by the
    layout) and the print Notes' "(page N)" (the print edition's own)."""
    versions = [page]
    if page and _is_head(counted(page[0]).casefold(), heads):
        versions.append(page[1:])
    versions += [version[lines:] for version in versions if (lines := _leading_row(version, rows))]
    # (each also as it is: a heading set in lower case may begin with what reads as a number,
    # "l. of g.’s purport")
    return [*([re.sub(r"\(page [0-9ivxlcdm]+\)", "", re.sub(r"^\s*((\d+|[ivxlc]+)\.|[–•-])\s", "", line))
               for line in version] for version in versions), *versions]


def _is_head(line: str, heads: set[str]) -> bool:
    """A running head: a title, or a long one cut to its line (render.running_head): before its
    colon, or after a word with an ellipsis."""
    return line in heads or any(head.startswith(line + ":") for head in heads) \
        or (line.endswith("...") and any(head.startswith(line[:-3]) for head in heads))  # (NFKC: …)


def _leading_row(page: list[str], rows: set[str]) -> int:
    """How many first lines of `page` are a table's header row (pdftotext may put each cell on
    a line of its own); 0 if they are not."""
    text = ""
    for number, line in enumerate(page[:12], start=1):
        text += counted(line)
        if text in rows:
            return number
    return 0


def _starts_page(after: str, page: list[str]) -> bool:
    """The EPUB's text after a marker is the page's first text; or, when the page begins inside
    a word hyphenated across the break, that word's rest: the marker is before the word."""
    # (casefolded: a theme may set a title or a heading in capitals, or in small capitals)
    text = counted(" ".join(page)).casefold()
    wanted = counted(after).casefold()[:COMPARED]
    if not text or not wanted:
        return False
    if text.startswith(wanted) or (len(text) < COMPARED and wanted.startswith(text)):
        return True
    word = counted(after.split(" ", 1)[0])
    rest = counted(after).casefold()
    return any(text.startswith(rest[cut:cut + COMPARED]) for cut in range(1, len(word)))
