"""Chapter labels and first lines ([design]): numbers in words, roman or arabic, the label's
pattern, which sections are numbered, and the drop cap's span."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BOOKS

from bookbuild.headings import (
    chapter_labels,
    check_pattern,
    first_line_sections,
    label,
    mark_opening,
    roman,
    words_language,
)
from bookbuild.loader import load
from bookbuild.model import DesignOptions
from bookbuild.parse import parse_book


@pytest.mark.parametrize(("number", "numbering", "language", "expected"), [
    (2, "words", "en", "Chapter Two"), (21, "words", "en-GB", "Chapter Twenty-one"),
    (3, "words", "fr", "Chapter Trois"), (14, "roman", "en", "Chapter XIV"),
    (1994, "roman", "en", "Chapter MCMXCIV"), (7, "arabic", "en", "Chapter 7"),
])
def test_a_label_writes_the_number_as_asked(number: int, numbering: str, language: str,
                                            expected: str) -> None:
    assert label("Chapter {N}", number, numbering, language) == expected


def test_lower_case_numbers_and_languages_without_words() -> None:
    assert label("{n}.", 4, "roman", "en") == "iv."
    assert label("— {n} —", 3, "words", "de") == "— drei —"
    assert roman(49) == "xlix"
    assert words_language("pt-BR") == "pt_BR" and words_language("en-US") == "en"
    assert words_language("tlh") is None


def test_a_pattern_names_the_number_and_nothing_else() -> None:
    assert check_pattern("Chapter {N}") is None and check_pattern("{n}") is None
    assert check_pattern("Chapter") == ('chapter_label "Chapter" has no number: put {n} or {N} '
                                        'in it (e.g. "Chapter {N}")')
    assert check_pattern("{N} of {total}") == 'chapter_label "{N} of {total}" has braces other ' \
                                              "than {n} and {N}"


def test_only_chapters_are_numbered_through_the_parts() -> None:
    manuscript, _ = parse_book(load(BOOKS / "structures"))
    design = DesignOptions(chapter_label="Chapter {n}")
    labels = chapter_labels(manuscript.chapters, design, "en")
    kinds = {chapter.id: chapter.kind for chapter in manuscript.chapters}
    assert list(labels.values()) == ["Chapter 1", "Chapter 2", "Chapter 3"]
    assert {kinds[chapter] for chapter in labels} == {"chapter"}
    assert chapter_labels(manuscript.chapters, DesignOptions(), "en") == {}
    firsts = first_line_sections(manuscript.chapters, DesignOptions(first_line="small-caps"))
    assert {kinds[section] for section in firsts} == {"acknowledgments", "chapter", "afterword",
                                                       "about-the-author"}


DROP = '<p class="first-line-drop-cap">'


@pytest.mark.parametrize(("markup", "expected"), [
    ("<p>When it began.</p>", f'{DROP}<span class="drop-cap">W</span>hen it began.</p>'),
    ("<p>“Quoted,” it opens.</p>", f'{DROP}<span class="drop-cap">“Q</span>uoted,” it opens.</p>'),
    ('<blockquote class="epigraph"><p>Said.</p></blockquote>\n<p>After.</p>',
     '<blockquote class="epigraph"><p>Said.</p></blockquote>\n'
     f'{DROP}<span class="drop-cap">A</span>fter.</p>'),
    ("<p><em>Italic</em> first.</p>", "<p><em>Italic</em> first.</p>"),  # (left as it is)
    ("<p>1984 began.</p>", "<p>1984 began.</p>"),  # (a digit is no drop cap)
    ("<ul><li>A list first.</li></ul>", "<ul><li>A list first.</li></ul>"),
])
def test_the_drop_cap_is_the_first_letter_of_the_first_paragraph(markup: str, expected: str
                                                                  ) -> None:
    assert mark_opening(markup, "drop-cap", in_print=True) == expected
    # The EPUB marks the same paragraph, and leaves the letter to ::first-letter.
    assert mark_opening(markup, "drop-cap", in_print=False) == expected.replace(
        '<span class="drop-cap">', "").replace("</span>", "", 1)


def test_small_caps_mark_the_first_paragraph_whatever_it_opens_with() -> None:
    assert mark_opening("<p><em>Italic</em> first.</p>", "small-caps", in_print=True) == \
        '<p class="first-line-small-caps"><em>Italic</em> first.</p>'


def test_numbering_in_words_needs_words_for_the_language(tmp_path: Path) -> None:
    from bookbuild.diagnostics import BookError
    from bookbuild.manifest import read_manifest

    (tmp_path / "book.toml").write_text(
        '[book]\ntitle = "T"\nlanguage = "tlh"\ndate = "2024-01-01"\n\n[[contents]]\nfile = "a.md"\n'
        '\n[design]\nchapter_label = "{N}"\nnumbering = "words"\nfirst_line = "fancy"\n',
        encoding="utf-8")
    with pytest.raises(BookError) as caught:
        read_manifest(tmp_path)
    assert [str(d).replace(str(tmp_path), "BOOK") for d in caught.value.diagnostics] == [
        'BOOK/book.toml:12: error[manifest]: "design.first_line": unknown first_line "fancy" '
        "(use none, small-caps, drop-cap)",
        'BOOK/book.toml:11: error[manifest]: numbering = "words" has no words for the language '
        '"tlh" (use "arabic" or "roman")',
    ]
