"""Where the print pages began, kept in the output folder after a build that laid out the PDF,
so that an EPUB-only build (`--format epub`) can still mark them while nothing the layout
depends on changed.

The entry is keyed by all the layout reads (print_key): the print HTML, its page geometry and
options, the stylesheets, the files they load and the typeface, bookbuild's code and libraries.
It is signed, with its key, by the user's own key (cache.user_key), as the kept chapters are:
an entry planted or edited in a book's own build/ folder, or kept for other sources, is never
used; what it holds is checked again before use (labels, units, counts).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from .cache import code_digest, file_hash, kept_folder, library_versions, read_kept, user_key
from .model import PrintDocument
from .pagemap import PAGE_ID, PageStart, page_id
from .resources import book_fonts
from .writers.atomic import write_atomically

SUFFIX = ".pages"


def print_key(document: PrintDocument) -> str:
    """Everything the print layout depends on, hashed."""
    files = [*document.stylesheets, *document.style_files,
             *(face.path for face in book_fonts(document.design.typeface).faces)]
    key = json.dumps([document.html, document.page_css, repr(document.options),
                      [(str(path), file_hash(path)) for path in files], code_digest(),
                      library_versions()])
    return hashlib.sha256(key.encode()).hexdigest()


def save(out_dir: Path, stem: str, key: str, starts: tuple[PageStart, ...]) -> None:
    """Keep `starts` for the next EPUB-only build. Best effort: once the outputs are in place."""
    secret, folder = user_key(), kept_folder(out_dir)
    if secret is None or folder is None:
        return
    payload = json.dumps([[s.page, s.label, s.unit, s.offset, s.snippet] for s in starts])
    entry = {"mac": _mac(secret, key, payload), "payload": payload}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / f"{stem}{SUFFIX}", json.dumps(entry).encode())
    except OSError:
        pass


def load(out_dir: Path, stem: str, key: str, units: frozenset[str]) -> tuple[PageStart, ...] | None:
    """What the last PDF build kept, if it was laid out from these very sources; else None."""
    secret, folder = user_key(), kept_folder(out_dir)
    if secret is None or folder is None:
        return None
    try:
        entry = json.loads(read_kept(folder / f"{stem}{SUFFIX}") or b"null")
        payload = str(entry["payload"])
        if not hmac.compare_digest(str(entry["mac"]), _mac(secret, key, payload)):
            return None
        starts = tuple(PageStart(int(page), str(label), str(unit), int(offset), str(snippet))
                       for page, label, unit, offset, snippet in json.loads(payload))
    except Exception:  # anything unexpected in a file of the output folder: nothing kept
        return None
    labels = [s.label for s in starts]
    if len(set(labels)) != len(labels) or not all(
            PAGE_ID.match(page_id(s.label)) and s.unit in units and s.offset >= 0 for s in starts):
        return None
    return starts


def _mac(secret: bytes, key: str, payload: str) -> str:
    return hmac.new(secret, f"{key}\0{payload}".encode(), hashlib.sha256).hexdigest()
