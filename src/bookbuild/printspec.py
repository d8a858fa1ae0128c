"""What print-on-demand services require, in one place: trims, gutters, bleed, paper, page limits.

Numbers from KDP's help pages (IngramSpark's agree or are looser): they are the floor; the
margins bookbuild sets are generous, book-like ones above them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import DesignOptions

POINTS_PER_INCH = 72.0

# Trim sizes print-on-demand services offer, in points.
# A trim outside these (inches, each side) is no book page; a 0.2 in page would never lay out.
TRIM_LIMITS_IN = (3.0, 12.0)

TRIM_SIZES: dict[str, tuple[float, float]] = {
    "5x8": (360, 576),
    "5.25x8": (378, 576),
    "5.5x8.5": (396, 612),
    "6x9": (432, 648),
    "6.14x9.21": (442.08, 663.12),
    "7x10": (504, 720),
    "8.5x11": (612, 792),
    "a5": (419.53, 595.28),
}

# KDP's minimum inside margin (gutter) by page count: (last page of the band, inches).
GUTTER_BANDS: tuple[tuple[int, float], ...] = (
    (150, 0.375),
    (300, 0.5),
    (500, 0.625),
    (700, 0.75),
    (828, 0.875),
)
MIN_OUTSIDE = 0.25  # outside, top and bottom, without bleed
MIN_OUTSIDE_BLEED = 0.375  # with bleed
KDP_MIN_PAGES, KDP_MAX_PAGES = 24, 828
# The fewest pages each print target prints ([pdf] pad_to_minimum brings a book up to it).
MIN_PAGES = {"kdp": KDP_MIN_PAGES}
STANDARD_BLEED = 0.125
MIN_IMAGE_PPI = 300

# Paper thickness per page, for the spine.
PAPER_INCHES_PER_PAGE = {"white": 0.002252, "cream": 0.0025}
MIN_PAGES_FOR_SPINE_TEXT = 79
SPINE_TEXT_CLEARANCE_IN = 0.0625  # KDP: spine text this far at least from each fold

# What bookbuild adds to each floor: a trade book's margins, not the legal minimum.
GUTTER_COMFORT = 0.25
# A large-print book is thicker and held further open: wider margins, the gutter most, keep the
# words by the spine readable without forcing the book flat and leave room for the thumbs
# (large-print guides for print on demand ask 0.85-1 in inside, 0.65-0.8 in outside).
LARGE_PRINT_GUTTER = 0.25
LARGE_PRINT_OUTSIDE = 0.125
OUTSIDE, TOP, BOTTOM = 0.625, 0.75, 0.8

# Roughly how many words a page of 11-point text holds on each trim; only for predicting the
# gutter band before the first layout (the layout itself is the truth).
WORDS_PER_SQUARE_INCH = 10.0


# A running head's letters, in ems per character with their spacing (print.css's 9 pt spaced
# small capitals, the modern theme's 7.5 pt spaced capitals, the plain theme's 9 pt italic), on
# EB Garamond's widths with room for a wider face: a head is cut to what fits on its line.
RUNNING_HEAD_PT = {"classic": 9.0, "modern": 7.5, "plain": 9.0}
RUNNING_HEAD_EM_PER_CHAR = {"classic": 0.58, "modern": 0.9, "plain": 0.5}
LARGE_PRINT_HEAD_PT = 9.0  # large-print.css: a regular edition's


def running_head_chars(width_pt: float, pages: int, design: DesignOptions) -> int:
    """How many characters a running head holds on a page `width_pt` wide, in the gutter band
    of `pages` pages."""
    page = geometry(width_pt, 0.0, band_index(pages), 0.0, design.large_print)
    measure = width_pt - (page.inside + page.outside) * POINTS_PER_INCH
    size = LARGE_PRINT_HEAD_PT if design.large_print else RUNNING_HEAD_PT[design.theme] * design.scale
    return int(measure / (size * RUNNING_HEAD_EM_PER_CHAR[design.theme]))


def band_index(pages: int) -> int:
    for index, (last_page, _gutter) in enumerate(GUTTER_BANDS):
        if pages <= last_page:
            return index
    return len(GUTTER_BANDS) - 1


def min_gutter(pages: int) -> float:
    return GUTTER_BANDS[band_index(pages)][1]


@dataclass(frozen=True)
class PageGeometry:
    """One page's size (points) and margins (inches), for one gutter band."""

    width: float
    height: float
    inside: float
    outside: float
    top: float
    bottom: float
    bleed: float = 0.0


def geometry(width_pt: float, height_pt: float, band: int, bleed: float = 0.0,
             large_print: bool = False) -> PageGeometry:
    floor = MIN_OUTSIDE_BLEED if bleed else MIN_OUTSIDE
    return PageGeometry(
        width=width_pt,
        height=height_pt,
        inside=GUTTER_BANDS[band][1] + GUTTER_COMFORT + (LARGE_PRINT_GUTTER if large_print else 0.0),
        outside=max(OUTSIDE, floor) + (LARGE_PRINT_OUTSIDE if large_print else 0.0),
        top=max(TOP, floor),
        bottom=max(BOTTOM, floor),
        bleed=bleed,
    )


def estimate_pages(words: int, width_pt: float, height_pt: float, sections: int,
                   text_scale: float = 1.0) -> int:
    """A first guess at the page count: text area times density, plus openers and front matter.
    `text_scale`: how much larger each word and line are than 11-point text's."""
    text_area = (width_pt / POINTS_PER_INCH - 1.5) * (height_pt / POINTS_PER_INCH - 1.55)
    body = words * text_scale / max(text_area * WORDS_PER_SQUARE_INCH, 1.0)
    return int(body + 1.5 * sections + 8)


def spine_width(pages: int, paper: str) -> float:
    return pages * PAPER_INCHES_PER_PAGE[paper]


# How far a supplied wrap's size may be from the computed one (cover calculators round to 0.001).
WRAP_TOLERANCE_IN = 0.01


def front_panel(trim_width_in: float, trim_height_in: float,
                bleed: float = STANDARD_BLEED) -> tuple[float, float]:
    """The wrap's front panel with its bleed (top, bottom and outside), in inches: what a front
    cover's art covers."""
    return trim_width_in + bleed, trim_height_in + 2 * bleed


def cover_size(trim_width_in: float, trim_height_in: float, pages: int, paper: str,
               bleed: float = STANDARD_BLEED) -> tuple[float, float]:
    """Full-wrap cover (back, spine, front) with bleed, in inches."""
    return (bleed + trim_width_in + spine_width(pages, paper) + trim_width_in + bleed,
            trim_height_in + 2 * bleed)

# A typesetter's limits for justified text: the line fitting (linefit.py) keeps the layout
# within them and the print proof (proof.py) reports every line past them.
MIN_FRAGMENT = 3  # letters on each side of a hyphen (print.css: hyphenate-limit-chars 6 3 3)
MAX_HYPHEN_RUN = 2  # consecutive lines ending in a hyphen
LOOSE_SPACE_RATIO = 2.5  # a word space wider than this many normal spaces is a loose line
