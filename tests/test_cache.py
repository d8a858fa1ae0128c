"""The no-op rebuild: nothing changed, nothing rebuilt, outputs untouched; any change rebuilds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import BOOKS, run_bookbuild


@pytest.fixture
def book(tmp_path: Path) -> Path:
    copy = tmp_path / "book"
    shutil.copytree(BOOKS / "features", copy)
    return copy


def snapshot(out: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in out.iterdir()
            if not p.name.startswith(".")}


def build(book: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> list[str]:
    result = run_bookbuild("build", book, "--out", out, "--format", "epub", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_unchanged_book_is_not_rebuilt(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = build(book, out)
    assert not first[0].endswith("unchanged")
    before = snapshot(out)
    second = build(book, out)
    assert second == [f"{out / 'a-book-of-features.epub'}  {first[0].split('  ')[1]}  unchanged"]
    assert snapshot(out) == before  # not even rewritten


@pytest.mark.parametrize("change", ["source", "image", "manifest", "output-edited", "output-deleted",
                                    "option", "epoch", "no-cache"])
def test_any_change_rebuilds(book: Path, tmp_path: Path, change: str) -> None:
    out = tmp_path / "out"
    build(book, out)
    extra: list[str] = []
    env = None
    epub = out / "a-book-of-features.epub"
    if change == "source":
        (book / "two.md").write_text((book / "two.md").read_text() + "\nOne more line.\n")
    elif change == "image":
        (book / "images" / "square.png").write_bytes((book / "images" / "square.png").read_bytes() + b"\0")
    elif change == "manifest":
        manifest = book / "book.toml"
        manifest.write_text(manifest.read_text().replace("toc_depth = 2", "toc_depth = 1"))
    elif change == "output-edited":
        epub.write_bytes(epub.read_bytes() + b"tampered")
    elif change == "output-deleted":
        epub.unlink()
    elif change == "option":
        extra = ["--strict"]
    elif change == "epoch":
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    elif change == "no-cache":
        extra = ["--no-cache"]
    lines = build(book, out, *extra, env=env)
    assert not lines[0].endswith("unchanged"), change
    assert epub.exists()


def test_links_and_pipes_in_the_book_folder_do_not_break_the_check(book: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone", book / "dangling")
    os.mkfifo(book / "pipe")
    out = tmp_path / "out"
    build(book, out)
    assert build(book, out)[0].endswith("unchanged")
