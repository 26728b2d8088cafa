"""The shape of the library's code, read with ``ast``: no function of ddlib longer than MAX_LINES lines, and no import
inside a function unless a marker comment on that import says why it cannot sit at the top of the module, e.g.
``from .a import f  # import here: cycle with ddlib.a`` or ``# import here: optional dependency (book extra)``.
The marker may also stand on the line just above the import."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80
MARKER = re.compile(r"#\s*import here:\s*\S")  # the marker and a reason


def long_functions(source: str, max_lines: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """``(name, first line, length)`` of every function or method longer than ``max_lines`` lines, from its ``def``
    line to its last line (docstring included, decorators not)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > max_lines:
                out.append((node.name, node.lineno, length))
    return out


def unexplained_inner_imports(source: str) -> list[tuple[str, int]]:
    """``(innermost function, line)`` of every import inside a function that carries no ``# import here: <reason>``
    marker."""
    lines = source.splitlines()
    out = []

    def visit(node, function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if function and isinstance(node, (ast.Import, ast.ImportFrom)):
            if not any(MARKER.search(line) for line in lines[max(node.lineno - 2, 0):node.end_lineno]):
                out.append((function, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), None)
    return out


MODULES = sorted((ROOT / "ddlib").rglob("*.py"))


def test_the_modules_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in MODULES}
    assert {"ddlib/benchmarks.py", "ddlib/timing.py", "ddlib/costmodel.py", "ddlib/plotting/performance.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_function_is_longer_than_the_limit(path):
    found = long_functions(path.read_text())
    assert not found, "split these functions: " + ", ".join(f"{n} (line {a}, {k} lines)" for n, a, k in found)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_sit_at_the_top_of_the_module(path):
    found = unexplained_inner_imports(path.read_text())
    assert not found, ("move these imports to the top of the module, or say why they cannot be there with "
                       "'# import here: <reason>': " + ", ".join(f"{n} (line {a})" for n, a in found))


def test_the_checks_see_what_they_should():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES - 1))
    assert long_functions(f"def f():\n{body}\n") == []  # exactly MAX_LINES lines
    assert long_functions(f"def f():\n{body}\n    return 0\n") == [("f", 1, MAX_LINES + 1)]
    method = body.replace("\n", "\n    ")
    assert long_functions(f"class C:\n    def m(self):\n    {method}\n        return 0\n") == [("m", 2, MAX_LINES + 1)]
    src = ("import os\n\n\ndef f():\n    import json\n    return json\n\n\n"
           "def g():\n    from . import a  # import here: cycle with ddlib.a\n\n\n"
           "def h():\n    # import here: optional dependency\n    import myst_nb\n\n\n"
           "def k():\n    def inner():\n        import gc  # import here:\n")
    assert unexplained_inner_imports(src) == [("f", 5), ("inner", 20)]  # inner's marker gives no reason
