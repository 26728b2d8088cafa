#!/usr/bin/env python
"""Author a chapter as a percent-format script, then: ``python tools/py2nb.py SCRIPT.py chapters/NAME.ipynb``.

Writes the notebook without outputs and with a Python 3 kernelspec (papermill needs one). The reverse direction is
``jupytext --to py:percent chapters/NAME.ipynb``. Developer convenience only: the committed source is the notebook.
"""
import sys

import jupytext
import nbformat


def main(src: str, dst: str) -> None:
    nb = jupytext.read(src)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("lines_to_next_cell", None)
    nbformat.write(nb, dst)


if __name__ == "__main__":
    main(*sys.argv[1:3])
