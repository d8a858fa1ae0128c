"""`bookbuild serve` in a real browser: load a chapter once, edit its Markdown, and see the new
text appear in that same page, never reloading or navigating from the test."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import BOOKS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(book: Path) -> tuple[subprocess.Popen, str]:
    """`bookbuild serve BOOK` on a free port, once it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bookbuild", "serve", str(book), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/text/one.xhtml", timeout=1).close()
            return process, url
        except OSError:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the preview never answered"
            time.sleep(0.1)


@pytest.fixture
def server(tmp_path: Path):
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    process, url = start_serve(book)
    yield book, url, process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_edit_appears_in_the_open_page_and_errors_show(server) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    book, url, process = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + "/text/one.xhtml")
        assert page.locator("h1").first.inner_text().replace("\xa0", " ") == "The First Chapter"
        # The contents beside the page, the chapter's text, its styles.
        assert page.locator("aside nav a").all_inner_texts()[:2] == ["The First Chapter", "A figure"]
        # The EPUB's stylesheet reaches the page: justified text (a browser's own is left-aligned).
        styles = page.evaluate("[...document.querySelectorAll('section > p')].map("
                               "p => getComputedStyle(p).textAlign + ' ' + getComputedStyle(p).margin)")
        assert styles and set(styles) == {"justify 0px"}, styles

        chapter = book / "one.md"
        chapter.write_text(chapter.read_text().replace(
            "After the scene break.", "After the scene break, a sentence written while the page was open."))
        page.wait_for_function("document.body && document.body.innerText.includes("
                               "'a sentence written while the page was open')", timeout=20000)
        assert page.url == url + "/text/one.xhtml"

        # A broken note: the error shows above the page, the last good text stays.
        chapter.write_text(chapter.read_text() + "\nA call to a note that is not there.[^ghost]\n")
        page.wait_for_selector(".bookbuild-errors", timeout=20000)
        errors = page.locator(".bookbuild-errors li").all_inner_texts()
        assert len(errors) == 1 and "one.md:" in errors[0] and "error[note-undefined]" in errors[0]
        assert "a sentence written while the page was open" in page.inner_text("body")
        assert "note that is not there" not in page.inner_text("body")
        browser.close()

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "serving A Book of Features at http://127.0.0.1:" in output
    assert "error[note-undefined]" in output  # the terminal says it too, with the file and line
    assert output.rstrip().endswith("stopped")


def listening_addresses(port: int) -> set[str]:
    """The local addresses the kernel has a listening TCP socket on for `port` (/proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # /proc writes each 32-bit word in host (little-endian) order
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(str(ipaddress.ip_address(words)))
    return found


def test_serve_listens_on_loopback_only_by_default(server) -> None:
    _book, url, _process = server
    port = int(url.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"127.0.0.1"}  # not 0.0.0.0, not ::
    html = urllib.request.urlopen(url + "/text/two.xhtml").read().decode()
    assert '<script src="/_preview/live.js">' in html
    assert 'href="one.xhtml#the-first-chapter"' in html  # the EPUB's own cross-chapter links


def test_a_book_broken_from_the_start_exits_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bookbuild", "serve", str(BOOKS / "errors" / "no-title"),
                             "--port", str(free_port())], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "error[no-title]" in result.stderr


def _status(url: str, path: str, host: str | None = None) -> int:
    import http.client

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    return status


def test_odd_paths_and_foreign_hosts_get_400(server) -> None:
    _book, url, process = server
    assert _status(url, "/text/one.xhtml") == 200
    assert _status(url, "/%00") == 400
    assert _status(url, "/" + "a/" * 200 + "x.png") == 400
    assert _status(url, "/" + "b" * 5000) == 400
    # DNS rebinding: a page at evil.example that points its name at 127.0.0.1.
    assert _status(url, "/text/one.xhtml", host="evil.example:8000") == 400
    assert _status(url, "/text/one.xhtml", host="localhost:8000") == 200
    import socket

    assert _status(url, "/text/one.xhtml", host=f"{socket.gethostname()}:8000") == 200  # its own name
    assert process.poll() is None  # and the server goes on, with no traceback


def test_the_cover_page_shows_its_image(server) -> None:
    _book, url, _process = server
    page = urllib.request.urlopen(url + "/text/cover.xhtml").read().decode()
    src = page.split('<img', 1)[1].split('src="', 1)[1].split('"', 1)[0]
    image = urllib.request.urlopen(urllib.parse.urljoin(url + "/text/cover.xhtml", src))
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.read(3) == b"\xff\xd8\xff"  # a JPEG, the generated cover


def test_on_a_phone_the_text_takes_the_width_and_the_contents_follow(server) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    _book, url, _process = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 375, "height": 740})
        page.goto(url + "/text/one.xhtml")
        paragraph = page.locator("section > p").first.bounding_box()
        contents = page.locator("aside.bookbuild-preview").bounding_box()
        browser.close()
    assert paragraph is not None and contents is not None
    assert paragraph["width"] > 300  # not one word a line beside a fixed sidebar
    assert contents["y"] > paragraph["y"]  # the contents come after the text


def test_a_link_out_of_the_book_is_not_watched(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    outside = tmp_path / "outside"
    (outside / "locked").mkdir(parents=True)
    (outside / "notes.md").write_text("not the book's\n")
    os.symlink(outside, book / "images" / "elsewhere")
    process, _url = start_serve(book)
    try:
        (outside / "notes.md").write_text("changed outside the book\n")
        time.sleep(1.5)
        (book / "one.md").write_text((book / "one.md").read_text() + "\nA new line.\n")
        time.sleep(2)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    assert "Traceback" not in output
    rebuilds = [line for line in output.splitlines() if line.startswith("built in") and "(" in line]
    assert len(rebuilds) == 1 and "one.md" in rebuilds[0], output  # the book's change only


def test_print_view_shows_a_chapters_pages_and_follows_an_edit(server) -> None:
    """Beside each chapter, its pages as the PDF has them, laid out again after an edit."""
    book, url, process = server

    def fetch(path: str) -> bytes:
        with urllib.request.urlopen(url + path, timeout=30) as response:
            return response.read()

    def laid_out(after: int = 0) -> tuple[int, list[bytes]]:
        """The print view's version (above `after`) and the chapter's page images, once ready."""
        deadline = time.monotonic() + 120
        while True:
            html = fetch("/_print/one.html")
            version = int(re.search(rb'name="bookbuild-version" content="p(\d+)"', html)[1])
            pages = re.findall(rb"/_print/page-(\d+)\.png", html)
            if version > after and pages and b"laying out" not in html:
                return version, [fetch(f"/_print/page-{int(n)}.png") for n in pages]
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the print pages never came"
            time.sleep(0.3)

    assert b'href="/_print/one.html"' in fetch("/text/one.xhtml")
    version, before = laid_out()
    assert all(image.startswith(b"\x89PNG") for image in before)
    assert b"not in the print edition" in fetch("/_print/no-such-chapter.html")
    chapter = book / "one.md"
    chapter.write_text(chapter.read_text().replace(
        "After the scene break.", "After the scene break, a sentence written for the print view."))
    _, after = laid_out(version)
    assert after != before
