"""`make corpus`: build every real book of the corpus as a new user would, then check it as the
stores do (EPUBCheck, DAISY Ace, the print preflight), and print one table.

    python tests/corpus.py [CORPUS_DIR] [--out build/corpus] [--design 'theme = "modern"']

The table goes to the terminal and to build/corpus.json; the exit code is 0 when every book
built with no warning and every tool found nothing, else 1. tests/test_corpus.py runs the same
function and then asserts what a reader would see in each book.

--design builds each book with a [design] table of its own (a theme, a size, a typeface): the
book is copied beside its output with that table added, and the corpus itself is left as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pagecheck import marker_problems
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_dir() -> Path | None:
    """The corpus beside the checkout (CI has shared/ there), or BOOKBUILD_CORPUS."""
    path = Path(os.environ.get("BOOKBUILD_CORPUS") or DEFAULT_CORPUS)
    return path if path.is_dir() else None


@dataclass
class BookResult:
    book: str
    exit_code: int
    seconds: float
    pages: int | None = None
    epub: str | None = None
    pdf: str | None = None
    build_messages: list[str] = field(default_factory=list)
    findings: dict[str, list[str]] = field(default_factory=dict)  # tool -> lines
    missing: dict[str, str] = field(default_factory=dict)  # tool -> how to install it
    proof: str = ""  # the print proof's summary: counted, not yet a pass or fail
    proof_warnings: int = 0

    @property
    def clean(self) -> bool:
        return (self.exit_code == 0 and not self.build_messages and not self.missing
                and not any(self.findings.values()))


def build_and_check(book_dir: Path, out: Path) -> BookResult:
    from bookbuild.diagnostics import Diagnostic
    from bookbuild.preflight import preflight
    from bookbuild.validators import run_ace, run_epubcheck

    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "bookbuild", "build", str(book_dir), "--out", str(out),
                          "--no-cache"], capture_output=True, text=True, check=False)
    result = BookResult(book_dir.name, run.returncode, round(time.perf_counter() - started, 1),
                        build_messages=run.stderr.splitlines())
    if run.returncode != 0:
        return result
    epub = next(out.glob("*.epub"))
    pdf = next(p for p in out.glob("*.pdf") if not p.name.endswith("-cover.pdf"))
    result.epub, result.pdf = str(epub), str(pdf)
    result.pages = len(PdfReader(pdf).pages)

    def lines(diagnostics: list[Diagnostic]) -> list[str]:
        return [str(d) for d in diagnostics]

    for tool in (run_epubcheck(epub, epub.name), run_ace(epub, epub.name)):
        if tool.missing:
            result.missing[tool.tool] = tool.missing
        result.findings[tool.tool] = lines(tool.diagnostics)
    result.findings["pages"] = marker_problems(epub, pdf)  # the EPUB's print page markers
    checked = preflight(pdf)
    result.findings["preflight"] = lines(checked.findings)
    result.proof, result.proof_warnings = checked.proof.summary(), len(checked.proof.findings)
    return result


def run_corpus(corpus: Path, out: Path, say: bool = True, design: str | None = None,
               books: tuple[str, ...] | None = None) -> list[BookResult]:
    """`design`: the lines of a [design] table to build each book with; `books`: only these."""
    results = []
    for book_dir in sorted(p for p in corpus.iterdir() if (p / "book.toml").is_file()):
        if books is not None and book_dir.name not in books:
            continue
        if say:
            print(f"building and checking {book_dir.name} …", file=sys.stderr, flush=True)
        source = designed_copy(book_dir, out / "designed" / book_dir.name, design) if design else book_dir
        results.append(build_and_check(source, out / book_dir.name))
    out.mkdir(parents=True, exist_ok=True)
    (out.parent / "corpus.json").write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return results


def designed_copy(book_dir: Path, copy: Path, design: str) -> Path:
    """The book with a [design] table of its own (the corpus has none), in a copy."""
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(book_dir, copy, symlinks=True)
    manifest = copy / "book.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + f"\n[design]\n{design}\n", encoding="utf-8")
    return copy


def table(results: list[BookResult]) -> str:
    tools = ("epubcheck", "ace", "preflight", "pages")
    header = (f"{'book':<10} {'pages':>5} {'seconds':>7}  {'build':<12}"
              + "".join(f" {t:<12}" for t in tools) + " proof warnings")
    rows = [header, "-" * len(header)]
    for r in results:
        build = "ok" if r.exit_code == 0 and not r.build_messages else \
            f"exit {r.exit_code}, {len(r.build_messages)} msg"
        cells = []
        for tool in tools:
            if tool in r.missing:
                cells.append("not installed")
            elif tool not in r.findings:
                cells.append("not run")
            else:
                found = r.findings[tool]
                errors = sum(": error[" in line for line in found)
                cells.append(f"{errors} E, {len(found) - errors} W")
        rows.append(f"{r.book:<10} {r.pages or '-':>5} {r.seconds:>7}  {build:<12}"
                    + "".join(f" {c:<12}" for c in cells) + f" {r.proof_warnings}")
    rows += [f"{r.book}: {r.proof}" for r in results if r.proof]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "corpus")
    parser.add_argument("--design", metavar="TOML", help='[design] lines to build each book with, '
                        'e.g. \'theme = "modern"\' (in a copy of the book)')
    args = parser.parse_args()
    corpus = args.corpus or corpus_dir()
    if corpus is None or not corpus.is_dir():
        print(f"corpus: no corpus at {DEFAULT_CORPUS} (give its folder, or set BOOKBUILD_CORPUS)",
              file=sys.stderr)
        return 2
    results = run_corpus(corpus, args.out, design=args.design)
    print(table(results))
    for r in results:
        for line in r.build_messages + [x for found in r.findings.values() for x in found]:
            print(f"{r.book}: {line}")
        for tool, how in r.missing.items():
            print(f"{r.book}: {tool} is not installed: {how}")
    print(f"written: {args.out.parent / 'corpus.json'}")
    return 0 if all(r.clean for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
