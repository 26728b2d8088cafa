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


# ------------------------------------------------------------------------------------ one implementation for every d
#: The modules allowed to branch on the problem's dimension: the grid and the boxes (issue 19).
DIMENSION_MODULES = {"ddlib/problem.py", "ddlib/decomposition.py"}
#: Branches on the dimension allowed everywhere else together.
MAX_DIM_BRANCHES = 3


def dim_branches(source: str) -> list[int]:
    """Lines of ``if``/``elif``/conditional expressions whose test reads a dimension: a name or attribute ``dim`` or a
    subscript ``["dim"]`` (the ``ndim`` of an array is a shape check, not a dimension flag)."""
    def reads_dim(node) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id == "dim":
                return True
            if isinstance(sub, ast.Attribute) and sub.attr == "dim":
                return True
            if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Constant) and sub.slice.value == "dim":
                return True
        return False

    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.If, ast.IfExp)) and reads_dim(node.test)]


def test_no_module_is_a_twin_for_one_dimension():
    twins = [p.name for p in MODULES if re.search(r"[23]d\.py$", p.name)]
    assert not twins, f"one implementation for every dimension: merge {twins} into the generic modules"


def test_dimension_branches_stay_in_the_grid_and_decomposition_modules():
    found = {p.relative_to(ROOT).as_posix(): dim_branches(p.read_text()) for p in MODULES
             if p.relative_to(ROOT).as_posix() not in DIMENSION_MODULES}
    found = {k: v for k, v in found.items() if v}
    assert sum(map(len, found.values())) <= MAX_DIM_BRANCHES, f"branches on the dimension: {found}"
    assert dim_branches("if dec.dim == 1:\n    pass\nx = 1 if r['dim'] else 2\nif a.ndim == 2:\n    pass\n") == [1, 3]


def test_the_attention_module_and_class_stay_small():
    src = (ROOT / "ddlib" / "attention.py").read_text()
    assert len(src.splitlines()) < 700
    cls = next(n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ClassDef) and n.name == "DDAttention")
    assert cls.end_lineno - cls.lineno + 1 < 300
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    options = len(init.args.args) - 1 + len(init.args.kwonlyargs)
    assert options <= 8, f"DDAttention takes {options} constructor options"


CHAPTERS = sorted((ROOT / "chapters" / "src").glob("*.py"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_sources_stay_short(path):
    """A chapter narrates and plots; the computation lives in ddlib (issue 19: no chapter over 350 lines)."""
    assert len(path.read_text().splitlines()) <= 350


def _shapes(path: Path) -> list[tuple[str, int]]:
    """``(shape, line)`` of each code line: its tokens with every name, number and string replaced by its kind, so
    that lines that differ only in names and constants have the same shape (comments and docstrings dropped)."""
    import io
    import tokenize

    out, cur, line = [], [], None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    except (tokenize.TokenError, SyntaxError):  # pragma: no cover
        return out
    for tok in tokens:
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            data = set(cur) <= {"S", "0", ",", "[", "]", "(", ")", "{", "}", ":", "="}
            if cur and not data and cur[0] not in ("import", "from"):   # code, not data, imports or docstrings
                out.append((" ".join(cur), line))
            cur, line = [], None
            continue
        if tok.type in (tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        line = tok.start[0] if line is None else line
        kind = {tokenize.NAME: "N", tokenize.NUMBER: "0", tokenize.STRING: "S"}.get(tok.type, tok.string)
        if tok.type == tokenize.NAME and tok.string in __import__("keyword").kwlist:
            kind = tok.string
        cur.append(kind)
    return out


def repeated_blocks(paths, length: int = 11) -> list[tuple[str, int, str, int]]:
    """Places where ``length`` consecutive code lines have the same shape as ``length`` lines elsewhere."""
    seen, found = {}, []
    for path in paths:
        shapes = _shapes(path)
        for i in range(len(shapes) - length + 1):
            key = tuple(s for s, _ in shapes[i:i + length])
            if len(set(key)) < 4:   # runs of one repeated line shape (tables of constants) are not logic
                continue
            here = (path.relative_to(ROOT).as_posix(), shapes[i][1])
            if key in seen and seen[key][0] != here[0] or key in seen and here[1] - seen[key][1] >= length:
                found.append((*seen[key], *here))
            seen.setdefault(key, here)
    return found


def test_no_block_of_more_than_ten_lines_repeats_in_ddlib():
    found = repeated_blocks(MODULES)
    assert not found, "blocks of the same shape: " + "; ".join(f"{a}:{b} and {c}:{d}" for a, b, c, d in found[:5])
