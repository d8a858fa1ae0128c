"""Deterministic generated books for benchmarks and long-book tests.

Each book is an ordinary bookbuild book (book.toml and Markdown), so it exercises the real
pipeline: chapters with sub-headings, block quotes, and one note every four paragraphs. With
--features, also what crosses from chapter to chapter in a print layout: a preface with a note,
parts that group the chapters, a link from each chapter to another, and figures.

    python bench/generate.py OUT_DIR --pages 400 [--features]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

# Prose-like words; the generator strings them into sentences of varied length.
WORDS = (
    "the working class history movement party state question crisis program struggle "
    "analysis international revolution conference letters period decades years report "
    "economy industry miners strike workers youth socialist policy bureaucracy reform "
    "capital market property relations democracy tradition perspective documents "
    "conquest consciousness culture foundation development experience opposition "
    "campaign lecture historian memoirs essays assessment century government faction "
    "collapse restoration intervention correspondence representative official visit and "
    "of to in on for with by from as at which that this these their its was were had has "
    "have been would could will not only also into after before during between"
).split()
PARAGRAPHS_PER_CHAPTER = 24
WORDS_PER_PAGE = 230  # calibrated: 6 x 9 in, 11 pt, notes, headings and chapter openings
PARAGRAPH_WORDS = (60, 150)


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 26))]
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".....?;")[0].replace(";", ".")


def paragraph(rng: random.Random) -> str:
    target = rng.randint(*PARAGRAPH_WORDS)
    sentences = []
    while sum(len(s.split()) for s in sentences) < target:
        sentences.append(sentence(rng))
    return " ".join(sentences)


def chapter(rng: random.Random, number: int, chapters: int = 0) -> str:
    """Chapter `number`; with `chapters` (features), its heading has an id, it links to another
    chapter's, and every third chapter has a figure."""
    title = f"Chapter {number}: The {rng.choice(WORDS)} of the {rng.choice(WORDS)}"
    lines = [f"# {title} {{#chapter-{number}}}" if chapters else f"# {title}", ""]
    if chapters:
        other = rng.randint(1, chapters)
        lines += [f"{paragraph(rng)} As [chapter {other}](#chapter-{other}) shows, "
                  f"{sentence(rng).lower()}", ""]
        if number % 3 == 0:
            lines += ["![A grey field](images/field.png)", ""]
    notes = []
    for index in range(1, PARAGRAPHS_PER_CHAPTER + 1):
        if index % 8 == 1 and index > 1:
            lines += [f"## Part {index // 8 + 1}: {rng.choice(WORDS).title()} and "
                      f"{rng.choice(WORDS)}", ""]
        text = paragraph(rng)
        if index % 6 == 3:
            lines += [f"> “{text}”", ""]
            continue
        if index % 4 == 0:
            label = f"n{index}"
            text += f"[^{label}]"
            notes.append(f"[^{label}]: {sentence(rng)} {sentence(rng)}")
        lines += [text, ""]
    return "\n".join(lines + notes) + "\n"


def generate(out: Path, pages: int, seed: int = 1991, features: bool = False) -> Path:
    """Write a book of about `pages` pages at 6 x 9 in into `out`."""
    rng = random.Random(f"{seed}-{pages}")
    words_per_chapter = PARAGRAPHS_PER_CHAPTER * sum(PARAGRAPH_WORDS) / 2
    chapters = max(1, round(pages * WORDS_PER_PAGE / words_per_chapter))
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    if features:
        (out / "preface.md").write_text(f"# Preface\n\n{paragraph(rng)}[^p]\n\n{paragraph(rng)}\n\n"
                                        f"[^p]: {sentence(rng)}\n", encoding="utf-8")
        entries.append('[[contents]]\nfile = "preface.md"\nkind = "preface"\n')
        (out / "images").mkdir(exist_ok=True)
        from PIL import Image  # a dependency of bookbuild's; only the features need it

        Image.new("L", (900, 450), 160).save(out / "images" / "field.png", dpi=(300, 300))
    for number in range(1, chapters + 1):
        if features and number % 4 == 1:
            name = f"part-{number // 4 + 1}.md"
            (out / name).write_text(f"# Part {number // 4 + 1}\n\n{sentence(rng)}\n", encoding="utf-8")
            entries.append(f'[[contents]]\nfile = "{name}"\nkind = "part"\n')
        name = f"chapter-{number:03d}.md"
        (out / name).write_text(chapter(rng, number, chapters if features else 0), encoding="utf-8")
        entries.append(f'[[contents]]\nfile = "{name}"\n')
    manifest = (
        "[book]\n"
        f'title = "A Generated History in {pages} Pages"\n'
        f'slug = "generated-{pages}"\n'
        'language = "en"\n'
        'date = "2026-01-01"\n'
        'description = "A generated book for benchmarks."\n\n'
        '[[book.contributors]]\nname = "A. Generator"\nrole = "aut"\n\n'
        + "\n".join(entries)
    )
    (out / "book.toml").write_text(manifest, encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--features", action="store_true",
                        help="a preface, parts, links between chapters and figures")
    args = parser.parse_args()
    print(generate(args.out, args.pages, features=args.features))


if __name__ == "__main__":
    main()
