"""The EPUB as Kobo's own conversion makes it (a "kepub"): what Kobo devices need for reading
statistics, highlights and fast page turns.

Each content document gets, as Kobo's conversion gives it (the behaviour kepubify documents):

- its body's content wrapped in `div#book-columns > div#book-inner`, and a style that keeps
  the inner div's margins off;
- every sentence of its text in a `span.koboSpan` with the id `kobo.P.S`: P counts the
  paragraphs (each `p`, list and table that has text, and each image, which gets a span of its
  own), S the sentences in it. A sentence ends after . ! ? or : (and a closing quote), with the
  space after it; nothing of the text is left out or changed.

Pictures drawn as SVG or MathML, preformatted text and media keep their content as it is. The
navigation document is left alone: it is no reading text.
"""

from __future__ import annotations

import re
from dataclasses import replace

from lxml import etree

from .model import EpubDocument, EpubPackage
from .xmlread import parser as xml_parser

XHTML = "http://www.w3.org/1999/xhtml"
SPAN_CLASS = "koboSpan"
STYLE = "div#book-inner { margin-top: 0; margin-bottom: 0; }"
SENTENCE = re.compile(r".*?[.!?:]['\"”’“…]?\s*", re.DOTALL)
PARAGRAPHS = frozenset({"p", "ol", "ul", "table"})  # a new paragraph once it has text
KEPT_AS_IS = frozenset({"script", "style", "pre", "audio", "video", "svg", "math"})


def kobo_package(package: EpubPackage) -> EpubPackage:
    """The package with Kobo's markup in every content document."""
    return replace(package, documents=tuple(
        document if "nav" in document.properties else _kobo_document(document)
        for document in package.documents))


def _kobo_document(document: EpubDocument) -> EpubDocument:
    root = etree.fromstring(document.content, xml_parser())
    head = root.find(f"{{{XHTML}}}head")
    body = root.find(f"{{{XHTML}}}body")
    if head is None or body is None:
        return document
    style = etree.SubElement(head, f"{{{XHTML}}}style", {"type": "text/css",
                                                         "class": "kobostylehacks"})
    style.text = STYLE
    Spans().add(body)
    _wrap_body(body)
    content = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    doctype = b"<!DOCTYPE html>\n"
    head_end = content.index(b"?>") + 3
    return replace(document, content=content[:head_end] + doctype + content[head_end:])


def _wrap_body(body: etree._Element) -> None:
    columns = etree.Element(f"{{{XHTML}}}div", {"id": "book-columns"})
    inner = etree.SubElement(columns, f"{{{XHTML}}}div", {"id": "book-inner"})
    inner.text, body.text = body.text, None
    for child in list(body):
        inner.append(child)  # (its tail goes with it)
    body.append(columns)


class Spans:
    """Numbers the sentences of a document as it walks its body in reading order."""

    def __init__(self) -> None:
        self.paragraph = 0
        self.sentence = 0
        self.pending = False  # a paragraph element began: the next span opens a new paragraph

    def add(self, element: etree._Element) -> None:
        name = etree.QName(element).localname
        if name in KEPT_AS_IS:
            return
        if name in PARAGRAPHS:
            self.pending = True
        lead, spans = self._spans(element.text or "", name == "p")
        element.text = lead
        for index, span in enumerate(spans):
            element.insert(index, span)
        for child in list(element)[len(spans):]:
            if not isinstance(child.tag, str):  # a comment, a processing instruction
                continue
            if etree.QName(child).localname == "img":
                child = self._image(child)
            else:
                self.add(child)
            self._tail(child, name == "p")

    def _tail(self, child: etree._Element, in_p: bool) -> None:
        """The text after `child`, up to its next sibling, as spans."""
        lead, spans = self._spans(child.tail or "", in_p)
        child.tail = lead
        anchor = child
        for span in spans:
            anchor.addnext(span)
            anchor = span

    def _image(self, image: etree._Element) -> etree._Element:
        """An image in a span of its own, a paragraph of its own; the span, which takes the
        image's place (and its tail)."""
        self.paragraph += 1
        self.sentence = 0
        self.pending = False
        span = self._span()
        span.tail, image.tail = image.tail, None
        image.addprevious(span)
        span.append(image)
        return span

    def _spans(self, text: str, in_p: bool) -> tuple[str | None, list[etree._Element]]:
        """`text` as one span a sentence; white space alone is no sentence, but in a p: it is
        the text before the first span, or the tail of the one before."""
        pieces = [match.group() for match in SENTENCE.finditer(text)]
        rest = text[sum(len(piece) for piece in pieces):]
        pieces += [rest] if rest else []
        lead: str | None = None
        spans: list[etree._Element] = []
        for piece in pieces:
            if piece.isspace() and not in_p:
                if spans:
                    spans[-1].tail = (spans[-1].tail or "") + piece
                else:
                    lead = (lead or "") + piece
                continue
            if self.pending:
                self.paragraph += 1
                self.sentence = 0
                self.pending = False
            span = self._span()
            span.text = piece
            spans.append(span)
        return lead, spans

    def _span(self) -> etree._Element:
        self.sentence += 1
        return etree.Element(f"{{{XHTML}}}span", {"class": SPAN_CLASS,
                                                 "id": f"kobo.{self.paragraph}.{self.sentence}"})
