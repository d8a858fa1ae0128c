"""A Dask cluster for the print layouts (`--scheduler`, BOOKBUILD_SCHEDULER): the connection, and
which of its workers may take our work.

The layouts on a worker must make the very bytes this machine would: a worker is given work only
when it runs the same bookbuild code with the same WeasyPrint, Pango and HarfBuzz, and has the
same typeface files (EB Garamond, and Linux Libertine, the fallback for the symbols it lacks).
A worker that differs is named, with what differs, and given nothing.

Dask's `distributed` is an optional extra (`bookbuild[cluster]`): imported here only, when asked
for, and never in the process that forks the layouts (its client runs threads of its own).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from dataclasses import dataclass
from typing import Any

from . import __version__
from .diagnostics import BookError, Diagnostic
from .resources import BOOK_TYPEFACE

SCHEDULER_VARIABLE = "BOOKBUILD_SCHEDULER"
# How long the client waits for the scheduler to answer before it gives up (exit 2).
CONNECT_SECONDS = 10
INSTALL_HINT = "install it with: pip install 'bookbuild[cluster]' (here and on every worker)"


@dataclass(frozen=True)
class ClusterSpec:
    """Where the layouts go: plain data, handed to each book's PDF process, which connects."""

    address: str
    workers: tuple[str, ...] | None = None  # None: any worker (every one was fit)


def scheduler_address(option: str | None) -> str | None:
    """--scheduler, else BOOKBUILD_SCHEDULER; None (or empty): lay out on this machine."""
    return option or os.environ.get(SCHEDULER_VARIABLE) or None


def unusable(address: str, message: str, hint: str) -> BookError:
    """The cluster cannot be used (exit 2): one line, naming the scheduler."""
    return BookError(Diagnostic(address, None, None, "error", "cluster", message, hint))


def client(address: str) -> Any:
    """A connected distributed.Client; a BookError in one line when there is none."""
    try:
        from distributed import Client
    except ImportError:
        raise unusable(address, "--scheduler needs Dask's distributed, which is not installed",
                       INSTALL_HINT) from None
    # What goes wrong is said here, in one line: Dask's own logging (a worker lost, a task
    # rescheduled, tracebacks) stays off the user's terminal.
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise unusable(address, f"cannot reach the Dask scheduler within {CONNECT_SECONDS} s "
                       f"({reason})", "start one with `dask scheduler`, or check the address"
                       ) from None


def fit_workers(address: str) -> tuple[ClusterSpec | None, list[str]]:
    """Connect, and ask every worker what it runs: the spec for the books' PDF processes (None
    when no worker is fit), and a line for each worker given no work."""
    connected = client(address)
    try:
        found: dict[str, Any] = connected.run(worker_environment, on_error="return")
        threads: dict[str, int] = connected.nthreads()  # (every worker)
    finally:
        connected.close()
    here = worker_environment()
    fit: list[str] = []
    refused: list[str] = []
    for worker, theirs in sorted(found.items()):
        differs = differences(here, theirs) or one_thread(threads.get(worker, 1))
        if differs:
            refused.append(f"bookbuild: worker {worker} is given no work: {differs}")
        else:
            fit.append(worker)
    if not fit:
        return None, refused
    return ClusterSpec(address, None if not refused else tuple(fit)), refused


def no_worker(address: str, refused: list[str]) -> BookError:
    why = "every worker differs from this machine" if refused else "it has no workers"
    return unusable(address, f"no worker can take the layouts: {why}",
                    "start `dask worker` where bookbuild and its typefaces are installed as here")


def one_thread(threads: int) -> str:
    """Why a worker of several threads is given no work ("" when it has one)."""
    if threads <= 1:
        return ""
    return (f"it runs {threads} threads; start it with --nthreads 1 (and --nworkers N for N cores): "
            "a layout is one process's work")


def differences(here: dict[str, str], theirs: Any) -> str:
    """What a worker runs that this machine does not, in words ("" when nothing differs)."""
    if isinstance(theirs, BaseException):  # bookbuild cannot even be imported there
        return f"it cannot run bookbuild ({type(theirs).__name__}: {theirs}); {INSTALL_HINT}"
    return "; ".join(f"{name} {theirs.get(name, 'missing')} there, {value} here"
                     for name, value in here.items() if theirs.get(name) != value)


def worker_environment(typeface: str = BOOK_TYPEFACE) -> dict[str, str]:
    """What a layout's bytes depend on besides its task (run on each worker, and here): the
    code, the libraries (those the layout cache's keys name too) and the typeface files (the
    default's at connect, each book's before its tasks)."""
    from importlib import metadata

    from weasyprint.text.ffi import pango

    from .cache import code_digest, file_hash, library_versions
    from .resources import book_fonts, fallback_fonts

    pango_version = pango.pango_version()
    found = {
        "bookbuild": __version__,
        "bookbuild code": code_digest()[:12],
        "WeasyPrint": metadata.version("weasyprint"),
        "Pango": f"{pango_version // 10000}.{pango_version // 100 % 100}.{pango_version % 100}",
        "HarfBuzz": harfbuzz_version(),
        **{name: version for name, version in library_versions().items()
           if name not in ("bookbuild", "weasyprint")},
    }
    fonts = book_fonts(typeface)
    for face in fonts.faces:
        found[f"{face.family} {face.style} {face.weight}"] = file_hash(face.path)[:12]
    if not fonts.faces:
        found[fonts.family] = "missing"
    fallback = fallback_fonts()
    found[fallback.family] = file_hash(fallback.faces[0].path)[:12] if fallback.found else "missing"
    return found


def harfbuzz_version() -> str:
    """The HarfBuzz library's version (WeasyPrint's bindings do not ask it)."""
    name = ctypes.util.find_library("harfbuzz") or "libharfbuzz.so.0"
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return "unknown"
    library.hb_version_string.restype = ctypes.c_char_p
    return library.hb_version_string().decode()
