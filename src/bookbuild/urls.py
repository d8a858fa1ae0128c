"""What a URL in a book points at: the network, the book's own files, embedded data, or a place
in the same document. One rule, used by the CSS, raw HTML, SVG and image checks."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Embedded data a book may carry: pictures and fonts, never markup, stylesheets or scripts.
_SAFE_DATA = re.compile(r"data:(image/(png|jpeg|gif|webp)|font/[a-z0-9.+-]+|application/font-[a-z0-9.+-]+)"
                        r"[;,]", re.I)


def is_remote(url: str) -> bool:
    """On the network: a scheme of its own (not data: or file:), or a network path (//host).
    Backslashes count as slashes, as a browser reads them."""
    text = url.strip().replace("\\", "/")
    scheme = urlsplit(text).scheme
    # (a one-letter "scheme" is a Windows drive: a path, said elsewhere as outside the book)
    return text.startswith("//") or (len(scheme) > 1 and scheme.lower() not in ("data", "file"))


def is_data(url: str) -> bool:
    return url.strip().lower().startswith("data:")


def is_safe_data(url: str) -> bool:
    return _SAFE_DATA.match(url.strip()) is not None


def is_fragment(url: str) -> bool:
    """A place in the same document (#id): loads nothing."""
    return url.strip().startswith("#")
