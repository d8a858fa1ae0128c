"""Characters no font can draw are said before anything is written, in the EPUB-only build too;
the proof names characters the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ONE_CHAPTER_MANIFEST as MANIFEST
from conftest import run_bookbuild

from bookbuild import glyphs

LINEAR_A = "\U00010600\U00010601"  # a script no Debian font package carries


def test_undrawable_asks_every_font_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glyphs, "machine_coverage", lambda: (("Serif", ((0x20, 0x7E), (0xA0, 0x17F))),
                                                             ("Symbols", ((0x2200, 0x22FF),))))
    glyphs._merged_coverage.cache_clear()
    try:
        assert glyphs.undrawable("Café ⋮ 中文 a\u2060b\u00a0") == ["中", "文"]
    finally:
        glyphs._merged_coverage.cache_clear()


def test_the_package_named_follows_the_script() -> None:
    assert glyphs.package_for("中文") == "fonts-noto-cjk"
    assert glyphs.package_for("\U0001F600") == "fonts-noto-color-emoji"
    assert glyphs.package_for("ሰላም") == "fonts-noto-core"
    assert glyphs.code_points("abcdefgh", limit=2) == '"a" U+0061, "b" U+0062 (and 6 more)'


@pytest.mark.parametrize("fmt", ["epub", "all"])
def test_a_script_no_font_has_is_a_warning_with_its_line(tmp_path: Path, fmt: str) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(MANIFEST)
    (book / "one.md").write_text(f"# One\n\nPlain words.\n\nA tablet reads {LINEAR_A}.\n")
    result = run_bookbuild("build", book, "--out", tmp_path / "out", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        f'{book}/one.md:5: warning[glyph-missing]: no font on this machine can draw "\U00010600" U+10600, '
        '"\U00010601" U+10601: they would print as empty boxes (install a font that has them; on '
        "Debian: apt-get install fonts-noto-core)")
    strict = run_bookbuild("build", book, "--out", tmp_path / "strict", "--strict", "--format", fmt)
    assert strict.returncode == 2 and "error[glyph-missing]" in strict.stderr


def test_text_the_fonts_can_draw_gets_no_warning(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "book.toml").write_text(MANIFEST)
    (book / "one.md").write_text("# One\n\nCafé, naïve — “quoted” … 1⁄2.\n")
    result = run_bookbuild("build", book, "--out", tmp_path / "out", "--format", "epub")
    assert result.returncode == 0 and "glyph" not in result.stderr, result.stderr
