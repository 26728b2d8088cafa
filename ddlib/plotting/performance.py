"""Figures of chapter 7: cost and parameters against n, DD against global attention, with the bmm and banded-solve
anchors; the training race and the book's build times."""
from __future__ import annotations

import numpy as np

from ..benchmarks import column
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


def performance_figure(rows: list[dict], fit_range=(10, 16)):
    """Four panels against n from :func:`ddlib.benchmarks.scaling_benchmark` ``rows``: (a) forward time per batch
    with the bmm ceiling, the banded solve and the fitted slope of DD; (b) forward+backward time; (c) trainable
    parameters; (d) peak memory."""
    n = column(rows, "n")
    p = column(rows, "p")
    fig, axes, _ = panel_grid(4, ncols=2, height=2.2)
    _forward_panel(axes[0], rows, n, p, fit_range)
    _fwd_bwd_panel(axes[1], rows, n)
    _parameters_panel(axes[2], rows, n)
    _memory_panel(axes[3], rows, n)
    step = max(1, int(np.ceil(len(n) / 5)))  # sizes are 2^p - 1: label every step-th tick by p
    for ax in axes:
        ax.set_xticks(n[::step], [f"$2^{{{int(q)}}}$" for q in p[::step]], minor=False)
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


def _forward_panel(ax, rows, n, p, fit_range):
    for key, label, role, variant in _SERIES:
        _plot(ax, n, column(rows, f"{key}_forward"), label, **role_style(role, variant))
    _plot(ax, n, column(rows, "bmm_forward"), "one torch.bmm, same FLOPs", color=_GREY, marker="x", ls="-")
    _plot(ax, n, column(rows, "bmm_forward") * column(rows, "dd_bytes") / column(rows, "bmm_bytes"),
          "bmm time × bytes ratio (traffic model)", color=_GREY, ls=":")
    _plot(ax, n, column(rows, "banded_solve"), "banded direct solve", color="black", marker="|", ls="-.")
    t = column(rows, "dd_forward")
    sel = (p >= fit_range[0]) & (p <= fit_range[1]) & np.isfinite(t)
    if sel.sum() >= 2:
        fit = fit_exponent(n[sel], t[sel])
        ax.loglog(n[sel], fit(n[sel]) * 0.5, color=role_style("dd")["color"], lw=0.8, alpha=0.7,
                  label=f"fit to DD: slope {fit.exponent:.2f} (shifted down)")
    ax.set(title="(a) forward pass", xlabel="$n$", ylabel="seconds (median)")


def _fwd_bwd_panel(ax, rows, n):
    for key, label, role, variant in _SERIES:
        _plot(ax, n, column(rows, f"{key}_fwd_bwd"), label, **role_style(role, variant))
    ax.set(title="(b) forward + backward", xlabel="$n$", ylabel="seconds (median)")


def _parameters_panel(ax, rows, n):
    _plot(ax, n, column(rows, "dd_params"), "DD attention", **role_style("dd"))
    _plot(ax, n, column(rows, "global_params_params"), "global, matched parameters", **role_style("global"))
    _plot(ax, n, column(rows, "global_accuracy_params"), "global, matched accuracy", **role_style("global", 1))
    ax.set(title="(c) trainable parameters", xlabel="$n$", ylabel="parameters")


def _memory_panel(ax, rows, n):
    for key, label in (("dd", "DD attention"), ("global", "global, matched parameters")):
        _plot(ax, n, column(rows, f"{key}_peak_bytes") / 2**20, label, **role_style(key))
    ax.set(title="(d) peak memory (RSS rise)", xlabel="$n$", ylabel="MiB")


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
