"""The no-op rebuild: when nothing that goes into a build has changed and its outputs are still
the files it wrote, the build is skipped. Stdlib only, so that the check runs before the heavy
imports (WeasyPrint alone takes longer to import than this takes to answer).

The key hashes every input: the book folder's files, bookbuild's code, templates and styles,
the typeface's files, the command-line options, SOURCE_DATE_EPOCH, and the versions of bookbuild
and of the libraries that shape the outputs. Any change rebuilds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import stat
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .resources import PACKAGE_DIR, TEMPLATES_DIR, TYPEFACES, book_fonts, styles_dir
from .state import BuildState

LIBRARIES = ("ebooklib", "weasyprint", "jinja2", "markdown", "pypdf", "lxml",
             "fonttools", "pypdfium2", "pillow", "pydyf", "tinycss2", "cssselect2", "pyphen", "nh3",
             "tinyhtml5")
MAX_ENTRIES = 8
KEPT_DIR = ".bookbuild-parts"  # in the output folder: what a build keeps for the next one
MAX_KEPT_BYTES = 256 << 20  # no kept file is larger (a 1,000-page book's chapters: 2.3 MB)


def kept_folder(out_dir: Path, *names: str) -> Path | None:
    """OUT/KEPT_DIR/names…, or None if any of them is there and is not a folder of its own: what
    a build keeps is never read, written or removed through a link (an output folder may come
    with a book from elsewhere)."""
    folders = [out_dir / KEPT_DIR]
    for name in names:
        folders.append(folders[-1] / name)
    for folder in folders:
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return None
        except FileNotFoundError:
            break  # (made when something is kept)
        except OSError:
            return None
    return folders[-1]


def read_kept(path: Path) -> bytes | None:
    """A kept file's bytes; None unless it is a regular file of a sane size (not a link, a FIFO,
    a device), or if it cannot be read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_KEPT_BYTES:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read(MAX_KEPT_BYTES)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def user_key() -> bytes | None:
    """This user's key for what builds keep in an output folder (writers/partcache.py,
    keptchapters.py): kept entries are named and signed with it, so entries planted in an
    output folder (a book's own build/, say) are never used. None when it cannot be kept (then
    nothing is kept either)."""
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(home) / "bookbuild" / "layout-key"
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return key
    except OSError:
        return None


def book_files(folder: Path) -> list[Path]:
    """The regular files below `folder`, in a stable order, without hidden files and folders."""
    return _files(folder, set())


def _files(folder: Path, skip: set[Path]) -> list[Path]:
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d not in skip)
        # Regular files only: a dangling link or a FIFO is not an input (and must not hang us).
        found.extend(here / name for name in sorted(names)
                     if not name.startswith(".") and (here / name).is_file())
    return found


@functools.cache
def library_versions() -> dict[str, str]:
    """(Read once a process: importlib.metadata reads each package's files every time.)"""
    versions = {"bookbuild": __version__}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return versions


def input_key(book_dir: Path, out_dir: Path, options: dict[str, Any],
              also_skip: Path | None = None) -> str:
    """`also_skip`: another output folder inside the book's (a catalogue's: other books')."""
    digest = hashlib.sha256()
    header = {"book": str(book_dir.resolve()), "options": options, "versions": library_versions(),
              "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH")}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    out = out_dir.resolve()
    # (every typeface bookbuild knows: which one the book asks for is in its manifest)
    fonts = [face.path for typeface in TYPEFACES for face in book_fonts(typeface).faces]
    digest.update(f"\0code\0{code_digest()}\0".encode())
    skip = {out, *([also_skip.resolve()] if also_skip is not None else [])}
    for group, files in (("book", _files(book_dir.resolve(), skip)), ("fonts", fonts)):
        for path in files:
            digest.update(f"\0{group}\0{path}\0".encode())
            _feed(digest, path)
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """bookbuild's own code, templates and styles: an edited checkout has the same version
    number, and must not be taken for the code that made a build or a kept layout."""
    digest = hashlib.sha256()
    code = [p for p in _files(PACKAGE_DIR, set()) if p.suffix == ".py"]
    # (named from their folders, not from /: the same code installed elsewhere, on a cluster's
    # worker, has the same digest)
    for group, root, files in (("code", PACKAGE_DIR, code),
                               ("templates", TEMPLATES_DIR, _files(TEMPLATES_DIR, set())),
                               ("styles", styles_dir(), _files(styles_dir(), set()))):
        for path in files:
            digest.update(f"\0{group}\0{path.relative_to(root)}\0".encode())
            _feed(digest, path)
    return digest.hexdigest()


def _feed(digest: hashlib._Hash, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as error:  # unreadable now: the build itself will say why, if it matters
        digest.update(f"unreadable {error.errno}".encode())


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    _feed(digest, path)
    return digest.hexdigest()


def fresh_outputs(key: str, out_dir: Path) -> list[Path] | None:
    """The outputs a build with this key wrote, if every one is still there unchanged."""
    entry = BuildState(out_dir).data.get("cache", {}).get(key)
    if not isinstance(entry, dict) or not entry:
        return None
    paths = []
    for name, recorded in entry.items():  # in the order the build wrote them
        path = out_dir / name
        if not path.is_file() or file_hash(path) != recorded:
            return None
        paths.append(path)
    return paths


def remember(key: str, out_dir: Path, outputs: list[Path]) -> None:
    state = BuildState(out_dir)
    cache = state.data.setdefault("cache", {})
    cache.pop(key, None)
    cache[key] = {path.name: file_hash(path) for path in outputs}
    while len(cache) > MAX_ENTRIES:
        cache.pop(next(iter(cache)))
    state.save()
