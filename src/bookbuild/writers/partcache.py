"""Part layouts kept between builds, in the output folder: an edit lays out again only the
parts it changed (pdfparts.py), and what depends on their page numbers.

An entry is keyed by everything its layout depends on (pdfparts.part_key): the part's tree,
the page numbers written into it, the stylesheets and the files they load, the images it
places, the page geometry and gutter band, the typeface's files, the PDF options, and the
versions of bookbuild, WeasyPrint and the libraries that write the PDF. So a stale entry is
never found, only left unused; each build keeps the entries it used and removes the rest.

A build only reads the folder; what it laid out is written by save(), once the build's outputs
are in place (a failed build leaves the folder as it was, like its outputs). On disk, per book
(its output name): KEY.pdf, the part's PDF; KEY.json, its plain data; KEY.subset, a font
subset the assembly made (the glyphs of every part: one edit seldom adds a glyph); and
fonts/SHA.font, the font files the parts embed and the subsets, stored once. What is found is checked before
it is trusted (the folder may have been edited by hand): anything unexpected is a miss.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pikepdf

from ..cache import KEPT_DIR, kept_folder, read_kept, user_key
from ..parts import PartLayout
from .atomic import write_atomically

CACHE_DIR = KEPT_DIR


class PartCache:
    def __init__(self, out_dir: Path, book: str):
        self.root = kept_folder(out_dir, book)
        self.fonts = kept_folder(out_dir, book, "fonts")
        self.used: set[str] = set()
        self.pending: dict[str, PartLayout] = {}
        self.pending_subsets: dict[str, bytes] = {}
        self.secret = user_key()

    def _name(self, key: str) -> str | None:
        if self.secret is None or self.root is None or self.fonts is None:
            return None  # (nothing kept: no key of the user's, or the folder is a link)
        return hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()

    def get(self, key: str) -> PartLayout | None:
        if key in self.pending:
            return self.pending[key]
        name = self._name(key)
        if name is None:
            return None
        try:
            assert self.root is not None
            data = json.loads(_kept(self.root / f"{name}.json"))
            pdf = _kept(self.root / f"{name}.pdf")
            if hashlib.sha256(pdf).hexdigest() != data.get("pdf_sha256", ""):
                return None
            fonts = {font: self._font(digest) for font, digest in data.pop("fonts").items()}
            part = PartLayout(pdf=pdf, fonts=fonts, **_checked(data))
            with pikepdf.open(io.BytesIO(pdf)) as opened:
                if len(opened.pages) != part.pages:
                    return None
        except Exception:  # anything unexpected in a file of the output folder: not found
            return None
        self.used.add(name)
        return part

    def put(self, key: str, part: PartLayout) -> None:
        self.pending[key] = part

    def get_subset(self, key: str) -> bytes | None:
        """A font subset the assembly made before (assemble.subset), under the key of its font
        file and glyphs."""
        if key in self.pending_subsets:
            return self.pending_subsets[key]
        name = self._name(key)
        if name is None:
            return None
        try:
            assert self.root is not None
            digest = json.loads(_kept(self.root / f"{name}.subset"))["font"]
            content = self._font(str(digest))
        except Exception:  # anything unexpected in a file of the output folder: not found
            return None
        self.used.add(name)
        return content

    def put_subset(self, key: str, content: bytes) -> None:
        self.pending_subsets[key] = content

    def save(self) -> None:
        """Write what this build laid out and remove what it did not use. Best effort: the
        outputs are in place, and a layout not kept only costs the next build its time."""
        try:
            for key, part in self.pending.items():
                name = self._name(key)
                if name is not None:
                    self._write(name, part)
                    self.used.add(name)
            for key, content in self.pending_subsets.items():
                name = self._name(key)
                if name is not None and self.root is not None:
                    self.root.mkdir(parents=True, exist_ok=True)
                    digest = self._write_font(content)
                    write_atomically(self.root / f"{name}.subset",
                                     json.dumps({"font": digest}).encode())
                    self.used.add(name)
            self.pending.clear()
            self.pending_subsets.clear()
            self.prune()
        except OSError:
            pass

    def _write(self, key: str, part: PartLayout) -> None:
        assert self.root is not None
        self.root.mkdir(parents=True, exist_ok=True)
        fonts = {name: self._write_font(content) for name, content in part.fonts.items()}
        data = {field: value for field, value in asdict(part).items() if field not in ("pdf", "fonts")}
        data["fonts"] = fonts
        data["pdf_sha256"] = hashlib.sha256(part.pdf).hexdigest()
        write_atomically(self.root / f"{key}.pdf", part.pdf)
        write_atomically(self.root / f"{key}.json", json.dumps(data).encode())

    def _write_font(self, content: bytes) -> str:
        """Store a font file once, under its digest; the digest."""
        assert self.fonts is not None
        digest = hashlib.sha256(content).hexdigest()
        path = self.fonts / f"{digest}.font"
        kept = read_kept(path)
        # (missing, or changed by hand: written again)
        if kept is None or hashlib.sha256(kept).hexdigest() != digest:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, content)
        return digest

    def prune(self) -> None:
        """Remove the entries this build did not use, and the fonts no entry names."""
        if self.root is None or self.fonts is None or not self.root.is_dir():
            return  # (a folder of its own, not a link: kept_folder)
        fonts: set[str] = set()
        for path in self.root.iterdir():
            if path.suffix in (".json", ".pdf", ".subset") and path.stem not in self.used:
                path.unlink(missing_ok=True)
            elif path.suffix in (".json", ".subset"):
                try:
                    data = json.loads(_kept(path))
                    fonts.update(data["fonts"].values() if path.suffix == ".json" else [data["font"]])
                except Exception:  # anything unexpected: not kept
                    path.unlink(missing_ok=True)
        if self.fonts.is_dir():
            for path in self.fonts.iterdir():
                if path.stem not in fonts:
                    path.unlink(missing_ok=True)

    def _font(self, digest: str) -> bytes:
        assert self.fonts is not None
        content = _kept(self.fonts / f"{digest}.font")
        if hashlib.sha256(content).hexdigest() != digest:
            raise ValueError("a font file changed")
        return content


def _kept(path: Path) -> bytes:
    """A kept file's bytes (cache.read_kept), or ValueError."""
    content = read_kept(path)
    if content is None:
        raise ValueError(f"not a kept file: {path.name}")
    return content


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON's fields as PartLayout has them (tuples), or ValueError."""
    pages, first_pages, layouts = data["pages"], data["first_pages"], data["layouts"]
    if not all(isinstance(n, int) for n in (pages, first_pages, layouts)):
        raise ValueError("counts")
    names = tuple(str(name) for name in data["page_names"])
    anchors = {str(name): int(page) for name, page in data["anchors"].items()}
    bookmarks = tuple(tuple((int(level), str(label), float(x), float(y), str(state))
                            for level, label, x, y, state in page) for page in data["bookmarks"])
    starts = tuple(None if start is None else (str(start[0]), int(start[1]), str(start[2]))
                   for start in data["page_starts"])
    if len(names) != pages or len(bookmarks) != pages or len(starts) != pages \
            or any(start is not None and start[1] < 0 for start in starts):
        raise ValueError("pages")
    return {"pages": pages, "first_pages": first_pages, "layouts": layouts,
            "page_names": names, "anchors": anchors, "bookmarks": bookmarks,
            "seconds": float(data.get("seconds", 0.0)), "unmergeable": str(data.get("unmergeable", "")),
            "page_starts": starts}
