"""Run one output's writer in a child process, beside the parent's own work.

WeasyPrint does not give memory back to the operating system, so the PDF is laid out in a
process of its own that ends with it; the EPUB is written meanwhile. A Ctrl-C reaches the child
as a KeyboardInterrupt, so its atomic writes clean up after themselves.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .diagnostics import BookError

_FORK = multiprocessing.get_context("fork")
PR_SET_PDEATHSIG = 1  # prctl(2)
SEND_SECONDS = 600  # a child's result waits this long at most for its reader


class ChildFailure(RuntimeError):
    """An internal failure in the child; carries the child's traceback for --debug."""

    def __init__(self, kind: str, message: str, child_traceback: str):
        super().__init__(f"{kind}: {message}" if message else kind)
        self.child_traceback = child_traceback


_interrupted = False


def _interrupt_once(_signum: int, _frame: object) -> None:
    # Ctrl-C reaches the child twice (from the terminal, then from the parent's cancel):
    # the first interrupts the work, the rest must not interrupt the clean-up. The handler
    # stays installed and does nothing more: switching to SIG_IGN here would race with a
    # signal already on its way ("Signal 15 ignored due to race condition", printed).
    global _interrupted
    if _interrupted:
        return
    _interrupted = True
    raise KeyboardInterrupt


def _lost_interrupt(unraisable: sys.UnraisableHookArgs) -> None:
    """A KeyboardInterrupt raised while a __del__ runs (WeasyPrint's FontConfiguration has one)
    is printed and dropped, and the work would go on for nobody: it is raised again a moment
    later, outside the __del__ (a signal sent now would be handled in this hook)."""
    global _interrupted
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt) \
            and _interrupted:
        _interrupted = False
        signal.signal(signal.SIGALRM, _interrupt_once)
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        return
    sys.__unraisablehook__(unraisable)


def _die_with_parent(parent: int) -> None:
    """If the parent is killed outright (kill -9), the child is interrupted as by Ctrl-C and
    cleans up, instead of laying out for nobody and leaving its temporary file (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGINT)


def _child(connection: Connection, function: Callable[..., Any], args: tuple[Any, ...],
           parent: int) -> None:
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)
    sys.unraisablehook = _lost_interrupt
    outcome: tuple[str, Any]
    try:
        try:
            # Held since the fork (see Job): a Ctrl-C or cancel sent meanwhile is raised right here.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
            _die_with_parent(parent)
            outcome = ("ok", function(*args))
        except BookError as error:
            outcome = ("book", error.diagnostics)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # reported to the parent, which decides the exit code
            outcome = ("internal", (type(error).__name__, str(error), traceback.format_exc()))
    except KeyboardInterrupt:  # _interrupt_once raises at most once, wherever it lands above
        outcome = ("interrupted", None)
    # The work is over: a Ctrl-C or the parent's cancel arriving now (the child may be sending,
    # or exiting already) must not interrupt the send or multiprocessing's exit path.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    # A send no one reads (the parent gone, the pipe held open by a sibling) must not keep the
    # process alive: it ends after SEND_SECONDS.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # (_lost_interrupt may have taken it)
    signal.alarm(SEND_SECONDS)
    try:
        connection.send(outcome)
    finally:
        connection.close()


class Job:
    def __init__(self, function: Callable[..., Any], *args: Any, daemon: bool = True):
        """`daemon`: False for a job that starts jobs of its own (a daemon process may not)."""
        self._receive, send = _FORK.Pipe(duplex=False)
        self._process = _FORK.Process(target=_child, args=(send, function, args, os.getpid()),
                                      daemon=daemon)
        # The child starts with Ctrl-C held, until its own handler is in place (see _child).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        send.close()
        self.started = time.perf_counter()

    def wait(self, tick: Callable[[float], None] | None = None) -> Any:
        try:
            while not self._receive.poll(0.2):
                if not self._process.is_alive() and not self._receive.poll(0):
                    raise ChildFailure("a PDF layout process died", f"exit code {self._process.exitcode}; "
                                       "if the machine ran out of memory, try --jobs 1", "")
                if tick is not None:
                    tick(time.perf_counter() - self.started)
            try:
                kind, payload = self._receive.recv()
            except EOFError:  # killed outright (out of memory, kill -9): nothing was sent
                self._process.join()
                raise ChildFailure("a PDF layout process died", f"exit code {self._process.exitcode}; "
                                   "if the machine ran out of memory, try --jobs 1", "") from None
        except BaseException:
            self.cancel()
            raise
        self._process.join()
        if kind == "ok":
            return payload
        if kind == "book":
            raise BookError(payload)
        if kind == "interrupted":
            raise KeyboardInterrupt
        raise ChildFailure(*payload)

    def finished(self) -> bool:
        """The child has sent its outcome, or died without one (wait() then says so)."""
        return self._receive.poll(0) or not self._process.is_alive()

    def interrupt(self) -> None:
        """Send the child a Ctrl-C (cancel() then waits for it)."""
        if self._process.is_alive() and self._process.pid is not None:
            os.kill(self._process.pid, signal.SIGINT)

    def cancel(self) -> None:
        """Interrupt the child as Ctrl-C would, so that it removes its temporary files."""
        if self._process.is_alive():
            self.interrupt()
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def run_all(tasks: list[tuple[Callable[..., Any], tuple[Any, ...]]], jobs: int) -> list[Any]:
    """Run each (function, args) in a child of its own, at most `jobs` at a time (and, in a
    catalogue, only while a shared slot is free: share_slots); the results in the order of the
    tasks. The first failure cancels the rest and is raised."""
    results: list[Any] = [None] * len(tasks)
    waiting = list(enumerate(tasks))
    running: dict[int, Job] = {}
    slots: dict[int, int] = {}  # the slot each running job holds
    try:
        while waiting or running:
            while waiting and len(running) < max(1, jobs):
                slot = _take_slot(block=not running)
                if slot is None:
                    break
                index, (function, args) = waiting.pop(0)
                slots[index] = slot
                # A Ctrl-C between the fork and this assignment would leave a child that no
                # cancel reaches: held until the job is in `running`.
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                try:
                    running[index] = Job(function, *args)
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
            multiprocessing.connection.wait([job._receive for job in running.values()], 0.2)
            for index in [i for i, job in running.items() if job.finished()]:
                job = running.pop(index)
                results[index] = job.wait()
                _give_slot(slots.pop(index))
    except BaseException:
        for job in running.values():
            job.cancel()
        for slot in slots.values():
            _give_slot(slot)
        raise
    return results


# A catalogue's layout slots: its books are built at once, in processes of their own, and their
# layouts take turns for these, so that they never run more than --jobs layouts between them.
# A slot is a byte of a shared file, locked with a POSIX record lock by the process that lays
# out or starts the layout: the kernel frees it when that process ends, however it ends (killed,
# out of memory), so no book can wait for a slot nobody holds. Such locks are not inherited by
# forked children, and a process's own lock never blocks it: it keeps count of its own (_held).
_slots: tuple[int, int] | None = None  # (the file's descriptor, how many slots)
_held: tuple[int, set[int]] = (0, set())  # (the process, the slots it holds)
SLOT_WAIT = 0.1  # seconds between two looks for a free slot


def share_slots(count: int, folder: Path) -> None:
    """From now on this process, and the processes it forks, run at most `count` layouts at once
    between them; their locks are in a file in `folder`."""
    global _slots
    handle, path = tempfile.mkstemp(prefix="slots-", dir=folder)
    os.unlink(path)  # (the descriptor is enough: forked processes inherit it)
    _slots = (handle, count)


def _my_slots() -> set[int]:
    global _held
    if _held[0] != os.getpid():  # a forked child holds none of its parent's locks
        _held = (os.getpid(), set())
    return _held[1]


def _take_slot(block: bool) -> int | None:
    """A shared slot taken: its number (-1 outside a catalogue: there is no limit but --jobs);
    None when none is free and not `block`. Waiting, it looks again every SLOT_WAIT seconds,
    so that a Ctrl-C is not held up."""
    if _slots is None:
        return -1
    handle, count = _slots
    mine = _my_slots()
    while True:
        for slot in range(count):
            if slot in mine:
                continue
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):  # (taken) anything else: say it
                    raise
                continue
            mine.add(slot)
            return slot
        if not block:
            return None
        time.sleep(SLOT_WAIT)


def _give_slot(slot: int) -> None:
    if _slots is not None and slot >= 0:
        fcntl.lockf(_slots[0], fcntl.LOCK_UN, 1, slot)
        _my_slots().discard(slot)


@contextlib.contextmanager
def layout_slot() -> Iterator[None]:
    """Hold a shared slot while laying out here, in this process (the one-process layout)."""
    slot = _take_slot(block=True)
    assert slot is not None
    try:
        yield
    finally:
        _give_slot(slot)


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, within a container's CPU quota (cgroups)."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(count, quota) if quota else count)


def _cgroup_quota() -> int | None:
    """cgroup v2's cpu.max ("200000 100000": two CPUs), else v1's CFS quota; None: no limit."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text().strip()
            period = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1") or not quota.lstrip("-").isdigit() or not period.isdigit():
        return None
    return max(1, math.ceil(int(quota) / int(period)))
