"""The book's tree cut into layout parts: what each part keeps, and what crosses as data."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from weasyprint import HTML

from bookbuild import parts, workers
from bookbuild.pagemap import lower_roman

BOOK = """<!DOCTYPE html><html><head><title>t</title></head><body>
<div class="front-matter">
<section class="half-title" id="half-title"><p class="book-title">The  Long\u00a0Title</p></section>
<nav class="contents" id="contents"><ol>
<li><a href="#preface">Preface</a></li><li><a href="#one">One</a></li><li><a href="#notes">Notes</a></li>
</ol></nav>
<section class="chapter-part" id="preface">
<p>Before.<sup class="noteref"><a href="#n1">1</a></sup></p></section>
</div>
<div class="body-matter" id="body-matter">
<section class="chapter-part" id="one"><h1 id="one-title">One</h1>
<p>See <a href="#two">two</a> and <a href="#here">here</a>.<span id="here"></span></p></section>
<section class="chapter-part" id="two"><h1>Two</h1></section>
<section class="endnotes" id="notes">
<ol><li id="n1">A note. <a class="note-page front" href="#preface">x</a></li></ol></section>
</div></body></html>"""


def tree() -> Element:
    return HTML(string=BOOK).etree_element


def test_parts_are_the_front_matter_each_body_section_and_the_notes() -> None:
    assert parts.part_ids(tree()) == ["", "one", "two", "notes"]


def test_a_part_keeps_its_own_section_and_links_out_of_it() -> None:
    root = tree()
    kept = parts.keep_only(root, 1)
    assert kept.get("id") == "one"
    assert parts.anchors_in(root) == {"body-matter", "one", "one-title", "here"}
    hrefs = [link.get("href") for link in root.iter("a")]
    assert hrefs == [parts.PART_LINK + "two", "#here"]
    sentinel = root.find("body")[0][-1]  # the body matter's last child
    assert sentinel.get("class") == parts.SENTINEL_CLASS


def test_the_front_matter_part_drops_the_body() -> None:
    root = tree()
    parts.keep_only(root, 0)
    assert "one" not in parts.anchors_in(root)
    assert [link.get("href") for link in root.iter("a")][:3] == [
        "#preface", parts.PART_LINK + "one", parts.PART_LINK + "notes"]


def test_numbers_are_written_on_the_contents_and_note_links_only() -> None:
    root = tree()
    parts.write_numbers(root, {"one": "1", "notes": "9", "preface": "vii", "two": "5"})
    pages = {link.get("href"): link.get("data-page") for link in root.iter("a")}
    assert pages["#one"] == "1" and pages["#notes"] == "9"
    assert pages["#two"] is None  # a link in the text shows no page
    shown = [link.get("data-page") for link in root.iter("a") if "note-page" in (link.get("class") or "")]
    assert shown == ["vii"]


RUNS_ON = BOOK.replace('<section class="chapter-part" id="two">',
                       '<section class="chapter-part opening-continuous" id="two">')
ANY_SIDE = BOOK.replace('<section class="chapter-part" id="two">',
                        '<section class="chapter-part opening-any" id="two">')


def test_a_section_that_runs_on_is_laid_out_with_the_one_before() -> None:
    root = HTML(string=RUNS_ON).etree_element
    assert parts.part_ids(root) == ["", "one", "notes"]
    assert [[element.get("id") for element in group] for group in parts.part_groups(root)] == [
        [None], ["one", "two"], ["notes"]]
    parts.keep_only(root, 1)
    assert {"one", "two", "here"} <= parts.anchors_in(root)
    assert [link.get("href") for link in root.iter("a")] == ["#two", "#here"]  # now in the part


def test_the_end_of_a_part_is_the_next_parts_opening() -> None:
    """A recto when the next part opens on one (a blank verso closes a part that ends on a
    recto); the next page when it opens on either side."""
    def sentinel_style(html: str, index: int) -> str:
        root = HTML(string=html).etree_element
        parts.keep_only(root, index)
        return root.find("body")[0][-1].get("style")

    assert sentinel_style(BOOK, 1) == "break-before: recto"
    assert sentinel_style(ANY_SIDE, 1) == "break-before: page"
    assert sentinel_style(ANY_SIDE, 2) == "break-before: recto"  # the Notes open on a recto


def test_a_part_laid_out_on_a_verso_starts_after_a_lead_page() -> None:
    root = HTML(string=ANY_SIDE).etree_element
    assert [parts.opens_on_recto(element) for element in parts.part_roots(root)] == [
        True, True, False, True]
    parts.keep_only(root, 2, verso=True)
    matter = root.find("body")[0]
    lead, section = matter[0], matter[1]
    assert lead.get("class") == parts.LEAD_CLASS and lead.get("style") == "break-after: verso"
    assert section.get("id") == "two"


@pytest.mark.parametrize(("number", "roman"), [(1, "i"), (4, "iv"), (9, "ix"), (14, "xiv"),
                                                (40, "xl"), (1994, "mcmxciv")])
def test_lower_roman_as_css_counts(number: int, roman: str) -> None:
    assert lower_roman(number) == roman


@pytest.mark.parametrize(("cpu_max", "quota"), [("max 100000", None), ("200000 100000", 2),
                                                 ("150000 100000", 2), ("50000 100000", 1)])
def test_a_containers_cpu_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str,
                                quota: int | None) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    real = Path

    def redirect(path: str) -> Path:
        return tmp_path / "cpu.max" if path == "/sys/fs/cgroup/cpu.max" else real(path)

    monkeypatch.setattr(workers, "Path", redirect)
    assert workers._cgroup_quota() == quota
    assert 1 <= workers.available_cpus() <= (quota or 1024)


def test_a_link_to_an_id_with_accents_crosses_parts_decoded() -> None:
    root = HTML(string='<body><div class="body-matter"><section class="chapter-part" id="a">'
                       '<a href="#caf%C3%A9">x</a></section><section class="chapter-part" '
                       'id="caf\u00e9"></section></div></body>').etree_element
    parts.keep_only(root, 0)
    assert [link.get("href") for link in root.iter("a")] == [parts.PART_LINK + "caf\u00e9"]
