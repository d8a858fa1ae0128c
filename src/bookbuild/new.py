"""`bookbuild new DIR`: a working book to start from, with every manifest key explained."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from .diagnostics import book_error
from .manifest import slugify
from .resources import TEMPLATES_DIR

STARTER = TEMPLATES_DIR / "new"
FILES = ("preface.md", "chapter-1.md", "chapter-2.md")


def new_book(folder: Path, title: str | None = None) -> list[Path]:
    if folder.exists() and not folder.is_dir():
        raise book_error(folder, "new", "this is a file, not a folder",
                         hint="give the name of a new folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise book_error(folder, "new", "the folder is not empty; bookbuild new writes only into "
                         "a new or empty folder", hint="choose another name")
    import jinja2

    title = title or folder.resolve().name.replace("-", " ").replace("_", " ").strip().title() or "A New Book"
    today = dt.date.today()
    manifest = jinja2.Template((STARTER / "book.toml.j2").read_text(encoding="utf-8"),
                               keep_trailing_newline=True).render(
        title=json.dumps(title, ensure_ascii=False)[1:-1], slug=slugify(title), uuid=uuid.uuid4(),
        date=today.isoformat(), year=today.year)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir()
    written = [folder / "book.toml"]
    written[0].write_text(manifest, encoding="utf-8")
    for name in FILES:
        (folder / name).write_text((STARTER / name).read_text(encoding="utf-8"), encoding="utf-8")
        written.append(folder / name)
    written.append(folder / "images")
    return written
