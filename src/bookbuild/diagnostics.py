"""Diagnostics: every problem bookbuild reports, in one printable shape.

`book/chapter-3.md:12:5: error[note-undefined]: note [^keller] is used but never defined`
`build/book.pdf: page 87 (PDF page 99): warning[proof-loose]: the word spaces of "…" are …`
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int | None
    col: int | None
    severity: Severity
    code: str
    message: str
    hint: str | None = None
    page: str | None = None  # in a PDF: the printed folio, and the PDF page when they differ

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        if self.page is not None:
            where += f": page {self.page}"
        text = f"{where}: {self.severity}[{self.code}]: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


def display_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the current folder when below it."""
    path = Path(path)
    try:
        return os.path.relpath(path) if path.is_absolute() and _is_below_cwd(path) else str(path)
    except ValueError:
        return str(path)


def _is_below_cwd(path: Path) -> bool:
    try:
        path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return False
    return True


@dataclass
class Report:
    """Collects diagnostics from a stage so that all problems are reported together."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, path: Path | str, code: str, message: str, *, line: int | None = None,
              col: int | None = None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(display_path(path), line, col, "error", code, message, hint))

    def warning(self, path: Path | str, code: str, message: str, *, line: int | None = None,
                col: int | None = None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(display_path(path), line, col, "warning", code, message, hint))

    def extend(self, other: Report | list[Diagnostic]) -> None:
        self.items.extend(other.items if isinstance(other, Report) else other)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise BookError(self.items)


class BookError(Exception):
    """Bad input: the book (or the command line) must be fixed. Exit code 2."""

    exit_code = 2

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        self.diagnostics = [diagnostics] if isinstance(diagnostics, Diagnostic) else diagnostics
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def __reduce__(self) -> tuple[type[BookError], tuple[list[Diagnostic]]]:
        # (raised on a cluster's worker, it crosses to the client pickled, diagnostics and all)
        return (BookError, (self.diagnostics,))


def book_error(path: Path | str, code: str, message: str, *, line: int | None = None,
               col: int | None = None, hint: str | None = None) -> BookError:
    report = Report()
    report.error(path, code, message, line=line, col=col, hint=hint)
    return BookError(report.items)
