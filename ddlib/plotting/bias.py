"""Figure F21: the optimizer's implicit bias (chapter "The optimizer decides"). Takes computed results, returns a
figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from .style import COLORS

__all__ = ["optimizer_figure"]

_MARKERS = {"adam": "o", "gd": "s", "lbfgs": "^"}
_NAMES = {"adam": "Adam", "gd": "heavy-ball GD", "lbfgs": "L-BFGS"}


def _scale_panel(ax, scale_study: dict, model: str) -> None:
    for (opt, s), ls in zip(scale_study.items(), ("-", "--", "-.")):
        ax.loglog(s["scales"], s["off_span_fraction"], ls, marker=_MARKERS.get(opt, "o"), ms=4, color=COLORS["global"],
                  label=f"{_NAMES.get(opt, opt)} (slope {s['slope']:.2f})")
    first = next(iter(scale_study.values()))
    x = np.asarray(first["scales"])
    gd = scale_study.get("gd", first)
    ax.loglog(x, gd["off_span_fraction"][0] * x / x[0], ":", color=COLORS["exact"], lw=0.8,
              label="proportional to the scale")
    ax.set(title=f"(a) {model}: off the span against the initial scale", xlabel="initial scale s",
           ylabel=r"off-span fraction $\|MP_\perp\|_2/\|M\|_2$")
    ax.legend(fontsize=7)


def _grouped_panel(ax, rows: list[dict], key: str, references: dict, title: str, ylabel: str) -> None:
    """One column per regime and model; a marker per optimizer; short horizontal references per column."""
    groups = list(dict.fromkeys((r["regime_label"], r["model"]) for r in rows))
    for j, (regime, model) in enumerate(groups):
        mine = [r for r in rows if (r["regime_label"], r["model"]) == (regime, model)]
        for i, r in enumerate(mine):
            ax.plot([j + 0.15 * (i - (len(mine) - 1) / 2)], [r[key]], linestyle="none",
                    marker=_MARKERS.get(r["optimizer"], "o"), ms=5, color=COLORS[r["family"]],
                    label=f"{r['model']}, {_NAMES.get(r['optimizer'], r['optimizer'])}, {regime}")
        for ref, (style, name) in references.items():
            ax.plot([j - 0.3, j + 0.3], [mine[0][ref]] * 2, style, color=COLORS["exact"], lw=1,
                    label=f"{name}, {model}, {regime}")
    optimizers = dict.fromkeys(r["optimizer"] for r in rows)
    handles = [Line2D([], [], linestyle="none", marker=_MARKERS.get(o, "o"), color=COLORS["other"],
                      label=_NAMES.get(o, o)) for o in optimizers]
    handles += [Line2D([], [], linestyle=style, color=COLORS["exact"], lw=1, label=name)
                for style, name in references.values()]
    ax.legend(handles=handles, fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), [f"{m}\n{g}" for g, m in groups], fontsize=6)
    ax.set(title=title, ylabel=ylabel)


def optimizer_figure(scale_study: dict, rows: list[dict], model: str):
    """F21: (a) the off-span fraction of ``model`` (global) against its initial scale per optimizer
    (:func:`ddlib.bias.init_scale_study`); (b) the operator error of every tuned model of
    :func:`ddlib.bias.optimizer_rows`, per regime and optimizer, with the minimum-norm operator on the span and the
    class's oracle; (c) their off-span fractions, with that of :math:`A^{-1}` (what the data leave undetermined)."""
    fig, axes = plt.subplots(1, 3, figsize=(13.0, 3.9))
    _scale_panel(axes[0], scale_study, model)
    _grouped_panel(axes[1], rows, "operator_error", {"min_norm": ("--", "minimum-norm fit on the span"),
                                                     "oracle": (":", "class oracle")},
                   "(b) operator error after tuning", r"$\|M-A^{-1}\|_2/\|A^{-1}\|_2$")
    _grouped_panel(axes[2], rows, "off_span_fraction", {"undetermined": ("--", r"$A^{-1}$ (undetermined part)")},
                   "(c) off-span fraction after tuning", r"$\|MP_\perp\|_2/\|M\|_2$")
    return fig
