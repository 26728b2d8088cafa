"""Shared fixtures. ``quick_book`` builds the QUICK book once per test session into a temporary folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BookBuild:
    """The result of ``tools/build_book.py --quick --build <build>``."""

    returncode: int
    output: str
    build: Path  # the build folder (executed notebooks in build/book, status.json)
    html: Path  # build/_build/html
    figures: Path  # the figures folder of this build (with manifest.json)


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    """Every test trains into a cache of its own (``$DDLIB_CACHE``), never into the project's ``_build/cache``."""
    monkeypatch.setenv("DDLIB_CACHE", str(tmp_path / "cache"))
    yield tmp_path / "cache"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Every test runs torch on one thread: tiny problems run fastest so, and tests do not fight for the two cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def quick_book(tmp_path_factory) -> BookBuild:
    """Execute every notebook with QUICK parameters and build the HTML, in a temporary folder (once per session)."""
    tmp = tmp_path_factory.mktemp("quick_book")
    build, figures = tmp / "build", tmp / "figures"
    env = {**os.environ, "DDLIB_FIGURES": str(figures), "DDLIB_CACHE": str(tmp / "cache"), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--quick", "--build", str(build)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    return BookBuild(proc.returncode, proc.stdout + proc.stderr, build, build / "_build" / "html", figures)


#: What `make pdf` needs besides the Python packages (Debian: texlive-xetex texlive-latex-extra
#: texlive-fonts-recommended latexmk fonts-dejavu-core), and what the PDF test reads it with (poppler-utils).
TEX_TOOLS = ("xelatex", "latexmk", "pdfinfo", "pdftotext")


def tex_missing() -> list[str]:
    """The tools of :data:`TEX_TOOLS` that are not on the PATH."""
    return [t for t in TEX_TOOLS if shutil.which(t) is None]


@dataclass
class PdfBuild:
    """The result of ``tools/build_book.py --pdf --build <build>`` on the QUICK book."""

    returncode: int
    output: str
    seconds: float
    pdf: Path


@pytest.fixture(scope="session")
def quick_pdf(quick_book) -> PdfBuild:
    """The QUICK book as one PDF (once per session). Skips without TeX, unless ``DDLIB_REQUIRE_TEX=1`` (CI)."""
    missing = tex_missing()
    if missing:
        if os.environ.get("DDLIB_REQUIRE_TEX") == "1":
            pytest.fail(f"DDLIB_REQUIRE_TEX=1 but {missing} not found (see README: make pdf)")
        pytest.skip(f"no {', '.join(missing)}: the PDF needs TeX (see README: make pdf)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--pdf", "--build",
                           str(quick_book.build)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    latex = quick_book.build / "_build" / "latex"
    return PdfBuild(proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0,
                    latex / "hierarchical-attention-dd.pdf")


@pytest.fixture(scope="session")
def book_html(request) -> Path:
    """The HTML folder of a built QUICK book: ``$DDLIB_BOOK_HTML`` if set (reuse a build, e.g. ``_build/html`` after
    ``make book QUICK=1``), else the one ``quick_book`` builds (once per session, shared with the build tests)."""
    given = os.environ.get("DDLIB_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"DDLIB_BOOK_HTML={given} holds no built book (no index.html)")
        return html
    book = request.getfixturevalue("quick_book")
    if not (book.html / "index.html").is_file():
        pytest.fail(f"the QUICK book has no HTML (exit {book.returncode}):\n{book.output[-4000:]}")
    if not tex_missing():  # the Reproduce page links to the PDF, which make pdf puts beside the pages
        request.getfixturevalue("quick_pdf")
    # A build that failed on Sphinx warnings still wrote its pages (--keep-going): check them as a reader gets them;
    # the build tests report the failure itself.
    return book.html
