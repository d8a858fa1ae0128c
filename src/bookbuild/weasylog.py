"""WeasyPrint logs its warnings; bookbuild turns the ones about a book into diagnostics itself
(stylesheets.py) and keeps the rest off the terminal."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """WeasyPrint's warnings while the block runs, collected instead of printed."""
    logger = logging.getLogger("weasyprint")
    handler = _Collect()
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [handler], False
    try:
        yield handler.messages
    finally:
        logger.handlers, logger.propagate = saved
