"""Figure F25: the optimizer's implicit bias (chapter "The optimizer's implicit bias"). Takes computed results
(:func:`ddlib.bias.init_scale_study`, :func:`ddlib.bias.optimizer_rows`), returns a figure in the book's style:
each model class in its role's colour and marker, Adam filled, heavy-ball gradient descent hollow, references grey."""
from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.lines import Line2D

from .style import finish, panel_grid, role_style

__all__ = ["optimizer_figure", "OPTIMIZER_VARIANT"]

#: The variant of a role's style (:func:`ddlib.plotting.style.role_style`) each optimizer is drawn with.
OPTIMIZER_VARIANT = {"adam": 0, "gd": 1, "lbfgs": 2}
_NAMES = {"adam": "Adam", "gd": "heavy-ball GD", "lbfgs": "L-BFGS"}
_REF = role_style("reference")["color"]


def _scale_panel(ax, scale_study: dict, role: str) -> None:
    """Off-span fraction against the initial scale, one line per optimizer, and a line proportional to the scale."""
    for opt, s in scale_study.items():
        ax.plot(s["scales"], s["off_span_fraction"], **role_style(role, OPTIMIZER_VARIANT.get(opt, 0)))
    gd = scale_study.get("gd", next(iter(scale_study.values())))
    x = np.asarray(gd["scales"], dtype=float)
    ax.plot(x, gd["off_span_fraction"][0] * x / x[0], "-", color=_REF, lw=0.8)  # proportional to s
    ax.set(xscale="log", yscale="log", xlabel="initial scale $s$", ylabel=r"$\|MP_\perp\|_2/\|M\|_2$",
           title="(a) off-span part against $s$")


def _grouped_panel(ax, rows: list[dict], key: str, references: dict, title: str, ylabel: str) -> None:
    """One tick per regime; beside it one marker per model and optimizer, with the references of each model as
    short grey bars."""
    regimes = list(dict.fromkeys(r["regime_label"] for r in rows))
    for j, regime in enumerate(regimes):
        mine = [r for r in rows if r["regime_label"] == regime]
        models = list(dict.fromkeys(r["model"] for r in mine))
        for m, model in enumerate(models):
            x0 = j + 0.36 * (m - (len(models) - 1) / 2)
            ours = [r for r in mine if r["model"] == model]
            for i, r in enumerate(ours):
                style = role_style(r["family"], OPTIMIZER_VARIANT.get(r["optimizer"], 0), line=False)
                ax.plot([x0 + 0.1 * (i - (len(ours) - 1) / 2)], [r[key]], ms=5, **style)
            for ref, ls in references.items():
                ax.hlines(ours[0][ref], x0 - 0.15, x0 + 0.15, colors=_REF, linestyles=ls, lw=1.2)
    ax.set_yscale("log")
    ax.set_xlim(-0.6, len(regimes) - 0.4)
    ax.set_xticks(range(len(regimes)), ["\n".join(textwrap.wrap(r, 6)) for r in regimes])
    ax.grid(False, axis="x")
    ax.set(title=title, ylabel=ylabel)


def _legend_handles(rows: list[dict], references: dict) -> list:
    models = {r["model"]: r["family"] for r in rows}
    handles = [Line2D([], [], label=m, **role_style(f, line=False)) for m, f in models.items()]
    handles += [Line2D([], [], label=_NAMES.get(o, o), **role_style("reference", OPTIMIZER_VARIANT.get(o, 0),
                                                                    line=False) | {"marker": "o"})
                for o in dict.fromkeys(r["optimizer"] for r in rows)]
    handles += [Line2D([], [], ls=ls, color=_REF, lw=1.2, label=name) for ls, name in references.values()]
    return handles


def optimizer_figure(scale_study: dict, rows: list[dict], model: str):
    """F25: (a) the off-span fraction of the global model ``model`` against its initial scale per optimizer
    (:func:`ddlib.bias.init_scale_study`); (b) the operator error of every tuned model of
    :func:`ddlib.bias.optimizer_rows`, per regime, model and optimizer, with the minimum-norm fit on the span
    (dashed) and the class's oracle (dotted); (c) their off-span fractions, with that of :math:`A^{-1}` (dashed: what
    the data leave undetermined)."""
    fig, (a, b, c), _ = panel_grid(3, height=2.3)
    _scale_panel(a, scale_study, "global")
    _grouped_panel(b, rows, "operator_error", {"min_norm": "--", "oracle": ":"}, "(b) operator error",
                   r"$\|M-A^{-1}\|_2/\|A^{-1}\|_2$")
    _grouped_panel(c, rows, "off_span_fraction", {"undetermined": "-."}, "(c) off-span part",
                   r"$\|MP_\perp\|_2/\|M\|_2$")
    refs = {"min_norm": ("--", "minimum-norm fit on the span"), "oracle": (":", "class oracle"),
            "undetermined": ("-.", r"$A^{-1}$ (undetermined part)")}
    handles = _legend_handles(rows, refs)
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return finish(fig)
