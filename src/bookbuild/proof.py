"""Print proof: what a proofreader marks on sight, read from the laid-out lines of a PDF.

Works on the PDF file alone (a PDF sent to the printer and back is checked the same): pdfium
gives every character with its box and its font; the lines of the text block, its measure and
its edges are found from the book's own pages. Every finding is a warning; the limits are here,
in one place.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c

from .diagnostics import Diagnostic, display_path
from .glyphs import code_points
from .printspec import LOOSE_SPACE_RATIO, MAX_HYPHEN_RUN, MIN_FRAGMENT

WORD_GAP = 0.1  # of the font size: a gap wider than this between glyphs is a word space
SHORT_LINE = 2 / 3  # of the measure: shorter, inside a justified paragraph, is a forced break
EDGE_PT = 2.0  # a line this close to the right edge reaches it (is justified; a hyphen overhangs)
# Past the edge by more than this is overfull: a glyph's overhang (J, f, a quotation mark) is
# less, at most a quarter of an em, so the limit grows with large print's size.
OVERFULL_PT = 3.0
OVERHANG_EM = 0.25
PT_PER_PX = 0.75  # pdfium gives font sizes in CSS px
DROP_CAP_SIZE = 1.8  # a letter this many times the size of the lines beside it is a drop cap
RAGGED_SHARE = 0.2  # fewer of the body's lines than this ending level: the text is set ragged
RAGGED_EDGE = 0.98  # set ragged, the edge is where this share of the lines end before
# A paragraph's first-line indent (print.css: 1.2 em) is less than this many times the body's
# font size as the PDF gives it (pdfium reports it in CSS px: 14.7 for 11 pt, against positions
# in pt); a line set in further is the turnover of a verse line too long for the measure
# (2.5 em) or an indented verse line.
PARAGRAPH_INDENT = 1.5
MARKER_CHARS = 4  # a list's number or bullet: "12." "iv." "–"
MARKER_GAP = 2.5  # how far before its line (in font sizes) a list's number stands at most
CONTENTS_EDGE_PT = 0.5  # how far the contents' page numbers may stray from one right edge
# Faces a book may use beside its typeface: the monospaced face print.css gives code, and the
# declared fallback for the symbols EB Garamond lacks (⋮, ⅜), Linux Libertine, which matches it.
DECLARED_FACES = ("DejaVuSansMono", "DejaVu-Sans-Mono", "LinuxLibertineO", "Linux-Libertine-O")

AUTO_HYPHEN = "\u2010"  # what pdfium reads where the layout hyphenated a word
HYPHENS = (AUTO_HYPHEN, "-")
_WORD_CHAR = re.compile(r"[^\W\d_]", re.UNICODE)
Warn = Callable[["int | Line", str, str, "str | None"], None]  # page index or line, code, message, hint


@dataclass
class Char:
    text: str
    left: float
    right: float
    baseline: float
    size: float
    font: str


@dataclass
class Line:
    page: int  # PDF page index
    chars: list[Char]
    lead: int = 0  # characters of a list's number or bullet drawn apart before the line's own

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)

    @property
    def left(self) -> float:
        """Where the line's own text starts (its indent: not its list number's)."""
        return self.chars[self.lead].left

    @property
    def right(self) -> float:
        return self.chars[-1].right

    @property
    def baseline(self) -> float:
        return self.chars[self.lead].baseline  # (a drop cap's stands lower)

    @functools.cached_property
    def size(self) -> float:
        return Counter(round(c.size, 1) for c in self.chars).most_common(1)[0][0]

    @functools.cached_property
    def words(self) -> list[tuple[str, float, float]]:
        """(text, left, right) of each word. pdfium does not always write the spaces of a
        justified line, so a word ends at a space or where the gap to the next glyph is wider
        than any kerning (WORD_GAP of the size)."""
        words: list[tuple[str, float, float]] = []
        current: list[Char] = []
        for char in self.chars:
            if char.text == " " or (current and char.left - current[-1].right > WORD_GAP * char.size):
                if current:
                    words.append(("".join(c.text for c in current), current[0].left, current[-1].right))
                current = [] if char.text == " " else [char]
            else:
                current.append(char)
        if current:
            words.append(("".join(c.text for c in current), current[0].left, current[-1].right))
        return words

    def word_gaps(self) -> list[float]:
        return [b[1] - a[2] for a, b in itertools.pairwise(self.words)]


@dataclass
class Block:
    """The text block of the book's pages, found from its most common lines."""

    size: float  # the body text's font size
    left: dict[int, float]  # page parity (0 recto, 1 verso) -> left edge
    right: dict[int, float]
    top: float
    bottom: float
    leading: float  # baseline to baseline of the body text
    ragged: bool = False  # set ragged right (large print): few lines end level

    def measure(self, page: int) -> float:
        return self.right[page % 2] - self.left[page % 2]

    def full(self, line: Line) -> bool:
        """A justified line: it reaches the right edge. Set ragged (large print, verse), no line
        tells by its length that its paragraph goes on: the checks that need to know (orphans,
        widows) are left to the layout's own widows and orphans (print.css)."""
        return not self.ragged and abs(line.right - self.right[line.page % 2]) <= EDGE_PT


@dataclass
class ProofResult:
    findings: list[Diagnostic] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)  # each finding's line of text ("" for a page)
    lines: int = 0
    hyphenated: int = 0  # lines ending in a hyphen the layout made
    recto_foot_hyphens: int = 0
    uneven_spreads: int = 0
    spreads: int = 0

    def summary(self) -> str:
        rate = 100 * self.hyphenated / self.lines if self.lines else 0.0
        return (f"proof: {len(self.findings)} warning{'s' * (len(self.findings) != 1)}; "
                f"{self.hyphenated} of {self.lines} lines end in a hyphen ({rate:.1f} %), "
                f"{self.recto_foot_hyphens} at the foot of a recto; "
                f"{self.uneven_spreads} of {self.spreads} spreads end on different lines")


def proof(pdf_path: Path) -> ProofResult:
    document = pypdfium2.PdfDocument(str(pdf_path))
    try:
        pages = [_lines(document, index) for index in range(len(document))]
        labels = _labels(pdf_path, len(document))
    finally:
        document.close()
    result = ProofResult()
    block = _block(pages)
    if block is None:
        return result
    text = [[line for line in page if _in_block(line, block)] for page in pages]
    shown = display_path(pdf_path)

    def warn(at: int | Line, code: str, message: str, hint: str | None) -> None:
        page = at.page if isinstance(at, Line) else at
        where = labels[page] + (f" (PDF page {page + 1})" if labels[page] != str(page + 1) else "")
        result.findings.append(Diagnostic(shown, None, None, "warning", f"proof-{code}", message, hint,
                                          page=where))
        result.quotes.append(at.text if isinstance(at, Line) else "")

    main_face = _main_face(pages)
    _check_glyphs(pages, main_face, warn)
    # (its heading is the page's first line, or its second under a running head)
    contents = next((i for i, page in enumerate(pages)
                     if any(line.text.strip() == "Contents" for line in page[:2])), None)
    if contents is not None:
        _check_contents(pages[contents], contents, warn)
    normal_space = _normal_space(text, block)
    for index, lines in enumerate(text):
        if index == contents:
            continue
        _check_page(index, lines, block, normal_space, warn, result)
        _check_page_ends(index, text, block, warn)
    _count_spreads(text, block, result)
    return result


# ---- reading the PDF -----------------------------------------------------------------------

def _lines(document: pypdfium2.PdfDocument, index: int) -> list[Line]:
    textpage = document[index].get_textpage()
    raw = textpage.raw
    box = pdfium_c.FS_RECTF()
    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    lines: list[Line] = []
    font, text_object = "", None
    try:
        for i in range(pdfium_c.FPDFText_CountChars(raw)):
            code = pdfium_c.FPDFText_GetUnicode(raw, i)
            if code in (0x0D, 0x0A, 0xFFFE):
                continue
            pdfium_c.FPDFText_GetLooseCharBox(raw, i, box)
            size = pdfium_c.FPDFText_GetFontSize(raw, i)
            drawn_by = ctypes.cast(pdfium_c.FPDFText_GetTextObject(raw, i), ctypes.c_void_p).value
            if drawn_by != text_object or not drawn_by:  # one text object, one font
                pdfium_c.FPDFText_GetFontInfo(raw, i, buffer, len(buffer), ctypes.byref(flags))
                name = buffer.value.decode("latin-1")
                font, text_object = name.partition("+")[2] or name, drawn_by
            char = Char(chr(code), box.left, box.right, box.bottom, size, font)
            if lines and box.left >= lines[-1].chars[-1].left - 0.5 and _on_line(char, lines[-1]):
                lines[-1].chars.append(char)
            elif char.text.strip():
                lines.append(Line(index, [char]))
    finally:
        textpage.close()
    for line in lines:
        while line.chars and not line.chars[-1].text.strip():
            line.chars.pop()
    return _in_reading_order([line for line in lines if line.chars])


def _in_reading_order(lines: list[Line]) -> list[Line]:
    """The page's lines from top to bottom: the drawing order is not the reading order (a list's
    numbers are drawn after the items' text), and a list's number or bullet drawn apart ("5."
    beside its item) joins the line it stands before."""
    lines = _with_drop_caps(lines)
    merged: list[Line] = []
    for line in lines:
        for index, other in enumerate(merged):
            if _marker_of(line, other):
                marker, text = line, other
            elif _marker_of(other, line):
                marker, text = other, line
            else:
                continue
            merged[index] = Line(text.page, [*marker.chars, *text.chars], lead=len(marker.chars))
            break
        else:
            merged.append(line)
    return sorted(merged, key=lambda line: -line.baseline)


def _with_drop_caps(lines: list[Line]) -> list[Line]:
    """A drop cap ([design] first_line) joins the first line of its paragraph, whose first
    letter it is: it stands left of the lines it spans, its foot near the last one's, and where
    its baseline falls depends on the typeface."""
    caps = [line for line in lines if len(line.chars) == 1 and line.text.isalpha()]
    for cap in caps:
        spanned = [line for line in lines if line is not cap and cap.size > DROP_CAP_SIZE * line.size
                   and 0 <= line.left - cap.right < cap.size
                   and cap.baseline - line.size <= line.baseline <= cap.baseline + cap.size]
        if spanned:
            first = max(spanned, key=lambda line: line.baseline)
            lines = [Line(first.page, [*cap.chars, *first.chars], lead=1) if line is first else line
                     for line in lines if line is not cap]
    return lines


def _marker_of(piece: Line, line: Line) -> bool:
    """A short piece of one word on a line's baseline, just before it: a list's number or bullet."""
    return piece.lead == 0 and line.lead == 0 and abs(piece.baseline - line.baseline) < 1.0 \
        and len(piece.text) <= MARKER_CHARS and len(piece.words) == 1 and abs(piece.size - line.size) < 0.2 \
        and 0 <= line.left - piece.right < MARKER_GAP * line.size


def _on_line(char: Char, line: Line) -> bool:
    """On the same baseline, or a superscript (a note call) raised within the line's height."""
    rise = char.baseline - line.baseline
    return abs(rise) < 1.0 or (char.size < 0.85 * line.size and 0 < rise < 0.7 * line.size)


def _labels(pdf_path: Path, count: int) -> list[str]:
    from pypdf import PdfReader

    try:
        labels = list(PdfReader(pdf_path).page_labels)
    except Exception:  # labels are a nicety; the PDF page number is always there
        labels = []
    return labels if len(labels) == count else [str(i + 1) for i in range(count)]


def _block(pages: list[list[Line]]) -> Block | None:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page:
            sizes[line.size] += len(line.chars)
    if not sizes:
        return None
    size = sizes.most_common(1)[0][0]
    body = [line for page in pages for line in page if abs(line.size - size) < 0.2 and len(line.chars) > 20]
    if not body:
        return None
    left, right = {}, {}
    # (each side on its own: a recto's text block ends where a verso's does not)
    ragged = all(_ragged([line.right for line in body if line.page % 2 == parity] or
                         [line.right for line in body]) for parity in (0, 1))
    for parity in (0, 1):
        lines = [line for line in body if line.page % 2 == parity] or body
        left[parity] = Counter(round(line.left, 1) for line in lines).most_common(1)[0][0]
        right[parity] = _right_edge([line.right for line in lines], ragged)
    baselines = sorted(line.baseline for line in body)
    top = baselines[-1] + size
    bottom = baselines[0] - size
    steps: Counter[float] = Counter()
    for page in pages:
        for upper, lower in itertools.pairwise(page):
            if abs(upper.size - size) < 0.2 and abs(lower.size - size) < 0.2:
                steps[round(upper.baseline - lower.baseline, 1)] += 1
    leading = steps.most_common(1)[0][0] if steps else size * 1.3
    return Block(size, left, right, top, bottom, leading, ragged)


def _ragged(rights: list[float]) -> bool:
    """Few of the body's lines end level: the text is set ragged right (large print, verse).
    (Level within EDGE_PT: a justified line's end moves with the overhang of its last glyph.)"""
    edge = Counter(round(right, 1) for right in rights).most_common(1)[0][0]
    return sum(abs(right - edge) <= EDGE_PT for right in rights) < RAGGED_SHARE * len(rights)


def _right_edge(rights: list[float], ragged: bool) -> float:
    """Where justified lines end; set ragged, where nearly all lines end before: the longest
    but a few (an overfull line is not the edge it overruns)."""
    if not ragged:
        return Counter(round(right, 1) for right in rights).most_common(1)[0][0]
    ordered = sorted(rights)
    return round(ordered[int(RAGGED_EDGE * (len(ordered) - 1))], 1)


def _in_block(line: Line, block: Block) -> bool:
    """Body lines: inside the text block's height (running heads and folios stand outside)."""
    return block.bottom <= line.baseline <= block.top


def _main_face(pages: list[list[Line]]) -> str:
    faces = Counter(char.font for page in pages for line in page for char in line.chars)
    return _family(faces.most_common(1)[0][0]) if faces else ""


def _family(font: str) -> str:
    return re.split(r"[-,]", font.replace(" ", ""))[0] + (font.split("-")[1] if "-" in font else "")


# ---- the checks --------------------------------------------------------------------------

def _check_glyphs(pages: list[list[Line]], main_face: str, warn: Warn) -> None:
    """Text the layout drew from another font: the typeface has no glyph for something in it
    (the layout then takes the whole run from the fallback). Named with its code points."""
    seen: set[tuple[str, str]] = set()
    for page in pages:
        for line in page:
            runs: list[tuple[str, list[Char]]] = []
            previous: Char | None = None
            for char in line.chars:
                foreign = char.text.strip() and _family(char.font) != main_face \
                    and not any(face in char.font for face in DECLARED_FACES)
                if foreign and runs and runs[-1][0] == char.font and runs[-1][1][-1] is previous:
                    runs[-1][1].append(char)
                elif foreign:
                    runs.append((char.font, [char]))
                previous = char
            for font, chars in runs:
                text = "".join(c.text for c in chars)
                if (font, text) in seen:
                    continue
                seen.add((font, text))
                points = code_points([c for c in text if ord(c) > 0x7E] or text)
                warn(line, "glyph", f'"{text}" is drawn from {font}, not the book\'s typeface '
                     f"({points})", "use a character the typeface has, or declare a face that has it")


def _check_contents(lines: list[Line], page: int, warn: Warn) -> None:
    edges = []
    for line in lines[1:]:
        # (a word of its own: a title's first line that ends in "and" ends in no roman number)
        tail = re.search(r"(?:^|\s)([0-9]+|[ivxlcdm]+)$", line.text)
        leaders = "..." in line.text.replace(" ", "")
        if leaders and tail is None:
            warn(page, "contents-number", f'the contents entry "{line.text.split(".")[0].strip()}" '
                 "has no page number", None)
        elif tail is not None and leaders:
            edges.append(line.right)
    if edges and max(edges) - min(edges) > CONTENTS_EDGE_PT:
        warn(page, "contents-edge", f"the contents' page numbers end {max(edges) - min(edges):.1f} pt "
             "apart: they are not on one right edge", None)


def _normal_space(pages: list[list[Line]], block: Block) -> float:
    """The typeface's word space, relative to its size: the advance of the space glyphs of the
    body text (the layout draws them at their own width and adds the justification beside
    them); else read from the gaps of lines nobody justified."""
    spaces = Counter(round((char.right - char.left) / char.size, 3) for page in pages for line in page
                     for char in line.chars if char.text == " " and abs(char.size - block.size) < 0.2)
    if spaces:
        return spaces.most_common(1)[0][0]
    gaps = [gap / line.size for page in pages for line in page if not block.full(line)
            for gap in line.word_gaps() if gap > 0]
    return statistics.median(gaps) if gaps else 0.25


def _check_page(index: int, lines: list[Line], block: Block, normal_space: float, warn: Warn,
                result: ProofResult) -> None:
    say = warn
    run = 0
    for number, line in enumerate(lines):
        result.lines += 1
        following = lines[number + 1] if number + 1 < len(lines) else None
        previous = lines[number - 1] if number else None
        words = [word for word, _, _ in line.words]
        auto = line.text.endswith(AUTO_HYPHEN)
        result.hyphenated += auto
        run = run + 1 if line.text.endswith(HYPHENS) and _letter_before_end(line.text) else 0
        if run == MAX_HYPHEN_RUN + 1:
            say(line, "hyphen-run", f"{run} lines in a row end in a hyphen, from \"{_quote(line)}\"",
                "rephrase, or allow a looser line")
        if auto:
            before = _letters(words[-1][:-1], from_end=True)
            after = _letters(following.words[0][0]) if following else ""
            if len(words) == 1:
                say(following or line, "hyphen-stranded",
                    f'the line holds only "{words[0]}", a fragment of a word',
                    "the break before it was forced: look for a no-break join or a long word")
            if 0 < len(before) < MIN_FRAGMENT or 0 < len(after) < MIN_FRAGMENT:
                fragment = before if 0 < len(before) < MIN_FRAGMENT else after
                say(line, "hyphen-fragment", f'a hyphen leaves "{fragment}" ({len(fragment)} letters) '
                    f'in "{words[-1]}{after}"', f"at least {MIN_FRAGMENT} letters on each side")
            if following is None and index % 2 == 0:
                result.recto_foot_hyphens += 1
        past = max(line.right - block.right[index % 2], block.left[index % 2] - line.left)
        if past > max(OVERFULL_PT, OVERHANG_EM * block.size * PT_PER_PX):
            say(line, "overfull", f'"{words[-1] if line.right > block.right[index % 2] else words[0]}" '
                f"stands {past:.1f} pt outside the text block", "allow a break in it, or rephrase")
        if not block.ragged and block.full(line) and following is not None and len(words) > 2:
            gaps = line.word_gaps()
            loose = gaps and statistics.median(gaps) / line.size > LOOSE_SPACE_RATIO * normal_space
            if loose and _even(gaps):
                say(line, "loose", f'the word spaces of "{_quote(line)}" are '
                    f"{statistics.median(gaps) / line.size / normal_space:.1f} times the normal space",
                    "let a dash or a long word break, or rephrase")
        if not block.ragged and previous is not None and following is not None \
                and block.full(previous) and block.full(following) \
                and abs(line.left - block.left[index % 2]) < EDGE_PT \
                and abs(following.left - block.left[index % 2]) < EDGE_PT \
                and line.right - line.left < SHORT_LINE * block.measure(index) \
                and not _gap_between(previous, line, block) and not _gap_between(line, following, block) \
                and abs(line.size - block.size) < 0.2 and not line.text.endswith((".", ":", "!", "?", "”")):
            say(line, "short-line", f'"{_quote(line)}" breaks short inside a justified paragraph',
                "a break was forced where none was written: look for a no-break join")


def _check_page_ends(index: int, pages: list[list[Line]], block: Block, say: Warn) -> None:
    """What stands alone where a page ends or begins: a heading, a paragraph's or block quote's
    first line at the foot, a paragraph's last line at the head, a chapter's last line alone."""
    lines = pages[index]
    if not lines:
        return
    body = [line for line in lines if abs(line.size - block.size) < 0.2]
    before = pages[index - 1] if index else []
    after = pages[index + 1] if index + 1 < len(pages) else []
    last, side = lines[-1], index % 2
    if last.size > block.size * 1.1 and body:
        say(last, "heading-foot", f'the heading "{last.text.strip()}" stands alone at the foot of the page',
            "keep a heading with its text")
    elif body and last is body[-1] and len(lines) > 1 and after and _continues(last, after[0], block):
        above = lines[-2]
        indent = last.left - above.left
        # (a one-line paragraph may fill its line: then the next page opens a paragraph of its own)
        opens = _paragraph_indent(after[0].left - block.left[(index + 1) % 2], block)
        if _paragraph_indent(indent, block) and block.full(last) and not opens:
            say(last, "orphan", f'the first line of a paragraph, "{_quote(last)}", stands alone at the '
                "foot of the page", "keep two lines together (orphans), or let the page run a line short")
        elif indent >= PARAGRAPH_INDENT * block.size and _gap_between(above, last, block):
            say(last, "orphan", f'the first line of a block quote or list, "{_quote(last)}", stands alone '
                "at the foot of the page", "keep its first two lines together")
    first = lines[0]
    if before and abs(first.size - block.size) < 0.2 and abs(first.left - block.left[side]) < EDGE_PT \
            and not block.full(first) and block.full(before[-1]) \
            and (len(lines) == 1 or _starts_block(lines[1], first, block)):
        say(first, "widow", f'the last line of a paragraph, "{_quote(first)}", stands alone at the head '
            "of the page", "keep two lines together (widows), or let the page before run a line long")
    if len(body) == 1 and len(lines) == 1 and len([line for line in before if line.size == first.size]) >= 10:
        say(first, "short-page", "a chapter ends with one line alone on its last page",
            "tighten the chapter's last paragraphs, or let its pages run a line long")


def _continues(last: Line, first_next: Line, block: Block) -> bool:
    """The block at the foot of a page goes on at the head of the next: the same size of text,
    and the next page does not open with a heading or a new chapter's sink."""
    return abs(first_next.size - last.size) < 0.2 and first_next.baseline > block.top - 2 * block.leading


def _starts_block(line: Line, above: Line, block: Block) -> bool:
    return _paragraph_indent(line.left - above.left, block) or _gap_between(above, line, block)


def _gap_between(above: Line, line: Line, block: Block) -> bool:
    return above.baseline - line.baseline > 1.3 * block.leading


def _paragraph_indent(indent: float, block: Block) -> bool:
    return EDGE_PT < indent < PARAGRAPH_INDENT * block.size


def _count_spreads(pages: list[list[Line]], block: Block, result: ProofResult) -> None:
    """Spreads whose two text blocks end on different lines. A chapter's last page ends where
    its text does, and a page with little text is an opening or an end: neither is counted."""
    for verso in range(1, len(pages) - 1, 2):
        left, right = pages[verso], pages[verso + 1]
        if len(left) < 10 or len(right) < 10 or _ends_chapter(pages, verso, block) \
                or _ends_chapter(pages, verso + 1, block):
            continue
        result.spreads += 1
        if abs(left[-1].baseline - right[-1].baseline) > 1.0:
            result.uneven_spreads += 1


def _ends_chapter(pages: list[list[Line]], index: int, block: Block) -> bool:
    """The page after is empty or opens a chapter (a heading, or text sunk below the top)."""
    after = pages[index + 1] if index + 1 < len(pages) else []
    return not after or after[0].size > block.size * 1.1 or after[0].baseline < block.top - 3 * block.leading


def _even(gaps: list[float]) -> bool:
    """Justification spaces a line's words evenly; a table row's or tab-set line's gaps are
    uneven, and no measure of a justified line."""
    middle = statistics.median(gaps)
    return sum(abs(gap - middle) <= max(0.75, 0.15 * middle) for gap in gaps) >= 0.6 * len(gaps)


def _letter_before_end(text: str) -> bool:
    return len(text) > 1 and _WORD_CHAR.match(text[-2]) is not None


def _letters(word: str, from_end: bool = False) -> str:
    letters = re.findall(r"[^\W\d_]+", word)
    if not letters:
        return ""
    return letters[-1] if from_end else letters[0]


def _quote(line: Line) -> str:
    text = " ".join(word for word, _, _ in line.words)
    return text if len(text) <= 60 else text[:57] + "…"


# ---- where in the sources ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Normalized:
    """A source's words, lower case, one space between them; and the line of each character."""

    text: str
    lines: tuple[int, ...]


def _normalize(text: str) -> _Normalized:
    out: list[str] = []
    lines: list[int] = []
    line = 1
    for char in text:
        if char.isalnum():
            if out and out[-1] != " " and out[-1].isdigit() != char.isdigit():
                out.append(" ")  # a note call set against its word: "discussion1"
                lines.append(line)
            out.append(char.lower())
            lines.append(line)
        elif out and out[-1] != " ":
            out.append(" ")
            lines.append(line)
        line += char == "\n"
    return _Normalized("".join(out), tuple(lines))


class Sources:
    """The book's Markdown files, to find the file and line a line of the PDF comes from."""

    def __init__(self, files: dict[Path, str]):
        self._files = {path: _normalize(text) for path, text in files.items()}

    def locate(self, quote: str) -> tuple[Path, int] | None:
        """Where the words of `quote` are, when they are found in one place only. The line's
        first and last words may be pieces of hyphenated words and note calls show as digits,
        so the longest run of whole words found once is used."""
        words = _normalize(quote).text.split()[1:-1]
        for length in range(min(len(words), 8), 2, -1):
            for start in range(len(words) - length + 1):
                phrase = f" {' '.join(words[start:start + length])} "
                hits = [(path, source.lines[found])
                        for path, source in self._files.items()
                        for found in _find_all(f" {source.text} ", phrase)]
                if len(hits) == 1:
                    return hits[0]
        return None


def _find_all(text: str, phrase: str) -> list[int]:
    """Where `phrase` starts in `text`, as an index of the text without its first character."""
    found, start = [], text.find(phrase)
    while start >= 0:
        found.append(start)
        start = text.find(phrase, start + 1)
    return found
