"""Font subsetting for the EPUB: only the glyphs the book uses, the same bytes every build."""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "FFTM NOT subset" noise

# Characters a reading system may draw that the text itself does not contain.
ALWAYS_KEEP = " \u00a0.,;:!?-\u2013\u2014\u2018\u2019\u201c\u201d\u2026()[]0123456789\u21a9\u2042*"


@lru_cache(maxsize=16)
def subset_font(path: Path, characters: str) -> bytes:
    """The font at `path` cut down to `characters`, as OpenType bytes.

    `recalcTimestamp=False`: otherwise fontTools stamps head.modified with the time of the
    build, and no two EPUBs would be the same.
    """
    font = TTFont(str(path), recalcTimestamp=False, lazy=False)
    options = subset.Options()
    options.layout_features = ["*"]  # keep ligatures, old-style figures, small caps
    options.set(name_IDs=["*"], name_languages=["*"])  # keep the copyright and licence names
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(c) for c in characters + ALWAYS_KEEP}))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@lru_cache(maxsize=16)
def font_characters(path: Path) -> frozenset[int]:
    """The code points the font at `path` has glyphs for."""
    return frozenset(TTFont(str(path), lazy=True).getBestCmap() or {})
