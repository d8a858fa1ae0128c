"""How a section's heading and first line look, as the manifest's [design] asks.

- **Labels.** The sections of kind "chapter" are numbered 1, 2, 3 … through the book, across
  its parts. A chapter's label is the manifest's pattern with its number written as the
  numbering says: `{n}` as it is ("3", "iii", "three"), `{N}` capitalised ("3", "III",
  "Three"); words in the book's language. The label is part of the heading (a screen reader
  reads "Chapter One, Title" once), shown above the title.
- **First line.** A section that opens with text may set its first line in small capitals or
  open with a drop cap: CSS on the text as it is (::first-line, ::first-letter), so the word
  stays one word for a screen reader and a search.
"""

from __future__ import annotations

import re
from dataclasses import replace

from lxml import etree
from num2words import CONVERTER_CLASSES, num2words

from .model import Chapter, DesignOptions, Manuscript
from .parse import EPUB_NS, inner_xhtml

NUMBERED_KIND = "chapter"
DROP_CAP_CLASS = "drop-cap"
# A drop cap is the first letter with the punctuation before it (“I); a letter, not a digit.
FIRST_LETTER = re.compile(r"(\s*)([^\w\s]*[^\W\d_])")
PLACEHOLDERS = ("{n}", "{N}")
NUMBERINGS = ("arabic", "roman", "words")
ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
         (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def roman(number: int) -> str:
    out = ""
    for value, letters in ROMAN:
        count, number = divmod(number, value)
        out += letters * count
    return out


def words_language(language: str) -> str | None:
    """The num2words language for a BCP 47 tag ("en-GB" -> "en"), or None when it has none."""
    parts = language.replace("-", "_").split("_")
    for name in (f"{parts[0].lower()}_{parts[1].upper()}" if len(parts) > 1 else "",
                 parts[0].lower()):
        if name in CONVERTER_CLASSES:
            return name
    return None


def written(number: int, numbering: str, language: str) -> str:
    """`number` as `numbering` writes it, in lower case: "3", "iii", "three"."""
    if numbering == "roman":
        return roman(number)
    if numbering == "words":
        return str(num2words(number, lang=words_language(language) or "en"))
    return str(number)


def label(pattern: str, number: int, numbering: str, language: str) -> str:
    text = written(number, numbering, language)
    capital = text.upper() if numbering == "roman" else text[:1].upper() + text[1:]
    return pattern.replace("{n}", text).replace("{N}", capital)


def chapter_labels(chapters: tuple[Chapter, ...], design: DesignOptions, language: str
                   ) -> dict[str, str]:
    """Each chapter's label, by its id ({} when the book asks for none)."""
    if not design.chapter_label:
        return {}
    numbered = [chapter for chapter in chapters if chapter.kind == NUMBERED_KIND]
    return {chapter.id: label(design.chapter_label, number, design.numbering, language)
            for number, chapter in enumerate(numbered, start=1)}


def first_line_sections(chapters: tuple[Chapter, ...], design: DesignOptions) -> frozenset[str]:
    """The ids of the sections whose first line the design sets: those with a title, in the
    contents, that are not a part's title page."""
    if design.first_line == "none":
        return frozenset()
    return frozenset(chapter.id for chapter in chapters
                     if chapter.listed and chapter.title.shown and chapter.kind != "part")


def first_line_class(design: DesignOptions) -> str:
    return f"first-line-{design.first_line}"


def with_first_lines(ms: Manuscript, in_print: bool) -> Manuscript:
    """The manuscript with each section's opening paragraph marked as the design asks (the
    same paragraphs in the EPUB and in print; in print, a drop cap's letter in a span too)."""
    design = ms.book.design
    chosen = first_line_sections(ms.chapters, design)
    if not chosen:
        return ms
    return replace(ms, chapters=tuple(
        replace(chapter, body_html=mark_opening(chapter.body_html, design.first_line, in_print))
        if chapter.id in chosen else chapter for chapter in ms.chapters))


def mark_opening(markup: str, first_line: str, in_print: bool) -> str:
    """The section's XHTML with its opening paragraph (the first, after an epigraph) given the
    class `first-line-…` the stylesheets style (::first-line, ::first-letter). A drop cap needs
    text that opens with a letter (after punctuation: “Q); in print its letter is put in a span,
    which WeasyPrint floats where it cannot float ::first-letter. The span splits no word in
    the text: "<span>W</span>hen" reads as one. Anything else: the markup as it is."""
    root = etree.fromstring(f'<div xmlns:epub="{EPUB_NS}">{markup}</div>'.encode())
    block = next((child for child in root if not (
        child.tag == "blockquote" and "epigraph" in (child.get("class") or "").split())), None)
    if block is None or block.tag != "p":
        return markup
    match = FIRST_LETTER.match(block.text or "")
    if first_line == "drop-cap" and match is None:
        return markup
    block.set("class", " ".join(filter(None, (block.get("class"), f"first-line-{first_line}"))))
    if first_line == "drop-cap" and in_print and match is not None:
        span = etree.Element("span", {"class": DROP_CAP_CLASS})
        span.text = match[2]
        span.tail = (block.text or "")[match.end():]
        block.text = match[1]
        block.insert(0, span)
    return inner_xhtml(root)


def check_pattern(pattern: str) -> str | None:
    """A label pattern's problem, if it has one: it must name the number once, with {n} or {N},
    and hold no other placeholder (it is not str.format)."""
    rest = pattern
    for placeholder in PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if rest == pattern:
        return f'chapter_label "{pattern}" has no number: put {{n}} or {{N}} in it (e.g. "Chapter {{N}}")'
    if "{" in rest or "}" in rest:
        return f'chapter_label "{pattern}" has braces other than {{n}} and {{N}}'
    return None
