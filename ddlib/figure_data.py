r"""The data a Matplotlib figure plots, read back from the figure and written as tidy CSV.

:func:`ddlib.figures.save_figure` calls :func:`write_figure_data` for every figure of the book, so each figure comes
with its numbers without the chapters doing anything: one CSV per panel (axes that hold data, in the figure's order,
named ``a``, ``b``, ...), ``<fig_id>_<name>_<panel>.csv``, in long format, one row per plotted point::

    panel,title,series,kind,part,index,x [<x-axis label>],y [<y-axis label>],value [<colour label>]

``series`` is the legend label (or ``line 2``, ``image 1``, ... for unlabelled artists), ``part`` numbers the
pieces of one artist (the polygons of a ``fill_between``, the segments of error bars) and ``index`` the points within
a piece. The axis labels carry the units, so the header does too. Floats are written with 17 significant digits: the
CSV holds exactly the arrays that were plotted (NaN as ``nan``); ``value`` is empty for artists without one. What is
read, by ``kind``:

* ``line``: every ``Line2D`` in data coordinates (``plot``, ``loglog``, ``errorbar`` centres, ...); ``hline`` /
  ``vline``: lines drawn in axes-fraction coordinates along one axis (``axhline``: x in [0, 1] of the axes);
* ``scatter``: the offsets of a ``PathCollection``, with the colour-mapped ``value`` where there is one;
* ``fill``: the polygon vertices of a ``PolyCollection`` (``fill_between``), ``segments``: a ``LineCollection``;
* ``bar``: one row per bar of a ``BarContainer``: centre and height (``barh``: height as x, centre as y);
* ``span``: other rectangles (``axvspan``): two rows, opposite corners, in their own coordinates;
* ``image``: an ``AxesImage`` (``imshow``): one row per pixel, at the pixel centre within its extent, with the
  pixel's ``value``; ``mesh``: a ``QuadMesh`` (``pcolormesh``): one row per cell, at the mean of its corners.
"""
from __future__ import annotations

import csv
import string
from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection, PathCollection, PolyCollection, QuadMesh
from matplotlib.container import BarContainer
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from ._io import replacing

__all__ = ["panel_data", "figure_panels", "write_figure_data", "COLUMNS"]

#: The leading columns of every CSV; x, y and value follow, named after the axes.
COLUMNS = ("panel", "title", "series", "kind", "part", "index")


def _plain(label: str) -> str:
    """An axis label as plain text for a CSV header: Matplotlib's ``$`` math delimiters dropped."""
    return " ".join(label.replace("$", "").split())


def _label(artist, kind: str, counter: dict) -> str:
    label = artist.get_label() if hasattr(artist, "get_label") else ""
    if label and not str(label).startswith("_"):
        return str(label)
    counter[kind] = counter.get(kind, 0) + 1
    return f"{kind} {counter[kind]}"


def _rows(series, kind, x, y, value=None, part=0):
    x, y = np.ravel(np.asarray(x, dtype=float)), np.ravel(np.asarray(y, dtype=float))
    v = [None] * x.size if value is None else np.ravel(np.asarray(value, dtype=float)).tolist()
    return [(series, kind, part, i, x[i], y[i], v[i]) for i in range(x.size)]


def _line_kind(ax, line) -> str:
    t = line.get_transform()
    if t == ax.transData:
        return "line"
    if t == ax.get_yaxis_transform():
        return "hline"
    if t == ax.get_xaxis_transform():
        return "vline"
    return "line (other coordinates)"


def _image_rows(series, im):
    a = np.asarray(im.get_array(), dtype=float)
    if a.ndim != 2:  # RGB(A) images carry colours, not data
        return []
    x0, x1, y0, y1 = im.get_extent()
    rows, cols = a.shape
    flip = im.origin == "upper"  # row 0 is drawn at the extent's top edge, y1 (whatever its value)
    xs = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    centres = (np.arange(rows) + 0.5) * (y1 - y0) / rows
    ys = y1 - centres if flip else y0 + centres
    X, Y = np.meshgrid(xs, ys)
    return _rows(series, "image", X, Y, a)


def _mesh_rows(series, mesh):
    corners = np.asarray(mesh.get_coordinates(), dtype=float)
    centres = (corners[:-1, :-1] + corners[1:, :-1] + corners[:-1, 1:] + corners[1:, 1:]) / 4
    return _rows(series, "mesh", centres[..., 0], centres[..., 1], np.asarray(mesh.get_array(), dtype=float))


def _collection_rows(series, coll):
    if isinstance(coll, QuadMesh):
        return _mesh_rows(series, coll)
    if isinstance(coll, PathCollection):
        off = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
        arr = coll.get_array()
        value = None if arr is None or np.size(arr) != len(off) else arr
        return _rows(series, "scatter", off[:, 0], off[:, 1], value)
    if isinstance(coll, LineCollection):
        return [r for k, seg in enumerate(coll.get_segments())
                for r in _rows(series, "segments", np.asarray(seg)[:, 0], np.asarray(seg)[:, 1], part=k)]
    if isinstance(coll, PolyCollection):
        return [r for k, path in enumerate(coll.get_paths())
                for r in _rows(series, "fill", path.vertices[:, 0], path.vertices[:, 1], part=k)]
    return []


def _bar_rows(series, container: BarContainer):
    rects = container.patches
    heights = np.asarray(container.datavalues, dtype=float)
    if container.orientation == "horizontal":
        centres = [r.get_y() + r.get_height() / 2 for r in rects]
        return _rows(series, "bar", heights, centres)
    centres = [r.get_x() + r.get_width() / 2 for r in rects]
    return _rows(series, "bar", centres, heights)


def panel_data(ax) -> list[tuple]:
    """Every plotted point of one Axes as ``(series, kind, part, index, x, y, value)`` rows (value None if none)."""
    counter, rows = {}, []
    for line in ax.get_lines():
        rows += _rows(_label(line, "line", counter), _line_kind(ax, line), line.get_xdata(), line.get_ydata())
    for coll in ax.collections:
        rows += _collection_rows(_label(coll, "collection", counter), coll)
    bar_patches = set()
    for container in ax.containers:
        if isinstance(container, BarContainer):
            rows += _bar_rows(_label(container, "bars", counter), container)
            bar_patches.update(map(id, container.patches))
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and id(patch) not in bar_patches:
            x, y, w, h = patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()
            rows += _rows(_label(patch, "span", counter), "span", [x, x + w], [y, y + h])
    for im in ax.get_images():
        if isinstance(im, AxesImage):
            rows += _image_rows(_label(im, "image", counter), im)
    return rows


def _value_label(ax) -> str:
    for artist in (*ax.get_images(), *ax.collections):
        cb = getattr(artist, "colorbar", None)
        if cb is not None:
            label = _plain(cb.ax.get_ylabel() or cb.ax.get_xlabel())
            if label:
                return label
    return ""


def figure_panels(fig) -> list[dict]:
    """The panels of ``fig`` that plot data: ``{"panel", "title", "x", "y", "value", "rows"}`` each, in order.

    Colour-bar axes are skipped; panels are lettered ``a``, ``b``, ... in the figure's order of axes.
    """
    panels = []
    for ax in fig.axes:
        if getattr(ax, "_colorbar", None) is not None:
            continue
        rows = panel_data(ax)
        if not rows:
            continue
        letter = string.ascii_lowercase[len(panels)] if len(panels) < 26 else f"p{len(panels) + 1}"
        title = next((t for t in (ax.get_title(loc=w) for w in ("center", "left", "right")) if t), "")
        panels.append({"panel": letter, "title": _plain(title), "x": _plain(ax.get_xlabel()),
                       "y": _plain(ax.get_ylabel()), "value": _value_label(ax), "rows": rows})
    return panels


def _header(name: str, label: str) -> str:
    return f"{name} [{label}]" if label else name


def write_figure_data(fig, directory, stem: str) -> list[str]:
    """Write one CSV per data panel of ``fig`` as ``<directory>/<stem>_<panel>.csv``; return the file names."""
    directory = Path(directory)
    names = []
    for p in figure_panels(fig):
        name = f"{stem}_{p['panel']}.csv"
        with replacing(directory / name) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([*COLUMNS, _header("x", p["x"]), _header("y", p["y"]), _header("value", p["value"])])
            for series, kind, part, index, x, y, v in p["rows"]:
                w.writerow([p["panel"], p["title"], series, kind, part, index, format(x, ".17g"),
                            format(y, ".17g"), "" if v is None else format(v, ".17g")])
        names.append(name)
    return names
