"""One look for every figure of the book: a palette with fixed meanings, sizes for the printed page, shared legends.

**Roles.** Every line or marker that stands for a kind of operator has the colour and the marker of its role, in
every figure (:data:`ROLE_STYLE`):

========== ===================================================== ================ ======
role       what it stands for                                    colour           marker
========== ===================================================== ================ ======
global     global low-rank attention :math:`hQK^T`               vermillion       o
dd         DD attention (trained or learned)                     blue             s
coarse     the coarse level alone (coarse-only models, Jacobi    bluish green     ^
           plus coarse)
local      the local level alone (local-only models, one-level   reddish purple   v
           Schwarz)
classical  classical two-level Schwarz (exact local solves)      orange           D
oracle     best possible operators: Eckart-Young, the Schwarz    black            \\*
           oracle, structural floors
banded     the banded-plus-low-rank baseline                     sky blue         P
reference  exact quantities, theory lines, targets (no marker)   dark grey
========== ===================================================== ================ ======

The colours are Okabe and Ito's colour-blind safe set; ``tests/test_figure_style.py`` checks that every two roles
stay apart (CIELAB distance) for normal vision and simulated protan, deutan and tritan vision. Variants of one role
(several DD configurations, several Schwarz methods) keep its colour and marker and differ in line style and marker
fill (:func:`role_style`). Ordered quantities without a role (subdomain index, the columns of a Green's function)
take :func:`sequence_colors`; the default colour cycle is grey, so that no line takes a role's colour by accident.

**Size.** Figures are drawn at the PDF's text width (:data:`TEXT_WIDTH_IN`, A4 with Sphinx's 1 in margins), with at
most :data:`MAX_PANELS_PER_ROW` panels in a row and no text under :data:`MIN_FONT_PT` at that size; the HTML scales
the same image to its column. Legends go below the panels or into a spare panel (:func:`legend_below`,
:func:`legend_panel`), never over the data. :func:`finish` gives every log axis at least two labelled ticks.
"""
from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

__all__ = ["TEXT_WIDTH_IN", "FIG_WIDTH_IN", "MIN_FONT_PT", "MAX_PANELS_PER_ROW", "PALETTE", "ROLE_STYLE", "LINESTYLES",
           "role_style", "spec_role", "sequence_colors", "use_style", "panel_grid", "legend_below", "legend_panel", "finish",
           "tick_label", "log_ticks"]

#: Text width of the book's PDF in inches: A4 paper (8.27 in) less Sphinx's default margins of 1 in on each side.
#: The LaTeX build writes its ``\textwidth`` to the log (``tests/test_book.py`` compares the two).
TEXT_WIDTH_IN = 6.27
#: Smallest font size, in points, that any text of a figure may have when printed at :data:`TEXT_WIDTH_IN`.
MIN_FONT_PT = 8.0
#: Most panels side by side in one row of a figure at the text width.
MAX_PANELS_PER_ROW = 3
#: Width figures are drawn at, in inches: the text width less the padding of ``savefig(bbox_inches="tight")``
#: (0.1 in a side), so that the saved image prints at its drawn size.
FIG_WIDTH_IN = TEXT_WIDTH_IN - 0.2

#: Okabe and Ito's colour-blind safe colours (plus the dark grey of reference lines).
PALETTE = {"vermillion": "#D55E00", "blue": "#0072B2", "bluish green": "#009E73", "reddish purple": "#CC79A7",
           "orange": "#E69F00", "sky blue": "#56B4E9", "black": "#000000", "dark grey": "#555555"}

#: Colour and marker of each role (see the module docstring); ``reference`` lines carry no marker.
ROLE_STYLE = {
    "global": {"color": PALETTE["vermillion"], "marker": "o"},
    "dd": {"color": PALETTE["blue"], "marker": "s"},
    "coarse": {"color": PALETTE["bluish green"], "marker": "^"},
    "local": {"color": PALETTE["reddish purple"], "marker": "v"},
    "classical": {"color": PALETTE["orange"], "marker": "D"},
    "oracle": {"color": PALETTE["black"], "marker": "*"},
    "banded": {"color": PALETTE["sky blue"], "marker": "P"},
    "reference": {"color": PALETTE["dark grey"], "marker": ""},
}
#: Line styles of the variants of one role, in order.
LINESTYLES = ("-", "--", "-.", ":")


def role_style(role: str, variant: int = 0, line: bool = True) -> dict:
    """Keyword arguments for ``Axes.plot`` / ``errorbar``: the role's colour and marker, variant ``k`` of it.

    Variant ``k`` takes line style ``LINESTYLES[k % 4]`` and, for odd ``k``, a hollow marker; ``line=False`` draws
    markers only (categorical points are never joined).

    Examples
    --------
    >>> role_style("dd", 1)
    {'color': '#0072B2', 'marker': 's', 'ls': '--', 'mfc': 'white'}
    >>> role_style("global", line=False)["ls"]
    'none'
    """
    if role not in ROLE_STYLE:
        raise ValueError(f"role must be one of {sorted(ROLE_STYLE)}; got {role!r}")
    if not isinstance(variant, (int, np.integer)) or variant < 0:
        raise ValueError(f"variant must be an integer >= 0; got {variant!r}")
    st = ROLE_STYLE[role]
    return {"color": st["color"], "marker": st["marker"], "ls": LINESTYLES[variant % len(LINESTYLES)] if line else "none",
            "mfc": "white" if variant % 2 else st["color"]}


def sequence_colors(k: int) -> list:
    """``k`` colours of the viridis map (dark to light, the unreadable yellow end left out) for an ordered
    quantity that has no role: subdomain ``i``, the ``j``-th column, the ``s``-th sample."""
    return [tuple(c) for c in plt.get_cmap("viridis")(np.linspace(0.0, 0.85, max(k, 1)))][:k]


def use_style() -> None:
    """Set Matplotlib defaults for the book's figures: sizes for the printed page (every font at least
    :data:`MIN_FONT_PT`), a grey default colour cycle, light grids, no top or right spines, constrained layout."""
    matplotlib.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "figure.figsize": (FIG_WIDTH_IN, 2.4),
        "font.size": MIN_FONT_PT,
        "axes.titlesize": MIN_FONT_PT + 0.5,
        "axes.labelsize": MIN_FONT_PT,
        "xtick.labelsize": MIN_FONT_PT,
        "ytick.labelsize": MIN_FONT_PT,
        "legend.fontsize": MIN_FONT_PT,
        "legend.title_fontsize": MIN_FONT_PT,
        "figure.titlesize": MIN_FONT_PT + 1,
        "lines.linewidth": 1.2,
        "lines.markersize": 4,
        "errorbar.capsize": 2,
        "axes.prop_cycle": cycler(color=["#000000", "#555555", "#999999"]) * cycler(linestyle=["-", "--"]),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlelocation": "left",
        "figure.constrained_layout.use": True,
        "image.cmap": "viridis",
    })


def panel_grid(n_panels: int, ncols: int | None = None, height: float = 2.0, width: float = FIG_WIDTH_IN,
               spare: int = 0, **subplot_kw):
    """A figure at the text width with ``n_panels`` panels (and ``spare`` empty slots, e.g. for a legend) in rows
    of at most :data:`MAX_PANELS_PER_ROW`; returns ``(fig, panels, spares)``, unused slots hidden.

    ``height`` is the height of one row in inches; ``subplot_kw`` goes to ``Figure.subplots`` (``sharex``, ...).
    """
    if not isinstance(n_panels, (int, np.integer)) or n_panels < 1:
        raise ValueError(f"n_panels must be an integer >= 1; got {n_panels!r}")
    ncols = min(MAX_PANELS_PER_ROW, n_panels + spare) if ncols is None else ncols
    if not 1 <= ncols <= MAX_PANELS_PER_ROW:
        raise ValueError(f"ncols must be between 1 and {MAX_PANELS_PER_ROW}; got {ncols!r}")
    nrows = math.ceil((n_panels + spare) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows), squeeze=False, **subplot_kw)
    flat = list(axes.ravel())
    for ax in flat[n_panels + spare:]:
        ax.set_visible(False)
    spares = flat[n_panels:n_panels + spare]
    for ax in spares:
        ax.axis("off")
    return fig, flat[:n_panels], spares


def _handles(axes) -> tuple[list, list]:
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_") and lab not in labels:
                handles.append(h)
                labels.append(lab)
    return handles, labels


def legend_below(fig, axes=None, ncol: int = 2):
    """One legend for the whole figure, below its panels (outside every axes), each label once."""
    handles, labels = _handles(axes if axes is not None else fig.axes)
    if not handles:
        return None
    return fig.legend(handles, labels, loc="outside lower center", ncol=min(ncol, len(labels)), frameon=False)


def legend_panel(ax, axes, **kw):
    """The labels of ``axes`` as a legend filling the spare panel ``ax`` (switched off as an axes)."""
    handles, labels = _handles(axes)
    ax.axis("off")
    if handles:
        ax.legend(handles, labels, loc="center", frameon=False, **kw)
    return ax


def tick_label(value: float, _pos=None) -> str:
    """Tick text of a log axis: plain digits between 10^-3 and 10^4 (``0.02``, ``300``), else a power of ten."""
    if value <= 0 or not np.isfinite(value):
        return ""
    if 1e-3 <= value < 1e4:
        return f"{value:g}"
    exp = math.floor(math.log10(value) + 1e-12)
    mant = value / 10.0**exp
    return f"$10^{{{exp}}}$" if abs(mant - 1) < 1e-9 else f"${mant:g}\\times10^{{{exp}}}$"


def _room_for_ticks(axis) -> int:
    """How many tick labels fit along ``axis`` at about one label per 0.3 in (at least 3)."""
    ax = axis.axes
    pos = ax.get_position()
    w, h = ax.figure.get_size_inches()
    length = pos.width * w if axis is ax.xaxis else pos.height * h
    return max(3, int(length / 0.3))


def log_ticks(lo: float, hi: float, room: int) -> list[float]:
    """Tick positions for a log axis on ``[lo, hi]``: at least two, at most ``room`` where the range allows.

    Powers of ten (every k-th one when more than ``room`` fit); where fewer than two fit, 1-3 steps, then 1-2-5
    steps, then nice linear steps (a range under a factor 5), then the two ends rounded to two digits.

    Examples
    --------
    >>> log_ticks(1e-16, 1.0, 5)
    [1e-16, 1e-12, 1e-08, 0.0001, 1.0]
    >>> log_ticks(150, 5000, 5)
    [300.0, 1000.0, 3000.0]
    >>> log_ticks(0.0146, 0.067, 5)
    [0.02, 0.05]
    >>> log_ticks(6.5, 17.5, 5)
    [10.0, 15.0]
    """
    inside = lambda t: lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)  # noqa: E731
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for subs in ((1,), (1, 3), (1, 2, 5)):
        ticks = [float(f"{m}e{e}") for e in range(e0, e1 + 1) for m in subs if inside(float(f"{m}e{e}"))]
        if len(ticks) >= 2:
            if subs == (1,) and len(ticks) > room:
                step = math.ceil(len(ticks) / room)
                ticks = ticks[::-1][::step][::-1]  # keep the largest power, every step-th below it
            return ticks
    # a range of less than a factor 5: a log axis is almost linear there, so nice linear steps read best
    ticks = [float(t) for t in MaxNLocator(nbins=max(2, room - 1), steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
             if inside(t)]
    return ticks if len(ticks) >= 2 else [float(f"{lo:.2g}"), float(f"{hi:.2g}")]


def _readable_log_axis(axis, lo: float, hi: float) -> None:
    """At least two labelled major ticks inside ``[lo, hi]``, no more than fit (:func:`log_ticks`); ticks a figure
    set itself are kept if two of them lie inside."""
    lo, hi = min(lo, hi), max(lo, hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0:
        return
    if isinstance(axis.get_major_locator(), FixedLocator):
        if sum(lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9) for t in axis.get_major_locator().locs) >= 2:
            return
    base = getattr(axis._scale, "base", 10)  # noqa: SLF001  (matplotlib keeps the base on the scale only)
    if base != 10 and sum(lo <= t <= hi for t in LogLocator(base=base).tick_values(lo, hi)) >= 2:
        return
    ticks = log_ticks(lo, hi, _room_for_ticks(axis))
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(tick_label))
    axis.set_minor_formatter(NullFormatter())
    decades = all(abs(math.log10(t) - round(math.log10(t))) < 1e-9 for t in ticks)
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10)), numticks=100) if decades
                           else NullLocator())


def finish(fig):
    """Last touches of every figure: each log axis of each visible panel gets at least two labelled ticks (with
    plain numbers where they are short); returns ``fig``."""
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            if axis.get_scale() == "log":
                _readable_log_axis(axis, *lim)
    return fig


def spec_role(spec) -> str:
    """The role of a model spec (:mod:`ddlib.models`): ``"global"``, ``"banded"``, and for DD specs ``"coarse"``
    (local level off), ``"local"`` (coarse level off) or ``"dd"``.

    Examples
    --------
    >>> from ddlib.models import DDSpec, GlobalSpec
    >>> [spec_role(s) for s in (GlobalSpec(4), DDSpec(8, 1, 2), DDSpec(8, 1, 2, use_local=False))]
    ['global', 'dd', 'coarse']
    """
    family = getattr(spec, "family", "")
    if family in ("global", "banded"):
        return family
    if family != "dd":
        raise ValueError(f"spec must be a model spec of ddlib.models with family global, banded or dd; got {spec!r}")
    if not getattr(spec, "use_local", True):
        return "coarse"
    if not getattr(spec, "use_coarse", True) or getattr(spec, "coarse", "hat") == "none":
        return "local"
    return "dd"
