"""Checks of a book's own stylesheets: nothing remote, nothing outside the book, and what
WeasyPrint would ignore, each with the stylesheet's file, line and column."""

from __future__ import annotations

import re
from pathlib import Path

from .diagnostics import Report
from .weasylog import captured

_URL = re.compile(r"""(?:url\(\s*|@import\s+)(['"]?)([^'")\s]+)\1""", re.I)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//|^(https?|ftp):", re.I)
_AT = re.compile(r"at (\d+):(\d+)")


def check_stylesheet(path: Path, book_root: Path, report: Report) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _URL.finditer(line):
            target = match.group(2)
            col = match.start() + 1
            if target.startswith("data:"):
                continue
            if _REMOTE.match(target):
                report.error(path, "css-remote", f'the stylesheet loads "{target}" from the network',
                             line=number, col=col, hint="copy the file into the book folder")
            elif target.startswith(("file:", "/")) or not _inside(path.parent / target, book_root):
                report.error(path, "css-outside", f'the stylesheet refers to "{target}", outside the '
                             "book folder", line=number, col=col,
                             hint="keep fonts and images inside the book folder")
    for line, col, message in _weasyprint_warnings(text):
        report.warning(path, "css", message, line=line, col=col)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _weasyprint_warnings(text: str) -> list[tuple[int | None, int | None, str]]:
    """Parse the stylesheet as WeasyPrint will, and keep what it says it ignores."""
    from weasyprint import CSS

    with captured() as messages:
        # Nothing is fetched: URLs were checked above, and this parse resolves none.
        CSS(string=text, url_fetcher=_refuse)
    found = []
    for message in messages:
        where = _AT.search(message)
        line, col = (int(where.group(1)), int(where.group(2))) if where else (None, None)
        clean = _AT.sub("", message).replace(" ,", ",").strip(" .,")
        found.append((line, col, clean[0].lower() + clean[1:] if clean else message))
    return found


def _refuse(url: str, *args: object, **kwargs: object) -> None:
    raise ValueError(f"not fetched while checking: {url}")
