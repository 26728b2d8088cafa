"""Results tables that read as tables in every output of the book.

A chapter ends a computation cell with ``table(...)`` instead of printing fixed-width text. The returned
:class:`Table` renders

* in HTML (the book, Jupyter, Colab) as an HTML table with right-aligned, formatted numbers, in a wrapper that
  scrolls sideways instead of running past the page (``_repr_html_``);
* in the PDF as a Markdown table (``_repr_markdown_``), wrapped in a MyST ``{table}`` directive when it has a caption.
  myst-nb renders a ``text/latex`` output as a formula, so the LaTeX build uses this Markdown (the book sets
  ``nb_render_markdown_format: myst``) and Sphinx writes it as a LaTeX table;
* as plain fixed-width text everywhere else (``str`` and ``repr``).

Examples
--------
>>> from ddlib.tables import table
>>> t = table({"n": [15, 31], "error": [1.5e-3, 3.8e-4]}, formats={"error": ".2e"}, caption="Convergence")
>>> print(t)
Convergence
 n     error
15  1.50e-03
31  3.80e-04
>>> t.rows
[['15', '1.50e-03'], ['31', '3.80e-04']]
"""
from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["Table", "table", "format_value"]

#: What a missing value (``None`` or NaN) shows.
MISSING = "–"
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character: Markdown escapes them all


def format_value(value, spec: str | Callable | None = None) -> str:
    """One cell's text: ``spec`` (a format spec such as ``".3e"``, or a callable) applied to ``value``.

    ``None`` and NaN (a quantity not defined for this row) show :data:`MISSING` whatever the ``spec``. Without
    ``spec``: integers in full, other real numbers with 4 significant digits (``.4g``), everything else with ``str``.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if callable(spec):
        return str(spec(value))
    if spec is None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return str(value)
        spec = "d" if isinstance(value, numbers.Integral) else ".4g"
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
          caption: str | None = None) -> Table:
    """A :class:`Table` of ``data``, for a notebook cell to display.

    Parameters
    ----------
    data : dict of sequences, or sequence of dicts, or sequence of sequences
        Columns by name (``{"n": [...], "error": [...]}``, equal lengths, NumPy arrays welcome), or rows as dicts
        (the columns are the keys in the order first seen), or rows as sequences (then ``columns`` must name every
        column, in order).
    columns : sequence of keys, or dict of key to heading, optional
        Which columns to show and in which order; a dict also gives each a heading (default: the key).
    formats : dict of key to format spec or callable, optional
        Per column, a format spec for :func:`format` (``".3e"``, ``".2f"``, ``"d"``) or a function of the value
        returning text. Other columns: see :func:`format_value`.
    caption : str, optional
        A caption shown above the table.

    Returns
    -------
    Table
        Renders as HTML, Markdown (for the PDF) or plain text.

    Raises
    ------
    ValueError
        If ``data`` has no recognised shape or unequal columns, ``columns`` names a key the data lack, or
        ``formats`` names an unknown column or holds a format that does not apply to its values.
    """
    keys, cols = _columns_of(data, columns)
    if columns is None:
        headings = {k: str(k) for k in keys}
    else:
        selected = list(columns.keys()) if isinstance(columns, Mapping) else list(columns)
        unknown = [k for k in selected if k not in cols]
        if unknown:
            raise ValueError(f"columns: unknown column(s) {unknown!r}; the data have {keys!r}")
        headings = {k: str(columns[k]) if isinstance(columns, Mapping) else str(k) for k in selected}
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
