"""The print layouts on a Dask cluster (cluster.py): the same tasks as on this machine
(pdfparts.py), run by its workers.

A worker shares nothing with this machine but the task: the book's HTML and the files it may
load travel with it (SentBook, sent once per book as a task's result, which Dask can make again
when its worker dies), and the worker parses the HTML itself (once per book).
It fetches through SentFetcher, the sandbox of a worker: the files sent, bookbuild's own styles
and templates, and the typeface files whose digests match this machine's (checked at connect),
nothing else, never the worker's disk at the book's paths. URLs keep this machine's paths, so the
PDF's bytes (image names are digests of their URLs) are the ones a local layout makes; what
comes back is plain data (parts.PartLayout, a PDF's bytes), written here, atomically, as ever.
"""

from __future__ import annotations

import concurrent.futures
import copy
import functools
import hashlib
import posixpath
import tempfile
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from weasyprint import HTML
from weasyprint.urls import URLFetcherResponse

from .. import cache
from ..cluster import ClusterSpec, client, differences, one_thread, unusable, worker_environment
from ..mediatypes import media_type
from ..model import PrintDocument
from ..parts import PartLayout
from ..resources import TEMPLATES_DIR, TYPEFACES, book_fonts, styles_dir
from ..sandbox import BookFetcher
from . import pdf, pdfparts

WATCH_SECONDS = 5  # how often a build whose layouts are pinned looks for its workers


@dataclass(frozen=True)
class SentBook:
    """What a worker needs to lay the book out: its document and every file it may load."""

    document: PrintDocument
    files: dict[str, bytes]  # the book folder's files a layout can load, by their path here
    own: tuple[tuple[str, str], ...]  # (bookbuild's folder here, "styles" | "templates")
    fonts: tuple[tuple[str, str], ...]  # (a typeface file here, its sha256)
    token: str  # what the parsed tree depends on, hashed: a worker parses each book once
    environment: dict[str, str]  # what this machine runs (cluster.worker_environment)


def sent_book(document: PrintDocument) -> SentBook:
    root = document.base_dir
    real_root = root.resolve()
    files = {str(path): path.read_bytes() for path in cache.book_files(root)
             if media_type(path) is not None and path.resolve().is_relative_to(real_root)}
    own = ((str(styles_dir()), "styles"), (str(TEMPLATES_DIR), "templates"))
    typeface = book_fonts(document.design.typeface)
    fonts = tuple((str(face.path), cache.file_hash(face.path)) for face in typeface.faces)
    digest = hashlib.sha256(document.html.encode())
    for path, data in sorted(files.items()):
        digest.update(f"\0{path}\0{hashlib.sha256(data).hexdigest()}".encode())
    digest.update(repr((str(root), own, fonts)).encode())
    return SentBook(document, files, own, fonts, digest.hexdigest(), worker_environment(typeface.family))


class SentResponse(URLFetcherResponse):
    @property
    def path(self) -> None:
        """No path: WeasyPrint would read the file again from it, on the worker's disk."""
        return None


class SentFetcher(BookFetcher):
    """A worker's sandbox: serves what was sent, bookbuild's own folders and the matching
    typeface files, under this machine's URLs; refuses everything else."""

    def __init__(self, book: SentBook):
        super().__init__(())
        self.book = book
        folders = {"styles": styles_dir(), "templates": TEMPLATES_DIR}
        mine = _typeface_files()
        self.fonts = {theirs: mine[digest] for theirs, digest in book.fonts if digest in mine}
        self.folders = [(theirs, folders[kind]) for theirs, kind in book.own]
        self.book_root = str(book.document.base_dir).rstrip("/") + "/"

    def fetch_file(self, url: str, path: str, headers: dict | None) -> Any:
        """(data: URLs and the network: as BookFetcher.fetch says)"""
        path = posixpath.normpath(path)
        body = self.book.files.get(path)
        if body is None and path in self.fonts:
            body = self.fonts[path].read_bytes()
        for theirs, mine in self.folders if body is None else ():
            if path.startswith(theirs.rstrip("/") + "/"):
                local = (mine / posixpath.relpath(path, theirs)).resolve()
                if local.is_relative_to(mine.resolve()) and local.is_file():
                    body = local.read_bytes()
                    break
        if body is None and path.startswith(self.book_root):
            raise self._refuse(url, "a layout on a cluster loads only the book's images, fonts and "
                                    "stylesheets (not hidden files, nor through a linked folder)")
        if body is None:
            raise self._refuse(url, "the file is outside the book folder")
        return SentResponse(url, body, {"Content-Type": media_type(path) or "application/octet-stream"})


# A worker's books parsed (the book's token: its tree, prepared): each task takes a copy of the
# tree, as a forked layout process does of this machine's. A few, not all: a worker lays out
# one book after another.
_parsed: OrderedDict[str, HTML] = OrderedDict()
KEPT_PARSES = 2


@functools.cache
def _typeface_files() -> dict[str, Path]:
    """This worker's typeface files, by their sha256."""
    return {cache.file_hash(face.path): face.path
            for typeface in TYPEFACES for face in book_fonts(typeface).faces}


def _source(book: SentBook) -> HTML:
    """The book's tree, parsed and prepared, its own copy; fetching with a fetcher of its own."""
    source = _parsed.pop(book.token, None)
    if source is None:
        source = pdf.parsed(book.document, SentFetcher(book))
    _parsed[book.token] = source
    while len(_parsed) > KEPT_PARSES:
        _parsed.popitem(last=False)
    mine = pdfparts._with_tree(source, copy.deepcopy(source.etree_element))
    mine.url_fetcher = SentFetcher(book)  # (its refusals are this task's)
    return mine


def _received(book: SentBook) -> SentBook:
    """The book, as a task's result on a worker (see ClusterLayouts._connect)."""
    return book


def _check_worker(book: SentBook) -> None:
    """Before a task: this worker runs what the client runs (one that joined the cluster after
    the check at connect was never asked), in one thread. A BookError (exit 2) if not."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a worker: on the client itself (tests)
        return
    here = _environment(book.document.design.typeface)
    differs = differences(book.environment, here) or one_thread(worker.state.nthreads)
    if differs:
        raise unusable(worker.address, f"this worker differs from the client: {differs} (it joined "
                       "the cluster after the check, or lacks the book's typeface)",
                       "stop it, or install what the client has")


@functools.cache
def _environment(typeface: str) -> dict[str, str]:
    return worker_environment(typeface)


def lay_out_part(book: SentBook, index: int, band: int, numbers: dict[str, str], fit: bool,
                 verso: bool) -> PartLayout:
    """On a worker: pdfparts.lay_out_part, from the book sent."""
    _check_worker(book)
    return pdfparts.lay_out_part(_source(book), book.document, index, band, numbers, fit, verso)


def lay_out_folios(book: SentBook, band: int, names: list[list[str]], front: bool) -> PartLayout:
    """On a worker: pdfparts.lay_out_folios, from the book sent."""
    _check_worker(book)
    return pdfparts.lay_out_folios(_source(book), book.document, band, names, front)


def write_whole(book: SentBook, previous_pages: int | None) -> tuple[bytes, pdf.PdfResult]:
    """On a worker: the book laid out in one process (pdf.write_pdf), its PDF as bytes."""
    _check_worker(book)
    with tempfile.TemporaryDirectory(prefix="bookbuild-") as folder:
        target = Path(folder) / "book.pdf"
        result = pdf.write_pdf(book.document, target, previous_pages, SentFetcher(book))
        return target.read_bytes(), result


class ClusterLayouts:
    """pdfparts.LocalLayouts' work, on the cluster's workers: submitted through the client's
    concurrent.futures executor, the results in the order of the tasks; the first failure
    cancels the rest and is raised."""

    warm_up = False  # (a worker has nothing forked from here to start with)

    def __init__(self, spec: ClusterSpec, document: PrintDocument):
        self.spec = spec
        self.document = document
        self.client: Any = None  # connected at the first task (a book all kept sends nothing)

    def _connect(self) -> None:
        self.client = client(self.spec.address)
        workers = list(self.spec.workers) if self.spec.workers is not None else None
        options: dict[str, Any] = {"pure": False}
        if workers is not None:  # some workers differ from this machine: not those
            options.update(workers=workers, allow_other_workers=False)
        self.executor = self.client.get_executor(**options)
        # The book as a task's result, not scattered data: Dask keeps a task's spec, so when the
        # worker holding it dies, another makes it again (scattered data would be lost, and
        # Dask drops the extra replicas of a broadcast). Sent once; the workers share it.
        with warnings.catch_warnings():  # (Dask warns of a large task: a book is one)
            warnings.simplefilter("ignore", UserWarning)
            self.book = self.client.submit(_received, sent_book(self.document), **options)

    def parts(self, requests: list[pdfparts.PartRequest]) -> list[PartLayout]:
        return self._all([(lay_out_part, tuple(request)) for request in requests])

    def folios(self, band: int, names: list[list[str]], front: bool) -> PartLayout:
        found: PartLayout = self._all([(lay_out_folios, (band, names, front))])[0]
        return found

    def whole(self, target: Path, previous_pages: int | None) -> pdf.PdfResult:
        data, result = self._all([(write_whole, (previous_pages,))])[0]
        with target.open("wb") as handle:  # a staged temporary file: the pipeline renames it
            handle.write(data)
        return replace(result, path=target)

    def _all(self, tasks: list[tuple[Any, tuple[Any, ...]]]) -> list[Any]:
        """Each (function, args) run as function(the book, *args)."""
        if self.client is None:
            self._connect()
        futures = [self.executor.submit(function, self.book, *args) for function, args in tasks]
        try:
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, WATCH_SECONDS, concurrent.futures.FIRST_EXCEPTION)
                for future in done:
                    future.result()  # (the first to fail raises, whichever it is)
                if pending:
                    self._check_workers_left()
            return [future.result() for future in futures]
        except concurrent.futures.CancelledError:
            # (cancelled by Dask, not by us: the scheduler is gone or restarted, or what the tasks
            # needed was lost with its workers)
            self.executor.shutdown(wait=False)
            raise unusable(self.spec.address, "the cluster cancelled the layouts (the scheduler was "
                           "lost or restarted, or workers left with the book)",
                           "check the scheduler and its workers, then build again") from None
        except BaseException:
            # The tasks cancelled through Dask, whose futures then tell the executor's (cancelling
            # those directly would leave Dask setting the outcome of a cancelled future).
            self.executor.shutdown(wait=False)
            raise

    def _check_workers_left(self) -> None:
        """When the layouts are pinned to the workers found fit at connect, at least one of them
        must still be there: a worker that restarts comes back at another address, and pinned
        tasks would wait for ever."""
        if self.spec.workers is None:
            return
        if not set(self.spec.workers) & set(self.client.nthreads()):
            raise unusable(self.spec.address, "every worker found fit for this build has left the "
                           "cluster (a worker that restarts comes back at another address)",
                           "build again: the check at connect finds the workers there are now")

    def close(self) -> None:
        if self.client is not None:
            self.executor.shutdown(wait=False)
            self.client.close()
