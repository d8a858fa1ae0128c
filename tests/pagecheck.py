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
    text = ""
    for node in span.xpath("following::text()"):
        parent = node.getparent()
        if any("backlink" in (a.get("class") or "").split()
               for a in (parent, *parent.iterancestors())):
            continue
        text += counted(str(node))
        if len(text) >= COMPARED + 40:
            break
    return text


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
    index = {label: number for number, label in enumerate(labels)}
    seen: dict[str, int] = {}
    for label, name, after in markers:
        seen[label] = seen.get(label, 0) + 1
        if label not in index:
            problems.append(f"marker {label} ({name}): the PDF has no such page")
            continue
        number = index[label]
        if not _starts_page(after, lines[number]):
            problems.append(f"marker {label} ({name}): the EPUB goes on with {after[:COMPARED]!r}, "
                            f"page {label} begins {counted(' '.join(lines[number][:2]))[:60]!r}")
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


def _starts_page(after: str, page: list[str]) -> bool:
    """The EPUB's text after a marker is the page's first text: right at the top of the page, or
    after its running head (one line); when the page begins in a word hyphenated across the
    break, the marker is before that word."""
    # The numbers and dashes of lists (the notes') are drawn by the layout, and the print Notes'
    # "(page N)" is the print edition's own: neither is text of both editions.
    unnumbered = [re.sub(r"\(page [0-9ivxlcdm]+\)", "", re.sub(r"^\s*((\d+|[ivxlc]+)\.|[–•-])\s", "", line))
                  for line in page]
    word = re.match(r"[\w\-\u2010\u00ad'’]*", after)
    cuts = range(1, len(word[0]) + 1) if word else range(0)
    for skip, lines in ((0, page), (1, page), (0, unnumbered), (1, unnumbered)):
        text = counted(" ".join(lines[skip:]))
        if text and (text.startswith(after[:COMPARED]) or after.startswith(text)):
            return True
        # A page that begins inside a word (hyphenated across the break): the marker is before it.
        if text and any(text.startswith(after[cut:cut + COMPARED]) for cut in cuts):
            return True
    return False
