"""Results tables that read as tables in every output of the book.

A chapter ends a computation cell with ``table(...)`` instead of printing fixed-width text. The returned
:class:`Table` renders

* in HTML (the book, Jupyter, Colab) as an HTML table with right-aligned, formatted numbers, in a wrapper that
  scrolls sideways instead of running past the page (``_repr_html_``);
* in the PDF as a Markdown table (``_repr_markdown_``), wrapped in a MyST ``{table}`` directive when it has a caption.
  myst-nb renders a ``text/latex`` output as a formula, so the LaTeX build uses this Markdown (the book sets
  ``nb_render_markdown_format: myst``) and Sphinx writes it as a LaTeX table;
* as plain fixed-width text everywhere else (``str`` and ``repr``).

Numbers without a format of their own read as in a printed table (:func:`format_number`): integers in full with
thousands grouped, other reals to three significant digits, very small and very large ones as powers of ten.
Headings are the reader's names, with their units (``units``). A long table is summarised in the text and given
whole as a CSV file beside the figure data (:func:`write_csv`), which the chapter links.

Examples
--------
>>> from ddlib.tables import table
>>> t = table({"n": [15, 31, 65535], "error": [1.5e-3, 3.8e-4, 2.0e-9], "t": [0.5, 12.26, 1234.5]},
...           units={"t": "ms"}, caption="Convergence")
>>> print(t)
Convergence
     n        error  t (ms)
    15      0.00150   0.500
    31  3.80 × 10⁻⁴    12.3
65,535  2.00 × 10⁻⁹   1,230
>>> table({"error": [1.5e-3]}, formats={"error": ".2e"}).rows
[['1.50e-03']]
"""
from __future__ import annotations

import csv
import html
import io
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .figures import figures_dir

__all__ = ["Table", "table", "format_value", "format_number", "write_csv", "CsvLink", "DIGITS"]

#: What a missing value (``None`` or NaN) shows.
MISSING = "–"
#: Significant digits of a real number that has no format of its own.
DIGITS = 3
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character: Markdown escapes them all
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_CSV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def format_number(value, digits: int = DIGITS) -> str:
    """A number as a printed table shows it.

    Integers in full with thousands grouped (``65,535``). Other reals rounded to ``digits`` significant digits:
    in fixed point with thousands grouped for :math:`10^{-3} \\leq |x| < 10^6` (``0.00150``, ``12.3``,
    ``1,230``), else as a power of ten (``3.80 × 10⁻⁴``); infinities as ``∞``.

    Examples
    --------
    >>> [format_number(v) for v in (65535, 0.1, 2.0 / 3, 1234.5, -4.2e-7, 0.0, float("inf"))]
    ['65,535', '0.100', '0.667', '1,230', '-4.20 × 10⁻⁷', '0', '∞']
    >>> format_number(3.14159, digits=5)
    '3.1416'
    """
    if not isinstance(digits, (int, np.integer)) or isinstance(digits, bool) or digits < 1:
        raise ValueError(f"digits must be an integer >= 1; got {digits!r}")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    exp = math.floor(math.log10(abs(float(f"{abs(value):.{digits - 1}e}"))))  # the exponent after rounding
    if -3 <= exp < 6:
        return f"{round(value, digits - 1 - exp):,.{max(digits - 1 - exp, 0)}f}"
    mantissa = f"{value / 10.0**exp:.{digits - 1}f}"
    return f"{mantissa} × 10{str(exp).translate(_SUPERSCRIPT)}"


def format_value(value, spec: str | int | Callable | None = None) -> str:
    """One cell's text: ``spec`` applied to ``value``.

    ``spec`` is a format spec such as ``".3e"``, a number of significant digits for :func:`format_number`, or a
    callable. ``None`` and NaN (a quantity not defined for this row) show :data:`MISSING` whatever the ``spec``.
    Without ``spec``: real numbers by :func:`format_number` (:data:`DIGITS` significant digits, thousands grouped),
    everything else with ``str``.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if callable(spec):
        return str(spec(value))
    if spec is None or (isinstance(spec, int) and not isinstance(spec, bool)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return str(value)
        return format_number(value, DIGITS if spec is None else spec)
    return format(value, spec)


class Table:
    """Formatted cells with a header, alignments and an optional caption; see :func:`table`.

    Parameters
    ----------
    header : list of str
        Column headings.
    rows : list of list of str
        The formatted cells, one list per row, each as long as ``header``.
    numeric : list of bool
        Per column, whether it holds numbers (right-aligned).
    caption : str, optional
        Shown above the table.
    """

    def __init__(self, header: list[str], rows: list[list[str]], numeric: list[bool], caption: str | None = None):
        self.header, self.rows, self.numeric, self.caption = list(header), rows, list(numeric), caption

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        widths = [max([len(h)] + [len(r[j]) for r in self.rows]) for j, h in enumerate(self.header)]

        def line(cells):
            return "  ".join(c.rjust(w) if num else c.ljust(w)
                             for c, w, num in zip(cells, widths, self.numeric)).rstrip()

        lines = ([self.caption] if self.caption else []) + [line(self.header)] + [line(r) for r in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        def cell(tag, text, num):  # headings and text may wrap, numbers stay on one line: the table fits the page
            wrap = "normal;vertical-align:bottom" if tag == "th" else ("nowrap" if num else "normal")
            style = f"text-align:{'right' if num else 'left'};padding:0.15em 0.5em;white-space:{wrap}"
            return f'<{tag} style="{style}">{html.escape(text)}</{tag}>'

        head = "".join(cell("th", h, num) for h, num in zip(self.header, self.numeric))
        body = "".join("<tr>" + "".join(cell("td", c, num) for c, num in zip(r, self.numeric)) + "</tr>"
                       for r in self.rows)
        caption = (f'<caption style="caption-side:top;text-align:left;font-weight:600;padding-bottom:0.3em">'
                   f"{html.escape(self.caption)}</caption>" if self.caption else "")
        return ('<div class="ddlib-table" style="overflow-x:auto;max-width:100%">'
                '<table style="border-collapse:collapse;font-size:0.85em;font-variant-numeric:tabular-nums;'
                f'margin:0.5em 0">{caption}<thead style="border-bottom:1px solid currentColor">'
                f"<tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")

    def _repr_markdown_(self) -> str:
        def row(cells):
            return "| " + " | ".join(_MD_SPECIAL.sub(r"\\\1", c) for c in cells) + " |"

        rule = "|" + "|".join("---:" if num else ":---" for num in self.numeric) + "|"
        body = "\n".join([row(self.header), rule] + [row(r) for r in self.rows])
        if not self.caption:
            return body
        caption = " ".join(_MD_SPECIAL.sub(r"\\\1", self.caption).split())
        return f"````{{table}} {caption}\n:class: ddlib-table\n\n{body}\n````"


def table(data, columns: Sequence | Mapping | None = None, formats: Mapping | None = None,
          caption: str | None = None, units: Mapping | None = None) -> Table:
    """A :class:`Table` of ``data``, for a notebook cell to display.

    Parameters
    ----------
    data : dict of sequences, or sequence of dicts, or sequence of sequences
        Columns by name (``{"n": [...], "error": [...]}``, equal lengths, NumPy arrays welcome), or rows as dicts
        (the columns are the keys in the order first seen), or rows as sequences (then ``columns`` must name every
        column, in order).
    columns : sequence of keys, or dict of key to heading, optional
        Which columns to show and in which order; a dict also gives each a heading (default: the key).
    formats : dict of key to format spec, int or callable, optional
        Per column, a format spec for :func:`format` (``".3e"``, ``".2f"``, ``"d"``), a number of significant
        digits, or a function of the value returning text. Other columns: see :func:`format_value`.
    caption : str, optional
        A caption shown above the table.
    units : dict of key to str, optional
        Per column, its unit, shown in brackets after the heading: ``{"t": "ms"}`` gives ``t (ms)``.

    Returns
    -------
    Table
        Renders as HTML, Markdown (for the PDF) or plain text.

    Raises
    ------
    ValueError
        If ``data`` has no recognised shape or unequal columns, ``columns`` names a key the data lack, or
        ``formats`` or ``units`` names an unknown column, or a format does not apply to its values.
    """
    keys, cols = _columns_of(data, columns)
    headings = _headings(keys, cols, columns, units)
    formats = dict(formats or {})
    extra = [k for k in formats if k not in headings]
    if extra:
        raise ValueError(f"formats: unknown column(s) {extra!r}; the table shows {list(headings)!r}")
    n_rows = len(next(iter(cols.values()))) if cols else 0
    cells, numeric = [], []
    for k in headings:
        cells.append([_format_cell(v, formats.get(k), k) for v in cols[k]])
        numeric.append(all(_is_number(v) for v in cols[k] if v is not None) and n_rows > 0)
    rows = [[col[i] for col in cells] for i in range(n_rows)]
    return Table(list(headings.values()), rows, numeric, caption)


def _headings(keys, cols, columns, units) -> dict:
    """``{key: heading}`` of the columns shown, in order, each heading with its unit in brackets."""
    if columns is None:
        headings = {k: str(k) for k in keys}
    else:
        selected = list(columns.keys()) if isinstance(columns, Mapping) else list(columns)
        unknown = [k for k in selected if k not in cols]
        if unknown:
            raise ValueError(f"columns: unknown column(s) {unknown!r}; the data have {keys!r}")
        headings = {k: str(columns[k]) if isinstance(columns, Mapping) else str(k) for k in selected}
    extra = [k for k in (units or {}) if k not in headings]
    if extra:
        raise ValueError(f"units: unknown column(s) {extra!r}; the table shows {list(headings)!r}")
    return {k: f"{h} ({units[k]})" if units and k in units else h for k, h in headings.items()}


def _columns_of(data, columns) -> tuple[list, dict]:
    """The column keys in order and ``{key: list of values}`` for any accepted shape of ``data``."""
    if isinstance(data, Mapping):
        cols = {k: _as_list(v, k) for k, v in data.items()}
    elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        rows = list(data)
        if rows and all(isinstance(r, Mapping) for r in rows):
            keys = list(dict.fromkeys(k for r in rows for k in r))
            cols = {k: [r.get(k) for r in rows] for k in keys}
        elif all(isinstance(r, Sequence) and not isinstance(r, (str, bytes)) for r in rows):
            if columns is None:
                raise ValueError("columns: rows given as sequences need `columns` naming every column")
            keys = list(columns.keys()) if isinstance(columns, Mapping) else list(columns)
            bad = [i for i, r in enumerate(rows) if len(r) != len(keys)]
            if bad:
                raise ValueError(f"data: row {bad[0]} has {len(rows[bad[0]])} values, columns names {len(keys)}")
            cols = {k: [r[j] for r in rows] for j, k in enumerate(keys)}
        else:
            raise ValueError("data: rows must be all dicts or all sequences")
    else:
        raise ValueError(f"data must be a dict of columns or a sequence of rows; got {type(data).__name__}")
    lengths = {k: len(v) for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"data: columns must have equal lengths; got {lengths}")
    return list(cols), cols


def _as_list(values, key) -> list:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"data[{key!r}] must be one-dimensional; got shape {values.shape}")
        return values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"data[{key!r}] must be a sequence of values; got {type(values).__name__}")
    return list(values)


def _is_number(value) -> bool:
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_))


def _format_cell(value, spec, key) -> str:
    try:
        return format_value(value, spec)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"formats[{key!r}] = {spec!r} does not apply to the value {value!r}: {exc}") from None


class CsvLink:
    """A CSV file written by :func:`write_csv` and the link to it from a chapter.

    In a notebook (and so in the book) it shows as a Markdown link, which the book turns into a download; ``str``
    gives the link's target, relative to a chapter page (``../figures/tables/<name>.csv``).
    """

    def __init__(self, path: Path, name: str, rows: int, text: str | None = None):
        self.path, self.name, self.rows = Path(path), name, rows
        self.href = f"../figures/tables/{name}.csv"
        self.text = text or f"{name}.csv"

    def __str__(self) -> str:
        return self.href

    def __repr__(self) -> str:
        return f"CsvLink({self.href!r}, rows={self.rows})"

    def _repr_markdown_(self) -> str:
        return f"[{self.text}]({self.href})"


def write_csv(data, name: str, columns: Sequence | Mapping | None = None, units: Mapping | None = None,
              directory: str | os.PathLike | None = None, text: str | None = None) -> CsvLink:
    """Write a whole table as ``<directory>/<name>.csv`` (atomically) and return the link a chapter shows.

    ``data``, ``columns`` and ``units`` are read as by :func:`table` (the header holds the headings with their
    units); values are written in full precision, missing ones (``None``, NaN) as empty fields. ``directory``
    defaults to ``tables/`` in the figures folder (:func:`ddlib.figures.figures_dir`), from where ``make book``
    publishes it beside the figures; ``text`` is the link's text (default: the file name).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> link = write_csv({"n": [15, 31], "t": [0.5, float("nan")]}, "demo", units={"t": "ms"}, directory=d)
    >>> print(link.path.read_text(), end="")
    n,t (ms)
    15,0.5
    31,
    >>> link._repr_markdown_()
    '[demo.csv](../figures/tables/demo.csv)'
    """
    if not isinstance(name, str) or not _CSV_NAME.match(name):
        raise ValueError(f"name must be letters, digits, '_' and '-' (a file name without suffix); got {name!r}")
    keys, cols = _columns_of(data, columns)
    headings = _headings(keys, cols, columns, units)
    n_rows = len(next(iter(cols.values()))) if cols else 0
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(headings.values()))
    for i in range(n_rows):
        w.writerow([_csv_cell(cols[k][i]) for k in headings])
    path = Path(directory if directory is not None else figures_dir() / "tables") / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buf.getvalue())
    return CsvLink(path, name, n_rows, text)


def _csv_cell(value):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value
