"""Reading a built PDF back as a reader sees it: pages, labels, outline, text, fonts."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import DictionaryObject


def normalize(text: str) -> str:
    """Fold ligatures and spacing so that layout text compares with source text."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return " ".join(text.split())


class Pdf:
    def __init__(self, path: Path):
        self.path = path
        self.reader = PdfReader(path)
        self.pages = self.reader.pages
        self.labels = self.reader.page_labels
        self.texts = [normalize(page.extract_text() or "") for page in self.pages]

    def outline_titles(self) -> list[str]:
        titles: list[str] = []

        def walk(items: list) -> None:
            for item in items:
                if isinstance(item, list):
                    walk(item)
                else:
                    titles.append(item.title)

        walk(self.reader.outline)
        return titles

    def page_starting_with(self, title: str, after: int = 0) -> int:
        """Index of the first page, from `after`, whose text opens with `title`."""
        wanted = normalize(title)
        for index in range(after, len(self.texts)):
            if self.texts[index].startswith(wanted):
                return index
        raise AssertionError(f"no page opens with {title!r}")

    def contents_numbers(self, titles: list[str]) -> dict[str, str]:
        """The page number the contents prints after each title (leader dots between)."""
        index = next(i for i, text in enumerate(self.texts) if text.startswith("Contents"))
        text = self.texts[index]
        numbers = {}
        for title in titles:
            pattern = re.escape(normalize(title)) + r"[\s.]*?\s([0-9]+|[ivxlcdm]+)\b"
            match = re.search(pattern, text)
            assert match, f"{title!r} is not in the contents: {text}"
            numbers[title] = match.group(1)
        return numbers

    def fonts(self) -> list[str]:
        """The base font names the pages use (subset prefixes kept)."""
        names = set()
        for page in self.pages:
            resources = page.get("/Resources") or {}
            for font in (resources.get("/Font") or {}).values():
                names.add(str(font.get_object().get("/BaseFont")))
        return sorted(names)

    def fonts_not_embedded(self) -> list[str]:
        missing = []
        for page in self.pages:
            resources = page.get("/Resources") or {}
            fonts = resources.get("/Font") or {}
            for font in fonts.values():
                font = font.get_object()
                missing.extend(_unembedded(font))
        return sorted(set(missing))


def _unembedded(font: DictionaryObject) -> list[str]:
    descendants = font.get("/DescendantFonts")
    targets = [d.get_object() for d in descendants] if descendants else [font]
    missing = []
    for target in targets:
        descriptor = target.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor else {}
        if not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            missing.append(str(font.get("/BaseFont")))
    return missing


def line_starts(path: Path, beginnings: list[str]) -> dict[str, float]:
    """The left edge of the printed line that begins with each string."""
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    found: dict[str, float] = {}
    for index in range(len(document)):
        textpage = document[index].get_textpage()
        page_text = textpage.get_text_range()
        for line in page_text.splitlines():
            for beginning in beginnings:
                if beginning not in found and normalize(line).startswith(beginning):
                    found[beginning] = textpage.get_charbox(page_text.find(line))[0]
        if len(found) == len(beginnings):
            break
    assert set(found) == set(beginnings), found
    return found
