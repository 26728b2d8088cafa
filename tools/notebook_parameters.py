"""Typed ``-p NAME=VALUE`` parameters for ``tools/build_book.py --only CHAPTER``.

Papermill writes each parameter into the notebook as Python source (``str()`` of tuples and bytes, unescaped), so a
value taken as it comes is code that runs when the notebook runs. Here nothing reaches the notebook unchecked:

1. Each ``VALUE`` is parsed against the **type of the notebook's default** for ``NAME`` (:func:`kind_of`):

   ==========================  ===========================================================================
   default                     accepted ``VALUE``
   ==========================  ===========================================================================
   ``True`` / ``False``        ``true``, ``false``, ``1``, ``0`` (any case)
   an ``int``                  an integer literal (``511``; not ``5.0``, not ``True``)
   a ``float``                 an integer or a finite float literal (``1e-3``, ``2``); becomes a float
   a ``str``                   any text (``ramp``), or a quoted string literal (``'ramp'``)
   a list of numbers/strings   a non-empty list literal of the same element type (``[0.01,0.1]``)
   a list of lists             a non-empty list of lists of the same length and per-position types
                               (``[["noise",16]]`` where the default is ``[["fourier", 16], ...]``)
   ==========================  ===========================================================================

   Tuples, sets, dicts, bytes, ``None``, complex and non-finite numbers, and names the notebook does not have are
   refused, with an error naming the parameter and the type it expects (:class:`ParameterError`).
2. The parameter cell papermill will write from the parsed values is rendered and parsed back (:func:`check_cell`):
   it must consist of plain assignments of exactly these literals, else the run is refused.

Examples
--------
>>> typed_parameters({"n": {"default": "255"}, "QUICK": {"default": "False"}}, {"n": "511", "QUICK": "true"}, "ch")
{'n': 511, 'QUICK': True}
>>> typed_parameters({"n": {"default": "255"}}, {"n": "('x',)"}, "ch")
Traceback (most recent call last):
...
notebook_parameters.ParameterError: parameter n of ch must be an integer (its default is 255); got "('x',)"
"""
from __future__ import annotations

import ast
import math

__all__ = ["ParameterError", "split_parameters", "kind_of", "describe", "parse_value", "typed_parameters",
           "check_cell"]

_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}
_NAMES = {"bool": ("true or false (also 1 or 0)", "booleans"), "int": ("an integer", "integers"),
          "float": ("a finite number", "numbers"), "str": ("a string", "strings")}


class ParameterError(ValueError):
    """A ``-p NAME=VALUE`` that cannot be given to the notebook; the message names the parameter."""


def split_parameters(items: list[str]) -> dict[str, str]:
    """``["n=511", "label=a=b"]`` -> ``{"n": "511", "label": "a=b"}`` (the raw texts, split at the first ``=``).

    Raises :class:`ParameterError` for an item without ``=`` or without a name, and for a name given twice."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"-p expects NAME=VALUE; got {item!r}")
        if name in out:
            raise ParameterError(f"parameter {name} is given twice (-p {name}={out[name]} and -p {item})")
        out[name] = raw.strip()
    return out


def _scalar_kinds(kinds: set) -> set:
    """Integers and floats side by side in a default are numbers: ``{"int", "float"}`` -> ``{"float"}``."""
    return {"float"} if kinds == {"int", "float"} else kinds


def kind_of(default):
    """The type of a parameter's default value, as this module checks it; None if it cannot be set.

    ``"bool"``, ``"int"``, ``"float"``, ``"str"``, ``("list", kind)`` for a non-empty list whose elements share a
    kind, ``("record", (kind, ...))`` for a list inside a list (fixed length, a scalar kind per position).

    Examples
    --------
    >>> kind_of([3e-3, 1e-2]), kind_of([["fourier", 16], ["noise", 64]]), kind_of((1, 2))
    (('list', 'float'), ('list', ('record', ('str', 'int'))), None)
    """
    if type(default) in _SCALARS:
        return _SCALARS[type(default)]
    if type(default) is not list or not default:
        return None
    if all(type(v) in _SCALARS for v in default):
        kinds = _scalar_kinds({_SCALARS[type(v)] for v in default})
        return ("list", kinds.pop()) if len(kinds) == 1 else None
    if all(type(v) is list and v and all(type(x) in _SCALARS for x in v) for v in default):
        if len({len(v) for v in default}) != 1:
            return None
        positions = [_scalar_kinds({_SCALARS[type(v[i])] for v in default}) for i in range(len(default[0]))]
        return ("list", ("record", tuple(p.pop() for p in positions))) if all(len(p) == 1 for p in positions) \
            else None
    return None


def describe(kind) -> str:
    """What a value of ``kind`` must be, in words (``"a non-empty list of numbers"``)."""
    if isinstance(kind, str):
        return _NAMES[kind][0]
    if kind[0] == "record":
        return "a list [" + ", ".join(_NAMES[k][0].removeprefix("an ").removeprefix("a ") for k in kind[1]) + "]"
    inner = kind[1]
    if isinstance(inner, str):
        return f"a non-empty list of {_NAMES[inner][1]}"
    return "a non-empty list of lists " + describe(inner).removeprefix("a list ")


def _conform(value, kind):
    """``value`` as ``kind`` (ints become floats where numbers are asked for); raises TypeError if it is not one."""
    if kind == "bool" and type(value) is bool or kind == "int" and type(value) is int or \
            kind == "str" and type(value) is str:
        return value
    if kind == "float" and type(value) in (int, float) and math.isfinite(value):
        return float(value)
    if isinstance(kind, tuple) and type(value) is list:
        if kind[0] == "list" and value:
            return [_conform(v, kind[1]) for v in value]
        if kind[0] == "record" and len(value) == len(kind[1]):
            return [_conform(v, k) for v, k in zip(value, kind[1])]
    raise TypeError(value)


def parse_value(raw: str, kind):
    """The value of the text ``raw`` for a parameter of ``kind``; raises TypeError or ValueError if there is none.

    Examples
    --------
    >>> parse_value("TRUE", "bool"), parse_value("2", "float"), parse_value("ramp", "str")
    (True, 2.0, 'ramp')
    >>> parse_value("[['noise', 16]]", ("list", ("record", ("str", "int"))))
    [['noise', 16]]
    """
    if kind == "bool":
        words = {"true": True, "1": True, "false": False, "0": False}
        if raw.strip().lower() not in words:
            raise ValueError(raw)
        return words[raw.strip().lower()]
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if kind != "str":
            raise ValueError(raw) from None
        return raw
    if kind == "str" and type(value) is not str:
        return raw  # a string parameter takes the text as given: `-p LABEL=3` is the string "3"
    return _conform(value, kind)


def typed_parameters(known: dict, raw: dict[str, str], notebook: str) -> dict:
    """The values of ``raw`` (name -> text) parsed against the defaults of ``known`` (papermill's
    ``inspect_notebook``: name -> ``{"default": source text, ...}``).

    Raises :class:`ParameterError` naming the parameter: an unknown name (listing the known ones with their
    defaults), a default that is not a plain literal, or a value that is not of the default's type."""
    unknown = [k for k in raw if k not in known]
    if unknown:
        valid = ", ".join(f"{k} (default {v['default']})" for k, v in known.items())
        raise ParameterError(f"{notebook} has no parameter {', '.join(map(repr, unknown))}; its parameters are: "
                             f"{valid}")
    out = {}
    for name, text in raw.items():
        source = known[name]["default"]
        try:
            kind = kind_of(ast.literal_eval(source))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            kind = None
        if kind is None:
            raise ParameterError(f"parameter {name} of {notebook} cannot be set from the command line: its default "
                                 f"{source} is not a bool, int, float, str or a list of them")
        try:
            out[name] = parse_value(text, kind)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {name} of {notebook} must be {describe(kind)} (its default is "
                                 f"{source}); got {text!r}") from None
    return out


def check_cell(params: dict) -> str:
    """The parameter cell papermill writes for ``params``, checked: parsed back, it must be exactly one plain
    assignment ``NAME = literal`` per parameter, each literal equal to the value and of its type. Returns the cell's
    source; raises :class:`ParameterError` otherwise (nothing else may run in the notebook)."""
    from papermill.translators import translate_parameters

    source = translate_parameters("python3", "python", params, "Parameters")
    got = {}
    try:
        for node in ast.parse(source).body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                raise ParameterError(f"the parameter cell holds more than assignments: {ast.unparse(node)!r}")
            got[node.targets[0].id] = ast.literal_eval(node.value)
    except (SyntaxError, ValueError) as exc:
        raise ParameterError(f"the parameter cell would not be plain literals ({exc}): {source!r}") from None
    if list(got) != list(params) or any(not _same(got[k], params[k]) for k in params):
        raise ParameterError(f"the parameter cell would not assign the values given: {source!r}")
    return source


def _same(a, b) -> bool:
    """Equal values of the same types, all the way down (``1 == 1.0 == True`` is not enough)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b
