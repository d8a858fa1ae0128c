"""Optimal line breaking: the plan for a paragraph, from measured pieces of text, and on a layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_linefit import FIT_LAYOUTS, laid_out
from test_proof import TEXT, make_book

from bookbuild import linebreak
from bookbuild.linebreak import _breaks, _Segment
from bookbuild.pipeline import build_timestamp, iso, prepare
from bookbuild.printspec import MAX_HYPHEN_RUN
from bookbuild.render import render_print
from bookbuild.resources import book_fonts
from bookbuild.writers import pdf as pdf_writer

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


def test_a_line_is_judged_by_its_typical_space() -> None:
    # 20 20 20 20, then a 100 alone on the last line. The first line's spaces are 8 8 5 px (an
    # italic title, then roman), 101 px at natural width; the paragraph's own space is 5 px.
    # Justified to 113 px, each space gains 4: the line's typical gap is 12 px, 2.4 normal
    # spaces, too loose; the average space (7 + 4 = 11 px, 2.2) would have passed it.
    segments = words(20, 20, 20, 20, 100)
    segments[0].space = segments[1].space = 8.0
    assert _breaks(segments, 108.0 + linebreak.SLACK, 0.0, linebreak.MAX_SPACE, normal=SPACE) is not None
    assert _breaks(segments, 113.0 + linebreak.SLACK, 0.0, linebreak.MAX_SPACE, normal=SPACE) is None


def test_one_wide_space_does_not_make_a_line_loose() -> None:
    # A space of a code span's monospace face is more than twice the roman one: it is not the
    # line's gap (the proof takes the median too).
    segments = words(20, 20, 20, 20, 100)
    segments[2].space = 12.0
    assert _breaks(segments, 113.0 + linebreak.SLACK, 0.0, linebreak.MAX_SPACE, normal=SPACE) is not None


def test_a_glued_space_ends_a_line_only_when_glue_is_off() -> None:
    # Three words of seven fill a line exactly; with no break after the third, the lines are
    # set 2, 3, 2 or 2, 2, 3 (a loose line, the last resort) rather than 3, 3, 1. (_plan lets a
    # line end at a glued space only in a plan that sets no word spacing.)
    segments = words(20, 20, 20, 20, 20, 20, 20)
    free = _breaks(segments, 70.0 + linebreak.SLACK, 0.0, linebreak.LAST_RESORT_SPACE)
    assert free is not None and free[0] == [2, 5, 6]
    segments[2].breakable = False
    glued = _breaks(segments, 70.0 + linebreak.SLACK, 0.0, linebreak.LAST_RESORT_SPACE)
    assert glued is not None and 2 not in glued[0] and len(glued[0]) == 3
    unglued = linebreak._least_demerits(segments, 70.0 + linebreak.SLACK, 0.0, linebreak.LAST_RESORT_SPACE,
                                        glue=False)
    assert unglued is not None and unglued[1] == [2, 5, 6]


def test_no_plan_breaks_before_what_the_layout_would_set_on_the_line() -> None:
    # A paragraph tracked closer: its 4.2 px spaces against a 5 px normal one. 60 20 19 fill the
    # 107.4 px line exactly: WeasyPrint, filling each line as far as the next break allows, sets
    # all three there, whatever the plan says. A plan that ends the line after 20 is one the
    # layout would not follow; the only other (all three on a line a pixel narrower, SLACK)
    # would narrow the spaces below the limit: there is none.
    segments = words(60, 20, 19)
    segments[0].space = segments[1].space = 4.2
    loosest = linebreak.LAST_RESORT_SPACE
    assert _breaks(segments, 107.4, 0.0, loosest, normal=SPACE, own=4.2) is None
    assert _breaks(segments, 107.4 + linebreak.SLACK, 0.0, loosest, normal=SPACE, own=4.2) == ([2], 0.0)


# ---- on a layout ---------------------------------------------------------------------------------

FOWLER = ("\u201cMr.\u00a0Fowler was a very kind-spoken, freehanded gentleman,\u201d said Mrs.\u00a0Toller "
          "serenely, as she went on with her work.")


def first_layout(book: Path) -> tuple[pdf_writer.Layout, list[linebreak._Paragraph]]:
    manuscript, _ = prepare(book)
    document = render_print(manuscript, book_fonts(), iso(build_timestamp(manuscript.book)))
    layout = pdf_writer.Layout(document, 0)
    first = layout.render()
    return layout, list(linebreak.paragraphs([page._page_box for page in first.pages]))


def test_a_paragraph_that_will_not_set_is_tracked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In this measure the two names joined by no-break spaces leave no plan within the limit:
    # a little more space between the letters gives one, and the layout follows it.
    book = make_book(tmp_path, FOWLER, "p { width: 28.25em; }")
    monkeypatch.setattr(linebreak, "TRACKING", ())
    assert "proof-loose" in laid_out(book, tmp_path / "untracked.pdf", FIT_LAYOUTS, monkeypatch)
    monkeypatch.undo()
    layout, paragraphs = first_layout(book)
    fowler = next(p for p in paragraphs if "Fowler" in "".join(p.element.itertext()))
    found = linebreak._plan(fowler)
    assert found is not None and found.letter_spacing is not None
    size = fowler.styles[id(fowler.element)]["font_size"]
    assert abs(found.letter_spacing) <= max(map(abs, linebreak.TRACKING)) * size
    linebreak.apply([found])
    assert "letter-spacing" in fowler.element.get("style", "")
    assert linebreak.unfollowed([found], [page._page_box for page in layout.render().pages]) == []
    assert "proof-loose" not in laid_out(book, tmp_path / "tracked.pdf", FIT_LAYOUTS, monkeypatch)


def test_a_note_is_planned_with_its_page_reference(tmp_path: Path) -> None:
    note = " ".join([TEXT] * 3)
    book = make_book(tmp_path, f"{TEXT}[^1]\n\n[^1]: {note}\n")
    layout, paragraphs = first_layout(book)
    item = next(p for p in paragraphs if p.element.tag == "li")
    (generated, _), = item.generated.values()
    assert re.fullmatch(r"\(page \d+0\)", generated)  # measured with a digit to spare
    found = linebreak._plan(item)
    assert found is not None
    linebreak.apply([found])
    reference = next(a for a in item.element.iter("a") if "note-page" in a.get("class", ""))
    # A line ends before "(page N)" only in a plan with no word spacing of its own (the space
    # before it is a text node of its own, which WeasyPrint would then not strip).
    assert reference.text == linebreak.WORD_JOINER or found.word_spacing == 0
    assert linebreak.unfollowed([found], [page._page_box for page in layout.render().pages]) == []


def test_pieces_are_measured_in_their_run_as_pango_sets_it(tmp_path: Path) -> None:
    _, paragraphs = first_layout(make_book(tmp_path, TEXT))
    own = paragraphs[0].styles[id(paragraphs[0].element)]
    text = "The committee met\u00a0“early” \u2014 after office hours, difficult as it was"
    places = [(0, i) for i in range(len(text))]
    tracked = linebreak._tracked(linebreak._Stream(text, places, [own] * len(text), (0, 0), own), 0.5)
    for style in (own, tracked.own_style):
        stream = linebreak._Stream(text, places, [style] * len(text), (0, 0), style)
        setting = stream.run_at(3)[1]
        assert setting is not None and len(setting.x) == len(text) + 1 and setting.x == sorted(setting.x)
        assert abs(setting.x[-1] - linebreak._width(text, style)) < 0.05  # the run as a whole
        # Each piece in its run measures as alone, to within a kerning pair at each end, at the
        # run's ends too (letter spacing) and across a ligature ("ffi": dif-ficult, of-fice).
        for piece in ("The", "committee", "\u00a0“early”", "office", "dif", "ficult", "was"):
            start = text.index(piece)
            measured = linebreak._width_run(text, start, start + len(piece), stream)
            assert abs(measured - linebreak._width(piece, style)) < 0.5, (piece, style["letter_spacing"])
