"""The HTML a chapter may carry, as an allow-list checked by nh3 (the Ammonia sanitizer).

nh3 removes what is not allowed and says nothing; a book must not be shipped cleaned without a
word, so the check compares what went in with what nh3 kept, and each element or attribute it
would remove becomes an error with the source's line. The chapter itself is never replaced by
nh3's output (HTML, not the XHTML an EPUB needs)."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import nh3
from lxml import html

from . import urls
from .stylesheets import references

_HTML_TAGS = {
    "a", "abbr", "article", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite",
    "code", "col", "colgroup", "data", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr",
    "i", "img", "ins", "kbd", "li", "mark", "nav", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s",
    "samp", "section", "small", "span", "strong", "style", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
_SVG_TAGS = {
    "svg", "g", "defs", "symbol", "use", "title", "desc", "path", "rect", "circle", "ellipse",
    "line", "polyline", "polygon", "text", "tspan", "lineargradient", "radialgradient", "stop",
    "clippath", "mask", "pattern", "marker",
}
_MATHML_TAGS = {
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot", "msub",
    "msup", "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle",
    "mpadded", "mphantom", "menclose", "semantics", "annotation",
}
# SVG names are case-sensitive in XHTML; an HTML parser (lxml's, so the chapter's) lowers them.
SVG_CASE = {name.lower(): name for name in (
    "linearGradient", "radialGradient", "clipPath", "viewBox", "preserveAspectRatio",
    "gradientUnits", "gradientTransform", "patternUnits", "markerWidth", "markerHeight", "refX",
    "refY")}
ALLOWED_TAGS = _HTML_TAGS | _SVG_TAGS | _MATHML_TAGS | {SVG_CASE.get(t, t) for t in _SVG_TAGS}

_GLOBAL = {"id", "class", "title", "lang", "xml:lang", "dir", "role", "epub:type", "style", "hidden",
           "xmlns", "xmlns:epub", "xmlns:xlink", "xlink"}  # (xmlns:xlink is "xlink" to nh3)
_SVG_ATTRIBUTES = {
    "viewbox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "d",
    "points", "transform", "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width",
    "stroke-linecap", "stroke-linejoin", "stroke-dasharray", "stroke-opacity", "opacity",
    "font-family", "font-size", "font-style", "font-weight", "text-anchor", "dx", "dy",
    "preserveaspectratio", "version", "offset", "stop-color", "stop-opacity", "gradientunits",
    "gradienttransform", "clip-path", "mask", "marker-start", "marker-end", "href", "xlink:href",
    "patternunits", "markerwidth", "markerheight", "refx", "refy", "orient",
}
_MATHML_ATTRIBUTES = {"display", "mathvariant", "alttext", "encoding", "stretchy", "fence",
                      "separator", "accent", "accentunder", "columnalign", "rowalign", "lspace",
                      "rspace", "notation", "linethickness", "scriptlevel", "displaystyle"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": _GLOBAL,
    "a": {"href", "hreflang", "rel"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "col": {"span"}, "colgroup": {"span"},
    "time": {"datetime"}, "data": {"value"},
    "del": {"cite", "datetime"}, "ins": {"cite", "datetime"}, "q": {"cite"}, "blockquote": {"cite"},
    "details": {"open"},
    **{SVG_CASE.get(tag, tag): _SVG_ATTRIBUTES | {SVG_CASE.get(a, a) for a in _SVG_ATTRIBUTES}
       for tag in _SVG_TAGS},
    **{tag: _MATHML_ATTRIBUTES for tag in _MATHML_TAGS},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# SVG presentation attributes that take a url() (of a gradient, mask or marker).
_SVG_URL_ATTRIBUTES = {"fill", "stroke", "mask", "clip-path", "marker-start", "marker-end", "filter"}

_WHY = "remove it; a book's text is HTML without scripts or remote content"


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    needle: str  # what to look for in the source, for the line and column
    hint: str = _WHY


# Attributes that would make an element a page-break marker (role="doc-pagebreak",
# epub:type="pagebreak"): a false one would send a reader to a page the print edition has not.
PAGE_MARKING = frozenset({"role", "epub:type"})


def refusals(fragment: str, *, images: bool = False) -> list[Refusal]:
    """What the allow-list would remove from a chapter's HTML, each thing once. `images`: check
    <img src> here too (a chapter's images have their own, more precise checks in parse.py)."""
    cleaned = nh3.clean(fragment, tags=ALLOWED_TAGS, clean_content_tags={"script"},
                        attributes=ATTRIBUTES, generic_attribute_prefixes={"aria-", "data-"},
                        attribute_filter=functools.partial(_filter, images=images),
                        url_schemes=URL_SCHEMES, link_rel=None, strip_comments=True)
    before, after = _inventory(fragment), _inventory(cleaned)
    found: dict[str, Refusal] = {}
    removed_tags = set(before.tags - after.tags)
    for tag in removed_tags:
        found.setdefault(f"<{tag}", _tag_refusal(tag))
    for tag, name, value in before.attributes - after.attributes:
        if tag in removed_tags or ((tag, name) == ("img", "src") and not images):
            continue  # said with its element; an image's source has its own checks (parse.py)
        refusal = _attribute_refusal(tag, name, value)
        found.setdefault(refusal.code + refusal.needle, refusal)
    return list(found.values())


SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"


def mark_foreign_content(root: html.HtmlElement) -> None:
    """Inline SVG and MathML as XHTML needs them: in their namespaces, and SVG with the
    camelCase names lxml's HTML parser lowered (viewbox -> viewBox)."""
    for math in root.iter("math"):
        math.set("xmlns", MATHML_NS)
    for svg in root.iter("svg"):
        svg.set("xmlns", SVG_NS)
        for element in svg.iter():
            if not isinstance(element.tag, str):
                continue
            element.tag = SVG_CASE.get(element.tag, element.tag)
            for name in [n for n in element.attrib if n in SVG_CASE]:
                element.set(SVG_CASE[name], element.attrib.pop(name))


@dataclass(frozen=True)
class _Inventory:
    tags: Counter[str]
    attributes: Counter[tuple[str, str, str]]


def _inventory(fragment: str) -> _Inventory:
    root = html.fragment_fromstring(fragment or "<p></p>", create_parent="div")
    tags: Counter[str] = Counter()
    attributes: Counter[tuple[str, str, str]] = Counter()
    for element in root.iterdescendants():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        tags[tag] += 1
        for name, value in element.attrib.items():
            attributes[(tag, name.lower(), value)] += 1
    return _Inventory(tags, attributes)


def _filter(tag: str, name: str, value: str, *, images: bool) -> str | None:
    """The rules a list of names cannot say: what may load, and from where."""
    name = name.lower()
    if images and (tag, name) == ("img", "src") and urls.is_remote(value):
        return None
    if name in ("href", "xlink:href") and tag != "a" and not urls.is_fragment(value):
        return None  # inside an SVG: only a reference to the same document
    if name == "style" and not _loads_nothing(value):
        return None
    if name in PAGE_MARKING and "pagebreak" in value.lower():
        return None  # the print edition's page markers are bookbuild's own (pagelist.py)
    if name in _SVG_URL_ATTRIBUTES and not _loads_nothing(f"x: {value}"):
        return None  # fill="url(…)": only a gradient or pattern of the same drawing
    return value


def _loads_nothing(declarations: str) -> bool:
    return all(ref.loads_nothing for ref in references(declarations, declarations=True))


_TAG_CODES = {"script": "html-script", "iframe": "html-iframe", "frame": "html-iframe",
              "object": "html-embed", "embed": "html-embed", "applet": "html-embed",
              "link": "html-head", "meta": "html-head", "base": "html-head"}
_TAG_MESSAGES = {"html-embed": "<object> and <embed> are not allowed in a book",
                 "html-head": "<link>, <meta> and <base> belong to bookbuild's templates, not to a chapter"}


def _tag_refusal(tag: str) -> Refusal:
    code = _TAG_CODES.get(tag, "html-tag")
    message = _TAG_MESSAGES.get(code, f"<{tag}> is not allowed in a book")
    hint = _WHY if code != "html-tag" else "use Markdown, or HTML elements a book has (p, em, span, table …)"
    return Refusal(code, message, f"<{tag}", hint)


def _attribute_refusal(tag: str, name: str, value: str) -> Refusal:
    if name.startswith("on"):
        return Refusal("html-event", "event attributes (onclick=, onload=, …) are not allowed in a book",
                       name)
    if value.strip().lower().startswith(("javascript:", "vbscript:")):
        return Refusal("html-javascript", "javascript: URLs are not allowed", value.strip()[:10])
    if name in PAGE_MARKING:
        return Refusal("html-pagebreak", "page-break markers are made from the print layout: a book "
                       "may not set its own", "pagebreak", hint="remove it; the EPUB gets the print "
                       "edition's pages by itself ([epub] page_list)")
    if (tag, name) == ("img", "src"):
        return Refusal("html-remote", "raw HTML may not load anything from the network", value.strip())
    if name in _SVG_URL_ATTRIBUTES:
        return Refusal("html-svg-href", f"<{tag} {name}> may refer only to this drawing (url(#id))",
                       value, hint="keep gradients, masks and markers inside the drawing")
    if name == "style":
        return Refusal("html-remote", "a style attribute may not load anything (url()): put it in "
                       "the book's stylesheet", "url(")
    if name in ("href", "xlink:href") and tag != "a":
        return Refusal("html-svg-href", f"<{tag} {name}> may refer only to this document (#id)", value,
                       hint="put the image into the book folder and use it with ![…](…)")
    if name == "href":
        return Refusal("html-url", f'the link "{value}" uses a scheme a book may not link to', value,
                       hint="link to http(s):, mailto: or tel:, or to a file or heading of the book")
    return Refusal("html-attribute", f'the attribute "{name}" is not allowed on <{tag}>', name,
                   hint="remove it; attributes a book keeps are id, class, lang, title, aria-* …")


