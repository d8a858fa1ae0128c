"""Optimal line breaking for the justified paragraphs of the print layout (Knuth and Plass).

WeasyPrint breaks each line as soon as the next word does not fit ("first fit"): one long word
leaves a gaping line, and hyphens pile up line after line. TeX chooses the breaks of a whole
paragraph together, so that no line is much looser than the others. This module does that for
the paragraphs of a first layout and writes its choice into the HTML tree, where the greedy
breaker cannot miss it:

- every space the plan does not break at is followed by a word joiner (U+2060), which allows
  no break, and so is every dash or hyphen inside a word it does not break after;
- the hyphens it chose are soft hyphens (U+00AD) in a paragraph set to `hyphens: manual`;
- where the plan needs spaces narrower than the typeface's own (never below MIN_SPACE of it), the
  paragraph's `word-spacing` takes them in; justification stretches each line from there;
- a paragraph with no plan within the limits at its own letter spacing is tried a hair tighter
  or looser (TRACKING, as a typesetter tracks a paragraph that will not set): its words then
  fall differently on the lines, and the first whose lines all keep within the limits is taken
  (if none does, the least loose of them all).

Generated text that cannot break (an endnote's "(page 12)", `nowrap`) is planned as a word of
the paragraph; a paragraph with other generated text is not planned.

The widths come from Pango, as WeasyPrint measures them, with each piece of text in its own
style. A paragraph this cannot plan (an image in it, a line break, lines of different widths,
a word wider than its lines) keeps its first-fit lines. Pure: the same layout gives the same plan.
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import pyphen
from weasyprint.formatting_structure import boxes
from weasyprint.text.ffi import FROM_UNITS, ffi
from weasyprint.text.line_break import create_layout, get_log_attrs, split_first_line

from .printspec import LOOSE_SPACE_RATIO, MAX_HYPHEN_RUN, MIN_FRAGMENT

WORD_JOINER = "\u2060"
SOFT_HYPHEN = "\u00ad"
MIN_SPACE = 0.8  # of the normal space: the tightest a line may be set
# The loosest a line may be set: inside the proof's limit, so that what the plan allows the
# proof never reports.
MAX_SPACE = LOOSE_SPACE_RATIO * 0.9
# A paragraph with no plan within those limits (a long word that cannot be hyphenated) gets the
# least loose plan within these: still fewer and better spread gaps than first fit.
LAST_RESORT_SPACE = 3 * LOOSE_SPACE_RATIO
# Lines are planned this much (px) narrower than their measure: Pango rounds the word spacing to
# its units and kerns across the pieces measured apart. A planned line that did not fit after
# all would have no break left (WeasyPrint then runs it on to the next soft hyphen).
SLACK = 1.0
HYPHEN_PENALTY = 100  # TeX's \hyphenpenalty is 50: fewer hyphens, at little cost in spacing
DOUBLE_HYPHEN_DEMERITS = 3000  # TeX's \doublehyphendemerits: two hyphenated lines in a row
MIN_WORD = 2 * MIN_FRAGMENT  # the shortest word hyphenated (print.css: hyphenate-limit-chars 6 3 3)
# What a planned paragraph may hold: the inline elements of running text (and the paragraph of
# an endnote, which print.css runs in with its backlink).
INLINE = frozenset({"em", "i", "strong", "b", "span", "a", "small", "abbr", "cite", "q", "sup",
                    "sub", "code", "kbd", "samp", "var", "dfn", "mark", "s", "u", "time", "p"})
# Trackings tried, in em and in this order, for a paragraph with no plan within MAX_SPACE at
# its own: one hundredth of an em is not seen in running text; three are the most a careful
# typesetter allows a paragraph, and better than a line of gaping spaces. Closer than one
# hundredth, the letter spacing takes so much of each word space (the space's own, the joiner's
# and the last letter's) that no line keeps its spaces above MIN_SPACE: not tried.
TRACKING = (-0.01, 0.01, 0.02, 0.03)
# A line past MAX_SPACE costs more than any number of lines within it: a last-resort plan
# leaves loose only the lines that cannot be otherwise.
LOOSE_LINE_BADNESS = 10_000
_SPACE_RUN = re.compile(r"[ \t\n\r]+")


@dataclass
class _Segment:
    """A piece of a word between two places a line may break."""

    width: float
    after: str  # "space" (the word ends), "hyphen" (a hyphen point), "inner" (after a dash), "end"
    space: float = 0.0  # the width of the space after it
    hyphen: float = 0.0  # the width of the hyphen drawn when the line breaks here
    hyphen_like: bool = False  # "inner" after a hyphen ("working-"): the line ends in one
    breakable: bool = True  # False: a space that is a text node of its own (see _Stream.glued)
    where: tuple[int, int] = (0, 0)  # (text node, offset) of the break in the paragraph's texts


@dataclass
class Plan:
    """The breaks chosen for one paragraph, as places in its text nodes."""

    paragraph: Element
    spaces_kept: list[tuple[int, int]] = field(default_factory=list)  # spaces to join
    inner_kept: list[tuple[int, int]] = field(default_factory=list)  # dashes to join
    hyphens: list[tuple[int, int]] = field(default_factory=list)  # soft hyphens to insert
    word_spacing: float = 0.0  # px, negative when the plan sets spaces tighter
    letter_spacing: float | None = None  # px, when the plan tracks the paragraph (TRACKING)
    lines: int = 0  # how many lines the plan makes
    original: list[str | None] = field(default_factory=list)  # the text nodes before the plan
    style: str | None = None  # the paragraph's style attribute before the plan


@dataclass
class _Paragraph:
    element: Element
    lines: list[boxes.LineBox]
    width: float  # of the lines after the first
    indent: float  # the first line's indent
    styles: dict[int, Any]  # id(element) -> the style its text is set in
    # id(element) -> the text its ::after generates, and its style: a note's "(page 12)", set
    # `nowrap`, so that it is one unbreakable word of the paragraph's last line or another's
    generated: dict[int, tuple[str, Any]] = field(default_factory=dict)


def plan(paragraphs: Iterator[_Paragraph]) -> list[Plan]:
    return [found for paragraph in paragraphs if (found := _plan(paragraph)) is not None]


def paragraphs(page_boxes: list[Any]) -> Iterator[_Paragraph]:
    """The justified paragraphs of a layout that a plan can be made for."""
    found: dict[int, _Paragraph] = {}
    order: list[int] = []
    refused: set[int] = set()
    for page in page_boxes:
        for block, line in _lines_with_blocks(page):
            if "::" in str(block.element_tag):
                continue  # a list marker's own line: not the paragraph's
            element = block.element
            key = id(element)
            if key in refused:
                continue
            if element is None or block.style["text_align_all"] != "justify" \
                    or block.style["hyphens"] == "none" or not _simple(element):
                refused.add(key)
                continue
            if key not in found:
                indent = block.style["text_indent"]
                # A length in px; a percentage or a calc() the cascade could not resolve: refused.
                indent = indent.value if getattr(indent, "unit", None) == "px" else None
                if not isinstance(indent, (int, float)):
                    refused.add(key)
                    continue
                found[key] = _Paragraph(element, [], block.width, indent, {})
                order.append(key)
            paragraph = found[key]
            if abs(block.width - paragraph.width) > 0.01:
                refused.add(key)  # a paragraph across columns or beside a float
                continue
            paragraph.lines.append(line)
            for text in line.descendants():
                if not isinstance(text, boxes.TextBox):
                    continue
                if _unbreakable_after(text, element) and id(text.element) not in paragraph.generated:
                    paragraph.generated[id(text.element)] = (_with_headroom(text.text), text.style)
                elif "::" in str(text.element_tag):
                    refused.add(key)  # other generated text: not in the tree, may break anywhere
                else:
                    paragraph.styles.setdefault(id(text.element), text.style)
    for key in order:
        if key not in refused and len(found[key].lines) > 1:
            yield found[key]


def _unbreakable_after(text: boxes.TextBox, paragraph: Element) -> bool:
    """One `nowrap` box of text after an element inside the paragraph (its tail is where it
    goes in the stream)."""
    return str(text.element_tag).endswith("::after") and text.element is not None \
        and text.element is not paragraph and text.style["white_space"] == "nowrap" and "\n" not in text.text


def _with_headroom(text: str) -> str:
    """Generated text with one digit more after its last: a later layout may number the page a
    digit longer ("(page 99)" -> "(page 100)"), and the line must still hold it."""
    digits = [index for index, char in enumerate(text) if char.isdigit()]
    return text if not digits else text[:digits[-1] + 1] + "0" + text[digits[-1] + 1:]


def apply(plans: list[Plan]) -> None:
    for found in plans:
        nodes = list(_text_nodes(found.paragraph))
        found.original = [getattr(owner, attribute) for owner, attribute in nodes]
        found.style = found.paragraph.get("style")
        inserts: dict[int, list[tuple[int, str]]] = {}
        for node, offset in found.spaces_kept + found.inner_kept:
            inserts.setdefault(node, []).append((offset, WORD_JOINER))
        for node, offset in found.hyphens:
            inserts.setdefault(node, []).append((offset, SOFT_HYPHEN))
        for index, additions in inserts.items():
            owner, attribute = nodes[index]
            text = getattr(owner, attribute) or ""
            for offset, char in sorted(additions, reverse=True):
                text = text[:offset] + char + text[offset:]
            setattr(owner, attribute, text)
        style = (found.paragraph.get("style") or "").rstrip("; ")
        style += ("; " if style else "") + "hyphens: manual"
        if found.word_spacing < 0:
            style += f"; word-spacing: {found.word_spacing:.3f}px"
        if found.letter_spacing is not None:
            style += f"; letter-spacing: {found.letter_spacing:.3f}px"
        found.paragraph.set("style", style)


# ---- reading the paragraph ---------------------------------------------------------------------

def unfollowed(plans: list[Plan], page_boxes: list[Any]) -> list[Plan]:
    """The plans a layout did not follow: another number of lines, or a line wider than its
    measure (WeasyPrint misses a planned break in some inline contexts, and the joins then
    leave the line no other)."""
    counts: dict[int, int] = {}
    overfull: set[int] = set()
    for page in page_boxes:
        for block, line in _lines_with_blocks(page):
            if "::" in str(block.element_tag):
                continue  # a list marker's own line, as in paragraphs()
            key = id(block.element)
            counts[key] = counts.get(key, 0) + 1
            right = max((child.position_x + child.margin_width() for child in line.children), default=0.0)
            if right - block.content_box_x() > block.width + 0.5:
                overfull.add(key)
    return [found for found in plans
            if counts.get(id(found.paragraph)) != found.lines or id(found.paragraph) in overfull]


def undo(found: Plan) -> None:
    for (owner, attribute), text in zip(_text_nodes(found.paragraph), found.original, strict=True):
        setattr(owner, attribute, text)
    if found.style is None:
        found.paragraph.attrib.pop("style", None)
    else:
        found.paragraph.set("style", found.style)


def _lines_with_blocks(box: Any, parent: Any = None) -> Iterator[tuple[Any, boxes.LineBox]]:
    if isinstance(box, boxes.LineBox):
        yield parent, box
        return
    if isinstance(box, boxes.MarginBox):
        return
    for child in getattr(box, "children", ()):
        yield from _lines_with_blocks(child, box)


def _simple(element: Element) -> bool:
    """Text and the inline elements of running text only (no image, line break or float)."""
    return all(isinstance(child.tag, str) and child.tag in INLINE and _simple(child) for child in element)


def _text_nodes(element: Element) -> Iterator[tuple[Element, str]]:
    """The paragraph's text in reading order, as (element, "text" | "tail")."""
    yield element, "text"
    for child in element:
        yield from _descend(child)


def _descend(element: Element) -> Iterator[tuple[Element, str]]:
    yield element, "text"
    for child in element:
        yield from _descend(child)
    yield element, "tail"


def _owner(element: Element, attribute: str, parents: dict[int, Element]) -> Element:
    return element if attribute == "text" else parents[id(element)]


@dataclass
class _Stream:
    """The paragraph's text as the layout sets it (each run of white space one space), with the
    text node, offset and style of every character."""

    text: str
    places: list[tuple[int, int]]  # (text node, offset in its raw text)
    styles: list[Any]
    end: tuple[int, int]  # the place just after the last character
    own_style: Any  # the style of the paragraph's own text
    sealed: frozenset[int] = frozenset()  # positions inside generated text: no break before them
    # Positions after a space that is a whole text node (between two elements, as before a
    # note's "(page 12)"): a line ends there only in a plan that sets no word spacing. WeasyPrint
    # sets such a space, in a paragraph with word spacing, as " \u200b", which the end of a line
    # does not strip: the line would be too long.
    glued: frozenset[int] = frozenset()
    runs: dict[int, tuple[int, _Setting | None]] = field(default_factory=dict)  # see run_at

    def run_at(self, position: int) -> tuple[int, _Setting | None]:
        """The run of one style that holds `position`: where it starts, and how it is set on
        one line (_set_on_one_line)."""
        if position not in self.runs:
            style = self.styles[position]
            first = last = position
            while first > 0 and self.styles[first - 1] is style:
                first -= 1
            while last + 1 < len(self.text) and self.styles[last + 1] is style:
                last += 1
            found = (first, _set_on_one_line(self.text[first:last + 1], style))
            self.runs.update(dict.fromkeys(range(first, last + 1), found))
        return self.runs[position]


def _stream(paragraph: _Paragraph) -> _Stream | None:
    parents = {id(child): parent for parent in paragraph.element.iter() for child in parent}
    chars: list[str] = []
    places: list[tuple[int, int]] = []
    styles: list[Any] = []
    end = (0, 0)
    sealed: set[int] = set()
    glued: set[int] = set()
    last_place = (0, 0)  # just after the last text seen: where a join before generated text goes
    for index, (node, attribute) in enumerate(_text_nodes(paragraph.element)):
        if attribute == "tail" and id(node) in paragraph.generated:
            generated, style = paragraph.generated[id(node)]
            sealed.update(range(len(chars) + 1, len(chars) + len(generated)))
            chars += generated
            places += [last_place] * len(generated)
            styles += [style] * len(generated)
        text = getattr(node, attribute) or ""
        last_place = (index, len(text))
        if not text:
            continue
        owner = node if attribute == "text" else parents.get(id(node), paragraph.element)
        style = paragraph.styles.get(id(owner))
        if style is None:
            return None  # text the layout did not show (or showed through generated content)
        position = 0
        for match in _SPACE_RUN.finditer(text):
            _extend(chars, places, styles, text, position, match.start(), index, style)
            if chars and chars[-1] != " ":
                chars.append(" ")
                places.append((index, match.end()))  # the place of the word that follows
                styles.append(style)
            elif chars:
                places[-1] = (index, match.end())
            if chars and not text.strip():
                glued.add(len(chars))
            position = match.end()
        _extend(chars, places, styles, text, position, len(text), index, style)
        end = (index, len(text))
    while chars and chars[-1] == " ":
        chars.pop(), places.pop(), styles.pop()
    own_style = paragraph.styles.get(id(paragraph.element))
    return _Stream("".join(chars), places, styles, end, own_style, frozenset(sealed), frozenset(glued)) \
        if chars else None


def _extend(chars: list[str], places: list[tuple[int, int]], styles: list[Any], text: str, start: int,
            stop: int, node: int, style: Any) -> None:
    for offset in range(start, stop):
        chars.append(text[offset])
        places.append((node, offset))
        styles.append(style)


def _tracked(stream: _Stream, tracking: float) -> _Stream:
    """The stream with `tracking` px added to the letter spacing of the text that inherits the
    paragraph's own (an element with a letter spacing of its own, small capitals, keeps it)."""
    own = stream.own_style["letter_spacing"]
    copies: dict[int, Any] = {}

    def track(style: Any) -> Any:
        if style["letter_spacing"] != own:
            return style
        if id(style) not in copies:
            copy = copies[id(style)] = style.copy()
            copy["letter_spacing"] = _letter_spacing(style) + tracking
        return copies[id(style)]

    return _Stream(stream.text, stream.places, [track(style) for style in stream.styles], stream.end,
                   track(stream.own_style), stream.sealed, stream.glued)


def _segments(stream: _Stream) -> list[_Segment]:
    """The paragraph's words cut at every place a line may break (Pango's own break
    opportunities, as WeasyPrint uses them, and the dictionary's hyphen points), measured in
    their styles. A join the plan may write (a word joiner after a space or a dash) is counted
    in: it is a character, and takes the letter spacing of a tracked paragraph."""
    text = stream.text
    lang = stream.styles[0]["lang"]
    attributes = get_log_attrs(text, lang)
    breaks = [position for position in range(1, len(text))
              if attributes[position].is_line_break and position not in stream.sealed]
    segments: list[_Segment] = []
    start = 0
    for stop in [*breaks, len(text)]:
        piece = text[start:stop]
        at = stream.places[stop] if stop < len(text) else stream.end
        if stop == len(text):
            kind, body = "end", piece
        elif piece.endswith(" "):
            kind, body = "space", piece[:-1]
        else:
            kind, body = "inner", piece
        segments += _word_segments(body, start, stream, lang)
        segments[-1].after, segments[-1].where = kind, at
        joiner = _letter_spacing(stream.styles[stop - 1]) if kind in ("space", "inner") else 0.0
        if kind == "space":
            # The spacing after the word's last letter shows as part of the gap: counted there.
            segments[-1].width -= joiner
            segments[-1].space = space_width(stream.styles[stop - 1]) + 2 * joiner
            segments[-1].breakable = stop not in stream.glued
        elif kind == "inner":
            segments[-1].width += joiner  # (counted in a line it ends too: a hair to spare)
        segments[-1].hyphen_like = kind == "inner" and body.endswith("-")
        start = stop
    return segments


def _word_segments(word: str, start: int, stream: _Stream, lang: str | None) -> list[_Segment]:
    """A word (no break inside but hyphen points) as segments; the last one's `after` is set
    by the caller."""
    segments = []
    previous = 0
    # Hyphen points only in the paragraph's own text: WeasyPrint 70 misses a soft hyphen inside
    # an inline element when the line has no other break left.
    own = _one_style(stream, start, start + len(word)) and stream.styles[start] is stream.own_style \
        and stream.own_style["hyphens"] == "auto"  # "manual": the author's soft hyphens only
    for point in _hyphen_points(word, lang) if own else []:
        segments.append(_Segment(_width_run(stream.text, start + previous, start + point, stream), "hyphen",
                                 hyphen=_width("\u2010", stream.styles[start]),
                                 where=stream.places[start + point]))
        previous = point
    segments.append(_Segment(_width_run(stream.text, start + previous, start + len(word), stream), "end"))
    return segments


def _one_style(stream: _Stream, start: int, stop: int) -> bool:
    return all(style is stream.styles[start] for style in stream.styles[start:stop])


def _width_run(text: str, start: int, stop: int, stream: _Stream) -> float:
    """The width of text[start:stop], each run of one style measured in it: from the stream's
    run of that style set on one line, in its context (one Pango layout for the run, not one for
    each piece); alone where that cannot be (a piece that starts or ends inside a ligature)."""
    width = 0.0
    run_start = start
    for position in range(start + 1, stop + 1):
        if position == stop or stream.styles[position] is not stream.styles[run_start]:
            first, setting = stream.run_at(run_start)
            a, b = run_start - first, position - first
            if setting is not None and setting.starts[a] and setting.starts[b]:
                width += setting.x[b] - setting.x[a]
            else:
                width += _width(text[run_start:position], stream.styles[run_start])
            run_start = position
    return width


@dataclass(frozen=True)
class _Setting:
    """A run of one style as Pango sets it on one line: where each character starts, and where
    the text ends (px); and whether each starts a cluster (a ligature's later letters do not)."""

    x: list[float]
    starts: list[bool]


def _set_on_one_line(text: str, style: Any) -> _Setting | None:
    """None when Pango did not set `text` left to right on one line."""
    layout = create_layout(text, style, None, None, 0)
    line, second = layout.get_first_line()
    encoded = text.encode()
    advances = [0.0] * (len(encoded) + 1)  # the advance of the cluster that starts at each byte
    cluster = [False] * (len(encoded) + 1)
    ok = second is None and layout.text == text
    run = line.runs[0] if ok and line.runs != ffi.NULL else ffi.NULL
    while run != ffi.NULL:
        item, glyphs = run.data.item, run.data.glyphs
        run = run.next
        if item.analysis.level % 2:  # right to left
            ok = False
            break
        for index in range(glyphs.num_glyphs):
            at = item.offset + glyphs.log_clusters[index]
            advances[at] += glyphs.glyphs[index].geometry.width * FROM_UNITS
            cluster[at] = True
    layout.deactivate()
    if not ok:
        return None
    x, starts, position, byte = [], [], 0.0, 0
    for char in text:
        x.append(position)
        starts.append(cluster[byte])
        size = len(char.encode())
        position += sum(advances[byte:byte + size])
        byte += size
    x.append(position)
    starts.append(True)
    # Pango leaves out half the letter spacing at each end of a line, and WeasyPrint adds a whole
    # one to each text box: every letter carries its whole, as when measured alone (_width).
    spacing = _letter_spacing(style)
    if spacing:
        x = [x[0], *(value + spacing / 2 for value in x[1:])]
        x[-1] += spacing / 2
    return _Setting(x, starts)


def _hyphen_points(word: str, lang: str | None) -> list[int]:
    """Where the dictionary hyphenates the letters of `word`, at least MIN_FRAGMENT letters from
    either end; none in a word with anything but letters around its punctuation."""
    match = re.fullmatch(r"([^\w]*)([^\W\d_]+)((?:[’'][^\W\d_]{1,2})?[^\w]*)", word)
    dictionary = _dictionary(lang) if lang else None
    if match is None or len(match.group(2)) < MIN_WORD or dictionary is None:
        return []
    lead = len(match.group(1))
    return [lead + p for p in dictionary.positions(match.group(2))]


@functools.lru_cache(maxsize=8)
def _dictionary(lang: str) -> pyphen.Pyphen | None:
    """The language's hyphenation patterns, as WeasyPrint finds them; None for a language
    pyphen has none for (WeasyPrint then hyphenates nothing, and neither does the plan)."""
    code = pyphen.language_fallback(lang.replace("-", "_"))
    return pyphen.Pyphen(lang=code, left=MIN_FRAGMENT, right=MIN_FRAGMENT) if code else None


_STYLE_KEYS = ("font_family", "font_size", "font_style", "font_weight", "font_stretch",
               "font_variant_caps", "font_variant_numeric", "font_variant_ligatures",
               "font_feature_settings", "font_kerning", "letter_spacing", "word_spacing", "lang")


def _style_key(style: Any) -> str:
    return repr(tuple(style[name] for name in _STYLE_KEYS))


_widths: dict[tuple[str, str], float] = {}


def _width(text: str, style: Any) -> float:
    if not text:
        return 0.0
    key = (_style_key(style), text)
    if key not in _widths:
        _widths[key] = split_first_line(text, style, None, None, 0)[3]
    return _widths[key]


def _letter_spacing(style: Any) -> float:
    """The letter spacing of `style` in px (what a word joiner, a zero-width character, takes)."""
    spacing = style["letter_spacing"]
    return 0.0 if spacing == "normal" else spacing


def _gap(style: Any) -> float:
    """A word space as a reader sees it between two words: the space with the letter spacing of
    the letter before it and its own, and the joiner's (as _segments counts it)."""
    return space_width(style) + 2 * _letter_spacing(style)


def space_width(style: Any) -> float:
    """A word space in `style`, as Pango sets it (word-spacing included)."""
    return _width("n n", style) - _width("nn", style)


# ---- choosing the breaks -----------------------------------------------------------------------

@dataclass
class _Node:
    demerits: float
    previous: tuple[int, int] | None  # (segment, hyphens in a row) of the break before
    shrink: float  # the most a line so far needed its spaces narrowed, px per space
    line_start: int = 0  # the first segment of the line that ends here


class _Sums:
    """Prefix sums over the segments: a line's widths in constant time. `normal` is the space a
    line's looseness is measured against (the paragraph's own, as a reader sees it: an italic
    space, wider, looks looser stretched as much)."""

    def __init__(self, segments: list[_Segment], normal: float | None = None, own: float | None = None):
        self.segments = segments
        self.widths, self.spaces, self.counts = [0.0], [0.0], [0]
        for segment in segments:
            is_space = segment.after == "space"
            self.widths.append(self.widths[-1] + segment.width)
            self.spaces.append(self.spaces[-1] + (segment.space if is_space else 0.0))
            self.counts.append(self.counts[-1] + is_space)
        widths = sorted({segment.space for segment in segments if segment.after == "space"})
        self.normal = normal or (widths[0] if widths else 1.0)
        self.own = own or self.normal  # the paragraph's own space as set (tracked, if it is)
        self.single = widths[0] if len(widths) == 1 else None  # one width: no line to scan

    def typical_space(self, first: int, end: int) -> float:
        """The median space of a line (those after first..end-1): the gap a reader takes for
        the line's, as the proof does (a code span's wide space among roman ones is not the
        line's; an italic title's spaces are)."""
        if self.single is not None:
            return self.single
        return statistics.median(segment.space for segment in self.segments[first:end]
                                 if segment.after == "space")

    def line(self, first: int, end: int) -> tuple[float, float, int]:
        """Width of segments first..end set without justification, the width of its spaces
        (those after first..end-1), and how many there are."""
        spaces = self.spaces[end] - self.spaces[first]
        width = self.widths[end + 1] - self.widths[first] + spaces + self.segments[end].hyphen
        return width, spaces, self.counts[end] - self.counts[first]


def _plan(paragraph: _Paragraph) -> Plan | None:
    stream = _stream(paragraph)
    if stream is None:
        return None
    segments = _segments(stream)
    if len(segments) < 2:
        return None

    # Looseness is measured against the paragraph's own gap untracked, as a reader sees it (a
    # space with the letter spacing of the letter before it and its own, as _segments counts).
    normal = _gap(stream.own_style) if stream.own_style else None

    def trackings() -> Iterator[tuple[float | None, list[_Segment], float | None]]:
        """The paragraph as it is, then at each tracking (measured only when asked for), with
        its own space as set."""
        yield None, segments, normal
        for step in TRACKING if stream.own_style is not None else ():
            track = _tracked(stream, step * stream.own_style["font_size"])
            yield track.own_style["letter_spacing"], _segments(track), _gap(track.own_style)

    def least(pieces: list[_Segment], loosest: float, own: float | None
              ) -> tuple[float, list[int], float] | None:
        found = _least_demerits(pieces, paragraph.width, paragraph.indent, loosest, normal, own, glue=False)
        if found and found[2] > 0 and any(not pieces[end].breakable for end in found[1]):
            found = _least_demerits(pieces, paragraph.width, paragraph.indent, loosest, normal, own)
        return found

    # The paragraph as it is, within the limit (most are); else the first tracking that sets
    # within it, else the least loose plan of them all. (A plan with a loose line costs more than
    # any without, so the least-demerits plan within the last-resort limit is the plan within
    # MAX_SPACE when there is one: one search per tracking.)
    within = least(segments, MAX_SPACE, normal)
    tried: list[tuple[tuple[float, list[int], float], float | None, list[_Segment]]] = \
        [(within, None, segments)] if within else []
    for spacing, pieces, own in trackings() if not within else ():
        if result := least(pieces, LAST_RESORT_SPACE, own):
            tried.append((result, spacing, pieces))
            if result[0] < LOOSE_LINE_BADNESS ** 2:
                break
    best = min(tried, key=lambda plan: plan[0][0], default=None)
    if best is None:
        return None
    (_, breaks, shrink), letter_spacing, segments = best
    chosen = set(breaks)
    made = Plan(paragraph.element, word_spacing=-shrink, letter_spacing=letter_spacing, lines=len(breaks))
    for index, segment in enumerate(segments):
        if segment.after == "space" and index not in chosen:
            made.spaces_kept.append(segment.where)
        elif segment.after == "inner" and index not in chosen:
            made.inner_kept.append(segment.where)
        elif segment.after == "hyphen" and index in chosen:
            made.hyphens.append(segment.where)
    return made


def _breaks(segments: list[_Segment], width: float, indent: float, loosest: float,
            normal: float | None = None, own: float | None = None) -> tuple[list[int], float] | None:
    """The breaks (indexes of the segments lines end with) of least total demerits, and the
    narrowing of the spaces the tightest line needs."""
    found = _least_demerits(segments, width, indent, loosest, normal, own)
    return found[1:] if found else None


def _least_demerits(segments: list[_Segment], width: float, indent: float, loosest: float,
                    normal: float | None = None, own: float | None = None, glue: bool = True
                    ) -> tuple[float, list[int], float] | None:
    """_breaks, with the total demerits of the breaks; with `glue`, no line ends at a segment
    that is not `breakable`."""
    sums = _Sums(segments, normal, own)
    nodes: dict[tuple[int, int], _Node] = {(-1, 0): _Node(0.0, None, 0.0)}
    every = dict(nodes)  # for the way back: the active ones are forgotten as the lines move on
    last = len(segments) - 1
    for end in range(len(segments)):
        kind = segments[end].after
        hyphenated = kind == "hyphen" or (kind == "inner" and segments[end].hyphen_like)
        found: dict[tuple[int, int], _Node] = {}
        for (start, run), node in nodes.items() if segments[end].breakable or not glue else ():
            available = width - (indent if start == -1 else 0.0) - SLACK
            line = _line(sums, start + 1, end, available, end == last, loosest)
            if line is None:
                continue
            badness, shrink = line
            if start >= 0 and _greedy_takes_it(sums, node.line_start, end, node.shrink, width, indent):
                continue
            new_run = run + 1 if hyphenated else 0
            if new_run > MAX_HYPHEN_RUN:
                continue
            demerits = (10 + badness) ** 2 + (HYPHEN_PENALTY ** 2 if kind == "hyphen" else 0)
            if hyphenated and run:
                demerits += DOUBLE_HYPHEN_DEMERITS
            total = node.demerits + demerits
            reached = (end, new_run)
            if reached not in found or total < found[reached].demerits:
                found[reached] = _Node(total, (start, run), max(node.shrink, shrink), start + 1)
        # A break whose line could no longer reach past here, however tight, is done with.
        nodes = {key: node for key, node in nodes.items()
                 if not _too_long(sums, key[0] + 1, end, width - (indent if key[0] == -1 else 0.0))}
        nodes.update(found)
        every.update(found)
        if not nodes:
            return None
    ends = [key for key in nodes if key[0] == last]
    if not ends:
        return None
    best = min(ends, key=lambda k: (nodes[k].demerits, k))
    shrink = nodes[best].shrink
    breaks = []
    step: tuple[int, int] | None = best
    while step is not None and step[0] >= 0:
        breaks.append(step[0])
        step = every[step].previous
    breaks.sort()
    # Checked as the lines were chosen with the narrowing so far; the plan sets its largest.
    for before, end in zip([-1, *breaks], breaks[1:], strict=False):
        if _greedy_takes_it(sums, before + 1, end, shrink, width, indent):
            return None
    return nodes[best].demerits, breaks, shrink


def _greedy_takes_it(sums: _Sums, first: int, end: int, shrink: float, width: float, indent: float) -> bool:
    """Whether the layout, which fills each line as far as the next break allowed, would set the
    line that ends at `end` on the line before (the one from segment `first`), its spaces
    narrowed by `shrink`: a short last line ("etc.") that fits, in full measure, beside the
    line the plan breaks before it."""
    natural, _, count = sums.line(first, end)
    return natural - shrink * count <= width - (indent if first == 0 else 0.0) + 0.01


def _too_long(sums: _Sums, first: int, end: int, width: float) -> bool:
    natural, spaces, _ = sums.line(first, end)
    return natural - sums.segments[end].hyphen - (1 - MIN_SPACE) * spaces > width + 0.01


def _line(sums: _Sums, first: int, end: int, width: float, last: bool, loosest: float
          ) -> tuple[float, float] | None:
    """The badness of a line and the narrowing of its spaces (px each) it needs; None if it
    cannot be set within the limits. The last line is not justified: it only has to fit."""
    natural, spaces, count = sums.line(first, end)
    if count == 0 or spaces <= 0:
        return (0.0, 0.0) if last and natural <= width + 0.01 else None
    extra = (width - natural) / count  # px each space gains when justified (lost, if negative)
    # The gaps against the paragraph's own untracked space, as a reader (and the proof) sees
    # them: widened, the line's typical gap; narrowed, the paragraph's own space (tracked closer,
    # it is narrower before any narrowing; a smaller span's spaces are its own).
    tightest = (sums.own + extra) / sums.normal if extra < 0 else 1.0
    if last:
        return (0.0, max(0.0, -extra)) if tightest >= MIN_SPACE else None
    ratio = max(1.0, (sums.typical_space(first, end) + extra) / sums.normal) if extra > 0 else tightest
    if ratio < MIN_SPACE or ratio > loosest:
        return None
    badness = 100 * ((ratio - 1) / (MAX_SPACE - 1)) ** 3 if ratio >= 1 else \
        100 * ((1 - ratio) / (1 - MIN_SPACE)) ** 3
    if ratio > MAX_SPACE:
        badness += LOOSE_LINE_BADNESS
    return badness, max(0.0, -extra)
