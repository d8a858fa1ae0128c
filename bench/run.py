"""bookbuild's benchmarks: `make bench`.

For the sample book and generated books of about 100, 400 and 1,000 pages, the median of
RUNS runs, each in a fresh process with an empty output folder (so the no-op cache never serves
a timed run), of: the EPUB build, the PDF build, both together, and a no-op rebuild; with
baselines run the same way: bare WeasyPrint on the very same final HTML and CSS with the same
write_pdf options, and pandoc (pypandoc_binary) on the same Markdown. Peak RSS comes from
wait4(), which covers a process and the children it waited for.

Writes build/bench.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

RUNS = 3
PYTHON = sys.executable


@dataclass
class Sample:
    seconds: float
    peak_mb: float


def measure(command: list[str], cwd: Path | None = None) -> Sample:
    """Run `command` in a fresh process; wall time and the peak RSS of it and its children."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty run cannot block
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}\n{errors.read().decode()}")
    return Sample(seconds, usage.ru_maxrss / 1024)


def median(command_for_run, runs: int) -> Sample:
    samples = [measure(*command_for_run(i)) for i in range(runs)]
    return Sample(statistics.median(s.seconds for s in samples),
                  statistics.median(s.peak_mb for s in samples))


def bookbuild(book: Path, fmt: str, out: Path) -> list[str]:
    return [PYTHON, "-m", "bookbuild", "build", str(book), "--out", str(out), "--format", fmt, "-q"]


def dump_print_document(book: Path, pdf: Path, folder: Path) -> tuple[Path, Path, dict]:
    """The final HTML and page CSS bookbuild laid out, and its write_pdf options."""
    script = f"""
import json, sys
from pathlib import Path
from pypdf import PdfReader
from bookbuild.pipeline import prepare, build_timestamp, iso
from bookbuild.printspec import band_index
from bookbuild.render import render_print
from bookbuild.resources import book_fonts
from bookbuild.writers.pdf import write_options
manuscript, _ = prepare(Path({str(book)!r}))
document = render_print(manuscript, book_fonts(), iso(build_timestamp(manuscript.book)))
band = band_index(len(PdfReader({str(pdf)!r}).pages))
folder = Path({str(folder)!r})
(folder / "print.html").write_text(document.html, encoding="utf-8")
(folder / "page.css").write_text(document.page_css[band], encoding="utf-8")
print(json.dumps(write_options(document.options)))
"""
    options = json.loads(subprocess.run([PYTHON, "-c", script], capture_output=True, text=True,
                                        check=True).stdout)
    return folder / "print.html", folder / "page.css", options


BARE_WEASYPRINT = """
import json, sys
import weasyprint
html, css, base, out, options = sys.argv[1:6]
weasyprint.HTML(filename=html, base_url=base).write_pdf(
    out, stylesheets=[weasyprint.CSS(filename=css)], **json.loads(options))
"""


def pandoc_command(book: Path, out: Path) -> list[str]:
    import tomllib

    import pypandoc

    manifest = tomllib.loads((book / "book.toml").read_text(encoding="utf-8"))
    files = [str(book / entry["file"]) for entry in manifest["contents"]]
    return [pypandoc.get_pandoc_path(), "--file-scope", "--toc", "--metadata",
            f"title={manifest['book']['title']}", "-o", str(out), *files]


def pages_of(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


def bench_book(name: str, book: Path, scratch: Path, runs: int) -> list[dict]:
    rows = []
    work = scratch / name
    work.mkdir()

    def fresh(fmt: str):
        return lambda i: (bookbuild(book, fmt, work / f"{fmt}-{i}"),)

    epub = median(fresh("epub"), runs)
    pdf = median(fresh("pdf"), runs)
    both = median(fresh("all"), runs)
    pdf_file = next(p for p in (work / "pdf-0").glob("*.pdf") if not p.name.endswith("-cover.pdf"))
    pages = pages_of(pdf_file)
    html, css, options = dump_print_document(book, pdf_file, work)
    bare = median(lambda i: ([PYTHON, "-c", BARE_WEASYPRINT, str(html), str(css), book.as_uri() + "/",
                              str(work / f"bare-{i}.pdf"), json.dumps(options)],), runs)
    pandoc = median(lambda i: (pandoc_command(book, work / f"pandoc-{i}.epub"), book), runs)
    measure(bookbuild(book, "all", work / "noop"))  # the build the no-op runs find
    noop = median(lambda i: (bookbuild(book, "all", work / "noop"),), runs)

    def row(measure_name: str, sample: Sample, baseline: str | None, base: Sample | None) -> dict:
        return {
            "book": name, "pages": pages, "measure": measure_name,
            "seconds": round(sample.seconds, 3), "peak_mb": round(sample.peak_mb, 1),
            "baseline": baseline,
            "baseline_seconds": round(base.seconds, 3) if base else None,
            "baseline_peak_mb": round(base.peak_mb, 1) if base else None,
            "ratio": round(sample.seconds / base.seconds, 3) if base else None,
            "peak_ratio": round(sample.peak_mb / base.peak_mb, 3) if base else None,
        }

    rows.append(row("epub", epub, "pandoc", pandoc))
    rows.append(row("pdf", pdf, "weasyprint", bare))
    rows.append(row("all", both, "pdf", pdf))
    rows.append(row("noop", noop, None, None))
    rows[1]["write_pdf_options"] = options
    return rows


def machine() -> dict:
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    from importlib import metadata

    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1048576, 1),
        "cpu": next((line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), ""),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "weasyprint": metadata.version("weasyprint"),
        "pandoc": subprocess.run([__import__("pypandoc").get_pandoc_path(), "--version"],
                                 capture_output=True, text=True).stdout.splitlines()[0],
        "date": time.strftime("%Y-%m-%d"),
        "runs": RUNS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="bookbuild benchmarks")
    parser.add_argument("--books", default="sample,100,400,1000",
                        help="comma-separated: sample and/or page counts (default: sample,100,400,1000)")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args()
    books_dir = HERE / "books"
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bookbuild-bench-") as scratch:
        for name in args.books.split(","):
            if name == "sample":
                book, label = ROOT / "book", "sample"
            else:
                label = f"generated-{name}"
                book = generate(books_dir / label, int(name))
            print(f"benchmarking {label} …", file=sys.stderr)
            rows.extend(bench_book(label, book, Path(scratch), args.runs))
    result = {"machine": machine(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print_table(rows)
    print(f"\nwritten: {args.out}")


def print_table(rows: list[dict]) -> None:
    header = f"{'book':<16}{'pages':>6}  {'measure':<8}{'seconds':>9}{'peak MB':>9}  " \
             f"{'baseline':<11}{'base s':>8}{'base MB':>9}{'ratio':>7}{'mem ratio':>10}"
    print(header)
    print("-" * len(header))
    for r in rows:
        def fmt(value: float | None, spec: str) -> str:
            return format(value, spec) if value is not None else "-"
        print(f"{r['book']:<16}{r['pages']:>6}  {r['measure']:<8}{r['seconds']:>9.2f}{r['peak_mb']:>9.0f}  "
              f"{r['baseline'] or '-':<11}{fmt(r['baseline_seconds'], '8.2f'):>8}"
              f"{fmt(r['baseline_peak_mb'], '9.0f'):>9}{fmt(r['ratio'], '7.2f'):>7}"
              f"{fmt(r['peak_ratio'], '10.2f'):>10}")


if __name__ == "__main__":
    main()
