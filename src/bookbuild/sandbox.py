"""A url_fetcher for WeasyPrint that never reaches the network or leaves the allowed folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher

from .diagnostics import BookError, book_error


class RefusedResource(FatalURLFetchingError):
    """Raised for a reference outside the book; aborts the layout at once."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")

    def as_book_error(self, book_dir: Path) -> BookError:
        return book_error(book_dir, "resource-refused", f'the book refers to "{self.url}": {self.reason}',
                          hint="keep every image, font and stylesheet inside the book folder")


class BookFetcher(URLFetcher):
    """Serves data: URLs and files below `roots`; refuses everything else."""

    def __init__(self, roots: tuple[Path, ...]):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.roots = tuple(root.resolve() for root in roots)
        # WeasyPrint swallows some fetch errors (an image inside an SVG): every refusal is kept
        # here, so the caller fails the build with it even when WeasyPrint went on.
        self.refused: list[RefusedResource] = []

    def fetch(self, url: str, headers: dict | None = None) -> Any:
        parts = urlsplit(url)
        if parts.scheme == "data":
            return super().fetch(url, headers)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "a book may not load anything from the network")
        return self.fetch_file(url, unquote(parts.path), headers)

    def fetch_file(self, url: str, path: str, headers: dict | None) -> Any:
        """A file: URL (`path`, unquoted), from the disk below `roots`."""
        if not any(Path(path).resolve().is_relative_to(root) for root in self.roots):
            raise self._refuse(url, "the file is outside the book folder")
        return super().fetch(url, headers)

    def _refuse(self, url: str, reason: str) -> RefusedResource:
        refused = RefusedResource(url, reason)
        self.refused.append(refused)
        return refused
