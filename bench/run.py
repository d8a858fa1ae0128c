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
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

from bookbuild.workers import available_cpus  # noqa: E402

RUNS = 3
PYTHON = sys.executable


@dataclass
class Sample:
    seconds: float
    peak_mb: float


def measure(command: list[str], cwd: Path | None = None) -> Sample:
    """Run `command` in a fresh process: its wall time, and the peak of the memory of it and
    all its descendants together, sampled every 50 ms (ru_maxrss gives only the largest one).
    Each process counts its proportional set size (PSS): forked processes share pages, which
    summed RSS would count once per process."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty run cannot block
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], tree_memory(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}\n{errors.read().decode()}")
    return Sample(seconds, max(peak[0], usage.ru_maxrss * 1024) / 1048576)


def tree_memory(root: int) -> int:
    """The proportional set size in bytes of process `root` and its descendants, now."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    total = 0
    for pid in tree:
        try:
            rollup = (Path("/proc") / str(pid) / "smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in rollup.splitlines()
                       if line.startswith("Pss:")), 0)
    return total


def median(command_for_run, runs: int) -> Sample:
    samples = [measure(*command_for_run(i)) for i in range(runs)]
    return Sample(statistics.median(s.seconds for s in samples),
                  statistics.median(s.peak_mb for s in samples))


def bookbuild(book: Path, fmt: str, out: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "bookbuild", "build", str(book), "--out", str(out), "--format", fmt, "-q",
            *extra]


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
    if name == "sample":
        return rows
    # The chapter-parallel layout: one process against two, and against bare WeasyPrint.
    one = median(lambda i: (bookbuild(book, "pdf", work / f"jobs1-{i}", "--jobs", "1"),), runs)
    two = median(lambda i: (bookbuild(book, "pdf", work / f"jobs2-{i}", "--jobs", "2"),), runs)
    rows.append(row("pdf-jobs1", one, "weasyprint", bare))
    rows.append(row("pdf-jobs2", two, "pdf-jobs1", one))
    # What the page numbers cost the one-process layout (one write_pdf of the whole book, as for
    # PDF/UA, PDF/A and books with a stylesheet of their own): the book with a stylesheet that
    # changes nothing, against the book with one that hides the contents' and the Notes' numbers.
    numbered = with_stylesheet(book, work / "numbered-book", NEUTRAL_CSS)
    plain = with_stylesheet(book, work / "plain-book", NO_NUMBERS_CSS)
    with_numbers = median(lambda i: (bookbuild(numbered, "pdf", work / f"numbered-{i}"),), runs)
    unnumbered = median(lambda i: (bookbuild(plain, "pdf", work / f"plain-{i}"),), runs)
    rows.append(row("numbers", with_numbers, "no-numbers", unnumbered))
    rows.append(projection(name, pages, book, work))
    return rows


NO_NUMBERS_CSS = "nav.contents li a::after, a.note-page::after { content: none !important; }\n"
NEUTRAL_CSS = "/* nothing: a stylesheet of the book's own lays the book out in one process */\n"


def with_stylesheet(book: Path, copy: Path, css: str) -> Path:
    """A copy of `book` with a stylesheet of its own (so laid out in one process)."""
    shutil.copytree(book, copy)
    (copy / "bench.css").write_text(css, encoding="utf-8")
    manifest = copy / "book.toml"
    manifest.write_text('stylesheets = ["bench.css"]\n' + manifest.read_text(encoding="utf-8"),
                        encoding="utf-8")
    return copy


STAGE_SECONDS = """
import json, sys
from pathlib import Path
from bookbuild.pipeline import prepare, build_timestamp, iso
from bookbuild.render import render_print
from bookbuild.resources import book_fonts
from bookbuild.writers.pdfparts import write_pdf
manuscript, _ = prepare(Path(sys.argv[1]))
document = render_print(manuscript, book_fonts(), iso(build_timestamp(manuscript.book)))
result = write_pdf(document, Path(sys.argv[2]), None, 1)
print(json.dumps(result.seconds))
"""


def projection(name: str, pages: int, book: Path, work: Path, cores: int = 16) -> dict:
    """What `cores` cores would take for the PDF's layout, from the stages' measured times (one
    process, so that none waits for a core): the body's parts shared out as run_all does (in
    order, each to the first free worker), then the front matter, the Notes, the folios and the
    assembly, one after the other (the critical path)."""
    seconds = json.loads(subprocess.run([PYTHON, "-c", STAGE_SECONDS, str(book), str(work / "stages.pdf")],
                                        capture_output=True, text=True, check=True).stdout)
    parts = seconds["parts"]
    front, notes, body = parts[0], parts[-1], parts[1:-1]
    workers = [0.0] * cores
    for part in body:
        workers[workers.index(min(workers))] += part
    critical = max(workers) + front + notes + seconds["folios"] + seconds["assembly"]
    total = sum(parts) + seconds["folios"] + seconds["assembly"]
    return {"book": name, "pages": pages, "measure": f"layout-{cores}-cores",
            "seconds": round(critical, 3), "peak_mb": None, "baseline": "layout-1-core",
            "baseline_seconds": round(total, 3), "baseline_peak_mb": None,
            "ratio": round(critical / total, 3), "peak_ratio": None,
            "longest_part": max(body, default=0.0), "front": front, "notes": notes,
            "folios": seconds["folios"], "assembly": seconds["assembly"], "parts": len(parts)}


def edit_rows(name: str, book: Path, scratch: Path, edits: int = 5) -> list[dict]:
    """An edit in a chapter in the middle of the book, then a PDF build, timed: one word added
    to a paragraph, and a paragraph of three added; each in `edits` chapters, undone after. Each
    row says what the edits did to the pages (the bench checks it, from the named destinations):
    "same pages" (no heading or note call of the book moved) or "later pages moved"."""
    copy = scratch / "edit-book"
    shutil.copytree(book, copy)
    out = scratch / "edit-out"
    measure(bookbuild(copy, "pdf", out))  # the build the edits start from
    chapters = sorted(copy.glob("chapter-*.md"))
    third = len(chapters) // 3
    middle = chapters[third:len(chapters) - third] or chapters
    picks = [middle[i * len(middle) // edits] for i in range(edits)]
    rows = []
    for case in ("word", "paragraph"):
        samples, produced = [], []
        for chapter in picks:
            original = chapter.read_text(encoding="utf-8")
            before = destination_pages(out)
            chapter.write_text(edited(original, case), encoding="utf-8")
            samples.append(measure(bookbuild(copy, "pdf", out)))
            produced.append("same pages" if destination_pages(out) == before else "later pages moved")
            chapter.write_text(original, encoding="utf-8")
            measure(bookbuild(copy, "pdf", out))  # back where the next edit starts (not timed)
        rows.append({"book": name, "pages": pages_of(pdf_in(out)), "measure": f"edit-{case}",
                     "seconds": round(statistics.median(s.seconds for s in samples), 3),
                     "peak_mb": round(statistics.median(s.peak_mb for s in samples), 1),
                     "baseline": None, "baseline_seconds": None, "baseline_peak_mb": None,
                     "ratio": None, "peak_ratio": None, "edits": produced,
                     "all_seconds": [round(s.seconds, 3) for s in samples]})
    return rows


def catalogue_rows(count: int, books_dir: Path, scratch: Path, jobs: int) -> list[dict]:
    """A publisher's catalogue (issue 15): `count` generated books of 100 to 400 pages built in
    one command, `--jobs 1` against `--jobs N`, cold (--no-cache): pages per second, and the
    ratio of the rates against N times the one-process rate."""
    books = [generate(books_dir / f"catalogue-{i + 1:02d}",
                      100 + round(300 * i / max(1, count - 1)), seed=2000 + i) for i in range(count)]
    samples = {}
    for n in (1, jobs):
        out = scratch / f"catalogue-jobs{n}"
        samples[n] = measure([PYTHON, "-m", "bookbuild", "build", *map(str, books), "--out", str(out),
                              "-q", "--no-cache", "--jobs", str(n)])
    pages = sum(pages_of(pdf_in(out)) for out in (scratch / "catalogue-jobs1").iterdir() if out.is_dir())
    rate = {n: pages / sample.seconds for n, sample in samples.items()}
    rows = [{
        "book": f"catalogue-{count}", "pages": pages, "measure": f"catalogue-jobs{n}",
        "seconds": round(sample.seconds, 3), "peak_mb": round(sample.peak_mb, 1),
        "baseline": None if n == 1 else "catalogue-jobs1",
        "baseline_seconds": None if n == 1 else round(samples[1].seconds, 3),
        "baseline_peak_mb": None if n == 1 else round(samples[1].peak_mb, 1),
        # the rate against the one-process rate (>= 1.6 wanted for --jobs 2 on two cores)
        "ratio": None if n == 1 else round(rate[n] / rate[1], 3),
        "peak_ratio": None if n == 1 else round(sample.peak_mb / samples[1].peak_mb, 3),
        "pages_per_second": round(rate[n], 2),
        "of_n_times_jobs1": round(rate[n] / (n * rate[1]), 3),
    } for n, sample in samples.items()]
    return rows + cluster_rows(books, scratch, jobs, pages, samples[jobs], rate)


def cluster_rows(books: list[Path], scratch: Path, jobs: int, pages: int, local: Sample,
                 rate: dict[int, float]) -> list[dict]:
    """The same catalogue on a Dask LocalCluster of `jobs` worker processes (one thread each),
    against `--jobs N` here (>= 0.8 wanted). The peak memory is the client's: the workers' are
    not its children."""
    try:
        from distributed import LocalCluster
    except ImportError:
        print("no cluster row: Dask's distributed is not installed (bookbuild[cluster])", file=sys.stderr)
        return []
    out = scratch / "catalogue-cluster"
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                      dashboard_address=":0", host="127.0.0.1") as cluster:
        sample = measure([PYTHON, "-m", "bookbuild", "build", *map(str, books), "--out", str(out),
                          "-q", "--no-cache", "--scheduler", cluster.scheduler_address])
    produced = sum(pages_of(pdf_in(folder)) for folder in out.iterdir() if folder.is_dir())
    assert produced == pages, f"the cluster made {produced} pages, the local build {pages}"
    return [{
        "book": f"catalogue-{len(books)}", "pages": pages, "measure": f"catalogue-cluster{jobs}",
        "seconds": round(sample.seconds, 3), "peak_mb": round(sample.peak_mb, 1),
        "baseline": f"catalogue-jobs{jobs}", "baseline_seconds": round(local.seconds, 3),
        "baseline_peak_mb": round(local.peak_mb, 1),
        "ratio": round((pages / sample.seconds) / rate[jobs], 3),  # (>= 0.8 wanted)
        "peak_ratio": round(sample.peak_mb / local.peak_mb, 3),
        "pages_per_second": round(pages / sample.seconds, 2),
        "of_n_times_jobs1": round((pages / sample.seconds) / (jobs * rate[1]), 3),
    }]


def edited(text: str, case: str) -> str:
    """`text` (a generated chapter) with a word added to its third block, or three paragraphs
    (its own third, fourth and fifth) added after it."""
    blocks = text.split("\n\n")
    if case == "word":
        blocks[3] = "Indeed, " + blocks[3][0].lower() + blocks[3][1:]
    else:
        blocks.insert(4, "\n\n".join(blocks[3:6]))
    return "\n\n".join(blocks)


def pdf_in(out: Path) -> Path:
    return next(p for p in out.glob("*.pdf") if not p.name.endswith("-cover.pdf"))


def destination_pages(out: Path) -> dict[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(pdf_in(out))
    return {name: reader.get_destination_page_number(dest)
            for name, dest in reader.named_destinations.items()}


def machine(runs: int) -> dict:
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
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="bookbuild benchmarks")
    parser.add_argument("--books", default="sample,100,400,1000",
                        help="comma-separated: sample and/or page counts (default: sample,100,400,1000)")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--edits", type=int, default=5,
                        help="edits timed in the last book, per case (0: none; default: 5)")
    parser.add_argument("--catalogue", type=int, default=12,
                        help="books in the catalogue rows (0: none; default: 12)")
    parser.add_argument("--openings", choices=("right", "any", "continuous"),
                        help="the generated books' [pdf] openings (default: their own, right)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args()
    books_dir = HERE / "books"
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bookbuild-bench-") as scratch:
        for name in args.books.split(","):
            if name == "sample":
                book, label = ROOT / "book", "sample"
            else:
                label = f"generated-{name}" + (f"-{args.openings}" if args.openings else "")
                book = generate(books_dir / label, int(name))
                if args.openings:  # (a part opening on a verso is laid out on one: pdfparts.py)
                    with (book / "book.toml").open("a", encoding="utf-8") as manifest:
                        manifest.write(f'\n[pdf]\nopenings = "{args.openings}"\n')
            print(f"benchmarking {label} …", file=sys.stderr)
            rows.extend(bench_book(label, book, Path(scratch), args.runs))
        if args.edits and args.books.split(",")[-1] != "sample":
            name = args.books.split(",")[-1]
            label = "sample" if name == "sample" else f"generated-{name}"
            book = ROOT / "book" if name == "sample" else books_dir / label
            print(f"timing edits in {label} …", file=sys.stderr)
            (Path(scratch) / "edits").mkdir()
            rows.extend(edit_rows(label, book, Path(scratch) / "edits", args.edits))
        if args.catalogue:
            print(f"building a catalogue of {args.catalogue} books …", file=sys.stderr)
            (Path(scratch) / "catalogue").mkdir()
            rows.extend(catalogue_rows(args.catalogue, books_dir, Path(scratch) / "catalogue",
                                       available_cpus()))
    result = {"machine": machine(args.runs), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print_table(rows)
    print(f"\nwritten: {args.out}")


def print_table(rows: list[dict]) -> None:
    header = f"{'book':<16}{'pages':>6}  {'measure':<16}{'seconds':>9}{'peak MB':>9}  " \
             f"{'baseline':<11}{'base s':>8}{'base MB':>9}{'ratio':>7}{'mem ratio':>10}"
    print(header)
    print("-" * len(header))
    for r in rows:
        def fmt(value: float | None, spec: str) -> str:
            return format(value, spec) if value is not None else "-"
        print(f"{r['book']:<16}{r['pages']:>6}  {r['measure']:<16}{r['seconds']:>9.2f}"
              f"{fmt(r['peak_mb'], '9.0f'):>9}  "
              f"{r['baseline'] or '-':<11}{fmt(r['baseline_seconds'], '8.2f'):>8}"
              f"{fmt(r['baseline_peak_mb'], '9.0f'):>9}{fmt(r['ratio'], '7.2f'):>7}"
              f"{fmt(r['peak_ratio'], '10.2f'):>10}")


if __name__ == "__main__":
    main()
