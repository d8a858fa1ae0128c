"""`bookbuild serve`: a live HTML preview of the book, from the EPUB's own templates and styles.

The pages live in memory. A watcher rebuilds when a source changes: parsing is cached per
section (parse_section is pure), so only the edited chapter is parsed again. Open pages hear
of each rebuild over server-sent events and reload themselves. A source error is shown above
the page and in the terminal; the last good version stays served. Beside each chapter, its
print pages (printview.py), laid out again after each rebuild.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import mimetypes
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2

from .diagnostics import BookError, Diagnostic, display_path
from .mediatypes import media_type
from .model import Manuscript
from .pipeline import epub_cover, iso, prepare
from .printview import PrintView
from .render import CSS_FILE, CoverImage, environment, render_cover_html, render_epub, render_template
from .resources import TEMPLATES_DIR, FontSet, book_fonts
from .writers.pdf import allowed_roots

PREVIEW_DIR = TEMPLATES_DIR / "preview"
COVER_IMAGE = CoverImage(b"", "image/jpeg").file_name  # the name the preview's cover page shows
HEARTBEAT_SECONDS = 10.0


class Preview:
    """The current pages of the book, and the version the open pages are told about."""

    def __init__(self, book_dir: Path, say: Callable[[str], None]):
        self.book_dir = book_dir
        self.say = say
        self.pages: dict[str, bytes] = {}
        self.errors: list[str] = []
        self.version = 0
        self.title = ""
        self.toc: tuple = ()
        self.changed = threading.Condition()
        self.fonts: FontSet = book_fonts()
        self.env: jinja2.Environment | None = None
        self.manuscript: Manuscript | None = None
        self.cover_image: CoverImage | None = None
        self.print_view: PrintView | None = None
        self.print_version = 0  # bumped when the print pages are laid out again

    def print_ready(self) -> None:
        with self.changed:
            self.print_version += 1
            self.changed.notify_all()

    def events_version(self) -> str:
        """What the open pages are told: the text's version, then the print pages'."""
        return f"{self.version}.{self.print_version}"

    def rebuild(self, reason: str = "", *, raise_errors: bool = False) -> None:
        started = time.perf_counter()
        try:
            manuscript, warnings = prepare(self.book_dir)
            book = replace(manuscript.book, epub=replace(manuscript.book.epub, embed_fonts=False))
            manuscript = replace(manuscript, book=book)
            fonts = book_fonts(manuscript.book.design.typeface)
            package = render_epub(manuscript, fonts, iso(dt.datetime.now(dt.UTC)),
                                  CoverImage(b"", "image/jpeg"))
            self.manuscript, self.cover_image, self.fonts = manuscript, None, fonts
        except BookError as error:
            if raise_errors:
                raise
            self._keep_last_good([str(d) for d in error.diagnostics])
        except Exception as error:  # a file saved half-way, a bug: the preview must go on
            if raise_errors:
                raise
            self._keep_last_good([f"bookbuild: {type(error).__name__}: {error}"])
        else:
            self.errors = []
            for warning in warnings:
                self.say(str(warning))
            self.pages = {doc.file_name: doc.content for doc in package.documents}
            self.pages.update({r.file_name: r.content for r in package.resources
                               if r.media_type == "text/css"})
            self.title, self.toc = manuscript.meta.title, package.toc
            self.env = environment(manuscript.book)
            self.say(f"built in {time.perf_counter() - started:.2f} s{f' ({reason})' if reason else ''}")
            if self.print_view is not None:
                self.print_view.request()
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def _keep_last_good(self, errors: list[str]) -> None:
        self.errors = errors
        for line in errors:
            self.say(line)
        self.say("the preview keeps the last good version")

    def cover(self) -> CoverImage | None:
        """The cover page's image, made the first time it is asked for after a change (it is a
        layout and a rasterisation: too slow to redo on every keystroke of the text)."""
        if self.cover_image is None and self.manuscript is not None:
            ms = self.manuscript
            try:
                html = render_cover_html(ms, iso(dt.datetime.now(dt.UTC)))
                self.cover_image = epub_cover(ms, html, allowed_roots(ms.book.root))
            except BookError as error:  # a cover template of the book's own that fails
                for diagnostic in error.diagnostics:
                    self.say(str(diagnostic))
        return self.cover_image

    def page(self, name: str) -> bytes | None:
        content = self.pages.get(name)
        if content is None or not name.endswith(".xhtml"):
            return content
        assert self.env is not None
        sidebar = render_template(self.env, "preview/sidebar.html.j2",
                                  title=self.title, toc=self.toc, current=name, errors=self.errors,
                                  print_href=f"/_print/{part_of(name)}.html")
        text = content.decode("utf-8")
        head = (f'<meta name="bookbuild-version" content="{self.version}"/>'
                '<link rel="stylesheet" type="text/css" href="/_preview/preview.css"/>'
                '<script src="/_preview/live.js"></script></head>')
        text = text.replace("</head>", head, 1)
        body_end = text.index(">", text.index("<body")) + 1
        return (text[:body_end] + sidebar + text[body_end:]).encode("utf-8")

    def print_page(self, part: str) -> bytes:
        """The print pages of one part (a section's id, or "notes"), as images."""
        assert self.env is not None
        view = self.print_view
        ids = [chapter.id for chapter in self.manuscript.chapters] + ["notes"] \
            if self.manuscript is not None else []
        pages = view.pages_of(part, ids) if view is not None else []
        return render_template(
            self.env, "preview/print.html.j2", title=self.title, version=f"p{self.print_version}",
            pages=pages, back=f"/text/{part}.xhtml", laying_out=view is not None and view.building,
            problem=view.problem if view is not None else "",
            known=part in ids).encode("utf-8")

    def fonts_css(self) -> bytes:
        urls = [f"/_fonts/{face.file_name}" for face in self.fonts.faces]
        assert self.env is not None
        return render_template(self.env, "fonts.css.j2", fonts=self.fonts,
                               face_urls=urls).encode("utf-8")


MAX_PATH_LENGTH = 1024  # no file of a book has a longer path
MAX_PATH_DEPTH = 32


def make_handler(preview: Preview, stopping: threading.Event,
                 names: frozenset[str] = frozenset()) -> type[http.server.BaseHTTPRequestHandler]:
    """`names`: the host names the server is reached by (--host, this machine's own)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if not self.host_allowed():
                self.send_error(400, "unknown host")  # a page elsewhere rebinding its name to us
                return
            path = unquote(urlsplit(self.path).path).lstrip("/")
            if "\x00" in path or len(path) > MAX_PATH_LENGTH or path.count("/") > MAX_PATH_DEPTH:
                self.send_error(400, "not a path in this book")
                return
            if path in ("", "index.html"):
                self.send_response(302)
                self.send_header("Location", "/text/titlepage.xhtml")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path == "_events":
                self.events()
                return
            try:
                body, kind = self.lookup(path)
            except (OSError, ValueError):
                self.send_error(400, "not a path in this book")
                return
            if body is None:
                self.send_error(404, "not in this book")
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def host_allowed(self) -> bool:
            """Only the names this server is reached by: DNS rebinding sends another."""
            host = (self.headers.get("Host") or "").strip().lower()
            host = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
            host = host.rstrip(".")
            try:
                ipaddress.ip_address(host)  # an address is no name to rebind
            except ValueError:
                return host == "localhost" or host.endswith(".localhost") or host in names
            return True

        def lookup(self, path: str) -> tuple[bytes | None, str]:
            if path.startswith("_preview/"):
                file = PREVIEW_DIR / Path(path).name
                return (file.read_bytes() if file.is_file() else None), _type(file.name)
            if path.startswith("_print/"):
                return self.print_lookup(path[len("_print/"):])
            if path.startswith("_fonts/"):
                face = next((f for f in preview.fonts.faces if f.file_name == Path(path).name), None)
                return (face.path.read_bytes() if face else None), _type(Path(path).name)
            if path == COVER_IMAGE:
                cover = preview.cover()
                return (cover.content, cover.media_type) if cover else (None, "")
            if path == CSS_FILE:  # ours: the typeface from this machine first
                return preview.fonts_css() + preview.pages[path], "text/css"
            if path.endswith(".css") and path in preview.pages:  # the book's: as it is (@import first)
                return preview.pages[path], "text/css"
            if path in preview.pages:
                return preview.page(path), "application/xhtml+xml"
            # Anything else the pages refer to (images) comes from the book folder, never outside.
            file = (preview.book_dir / path).resolve()
            if file.is_file() and file.is_relative_to(preview.book_dir.resolve()) \
                    and not any(part.startswith(".") for part in Path(path).parts):
                return file.read_bytes(), _type(file.name)
            return None, ""

        def print_lookup(self, name: str) -> tuple[bytes | None, str]:
            if name.endswith(".html") and "/" not in name:
                return preview.print_page(name[:-len(".html")]), "text/html; charset=utf-8"
            if name.startswith("page-") and name.endswith(".png") and name[5:-4].isdigit():
                view = preview.print_view
                return (view.image(int(name[5:-4])) if view is not None else None), "image/png"
            return None, ""

        def events(self) -> None:
            """Server-sent events: the current version now, then each new one."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            sent = ""
            try:
                while not stopping.is_set():
                    with preview.changed:
                        if preview.events_version() == sent:
                            preview.changed.wait(HEARTBEAT_SECONDS)
                        version = preview.events_version()
                    message = f"data: {version}\n\n" if version != sent else ": heartbeat\n\n"
                    self.wfile.write(message.encode())
                    self.wfile.flush()
                    sent = version
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, *args: object) -> None:  # the terminal shows builds, not requests
            pass

    return Handler


def _own_names(host: str) -> frozenset[str]:
    """The names a browser may use for this server: --host, and this machine's own names."""
    names = {host.lower(), socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(name.rstrip(".") for name in names if name)


def _type(name: str) -> str:
    return media_type(name) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def serve(book_dir: Path, host: str, port: int, say: Callable[[str], None]) -> None:
    import watchfiles

    book_dir = book_dir.resolve()
    preview = Preview(book_dir, say)
    preview.rebuild(raise_errors=True)  # a book broken from the start is bad input: exit 2
    stopping = threading.Event()
    preview.print_view = PrintView(book_dir, preview.print_ready, say)
    preview.print_view.request()
    printer = threading.Thread(target=preview.print_view.run, args=(stopping,), daemon=True)
    printer.start()
    try:
        handler = make_handler(preview, stopping, _own_names(host))
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        raise BookError(Diagnostic(f"{host}:{port}", None, None, "error", "serve",
                                   f"cannot listen there: {error.strerror or error}",
                                   "choose another --port")) from None
    server.daemon_threads = True
    address = f"http://{host}:{server.server_address[1]}/"
    say(f"serving {preview.title} at {address}  (Ctrl-C to stop)")

    def watch() -> None:
        # A link in the book to a folder outside it (even to /) is followed by the watcher:
        # folders it may not read are skipped, and changes outside the book rebuild nothing.
        def in_book(change: object, path: str) -> bool:
            return _book_files(change, path) and Path(path).resolve().is_relative_to(book_dir)

        try:
            for changes in watchfiles.watch(book_dir, stop_event=stopping, debounce=150, step=50,
                                            watch_filter=in_book, raise_interrupt=False,
                                            ignore_permission_denied=True):
                names = sorted({display_path(Path(path)) for _, path in changes})
                preview.rebuild(", ".join(names))
        except Exception as error:  # the preview goes on serving; say once why it stopped updating
            say(f"bookbuild: the file watcher stopped ({type(error).__name__}: {error}); "
                "restart serve to see new changes")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        stopping.set()
        with preview.changed:
            preview.changed.notify_all()
        server.server_close()
        watcher.join(timeout=2)
        preview.print_view.stop()


def part_of(page: str) -> str:
    """The section a page of the preview is part of: text/ID.xhtml, or text/ID--N.xhtml for a
    long one split in several."""
    return Path(page).stem.split("--")[0]


def _book_files(_change: object, path: str) -> bool:
    return not any(part.startswith(".") for part in Path(path).parts)

