"""Figures of chapter 7: cost and parameters against n, DD against global attention, with the bmm and direct-solve
anchors, the default path of DD attention in 1D, 2D and 3D; the training race and the book's build times."""
from __future__ import annotations

import numpy as np

from ..benchmarks import column, dimension_fit
from ..timing import fit_exponent
from .style import finish, legend_below, panel_grid, role_style

__all__ = ["performance_figure", "race_figure"]

_SERIES = (  # key, label, role, variant
    ("dd", "DD attention", "dd", 0),
    ("gather", "DD, gather path", "dd", 1),
    ("columns", "DD, apply_columns", "dd", 2),
    ("dd_grad", "DD, grad enabled", "dd", 3),
    ("global", "global, matched parameters", "global", 0),
    ("global_accuracy", "global, matched accuracy", "global", 1),
)
_GREY = role_style("reference")["color"]


def _plot(ax, n, t, label, **style):
    ok = np.isfinite(t) & (t > 0)
    if ok.any():
        ax.loglog(n[ok], t[ok], label=label, **style)


def performance_figure(rows: list[dict], fit=(1023, 65535), dimensions: dict | None = None):
    """Five panels from :func:`ddlib.benchmarks.scaling_benchmark` ``rows`` (1D, against n): (a) forward time per
    batch with the bmm ceiling, the direct solve and the fitted slope of DD over ``fit`` (a range of n); (b) forward
    time per unknown of DD attention's default path in 1D and in each dimension of ``dimensions`` (``{dim: rows of
    ddlib.benchmarks.dimension_scaling}``, fitted over :func:`ddlib.benchmarks.dimension_fit`); (c) forward+backward
    time; (d) trainable parameters; (e) peak memory."""
    n = column(rows, "n")
    fig, axes, _ = panel_grid(5, ncols=3, height=2.2)
    _forward_panel(axes[0], rows, n, fit)
    _dimensions_panel(axes[1], rows, fit, dimensions or {})
    _fwd_bwd_panel(axes[2], rows, n)
    _parameters_panel(axes[3], rows, n)
    _memory_panel(axes[4], rows, n)
    step = max(1, int(np.ceil(len(n) / 4)))  # 1D sizes are 2^p - 1: label every step-th tick by p
    for ax in (axes[0], *axes[2:5]):
        ax.set_xticks(n[::step], [f"$2^{{{int(np.log2(v + 1))}}}$" for v in n[::step]], minor=False)
        ax.set_xticks([], minor=True)
    legend_below(fig, axes, ncol=2)
    return finish(fig)


def race_figure(race: dict, status: dict | None = None):
    """(a) The training race (test error against wall-clock seconds, ``race`` as chapter 7 builds it around
    :func:`ddlib.benchmarks.race`); (b) per-notebook book build times, if ``status`` holds a build (the dict of
    ``tools/build_status.py``)."""
    has_status = status is not None and any(status.values())
    fig, axes, _ = panel_grid(1 + has_status, height=2.4)
    _race_panel(axes[0], race)
    if has_status:
        _build_panel(axes[1], status)
    legend_below(fig, axes, ncol=2)
    return finish(fig)


def _fit_line(ax, n, t, fit, label):
    sel = (n >= fit[0]) & (n <= fit[1]) & np.isfinite(t) & (t > 0)
    if np.unique(n[sel]).size >= 2:
        f = fit_exponent(n[sel], t[sel])
        ax.loglog(n[sel], f(n[sel]) * 0.5, color=role_style("dd")["color"], lw=0.8, alpha=0.7,
                  label=f"{label}: slope {f.exponent:.2f}")


def _forward_panel(ax, rows, n, fit):
    for key, label, role, variant in _SERIES:
        _plot(ax, n, column(rows, f"{key}_forward"), label, **role_style(role, variant))
    _plot(ax, n, column(rows, "bmm_forward"), "one torch.bmm, same FLOPs", color=_GREY, marker="x", ls="-")
    _plot(ax, n, column(rows, "bmm_forward") * column(rows, "dd_bytes") / column(rows, "bmm_bytes"),
          "bmm time × bytes ratio (traffic model)", color=_GREY, ls=":")
    _plot(ax, n, column(rows, "direct_solve"), "direct solve", color="black", marker="|", ls="-.")
    _fit_line(ax, n, column(rows, "dd_forward"), fit, "fit to DD (shifted down)")
    ax.set(title="(a) forward pass, 1D", xlabel="$n$", ylabel="seconds (median)")


def _dimensions_panel(ax, rows, fit, dimensions):
    """Seconds per unknown of the default forward pass: flat where the cost is linear in n."""
    series = {1: (rows, fit), **{int(d): (r, dimension_fit(r)) for d, r in dimensions.items()}}
    for k, (dim, (r, (lo, hi))) in enumerate(sorted(series.items())):
        n, t = column(r, "n"), column(r, "dd_forward")
        sel = (n >= lo) & (n <= hi) & np.isfinite(t)
        slope = f", slope {fit_exponent(n[sel], t[sel]).exponent:.2f}" if np.unique(n[sel]).size >= 2 else ""
        _plot(ax, n, t / n, f"DD, {dim}D{slope}", **role_style("dd", k))
    ax.set(title="(b) forward per unknown", xlabel="$n$", ylabel="seconds / n")


def _fwd_bwd_panel(ax, rows, n):
    for key, label, role, variant in _SERIES:
        _plot(ax, n, column(rows, f"{key}_fwd_bwd"), label, **role_style(role, variant))
    ax.set(title="(c) forward + backward", xlabel="$n$", ylabel="seconds (median)")


def _parameters_panel(ax, rows, n):
    _plot(ax, n, column(rows, "dd_params"), "DD attention", **role_style("dd"))
    _plot(ax, n, column(rows, "global_params_params"), "global, matched parameters", **role_style("global"))
    _plot(ax, n, column(rows, "global_accuracy_params"), "global, matched accuracy", **role_style("global", 1))
    ax.set(title="(d) trainable parameters", xlabel="$n$", ylabel="parameters")


def _memory_panel(ax, rows, n):
    for key, label in (("dd", "DD attention"), ("global", "global, matched parameters")):
        _plot(ax, n, column(rows, f"{key}_peak_bytes") / 2**20, label, **role_style(key))
    ax.set(title="(e) peak memory (RSS rise)", xlabel="$n$", ylabel="MiB")


def _race_panel(ax, race):
    for name, res in race["results"].items():
        s = np.asarray(res["history_seconds"], float)
        e = np.asarray(res["history_error"], float)
        ok = s > 0
        ax.loglog(s[ok], e[ok], ms=3, label=f"{'DD' if name == 'dd' else name} ({res['parameters']:,} parameters)",
                  **role_style("dd" if name == "dd" else "global"))
    ax.axhline(race["target"], color=_GREY, lw=0.8, ls="--", label=f"target {race['target']:g}")
    ax.set(title="(a) training race", xlabel="training seconds", ylabel="in-band test error")


def _build_panel(ax, status):
    names = sorted({r["notebook"] for s in status.values() if s for r in s["notebooks"]})
    y = np.arange(len(names))
    for j, (kind, color) in enumerate((("full", "#222222"), ("quick", "#999999"))):
        if status.get(kind):
            sec = {r["notebook"]: r["seconds"] for r in status[kind]["notebooks"]}
            ax.barh(y + 0.2 - 0.4 * j, [sec.get(nm, 0.0) for nm in names], height=0.4, color=color,
                    label=f"make book{' QUICK=1' if kind == 'quick' else ''} ({status[kind]['seconds']:.0f} s)")
    ax.set_yticks(y, [nm.split("/")[-1].replace(".ipynb", "").split("_")[0] for nm in names])
    ax.set(title="(b) book build", xlabel="seconds", ylabel="chapter")
