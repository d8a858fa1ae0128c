"""Outputs appear whole or not at all: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".bookbuild-"


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it replaces `target`, on any failure it vanishes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:  # KeyboardInterrupt too: never leave a partial file behind
        temp.unlink(missing_ok=True)
        raise


def remove_stale_parts(target: Path) -> None:
    """A build killed outright (kill -9, a power cut) left its temporary file: gone now. Only
    this output's, so a build of another book into the same folder keeps its own."""
    for stale in target.parent.glob(f"{TEMP_PREFIX}*-{target.name}.part"):
        stale.unlink(missing_ok=True)


def write_atomically(target: Path, data: bytes) -> None:
    with atomic_output(target) as handle:
        handle.write(data)


class Staging:
    """Outputs of one build, written beside their targets and renamed only when all succeeded:
    a failure anywhere leaves every earlier output as it was and no temporary file behind."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.staged: list[tuple[Path, Path]] = []
        # The folders this build may create, deepest first: a failed build removes them again.
        self.new_dirs = [d for d in (out_dir, *out_dir.parents) if not d.exists()]

    def path_for(self, target: Path) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(target)
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=f"-{target.name}.part", dir=self.out_dir)
        os.close(fd)
        temp = Path(name)
        self.staged.append((temp, target))
        return temp

    def commit(self) -> None:
        for temp, target in self.staged:
            os.chmod(temp, 0o644)
            os.replace(temp, target)
        self.staged.clear()

    def abort(self) -> None:
        for temp, _target in self.staged:
            temp.unlink(missing_ok=True)
        self.staged.clear()
        for folder in self.new_dirs:  # a failed first build leaves no empty folder either
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
