#!/usr/bin/env python
"""Count the code a reader sees: lines of the visible input cells of each page of a built HTML book.

``python tools/visible_code.py _build/html`` prints, per chapter page, the code cells shown, the lines they hold
(blank lines not counted) and the lines behind a "show code" toggle (``hide-input``), which a reader sees only on
request. Jupyter Book writes an input cell as ``<div class="cell_input ...">`` holding one ``<pre>``; cells tagged
``remove-input`` or ``remove-cell`` have none.
"""
from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

_CELL = re.compile(r'<div class="(cell [^"]*container[^"]*)"(.*?)(?=<div class="cell [^"]*container|</article>|<footer)',
                   re.S)
_INPUT_PRE = re.compile(r'<div class="cell_input[^"]*".*?<pre[^>]*>(.*?)</pre>', re.S)


def count_page(text: str) -> dict:
    """``{"cells", "lines", "hidden_lines"}`` of one HTML page."""
    out = {"cells": 0, "lines": 0, "hidden_lines": 0}
    for m in _CELL.finditer(text):
        classes, body = m.group(1), m.group(2)
        pre = _INPUT_PRE.search(body)
        if not pre:
            continue
        code = html.unescape(re.sub(r"<[^>]+>", "", pre.group(1)))
        lines = sum(1 for line in code.splitlines() if line.strip())
        if "tag_hide-input" in classes or "tag_hide-cell" in classes:
            out["hidden_lines"] += lines
        else:
            out["cells"] += 1
            out["lines"] += lines
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path, nargs="?", default=Path("_build/html"))
    args = ap.parse_args(argv)
    pages = sorted(args.html.glob("chapters/*.html")) + [args.html / "intro.html"]
    total = 0
    print(f"{'page':<28} {'cells':>5} {'lines':>6} {'hidden':>6}")
    for page in pages:
        if not page.is_file():
            continue
        c = count_page(page.read_text(errors="replace"))
        total += c["lines"]
        print(f"{page.stem:<28} {c['cells']:>5} {c['lines']:>6} {c['hidden_lines']:>6}")
    print(f"{'total':<28} {'':>5} {total:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
