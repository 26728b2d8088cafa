"""Figures of chapter 5: generalisation per Fourier mode (F9), ablations (F10), the regime map (F15) and its
samples x data slice (F16)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS

__all__ = ["generalisation_figure", "ablation_figure", "regime_map_figure", "slice_figure"]

_SET_LABELS = {"in_band": "in band", "out_of_band": "out of band", "noise": "white noise", "point_loads": "point loads"}


def _floor(v, floor=1e-17):
    return np.maximum(np.asarray(v, dtype=float), floor)


def generalisation_figure(study: dict):
    r"""F9 from :func:`ddlib.generalisation.generalisation_study`: per-mode errors (one panel per training set) and
    the errors on the held-out sets. The per-mode panels draw the mean of :math:`e_{\mathbf k}` over each shell
    :math:`\max_j k_j = k` (in 1D the shell is the one mode ``k``)."""
    runs, K = study["runs"], study["K"]
    k, shell = np.unique(study["level"], return_inverse=True)
    count = np.bincount(shell)

    def by_shell(e):
        return np.bincount(shell, weights=np.asarray(e, dtype=float)) / count

    trainings = list(dict.fromkeys(r["training"] for r in runs))
    labels = list(dict.fromkeys(r["label"] for r in runs))
    fig, axes = plt.subplots(1, len(trainings) + 1, figsize=(4.0 * (len(trainings) + 1), 3.4))
    colors = [COLORS["global"] if "global" in lab else COLORS["dd"] for lab in labels]
    for i, (ax, tr) in enumerate(zip(axes, trainings)):
        ax.axvspan(0.9, K + 0.5, color="0.85", lw=0, label=f"band 1..{K}")
        ax.axvspan(K + 0.5, 2 * K + 0.5, color="0.93", lw=0, label=f"out of band {K + 1}..{2 * K}")
        for lab, c in zip(labels, colors):
            r = next(x for x in runs if x["label"] == lab and x["training"] == tr)
            ax.semilogy(k, _floor(by_shell(r["mode_errors"])), color=c, lw=1, label=f"{lab} ({r['params']} par.)")
        ax.semilogy(k, _floor(by_shell(study["exact"])), color=COLORS["exact"], lw=1, ls=":", label=r"exact $A^{-1}$")
        ax.set_xscale("log")
        ax.set_xlabel("mode $k$")
        ax.set_ylabel(r"relative error $e_k$")
        ax.set_title(f"({chr(97 + i)}) trained on " + ("the Fourier band" if tr == "fourier" else "white noise"))
        ax.legend(loc="lower left", fontsize=7)
    ax = axes[-1]
    names = list(_SET_LABELS)
    width = 0.8 / (len(labels) * len(trainings))
    j = 0
    for lab, c in zip(labels, colors):
        for tr in trainings:
            r = next(x for x in runs if x["label"] == lab and x["training"] == tr)
            ax.bar(np.arange(len(names)) + (j - (len(labels) * len(trainings) - 1) / 2) * width,
                   [r["sets"][s] for s in names], width, color=c, alpha=1.0 if tr == "fourier" else 0.45,
                   hatch=None if tr == "fourier" else "//", edgecolor="white",
                   label=f"{lab}, {'Fourier' if tr == 'fourier' else 'noise'}-trained")
            j += 1
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)), [_SET_LABELS[s] for s in names])
    ax.set_ylabel("mean relative error")
    ax.set_title(f"({chr(97 + len(trainings))}) held-out test sets")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    return fig


def ablation_figure(rows: list[dict]):
    """F10 from :func:`ddlib.ablations.run_ablations`: errors per configuration (seed range as error bars) and the
    operator error against the parameter count."""
    labels = [r["label"] for r in rows]
    y = np.arange(len(rows))[::-1]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 0.32 * len(rows) + 1.8), gridspec_kw={"width_ratios": [1.6, 1]})
    metrics = [("error_in_band", "in band", COLORS["dd"]), ("error_out_of_band", "out of band", COLORS["global"]),
               ("error_noise", "white noise", COLORS["classical"]), ("operator_error", r"$\|M-A^{-1}\|/\|A^{-1}\|$",
                                                                        COLORS["exact"])]
    h = 0.8 / len(metrics)
    for j, (key, name, c) in enumerate(metrics):
        mean = np.array([r[f"{key}_mean"] for r in rows])
        lo = mean - np.array([r[f"{key}_min"] for r in rows])
        hi = np.array([r[f"{key}_max"] for r in rows]) - mean
        ax.barh(y + (len(metrics) / 2 - j - 0.5) * h, mean, h, xerr=[lo, hi], color=c, label=name,
                error_kw=dict(lw=0.6))
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{lab} ({r['params']})" for lab, r in zip(labels, rows)])
    ax.set_xlabel("relative error (mean over seeds; bars: range)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=4)
    ax.set_title("(a) errors per configuration")
    order = sorted(rows, key=lambda r: r["operator_error_mean"])
    ly = np.log10([r["operator_error_mean"] for r in order])
    gap = 0.055 * max(ly[-1] - ly[0], 1.0)  # labels in a column right of the points, at least this far apart
    for k in range(1, len(ly)):
        ly[k] = max(ly[k], ly[k - 1] + gap)
    xt = 1.8 * max(r["params"] for r in rows)
    for r, yl in zip(order, ly):
        c = COLORS["global"] if r["spec"].family == "banded" else (
            COLORS["exact"] if r["label"] == "baseline" else COLORS["dd"])
        ax2.loglog(r["params"], r["operator_error_mean"], "o", color=c)
        ax2.annotate(r["label"], (r["params"], r["operator_error_mean"]), xytext=(xt, 10.0**yl), fontsize=6,
                     va="center", arrowprops=dict(arrowstyle="-", lw=0.4, color="0.5"))
    ax2.set_xlim(right=6 * xt)
    ax2.set_xlabel("parameters")
    ax2.set_ylabel("operator error")
    ax2.set_title("(b) operator error against parameters")
    return fig


_AXIS_X = {"n_fixed_N": ("n", "$n$ (fixed $N$)"), "n_fixed_H": ("n", "$n$ (fixed $H/h$)"),
           "samples": ("samples", "training samples $S$"), "K": ("K", "band $K$"), "data": ("data", "data kind"),
           "N": ("N", "subdomains $N$")}
_METRIC_NAME = {"error_in_band": "in-band", "error_out_of_band": "out-of-band", "error_noise": "white noise",
                "error_point_loads": "point loads", "operator_error": "operator"}


def regime_map_figure(rows: list[dict], metrics, base: dict):
    """F15: per axis (columns) and metric (rows), the best global and the best DD model within the smallest and the
    largest parameter budget, both multiples of ``n`` (dashed and solid; bars: seed range), against the axis value;
    the base regime is part of every axis. ``rows`` are :func:`ddlib.regimes.budget_rows` records, ``base`` the base
    regime's record."""
    axes_present = [a for a in _AXIS_X if any(r["axis"] == a for r in rows)]
    factor = lambda r: int(round(r["params_budget"] / r["n"]))  # noqa: E731  (budgets are multiples of n)
    budgets = sorted({factor(r) for r in rows})
    fig, axes = plt.subplots(len(metrics), len(axes_present), figsize=(2.3 * len(axes_present), 2.0 * len(metrics)),
                             squeeze=False, sharey="row")
    for j, axis in enumerate(axes_present):
        key, xlabel = _AXIS_X[axis]
        pts = [r for r in rows if r["axis"] in (axis, "base") and all(
            r[k] == base[k] for k in ("n", "N", "K", "samples", "data") if k != key and not (
                axis == "n_fixed_H" and k == "N"))]
        xs = sorted({r[key] for r in pts}, key=lambda v: (isinstance(v, str), v))
        for i, metric in enumerate(metrics):
            ax = axes[i, j]
            for fam, color in (("global", COLORS["global"]), ("dd", COLORS["dd"])):
                for b, ls in ((budgets[0], "--"), (budgets[-1], "-")):
                    sel = {r[key]: r for r in pts if r["metric"] == metric and factor(r) == b}
                    xv = [x for x in xs if x in sel and np.isfinite(sel[x][f"best_{fam}"])]
                    y = np.array([sel[x][f"best_{fam}"] for x in xv])
                    lo = y - np.array([sel[x][f"best_{fam}_min"] for x in xv])
                    hi = np.array([sel[x][f"best_{fam}_max"] for x in xv]) - y
                    pos = [xs.index(x) for x in xv]
                    ax.errorbar(pos, y, yerr=[lo, hi], fmt="o" + ls, ms=3, lw=1, capsize=1.5, color=color,
                                label=f"{fam}, P ≤ {b}n" if (i, j) == (0, 0) else None)
            ax.set_yscale("log")
            ax.set_xticks(range(len(xs)), [str(x) for x in xs], fontsize=6)
            if i == len(metrics) - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(f"{_METRIC_NAME[metric]} error")
    axes[0, 0].legend(fontsize=5)
    return fig


def slice_figure(rows: list[dict], metrics):
    """F16: the samples x data slice, :math:`\\log_{10}` of best global over best DD error at the largest budget
    (positive: DD more accurate), one heat map per metric."""
    sl = [r for r in rows if r["axis"] in ("slice", "samples", "base", "data")]
    budget = max(r["params_budget"] for r in sl)
    samples = sorted({r["samples"] for r in sl if r["axis"] == "slice"})
    kinds = sorted({r["data"] for r in sl if r["axis"] == "slice"} | {"fourier"})
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        Z = np.full((len(kinds), len(samples)), np.nan)
        for r in sl:
            if r["metric"] == metric and r["params_budget"] == budget and r["samples"] in samples \
                    and r["data"] in kinds and r["K"] == sl[0]["K"]:
                Z[kinds.index(r["data"]), samples.index(r["samples"])] = np.log10(r["best_global"] / r["best_dd"])
        lim = np.nanmax(np.abs(Z)) if np.isfinite(Z).any() else 1.0
        im = ax.imshow(Z, cmap="PiYG", vmin=-lim, vmax=lim, origin="lower", aspect="auto")
        for (a, b), v in np.ndenumerate(Z):
            if np.isfinite(v):
                ax.text(b, a, f"{v:+.1f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(samples)), samples)
        ax.set_yticks(range(len(kinds)), kinds)
        ax.grid(False)
        ax.set(xlabel="training samples $S$", title=f"{_METRIC_NAME[metric]} error")
        fig.colorbar(im, ax=ax, shrink=0.8, label=r"$\log_{10}$(global / DD)")
    return fig
