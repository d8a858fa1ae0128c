"""The print proof: each check read from a real PDF, with a small book that triggers it and the
same book without the fault. Proof findings are warnings: exit 0, or 1 with --strict."""

from __future__ import annotations

from pathlib import Path

from conftest import build_book, run_bookbuild

TEXT = ("The committee met on a grey morning and, after considerable discussion of the accounts, "
        "agreed unanimously that the parliamentary representatives should reconsider everything "
        "they had recommended, notwithstanding the extraordinary circumstances of the year. ")


def make_book(root: Path, body: str, css: str | None = None, title: str = "Proof") -> Path:
    """A two-chapter book; `body` is the first chapter's Markdown after its "# One" title, or
    the whole chapter when it starts with a title of its own."""
    book = root / "book"
    book.mkdir(parents=True)
    (book / "one.md").write_text(body if body.startswith("# ") else f"# One\n\n{body}\n")
    (book / "two.md").write_text(f"# Two\n\n{TEXT}\n")
    sheets = 'stylesheets = ["extra.css"]\n\n' if css else ""
    if css:
        (book / "extra.css").write_text(css)
    (book / "book.toml").write_text(f'{sheets}[book]\ntitle = "{title}"\ndate = "2025-01-01"\n\n'
                                    '[[contents]]\nfile = "one.md"\n\n[[contents]]\nfile = "two.md"\n')
    return book


def first_fit_pdf(book: Path, target: Path) -> Path:
    """The book as WeasyPrint sets it unaided (bookbuild's line breaking and fitting off): the
    faults the proof must find in any PDF."""
    from unittest import mock

    from bookbuild.pipeline import build_timestamp, iso, prepare
    from bookbuild.render import render_print
    from bookbuild.resources import book_fonts
    from bookbuild.writers import pdf as pdf_writer

    manuscript, _ = prepare(book)
    document = render_print(manuscript, book_fonts(), iso(build_timestamp(manuscript.book)))
    with mock.patch.object(pdf_writer, "FIT_LAYOUTS", 1):
        pdf_writer.write_pdf(document, target)
    return target


def proof_codes(tmp_path: Path, body: str, css: str | None = None, *,
                first_fit: bool = False) -> tuple[list[str], str]:
    book = make_book(tmp_path, body, css)
    if first_fit:
        (tmp_path / "out").mkdir()
        pdf = first_fit_pdf(book, tmp_path / "out" / "proof.pdf")
    else:
        pdf = build_book(book, tmp_path / "out", "--format", "pdf").pdf
    result = run_bookbuild("preflight", pdf)
    assert result.returncode == 0, result.stdout + result.stderr
    codes = [line.partition("warning[")[2].partition("]")[0] for line in result.stdout.splitlines()
             if "warning[proof-" in line]
    return codes, result.stdout


def test_a_glyph_from_another_font_is_named(tmp_path: Path) -> None:
    codes, out = proof_codes(tmp_path / "a", f"{TEXT}A snowman \u2603 between the lines.")
    assert "proof-glyph" in codes
    assert 'is drawn from DejaVu' in out and '("\u2603" U+2603)' in out
    clean, _ = proof_codes(tmp_path / "b", f"{TEXT}An ordinary ellipsis … between the lines.")
    assert "proof-glyph" not in clean


def test_symbols_the_typeface_lacks_come_from_the_declared_fallback(tmp_path: Path) -> None:
    """EB Garamond has no vertical ellipsis or ⅜: Linux Libertine, declared after it in
    print.css and installed with it, draws them (embedded), and the proof accepts that face."""
    codes, out = proof_codes(tmp_path, f"{TEXT}A vertical ellipsis ⋮ and ⅜ of an inch.")
    assert "proof-glyph" not in codes, out
    from pdfread import Pdf

    fonts = Pdf(next((tmp_path / "out").glob("proof.pdf"))).fonts()
    assert any("Libertine" in name for name in fonts), fonts


def test_contents_numbers_off_one_edge(tmp_path: Path) -> None:
    # The hanging indent WeasyPrint's leader ignores: a wrapped title's number moves right.
    hanging = "nav.contents a { text-indent: -1em; margin-left: 1em; }"
    long_title = ("# A Chapter Whose Title Is So Long That It Cannot Possibly Fit on One Line of the "
                  "Contents Page\n\n")
    codes, _ = proof_codes(tmp_path / "a", long_title + TEXT, hanging)
    assert "proof-contents-edge" in codes
    clean, _ = proof_codes(tmp_path / "b", long_title + TEXT)
    assert "proof-contents-edge" not in clean


def test_a_word_past_the_text_block_is_overfull(tmp_path: Path) -> None:
    word = "Pneumonoultramicroscopicsilicovolcanoconiosisandmoreofthesamewithoutanybreak"
    codes, out = proof_codes(tmp_path / "a", f"{TEXT}{word} ends it.", "p { hyphens: manual; }")
    assert "proof-overfull" in codes and word[:20] in out
    clean, _ = proof_codes(tmp_path / "b", TEXT * 3)
    assert "proof-overfull" not in clean


PREFIXED = ("It was in the beginning a because behaviour became beyond believed belonging, "
            "increasingly incidental, inhabitants reconsidered, reorganised, decided, deliberately "
            "and effectively, unexpectedly ever after. ")


def test_short_fragments_runs_of_hyphens_and_loose_lines(tmp_path: Path) -> None:
    # Hyphenation as WeasyPrint does it unbidden, in a narrow column.
    unbidden = "html { hyphenate-limit-chars: 2 1 1; hyphenate-limit-zone: 0; } p { width: 11em; }"
    codes, out = proof_codes(tmp_path / "a", "\n\n".join([PREFIXED * 3] * 3), unbidden, first_fit=True)
    assert {"proof-hyphen-fragment", "proof-hyphen-run", "proof-loose"} <= set(codes)
    assert 'a hyphen leaves "de" (2 letters) in "de‐cided"' in out
    clean, out = proof_codes(tmp_path / "b", "\n\n".join([PREFIXED * 3] * 3))
    # bookbuild's own line breaking leaves no short fragment and no run; of a text made of
    # long words, fewer loose lines than WeasyPrint alone with its own settings.
    assert not {"proof-hyphen-fragment", "proof-hyphen-run"} & set(clean), out
    first_fit, _ = proof_codes(tmp_path / "c", "\n\n".join([PREFIXED * 3] * 3), first_fit=True)
    assert clean.count("proof-loose") < first_fit.count("proof-loose")
    assert "lines end in a hyphen" in out


def test_strict_makes_proof_warnings_count(tmp_path: Path) -> None:
    book = make_book(tmp_path, f"{TEXT}A snowman \u2603 between the lines.")
    built = build_book(book, tmp_path / "out", "--format", "pdf")
    assert run_bookbuild("preflight", built.pdf).returncode == 0
    assert run_bookbuild("preflight", "--strict", built.pdf).returncode == 1


def test_list_bullets_are_dashes_the_typeface_draws(tmp_path: Path) -> None:
    """WeasyPrint 70 draws EB Garamond's list markers as a small capital A: lists get an en dash
    set as text, from the book's own typeface."""
    codes, _ = proof_codes(tmp_path, f"{TEXT}\n\n- first item\n- second item\n")
    assert "proof-glyph" not in codes
    from pdfread import Pdf

    pdf = Pdf(next((tmp_path / "out").glob("proof.pdf")))
    page = next(text for text in pdf.texts if "first item" in text)
    # (the dash is placed beside the item, so text extraction may read it after the words)
    assert "first item" in page and "second item" in page
    assert page.count("–") == 2 and "•" not in page


def varied_paragraphs(count: int) -> str:
    """Paragraphs of one to six lines, in an order that puts every kind of paragraph end at
    the foot of some page."""
    return "\n\n".join(" ".join([TEXT] * (1 + (i * 5) % 4)) + ("And so it ended. " * (i % 3))
                       for i in range(count))


def test_lone_first_and_last_lines_of_paragraphs(tmp_path: Path) -> None:
    # WeasyPrint keeps two lines together at a page break because print.css asks it to
    # (orphans, widows); a stylesheet that allows one shows what the proof finds then.
    codes, out = proof_codes(tmp_path / "a", varied_paragraphs(40), "p { orphans: 1; widows: 1; }",
                             first_fit=True)
    assert "proof-orphan" in codes and "proof-widow" in codes, out
    assert "stands alone at the foot of the page" in out and "stands alone at the head" in out
    clean, out = proof_codes(tmp_path / "b", varied_paragraphs(40))
    assert not {"proof-orphan", "proof-widow"} & set(clean), out


def test_a_verse_line_keeps_its_turnover_and_is_no_widow(tmp_path: Path) -> None:
    # Lines too long for the measure turn, indented: a turnover never starts a page, and a line
    # with its turnover at the head of a page is no paragraph's last line.
    line = "And the river ran on below the bridges of the old town, with the boats going down on the tide"
    stanza = "  \n".join(f"{line} {n}" for n in range(8))
    codes, out = proof_codes(tmp_path, "\n\n".join([stanza] * 14))
    assert not {"proof-widow", "proof-orphan", "proof-short-page"} & set(codes), out
    from pdfread import Pdf

    pdf = Pdf(next((tmp_path / "out").glob("proof.pdf")))
    pages = [[row for row in (page.extract_text() or "").splitlines() if "the" in row or "tide" in row]
             for page in pdf.pages]
    verse_pages = [rows for rows in pages if any("river" in row for row in rows)]
    assert len(verse_pages) > 3 and all(len(rows) > 1 for rows in verse_pages)
    assert any(not rows[1].startswith("And") for rows in verse_pages)  # the lines do turn
    assert all(rows[0].startswith("And") for rows in verse_pages), [rows[0] for rows in verse_pages]


def test_proof_lines_name_the_page(tmp_path: Path) -> None:
    _, out = proof_codes(tmp_path, f"{TEXT}A snowman \u2603 between the lines.")
    line = next(line for line in out.splitlines() if "warning[proof-glyph]" in line)
    # file: page N: warning[…]: the printed folio (arabic in the body) and the PDF page beside it
    path, page, rest = line.split(": ", 2)
    assert path.endswith("proof.pdf") and page.startswith("page 1 (PDF page ")
    assert rest.startswith("warning[proof-glyph]: ")


def chapter_lines(pdf: Path, first_words: str) -> list[int]:
    """How many lines of text each page of the chapter that starts with `first_words` holds."""
    from pdfread import Pdf

    texts = [page.extract_text() or "" for page in Pdf(pdf).pages]  # lines kept
    start = next(i for i, text in enumerate(texts) if first_words in text)
    counts = []
    for text in texts[start:]:
        lines = [line for line in text.splitlines() if line.strip().startswith("Line ")]
        if not lines:
            break
        counts.append(len(lines))
    return counts


def test_a_chapter_that_ends_with_one_line_alone(tmp_path: Path) -> None:
    # One-line paragraphs fill the chapter's pages; one more than fits leaves a line alone.
    def lines(n: int) -> str:
        return "\n\n".join(f"Line {i} of a list of short lines." for i in range(1, n + 1))

    book = make_book(tmp_path / "measure", lines(120))
    built = build_book(book, tmp_path / "measure-out", "--format", "pdf")
    fit = sum(chapter_lines(built.pdf, "Line 1 ")[:2])  # the opening page and the next
    codes, out = proof_codes(tmp_path / "a", lines(fit + 1))
    assert "proof-short-page" in codes, out
    clean, out = proof_codes(tmp_path / "b", lines(fit))
    assert "proof-short-page" not in clean, out


def test_a_line_of_the_pdf_is_found_in_its_markdown(tmp_path: Path) -> None:
    from bookbuild.proof import Sources

    one, two = tmp_path / "one.md", tmp_path / "two.md"
    one.write_text("# One\n\nThe *committee* met on a grey\nmorning and, after considerable "
                   "discussion[^1] of the accounts.\n\n[^1]: A note.\n")
    two.write_text("# Two\n\nThe committee met again.\n")
    sources = Sources({one: one.read_text(), two: two.read_text()})
    # pieces of hyphenated words at either end, a note call's digit, curly quotes: still found
    assert sources.locate("mit‐tee met on a grey morning and, after considerable discus‐") == (one, 3)
    assert sources.locate("after considerable discussion1 of the accounts.") == (one, 4)
    assert sources.locate("The committee met") is None  # in both files: no one place


def test_a_contents_entry_without_its_page_number(tmp_path: Path) -> None:
    leaders_only = 'nav.contents li a::after { content: leader(". ") !important; }'
    codes, out = proof_codes(tmp_path / "a", TEXT, leaders_only)
    assert "proof-contents-number" in codes, out
    assert 'the contents entry "One" has no page number' in out
    clean, out = proof_codes(tmp_path / "b", TEXT)
    assert "proof-contents-number" not in clean, out


def test_a_line_holding_only_a_piece_of_a_word(tmp_path: Path) -> None:
    # A word as long as the line with one soft hyphen: its first piece fills a line alone.
    piece = "m" * 35
    word = f"{piece}\u00ad{'n' * 20}"
    codes, out = proof_codes(tmp_path / "a", f"Words before it: {word} and words after it. {TEXT}",
                             "p { hyphens: manual; }", first_fit=True)
    assert "proof-hyphen-stranded" in codes, out
    assert f'the line holds only "{piece}\u2010"' in out
    clean, out = proof_codes(tmp_path / "b", f"Words before it: {'m' * 12} and words after it. {TEXT}")
    assert "proof-hyphen-stranded" not in clean, out


def test_a_heading_alone_at_the_foot_of_a_page(tmp_path: Path) -> None:
    # print.css keeps a heading with its text; a stylesheet that lets it go shows the fault.
    sections = "\n\n".join(f"## Section {n}\n\n{TEXT * (1 + n % 4)}" for n in range(1, 16))
    codes, out = proof_codes(tmp_path / "a", sections, "h2 { break-after: auto !important; }",
                             first_fit=True)
    assert "proof-heading-foot" in codes, out
    clean, out = proof_codes(tmp_path / "b", sections)
    assert "proof-heading-foot" not in clean, out


def test_a_line_broken_short_by_a_no_break_run(tmp_path: Path) -> None:
    # Five words joined by no-break spaces cannot follow the word before them on its line,
    # nor start the next line with it: that word is left alone on a short line.
    words = " ".join(TEXT.split()[:7])
    joined = "\u00a0".join(["Puddlecombe"] * 5)
    body = f"{TEXT}{words} extraordinarily {joined} and so on. {TEXT}"
    codes, out = proof_codes(tmp_path / "a", body, "p { hyphens: manual; }", first_fit=True)
    assert "proof-short-line" in codes, out
    assert '"extraordinarily" breaks short inside a justified paragraph' in out
    clean, out = proof_codes(tmp_path / "b", body.replace("\u00a0", " "), "p { hyphens: manual; }")
    assert "proof-short-line" not in clean, out


def test_lines_are_read_top_down_with_what_was_drawn_apart_on_them() -> None:
    # WeasyPrint draws a list's numbers after the items' text: "5." comes last in the content
    # stream, on the baseline of its item's first line. The proof reads it there, not as the
    # page's last line, and the line's indent is its text's. Two columns' lines on one baseline
    # stay two lines.
    from bookbuild.proof import Char, Line, _in_reading_order

    def line(text: str, left: float, baseline: float) -> Line:
        return Line(0, [Char(c, left + 5 * i, left + 5 * (i + 1), baseline, 14.7, "EBGaramond")
                        for i, c in enumerate(text)])

    drawn = [line("The employers", 60, 500), line("four days", 60, 485), line("5.", 45, 500)]
    read = _in_reading_order(drawn)
    assert [item.text for item in read] == ["5.The employers", "four days"]
    assert read[0].left == 60 and read[0].chars[0].left == 45
    columns = [line("left column text", 45, 500), line("right column text", 200, 500)]
    assert [item.text for item in _in_reading_order(columns)] == ["left column text", "right column text"]


def test_a_drop_cap_joins_the_first_line_of_its_paragraph() -> None:
    # Where a drop cap's baseline falls depends on the typeface: in Gentium Plus it stands
    # between the second and the third line, and was read as a line of its own after the second.
    from bookbuild.proof import Char, Line, _in_reading_order

    def line(text: str, left: float, baseline: float, size: float = 14.7) -> Line:
        return Line(0, [Char(c, left + 5 * i, left + 5 * (i + 1), baseline, size, "GentiumPlus")
                        for i, c in enumerate(text)])

    drawn = [line("I", 45, 329.1, 45.3), line("n the night of August", 57.2, 352.3),
             line("based in the military", 57.2, 337.1), line("ment of Mikhail", 45, 322.0)]
    read = _in_reading_order(drawn)
    assert [item.text for item in read] == ["In the night of August", "based in the military",
                                            "ment of Mikhail"]
    assert read[0].baseline == 352.3 and read[0].left == 57.2


def test_ragged_text_has_its_edge_where_nearly_all_its_lines_end() -> None:
    # Large print is set ragged right: few lines end level, and the edge is where all lines but
    # the longest few end, so that a line that overruns it is still found overfull.
    from bookbuild.proof import _ragged, _right_edge

    justified = [300.0] * 8 + [250.0, 260.0]
    assert not _ragged(justified) and _right_edge(justified, ragged=False) == 300.0
    # Fiction: two lines in five end at the edge, each a little off it by its last glyph's
    # overhang (no bin of 0.1 pt holds a fifth of them), the rest are paragraphs' last lines.
    dialogue = [386.9 + (i % 24 - 12) / 10 for i in range(400)] + [200.0 + i % 150 for i in range(600)]
    assert not _ragged(dialogue)
    ragged = [250.0 + (i * 7.3) % 50 for i in range(200)] + [340.0]  # one line 40 pt past
    assert _ragged(ragged)
    edge = _right_edge(ragged, ragged=True)
    assert 297 <= edge <= 300 and 340.0 - edge > 3


def test_a_contents_title_that_wraps_after_and_is_no_page_number() -> None:
    # "and" ends in a letter of the roman numerals: the first line of a wrapped title was taken
    # for an entry numbered "d", off the right edge (the Souls of Black Folk in large print).
    from bookbuild.proof import Char, Line, _check_contents

    def line(text: str, right: float, baseline: float) -> Line:
        width = right - 45
        return Line(0, [Char(c, 45 + width * i / len(text), 45 + width * (i + 1) / len(text), baseline,
                             14.7, "EBGaramond") for i, c in enumerate(text)])

    found: list[str] = []
    lines = [line("Contents", 270, 600), line("The Forethought . . . . . . . .  ix", 387, 560),
             line("III: Of Mr. Booker T. Washington and", 304, 540),
             line("Others . . . . . . . . . . . . .  65", 387, 525)]
    _check_contents(lines, 6, lambda page, code, message, hint: found.append(code))
    assert found == []
    lines.append(line("IV: Of the Meaning of Progress . . .  95", 330, 505))
    _check_contents(lines, 6, lambda page, code, message, hint: found.append(code))
    assert found == ["contents-edge"]


def test_a_one_line_paragraph_that_fills_its_line_at_the_foot_is_no_orphan() -> None:
    # Holmes in Gentium Plus: "“Your own little income,” he asked, “does it come out of the
    # business?”" fills its line at the foot; the next page opens a paragraph of its own.
    from bookbuild.proof import Block, Char, Line, _check_page_ends

    def line(page: int, left: float, baseline: float, text: str = " ".join(["words"] * 12)) -> Line:
        width = (387.0 - left) / len(text)
        return Line(page, [Char(c, left + width * i, left + width * (i + 1), baseline, 14.7, "Gentium")
                           for i, c in enumerate(text)])

    block = Block(14.7, {0: 45.0, 1: 45.0}, {0: 387.0, 1: 387.0}, 600.0, 60.0, 15.18)
    foot = [line(0, 45.0, 600.0 - 15.18 * n) for n in range(20)] + [line(0, 61.0, 600.0 - 15.18 * 20)]
    found: dict[float, list[str]] = {}
    for opening in (61.0, 45.0):  # a new paragraph; the same one going on
        head = [line(1, opening, 600.0)] + [line(1, 45.0, 600.0 - 15.18 * n) for n in range(1, 20)]
        codes = found.setdefault(opening, [])
        _check_page_ends(0, [foot, head], block,
                         lambda where, code, message, hint, codes=codes: codes.append(code))
    assert found == {61.0: [], 45.0: ["orphan"]}


def test_justified_text_whose_sides_end_apart_is_not_ragged() -> None:
    # From 151 pages the gutter is wider than the outside margin: a recto's lines end 9 pt from
    # where a verso's do. Taken together, neither edge holds a fifth of the lines (fiction: three
    # in ten are full).
    from bookbuild.proof import Char, Line, _block

    def line(page: int, right: float, baseline: float) -> Line:
        return Line(page, [Char(c, 45 + (right - 45) * i / 30, 45 + (right - 45) * (i + 1) / 30, baseline,
                                14.7, "EBGaramond") for i, c in enumerate("x" * 30)])

    pages = [[line(page, (387.0 if page % 2 == 0 else 378.0) if n % 10 < 3 else 300.0 + n, 600 - 15.18 * n)
              for n in range(30)] for page in range(10)]
    block = _block(pages)
    assert block is not None and not block.ragged and block.right == {0: 387.0, 1: 378.0}
