"""Parsed chapters kept between builds, in the output folder: a build parses again only the
Markdown files that changed. Parsing every chapter is most of what a rebuild spends before the
layout (2.3 s of the 6.6 s a one-word edit in a 1,000-page book took).

An entry is keyed by all parse.parse_section reads: the section (its file, text, kind, title
and place) and bookbuild's code and libraries; so a stale entry is never found. Entries are
named and signed with the user's own key (cache.user_key): the parsed HTML goes into the
outputs as it is, so an entry planted, edited or moved in an output folder (a book's own
build/, say) is never used, and the file is read only if it is a file (cache.read_kept).
What the build did not use is dropped when it saves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .cache import code_digest, kept_folder, library_versions, read_kept, user_key
from .diagnostics import Diagnostic, Report, display_path
from .model import Book, Chapter, Heading, Image, Note, Section
from .writers.atomic import write_atomically

SUFFIX = ".chapters"


class KeptChapters:
    def __init__(self, out_dir: Path):
        self.root = kept_folder(out_dir)  # (None: a link, never followed)
        self.secret = user_key()
        self.path: Path | None = None
        self.found: dict[str, Any] = {}  # what the last build kept
        self.kept: dict[str, Any] = {}  # what this build used or parsed: what save() writes

    def open(self, book: Book) -> None:
        """Read what the last build of `book` into this folder kept."""
        if self.root is None:
            return
        self.path = self.root / f"{book.meta.output_stem}{SUFFIX}"
        try:
            found = json.loads(read_kept(self.path) or b"{}")
        except Exception:  # anything unexpected in a file of the output folder: nothing kept
            return
        if isinstance(found, dict):
            self.found = found

    def get(self, section: Section) -> tuple[Chapter, Report] | None:
        name = self._name(section)
        entry = self.found.get(name) if name is not None else None
        if not isinstance(entry, dict) or name is None:
            return None
        try:
            payload = entry["payload"]
            if not hmac.compare_digest(str(entry["mac"]), self._mac(name, payload)):
                return None
            parsed = _chapter(section, json.loads(payload))
        except Exception:  # anything unexpected in a file of the output folder: not found
            return None
        self.kept[name] = entry
        return parsed

    def put(self, section: Section, chapter: Chapter | None, report: Report) -> None:
        """Keep a section's parse, unless it failed (the next build says why again)."""
        name = self._name(section)
        if name is None or chapter is None or report.errors:
            return
        plain = _plain(chapter, report)
        if plain is None:
            return
        payload = json.dumps(plain, sort_keys=True)
        self.kept[name] = {"mac": self._mac(name, payload), "payload": payload}

    def save(self) -> None:
        """Write what this build used and parsed, once its outputs are in place. Best effort:
        a parse not kept only costs the next build its time."""
        if self.root is None or self.path is None or self.secret is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(self.kept, sort_keys=True).encode())
        except OSError:
            pass

    def _name(self, section: Section) -> str | None:
        if self.secret is None:
            return None
        key = json.dumps([section.id, section.kind, str(section.path), section.source,
                          section.title, section.front_matter, section.part, code_digest(),
                          library_versions(), sys.version])
        return hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()

    def _mac(self, name: str, payload: str) -> str:
        """Signs the payload under its name: a payload moved to another section's is not used."""
        assert self.secret is not None
        return hmac.new(self.secret, f"{name}\0{payload}".encode(), hashlib.sha256).hexdigest()


def _plain(chapter: Chapter, report: Report) -> dict[str, Any] | None:
    """The parse as JSON data; None if a diagnostic names another file than the section's. A
    diagnostic's path is kept out: it is shown from the folder the build runs in."""
    shown = display_path(chapter.section.path)
    if any(diagnostic.path != shown for diagnostic in report.items):
        return None
    return {"title": asdict(chapter.title), "body_html": chapter.body_html,
            "headings": [asdict(heading) for heading in chapter.headings],
            "notes": [asdict(note) for note in chapter.notes],
            "images": [asdict(image) for image in chapter.images],
            "ids": sorted(chapter.ids),
            "diagnostics": [{**asdict(d), "path": None} for d in report.items]}


def _chapter(section: Section, data: dict[str, Any]) -> tuple[Chapter, Report]:
    chapter = Chapter(
        section=section, title=Heading(**data["title"]), body_html=str(data["body_html"]),
        headings=tuple(Heading(**heading) for heading in data["headings"]),
        notes=tuple(Note(**{**note, "ref_ids": tuple(note["ref_ids"])}) for note in data["notes"]),
        images=tuple(Image(**image) for image in data["images"]),
        ids=frozenset(str(i) for i in data["ids"]))
    report = Report()
    shown = display_path(section.path)
    report.extend([Diagnostic(**{**diagnostic, "path": shown}) for diagnostic in data["diagnostics"]])
    return chapter, report
