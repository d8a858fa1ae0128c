"""A book's CSS, read as CSS (tinycss2, WeasyPrint's own parser): what it imports and loads,
checked to stay inside the book, and what WeasyPrint would ignore, each with file, line, column.

The same reading serves raw HTML's <style> elements and style attributes (rawhtml.py), so an
escape such as url('\\68ttp://…') is decoded once, here, before any rule looks at it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import tinycss2
from tinycss2 import ast
from weasyprint.urls import URLFetcherResponse

from . import urls
from .diagnostics import Report
from .limits import MAX_STYLESHEET_BYTES
from .mediatypes import IMAGE_TYPES, media_type, name_has_spaces
from .weasylog import captured

_AT = re.compile(r"at (\d+):(\d+)")
# Functions whose string arguments are URLs, as url() is.
_URL_FUNCTIONS = {"url", "src", "image-set", "-webkit-image-set", "image"}


@dataclass(frozen=True)
class CssReference:
    url: str  # decoded: escapes resolved
    line: int
    col: int
    is_import: bool

    @property
    def is_remote(self) -> bool:
        return urls.is_remote(self.url)

    @property
    def is_data(self) -> bool:
        return urls.is_data(self.url)

    @property
    def loads_nothing(self) -> bool:
        """A place in the same document, or embedded pictures or fonts (never an @import)."""
        return not self.url or urls.is_fragment(self.url) or \
            (urls.is_safe_data(self.url) and not self.is_import)


def references(css: str, *, declarations: bool = False) -> list[CssReference]:
    """Every @import and url() of a stylesheet (or of a style attribute's declarations)."""
    nodes = (tinycss2.parse_blocks_contents(css) if declarations
             else tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))
    return list(_walk(nodes))


def _walk(nodes: Iterable[object]) -> Iterator[CssReference]:
    for node in nodes:
        if isinstance(node, ast.AtRule) and node.lower_at_keyword == "import":
            target = next((t for t in node.prelude if not isinstance(t, ast.WhitespaceToken)), None)
            url = _url_of(target)
            if url is not None:
                yield CssReference(url, node.source_line, node.source_column, True)
            continue
        if isinstance(node, ast.URLToken):
            yield CssReference(node.value, node.source_line, node.source_column, False)
        elif isinstance(node, ast.FunctionBlock):
            if node.lower_name in _URL_FUNCTIONS:
                for argument in node.arguments:
                    if isinstance(argument, ast.StringToken):
                        yield CssReference(argument.value, node.source_line, node.source_column, False)
            yield from _walk(node.arguments)
        for children in (getattr(node, "prelude", None), getattr(node, "content", None),
                         getattr(node, "value", None)):
            if isinstance(children, list):
                yield from _walk(children)


def _url_of(token: object) -> str | None:
    if isinstance(token, ast.StringToken | ast.URLToken):
        return token.value
    if isinstance(token, ast.FunctionBlock) and token.lower_name == "url":
        return next((a.value for a in token.arguments if isinstance(a, ast.StringToken)), None)
    return None


def content_strings(css: str) -> str:
    """The text of the content: strings in a stylesheet (escapes such as \\2767 decoded)."""
    strings = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        for declaration in tinycss2.parse_blocks_contents(getattr(rule, "content", None) or []):
            if getattr(declaration, "lower_name", "") == "content":
                strings += [t.value for t in declaration.value if t.type == "string"]
    return "".join(strings)


def declared_inline(style: str, names: frozenset[str]) -> list[str]:
    """Which of the properties `names` a style attribute declares."""
    return [name for declaration in tinycss2.parse_blocks_contents(style)
            if (name := getattr(declaration, "lower_name", "")) in names]


def local_path(url: str) -> str:
    """The file part of a relative URL: fonts/My%20Font.ttf#x -> fonts/My Font.ttf."""
    return unquote(urlsplit(url).path)


def check_stylesheet(path: Path, book_root: Path, report: Report,
                     seen: set[Path] | None = None) -> list[Path]:
    """Check one of the book's stylesheets and those it imports; return every file they use
    (imported stylesheets, fonts, images), each inside the book and existing."""
    seen = set() if seen is None else seen
    if path in seen:
        return []
    seen.add(path)
    size = path.stat().st_size
    if size > MAX_STYLESHEET_BYTES:
        report.error(path, "file-too-large", f"the stylesheet is {size / 1048576:.1f} MB; the limit is "
                     f"{MAX_STYLESHEET_BYTES // 1048576} MB", hint="a book's CSS is a few kilobytes")
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    used: list[Path] = []
    try:
        found = references(text)
        warnings = _weasyprint_warnings(text, path)
    except RecursionError:  # blocks nested thousands deep: tinycss2 and WeasyPrint recurse
        report.error(path, "css-nesting", "the stylesheet nests blocks or brackets too deeply to be read",
                     hint="no stylesheet needs that; look for unclosed ( [ or {")
        return []
    for ref in found:
        where = {"line": ref.line, "col": ref.col}
        if ref.loads_nothing:
            continue
        if ref.is_data:
            report.error(path, "css-data", "the stylesheet embeds data that is not a picture or a font"
                         + (" in an @import" if ref.is_import else ""),
                         hint="embed only PNG, JPEG, GIF, WebP or fonts; put CSS in a file of the book",
                         **where)
            continue
        if ref.is_remote:
            report.error(path, "css-remote", f'the stylesheet loads "{ref.url}" from the network',
                         hint="copy the file into the book folder", **where)
            continue
        target = Path(os.path.normpath(path.parent / local_path(ref.url)))
        if ref.url.lower().startswith("file:") or ref.url.startswith("/") or not _inside(target, book_root):
            report.error(path, "css-outside", f'the stylesheet refers to "{ref.url}", outside the '
                         "book folder", hint="keep fonts and images inside the book folder", **where)
        elif not target.is_file():
            report.error(path, "css-missing", f'the stylesheet refers to "{ref.url}", which does not '
                         "exist", hint="check the name, or add the file to the book", **where)
        elif name_has_spaces(target.relative_to(book_root.absolute())):
            report.error(path, "css-file-name", f'the stylesheet refers to "{ref.url}": a file an EPUB '
                         "carries may not have spaces in its name", hint="rename it, e.g. with "
                         "hyphens for spaces, and change the reference", **where)
        elif media_type(target) is None:
            report.error(path, "css-file-type", f'the stylesheet refers to "{ref.url}", a kind of file '
                         "an EPUB cannot carry", hint="use fonts (.otf, .ttf, .woff, .woff2), images "
                         "(.png, .jpg, .gif, .svg, .webp) or stylesheets (.css)", **where)
        elif ref.is_import:
            used.append(target)
            used += check_stylesheet(target, book_root, report, seen)
        else:
            used.append(target)
            _check_image(path, target, ref, report)
    for line, col, message in warnings:
        report.warning(path, "css", message, line=line, col=col)
    return used


def _check_image(path: Path, target: Path, ref: CssReference, report: Report) -> None:
    """An image the CSS uses goes into the EPUB like any other: the same rules (images.py)."""
    from .images import image_problems  # (images.py reads SVG's CSS with this module)

    if target.suffix.lower() in IMAGE_TYPES:
        for problem in image_problems(ref.url, target):
            report.error(path, problem.code, problem.message, line=ref.line, col=ref.col, hint=problem.hint)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _weasyprint_warnings(text: str, path: Path) -> list[tuple[int | None, int | None, str]]:
    """Parse the stylesheet as WeasyPrint will, and keep what it says it ignores."""
    from weasyprint import CSS

    with captured() as messages:
        # Nothing is read: references were checked above; an import is parsed on its own.
        CSS(string=text, base_url=path.as_uri(), url_fetcher=_empty)
    found = []
    for message in messages:
        where = _AT.search(message)
        line, col = (int(where.group(1)), int(where.group(2))) if where else (None, None)
        clean = _AT.sub("", message).replace(" ,", ",").strip(" .,")
        found.append((line, col, clean[0].lower() + clean[1:] if clean else message))
    return found


def _empty(url: str, *args: object, **kwargs: object) -> URLFetcherResponse:
    return URLFetcherResponse(url, body=b"", headers={"Content-Type": "text/css"})
