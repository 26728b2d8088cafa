"""What a reader of the printed book needs from a figure, checked on the figure itself.

:func:`figure_problems` draws a Matplotlib figure and lists every way it breaks the book's figure style
(:mod:`ddlib.plotting.style`), measured at print size, i.e. with the figure's saved (tight) width scaled to the PDF's
text width:

* at most :data:`~ddlib.plotting.style.MAX_PANELS_PER_ROW` panels side by side (colour bars and switched-off legend
  panels are not panels);
* no text smaller than :data:`~ddlib.plotting.style.MIN_FONT_PT` points;
* no taller than :data:`MAX_HEIGHT_IN` inches (a figure and its caption fit on one page);
* no legend over the data: no data point (line vertex, marker, error-bar end), bar or image inside a legend's box;
* every log axis shows at least two labelled ticks inside its range (an axis sharing its ticks with a labelled
  neighbour counts as labelled);
* no line joins points on a categorical axis (tick labels that are words);
* no two tick labels of an axis overlap.
"""
from __future__ import annotations

import re

import numpy as np
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox
from matplotlib.text import Text

from .style import MAX_PANELS_PER_ROW, MIN_FONT_PT, TEXT_WIDTH_IN

__all__ = ["figure_problems", "print_scale", "MAX_HEIGHT_IN"]

#: Tallest figure, in inches at print size, that leaves room for its caption on an A4 page with 1 in margins.
MAX_HEIGHT_IN = 8.5
SAVE_PAD_IN = 0.1  # the padding savefig(bbox_inches="tight") adds on every side (Matplotlib's default)
_MATH = re.compile(r"\$[^$]*\$")


def print_scale(fig, text_width: float = TEXT_WIDTH_IN) -> float:
    """The factor by which the saved figure (tight bounding box plus padding) is scaled to fill ``text_width``."""
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    return text_width / (bbox.width + 2 * SAVE_PAD_IN)


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>"]


def _rows(panels) -> list[list]:
    """Panels grouped into rows: two panels share a row when their vertical extents overlap by half or more."""
    rows: list[list] = []
    for ax in sorted(panels, key=lambda a: -a.get_position().y1):
        p = ax.get_position()
        for row in rows:
            q = row[0].get_position()
            overlap = min(p.y1, q.y1) - max(p.y0, q.y0)
            if overlap >= 0.5 * min(p.height, q.height):
                row.append(ax)
                break
        else:
            rows.append([ax])
    return rows


def _visible(artist) -> bool:
    if not artist.get_visible():
        return False
    ax = getattr(artist, "axes", None)
    return ax is None or ax.get_visible()


def _small_texts(fig, scale: float) -> list[str]:
    small = sorted((t.get_fontsize() * scale, t.get_text().strip()) for t in fig.findobj(Text)
                   if t.get_text().strip() and _visible(t) and t.get_fontsize() * scale < MIN_FONT_PT - 1e-6)
    if not small:
        return []
    size, text = small[0]
    return [f"{len(small)} texts under {MIN_FONT_PT:g} pt at print size (smallest: {text[:40]!r} at {size:.1f} pt)"]


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the data points of ``ax`` that lie inside it."""
    pts = []
    for line in ax.get_lines():
        if _visible(line) and line.get_transform().contains_branch(ax.transData):
            xy = np.asarray(line.get_xydata(), dtype=float)
            if xy.size:
                pts.append(line.get_transform().transform(xy))
    for coll in ax.collections:
        if not _visible(coll):
            continue
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            pts.append(coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float)))
        elif isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                if len(seg):
                    pts.append(coll.get_transform().transform(np.asarray(seg, dtype=float)))
    if not pts:
        return np.zeros((0, 2))
    xy = np.vstack(pts)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    box = ax.bbox
    inside = (xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)
    return xy[inside]


def _legend_over_data(fig, renderer) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    out = []
    for leg in legends:
        if not _visible(leg):
            continue
        box = leg.get_window_extent(renderer).padded(-1)
        for ax in _panels(fig):
            xy = _data_points(ax)
            hit = int(np.sum((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)))
            bars = sum(1 for p in ax.patches if isinstance(p, Rectangle) and _visible(p) and p.get_height() != 0
                       and _overlap(box, p.get_window_extent(renderer), ax.bbox))
            images = sum(1 for im in ax.images if _visible(im) and box.overlaps(im.get_window_extent(renderer)))
            if hit or bars or images:
                what = ", ".join(f"{k} {name}" for k, name in ((hit, "data points"), (bars, "bars"),
                                                               (images, "images")) if k)
                out.append(f"a legend ({_legend_label(leg)}) covers {what} of panel {_title(ax)!r}")
    return out


def _overlap(box, extent, clip) -> bool:
    """Whether ``box`` overlaps the part of ``extent`` inside ``clip`` (a bar from 0 on a log axis reaches -inf)."""
    inside = Bbox.intersection(extent, clip)
    return inside is not None and box.overlaps(inside)


def _legend_label(leg) -> str:
    texts = [t.get_text() for t in leg.get_texts()]
    return f"{texts[0][:30]!r}, ..." if texts else "empty"


def _title(ax) -> str:
    return (ax.get_title() or ax.get_title(loc="left") or ax.get_ylabel() or "untitled")[:50]


def _labelled_ticks(axis) -> int:
    lo, hi = sorted(axis.get_view_interval())
    count = set()
    for minor in (False, True):
        locs = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
        ticks = axis.get_minor_ticks(len(locs)) if minor else axis.get_major_ticks(len(locs))
        for loc, tick in zip(locs, ticks):
            labels = (tick.label1, tick.label2)
            if lo * (1 - 1e-9) <= loc <= hi * (1 + 1e-9) and tick.get_visible() and any(
                    lab.get_visible() and lab.get_text().strip() for lab in labels):
                count.add(round(float(np.log10(loc)), 9) if loc > 0 else loc)
    return len(count)


def _log_axes(fig) -> list[str]:
    out = []
    for ax in _panels(fig):
        for name, axis, shared in (("x", ax.xaxis, ax.get_shared_x_axes()), ("y", ax.yaxis, ax.get_shared_y_axes())):
            if axis.get_scale() != "log":
                continue
            siblings = [s for s in shared.get_siblings(ax) if s.get_visible()]
            best = max(_labelled_ticks(s.xaxis if name == "x" else s.yaxis) for s in siblings)
            if best < 2:
                out.append(f"log {name} axis of panel {_title(ax)!r} has {best} labelled tick(s) (at least 2)")
    return out


def _is_word(label: str) -> bool:
    return bool(re.search(r"[A-Za-z]{2,}", _MATH.sub("", label)))


def _categorical_lines(fig) -> list[str]:
    out = []
    for ax in _panels(fig):
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text().strip()]
            if len(labels) < 2 or not any(_is_word(t) for t in labels):
                continue
            for line in ax.get_lines():
                xy = np.asarray(line.get_xydata(), dtype=float)
                joined = line.get_linestyle() not in ("None", "none", "", " ")
                if (_visible(line) and joined and line.get_transform().contains_branch(ax.transData)
                        and np.sum(np.all(np.isfinite(xy), axis=1)) >= 2):
                    out.append(f"panel {_title(ax)!r}: the line {line.get_label()!r} joins points of the "
                               f"categorical {name} axis")
    return out


def _overlapping_tick_labels(fig, renderer) -> list[str]:
    out = []
    for ax in _panels(fig):
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            lo, hi = sorted(axis.get_view_interval())
            major, minor = axis.get_majorticklocs(), axis.get_minorticklocs()
            labels = [(tick, lab) for tick in axis.get_major_ticks(len(major)) + axis.get_minor_ticks(len(minor))
                      for lab in (tick.label1, tick.label2)]
            boxes = [lab.get_window_extent(renderer) for tick, lab in labels
                     if lab.get_visible() and lab.get_text().strip() and tick.get_visible()
                     and lo - 1e-9 * abs(lo) <= tick.get_loc() <= hi + 1e-9 * abs(hi)]
            hits = sum(1 for i, a in enumerate(boxes) for b in boxes[i + 1:]
                       if a.padded(-0.5).overlaps(b.padded(-0.5)))
            if hits:
                out.append(f"{hits} overlapping tick labels on the {name} axis of panel {_title(ax)!r}")
    return out


def figure_problems(fig, text_width: float = TEXT_WIDTH_IN) -> list[str]:
    """Every breach of the book's figure style in ``fig`` at print size (empty: none); see the module docstring.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, axes = plt.subplots(1, 4, figsize=(6.27, 2))
    >>> any("4 panels in a row" in p for p in figure_problems(fig))
    True
    """
    scale = print_scale(fig, text_width)
    renderer = fig.canvas.get_renderer()
    out = [f"{len(row)} panels in a row (at most {MAX_PANELS_PER_ROW})" for row in _rows(_panels(fig))
           if len(row) > MAX_PANELS_PER_ROW]
    height = (fig.get_tightbbox(renderer).height + 2 * SAVE_PAD_IN) * scale
    if height > MAX_HEIGHT_IN:
        out.append(f"{height:.1f} in tall at print size (at most {MAX_HEIGHT_IN:g})")
    out += _small_texts(fig, scale)
    out += _legend_over_data(fig, renderer)
    out += _log_axes(fig)
    out += _categorical_lines(fig)
    out += _overlapping_tick_labels(fig, renderer)
    return out
