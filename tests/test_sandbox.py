"""No network, no escape: the layout may read only the book and bookbuild's own files, and an
interrupted build leaves the earlier outputs exactly as they were."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import BOOKS, ROOT, build_book, run_bookbuild

from bookbuild.diagnostics import BookError
from bookbuild.pipeline import prepare
from bookbuild.render import render_print
from bookbuild.resources import book_fonts
from bookbuild.writers.pdf import layout

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


class Listener:
    """A local HTTP server that counts every connection made to it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(b"\x89PNG\r\n\x1a\n")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    server = Listener()
    # The listener really answers: a build that reached it would be seen.
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/probe.png", timeout=5) as response:
        assert response.status == 200
    assert server.requests == ["/probe.png"]
    server.requests.clear()
    yield server
    server.close()


def test_layout_refuses_the_network_even_past_every_check(listener: Listener) -> None:
    """Feed the layout a document no earlier check has seen: the url_fetcher alone must stop it."""
    manuscript, _ = prepare(BOOKS / "features")
    document = render_print(manuscript, book_fonts(), "2025-01-01T00:00:00Z")
    url = f"http://127.0.0.1:{listener.port}/x.png"
    hostile = document.html.replace(
        "</body>", f'<p style="background: url({url})">x</p><img alt="x" src="{url}"/></body>')
    with pytest.raises(BookError) as caught:
        layout(replace(document, html=hostile), band=0)
    assert str(caught.value).endswith(
        f'error[resource-refused]: the book refers to "{url}": a book may not load anything from '
        "the network (keep every image, font and stylesheet inside the book folder)")
    assert listener.requests == []


def test_layout_refuses_files_outside_the_book(tmp_path: Path) -> None:
    manuscript, _ = prepare(BOOKS / "features")
    document = render_print(manuscript, book_fonts(), "2025-01-01T00:00:00Z")
    outside = tmp_path / "outside.png"
    shutil.copy(BOOKS / "features" / "images" / "square.png", outside)
    hostile = document.html.replace("</body>", f'<img alt="x" src="{outside.as_uri()}"/></body>')
    with pytest.raises(BookError, match="the file is outside the book folder"):
        layout(replace(document, html=hostile), band=0)


def test_a_book_whose_css_loads_from_a_listener_fails_and_never_reaches_it(
        tmp_path: Path, listener: Listener) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    (book / "book.toml").write_text('stylesheets = ["extra.css"]\n' + (book / "book.toml").read_text())
    (book / "extra.css").write_text(f"body {{ background: url(http://127.0.0.1:{listener.port}/x.png); }}\n")
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert f'extra.css:1:20: error[css-remote]: the stylesheet loads "http://127.0.0.1:{listener.port}' \
           '/x.png" from the network' in result.stderr
    assert "Traceback" not in result.stderr
    assert listener.requests == []
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_external_hyperlinks_stay_links(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    chapter = book / "two.md"
    chapter.write_text(chapter.read_text() + "\nSee [the archive](https://example.org/archive).\n")
    built = build_book(book, tmp_path / "out", "--format", "epub")
    import zipfile

    archive = zipfile.ZipFile(built.epub)
    two = archive.read("EPUB/text/two.xhtml").decode()
    assert '<a href="https://example.org/archive">the archive</a>' in two
    opf = archive.read("EPUB/content.opf").decode()
    assert "remote-resources" not in opf and "http://" not in opf.replace("http://www.idpf.org", "") \
        .replace("http://purl.org", "").replace("http://www.daisy.org", "")


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("whole_group", [False, True], ids=["kill-parent", "ctrl-c-group"])
def test_sigint_while_laying_out_leaves_earlier_outputs(tmp_path: Path, whole_group: bool) -> None:
    process, out, before = _start_layout(tmp_path)
    assert process.poll() is None, "the build ended before it could be interrupted"
    if whole_group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == \
        "bookbuild: interrupted; earlier outputs are left as they were"
    assert "Traceback" not in stderr
    assert hashes(out) == before  # the earlier outputs, intact; no temporary file left


def test_a_real_build_past_every_check_never_reaches_the_listener(tmp_path: Path, listener: Listener) -> None:
    """A book's own print template is not Markdown: no source check sees what it loads. Only the
    url_fetcher stands between it and the network."""
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    url = f"http://127.0.0.1:{listener.port}/x.png"
    chapter = (ROOT / "src/bookbuild/templates/print/chapter.html.j2").read_text()
    (book / "templates" / "print").mkdir(parents=True)
    (book / "templates" / "print" / "chapter.html.j2").write_text(
        chapter.replace("</section>", f'<img alt="" src="{url}"/>\n</section>'))
    out = tmp_path / "out"
    result = run_bookbuild("build", book, "--out", out, "--format", "pdf")
    assert result.returncode == 2
    assert result.stderr == (f'{book}: error[resource-refused]: the book refers to "{url}": a book may not '
                             "load anything from the network (keep every image, font and stylesheet "
                             "inside the book folder)\n")
    assert listener.requests == []
    assert not out.exists()


def test_a_template_linked_outside_the_book_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "errors" / "template-undefined", book)
    shutil.rmtree(book / "templates")
    (book / "templates" / "partials").mkdir(parents=True)
    (book / "templates" / "partials" / "copyright.html.j2").symlink_to("/etc/passwd")
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "error[template-outside]" in result.stderr and "root:" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _start_layout(tmp_path: Path) -> tuple[subprocess.Popen, Path, dict[str, str]]:
    """A 260-page book built once, edited, and being laid out again."""
    book = generate(tmp_path / "book", pages=260)
    out = tmp_path / "out"
    build_book(book, out)
    before = hashes(out)
    chapter = book / "chapter-001.md"
    chapter.write_text(chapter.read_text().replace("# Chapter 1", "# Chapter One", 1))
    process = subprocess.Popen([sys.executable, "-m", "bookbuild", "build", str(book), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    # Wait until the layout has started (its staged file exists), then give it a moment.
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".pdf.part") for p in out.iterdir()):
        assert time.monotonic() < deadline and process.poll() is None, "the layout never started"
        time.sleep(0.05)
    time.sleep(1.5)
    return process, out, before


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    process, out, before = _start_layout(tmp_path)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143
    assert stderr.strip().splitlines()[-1] == "bookbuild: terminated; earlier outputs are left as they were"
    assert "Traceback" not in stderr
    assert hashes(out) == before


def test_the_layout_dies_with_its_parent(tmp_path: Path) -> None:
    process, out, before = _start_layout(tmp_path)
    process.kill()  # kill -9: the parent cannot clean up
    process.communicate(timeout=30)
    deadline = time.monotonic() + 5  # a 260-page layout would run on for about 10 s more
    while True:  # the child was in the parent's session: the group empties when it is gone
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the PDF process outlived its parent"
        time.sleep(0.1)
    assert {name for name in hashes(out) if not name.endswith(".part")} == set(before)
    # The parent could not remove its staged file; the next build does, then builds.
    rebuilt = run_bookbuild("build", tmp_path / "book", "--out", out)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not [name for name in hashes(out) if name.endswith(".part")]


def test_a_template_cannot_use_the_paths_it_is_given(tmp_path: Path) -> None:
    """chapter.section.path is a Path: its read_text or write_text would read or write anything."""
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "errors" / "template-undefined", book)
    section = (ROOT / "src/bookbuild/templates/epub/section.xhtml.j2").read_text()
    reach = '{{ chapter.section.path.joinpath("/etc/hostname").read_text() }}'
    (book / "templates" / "epub" / "section.xhtml.j2").write_text(
        section.replace("{{ body | safe }}", reach + "{{ body | safe }}"))
    result = run_bookbuild("build", book, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "error[template-unsafe]: access to attribute 'joinpath' of 'PosixPath' object is unsafe" \
        in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_file_an_inline_svg_would_load_from_outside_fails_the_layout(tmp_path: Path) -> None:
    """WeasyPrint drops a failed fetch inside an SVG without a word: the build must not."""
    from PIL import Image

    from bookbuild.writers.cover import cover_pdf

    outside = tmp_path / "outside.png"
    Image.new("RGB", (4, 4), "red").save(outside)
    (tmp_path / "book").mkdir()
    html = ('<html><body><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            f'<image href="{outside.as_uri()}" width="10" height="10"/></svg></body></html>')
    with pytest.raises(BookError, match=r"outside\.png"):
        cover_pdf(html, tmp_path / "book", (tmp_path / "book",))


@pytest.mark.parametrize(("written", "expected"), [
    ("<script>alert(1)</script>", "error[html-script]: the template writes what a book may not carry"),
    ('<img src="https://example.org/t.png" alt=""/>', "error[html-remote]"),
    ("&nbsp;", "error[template-xhtml]: the template writes XHTML that is not well-formed"),
])
def test_what_a_books_template_writes_meets_the_allow_list(tmp_path: Path, written: str, expected: str
                                                             ) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    (book / "templates" / "epub").mkdir(parents=True)
    base = (ROOT / "src/bookbuild/templates/epub/base.xhtml.j2").read_text()
    (book / "templates" / "epub" / "base.xhtml.j2").write_text(base.replace("</body>", f"{written}</body>"))
    result = run_bookbuild("build", book, "--out", tmp_path / "out", "--format", "epub")
    assert result.returncode == 2
    assert result.stderr.startswith(f"{book}/templates: {expected}"), result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


class _SlowToDelete:
    def __del__(self) -> None:
        time.sleep(0.01)


def _churn() -> None:
    """Half of the time in a __del__: a Ctrl-C lands there half of the time."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        _SlowToDelete()
        time.sleep(0.01)


def test_a_ctrl_c_lost_in_a_destructor_still_stops_the_layout_process() -> None:
    # Python prints and drops an exception raised in a __del__ (WeasyPrint's FontConfiguration
    # has one): the child must raise it again, not lay out for nobody until it is killed.
    from bookbuild.workers import Job

    for _ in range(8):
        job = Job(_churn)
        time.sleep(0.3)
        job.cancel()  # SIGINT, then SIGKILL after 10 s
        assert job._process.exitcode == 0, "the child did not stop on the interrupt"


def _start_with_a_pending_interrupt(send: Any) -> None:
    from bookbuild import workers

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    os.kill(os.getpid(), signal.SIGINT)  # as a cancel sent between the fork and the unblock
    workers._child(send, time.sleep, (30,), os.getppid())


def test_a_cancel_sent_before_the_child_unblocks_it_is_an_interrupt_not_a_traceback() -> None:
    # run_all holds Ctrl-C while it forks; a cancel that arrives then is delivered when the
    # child unblocks it, and must end the child as an interrupt (it printed a traceback).
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    receive, send = fork.Pipe(duplex=False)
    child = fork.Process(target=_start_with_a_pending_interrupt, args=(send,))
    child.start()
    send.close()
    assert receive.poll(20), "the child did not answer"
    assert receive.recv() == ("interrupted", None)
    child.join(10)
    assert child.exitcode == 0
