"""The command line: help, version, exit codes, one-line errors, nothing partial written."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import BOOKS, SAMPLE, run_bookbuild


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_version_and_help() -> None:
    version = run_bookbuild("--version")
    assert version.returncode == 0 and version.stdout.strip() == "bookbuild 0.1.0"
    helped = run_bookbuild("build", "--help")
    assert helped.returncode == 0
    for option in ("--out", "--format", "--strict", "--quiet", "BOOK_DIR"):
        assert option in helped.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "bookbuild"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "bookbuild 0.1.0"


def test_usage_error_exits_2() -> None:
    result = run_bookbuild("build", "--format", "mobi")
    assert result.returncode == 2
    assert "invalid choice: 'mobi'" in result.stderr
    assert run_bookbuild().returncode == 2  # no command: help, and a usage exit


def test_build_prints_one_line_per_output(tmp_path: Path) -> None:
    result = run_bookbuild("build", BOOKS / "features", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(str(tmp_path / "out" / "a-book-of-features.epub"))
    assert lines[1].startswith(str(tmp_path / "out" / "a-book-of-features.pdf"))
    assert " 12 pages " in lines[1] and lines[1].endswith(" s")
    assert lines[2].startswith(str(tmp_path / "out" / "a-book-of-features-cover.pdf"))
    assert result.stderr == ""  # no progress chatter in a pipe


def test_format_builds_only_what_is_asked(tmp_path: Path) -> None:
    result = run_bookbuild("build", BOOKS / "features", "--out", tmp_path, "--format", "epub")
    assert result.returncode == 0
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["a-book-of-features.epub"]


def test_bad_input_is_one_line_exit_2_and_leaves_outputs_alone(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "features", book)
    out = tmp_path / "out"
    assert run_bookbuild("build", book, "--out", out).returncode == 0
    before = tree_hashes(out)
    chapter = book / "two.md"
    chapter.write_text(chapter.read_text() + "\nA call to [^missing].\n")
    result = run_bookbuild("build", book, "--out", out)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'{chapter}:16:11: error[note-undefined]: note [^missing] is used but never defined '
        '(define it with "[^missing]: …")'
    ]
    assert "Traceback" not in result.stderr
    assert tree_hashes(out) == before


def test_internal_failure_is_one_line_exit_3_and_traceback_with_debug(tmp_path: Path) -> None:
    crash = (
        "import sys, bookbuild.pipeline as p\n"
        "def boom(*a, **k): raise RuntimeError('the layout engine fell over')\n"
        "p.build = boom\n"
        "from bookbuild.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = str(tmp_path / "out")  # an empty folder: the no-op cache cannot answer for the build
    plain = subprocess.run([sys.executable, "-c", crash, "build", str(SAMPLE), "--out", out],
                           capture_output=True, text=True, check=False)
    assert plain.returncode == 3
    assert plain.stderr.splitlines() == [
        "bookbuild: internal error: RuntimeError: the layout engine fell over "
        "(run with --debug for details)"
    ]
    debug = subprocess.run([sys.executable, "-c", crash, "build", str(SAMPLE), "--out", out, "--debug"],
                           capture_output=True, text=True, check=False)
    assert debug.returncode == 3 and "Traceback" in debug.stderr


def test_out_below_a_regular_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_bookbuild("build", BOOKS / "features", "--out", blocker / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{blocker / 'out'}: error[output]: cannot write here: {blocker} is a file "
        "(choose another --out folder)"
    )


def test_strict_counts_the_layouts_own_warnings(tmp_path: Path) -> None:
    """A 12-page book for KDP: the layout warns that KDP prints at least 24 pages."""
    out = tmp_path / "out"
    relaxed = run_bookbuild("build", BOOKS / "features", "--out", out, "--format", "pdf", "--target", "kdp")
    assert relaxed.returncode == 0
    assert "warning[page-count]: the PDF has 12 pages; KDP prints at least 24" in relaxed.stderr
    before = tree_hashes(out)
    strict = run_bookbuild("build", BOOKS / "features", "--out", out, "--format", "pdf", "--target", "kdp",
                           "--strict", "--no-cache")
    assert strict.returncode == 2
    assert "error[page-count]: the PDF has 12 pages; KDP prints at least 24" in strict.stderr
    assert tree_hashes(out) == before


def test_a_reader_that_leaves_the_pipe_early_is_no_internal_error() -> None:
    """`bookbuild diff OLD NEW | head -1`: the rest of the output has nowhere to go."""
    process = subprocess.Popen([sys.executable, "-m", "bookbuild", "diff", BOOKS / "features",
                                BOOKS / "structures"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 141
    assert stderr == b""


def test_out_of_range_port_and_epoch_are_usage_errors(tmp_path: Path) -> None:
    port = run_bookbuild("serve", BOOKS / "features", "--port", "70000")
    assert port.returncode == 2 and "invalid port_number value: '70000'" in port.stderr
    epoch = run_bookbuild("build", BOOKS / "features", "--out", tmp_path / "out",
                          env={"SOURCE_DATE_EPOCH": "99999999999999"})
    assert epoch.returncode == 2
    assert epoch.stderr.startswith('SOURCE_DATE_EPOCH: error[environment]: "99999999999999" is not a number')
    assert not (tmp_path / "out").exists()


def _small_book(folder: Path, title: str, text: str = "Words of the chapter.") -> Path:
    folder.mkdir(parents=True)
    (folder / "book.toml").write_text(f'[book]\ntitle = "{title}"\nlanguage = "en"\n'
                                      'date = "2024-05-01"\n\n[[contents]]\nfile = "one.md"\n',
                                      encoding="utf-8")
    (folder / "one.md").write_text(f"# One\n\n{text}\n", encoding="utf-8")
    return folder


def test_several_books_build_each_into_its_folder_as_alone_and_a_broken_one_stops_none(
        tmp_path: Path) -> None:
    first = _small_book(tmp_path / "books" / "first", "First")
    broken = _small_book(tmp_path / "books" / "broken", "Broken", "[^x] is called, never defined.")
    (broken / "one.md").write_text("# One\n\nA call[^x].\n", encoding="utf-8")
    second = _small_book(tmp_path / "more" / "second", "Second")
    out = tmp_path / "out"
    result = run_bookbuild("build", first, broken, second, "--out", out)
    assert result.returncode == 2  # the worst: bad input
    assert sorted(p.name for p in out.iterdir()) == ["first", "second"]  # nothing for the broken
    assert f"{broken}/one.md:3:7: error[note-undefined]" in result.stderr
    lines = result.stderr.splitlines()
    assert lines.index("book 2 of 3: broken") < next(i for i, line in enumerate(lines)
                                                     if "error[note-undefined]" in line)
    table = result.stdout.splitlines()[-4:]
    assert table[0].split() == ["book", "pages", "seconds", "result"]
    assert [row.split()[0] for row in table[1:]] == ["first", "broken", "second"]
    assert table[2].split()[1] == "-" and table[2].endswith("bad input")
    assert table[1].endswith("built") and int(table[1].split()[1]) > 0
    for book in (first, second):  # byte for byte what a build of the book alone writes
        alone = tmp_path / f"alone-{book.name}"
        assert run_bookbuild("build", book, "--out", alone).returncode == 0
        for path in [p for p in alone.iterdir() if p.suffix in (".epub", ".pdf")]:
            assert (out / book.name / path.name).read_bytes() == path.read_bytes(), path.name
    again = run_bookbuild("build", first, second, "--out", out)  # the no-op, per book
    assert again.returncode == 0 and again.stdout.count("unchanged") == 3 * 2 + 2


def test_two_books_of_the_same_folder_name_are_a_usage_error(tmp_path: Path) -> None:
    one = _small_book(tmp_path / "a" / "book", "One")
    two = _small_book(tmp_path / "b" / "book", "Two")
    result = run_bookbuild("build", one, two, "--out", tmp_path / "out")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("bookbuild: error: two books are named book")
    assert not (tmp_path / "out").exists()


def test_an_internal_failure_in_one_book_is_exit_3_and_the_others_are_built(tmp_path: Path) -> None:
    crash = (
        "import sys, bookbuild.pipeline as p\n"
        "real = p.build\n"
        "def build(book, *a, **k):\n"
        "    if book.name == 'fragile': raise RuntimeError('the layout engine fell over')\n"
        "    return real(book, *a, **k)\n"
        "p.build = build\n"
        "from bookbuild.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    fragile = _small_book(tmp_path / "fragile", "Fragile")
    sound = _small_book(tmp_path / "sound", "Sound")
    result = subprocess.run([sys.executable, "-c", crash, "build", str(fragile), str(sound),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert result.returncode == 3
    assert "bookbuild: internal error: RuntimeError: the layout engine fell over" in result.stderr
    assert result.stdout.splitlines()[-2].endswith("internal error")
    assert result.stdout.splitlines()[-1].endswith("built")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sound"]


def test_a_catalogue_built_from_inside_a_book_does_not_take_the_others_outputs_for_its_input(
        tmp_path: Path) -> None:
    first = _small_book(tmp_path / "first", "First")
    second = _small_book(tmp_path / "second", "Second")
    built = run_bookbuild("build", ".", "../second", cwd=first)  # outputs in first/build/<name>/
    assert built.returncode == 0 and (first / "build" / "first").is_dir(), built.stderr
    assert (first / "build" / "second").is_dir()
    (second / "one.md").write_text("# One\n\nOther words.\n", encoding="utf-8")
    again = run_bookbuild("build", ".", "../second", cwd=first)
    assert again.returncode == 0
    table = dict((row.split()[0], row.split()[-1]) for row in again.stdout.splitlines()[-2:])
    assert table == {"first": "unchanged", "second": "built"}


SLOTS_SCRIPT = """
import sys, time
from pathlib import Path
from bookbuild import workers

log = Path(sys.argv[1])

def layout(book, part):
    with (log / f"{book}-{part}").open("w") as handle:
        handle.write(f"{time.monotonic()} ")
        time.sleep(0.4)
        handle.write(f"{time.monotonic()}")

def book(number):  # each book as a catalogue builds it: its own process, all its jobs
    return workers.run_all([(layout, (number, part)) for part in range(3)], 2)

workers.share_slots(2, log)
books = [workers.Job(book, number, daemon=False) for number in range(3)]
for job in books:
    job.wait()
"""


def test_the_books_of_a_catalogue_share_the_jobs_never_more_layouts_at_once(tmp_path: Path) -> None:
    """Three books at once, each asking for 2 layout processes: 2 at a time between them."""
    subprocess.run([sys.executable, "-c", SLOTS_SCRIPT, str(tmp_path)], check=True, timeout=120)
    spans = [tuple(map(float, path.read_text().split())) for path in tmp_path.iterdir()
             if not path.name.startswith("slots-")]
    assert len(spans) == 9
    most = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
    assert most == 2


KILLED_HOLDER_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from bookbuild import workers

def hold():
    with workers.layout_slot():
        Path(sys.argv[1], "holding").touch()
        time.sleep(300)

def layout():
    return "laid out"

workers.share_slots(1, Path(sys.argv[1]))
holder = workers.Job(hold)
while not Path(sys.argv[1], "holding").exists():
    time.sleep(0.02)
os.kill(holder._process.pid, signal.SIGKILL)  # out of memory, say: no clean-up at all
print(workers.run_all([(layout, ())], 1)[0])
"""


def test_a_slot_held_by_a_process_that_was_killed_is_free_again(tmp_path: Path) -> None:
    """The one slot of the catalogue is held by a layout killed outright: the next layout still
    gets it (it would wait for ever for a slot nobody holds)."""
    result = subprocess.run([sys.executable, "-c", KILLED_HOLDER_SCRIPT, str(tmp_path)],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "laid out\n"


def test_ctrl_c_during_a_catalogue_leaves_every_books_earlier_outputs_and_says_what_was_built(
        tmp_path: Path) -> None:
    import os
    import signal
    import time

    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    books = [generate(tmp_path / name, pages=160, seed=seed) for name, seed in (("one", 1), ("two", 2))]
    out = tmp_path / "out"
    assert run_bookbuild("build", *books, "--out", out).returncode == 0
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    for book in books:  # an edit in each, so that both are laid out again
        chapter = book / "chapter-001.md"
        chapter.write_text(chapter.read_text().replace("# Chapter 1", "# Chapter One", 1))
    process = subprocess.Popen([sys.executable, "-m", "bookbuild", "build", *map(str, books),
                                "--out", str(out), "--no-cache", "--jobs", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while len([p for p in out.rglob("*.pdf.part")]) < 2:  # both books laying out
        assert time.monotonic() < deadline and process.poll() is None, "the layouts never started"
        time.sleep(0.05)
    time.sleep(1)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C at a terminal: every process of the group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "bookbuild: interrupted; earlier outputs are left as they were"
    table = stderr.strip().splitlines()[-4:-1]
    assert table[0].split() == ["book", "pages", "seconds", "result"]
    assert [row.split()[0] for row in table[1:]] == ["one", "two"]
    assert all(row.endswith("interrupted") for row in table[1:])
    after = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert after == before  # each book's outputs as they were; nothing staged left
