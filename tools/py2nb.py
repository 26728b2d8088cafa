#!/usr/bin/env python
"""Author a chapter as a percent-format script, then: ``python tools/py2nb.py SCRIPT.py chapters/NAME.ipynb``.

Writes the notebook without outputs, with a Python 3 kernelspec (papermill needs one) and with cell ids numbered in
order (so that regenerating an unchanged chapter changes nothing). It also inserts the hidden *install cell* before
the first cell that imports ddlib: on Colab or any bare kernel it clones the repository named by ``repository.url``
in ``_config.yml`` and installs ddlib; where ddlib is importable (the book's build) it does nothing. The cell lives
only here, so the chapter scripts do not carry copies of it and it follows ``_config.yml``.

``python tools/py2nb.py --all`` regenerates every ``chapters/NN_name.ipynb`` from ``chapters/src/NN_name.py``. The
reverse direction is ``jupytext --to py:percent chapters/NAME.ipynb``. The committed source of a chapter is its
notebook; ``tests/test_environment.py`` checks that each notebook is what this tool makes of its script.
"""
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]

INSTALL_CELL = '''\
# Colab and other bare kernels: fetch the project and install ddlib (does nothing where ddlib is importable,
# as in the book's build). REPO is repository.url in _config.yml.
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("ddlib") is None:
    REPO = "{url}"
    DST = os.path.abspath("ddlib-book")
    subprocess.run(["git", "clone", "--depth", "1", REPO, DST], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", DST], check=True)
    sys.path.insert(0, DST)
    os.chdir(os.path.join(DST, "chapters"))'''


def install_cell(root: Path = ROOT) -> str:
    """The install cell's source, with ``REPO`` set to ``repository.url`` of ``root/_config.yml``."""
    url = yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"]
    return INSTALL_CELL.format(url=url)


def _imports_ddlib(source: str) -> bool:
    return any(line.startswith(("from ddlib", "import ddlib")) for line in source.splitlines())


def convert(src, root: Path = ROOT):
    """The notebook (an ``nbformat`` node) for the percent script ``src``."""
    nb = jupytext.read(src)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _imports_ddlib(c.source)), None)
    if first is not None:
        nb.cells.insert(first, nbformat.v4.new_code_cell(install_cell(root), metadata={"tags": ["remove-cell"]}))
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("lines_to_next_cell", None)
        cell.id = f"cell-{i:03d}"
    return nb


def main(argv) -> None:
    if argv[:1] == ["--all"]:
        pairs = [(p, ROOT / "chapters" / f"{p.stem}.ipynb") for p in sorted((ROOT / "chapters" / "src").glob("*.py"))]
    else:
        pairs = [(argv[0], argv[1])]
    for src, dst in pairs:
        nbformat.write(convert(src), str(dst))


if __name__ == "__main__":
    main(sys.argv[1:])
