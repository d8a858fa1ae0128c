"""`bookbuild serve`'s print view: the pages of the chapter being edited, as the PDF has them.

After each rebuild of the preview, the PDF is built (`bookbuild build --format pdf`) into a
folder of the session's own, in a process of its own, one build at a time: the layouts of the
parts are kept there (writers/partcache.py), so after the first build an edit lays out its own
chapter again, and what depends on its page numbers. The pages are drawn as images when asked.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pypdfium2
from pypdf import PdfReader

PAGE_SCALE = 1.5  # 108 pixels to the inch: a 6 x 9 in page is 648 x 972


class PrintView:
    def __init__(self, book_dir: Path, ready: Callable[[], None], say: Callable[[str], None]):
        self.book_dir = book_dir
        self.ready = ready  # told when new pages are in place
        self.say = say
        self.folder = Path(tempfile.mkdtemp(prefix="bookbuild-print-"))
        self.wanted = threading.Event()
        self.lock = threading.Lock()
        self.pdf: bytes | None = None
        self.starts: dict[str, int] = {}  # each part's first page (0-based), by its id
        self.count = 0
        self.problem = ""
        self.building = False
        self.images: dict[int, bytes] = {}
        self.process: subprocess.Popen[str] | None = None
        self.stopping = False

    def request(self) -> None:
        """The sources changed: lay out again (once the build under way, if any, is done)."""
        self.wanted.set()

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            if self.wanted.wait(0.2) and not stopping.is_set():
                self.wanted.clear()
                self._build()

    def stop(self) -> None:
        self.stopping = True  # (the build killed here is no failure to report)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _build(self) -> None:
        self.building = True
        command = [sys.executable, "-m", "bookbuild", "build", str(self.book_dir), "--format", "pdf",
                   "--out", str(self.folder), "--quiet"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        _, errors = self.process.communicate()
        self.building = False
        if self.stopping:
            return
        if self.process.returncode != 0:
            self.problem = next((line for line in errors.splitlines() if line.strip()), "failed")
            self.say(f"print view: {self.problem}")
        else:
            pdf = next((path for path in self.folder.glob("*.pdf")
                        if not path.name.endswith("-cover.pdf")), None)
            if pdf is not None:
                self._load(pdf.read_bytes())
        self.ready()

    def _load(self, pdf: bytes) -> None:
        reader = PdfReader(io.BytesIO(pdf))
        starts: dict[str, int] = {}
        for name, destination in reader.named_destinations.items():
            page = reader.get_destination_page_number(destination)
            if page is not None:
                starts[str(name)] = page
        with self.lock:
            self.pdf, self.starts, self.count = pdf, starts, len(reader.pages)
            self.problem = ""
            self.images = {}

    def pages_of(self, part: str, parts: list[str]) -> list[int]:
        """The pages of `part` (a section's id): from its first page to the next part's."""
        with self.lock:
            if part not in self.starts:
                return []
            first = self.starts[part]
            later = [self.starts[other] for other in parts if other in self.starts
                     and self.starts[other] > first]
            return list(range(first, min(later, default=self.count)))

    def image(self, index: int) -> bytes | None:
        with self.lock:
            if self.pdf is None or not 0 <= index < self.count:
                return None
            if index not in self.images:
                document = pypdfium2.PdfDocument(self.pdf)
                try:
                    bitmap = document[index].render(scale=PAGE_SCALE)
                    buffer = io.BytesIO()
                    bitmap.to_pil().save(buffer, format="PNG")
                    self.images[index] = buffer.getvalue()
                finally:
                    document.close()
            return self.images[index]
