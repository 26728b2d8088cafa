"""Figures F5-F8, F13, F14: approximation theory, training curves, accuracy against parameters, learned operators,
tuning sensitivity, time to target (chapters 3 and 4). Every function takes computed results and returns a figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS

__all__ = ["approximation_figure", "training_curves_figure", "pareto_figure", "learned_operators_figure",
           "sensitivity_figure", "time_to_target_figure"]

_DD_SHADES = ("#1b9e77", "#117a5c", "#66c2a5", "#0b4f3c")
_SET_STYLE = {"error_in_band": ("in-band test", "-"), "error_out_of_band": ("out-of-band test", "--"),
              "error_noise": ("white noise", "-."), "error_point_loads": ("point loads", ":"),
              "operator_error": (r"operator $\|M^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$", "-")}


def approximation_figure(sv_closed, sv_computed, global_front: dict, dd_fronts: list[dict], trap=None):
    """F5: (a) singular values of A^{-1}; (b) best error against parameters, both classes, with the closed-form
    rates; (c) optionally the data trap: ``trap = {"label": str, "curves": {metric: (epochs, mean, lo, hi)}}``."""
    ncols = 3 if trap else 2
    fig, axes = plt.subplots(1, ncols, figsize=(4.1 * ncols, 3.6))
    ax = axes[0]
    k = np.arange(1, len(sv_closed) + 1)
    ax.loglog(k, sv_computed / sv_computed[0], "o", ms=2.5, color=COLORS["other"], label="computed (SVD)")
    ax.loglog(k, sv_closed / sv_closed[0], "-", lw=1, color=COLORS["exact"], label=r"$\lambda_1/\lambda_k$")
    ax.set(title=r"(a) singular values of $A^{-1}$ (relative)", xlabel="$k$", ylabel=r"$\sigma_k/\sigma_1$")
    ax.legend()

    ax = axes[1]
    ax.loglog(global_front["params"], global_front["error"], "o-", ms=3, color=COLORS["global"],
              label="global rank $r$: truncated SVD")
    ax.loglog(global_front["params"], global_front["rate"], ":", color=COLORS["global"], lw=1,
              label="$1/(r+1)^2$")
    for front, c in zip(dd_fronts, _DD_SHADES):
        ok = front["error"] > 0
        ax.loglog(front["params"][ok], front["error"][ok], "s-", ms=3, color=c,
                  label=f"DD oracle $N={front['N']}$, $\\delta={front['delta']}$")
        ax.loglog(front["params"][ok], front["rate"][ok], ":", color=c, lw=1)
    ax.set(title="(b) best error against parameters", xlabel="parameters",
           ylabel=r"$\|M^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$")
    ax.legend(fontsize=7)

    if trap:
        ax = axes[2]
        for metric, (x, mean, lo, hi) in trap["curves"].items():
            name, ls = _SET_STYLE[metric]
            line, = ax.loglog(np.maximum(x, 1), mean, ls, label=name)
            ax.fill_between(np.maximum(x, 1), lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        ax.axhline(1.0, color=COLORS["exact"], lw=0.8)
        ax.set(title=f"(c) the data trap: {trap['label']}", xlabel="epoch", ylabel="relative error")
        ax.legend(fontsize=7)
    return fig


def training_curves_figure(curves: dict, target: float):
    """F6: ``curves = {label: {"kind": "global"|"dd", "epoch": band, "seconds": band, "operator": band}}`` where a
    band is ``(x, mean, lo, hi)`` over seeds; in-band test error against epochs and seconds, operator error."""
    fig, axes = plt.subplots(1, 3, figsize=(12.3, 3.6))
    shades = {"global": iter(("#d95f02", "#a6430a", "#fc8d62")), "dd": iter(_DD_SHADES)}
    for label, c in curves.items():
        color = next(shades[c["kind"]])
        for ax, key in zip(axes, ("epoch", "seconds", "operator")):
            x, mean, lo, hi = c[key]
            x = np.maximum(x, 1) if key != "seconds" else x
            ax.loglog(x, mean, color=color, label=label)
            ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)
    for ax in axes[:2]:
        ax.axhline(target, color=COLORS["exact"], lw=0.8, ls="--", label=f"target {target:.3g}")
    axes[0].set(title="(a) in-band test error against epochs", xlabel="epoch", ylabel="relative $L^2$ error")
    axes[1].set(title="(b) in-band test error against seconds", xlabel="training seconds")
    axes[2].set(title="(c) operator error against epochs", xlabel="epoch",
                ylabel=r"$\|M_\theta^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$")
    axes[0].legend(fontsize=7)
    return fig


def pareto_figure(table: dict, global_front: dict, dd_fronts: list[dict], highlight=()):
    """F7: final errors (seed mean, min-max bars) against parameters for every trained model; the oracle curves of
    F5 on the operator-error panel. ``table`` is :func:`ddlib.experiments.summary_table`; ``highlight`` indexes."""
    metrics = ("error_in_band", "error_out_of_band", "operator_error")
    titles = ("(a) in-band test error", "(b) out-of-band test error", "(c) operator error")
    fig, axes = plt.subplots(1, 3, figsize=(12.3, 3.8))
    kinds = np.asarray(table["family"])
    for ax, m, title in zip(axes, metrics, titles):
        for kind, color, marker, name in (("global", COLORS["global"], "o", "global (trained)"),
                                          ("dd", COLORS["dd"], "s", "DD (trained)")):
            sel = kinds == kind
            x = table["params"][sel]
            y, lo, hi = table[f"{m}_mean"][sel], table[f"{m}_min"][sel], table[f"{m}_max"][sel]
            ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt=marker, ms=4, color=color, capsize=2, label=name, lw=1)
        for i in highlight:
            ax.plot(table["params"][i], table[f"{m}_mean"][i], "*", ms=13, mfc="none", color=COLORS["exact"],
                    label="headline" if i == highlight[0] else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set(title=title, xlabel="parameters")
    ax = axes[2]
    ax.plot(global_front["params"], global_front["error"], "-", color=COLORS["global"], lw=1,
            label="global oracle (SVD)")
    for front, c in zip(dd_fronts, _DD_SHADES):
        ok = front["error"] > 0
        ax.plot(front["params"][ok], front["error"][ok], "-", color=c, lw=1,
                label=f"DD oracle $N={front['N']}$")
    axes[0].set_ylabel("relative error (seed mean, min-max)")
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    return fig


def learned_operators_figure(Ainv, M_dd, M_global, block_learned, block_exact, labels=("DD", "global"),
                             block_title="local block"):
    """F8: A^{-1}, the learned DD operator and its error, the learned global operator's error; one learned local
    block beside the exact local inverse and their difference."""
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.4))
    vmax = np.abs(Ainv).max()
    panels = [(Ainv, r"(a) $A^{-1}$", "viridis", (0, vmax)),
              (M_dd, f"(b) learned $M_\\theta^{{-1}}$, {labels[0]}", "viridis", (0, vmax)),
              (M_dd - Ainv, f"(c) {labels[0]}: $M_\\theta^{{-1}}-A^{{-1}}$", "RdBu_r", None),
              (M_global - Ainv, f"(d) {labels[1]}: $M_\\theta^{{-1}}-A^{{-1}}$", "RdBu_r", None)]
    bmax = max(np.abs(block_exact).max(), np.abs(block_learned).max())  # one scale for (e) and (f), no clipping
    panels += [(block_exact, f"(e) exact {block_title}", "viridis", (0, bmax)),
               (block_learned, f"(f) learned {block_title}", "viridis", (0, bmax)),
               (block_learned - block_exact, "(g) learned - exact", "RdBu_r", None)]
    for ax, (M, title, cmap, lim) in zip(axes.flat, panels):
        if lim is None:
            v = np.abs(M).max() or 1.0
            lim = (-v, v)
        im = ax.imshow(M, cmap=cmap, vmin=lim[0], vmax=lim[1])
        fig.colorbar(im, ax=ax, shrink=0.75)
        ax.set_title(title, fontsize=8)
        ax.grid(False)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes.flat[7]
    j = M_dd.shape[0] // 3
    x = np.arange(1, M_dd.shape[0] + 1) / (M_dd.shape[0] + 1)
    ax.plot(x, Ainv[:, j], color=COLORS["exact"], lw=2, label="$A^{-1}$ column")
    ax.plot(x, M_dd[:, j], color=COLORS["dd"], lw=1, label=labels[0])
    ax.plot(x, M_global[:, j], color=COLORS["global"], lw=1, label=labels[1])
    ax.set(title=f"(h) column at $x = {x[j]:.2f}$ (a point load)", xlabel="$x$")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    return fig


def sensitivity_figure(selections, grid: dict):
    """F13: each model's final validation error over the knob grid (one heat map per model and schedule, one colour
    scale per model), the chosen point boxed, diverged runs blank. ``selections`` are
    :class:`ddlib.experiments.Selection` (their ``grid`` rows)."""
    lrs, inits = sorted(grid["lr"]), sorted(grid["init_scale"])
    schedules = list(grid.get("schedule", [None]))
    rows, cols = len(selections), len(schedules)
    fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols + 1.2, 2.1 * rows), squeeze=False)
    for i, sel in enumerate(selections):
        vals = np.log10([r["error_validation"] for r in sel.grid if np.isfinite(r["error_validation"])])
        for j, sched in enumerate(schedules):
            Z = np.full((len(inits), len(lrs)), np.nan)
            for r in sel.grid:
                if (sched is None or r.get("schedule") == sched) and np.isfinite(r["error_validation"]):
                    Z[inits.index(r["init_scale"]), lrs.index(r["lr"])] = np.log10(r["error_validation"])
            ax = axes[i, j]
            im = ax.imshow(Z, origin="lower", cmap="viridis_r", vmin=vals.min(), vmax=vals.max(), aspect="auto")
            if sched is None or sel.chosen.get("schedule") == sched:
                ax.add_patch(plt.Rectangle((lrs.index(sel.chosen["lr"]) - 0.5, inits.index(sel.chosen["init_scale"])
                                            - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
            ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs], fontsize=6)
            ax.set_yticks(range(len(inits)), [f"{v:g}" for v in inits], fontsize=6)
            ax.grid(False)
            ax.set_title(f"{sel.label}" + (f", {sched}" if sched else ""), fontsize=7)
            if i == rows - 1:
                ax.set_xlabel("learning rate")
            if j == 0:
                ax.set_ylabel("initial scale")
        fig.colorbar(im, ax=list(axes[i]), shrink=0.9, label=r"$\log_{10}$ validation error")
    return fig


def time_to_target_figure(curves: dict):
    """F14: epochs (a) and seconds (b) to reach each in-band target, seed mean with min-max bars, per model.
    ``curves = {label: (family, time_to_target_curve record)}``."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    shades = {"global": iter(("#d95f02", "#a6430a", "#fc8d62")), "dd": iter(_DD_SHADES)}
    for label, (family, c) in curves.items():
        color = next(shades[family])
        for ax, x in zip(axes, ("epochs", "seconds")):
            mean = c[f"{x}_mean"]
            ok = np.isfinite(mean)
            err = np.vstack([mean - c[f"{x}_min"], c[f"{x}_max"] - mean])[:, ok]
            ax.errorbar(c["targets"][ok], mean[ok], yerr=err, fmt="o-", ms=3, lw=1, capsize=2, color=color,
                        label=label)
    for ax, x in zip(axes, ("epochs", "seconds")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set(xlabel="in-band test error target", ylabel=f"{x} to reach it")
    axes[0].set_title("(a) epochs to target (missing: some seed never reaches it)")
    axes[1].set_title("(b) training seconds to target")
    axes[0].legend(fontsize=7)
    return fig
