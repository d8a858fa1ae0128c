"""The command line. The only module that prints; it maps outcomes to exit codes:
0 success, 1 findings or differences, 2 bad input or usage, 3 internal failure."""

from __future__ import annotations

import argparse
import errno
import functools
import os
import shlex
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .cluster import SCHEDULER_VARIABLE
from .diagnostics import BookError, Diagnostic
from .manifest import PDF_VARIANTS, PRINT_TARGETS, STORE_TARGETS

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
# What the file system refuses for a name or a place the user gave (--out, a path in the book):
# their input to change, not a bug of ours.
FILE_SYSTEM_REFUSALS = {errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR,
                        errno.ENOSPC, errno.EDQUOT, errno.ENOENT}
# 128 + SIGINT, SIGPIPE, SIGTERM, as shells report them
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED = 130, 141, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM: unwinds like Ctrl-C, so that every temporary file is removed."""


def _terminate(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up must not be interrupted
    raise Terminated


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"bookbuild: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def add_command(commands: argparse._SubParsersAction, name: str, **kwargs: Any
                ) -> argparse.ArgumentParser:
    """A subcommand; every one accepts --debug after its name too."""
    command = commands.add_parser(name, **kwargs)
    command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show tracebacks of internal failures")
    return command


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (argparse turns the ValueError into a usage error, exit 2)."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise ValueError(text)
    return number


def positive_number(text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number


def default_book_dir() -> str:
    return "." if Path("book.toml").is_file() else "book"  # `cd mybook && bookbuild build`, as mdBook


def add_book_dir(command: argparse.ArgumentParser) -> None:
    command.add_argument("book_dir", nargs="?", default=default_book_dir(), metavar="BOOK_DIR",
                         help="the folder holding book.toml (default: the current folder when it "
                              "holds book.toml, else book)")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bookbuild",
        description="Compile a folder of Markdown and a book.toml into an EPUB 3 and a print PDF.",
        epilog="Exit codes: 0 success, 1 findings, 2 bad input or usage, 3 internal failure.",
    )
    parser.add_argument("--version", action="version", version=f"bookbuild {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal failures")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    build = add_command(commands, "build", help="build the EPUB and the PDF (of one book or several)",
                                description="Build BOOK_DIR into OUT/<slug>.epub and OUT/<slug>.pdf; "
                                            "several books (a catalogue) each into OUT/<its folder's "
                                            "name>/, --jobs books at once sharing --jobs layout "
                                            "processes, then a summary table (book, "
                                            "pages, seconds, result). A broken book does not stop the "
                                            "others; the exit code is the worst. Two folders of the "
                                            "same name are a usage error. Options go before or after "
                                            "all the folders.")
    build.add_argument("book_dirs", nargs="*", metavar="BOOK_DIR",
                       help="the folder holding book.toml, or several (default: the current folder "
                            "when it holds book.toml, else book)")
    build.add_argument("--out", default="build", metavar="DIR",
                       help="output folder, relative to the current folder (default: build); for "
                            "several books, each gets DIR/<its folder's name>/")
    build.add_argument("--format", choices=("epub", "pdf", "all"), default="all",
                       help="what to build (default: all)")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")
    build.add_argument("--pdf-variant", choices=PDF_VARIANTS, metavar="VARIANT",
                       help=f"PDF standard to meet: {', '.join(PDF_VARIANTS)} (default: the manifest's)")
    build.add_argument("--target", choices=PRINT_TARGETS + STORE_TARGETS, action="append",
                       help="a service to make the book for, as often as needed: kdp (print: "
                            "the PDF meets its rules), kindle (the EPUB is checked against KDP's "
                            "requirements: what a Kindle would lose is a warning), kobo (a kepub, "
                            "<name>.kepub.epub, too)")
    build.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    build.add_argument("--no-cache", action="store_true",
                       help="build everything again, even when nothing has changed since the "
                            "last build (no chapter is taken parsed or laid out from it)")
    build.add_argument("--jobs", "-j", type=positive_number, metavar="N",
                       help="processes laying out the PDF's chapters at once, and books built at "
                            "once in a catalogue (default: the CPUs this process may use); the PDF "
                            "is the same whatever N is; with --scheduler, the books this machine "
                            "prepares at once")
    build.add_argument("--scheduler", metavar="ADDRESS",
                       help="lay the PDFs out on a Dask cluster, e.g. tcp://10.0.0.5:8786 (default: "
                            f"${SCHEDULER_VARIABLE}, else this machine); needs bookbuild[cluster]; "
                            "workers with other versions or typefaces than here are given no work")

    new = add_command(commands, "new", help="start a new book in a new folder",
                              description="Create DIR with a book.toml (every key explained), a "
                                          "preface, two chapters and an images/ folder.")
    new.add_argument("folder", metavar="DIR", help="the new book's folder (new or empty)")
    new.add_argument("--title", help="the book's title (default: from the folder's name)")

    serve = add_command(commands,
        "serve", help="a live preview of the book in a browser",
        description="Serve a live HTML preview (the EPUB's templates and styles, the contents "
                    "beside each chapter) and rebuild it whenever a source changes; open pages "
                    "reload by themselves. Ctrl-C stops it.")
    add_book_dir(serve)
    serve.add_argument("--port", type=port_number, default=8000,
                       help="port (default: 8000; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to listen on (default: 127.0.0.1, this machine only)")

    differ = add_command(commands,
        "diff", help="what changed between two builds or two book folders",
        description="Compare two EPUBs (or two book folders) chapter by chapter: paragraphs "
                    "added, removed and changed (word diff: [-old-]{+new+}), notes renumbered. "
                    "Exit 0 when identical, 1 when they differ, 2 when an input is unusable.")
    differ.add_argument("old", metavar="OLD", help="the earlier EPUB or book folder")
    differ.add_argument("new", metavar="NEW", help="the later EPUB or book folder")

    check = add_command(commands,
        "check", help="check a book: inputs, EPUBCheck, DAISY Ace, print preflight",
        description="Run every input check, then build into a scratch folder and run EPUBCheck, "
                    "DAISY Ace and the print preflight (a print target adds its own rules; kindle "
                    "converts the EPUB to AZW3 with Calibre's ebook-convert and reports its "
                    "warnings: without Calibre the check is incomplete). Writes nothing in build/. "
                    "Exit 0 clean, 1 findings, 2 unusable input.")
    add_book_dir(check)
    check.add_argument("--strict", action="store_true", help="warnings count as findings")
    check.add_argument("--target", choices=PRINT_TARGETS + STORE_TARGETS, action="append",
                       help="a service to check for, as often as needed: kdp (print), kindle, kobo")

    preflight = add_command(commands,
        "preflight", help="check a built PDF as a print-on-demand service would",
        description="Check an interior PDF (and the <name>-cover.pdf beside it): trim size, page "
                    "count and parity, embedded fonts, margins against the gutter band, image "
                    "resolution, cover size; then the print proof of the laid-out lines (hyphens, "
                    "loose and overfull lines, glyphs from other fonts, the contents' numbers), as "
                    "warnings. Exit 1 when anything fails (with --strict, a proof warning too).")
    preflight.add_argument("pdf", metavar="PDF", help="the interior PDF, e.g. build/<slug>.pdf")
    preflight.add_argument("--strict", action="store_true", help="proof warnings count as findings")
    preflight.add_argument("--target", choices=PRINT_TARGETS,
                           help="also apply this service's own limits (kdp: trims, 24-828 pages)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    signal.signal(signal.SIGTERM, _terminate)  # a CI job cancelled, `kill`: as Ctrl-C
    try:
        return reported(lambda: _flushed(COMMANDS[args.command](args)), args.debug)
    except BrokenPipeError:  # `bookbuild check | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Terminated:
        print("bookbuild: terminated; earlier outputs are left as they were", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("bookbuild: interrupted; earlier outputs are left as they were", file=sys.stderr)
        return EXIT_INTERRUPTED


def _flushed(code: int) -> int:
    sys.stdout.flush()  # here, where a closed pipe or a full disk is caught, not at the exit
    return code


def reported(run: Callable[[], int], debug: bool) -> int:
    """run()'s exit code; what it raises said in one line or one per problem: the input's
    problems and what the file system refuses (2), a bug (3). A closed pipe and an interrupt
    go on up (they end every book)."""
    try:
        return run()
    except BookError as error:
        print_diagnostics(error.diagnostics)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        raise
    except OSError as error:
        if error.errno not in FILE_SYSTEM_REFUSALS:
            return _internal_error(error, debug)
        where = error.filename or "bookbuild"
        print(f"{where}: error[file-system]: {error.strerror} (choose another name or folder)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # a bug in bookbuild, not in the book
        return _internal_error(error, debug)


def _internal_error(error: BaseException, debug: bool) -> int:
    """A bug in bookbuild, not in the book: one line, the traceback only with --debug."""
    if debug:
        traceback.print_exc()
        print(getattr(error, "child_traceback", ""), file=sys.stderr, end="")
    print(f"bookbuild: internal error: {type(error).__name__}: {error}"
          + ("" if debug else " (run with --debug for details)"), file=sys.stderr)
    return EXIT_INTERNAL


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for diagnostic in sorted(diagnostics, key=_file_order):
        print(diagnostic, file=sys.stderr)


def _file_order(d: Diagnostic) -> tuple[str, int, int]:
    return (d.path, d.line or 0, d.col or 0)


def _human_size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MB"


class StatusLine:
    """Progress on a terminal: one line, rewritten in place, cleared at the end."""

    def __call__(self, message: str) -> None:
        sys.stderr.write(f"\r\033[K{message}" + ("…" if message else ""))
        sys.stderr.flush()


def run_build(args: argparse.Namespace) -> int:
    book_dirs = [Path(folder) for folder in args.book_dirs or [default_book_dir()]]
    if len(book_dirs) == 1:
        args.cluster = connect_cluster(args)
        return build_book(args, book_dirs[0], Path(args.out), [])
    return build_catalogue(args, book_dirs)


def connect_cluster(args: argparse.Namespace) -> Any:
    """The cluster to lay out on (cluster.ClusterSpec), if one was named: its workers asked
    what they run, in a process of its own (Dask's client runs threads, and this process forks
    the builds); a line for each worker given no work."""
    from .cluster import fit_workers, no_worker, scheduler_address
    from .workers import Job

    address = scheduler_address(args.scheduler)
    if address is None or "pdf" not in formats_of(args):  # (the EPUB has nothing to lay out)
        return None
    if not args.quiet:
        print(f"connecting to the Dask scheduler at {address}", file=sys.stderr, flush=True)
    spec, refused = Job(fit_workers, address).wait()
    for line in refused:
        print(line, file=sys.stderr)
    if spec is None:
        raise no_worker(address, refused)
    return spec


def formats_of(args: argparse.Namespace) -> tuple[str, ...]:
    return ("epub", "pdf") if args.format == "all" else (args.format,)


def print_target(args: argparse.Namespace) -> str | None:
    """The print service among --target's (the last named)."""
    return next((t for t in reversed(args.target or []) if t in PRINT_TARGETS), None)


def store_targets(args: argparse.Namespace) -> tuple[str, ...]:
    """The EPUB stores among --target's, each once, in a stable order."""
    return tuple(sorted({t for t in args.target or [] if t in STORE_TARGETS}))


def build_catalogue(args: argparse.Namespace, book_dirs: list[Path]) -> int:
    """Several books at once, each in a process of its own, sharing --jobs layout slots (so that
    no two books' layouts compete for the cores); each book's lines are printed when it is done,
    under its name, and a broken book does not stop the others."""
    from .workers import available_cpus, share_slots

    # The folder's own name, as given ("." is the current folder's; a link keeps its name);
    # compared as a case-insensitive file system would.
    names = [Path(os.path.abspath(folder)).name for folder in book_dirs]
    folded = [name.casefold() for name in names]
    for name in dict.fromkeys(n for n in names if folded.count(n.casefold()) > 1):
        shared = ", ".join(str(f) for f, n in zip(book_dirs, names, strict=True)
                           if n.casefold() == name.casefold())
        print(f"bookbuild: error: two books are named {name} ({shared}): their outputs would share "
              f"{Path(args.out) / name}; rename a folder, or build them apart", file=sys.stderr)
        return EXIT_BAD_INPUT
    args.cluster = connect_cluster(args)
    jobs = args.jobs or available_cpus()
    with tempfile.TemporaryDirectory(prefix="bookbuild-catalogue-") as logs:
        if args.cluster is None:
            share_slots(jobs, Path(logs))
        catalogue = Catalogue(args, list(zip(book_dirs, names, strict=True)), Path(logs))
        return catalogue.build(at_once=min(jobs, len(book_dirs)))


class Catalogue:
    """The books of one `build`, built `at_once` at a time; the summary table at the end."""

    def __init__(self, args: argparse.Namespace, books: list[tuple[Path, str]], logs: Path):
        self.args = args
        self.books = books
        self.logs = logs
        self.rows: dict[int, tuple[str, str, float, str]] = {}
        self.codes: dict[int, int] = {}
        self.status = StatusLine() if sys.stderr.isatty() and not args.quiet else None

    def build(self, at_once: int) -> int:
        from .workers import ChildFailure, Job

        waiting = list(range(len(self.books)))
        running: dict[int, Job] = {}
        try:
            while waiting or running:
                while waiting and len(running) < at_once:
                    number = waiting.pop(0)
                    folder, name = self.books[number]
                    running[number] = Job(_book_in_process, self.args, folder,
                                          Path(self.args.out) / name, Path(self.args.out),
                                          self.logs / str(number), daemon=False)
                self._show_progress(running)
                for number in [n for n, job in running.items() if job.finished()]:
                    job = running.pop(number)
                    try:
                        code, found = job.wait()
                    except ChildFailure as failure:  # the book's process died (memory?)
                        code, found = EXIT_INTERNAL, None
                        failure_line = f"bookbuild: internal error: {failure}"
                    else:
                        failure_line = ""
                    self._finished(number, code, found, time.perf_counter() - job.started,
                                   failure_line)
                time.sleep(0.1)
        except BaseException as error:
            for job in running.values():  # all at once: each then cleans up while we wait
                job.interrupt()
            for job in running.values():
                job.cancel()
            if isinstance(error, KeyboardInterrupt):  # (Ctrl-C, SIGTERM) what was built, then stop
                if self.status is not None:
                    self.status("")
                rows = [self.rows.get(n, (name, "-", 0.0, "not built" if n in waiting else
                                          "interrupted")) for n, (_folder, name) in enumerate(self.books)]
                print_catalogue(rows, sys.stderr)
            raise
        if self.status is not None:
            self.status("")
        if not self.args.quiet:
            sys.stdout.flush()
            print_catalogue([self.rows[n] for n in range(len(self.books))])
        return max(self.codes.values())  # 3 (internal) over 2 (bad input) over 0

    def _show_progress(self, running: dict[int, Any]) -> None:
        if self.status is not None and running:
            names = ", ".join(self.books[n][1] for n in sorted(running))
            self.status(f"{len(self.rows)} of {len(self.books)} books built; building {names}")

    def _finished(self, number: int, code: int, found: tuple[str, str] | None, seconds: float,
                  failure_line: str) -> None:
        """Print what the book's process said, under the book's name, and note its row."""
        name = self.books[number][1]
        header = f"book {number + 1} of {len(self.books)}: {name}"
        if self.status is not None:
            self.status("")
        sys.stdout.flush()
        if not self.args.quiet:
            print(header, file=sys.stderr, flush=True)
        for stream, suffix in ((sys.stderr, ".err"), (sys.stdout, ".out")):
            log = self.logs / f"{number}{suffix}"
            if log.is_file():
                stream.write(log.read_text(encoding="utf-8", errors="replace"))
                stream.flush()
        if failure_line:
            print(failure_line, file=sys.stderr)
        if code and self.args.quiet:
            print(f"({header})", file=sys.stderr)  # what the problems above belong to
        pages, result = found if found else ("-", RESULTS[code])
        self.rows[number] = (name, pages, seconds, result)
        self.codes[number] = code


def _book_in_process(args: argparse.Namespace, folder: Path, out_dir: Path, catalogue_out: Path,
                     log: Path) -> tuple[int, tuple[str, str] | None]:
    """One book of a catalogue, in a process of its own: what it prints goes to `log`.out and
    .err (read back by the catalogue), its exit code and (pages, result) come back."""
    for stream, suffix in ((sys.stdout, ".out"), (sys.stderr, ".err")):
        stream.flush()
        handle = os.open(f"{log}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, stream.fileno())
        os.close(handle)
    found: list[tuple[str, str]] = []
    try:
        code = reported(functools.partial(build_book, args, folder, out_dir, found, catalogue_out),
                        args.debug)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code, found[0] if found else None


RESULTS = {EXIT_OK: "built", EXIT_BAD_INPUT: "bad input", EXIT_INTERNAL: "internal error"}


def print_catalogue(rows: list[tuple[str, str, float, str]], stream: Any = None) -> None:
    """The summary: book, pages (of the PDF built; "-" when none was laid out: unchanged, EPUB
    only, failed), seconds, result."""
    width = max(len("book"), *(len(name) for name, *_ in rows))
    print(f"{'book':<{width}}  {'pages':>5}  {'seconds':>7}  result", file=stream or sys.stdout)
    for name, pages, seconds, result in rows:
        print(f"{name:<{width}}  {pages:>5}  {seconds:>7.1f}  {result}", file=stream or sys.stdout)


def build_book(args: argparse.Namespace, book_dir: Path, out_dir: Path,
               found: list[tuple[str, str]], catalogue_out: Path | None = None) -> int:
    """One book into `out_dir`; `found` gets its page count and how it went. `catalogue_out`:
    the folder of every book's outputs, never an input of this one's."""
    from .cache import fresh_outputs, input_key
    from .writers.atomic import remove_stale_parts

    formats = formats_of(args)
    overrides = {key: value for key, value in
                 (("variant", args.pdf_variant), ("target", print_target(args))) if value}
    stores = store_targets(args)
    key = None
    if (book_dir / "book.toml").is_file() and not args.no_cache:
        key = input_key(book_dir, out_dir, {"formats": formats, "strict": args.strict,
                                            "stores": stores, **overrides},
                        also_skip=catalogue_out)
        unchanged = fresh_outputs(key, out_dir)
        if unchanged is not None:
            for path in unchanged:
                remove_stale_parts(path)
            if not args.quiet:
                for path in unchanged:
                    print(f"{path}  {_human_size(path.stat().st_size)}  unchanged")
            found.append(("-", "unchanged"))
            return EXIT_OK

    from .pipeline import build, remember_outputs

    progress = StatusLine() if sys.stderr.isatty() and not args.quiet else None
    try:
        result = build(book_dir, out_dir, formats, strict=args.strict, progress=progress,
                       pdf_overrides=overrides, jobs=args.jobs, reuse_layouts=not args.no_cache,
                       cluster=args.cluster, stores=stores)
    finally:
        if progress is not None:
            progress("")  # the problems that follow start on a clean line
    if key is not None:
        remember_outputs(key, out_dir, result)
    print_diagnostics(result.warnings)
    if not args.quiet:
        for output in result.outputs:
            pages = "" if output.pages is None else \
                f"  {output.pages} page{'s' if output.pages != 1 else ''}"
            note = f"  ({output.note})" if output.note else ""
            print(f"{output.path}  {_human_size(output.bytes)}{pages}  {output.seconds:.1f} s{note}")
    pdf_pages = [output.pages for output in result.outputs if output.format == "pdf"]
    found.append((str(pdf_pages[0]) if pdf_pages else "-", "built"))
    return EXIT_OK


def run_preflight(args: argparse.Namespace) -> int:
    from .preflight import preflight, summary

    result = preflight(Path(args.pdf), args.target)
    for finding in result.findings + result.proof.findings:
        print(finding)
    print(result.proof.summary())
    print(summary(result))  # the verdict last
    clean = result.passed and not (args.strict and result.proof.findings)
    return EXIT_OK if clean else EXIT_FINDINGS


def run_check(args: argparse.Namespace) -> int:
    from .check import check_book, summary_lines

    progress = StatusLine() if sys.stderr.isatty() else None
    try:
        result = check_book(Path(args.book_dir), target=print_target(args), stores=store_targets(args),
                            progress=progress)
    finally:
        if progress is not None:
            progress("")
    for diagnostic in sorted(result.diagnostics, key=_file_order):
        print(diagnostic)
    for line in summary_lines(result):
        print(line)
    return EXIT_OK if result.clean(args.strict) else EXIT_FINDINGS


def run_new(args: argparse.Namespace) -> int:
    from .new import new_book

    written = new_book(Path(args.folder), args.title)
    for path in written:
        print(f"created {path}{'/' if path.is_dir() else ''}")
    folder = shlex.quote(str(args.folder))  # a title with spaces makes a folder with spaces
    print(f"next: bookbuild build {folder}   (or: bookbuild serve {folder})")
    return EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    from .diff import diff, read, summary

    old, new = read(Path(args.old)), read(Path(args.new))
    lines, counts = diff(old, new)
    print(f"--- {args.old}\n+++ {args.new}")
    for line in lines:
        print(line)
    print(summary(counts))
    return EXIT_FINDINGS if lines else EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    def say(message: str) -> None:
        print(message, flush=True)

    try:
        serve(Path(args.book_dir), args.host, args.port, say)
    except KeyboardInterrupt:
        print("stopped")
    return EXIT_OK


COMMANDS = {"build": run_build, "check": run_check, "diff": run_diff, "new": run_new,
            "preflight": run_preflight, "serve": run_serve}


if __name__ == "__main__":
    raise SystemExit(main())
