"""Shared fixtures. ``quick_book`` builds the QUICK book once per test session into a temporary folder."""
from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def quick_book(tmp_path_factory) -> BookBuild:
    """Execute every notebook with QUICK parameters and build the HTML, in a temporary folder (once per session)."""
    tmp = tmp_path_factory.mktemp("quick_book")
    build, figures = tmp / "build", tmp / "figures"
    env = {**os.environ, "DDLIB_FIGURES": str(figures), "DDLIB_CACHE": str(tmp / "cache"), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--quick", "--build", str(build)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    return BookBuild(proc.returncode, proc.stdout + proc.stderr, build, build / "_build" / "html", figures)
