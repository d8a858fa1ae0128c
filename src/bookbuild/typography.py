"""Typographic refinements applied to the text of a parsed section (never to markup).

python-markdown's smarty extension makes the quotes, dashes and ellipses; these rules add the
no-break spaces a typesetter would: after initials and abbreviated titles, and before a dash
that closes an aside, so that a line never starts with "—" or ends with "S.".
"""

from __future__ import annotations

import re

NBSP = "\u00a0"

# Smarty's substitutions as Unicode characters: its default named entities (&ldquo;) are not
# defined in XHTML and make an EPUB fatal for EPUBCheck.
SMARTY_SUBSTITUTIONS = {
    "left-single-quote": "\u2018",
    "right-single-quote": "\u2019",
    "left-double-quote": "\u201c",
    "right-double-quote": "\u201d",
    "left-angle-quote": "\u00ab",
    "right-angle-quote": "\u00bb",
    "ndash": "\u2013",
    "mdash": "\u2014",
    "ellipsis": "\u2026",
}

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # "Mikhail S. Gorbachev", "J. R. R. Tolkien": keep an initial with what follows.
    (re.compile(r"(?<![\w.])([A-Z]\.) (?=[A-Z])"), r"\1" + NBSP),
    # "Mr. Gorbachev", "Dr. Keller": keep an abbreviated title with the name.
    (re.compile(r"\b(Mr|Mrs|Ms|Dr|Prof|St|Mt)\. (?=\w)"), r"\1." + NBSP),
    # "the Soviet Union — which": the dash stays at the end of the line, never starts one.
    (re.compile(r"(?<=\S) \u2014(?= )"), NBSP + "\u2014"),
    # "p. 12", "No. 5": a number stays with its label.
    (re.compile(r"\b(p|pp|No|no|vol|Vol|ch|Ch)\. (?=\d)"), r"\1." + NBSP),
)


_OPENS_AFTER = " \t\n\u00a0([{\u2014\u2013\u2018\u201c/-"


def smart_quotes(text: str) -> str:
    """What smarty does to the text, for the strings that never pass through Markdown: the
    titles, names and descriptions of the manifest (dc:title, title page, running heads, cover).
    Straight quotes become curly ones, "--" and "---" dashes, "..." an ellipsis."""
    text = text.replace("---", "\u2014").replace("--", "\u2013").replace("...", "\u2026")
    out: list[str] = []
    for i, char in enumerate(text):
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        opening = before in _OPENS_AFTER and not after.isspace()
        if char == '"':
            out.append("\u201c" if opening else "\u201d")
        elif char == "'":
            # 'Tis and '90s are apostrophes; only a quote that opens before a letter opens.
            out.append("\u2018" if opening and not after.isdigit() else "\u2019")
        else:
            out.append(char)
    return "".join(out)


def refine(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


ZERO_WIDTH_SPACE = "\u200b"
# A dash run into an opening quote ("Reconstruction—“improvement”") is one word to the line
# breaker (Unicode's rules allow no break before a quote), and a line that cannot take it
# gapes. Print allows a break after the dash, as a typesetter would; the EPUB's text is left
# as written, for reading systems and screen readers.
_DASH_BEFORE_QUOTE = re.compile("([\u2014\u2013])(?=[\u201c\u2018])")
# A dash set close ("on paper—are worthless") never starts a line: Unicode's rules allow a
# break before an em dash, a typesetter does not. (They allow none before an en dash; the joiner
# there changes nothing.)
_DASH_AFTER_WORD = re.compile("(?<=[^\\s\u2060])([\u2014\u2013])")
WORD_JOINER = "\u2060"


def print_breaks(text: str) -> str:
    text = _DASH_AFTER_WORD.sub(WORD_JOINER + "\\1", text)
    return _DASH_BEFORE_QUOTE.sub("\\1" + ZERO_WIDTH_SPACE, text)
