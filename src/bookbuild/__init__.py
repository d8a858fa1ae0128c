"""bookbuild: a folder of Markdown and one manifest -> an EPUB 3 and a print-ready PDF."""

__version__ = "0.1.0"
