"""`bookbuild check`: every input check, then a build in a scratch folder run through
EPUBCheck, DAISY Ace and the print preflight, with one summary. Writes nothing in build/."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, display_path
from .pipeline import Progress, build
from .preflight import preflight
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


def check_book(book_dir: Path, *, target: str | None = None,
               progress: Progress | None = None) -> CheckResult:
    overrides: dict[str, Any] = {"target": target} if target else {}
    result = CheckResult()
    say = progress or (lambda _message: None)
    with tempfile.TemporaryDirectory(prefix="bookbuild-check-") as scratch:
        built = build(book_dir, Path(scratch), pdf_overrides=overrides, progress=progress)
        result.tools.append(ToolResult("bookbuild", list(built.warnings)))
        outputs = {output.format: output.path for output in built.outputs}
        slug = outputs["epub"].stem
        shown = display_path(book_dir)
        say("EPUBCheck")
        result.tools.append(run_epubcheck(outputs["epub"], f"{shown}:{slug}.epub"))
        say("DAISY Ace")
        result.tools.append(run_ace(outputs["epub"], f"{shown}:{slug}.epub"))
        say("preflight and proof of the PDF")
        # The generic preflight always runs (an image at 84 ppi fails any printer); a print target
        # adds its service's own rules.
        found = preflight(outputs["pdf"], target or _manifest_target(book_dir))
        shown_pdf = f"{shown}:{slug}.pdf"
        result.tools.append(ToolResult("preflight", [
            Diagnostic(shown_pdf, d.line, d.col, d.severity, d.code, d.message, d.hint)
            for d in found.findings]))
        # The print proof's findings are warnings: they fail only a --strict check.
        result.tools.append(ToolResult("proof", [
            Diagnostic(shown_pdf, d.line, d.col, "warning", d.code, d.message, d.hint)
            for d in found.proof.findings]))
    return result


def _manifest_target(book_dir: Path) -> str | None:
    from .loader import load

    return load(book_dir).pdf.target


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
