"""Sphinx extension of the book (loaded from ``_config.yml``, ``sphinx.local_extensions``): figures as vector PDF in
the LaTeX build, and a PDF that reads like a book.

* **Figures.** Chapters show ``../figures/F<k>_name.png``. A read-time transform turns every image URI under
  ``figures/`` whose ``.pdf`` twin exists into ``F<k>_name.*``, so each builder picks its preferred format from the
  same doctree: the HTML builder the PNG, the LaTeX builder the PDF (vector).
* **Structure** (LaTeX builder only). Sphinx makes the root page's title the document title and its sections
  chapters, and drops the captions of the table of contents. On the assembled document this extension

  - gathers the root page (everything but the inlined chapters) into one unnumbered front-matter chapter,
    ``book_pdf_intro_title`` (default "Introduction"), whose sections stay sections;
  - puts ``\\part{<caption>}`` before the first chapter of each part of ``_toc.yml``, and ``\\appendix`` before the
    parts named in ``book_pdf_appendix_parts``;
  - strips the typed chapter number (``"1. The model problem"``) from chapter titles: LaTeX numbers them;
  - drops sections left empty (the root page's "References": Sphinx gathers citations at the end of the document,
    where they become the bibliography);
  - keeps "Contents" as the name of the table of contents (Sphinx would use the first part's caption).
* **Author-year citations** (both builders). The text cites ``(Köhler and Rheinbach, 2026)`` (the referencing style
  ``author_year_round``: sphinxcontrib-bibtex's author-year style in round brackets), and the bibliography lists
  the works sorted by author and year, each under the same author-year label (the pybtex style ``authoryear``);
  the PDF sets the list without labels, each entry with a hanging indent (``_config.yml``, the LaTeX preamble).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from docutils import nodes
from docutils.transforms import Transform
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.richtext import Text
from pybtex.style.labels import BaseLabelStyle
from sphinx import addnodes
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

CHAPTER_NUMBER = re.compile(r"^\s*\d+\.\s+")


class VectorFigures(Transform):
    """``figures/F<k>_name.png`` -> ``figures/F<k>_name.*`` where ``F<k>_name.pdf`` exists beside it."""

    default_priority = 400

    def apply(self, **kwargs) -> None:
        source = Path(self.document["source"]).parent
        for node in self.document.findall(nodes.image):
            uri = node.get("uri", "")
            if "figures/" in uri and uri.endswith(".png") and (source / uri).with_suffix(".pdf").is_file():
                node["uri"] = uri[: -len(".png")] + ".*"


def _parts(env) -> list[tuple[str, list[str]]]:
    """``(caption, docnames)`` of each toctree of the root document, in order."""
    root = env.get_doctree(env.config.root_doc)
    return [(t.get("caption") or "", [str(d) for d in t["includefiles"]]) for t in root.findall(addnodes.toctree)]


def _raw(tex: str) -> nodes.raw:
    return nodes.raw("", tex + "\n", format="latex")


def _is_empty(section: nodes.section) -> bool:
    """A section with a title and nothing a reader would see (no text, no image)."""
    return all(isinstance(c, nodes.title) or not (c.astext().strip() or any(c.findall(nodes.image)))
               for c in section.children)


def _strip_chapter_numbers(sof: addnodes.start_of_file) -> None:
    section = next(iter(sof.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        first = section[0][0] if section[0].children else None
        if isinstance(first, nodes.Text) and CHAPTER_NUMBER.match(first):
            section[0].replace(first, nodes.Text(CHAPTER_NUMBER.sub("", str(first), count=1)))


def _front_matter(app, root: nodes.section) -> nodes.section:
    """A new unnumbered chapter holding what is left of the root page once its chapters are taken out."""
    for wrapper in [n for n in root.findall(nodes.compound) if "toctree-wrapper" in n["classes"] and not n.children]:
        wrapper.parent.remove(wrapper)
    intro = nodes.section(ids=["book-front-matter"], docname=app.config.root_doc)
    intro += nodes.title(text=app.config.book_pdf_intro_title)
    for child in list(root.children[1:]):
        root.remove(child)
        if not (isinstance(child, nodes.section) and _is_empty(child)):
            intro += child
    return intro


def _detach(sof: addnodes.start_of_file) -> addnodes.start_of_file:
    sof.parent.remove(sof)
    _strip_chapter_numbers(sof)
    return sof


def restructure(app, doctree: nodes.document, docname: str) -> None:
    """Front matter, parts, appendices and chapter titles of the assembled LaTeX document (see the module)."""
    if app.builder.name != "latex" or docname != app.config.root_doc:
        return
    root = next(iter(c for c in doctree.children if isinstance(c, nodes.section)), None)
    if root is None:
        return
    sofs = {n["docname"]: n for n in root.findall(addnodes.start_of_file) if n.parent is not None}
    parts = [(caption, [_detach(sofs[d]) for d in docnames if d in sofs]) for caption, docnames in _parts(app.env)]
    body = [_raw(r"\edef\booksecnumdepth{\the\value{secnumdepth}}\setcounter{secnumdepth}{-1}"),
            _front_matter(app, root), _raw(r"\setcounter{secnumdepth}{\booksecnumdepth}")]
    appendix_started = False
    for caption, chapters in parts:
        if not chapters:
            continue
        if caption in app.config.book_pdf_appendix_parts and not appendix_started:
            body.append(_raw(r"\appendix"))
            appendix_started = True
        if caption:
            body.append(_raw(r"\part{" + caption.replace("&", r"\&") + "}"))
        body += chapters
    root.extend(body)


def _round_brackets() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclass
class RoundAuthorYear(AuthorYearReferenceStyle):
    """Author-year citations in round brackets: ``(Köhler and Rheinbach, 2026)``, ``Köhler and Rheinbach (2026)``."""

    bracket_parenthetical: BracketStyle = field(default_factory=_round_brackets)
    bracket_textual: BracketStyle = field(default_factory=_round_brackets)
    bracket_author: BracketStyle = field(default_factory=_round_brackets)
    bracket_label: BracketStyle = field(default_factory=_round_brackets)
    bracket_year: BracketStyle = field(default_factory=_round_brackets)


def _last_names(persons) -> list[str]:
    """The last names as a reader sees them (TeX accents resolved: ``K\\"ohler`` -> ``Köhler``)."""
    return [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text") for p in persons]


def author_year_label(entry) -> str:
    """``Last, Year``, ``Last and Other, Year`` or ``Last et al., Year`` (editors, else the key, without authors),
    as the author-year citations of the text read."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = _last_names(persons)
    who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
           else f"{names[0]} et al." if names else entry.key)
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Bibliography labels that match the author-year citations; a second work of the same authors and year gets
    ``a``, ``b``, ... after the year."""

    def format_labels(self, sorted_entries):
        labels = [author_year_label(e) for e in sorted_entries]
        repeated = {lab for lab, k in Counter(labels).items() if k > 1}
        seen: Counter = Counter()
        for lab in labels:
            if lab in repeated:
                seen[lab] += 1
                yield lab + "abcdefghijklmnopqrstuvwxyz"[seen[lab] - 1]
            else:
                yield lab


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries, sorted by author, year and title, under author-year labels."""

    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


pybtex.plugin.register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
pybtex.plugin.register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
sphinxcontrib.bibtex.plugin.register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round",
                                            RoundAuthorYear)


def _latex_builder_inited(app) -> None:
    if app.builder.name == "latex":
        app.builder.get_contentsname = lambda indexfile: ""  # empty: LaTeX's own "Contents"


def setup(app):
    app.add_config_value("book_pdf_intro_title", "Introduction", "env")
    app.add_config_value("book_pdf_appendix_parts", [], "env")
    app.add_transform(VectorFigures)
    app.connect("builder-inited", _latex_builder_inited)
    app.connect("doctree-resolved", restructure)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
