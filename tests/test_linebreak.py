"""Optimal line breaking: the plan for a paragraph, from measured pieces of text."""

from __future__ import annotations

from bookbuild import linebreak
from bookbuild.linebreak import _breaks, _Segment
from bookbuild.printspec import MAX_HYPHEN_RUN

SPACE = 5.0


def words(*widths: float, hyphen_points: bool = False) -> list[_Segment]:
    """Words of the given widths with a space after each; with hyphen_points, each word is cut
    in two halves at a hyphen point."""
    segments: list[_Segment] = []
    for width in widths:
        if hyphen_points:
            segments.append(_Segment(width / 2, "hyphen", hyphen=3.0))
        segments.append(_Segment(width / 2 if hyphen_points else width, "space", space=SPACE))
    segments[-1].after = "end"
    return segments


def line_ratios(segments: list[_Segment], breaks: list[int], width: float) -> list[float]:
    ratios, start = [], 0
    for end in breaks[:-1]:
        natural, spaces, _ = linebreak._Sums(segments).line(start, end)
        ratios.append(1 + (width - natural) / spaces)
        start = end + 1
    return ratios


def test_the_plan_spreads_the_space_that_first_fit_leaves_at_one_line() -> None:
    # First fit sets 40 20 30 20 20 on the first 170 line (spaces twice their width), then
    # 20 50 40 on the second, whose two spaces take 50: six times their width. The plan sets
    # six words on the first line, its spaces narrowed to 0.8, and no line is loose.
    segments = words(40, 20, 30, 20, 20, 20, 50, 40, 60)
    found = _breaks(segments, 170.0 + linebreak.SLACK, 0.0, linebreak.MAX_SPACE)
    assert found is not None
    breaks, shrink = found
    assert shrink >= 0
    ratios = line_ratios(segments, breaks, 170.0)
    assert breaks == [5, 8] and shrink > 0
    assert all(linebreak.MIN_SPACE - 1e-9 <= ratio <= linebreak.MAX_SPACE for ratio in ratios), ratios


def test_never_more_hyphens_in_a_row_than_the_limit() -> None:
    segments = words(*[70.0] * 40, hyphen_points=True)
    found = _breaks(segments, 200.0, 0.0, linebreak.LAST_RESORT_SPACE)
    assert found is not None
    breaks, _ = found
    run = longest = 0
    for end in breaks:
        run = run + 1 if segments[end].after == "hyphen" else 0
        longest = max(longest, run)
    assert 0 < longest <= MAX_HYPHEN_RUN


def test_no_plan_when_a_word_is_wider_than_the_line() -> None:
    assert _breaks(words(40, 300, 40), 170.0, 0.0, linebreak.LAST_RESORT_SPACE) is None


def test_hyphen_points_follow_the_language_and_only_a_dictionary_it_has() -> None:
    assert linebreak._hyphen_points("extraordinary", "en-US")
    assert linebreak._hyphen_points("everything", "en-GB") == []  # en-GB does not break it
    assert linebreak._hyphen_points("everything", "en-US") == [5]  # every-thing
    # No patterns for Finnish: WeasyPrint hyphenates nothing, and neither does the plan.
    assert linebreak._hyphen_points("kirjoittaminen", "fi") == []
