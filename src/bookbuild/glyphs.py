"""Which characters the fonts can draw: one rule for the build (a character no font on this
machine has prints as an empty box, in the PDF and on many readers) and for the print proof
(a character drawn from a font other than the book's typeface)."""

from __future__ import annotations

import bisect
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable
from functools import cache

# Where to find a font for a script bookbuild's typeface lacks (Debian packages).
_PACKAGES: tuple[tuple[int, int, str], ...] = (
    (0x2E80, 0x9FFF, "fonts-noto-cjk"),  # CJK radicals, kana, ideographs
    (0xAC00, 0xD7AF, "fonts-noto-cjk"),  # Hangul
    (0xF900, 0xFAFF, "fonts-noto-cjk"),
    (0xFF00, 0xFFEF, "fonts-noto-cjk"),  # full-width forms
    (0x1F000, 0x1FAFF, "fonts-noto-color-emoji"),
)
DEFAULT_PACKAGE = "fonts-noto-core"  # most other scripts


def code_points(characters: Iterable[str], limit: int = 6) -> str:
    """'"中" U+4E2D, "文" U+6587 (and 3 more)': how a warning names characters."""
    unique = list(dict.fromkeys(characters))
    named = ", ".join(f'"{c}" U+{ord(c):04X}' for c in unique[:limit])
    return named + (f" (and {len(unique) - limit} more)" if len(unique) > limit else "")


def package_for(characters: Iterable[str]) -> str:
    packages = [next((p for low, high, p in _PACKAGES if low <= ord(c) <= high), DEFAULT_PACKAGE)
                for c in characters]
    return max(set(packages), key=packages.count) if packages else DEFAULT_PACKAGE


@cache
def machine_coverage() -> tuple[tuple[str, tuple[tuple[int, int], ...]], ...]:
    """Every font family fontconfig knows, with the code point ranges it covers."""
    if shutil.which("fc-list") is None:
        return ()
    listing = subprocess.run(["fc-list", "--format", "%{family[0]}\t%{charset}\n"],
                             capture_output=True, text=True, check=False).stdout
    fonts = []
    for row in listing.splitlines():
        family, _, charset = row.partition("\t")
        ranges = []
        for part in charset.split():
            low, _, high = part.partition("-")
            ranges.append((int(low, 16), int(high or low, 16)))
        fonts.append((family, tuple(ranges)))
    return tuple(fonts)


@cache
def _merged_coverage() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """All fonts' ranges merged and sorted: starts and ends, for a bisection per character."""
    merged: list[list[int]] = []
    for low, high in sorted(r for _, ranges in machine_coverage() for r in ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple(m[0] for m in merged), tuple(m[1] for m in merged)


def undrawable(characters: Iterable[str]) -> list[str]:
    """The characters no font on this machine has (printed, they would be empty boxes).
    Empty when fontconfig is not there to ask: nothing is claimed that was not checked."""
    starts, ends = _merged_coverage()
    if not starts:
        return []
    missing = []
    for c in dict.fromkeys(characters):
        if unicodedata.category(c)[0] in "CZ" or 0xFE00 <= ord(c) <= 0xFE0F:
            continue  # spaces, joiners, variation selectors: nothing is drawn for them
        index = bisect.bisect_right(starts, ord(c)) - 1
        if index < 0 or ord(c) > ends[index]:
            missing.append(c)
    return missing
