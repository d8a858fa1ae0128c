"""Run by Calibre's own Python (`calibre-debug calibre_convert.py EPUB AZW3`), never imported by
bookbuild: converts the EPUB to AZW3 as `ebook-convert` does, and prints the conversion's
warnings and errors, which Calibre's log tells apart only by colour, as one JSON line:
[[level, message], ...] (2 a warning, 3 an error it went on from)."""

import json
import sys

from calibre.ebooks.conversion.plumber import Plumber  # type: ignore[import-not-found]
from calibre.utils.logging import WARN, Log, Stream  # type: ignore[import-not-found]


class Kept(Stream):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[list[object]] = []

    def prints(self, level: int, *args: object, **kwargs: object) -> None:
        message = " ".join(str(arg) for arg in args).strip()
        if level >= WARN and [level, message] not in self.found:
            self.found.append([level, message])


def main() -> None:
    kept = Kept()
    log = Log()
    log.outputs = [kept]
    Plumber(sys.argv[1], sys.argv[2], log).run()
    print(json.dumps(kept.found))


if __name__ == "__main__":
    main()
