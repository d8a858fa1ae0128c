"""Two builds of the same sources are byte-identical, whatever the clock and the time zone."""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from pathlib import Path

from conftest import BOOKS, run_bookbuild
from pypdf import PdfReader


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(out: Path, tz: str, epoch: str | None = None) -> list[Path]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["TZ"] = tz
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    # run_bookbuild merges into os.environ, so pass the whole environment through it.
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        result = run_bookbuild("build", BOOKS / "features", "--out", out)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert result.returncode == 0, result.stderr
    return sorted(path for path in out.iterdir() if path.is_file())  # (not the layouts kept)


def test_builds_in_two_time_zones_seconds_apart_are_identical(tmp_path: Path) -> None:
    first = build(tmp_path / "utc", "UTC")
    time.sleep(2.5)  # zip times have a 2-second grain: two quick builds could match by luck
    second = build(tmp_path / "ny", "America/New_York")
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert sha(a) == sha(b), a.name
    epub = next(p for p in first if p.suffix == ".epub")
    # Without SOURCE_DATE_EPOCH every entry carries the manifest's date, at midnight UTC.
    assert {info.date_time for info in zipfile.ZipFile(epub).infolist()} == {(2025, 3, 14, 0, 0, 0)}


def test_source_date_epoch_sets_every_date(tmp_path: Path) -> None:
    outputs = build(tmp_path / "epoch", "Asia/Tokyo", epoch="1700000000")
    epub = next(p for p in outputs if p.suffix == ".epub")
    archive = zipfile.ZipFile(epub)
    assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    opf = archive.read("EPUB/content.opf").decode()
    assert '<meta property="dcterms:modified">2023-11-14T22:13:20Z</meta>' in opf
    info = PdfReader(next(p for p in outputs if p.suffix == ".pdf")).metadata
    assert info["/CreationDate"].startswith("D:20231114221320")
    assert info["/ModDate"].startswith("D:20231114221320")


def test_a_book_dated_before_1980_builds(tmp_path: Path) -> None:
    """Zip cannot store dates before 1980: the entries get 1980-01-01, the metadata the real date."""
    book = tmp_path / "book"
    import shutil

    shutil.copytree(BOOKS / "features", book)
    manifest = book / "book.toml"
    manifest.write_text(manifest.read_text().replace('date = "2025-03-14"', 'date = "1917-11-07"'))
    result = run_bookbuild("build", book, "--out", tmp_path / "out", "--format", "epub")
    assert result.returncode == 0, result.stderr
    epub = tmp_path / "out" / "a-book-of-features.epub"
    archive = zipfile.ZipFile(epub)
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert '<meta property="dcterms:modified">1917-11-07T00:00:00Z</meta>' in \
        archive.read("EPUB/content.opf").decode()
