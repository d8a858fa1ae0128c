"""`bookbuild check`: every input check, then a build in a scratch folder run through
EPUBCheck, DAISY Ace and the print preflight, with one summary. Writes nothing in build/."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, display_path
from .kindle import convert_to_azw3
from .loader import load
from .pipeline import Progress, build
from .preflight import preflight
from .proof import Sources
from .validators import ToolResult, run_ace, run_epubcheck


@dataclass
class CheckResult:
    tools: list[ToolResult] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for tool in self.tools for d in tool.diagnostics]

    def clean(self, strict: bool) -> bool:
        if any(tool.missing for tool in self.tools):
            return False
        return not any(d.severity == "error" or strict for d in self.diagnostics)


def check_book(book_dir: Path, *, target: str | None = None, stores: tuple[str, ...] = (),
               progress: Progress | None = None) -> CheckResult:
    """`target`: the print service; `stores`: the EPUB stores (kindle adds Calibre's conversion)."""
    overrides: dict[str, Any] = {"target": target} if target else {}
    result = CheckResult()
    say = progress or (lambda _message: None)
    with tempfile.TemporaryDirectory(prefix="bookbuild-check-") as scratch:
        built = build(book_dir, Path(scratch), pdf_overrides=overrides, progress=progress,
                      stores=stores)
        result.tools.append(ToolResult("bookbuild", list(built.warnings)))
        outputs = {output.format: output.path for output in built.outputs}
        slug = outputs["epub"].stem
        shown = display_path(book_dir)
        say("EPUBCheck")
        result.tools.append(run_epubcheck(outputs["epub"], f"{shown}:{slug}.epub"))
        say("DAISY Ace")
        result.tools.append(run_ace(outputs["epub"], f"{shown}:{slug}.epub"))
        book = load(book_dir)
        if book.epub.for_store("kindle", stores):
            say("converting the EPUB to AZW3 (Calibre)")
            result.tools.append(convert_to_azw3(outputs["epub"], f"{shown}:{slug}.epub"))
        say("preflight and proof of the PDF")
        # The generic preflight always runs (an image at 84 ppi fails any printer); a print target
        # adds its service's own rules.
        found = preflight(outputs["pdf"], target or book.pdf.target)
        shown_pdf = f"{shown}:{slug}.pdf"
        result.tools.append(ToolResult("preflight", [replace(d, path=shown_pdf) for d in found.findings]))
        # The print proof's findings are warnings: they fail only a --strict check. Each names
        # the Markdown file and line its words come from, where they are found.
        sources = Sources({section.path: section.path.read_text(encoding="utf-8")
                           for section in book.sections})
        result.tools.append(ToolResult("proof", [
            replace(d, path=shown_pdf, severity="warning",
                    message=_with_source(d.message, sources.locate(quote), book.root))
            for d, quote in zip(found.proof.findings, found.proof.quotes, strict=True)]))
    return result


def _with_source(message: str, source: tuple[Path, int] | None, root: Path) -> str:
    if source is None:
        return message
    return f"{source[0].relative_to(root)}:{source[1]}: {message}"


def summary_lines(result: CheckResult) -> list[str]:
    lines = []
    for tool in result.tools:
        if tool.missing:
            state = f"not installed — install it: {tool.missing}"
        elif tool.skipped:
            state = f"not run ({tool.skipped})"
        else:
            state = f"{tool.errors} error{'s' * (tool.errors != 1)}, " \
                    f"{tool.warnings} warning{'s' * (tool.warnings != 1)}"
        lines.append(f"  {tool.tool:<10} {state}")
    errors = sum(tool.errors for tool in result.tools)
    warnings = sum(tool.warnings for tool in result.tools)
    headline = f"check: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    missing = [tool.tool for tool in result.tools if tool.missing]
    if missing:  # never a clean-looking line when a validator did not run
        headline = f"check: incomplete, {' and '.join(missing)} not installed; {headline[7:]} from the rest"
    return [headline, *lines]
