"""Broken and hostile books: one clear line per problem, exit 2, no traceback, and the output
folder exactly as it was. Each case is a folder in books/errors/ with the stderr it must give
(expected.txt, paths as seen from the case's folder) and its exit code (exit-code)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from conftest import BOOKS, Built, run_bookbuild

CASES = sorted(p for p in (BOOKS / "errors").iterdir() if p.is_dir())


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def filled_out(tmp_path: Path, features: Built) -> Path:
    """An output folder holding a good earlier build, also under the failing book's names."""
    out = tmp_path / "out"
    shutil.copytree(features.out, out)
    shutil.copy(features.epub, out / "case.epub")
    shutil.copy(features.pdf, out / "case.pdf")
    return out


def run_case(book: Path, out: Path, *extra: str):
    return run_bookbuild("build", ".", "--out", out, *extra, cwd=book)


def test_there_are_at_least_30_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path, filled_out: Path) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8")
    code = int((case / "exit-code").read_text())
    before = tree_hashes(filled_out)
    result = run_case(case, filled_out)
    assert result.stderr == expected
    assert result.returncode == code
    assert "Traceback" not in result.stderr
    after = tree_hashes(filled_out)
    if code == 2:
        assert after == before  # earlier outputs intact, no new or partial files
    else:  # warnings still build: this book's outputs are new
        for name in ("case.epub", "case.pdf"):
            assert after[name] != before[name], name
        assert "case-cover.pdf" in after and "case-cover.pdf" not in before


@pytest.mark.parametrize("case", ["template-undefined", "note-undefined"])
def test_a_failed_first_build_creates_no_folder(case: str, tmp_path: Path) -> None:
    result = run_case(BOOKS / "errors" / case, tmp_path / "new" / "out")
    assert result.returncode == 2
    assert not (tmp_path / "new").exists()


def test_strict_turns_warnings_into_errors(filled_out: Path) -> None:
    case = BOOKS / "errors" / "note-unused"
    before = tree_hashes(filled_out)
    result = run_case(case, filled_out, "--strict")
    assert result.returncode == 2
    assert result.stderr == (
        'one.md:5: error[note-unused]: note [^spare] is defined but never used '
        '(refer to it with "[^spare]" in the text, or remove it)\n')
    assert tree_hashes(filled_out) == before


def copy_good(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "errors" / "note-unused", book)
    (book / "one.md").write_text("# One\n\nA good chapter.\n")
    return book


def test_symbolic_link_pointing_outside(tmp_path: Path, filled_out: Path) -> None:
    book = copy_good(tmp_path)
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n")
    (book / "one.md").unlink()
    os.symlink(secret, book / "one.md")
    before = tree_hashes(filled_out)
    result = run_case(book, filled_out)
    assert result.returncode == 2
    assert result.stderr == ('book.toml:7: error[path-outside]: "one.md" is a link that points outside '
                             "the book folder (keep every file of the book inside its folder)\n")
    assert tree_hashes(filled_out) == before


def test_file_over_20_mb(tmp_path: Path, filled_out: Path) -> None:
    book = copy_good(tmp_path)
    with (book / "one.md").open("a") as handle:
        handle.write(("word " * 200 + "\n\n") * 21_000)
    before = tree_hashes(filled_out)
    result = run_case(book, filled_out)
    assert result.returncode == 2
    assert result.stderr == ("one.md: error[file-too-large]: the file is 20.1 MB; the limit is 20 MB "
                             "(split it into several sections)\n")
    assert tree_hashes(filled_out) == before


def test_empty_folder(tmp_path: Path, filled_out: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_case(empty, filled_out)
    assert result.returncode == 2
    assert result.stderr == ("book.toml: error[no-manifest]: the book folder has no book.toml "
                             "(every book needs a manifest; see README.md, 'The manifest')\n")


def test_missing_book_folder(tmp_path: Path) -> None:
    result = run_bookbuild("build", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.endswith("nowhere: error[no-book]: no such book folder "
                                  "(give the folder that holds book.toml, or create one with "
                                  "'bookbuild new')\n")
    assert not (tmp_path / "out").exists()


def test_output_below_a_regular_file(tmp_path: Path) -> None:
    book = copy_good(tmp_path)
    (tmp_path / "plain").write_text("a file, not a folder")
    result = run_case(book, tmp_path / "plain" / "out")
    assert result.returncode == 2
    assert result.stderr == (f"{tmp_path / 'plain' / 'out'}: error[output]: cannot write here: "
                             f"{tmp_path / 'plain'} is a file (choose another --out folder)\n")


def test_a_pipe_as_a_chapter_is_refused_without_waiting(tmp_path: Path, filled_out: Path) -> None:
    book = copy_good(tmp_path)
    (book / "one.md").unlink()
    os.mkfifo(book / "one.md")
    before = tree_hashes(filled_out)
    result = run_case(book, filled_out)
    assert result.returncode == 2
    assert result.stderr == ('book.toml:7: error[not-a-file]: "one.md" is not a regular file '
                             "(give a file of the book, not a pipe or a device)\n")
    assert tree_hashes(filled_out) == before


def test_unexpected_build_state_is_treated_as_none(tmp_path: Path) -> None:
    book = copy_good(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".bookbuild-state.json").write_text('{"pages": [1, 2], "images": {"case": [["x", "y", 3]]}}')
    result = run_bookbuild("build", book, "--out", out, "--format", "pdf")
    assert result.returncode == 0, result.stderr
    assert (out / "case.pdf").exists()


def test_the_current_folder_is_the_book_when_it_holds_one(tmp_path: Path) -> None:
    book = copy_good(tmp_path)
    first = run_bookbuild("build", "--format", "epub", cwd=book)
    assert first.returncode == 0, first.stderr
    assert (book / "build" / "case.epub").exists()
    again = run_bookbuild("build", "--format", "epub", cwd=book)
    assert again.stdout.strip().endswith("unchanged"), again.stdout  # build/ is not an input


@pytest.mark.parametrize(("nesting", "line"), [
    ("> " * 150 + "deep\n", 3),
    ("".join("    " * i + "- item\n" for i in range(500)), 502),
    ("<div>" * 5000 + "x" + "</div>" * 5000 + "\n", 3),
])
def test_nesting_too_deep_is_a_diagnostic_and_keeps_the_outputs(tmp_path: Path, filled_out: Path,
                                                                 nesting: str, line: int) -> None:
    book = copy_good(tmp_path)
    (book / "one.md").write_text("# One\n\n" + nesting)
    before = tree_hashes(filled_out)
    result = run_case(book, filled_out)
    assert result.returncode == 2
    assert result.stderr == (f"one.md:{line}: error[nesting-too-deep]: block quotes, lists or HTML "
                             "elements are nested more than 60 levels deep (no book nests that deep: "
                             "close the quotes, lists or <div>s sooner)\n")
    assert tree_hashes(filled_out) == before


def test_a_manifest_linked_from_outside_is_refused(tmp_path: Path) -> None:
    book = copy_good(tmp_path)
    outside = tmp_path / "elsewhere.toml"
    (book / "book.toml").rename(outside)
    os.symlink(outside, book / "book.toml")
    result = run_case(book, tmp_path / "out")
    assert result.returncode == 2
    # (a link is shown with its full path: relative to here it would name the file it points to)
    assert result.stderr == (f"{book}/book.toml: error[path-outside]: book.toml is a link that points "
                             "outside the book folder (keep every file of the book inside its folder)\n")


def test_a_templates_folder_linked_from_outside_is_refused(tmp_path: Path) -> None:
    book = copy_good(tmp_path)
    (tmp_path / "their-templates" / "epub").mkdir(parents=True)
    (tmp_path / "their-templates" / "epub" / "section.xhtml.j2").write_text("SECRET-TEMPLATE")
    os.symlink(tmp_path / "their-templates", book / "templates")
    result = run_case(book, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.startswith(f"{book}/templates: error[template-outside]: the templates folder "
                                    "is a link")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out", ["d" * 300, "/proc/no-such/place"])
def test_an_output_folder_the_system_refuses_is_bad_input(tmp_path: Path, out: str) -> None:
    result = run_case(copy_good(tmp_path), Path(out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "error[file-system]" in result.stderr
    assert "internal error" not in result.stderr


def test_an_unchanged_build_removes_what_a_killed_build_left(tmp_path: Path) -> None:
    book = copy_good(tmp_path)
    out = tmp_path / "out"
    assert run_case(book, out).returncode == 0
    stale = out / ".bookbuild-x1y2z3-case.epub.part"  # as kill -9 leaves it
    stale.write_bytes(b"half an EPUB")
    result = run_case(book, out)
    assert result.returncode == 0 and "unchanged" in result.stdout
    assert not stale.exists()
