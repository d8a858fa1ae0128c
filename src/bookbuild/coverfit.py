"""Fitting the title on the cover: broken between words, in balanced lines, at the largest size
between the design's and a floor that still reads as a title. Measured with the typeface's own
advance widths (fontTools), so the layout that follows draws exactly what was measured."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

from .printspec import SPINE_TEXT_CLEARANCE_IN
from .resources import book_fonts

# The front panel's text column: cover.css's .front and .frame paddings and the frame's border,
# less a little for kerning and the shaper's rounding.
FRONT_INSET_IN = 2 * 0.42 + 2 * 0.45 + 2 * 1.2 / 72 + 0.08
TITLE_MAX_PT, TITLE_MIN_PT = 38.0, 20.0
SPINE_MAX_PT, SPINE_MIN_PT = 12.0, 6.0
SPINE_LINE_HEIGHT = 1.15
SPINE_LETTER_SPACING_EM = 0.06  # cover.css .spine-text
SPINE_END_MARGIN_IN = 0.5  # clear of the top and bottom trim
MAX_TITLE_LINES = 4
LETTER_SPACING_EM = 0.01  # cover.css .title
FALLBACK_EM_PER_CHAR = 0.5  # without the typeface's file: an average serif's width


@dataclass(frozen=True)
class TitleFit:
    lines: tuple[str, ...]
    size_pt: float
    fits: bool  # False: even the floor size and four lines cannot hold the longest word


def fit_title(title: str, panel_width_in: float) -> TitleFit:
    words = title.split()
    width_pt = (panel_width_in - FRONT_INSET_IN) * 72
    size = TITLE_MAX_PT
    while size >= TITLE_MIN_PT:
        lines = _balanced(words, size, width_pt)
        if lines is not None:
            return TitleFit(lines, size, True)
        size -= 1
    return TitleFit((title,), TITLE_MIN_PT, False)


def _balanced(words: list[str], size: float, width_pt: float) -> tuple[str, ...] | None:
    """The fewest lines that hold the words at this size, with their widths as even as can be."""
    if not words:
        return ()
    for count in range(1, min(MAX_TITLE_LINES, len(words)) + 1):
        best: tuple[float, tuple[str, ...]] | None = None
        for cuts in itertools.combinations(range(1, len(words)), count - 1):
            bounds = (0, *cuts, len(words))
            lines = tuple(" ".join(words[a:b]) for a, b in itertools.pairwise(bounds))
            widths = [text_width(line, size) for line in lines]
            if max(widths) <= width_pt and (best is None or max(widths) - min(widths) < best[0]):
                best = (max(widths) - min(widths), lines)
        if best is not None:
            return best[1]
    return None


def fit_spine(text: str, spine_in: float, height_in: float) -> float | None:
    """The spine text's size: as large as the spine allows with KDP's clearance from each fold
    and the text within the spine's length; None when that is below a readable size."""
    size = min(SPINE_MAX_PT, (spine_in - 2 * SPINE_TEXT_CLEARANCE_IN) * 72 / SPINE_LINE_HEIGHT)
    length_pt = (height_in - 2 * SPINE_END_MARGIN_IN) * 72
    while size >= SPINE_MIN_PT and text_width(text, size, SPINE_LETTER_SPACING_EM) > length_pt:
        size -= 0.5
    return round(size, 2) if size >= SPINE_MIN_PT else None


def text_width(text: str, size_pt: float, letter_spacing_em: float = LETTER_SPACING_EM) -> float:
    advances, units = _advances()
    if not advances:
        return len(text) * size_pt * (FALLBACK_EM_PER_CHAR + letter_spacing_em)
    em = sum(advances.get(ord(c), units // 2) for c in text) / units
    return (em + letter_spacing_em * len(text)) * size_pt


@cache
def _advances() -> tuple[dict[int, int], int]:
    regular = next((f.path for f in book_fonts().faces if (f.style, f.weight) == ("normal", 400)), None)
    if regular is None:
        return {}, 1000
    return _font_advances(regular)


@cache
def _font_advances(path: Path) -> tuple[dict[int, int], int]:
    font = TTFont(str(path), lazy=True)
    metrics = font["hmtx"].metrics
    cmap = font.getBestCmap() or {}
    advances = {code: metrics[name][0] for code, name in cmap.items() if name in metrics}
    units: int = font["head"].unitsPerEm  # type: ignore[attr-defined]  # (fields made at run time)
    return advances, units
