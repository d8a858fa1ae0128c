"""What a build remembers, in the output folder: page counts (to predict the PDF's gutter band)
and the images placed (so that preflight can name them). Losing the file costs one extra
layout at most, never a wrong book."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .writers.atomic import write_atomically

STATE_FILE = ".bookbuild-state.json"


class BuildState:
    def __init__(self, out_dir: Path):
        self.path = out_dir / STATE_FILE
        self.data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        # Written by hand or by another version: what is not as expected is forgotten, never trusted.
        return {key: value for key, value in data.items() if isinstance(value, dict)}

    def pages(self, slug: str) -> int | None:
        value = self.data.get("pages", {}).get(slug)
        return value if isinstance(value, int) and value > 0 else None

    def images(self, slug: str) -> list[tuple[str, int, int]]:
        """(source, width, height) of each image the last build placed in the PDF."""
        rows = self.data.get("images", {}).get(slug, [])
        return [(str(r[0]), r[1], r[2]) for r in rows if isinstance(rows, list) and isinstance(r, list)
                and len(r) == 3 and isinstance(r[1], int) and isinstance(r[2], int)]

    def record(self, slug: str, pages: int, images: list[tuple[str, int, int]]) -> None:
        self.data.setdefault("pages", {})[slug] = pages
        self.data.setdefault("images", {})[slug] = [list(row) for row in images]
        self.save()

    def save(self) -> None:
        # Insertion order is kept (the no-op cache drops its oldest entries first).
        write_atomically(self.path, json.dumps(self.data, indent=1).encode())
