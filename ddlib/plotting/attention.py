"""Figures of chapters 3 and 4: approximation theory, training curves, accuracy against parameters, learned operators,
tuning sensitivity, time to target. Every function takes computed results and returns a figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import finish, legend_below, legend_panel, panel_grid, role_style
from ..training import OPTIMIZER_NAMES

__all__ = ["approximation_figure", "training_curves_figure", "pareto_figure", "learned_operators_figure",
           "sensitivity_figure", "time_to_target_figure"]

#: Line style of each test set in the data-trap panel (colours: the grey default cycle, no role).
_SET_STYLE = {"error_in_band": ("in-band test", "-", "black"), "error_out_of_band": ("out-of-band test", "--", "#555555"),
              "error_noise": ("white noise", "-.", "#555555"), "error_point_loads": ("point loads", ":", "#999999"),
              "operator_error": (r"operator error", "-", "#999999")}


def _oracle_lines(ax, global_front: dict, dd_fronts: list[dict], with_rates: bool) -> None:
    """The best errors of both classes against parameters: the global truncated SVD (solid) and the DD Schwarz
    oracles (dashed variants), all in the oracle style; with ``with_rates`` their closed-form rates, dotted grey."""
    st = role_style("oracle", 0)
    ax.loglog(global_front["params"], global_front["error"], ms=3, label="global: truncated SVD", **st)
    ref = role_style("reference")["color"]
    if with_rates:
        ax.loglog(global_front["params"], global_front["rate"], ":", color=ref, lw=1, label="closed-form rates")
    for k, front in enumerate(dd_fronts, start=1):
        ok = front["error"] > 0
        ax.loglog(front["params"][ok], front["error"][ok], ms=3, label=f"DD oracle, $N={front['N']}$",
                  **role_style("oracle", k))
        if with_rates:
            ax.loglog(front["params"][ok], front["rate"][ok], ":", color=ref, lw=1)


def approximation_figure(sv_closed, sv_computed, global_front: dict, dd_fronts: list[dict], trap=None):
    """(a) singular values of A^{-1}; (b) best error against parameters, both classes, with the closed-form
    rates; (c) optionally the data trap: ``trap = {"label": str, "curves": {metric: (epochs, mean, lo, hi)}}``."""
    fig, axes, _ = panel_grid(3 if trap else 2, height=2.3)
    ax = axes[0]
    k = np.arange(1, len(sv_closed) + 1)
    ref = role_style("reference")["color"]
    ax.loglog(k, sv_computed / sv_computed[0], "o", ms=2.5, mfc="none", color=ref, label="computed (SVD)")
    ax.loglog(k, sv_closed / sv_closed[0], "-", lw=1, color="black", label=r"$\lambda_1/\lambda_k$")
    ax.set(title=r"(a) singular values", xlabel="$k$", ylabel=r"$\sigma_k/\sigma_1$")
    _oracle_lines(axes[1], global_front, dd_fronts, with_rates=True)
    axes[1].set(title="(b) best error", xlabel="parameters", ylabel=r"$\|M^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$")
    if trap:
        ax = axes[2]
        for metric, (x, mean, lo, hi) in trap["curves"].items():
            name, ls, color = _SET_STYLE[metric]
            ax.loglog(np.maximum(x, 1), mean, ls=ls, color=color, label=name)
            ax.fill_between(np.maximum(x, 1), lo, hi, color=color, alpha=0.15, lw=0)
        ax.axhline(1.0, color=ref, lw=0.8)
        ax.set(title="(c) the data trap", xlabel="epoch", ylabel="relative error")
    legend_below(fig, axes, ncol=3)
    return finish(fig)


def _variants(curves: dict) -> dict:
    """``label -> role_style`` for models given as ``label -> family``: the k-th model of a family its k-th variant."""
    seen: dict = {}
    out = {}
    for label, family in curves.items():
        out[label] = role_style(family, seen.get(family, 0))
        seen[family] = seen.get(family, 0) + 1
    return out


def training_curves_figure(curves: dict, target: float):
    """``curves = {label: {"kind": "global"|"dd", "epoch": band, "seconds": band, "operator": band}}`` where a
    band is ``(x, mean, lo, hi)`` over seeds; in-band test error against epochs and seconds, operator error."""
    fig, axes, _ = panel_grid(3, height=2.2)
    styles = _variants({label: c["kind"] for label, c in curves.items()})
    for label, c in curves.items():
        st = styles[label]
        for ax, key in zip(axes, ("epoch", "seconds", "operator")):
            x, mean, lo, hi = c[key]
            x = np.maximum(x, 1) if key != "seconds" else x
            ax.loglog(x, mean, color=st["color"], ls=st["ls"], label=label)
            ax.fill_between(x, lo, hi, color=st["color"], alpha=0.15, lw=0)
    for ax in axes[:2]:
        ax.axhline(target, color=role_style("reference")["color"], lw=0.8, ls="--", label=f"target {target:.3g}")
    axes[0].set(title="(a) against epochs", xlabel="epoch", ylabel="in-band test error")
    axes[1].set(title="(b) against seconds", xlabel="training seconds")
    axes[2].set(title="(c) operator error", xlabel="epoch", ylabel=r"$\|M_\theta^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$")
    legend_below(fig, axes, ncol=3)
    return finish(fig)


def pareto_figure(table: dict, global_front: dict, dd_fronts: list[dict], highlight=()):
    """Final errors (seed mean, min-max bars) against parameters for every trained model; the oracle curves on the
    operator-error panel. ``table`` is :func:`ddlib.experiments.summary_table`; ``highlight`` indexes."""
    metrics = ("error_in_band", "error_out_of_band", "operator_error")
    titles = ("(a) in-band test", "(b) out-of-band test", "(c) operator")
    fig, axes, _ = panel_grid(3, height=2.3)
    kinds = np.asarray(table["family"])
    for ax, m, title in zip(axes, metrics, titles):
        for kind, name in (("global", "global (trained)"), ("dd", "DD (trained)")):
            sel = kinds == kind
            x = table["params"][sel]
            y, lo, hi = table[f"{m}_mean"][sel], table[f"{m}_min"][sel], table[f"{m}_max"][sel]
            st = role_style(kind, line=False)
            ax.errorbar(x, y, yerr=[y - lo, hi - y], label=name, lw=1, **st)
        for i in highlight:
            ax.plot(table["params"][i], table[f"{m}_mean"][i], "o", ms=11, mfc="none", mew=1.2,
                    color=role_style("reference")["color"], label="headline pair" if i == highlight[0] else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set(title=title, xlabel="parameters")
    _oracle_lines(axes[2], global_front, dd_fronts, with_rates=False)
    axes[0].set_ylabel("relative error")
    legend_below(fig, axes, ncol=3)
    return finish(fig)


def learned_operators_figure(Ainv, M_dd, M_global, block_learned, block_exact, labels=("DD", "global"),
                             block_title="local block"):
    """A^{-1}, the learned DD operator and its error, the learned global operator's error; one learned local
    block beside the exact local inverse and their difference; one column of each operator (eight panels, three
    to a row, the legend in the ninth slot)."""
    fig, axes, (spare,) = panel_grid(8, height=1.9, spare=1)
    vmax = np.abs(Ainv).max()
    panels = [(Ainv, r"(a) $A^{-1}$", "viridis", (0, vmax)),
              (M_dd, f"(b) learned, {labels[0]}", "viridis", (0, vmax)),
              (M_dd - Ainv, f"(c) {labels[0]} $-$ $A^{{-1}}$", "RdBu_r", None),
              (M_global - Ainv, f"(d) {labels[1]} $-$ $A^{{-1}}$", "RdBu_r", None)]
    bmax = max(np.abs(block_exact).max(), np.abs(block_learned).max())  # one scale for (e) and (f), no clipping
    panels += [(block_exact, f"(e) exact {block_title}", "viridis", (0, bmax)),
               (block_learned, f"(f) learned {block_title}", "viridis", (0, bmax)),
               (block_learned - block_exact, "(g) learned $-$ exact", "RdBu_r", None)]
    for ax, (M, title, cmap, lim) in zip(axes, panels):
        if lim is None:
            v = np.abs(M).max() or 1.0
            lim = (-v, v)
        im = ax.imshow(M, cmap=cmap, vmin=lim[0], vmax=lim[1])
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(title)
        ax.grid(False)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes[7]
    j = M_dd.shape[0] // 3
    x = np.arange(1, M_dd.shape[0] + 1) / (M_dd.shape[0] + 1)
    ax.plot(x, Ainv[:, j], color="black", lw=2, label="$A^{-1}$ column")
    ax.plot(x, M_dd[:, j], color=role_style("dd")["color"], lw=1, label=labels[0])
    ax.plot(x, M_global[:, j], color=role_style("global")["color"], lw=1, ls="--", label=labels[1])
    ax.set(title=f"(h) column at $x = {x[j]:.2f}$", xlabel="$x$")
    legend_panel(spare, [ax])
    return finish(fig)




def _sensitivity_columns(grid) -> list[tuple]:
    """``(title, knobs a row must match, learning rates, initial scales)`` per column of :func:`sensitivity_figure`:
    one per schedule of a grid, or one per optimizer of a union of grids (a list)."""
    if isinstance(grid, dict):
        return [(s or "", {"schedule": s} if s else {}, sorted(grid["lr"]), sorted(grid["init_scale"]))
                for s in grid.get("schedule", [None])]
    return [(OPTIMIZER_NAMES.get(o, o or ""), {"optimizer": o} if o else {}, sorted(g["lr"]),
             sorted(g["init_scale"])) for g in grid for o in g.get("optimizer", [None])]


def sensitivity_figure(selections, grid):
    """Each model's final validation error on the first seed over the knob grid (one heat map per model and
    schedule, or per model and optimizer when ``grid`` is a union of grids, one per optimizer; there each cell
    shows the better schedule; one colour scale per model), the chosen point boxed, diverged runs blank.
    ``selections`` are :class:`ddlib.experiments.Selection` (their ``grid`` rows)."""
    columns = _sensitivity_columns(grid)
    rows, cols = len(selections), len(columns)
    fig, flat, _ = panel_grid(rows * cols, ncols=cols, height=1.75, width=min(6.07, 2.3 * cols + 1.0))
    axes = np.array(flat).reshape(rows, cols)
    for i, sel in enumerate(selections):
        vals = np.log10([r["error_validation"] for r in sel.grid if np.isfinite(r["error_validation"])])
        for j, (title, match, lrs, inits) in enumerate(columns):
            Z = np.full((len(inits), len(lrs)), np.nan)
            for r in sel.grid:
                if all(r.get(k) == v for k, v in match.items()) and np.isfinite(r["error_validation"]):
                    at = inits.index(r["init_scale"]), lrs.index(r["lr"])
                    Z[at] = np.fmin(Z[at], np.log10(r["error_validation"]))
            ax = axes[i, j]
            im = ax.imshow(Z, origin="lower", cmap="viridis_r", vmin=vals.min(), vmax=vals.max(), aspect="auto")
            if all(sel.chosen.get(k) == v for k, v in match.items()) and sel.chosen["lr"] in lrs \
                    and sel.chosen["init_scale"] in inits:
                ax.add_patch(plt.Rectangle((lrs.index(sel.chosen["lr"]) - 0.5, inits.index(sel.chosen["init_scale"])
                                            - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
            ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
            ax.set_yticks(range(len(inits)), [f"{v:g}" for v in inits])
            ax.grid(False)
            ax.set_title(f"{sel.label}" + (f", {title}" if title else ""))
            if i == rows - 1:
                ax.set_xlabel("learning rate")
            if j == 0:
                ax.set_ylabel("initial scale")
        fig.colorbar(im, ax=list(axes[i]), shrink=0.9, label=r"$\log_{10}$ error")
    return finish(fig)


def time_to_target_figure(curves: dict):
    """Epochs (a) and seconds (b) to reach each in-band target, seed mean with min-max bars, per model.
    ``curves = {label: (family, time_to_target_curve record)}``."""
    fig, axes, _ = panel_grid(2, height=2.4)
    styles = _variants({label: family for label, (family, _) in curves.items()})
    for label, (_, c) in curves.items():
        for ax, x in zip(axes, ("epochs", "seconds")):
            mean = c[f"{x}_mean"]
            ok = np.isfinite(mean)
            err = np.vstack([mean - c[f"{x}_min"], c[f"{x}_max"] - mean])[:, ok]
            ax.errorbar(c["targets"][ok], mean[ok], yerr=err, lw=1, label=label, **styles[label])
    for ax, x in zip(axes, ("epochs", "seconds")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set(xlabel="in-band test error target", ylabel=f"{x} to reach it")
    axes[0].set_title("(a) epochs to target")
    axes[1].set_title("(b) seconds to target")
    legend_below(fig, axes, ncol=2)
    return finish(fig)
