"""The sizes a book's input may have: one place, so every reader of a file applies the same.

Each limit is far above any real book and far below what would exhaust memory or time."""

from __future__ import annotations

MAX_SOURCE_BYTES = 20 * 1024 * 1024  # a Markdown section
MAX_STYLESHEET_BYTES = 2 * 1024 * 1024  # a 48 MB stylesheet took 5 GB to parse
MAX_SVG_BYTES = 10 * 1024 * 1024
# Pillow's own guard only raises above ~179 megapixels; a 6 x 9 in page at 600 ppi is 19 million.
MAX_IMAGE_PIXELS = 40_000_000
# An EPUB given to `diff`: no entry or whole archive is read beyond these.
MAX_ARCHIVE_ENTRY_BYTES = 50 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 10_000
# Nesting of the parsed HTML (block quotes, lists, divs): deeper cannot be a real book, and
# recursive readers downstream (lxml serialisation, WeasyPrint's layout) would exhaust the stack.
MAX_NESTING = 60
# A PDF given to `preflight`: a 1,000-page book with 300 ppi images is far below.
MAX_PDF_BYTES = 2 * 1024 * 1024 * 1024
