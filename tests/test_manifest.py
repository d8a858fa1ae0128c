"""book.toml validation: exact messages, exact lines, all problems at once."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from bookbuild.diagnostics import BookError
from bookbuild.loader import load
from bookbuild.manifest import check_isbn, parse_trim, read_manifest, slugify
from bookbuild.resources import FontFace, FontSet

GOOD = """\
[book]
title = "A Title"
language = "en"
date = "2024-05-01"

[[contents]]
file = "one.md"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "book.toml").write_text(text, encoding="utf-8")
    return tmp_path


def messages(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(BookError) as caught:
        read_manifest(write(tmp_path, text))
    return [str(d).replace(str(tmp_path), "BOOK") for d in caught.value.diagnostics]


def test_good_manifest_gives_metadata_and_contents(tmp_path: Path) -> None:
    manifest = read_manifest(write(tmp_path, GOOD))
    assert manifest.meta.title == "A Title"
    assert manifest.meta.slug == "a-title"
    assert manifest.meta.edition == 1
    assert manifest.meta.identifier.startswith("urn:uuid:")
    assert [(e.file, e.kind, e.line) for e in manifest.contents] == [("one.md", "chapter", 7)]
    assert manifest.pdf.trim == "6x9" and (manifest.pdf.width_pt, manifest.pdf.height_pt) == (432, 648)


def test_identifier_default_is_stable(tmp_path: Path) -> None:
    first = read_manifest(write(tmp_path, GOOD)).meta.identifier
    assert read_manifest(write(tmp_path, GOOD)).meta.identifier == first


def test_unknown_key_names_file_key_and_line(tmp_path: Path) -> None:
    text = GOOD.replace('language = "en"', 'language = "en"\ntitel = "typo"')
    assert messages(tmp_path, text) == [
        'BOOK/book.toml:4: error[manifest]: unknown key "titel" in book (known keys: title, '
        "subtitle, slug, language, identifier, date, description, rights, publisher, edition, "
        "isbn_epub, isbn_print, contributors, output_name)"
    ]


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    text = """\
[book]
language = "english language"
edition = "two"
date = "2024-01-01"

[[contents]]
file = "one.md"
kind = "chapterr"
"""
    assert messages(tmp_path, text) == [
        'BOOK/book.toml:2: error[manifest]: "book.language": "english language" is not a BCP 47 '
        'language tag (for example "en", "en-GB", "de")',
        'BOOK/book.toml:3: error[manifest]: "book.edition" must be a whole number, not a string',
        'BOOK/book.toml:1: error[manifest]: book is missing the required key "title"',
        'BOOK/book.toml:8: error[manifest]: "contents[0].kind": unknown kind "chapterr" (use one of '
        "dedication, epigraph, foreword, preface, acknowledgments, introduction, prologue, part, "
        "chapter, epilogue, afterword, conclusion, appendix, about-the-author)",
    ]


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    assert messages(tmp_path, '[book]\ntitle = "unclosed\n') == [
        "BOOK/book.toml:2:18: error[toml]: TOML syntax error: a string is not closed before the "
        "end of the line"
    ]


def test_missing_contents_and_empty_contents(tmp_path: Path) -> None:
    assert messages(tmp_path, '[book]\ntitle = "T"\ndate = "2024-01-01"\n') == [
        'BOOK/book.toml: error[manifest]: the manifest is missing the required key "contents"'
    ]
    assert messages(tmp_path, 'contents = []\n[book]\ntitle = "T"\ndate = "2024-01-01"\n') == [
        "BOOK/book.toml:1: error[manifest]: the contents list is empty "
        '(add at least one [[contents]] entry with file = "chapter.md")'
    ]


def test_same_file_twice(tmp_path: Path) -> None:
    text = GOOD + '\n[[contents]]\nfile = "one.md"\n'
    assert messages(tmp_path, text) == [
        'BOOK/book.toml:10: error[manifest]: "one.md" is listed twice in the contents '
        "(it is already entry 1)"
    ]


def test_an_empty_file_name(tmp_path: Path) -> None:
    assert messages(tmp_path, GOOD.replace('file = "one.md"', 'file = "  "')) == [
        'BOOK/book.toml:7: error[manifest]: the file name is empty (name the Markdown file, e.g. '
        'file = "chapter-1.md")'
    ]


def test_date_trim_and_isbn_are_checked(tmp_path: Path) -> None:
    text = GOOD.replace('date = "2024-05-01"', 'date = "May 2024"\nisbn_print = "978-0-306-40615-6"')
    text += '\n[pdf]\ntrim = "6x10"\n'
    assert messages(tmp_path, text) == [
        'BOOK/book.toml:4: error[manifest]: "book.date": "May 2024" is not a date (write it as YYYY-MM-DD)',
        'BOOK/book.toml:5: error[manifest]: "book.isbn_print": "978-0-306-40615-6" is not a valid '
        "ISBN: its check digit is wrong",
        'BOOK/book.toml:11: error[manifest]: "pdf.trim": unknown trim size "6x10" (use one of 5x8, '
        '5.25x8, 5.5x8.5, 6x9, 6.14x9.21, 7x10, 8.5x11, a5, or "WIDTHxHEIGHT" with in, mm or cm)',
    ]


def test_isbn_checksums() -> None:
    assert check_isbn("978-0-306-40615-7") is None
    assert check_isbn("0-306-40615-2") is None
    assert "check digit" in (check_isbn("0-306-40615-3") or "")
    assert "not an ISBN" in (check_isbn("12345") or "")


def test_trim_sizes() -> None:
    assert parse_trim("5.5x8.5") == (396, 612)
    assert parse_trim("148mm x 210mm") == pytest.approx((419.53, 595.28), abs=0.01)
    assert parse_trim("6x9in") == (432, 648)
    assert parse_trim("6x10") is None


def test_slugify() -> None:
    assert slugify("The Dissolution of the Soviet Union") == "the-dissolution-of-the-soviet-union"
    assert slugify("Gorbachev’s “perestroika”") == "gorbachevs-perestroika"


def test_missing_book_folder_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(BookError, match="no such book folder"):
        read_manifest(tmp_path / "nowhere")
    with pytest.raises(BookError, match=r"has no book\.toml"):
        read_manifest(tmp_path)


def test_openings_are_checked(tmp_path: Path) -> None:
    found = messages(tmp_path, GOOD.replace('file = "one.md"', 'file = "one.md"\nopening = "left"')
                     + '\n[[contents]]\nfile = "p.md"\nkind = "part"\nopening = "continuous"\n'
                     + '\n[pdf.openings]\ndedication = "continuous"\nchapters = "any"\n')
    assert found == [
        'BOOK/book.toml:8: error[manifest]: "contents[0].opening": unknown opening "left" '
        '(use right, any, continuous)',
        'BOOK/book.toml:13: error[manifest]: "p.md" cannot run on: a part has a page of its own '
        '(use "right" or "any")',
        'BOOK/book.toml:15: error[manifest]: "pdf.openings": dedication cannot be "continuous": a '
        'dedication has a page of its own (use "right" or "any"); unknown key "chapters" (use '
        '"default", "notes" or a kind: dedication, epigraph, foreword, preface, '
        'acknowledgments, introduction, prologue, part, chapter, epilogue, afterword, '
        'conclusion, appendix, about-the-author)',
    ]
    assert messages(tmp_path, GOOD + '\n[pdf]\nopenings = 3\n') == [
        'BOOK/book.toml:10: error[manifest]: "pdf.openings" must be a string or a table, not a '
        "whole number"]


def test_where_each_section_opens(tmp_path: Path) -> None:
    """The entry's own opening, else its kind's, else the book's; the body's first section
    opens on a recto whatever it asks, and a section that has a page of its own (a part),
    follows one, or follows the contents, starts a page."""
    entries = [("ded", "dedication", None), ("pre", "preface", None), ("ack", "acknowledgments", None),
               ("one", "chapter", "any"), ("two", "chapter", None), ("p", "part", None),
               ("three", "chapter", "right"), ("q", "part", None), ("four", "chapter", None),
               ("app", "appendix", None)]
    text = GOOD.replace('[[contents]]\nfile = "one.md"\n', "")
    for name, kind, opening in entries:
        (tmp_path / f"{name}.md").write_text(f"# {name.title()}\n\nText.\n", encoding="utf-8")
        text += f'\n[[contents]]\nfile = "{name}.md"\nkind = "{kind}"\n'
        text += f'opening = "{opening}"\n' if opening else ""
    text += '\n[pdf.openings]\ndefault = "continuous"\nappendix = "any"\n'
    book = load(write(tmp_path, text))
    assert [(s.id, s.opening) for s in book.sections] == [
        ("ded", "any"), ("pre", "any"), ("ack", "continuous"), ("one", "right"),
        ("two", "continuous"), ("p", "any"), ("three", "right"), ("q", "any"),
        ("four", "any"),  # (after a part's title page: a page of its own)
        ("app", "any")]
    assert book.pdf.openings == (("appendix", "any"), ("default", "continuous"))


def test_the_design_typeface_size_leading_and_theme_are_checked(tmp_path: Path) -> None:
    found = messages(tmp_path, GOOD + '\n[design]\ntypeface = "Comic Sans"\nsize = 30\nleading = 3\n'
                     'theme = "gothic"\n')
    assert found == [
        'BOOK/book.toml:10: error[manifest]: "design.typeface": unknown typeface "Comic Sans" (use one '
        "of EB Garamond, Linux Libertine O, Gentium Plus, Noto Serif, TeX Gyre Pagella, TeX Gyre Termes)",
        'BOOK/book.toml:11: error[manifest]: "design.size": 30 pt is not a text size for a book (give 9 '
        "to 20)",
        'BOOK/book.toml:12: error[manifest]: "design.leading": 3 is not a leading for a book (give 1.2 '
        "to 2 times the size)",
        'BOOK/book.toml:13: error[manifest]: "design.theme": unknown theme "gothic" (use classic, '
        "modern, plain)",
    ]
    assert messages(tmp_path, GOOD + '\n[design]\nsize = "huge"\nleading = "wide"\n') == [
        'BOOK/book.toml:10: error[manifest]: "design.size": unknown size "huge" (give points, or '
        '"large-print")',
        'BOOK/book.toml:11: error[manifest]: "design.leading" must be a number, not a string',
    ]


def test_large_print_is_16_points_with_its_own_leading(tmp_path: Path) -> None:
    design = read_manifest(write(tmp_path, GOOD + '\n[design]\nsize = "large-print"\n')).design
    assert (design.size, design.leading, design.large_print) == (16.0, 1.5, True)
    design = read_manifest(write(tmp_path, GOOD + "\n[design]\nsize = 18\nleading = 1.6\n")).design
    assert (design.size, design.leading, design.large_print) == (18.0, 1.6, True)
    design = read_manifest(write(tmp_path, GOOD + "\n[design]\nsize = 12.5\n")).design
    assert (design.size, design.leading, design.large_print) == (12.5, 1.38, False)
    assert (design.typeface, design.theme) == ("EB Garamond", "classic")


def _installed(family: str) -> FontSet:
    """A typeface as if installed (the test machine has EB Garamond and Libertine only)."""
    return FontSet(family, (FontFace(family, "normal", 400, Path("/fonts/x.otf")),), None)


def test_a_typeface_the_machine_lacks_names_its_package(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("# One\n\nText.\n", encoding="utf-8")
    write(tmp_path, GOOD + '\n[design]\ntypeface = "Gentium Plus"\n')
    with mock.patch("bookbuild.loader.book_fonts", lambda family: FontSet(family, (), None)):
        problems = load(tmp_path).problems  # (reported with the sections' own: parse_book)
    assert [str(d).replace(str(tmp_path), "BOOK") for d in problems] == [
        "BOOK/book.toml:10: error[typeface-missing]: the typeface Gentium Plus is not installed on "
        "this machine (install it: apt-get install fonts-sil-gentiumplus on Debian; or choose another)"]
    with mock.patch("bookbuild.loader.book_fonts", _installed):
        assert load(tmp_path).problems == ()


def test_the_epub_embeds_only_faces_under_the_ofl(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("# One\n\nText.\n", encoding="utf-8")
    write(tmp_path, GOOD + '\n[design]\ntypeface = "TeX Gyre Pagella"\n')
    with mock.patch("bookbuild.loader.book_fonts", _installed):
        problems = load(tmp_path).problems
    assert [str(d).replace(str(tmp_path), "BOOK") for d in problems] == [
        "BOOK/book.toml:10: error[typeface-licence]: TeX Gyre Pagella is under the GUST Font License, "
        "and the EPUB embeds only faces under the SIL Open Font License (choose an OFL face, EB "
        "Garamond or Linux Libertine O or Gentium Plus or Noto Serif; or set embed_fonts = false in "
        "[epub] to leave the EPUB's face to the reader)"]
    write(tmp_path, GOOD + '\n[epub]\nembed_fonts = false\n\n[design]\ntypeface = "TeX Gyre Pagella"\n')
    with mock.patch("bookbuild.loader.book_fonts", _installed):
        assert load(tmp_path).problems == ()
