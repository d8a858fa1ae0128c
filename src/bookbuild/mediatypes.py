"""Media types of the files a book may carry into its EPUB: one table, by file suffix."""

from __future__ import annotations

from pathlib import PurePath

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}
# What Pillow calls each image format, for telling a file whose name lies about its content.
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# What Pillow may call a file that is, for a reader, of a format above.
PILLOW_ALIASES = {"MPO": "JPEG"}  # a camera's multi-picture JPEG
FONT_TYPES = {".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff", ".woff2": "font/woff2"}
STYLE_TYPES = {".css": "text/css"}
MEDIA_TYPES = {**IMAGE_TYPES, **FONT_TYPES, **STYLE_TYPES}


def media_type(name: str | PurePath) -> str | None:
    """The EPUB media type of a file, or None for a kind an EPUB cannot carry."""
    return MEDIA_TYPES.get(PurePath(name).suffix.lower())


def name_has_spaces(name: str | PurePath) -> bool:
    """EPUBCheck warns of spaces in a packed file's name (PKG-010): old readers lose the file."""
    return any(ch.isspace() for ch in str(name))
