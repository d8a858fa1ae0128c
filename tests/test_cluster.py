"""A catalogue on a Dask cluster (`build --scheduler`): a LocalCluster of two worker processes,
built against the same books built here; what the workers ran, from the scheduler's record."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BOOKS, SAMPLE, run_bookbuild

distributed = pytest.importorskip("distributed")

from bookbuild import cluster  # noqa: E402

CATALOGUE = (BOOKS / "features", BOOKS / "structures", SAMPLE)
LAYOUT_TASKS = ("lay_out_part", "lay_out_folios", "write_whole")


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[tuple[str, object]]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", host="127.0.0.1") as local, \
            distributed.Client(local) as client:
        yield local.scheduler_address, client


@pytest.fixture
def two_workers(dask_cluster: tuple[str, object]) -> tuple[str, object]:
    """The cluster with both its workers (one killed by a test before is back)."""
    dask_cluster[1].wait_for_workers(2, timeout=60)  # type: ignore[attr-defined]
    return dask_cluster


def files_of(out: Path) -> dict[str, bytes]:
    """The outputs (not the layouts kept for the next build)."""
    return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*"))
            if path.is_file() and path.suffix in (".epub", ".pdf") and ".bookbuild-parts" not in path.parts}


def layout_tasks(stream: object) -> dict[str, int]:
    """The layout tasks the scheduler saw finish, per worker."""
    per_worker: dict[str, int] = {}
    for task in stream.data:  # type: ignore[attr-defined]
        if task["key"].startswith(LAYOUT_TASKS):
            per_worker[task["worker"]] = per_worker.get(task["worker"], 0) + 1
    return per_worker


def test_a_catalogue_on_the_cluster_is_the_local_build_byte_for_byte(
        two_workers: tuple[str, object], tmp_path: Path) -> None:
    address, client = two_workers
    local = run_bookbuild("build", *CATALOGUE, "--out", tmp_path / "local")
    assert local.returncode == 0, local.stderr
    with distributed.get_task_stream(client) as stream:
        remote = run_bookbuild("build", *CATALOGUE, "--out", tmp_path / "remote", "--scheduler", address)
    assert remote.returncode == 0, remote.stderr
    assert files_of(tmp_path / "remote") == files_of(tmp_path / "local")
    assert len(files_of(tmp_path / "remote")) == 3 * 3  # EPUB, interior, cover for each book
    # The layouts ran on the workers (both of them), not in the client.
    ran = layout_tasks(stream)
    workers = set(client.scheduler_info()["workers"])  # type: ignore[attr-defined]
    assert set(ran) <= workers and len(ran) == 2, ran
    assert sum(ran.values()) >= 3 * 2  # each book: its parts and its folios at least


def test_the_environment_variable_names_the_scheduler_and_a_book_of_its_own_stylesheet_goes_too(
        two_workers: tuple[str, object], tmp_path: Path) -> None:
    """BOOKBUILD_SCHEDULER; a book laid out in one process (its own stylesheet) is one task."""
    address, client = two_workers
    book = tmp_path / "styled"
    shutil.copytree(BOOKS / "features", book)
    manifest = book / "book.toml"
    manifest.write_text('stylesheets = ["house.css"]\n' + manifest.read_text(encoding="utf-8"),
                        encoding="utf-8")
    (book / "house.css").write_text("p { word-spacing: 0.05em; }\n", encoding="utf-8")
    local = run_bookbuild("build", book, "--out", tmp_path / "local")
    assert local.returncode == 0, local.stderr
    with distributed.get_task_stream(client) as stream:
        remote = run_bookbuild("build", book, "--out", tmp_path / "remote",
                               env={cluster.SCHEDULER_VARIABLE: address})
    assert remote.returncode == 0, remote.stderr
    assert "laid out in one process" in remote.stdout
    assert files_of(tmp_path / "remote") == files_of(tmp_path / "local")
    assert sum(layout_tasks(stream).values()) == 1


def test_a_worker_killed_during_a_layout_is_survived(two_workers: tuple[str, object],
                                                     tmp_path: Path) -> None:
    address, client = two_workers
    local = run_bookbuild("build", BOOKS / "structures", "--out", tmp_path / "local", "--format", "pdf")
    assert local.returncode == 0, local.stderr
    process = subprocess.Popen([sys.executable, "-m", "bookbuild", "build", str(BOOKS / "structures"),
                                "--out", str(tmp_path / "remote"), "--format", "pdf",
                                "--scheduler", address], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    killed = None
    first_seen: float | None = None
    deadline = time.monotonic() + 120
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        # The worker laying a chapter out that also holds the book sent (the one copy, which
        # the other workers fetch from it): it dies with both.
        busy = {worker for worker, keys in client.processing().items()  # type: ignore[attr-defined]
                if any(key.startswith("lay_out_part") for key in keys)}
        holders = set(client.run_on_scheduler(_book_holders))  # type: ignore[attr-defined]
        if busy & holders and first_seen is None:
            first_seen = time.monotonic()
        # Best before the other worker has a copy; on a loaded machine that moment can be missed.
        if busy & holders and (len(holders) == 1 or time.monotonic() - first_seen > 1):
            killed = min(busy & holders)
            pid = client.run(os.getpid, workers=[killed])[killed]  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    _stdout, stderr = process.communicate(timeout=300)
    assert killed is not None, "no layout was seen running"
    assert process.returncode == 0, stderr
    assert stderr == f"connecting to the Dask scheduler at {address}\n"  # (Dask's own logs: none)
    assert files_of(tmp_path / "remote") == files_of(tmp_path / "local")


def _book_holders(dask_scheduler: object) -> list[str]:
    return [worker.address for task in dask_scheduler.tasks.values()  # type: ignore[attr-defined]
            if str(task.key).startswith("_received") for worker in task.who_has or ()]


def test_a_worker_that_differs_is_given_no_work(two_workers: tuple[str, object], tmp_path: Path) -> None:
    address, client = two_workers
    workers = sorted(client.scheduler_info()["workers"])  # type: ignore[attr-defined]
    odd = workers[0]
    client.run(_pretend_other_weasyprint, workers=[odd])  # type: ignore[attr-defined]
    try:
        with distributed.get_task_stream(client) as stream:
            remote = run_bookbuild("build", BOOKS / "features", "--out", tmp_path / "out",
                                   "--scheduler", address, "--format", "pdf")
    finally:
        client.run(_restore_environment, workers=[odd])  # type: ignore[attr-defined]
    assert remote.returncode == 0, remote.stderr
    assert f"bookbuild: worker {odd} is given no work: WeasyPrint 0.1 there, " in remote.stderr
    assert set(layout_tasks(stream)) == {workers[1]}


def test_a_build_pinned_to_the_fit_worker_stops_when_it_leaves(two_workers: tuple[str, object],
                                                               tmp_path: Path) -> None:
    """One worker differs, so the layouts are pinned to the other; that one is killed (its nanny
    restarts it at another address): exit 2 in one line, not a build waiting for ever."""
    address, client = two_workers
    workers = sorted(client.scheduler_info()["workers"])  # type: ignore[attr-defined]
    odd, fit = workers
    client.run(_pretend_other_weasyprint, workers=[odd])  # type: ignore[attr-defined]
    try:
        process = subprocess.Popen([sys.executable, "-m", "bookbuild", "build",
                                    str(BOOKS / "structures"), "--out", str(tmp_path / "out"),
                                    "--scheduler", address, "-q"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            processing = client.processing()  # type: ignore[attr-defined]
            if any(key.startswith("lay_out_part") for key in processing.get(fit, ())):
                pid = client.run(os.getpid, workers=[fit])[fit]  # type: ignore[attr-defined]
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        _stdout, stderr = process.communicate(timeout=120)
    finally:
        client.run(_restore_environment, workers=[odd])  # type: ignore[attr-defined]
    assert process.returncode == 2, stderr
    lines = stderr.splitlines()
    assert lines[0].startswith(f"bookbuild: worker {odd} is given no work")
    assert lines[1:] == [f"{address}: error[cluster]: every worker found fit for this build has left "
                         "the cluster (a worker that restarts comes back at another address) (build "
                         "again: the check at connect finds the workers there are now)"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_cluster_of_no_fit_worker_is_exit_2_naming_each(two_workers: tuple[str, object],
                                                          tmp_path: Path) -> None:
    address, client = two_workers
    client.run(_pretend_other_weasyprint)  # type: ignore[attr-defined]
    try:
        result = run_bookbuild("build", BOOKS / "features", "--out", tmp_path / "out",
                               "--scheduler", address)
    finally:
        client.run(_restore_environment)  # type: ignore[attr-defined]
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert sum("is given no work: WeasyPrint 0.1 there" in line for line in lines) == 2
    assert lines[-1].startswith(f"{address}: error[cluster]: no worker can take the layouts")
    assert not (tmp_path / "out").exists()


def test_a_worker_that_joins_after_the_check_and_differs_fails_the_build_in_one_line(
        two_workers: tuple[str, object], tmp_path: Path) -> None:
    """What a worker runs is checked again with each task: the check at connect did not see it."""
    address, client = two_workers
    client.run(_pretend_other_pango_for_tasks)  # type: ignore[attr-defined]
    try:
        result = run_bookbuild("build", BOOKS / "features", "--out", tmp_path / "out",
                               "--scheduler", address, "-q")
    finally:
        client.run(_restore_environment_for_tasks)  # type: ignore[attr-defined]
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "error[cluster]: this worker differs from the client: Pango 0.0.1 there" in result.stderr
    assert not (tmp_path / "out").exists()


def _pretend_other_pango_for_tasks() -> None:
    from bookbuild.writers import pdfcluster

    pdfcluster._environment.cache_clear()
    pdfcluster.real_environment = pdfcluster.worker_environment  # type: ignore[attr-defined]
    pdfcluster.worker_environment = lambda typeface: {**cluster.worker_environment(typeface),
                                                      "Pango": "0.0.1"}


def _restore_environment_for_tasks() -> None:
    from bookbuild.writers import pdfcluster

    pdfcluster.worker_environment = pdfcluster.real_environment  # type: ignore[attr-defined]
    pdfcluster._environment.cache_clear()


def _pretend_other_weasyprint() -> None:
    real = cluster.worker_environment
    cluster.real_environment = real  # type: ignore[attr-defined]
    cluster.worker_environment = lambda: {**real(), "WeasyPrint": "0.1"}


def _restore_environment() -> None:
    cluster.worker_environment = cluster.real_environment  # type: ignore[attr-defined]


def test_a_scheduler_that_cannot_be_reached_is_exit_2_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = run_bookbuild("build", BOOKS / "features", "--out", tmp_path / "out",
                           "--scheduler", f"tcp://127.0.0.1:{port}", "-q")
    assert time.monotonic() - started < cluster.CONNECT_SECONDS + 20
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"tcp://127.0.0.1:{port}: error[cluster]: cannot reach the Dask "
                                    f"scheduler within {cluster.CONNECT_SECONDS} s")
    assert not (tmp_path / "out").exists()


def test_without_dask_the_option_says_how_to_install_it(tmp_path: Path) -> None:
    script = ("import sys; sys.modules['distributed'] = None\n"
              "from bookbuild.cli import main; sys.exit(main(sys.argv[1:]))\n")
    result = subprocess.run([sys.executable, "-c", script, "build", str(BOOKS / "features"), "--out",
                             str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1", "-q"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr == ("tcp://127.0.0.1:1: error[cluster]: --scheduler needs Dask's distributed, "
                             f"which is not installed ({cluster.INSTALL_HINT})\n")
    assert not (tmp_path / "out").exists()


def _print_document(book: Path) -> object:
    from bookbuild.pipeline import build_timestamp, iso, prepare
    from bookbuild.render import render_print
    from bookbuild.resources import book_fonts

    manuscript, _warnings = prepare(book)
    return render_print(manuscript, book_fonts(), iso(build_timestamp(manuscript.book)))


def test_the_book_travels_with_the_task_and_the_worker_reads_nothing_of_its_folder(tmp_path: Path) -> None:
    """No shared file system: a layout from the book sent is the local one, with the book gone."""
    from bookbuild.writers import pdf, pdfcluster

    book = tmp_path / "features"
    shutil.copytree(BOOKS / "features", book)
    document = _print_document(book)
    local = pdf.write_pdf(document, tmp_path / "local.pdf")  # type: ignore[arg-type]
    sent = pdfcluster.sent_book(document)  # type: ignore[arg-type]
    assert sorted(Path(name).name for name in sent.files) == ["square.png"]  # not the Markdown
    book.rename(tmp_path / "gone")
    data, result = pdfcluster.write_whole(sent, None)
    assert data == (tmp_path / "local.pdf").read_bytes()
    assert result.pages == local.pages


def test_a_workers_sandbox_serves_what_was_sent_and_nothing_else(tmp_path: Path) -> None:
    from bookbuild.sandbox import RefusedResource
    from bookbuild.writers import pdfcluster

    book = tmp_path / "features"
    shutil.copytree(BOOKS / "features", book)
    (book / "notes.txt").write_text("not a file a layout loads", encoding="utf-8")
    fetcher = pdfcluster.SentFetcher(pdfcluster.sent_book(_print_document(book)))  # type: ignore[arg-type]
    image = fetcher.fetch((book / "images" / "square.png").as_uri())
    assert image.read() == (book / "images" / "square.png").read_bytes()
    assert image.path is None  # (WeasyPrint would read the worker's disk at that path)
    (tmp_path / "secret.png").write_bytes(b"not the book's")
    (book / "linked").symlink_to(tmp_path)
    outside = [(book / ".." / "features" / "../secret.png").as_uri(),
               (book / "images").as_uri() + "/%2e%2e/%2E%2E/secret.png", "file:///etc/passwd",
               (book / "linked" / "secret.png").as_uri()]
    for url in [*outside, (book / "notes.txt").as_uri(), "https://example.com/a.png"]:
        with pytest.raises(RefusedResource) as refused:
            fetcher.fetch(url)
        if url in outside[:3]:
            assert refused.value.reason == "the file is outside the book folder"
