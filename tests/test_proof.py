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


def proof_codes(tmp_path: Path, body: str, css: str | None = None) -> tuple[list[str], str]:
    book = make_book(tmp_path, body, css)
    built = build_book(book, tmp_path / "out", "--format", "pdf")
    result = run_bookbuild("preflight", built.pdf)
    assert result.returncode == 0, result.stdout + result.stderr
    codes = [line.partition("warning[")[2].partition("]")[0] for line in result.stdout.splitlines()
             if "warning[proof-" in line]
    return codes, result.stdout


def test_a_glyph_from_another_font_is_named(tmp_path: Path) -> None:
    codes, out = proof_codes(tmp_path / "a", f"{TEXT}A vertical ellipsis ⋮ between the lines.")
    assert "proof-glyph" in codes
    assert 'is drawn from DejaVu' in out and '("⋮" U+22EE)' in out
    clean, _ = proof_codes(tmp_path / "b", f"{TEXT}An ordinary ellipsis … between the lines.")
    assert "proof-glyph" not in clean


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
    codes, out = proof_codes(tmp_path / "a", "\n\n".join([PREFIXED * 3] * 3), unbidden)
    assert {"proof-hyphen-fragment", "proof-hyphen-run", "proof-loose"} <= set(codes)
    assert 'a hyphen leaves "de" (2 letters) in "de‐cided"' in out
    clean, out = proof_codes(tmp_path / "b", "\n\n".join([PREFIXED * 3] * 3))
    # bookbuild's own hyphenation leaves no short fragment and no run (loose lines: not yet).
    assert not {"proof-hyphen-fragment", "proof-hyphen-run"} & set(clean), out
    assert "lines end in a hyphen" in out


def test_strict_makes_proof_warnings_count(tmp_path: Path) -> None:
    book = make_book(tmp_path, f"{TEXT}A vertical ellipsis ⋮ between the lines.")
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
