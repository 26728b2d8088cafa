"""Figure F12: cost and parameters against n, DD against global attention, with the bmm and direct-solve anchors, and
the default path of DD attention in 1D, 2D and 3D (chapter 7)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..benchmarks import column, dimension_fit
from ..timing import fit_exponent
from .style import COLORS

_SERIES = (  # key, label, colour, marker, line style
    ("dd", "DD attention, model(f) on rows", COLORS["dd"], "o", "-"),
    ("columns", "DD attention, apply_columns", COLORS["classical"], "P", "-."),
    ("dd_grad", "DD attention, grad enabled", COLORS["local"], "v", ":"),
    ("gather", "DD attention, generic gather path", COLORS["local"], "^", "--"),
    ("global", "global, matched parameters", COLORS["global"], "s", "-"),
    ("global_accuracy", "global, matched best accuracy", COLORS["coarse"], "D", ":"),
)
_DIM_STYLE = {1: ("o", "-"), 2: ("s", "--"), 3: ("^", ":")}


def _plot(ax, n, t, label, color, marker, ls):
    ok = np.isfinite(t) & (t > 0)
    if ok.any():
        ax.loglog(n[ok], t[ok], marker=marker, ls=ls, color=color, ms=4, lw=1.2, label=label)


def performance_figure(rows: list[dict], fit=(1023, 65535), dimensions: dict | None = None, race: dict | None = None,
                       status: dict | None = None):
    """Panels: (a) 1D forward time per batch against n with the bmm ceiling, the direct solve and the fitted slope of
    DD; (b) forward time per unknown of DD attention's default path in 1D and in each dimension of ``dimensions``
    (``{dim: rows of ddlib.benchmarks.dimension_scaling}``, fitted over :func:`ddlib.benchmarks.dimension_fit`);
    (c) forward+backward time; (d) trainable parameters; (e) peak memory; (f) the training race (test error against
    wall-clock seconds), if ``race`` is given; (g) per-notebook book build times, if ``status`` holds a build (the
    dict of ``tools/build_status.py``)."""
    n = column(rows, "n")
    has_status = status is not None and any(status.values())
    fig, axes = plt.subplots(4, 2, figsize=(10, 13.5))
    axes = axes.ravel()
    _forward_panel(axes[0], rows, n, fit)
    _dimensions_panel(axes[1], rows, fit, dimensions or {})
    _fwd_bwd_panel(axes[2], rows, n)
    _parameters_panel(axes[3], rows, n)
    _memory_panel(axes[4], rows, n)
    k = 5
    if race is not None:
        _race_panel(axes[k], race)
        k += 1
    if has_status:
        _build_panel(axes[k], status)
        k += 1
    for ax in (axes[0], *axes[2:5]):  # 1D sizes are 2^p - 1: label the ticks by p
        ax.set_xticks(n, [f"$2^{{{int(np.log2(v + 1))}}}$" for v in n], minor=False)
        ax.set_xticks([], minor=True)
    for ax in axes[k:]:
        ax.set_visible(False)
    return fig


def _fit_line(ax, n, t, fit, color, label):
    sel = (n >= fit[0]) & (n <= fit[1]) & np.isfinite(t) & (t > 0)
    if np.unique(n[sel]).size >= 2:
        f = fit_exponent(n[sel], t[sel])
        ax.loglog(n[sel], f(n[sel]) * 0.5, color=color, lw=0.8, alpha=0.7, label=f"{label}: slope {f.exponent:.2f}")


def _forward_panel(ax, rows, n, fit):
    for key, label, color, marker, ls in _SERIES:
        _plot(ax, n, column(rows, f"{key}_forward"), label, color, marker, ls)
    _plot(ax, n, column(rows, "bmm_forward"), "one torch.bmm, same FLOPs", COLORS["other"], "x", "-")
    _plot(ax, n, column(rows, "bmm_forward") * column(rows, "dd_bytes") / column(rows, "bmm_bytes"),
          "bmm time x DD/bmm bytes moved (traffic model)", COLORS["other"], "", ":")
    _plot(ax, n, column(rows, "direct_solve"), "direct solve of A u = f (sine transforms)", COLORS["exact"], "v",
          "-.")
    _fit_line(ax, n, column(rows, "dd_forward"), fit, COLORS["dd"], "fit to DD (shifted down)")
    ax.set(title="(a) 1D forward pass, one batch", xlabel="$n$", ylabel="seconds (median)")
    ax.legend(fontsize=6.5)


def _dimensions_panel(ax, rows, fit, dimensions):
    """Seconds per unknown of the default forward pass: flat where the cost is linear in n."""
    series = {1: (rows, fit), **{int(d): (r, dimension_fit(r)) for d, r in dimensions.items()}}
    for dim, (r, (lo, hi)) in sorted(series.items()):
        n, t = column(r, "n"), column(r, "dd_forward")
        marker, ls = _DIM_STYLE[dim]
        sel = (n >= lo) & (n <= hi) & np.isfinite(t)
        slope = f", slope {fit_exponent(n[sel], t[sel]).exponent:.2f}" if np.unique(n[sel]).size >= 2 else ""
        _plot(ax, n, t / n, f"{dim}D{slope}", COLORS["dd"], marker, ls)
    ax.set(title="(b) DD attention forward, per unknown, in 1D, 2D, 3D", xlabel="$n$",
           ylabel="seconds / n (median)")
    ax.legend(fontsize=6.5)


def _fwd_bwd_panel(ax, rows, n):
    for key, label, color, marker, ls in _SERIES:
        _plot(ax, n, column(rows, f"{key}_fwd_bwd"), label, color, marker, ls)
    ax.set(title="(c) forward + backward pass, one batch", xlabel="$n$", ylabel="seconds (median)")
    ax.legend(fontsize=6.5)


def _parameters_panel(ax, rows, n):
    ax.loglog(n, column(rows, "dd_params"), "o-", color=COLORS["dd"], ms=4, label="DD attention")
    ax.loglog(n, column(rows, "global_params_params"), "s-", color=COLORS["global"], ms=4,
              label="global, matched parameters")
    ax.loglog(n, column(rows, "global_accuracy_params"), "D:", color=COLORS["coarse"], ms=4,
              label="global, matched best accuracy")
    ax.set(title="(d) trainable parameters", xlabel="$n$", ylabel="parameters")
    ax.legend(fontsize=6.5)


def _memory_panel(ax, rows, n):
    for key, label, color, marker in (("dd", "DD attention", COLORS["dd"], "o"),
                                      ("global", "global, matched parameters", COLORS["global"], "s")):
        _plot(ax, n, column(rows, f"{key}_peak_bytes") / 2**20, label, color, marker, "-")
    ax.set(title="(e) peak memory of one pass (RSS rise)", xlabel="$n$", ylabel="MiB")
    ax.legend(fontsize=6.5)


def _race_panel(ax, race):
    for name, res in race["results"].items():
        color = COLORS["dd" if name == "dd" else "global"]
        s = np.asarray(res["history_seconds"], float)
        e = np.asarray(res["history_error"], float)
        ok = s > 0
        ax.loglog(s[ok], e[ok], "o-", ms=3, color=color, label=f"{name} ({res['parameters']} parameters)")
    ax.axhline(race["target"], color=COLORS["exact"], lw=0.8, ls="--", label=f"target {race['target']}")
    ax.set(title="(f) training race: in-band test error against wall-clock", xlabel="training seconds",
           ylabel="relative error")
    ax.legend(fontsize=6.5)


def _build_panel(ax, status):
    names = sorted({r["notebook"] for s in status.values() if s for r in s["notebooks"]})
    y = np.arange(len(names))
    for j, (kind, color) in enumerate((("full", COLORS["dd"]), ("quick", COLORS["global"]))):
        if status.get(kind):
            sec = {r["notebook"]: r["seconds"] for r in status[kind]["notebooks"]}
            ax.barh(y + 0.2 - 0.4 * j, [sec.get(nm, 0.0) for nm in names], height=0.4, color=color,
                    label=f"make book{' QUICK=1' if kind == 'quick' else ''} ({status[kind]['seconds']:.0f} s)")
    ax.set_yticks(y, [nm.split("/")[-1].replace(".ipynb", "") for nm in names], fontsize=7)
    ax.set(title="(g) book build: seconds per notebook", xlabel="seconds")
    ax.legend(fontsize=6.5)
