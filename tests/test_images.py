"""Image files as they really are: a name that lies about the format, a truncated file, and SVG
that would run code, expand entities or load files, each an error before any output is written."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from conftest import ONE_CHAPTER_MANIFEST as MANIFEST
from conftest import run_bookbuild
from PIL import Image

from bookbuild.images import image_problems


def png(size: tuple[int, int] = (20, 20), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, fmt)
    return buffer.getvalue()


def codes(tmp_path: Path, name: str, data: bytes) -> list[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return [p.code for p in image_problems(name, path)]


def test_a_sound_image_has_no_problem(tmp_path: Path) -> None:
    assert codes(tmp_path, "a.png", png()) == []
    assert codes(tmp_path, "a.jpg", png(fmt="JPEG")) == []


def test_a_gif_named_png_is_said_to_be_a_gif(tmp_path: Path) -> None:
    path = tmp_path / "map.png"
    path.write_bytes(png(fmt="GIF"))
    [problem] = image_problems("map.png", path)
    assert problem.code == "image-type" and "GIF" in problem.message and ".gif" in problem.hint


def test_an_svg_named_png_is_not_an_image_bookbuild_reads(tmp_path: Path) -> None:
    assert codes(tmp_path, "a.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>') == ["image-format"]


def test_a_truncated_jpeg_is_damaged(tmp_path: Path) -> None:
    whole = png((400, 300), "JPEG")
    assert codes(tmp_path, "cut.jpg", whole[: len(whole) // 2]) == ["image-broken"]


SVG = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
       'viewBox="0 0 9 9">{}</svg>')


@pytest.mark.parametrize(("inside", "code"), [
    ("<script>alert(1)</script>", "svg-script"),
    ('<rect width="9" height="9" onload="alert(1)"/>', "svg-script"),
    ('<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p></foreignObject>', "svg-script"),
    ('<image href="file:///etc/passwd" width="9" height="9"/>', "svg-href"),
    ('<image xlink:href="https://example.org/x.png" width="9" height="9"/>', "svg-href"),
    ('<use href="other.svg#a"/>', "svg-href"),
    ("<style>rect { fill: url(https://example.org/p.svg#g) }</style>", "svg-href"),
    ('<rect style="fill: url(\'\\68ttp://example.org/g\')" width="1" height="1"/>', "svg-href"),
    ('<rect fill="url(https://example.org/p.svg#g)" width="1" height="1"/>', "svg-href"),
])
def test_an_svg_that_runs_or_loads_something_is_refused(tmp_path: Path, inside: str, code: str) -> None:
    assert code in codes(tmp_path, "d.svg", SVG.format(inside).encode())


def test_an_svg_stylesheet_instruction_before_the_drawing_is_refused(tmp_path: Path) -> None:
    drawing = '<?xml version="1.0"?>\n<?xml-stylesheet href="file:///etc/x.css"?>\n' + SVG.format("")
    assert codes(tmp_path, "d.svg", drawing.encode()) == ["svg-href"]


def test_an_svg_drawing_with_its_own_references_passes(tmp_path: Path) -> None:
    drawing = SVG.format('<defs><circle id="c" r="2"/></defs><use href="#c" x="3" y="3"/>'
                         '<image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>')
    assert codes(tmp_path, "d.svg", drawing.encode()) == []


def test_entities_are_refused_and_never_expanded(tmp_path: Path) -> None:
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY a "lol">\n'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9))
              + ']>\n<svg xmlns="http://www.w3.org/2000/svg"><text>&j;</text></svg>')
    external = ('<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')
    utf16 = external.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    started = time.monotonic()
    assert "svg-entity" in codes(tmp_path, "laughs.svg", laughs.encode())
    assert "svg-entity" in codes(tmp_path, "xxe.svg", external.encode())
    assert "svg-entity" in codes(tmp_path, "xxe16.svg", utf16)  # the bytes hide "<!ENTITY"
    assert time.monotonic() - started < 5  # a billion laughs were not expanded


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (the kept layouts too), by its path in it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_lying_image_stops_the_build_before_any_output(tmp_path: Path) -> None:
    book = tmp_path / "book"
    (book / "images").mkdir(parents=True)
    (book / "book.toml").write_text(MANIFEST)
    (book / "one.md").write_text("# One\n\n![A map](images/map.png)\n")
    (book / "images" / "map.png").write_bytes(png())
    out = tmp_path / "out"
    assert run_bookbuild("build", book, "--out", out).returncode == 0
    before = files(out)
    (book / "images" / "map.png").write_bytes(png(fmt="GIF"))  # the next edition's "PNG"
    result = run_bookbuild("build", book, "--out", out)
    assert result.returncode == 2
    assert result.stderr == (f'{book}/one.md:3:10: error[image-type]: "images/map.png" is a GIF file, '
                             "but its name says PNG (rename it to end in .gif, or convert it)\n")
    assert files(out) == before  # outputs and kept layouts as they were, nothing left
