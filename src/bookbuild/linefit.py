"""Fitting the lines: what a typesetter does after the first layout, and CSS cannot ask for.

WeasyPrint breaks lines first-fit and has no `hyphenate-limit-lines`. After a layout, this
module reads the layout's own line boxes and finds, per paragraph:

- a run of more than MAX_HYPHEN_RUN lines ending in a hyphen, a hyphen that leaves fewer than
  MIN_FRAGMENT letters on a side (WeasyPrint counts the punctuation after a word as letters),
  or a hyphen at the foot of a right-hand page (the reader turns the leaf mid-word): the word
  hyphenated there is kept whole;
- a loose line (word spaces past LOOSE_SPACE_RATIO times the normal space): the paragraph's
  word spaces are set a little tighter, then a little tighter again, so that more fits on a line.

The fixes are made in the parsed HTML tree the layout came from, and the book is laid out
again (writers/pdf.py decides how often). The same HTML and page geometry always give the same
fixes, so a build stays a pure function of its sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from weasyprint.document import Page
from weasyprint.formatting_structure import boxes

from .linebreak import space_width
from .printspec import LOOSE_SPACE_RATIO, MAX_HYPHEN_RUN, MIN_FRAGMENT
from .typography import print_breaks

# What a loose paragraph is given, one step per layout that still finds it loose: tighter word
# spaces (EB Garamond's space is about 0.23 em; a typesetter tightens by a fifth at most), then
# hyphenation wherever the dictionary and the three-letter limit allow.
TIGHTER_STEPS = ("word-spacing: -0.025em", "word-spacing: -0.045em; hyphenate-limit-zone: 0")
# Fix a little inside the proof's limit: the proof measures the same spaces from the PDF.
LOOSE_MARGIN = 0.95
KEEP_WHOLE = "hyphens: manual"
WORD_JOINER = "\u2060"
HYPHEN_ENDINGS = ("\u2010", "-", "\u00ad")
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass
class Fixes:
    """What one layout asks of the next: words to keep whole, paragraphs to set at another step
    of TIGHTER_STEPS (0: as the stylesheet sets them). `faults` counts what this layout has
    that the proof would report: the layout with the fewest is the one kept."""

    whole_words: list[tuple[Element, str, int]] = field(default_factory=list)  # element, word, occurrence
    steps: dict[Element, int] = field(default_factory=dict)
    faults: int = 0
    recto_feet: int = 0  # hyphens at the foot of a right-hand page: counted, not warned of

    @property
    def score(self) -> tuple[int, int]:
        return self.faults, self.recto_feet

    def __bool__(self) -> bool:
        return bool(self.whole_words or self.steps)


@dataclass
class FitState:
    """What the layouts so far did to each paragraph: its step, how loose its loosest line was
    before that step, and the paragraphs that are done (a step made them no better)."""

    steps: dict[Element, int] = field(default_factory=dict)
    loosest_before: dict[Element, float] = field(default_factory=dict)
    settled: set[Element] = field(default_factory=set)
    planned: set[Element] = field(default_factory=set)  # broken as a whole (linebreak.py): left as planned


@dataclass
class _Line:
    page: int
    box: boxes.LineBox
    texts: list[boxes.TextBox]
    # The page's own side, not its index's: a part that opens on a verso starts its pages there
    recto: bool = True

    @property
    def text(self) -> str:
        return "".join(text.text for text in self.texts)


# Never given print's breaks: code as written, and the head (its <title> is the PDF's Title).
UNBROKEN = frozenset({"pre", "code", "script", "style", "kbd", "samp", "head"})


def prepare(element: Element) -> None:
    """Before the first layout: the breaks print allows and the EPUB's text does not carry, and
    the ones it forbids: a note call never starts a line ("Oastler:" then "11" alone). And the
    space before an inline element goes inside it (below)."""
    if element.tag in UNBROKEN:
        return
    if element.text:
        element.text = print_breaks(element.text)
    previous: Element | None = None
    for child in element:
        prepare(child)
        if child.tag == "sup" and "noteref" in (child.get("class") or "").split():
            _join_before(element, previous)
        elif child.tag in SPACE_INSIDE:
            _space_inside(element, previous, child)
        if child.tail:
            child.tail = print_breaks(child.tail)
        previous = child


# WeasyPrint 70 hyphenates the first word of a run of text that ends in a space before an inline
# element when the words fit the line and the space does not, and leaves that fragment alone on
# a line ("Extraordin‐" / "ary things <em>happen</em>"; reported upstream with a minimal case).
# With the space inside the element ("things<em> happen</em>") the line breaks as it should.
# Not for elements that draw something around their text (q's quotation marks, mark's
# background, abbr's underline), nor links: the space would be drawn inside them, or be part of
# the link (a note's "(page N)" link would start at a line's end and take in the next line).
SPACE_INSIDE = frozenset({"em", "i", "strong", "b", "span", "cite", "small", "dfn", "time", "var"})


def _space_inside(parent: Element, previous: Element | None, child: Element) -> None:
    before = parent.text if previous is None else previous.tail
    if not before or not before.endswith(" "):
        return
    if previous is None:
        parent.text = before.rstrip(" ")
    else:
        previous.tail = before.rstrip(" ")
    child.text = " " + (child.text or "")


def _join_before(parent: Element, previous: Element | None) -> None:
    if previous is None:
        if parent.text and not parent.text[-1].isspace():
            parent.text += WORD_JOINER
    elif previous.tail and not previous.tail[-1].isspace():
        previous.tail += WORD_JOINER
    elif not previous.tail and previous.tag == "sup":  # two calls in a row
        previous.tail = WORD_JOINER


def find(pages: list[Page], state: FitState) -> Fixes:
    """The faults of a layout's pages (one part of the book, opening on a right-hand page), and
    what another layout could mend of them."""
    fixes = Fixes()
    lines = list(_body_lines(pages))
    own = _own_texts_of(lines)
    loosest: dict[Element, float] = {}
    run: list[_Split | None] = []  # the lines of the current run of hyphens, with the layout's own
    previous_split: _Split | None = None
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else None
        paragraph = line.box.element
        paragraph_goes_on = following is not None and following.box.element is paragraph
        split = _hyphenated_word(line, following, own) if paragraph_goes_on and following else None
        # A hyphen in the text ("working-class") counts in a run; only the layout's own can go.
        run = [*run, split] if split is not None or _ends_in_written_hyphen(line) else []
        foot_of_recto = following is None or following.page != line.page
        if paragraph in state.planned:
            split = None  # its hyphens were chosen with the paragraph; its faults still count
        if split is not None and min(split.before, split.after) < MIN_FRAGMENT:
            fixes.whole_words.append(split.key)
            fixes.faults += 1
        elif split is not None and foot_of_recto and line.recto:
            fixes.whole_words.append(split.key)
            fixes.recto_feet += 1
        elif len(run) > MAX_HYPHEN_RUN:
            fixes.faults += 1
            latest = next((split for split in reversed(run) if split is not None), None)
            if latest is not None:
                fixes.whole_words.append(latest.key)
                run = []
        ratio = _looseness(line) if paragraph_goes_on else 0.0
        loosest[paragraph] = max(ratio, loosest.get(paragraph, 0.0))
        if ratio > LOOSE_SPACE_RATIO * LOOSE_MARGIN:
            fixes.faults += 1
            if paragraph in state.planned:
                pass
            elif previous_split is not None and previous_split.key not in fixes.whole_words:
                # The word hyphenated at the end of the line before comes down whole: the loose
                # line starts with it and has more to fill its measure.
                fixes.whole_words.append(previous_split.key)
            elif paragraph not in state.settled and paragraph not in fixes.steps:
                fixes.steps[paragraph] = state.steps.get(paragraph, 0) + 1
        previous_split = split
    _judge_steps(fixes, state, loosest)
    return fixes


def _judge_steps(fixes: Fixes, state: FitState, loosest: dict[Element, float]) -> None:
    """A step that left a paragraph looser than before is taken back, and the paragraph is done;
    so is one past the last step."""
    for paragraph, step in list(fixes.steps.items()):
        before = state.loosest_before.get(paragraph)
        if before is not None and loosest.get(paragraph, 0.0) >= before:
            fixes.steps[paragraph] = step - 2  # the step before the one that did no good
            state.settled.add(paragraph)
        elif step > len(TIGHTER_STEPS):
            del fixes.steps[paragraph]
            state.settled.add(paragraph)
        else:
            state.loosest_before[paragraph] = loosest.get(paragraph, 0.0)


def apply(fixes: Fixes, state: FitState) -> bool:
    """Make the fixes in the tree; False when none changed anything."""
    changed = False
    # The last occurrence first: wrapping one takes it out of the element's own text, and the
    # occurrences after it would count one less.
    for element, word, occurrence in sorted(fixes.whole_words, key=lambda fix: -fix[2]):
        changed |= _keep_whole(element, word, occurrence)
    for paragraph, step in fixes.steps.items():
        state.steps[paragraph] = step
        style = re.sub(r";?\s*(word-spacing|hyphenate-limit-zone):[^;]*", "", paragraph.get("style", ""))
        if step:
            style = f"{style}; {TIGHTER_STEPS[step - 1]}".lstrip("; ")
        paragraph.set("style", style)
        changed = True
    return changed


# ---- reading the layout ----------------------------------------------------------------------

def _body_lines(pages: list[Page]) -> Iterator[_Line]:
    """Every line of the text, in reading order, with its page; running heads and folios (margin
    boxes) are not text."""
    for number, page in enumerate(pages):
        for child in page._page_box.children:
            if isinstance(child, boxes.MarginBox):
                continue
            for box in _line_boxes(child):
                texts = [d for d in box.descendants() if isinstance(d, boxes.TextBox)]
                if texts:
                    yield _Line(number, box, texts, page._page_box.page_type.side == "right")


def _line_boxes(box: Any) -> Iterator[boxes.LineBox]:
    if isinstance(box, boxes.LineBox):
        yield box
        return
    for child in getattr(box, "children", ()):
        yield from _line_boxes(child)


@dataclass
class _OwnTexts:
    """Each element's own text (its text and its children's tails) as the layout shows it, the
    hyphens the layout added taken off; and where each text box starts in it."""

    texts: dict[int, str]
    starts: dict[int, int]


def _own_texts_of(lines: list[_Line]) -> _OwnTexts:
    pieces: dict[int, list[str]] = {}
    starts: dict[int, int] = {}
    lengths: dict[int, int] = {}
    for line in lines:
        for number, text in enumerate(line.texts, start=1):
            key, shown = id(text.element), _without_added_hyphen(text)
            if number == len(line.texts) and shown == text.text:
                shown += " "  # the space the line broke at, which the layout took off
            starts[id(text)] = lengths.get(key, 0)
            lengths[key] = starts[id(text)] + len(shown)
            pieces.setdefault(key, []).append(shown)
    return _OwnTexts({key: "".join(parts) for key, parts in pieces.items()}, starts)


def _without_added_hyphen(text: boxes.TextBox) -> str:
    added = text.style["hyphenate_character"]
    if text.text.endswith(added) and text.text[:-len(added)][-1:].isalpha():
        return text.text[:-len(added)]
    return text.text


def _ends_in_written_hyphen(line: _Line) -> bool:
    return line.text.endswith("-") and line.text[-2:-1].isalpha()


@dataclass(frozen=True)
class _Split:
    element: Element
    text: str  # the whole word
    occurrence: int  # of the word in the element's own text, from 0
    before: int  # letters before the hyphen
    after: int

    @property
    def key(self) -> tuple[Element, str, int]:
        return self.element, self.text, self.occurrence


def _hyphenated_word(line: _Line, following: _Line, own: _OwnTexts) -> _Split | None:
    """The word the layout hyphenated at the end of `line`, and which occurrence of the word in
    its element's own text it is (counted whole, so spacing does not matter)."""
    last, first = line.texts[-1], following.texts[0]
    if last.text == _without_added_hyphen(last):
        return None
    if last.element is not first.element or last.element_tag != first.element_tag \
            or "::" in str(last.element_tag):
        return None  # split between two elements, or generated content: nothing to mark
    head = _LETTERS.findall(_without_added_hyphen(last))
    tail = _LETTERS.match(first.text)
    if not head or tail is None:
        return None
    word = head[-1] + tail.group()
    start = own.starts[id(last)] + len(_without_added_hyphen(last)) - len(head[-1])
    before = own.texts[id(last.element)][:start]
    return _Split(last.element, word, len(_whole_word(word).findall(before)), len(head[-1]),
                  len(tail.group()))


def _whole_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")


def _looseness(line: _Line) -> float:
    """A justified line's word space, in normal spaces of its face (as the stylesheet set it
    before any step: a tightened paragraph's gaps are judged against the book's spaces)."""
    spaced = [text for text in line.texts if text.justification_spacing > 0 and " " in text.text]
    if not spaced:
        return 0.0
    text = spaced[0]
    space = space_width(text.style)
    normal = space - text.style["word_spacing"]
    return (space + text.justification_spacing) / normal if normal > 0 else 0.0


# ---- mending the tree ------------------------------------------------------------------------

def _own_texts(element: Element) -> Iterator[str]:
    yield element.text or ""
    for child in element:
        yield child.tail or ""


def _keep_whole(element: Element, word: str, occurrence: int) -> bool:
    """Wrap the occurrence-th (from 0) `word` of the element's own text in a span that the
    layout does not hyphenate. The word is matched whole, as the layout's text was."""
    pattern = _whole_word(word)
    seen = 0
    for position, text in enumerate(_own_texts(element)):
        for match in pattern.finditer(text):
            if seen == occurrence:
                _wrap(element, position, match.start(), match.end())
                return True
            seen += 1
    return False


def _wrap(element: Element, position: int, start: int, end: int) -> None:
    span = Element("span", {"style": KEEP_WHOLE})
    if position == 0:
        text = element.text or ""
        element.text = text[:start]
        element.insert(0, span)
    else:
        before = element[position - 1]
        text = before.tail or ""
        before.tail = text[:start]
        element.insert(position, span)
    span.text = text[start:end]
    span.tail = text[end:]
