"""Figures of chapter 5: generalisation per Fourier mode, ablations, the regime map (one figure per error measure)
and its samples x data slice."""
from __future__ import annotations

import numpy as np

from .style import finish, legend_below, panel_grid, role_style, spec_role

__all__ = ["generalisation_figure", "ablation_figure", "regime_map_figure", "slice_figure"]

_SET_LABELS = {"in_band": "in band", "out_of_band": "out of band", "noise": "white noise", "point_loads": "point loads"}
#: Bars of the ablation figure, one per error measure: greys and hatches (an error measure is not a role).
_METRIC_BARS = (("error_in_band", "in band", "#222222", None), ("error_out_of_band", "out of band", "#777777", None),
                ("error_noise", "white noise", "#BBBBBB", None),
                ("operator_error", r"operator $\|M-A^{-1}\|/\|A^{-1}\|$", "white", "////"))


def _floor(v, floor=1e-17):
    return np.maximum(np.asarray(v, dtype=float), floor)


def _family(label: str) -> str:
    return "global" if label.startswith("global") else "dd"


def generalisation_figure(study: dict):
    r"""From :func:`ddlib.generalisation.generalisation_study`: per-mode errors (one panel per training set) and the
    errors on the held-out sets. The per-mode panels draw the mean of :math:`e_{\mathbf k}` over each shell
    :math:`\max_j k_j = k` (in 1D the shell is the one mode ``k``)."""
    runs, K = study["runs"], study["K"]
    k, shell = np.unique(study["level"], return_inverse=True)
    count = np.bincount(shell)

    def by_shell(e):
        return np.bincount(shell, weights=np.asarray(e, dtype=float)) / count

    trainings = list(dict.fromkeys(r["training"] for r in runs))
    labels = list(dict.fromkeys(r["label"] for r in runs))
    fig, axes, _ = panel_grid(len(trainings) + 1, height=3.4)
    for i, (ax, tr) in enumerate(zip(axes, trainings)):
        ax.axvspan(0.9, K + 0.5, color="0.85", lw=0, label=f"training band 1–{K}")
        ax.axvspan(K + 0.5, 2 * K + 0.5, color="0.93", lw=0, label=f"out of band {K + 1}–{2 * K}")
        for lab in labels:
            r = next(x for x in runs if x["label"] == lab and x["training"] == tr)
            ax.semilogy(k, _floor(by_shell(r["mode_errors"])), color=role_style(_family(lab))["color"], lw=1,
                        label=f"{lab} ({r['params']:,} parameters)")
        ax.semilogy(k, _floor(by_shell(study["exact"])), color="black", lw=1, ls=":", label=r"exact $A^{-1}$")
        ax.set_xscale("log")
        ax.set_xlabel("mode $k$")
        ax.set_title(f"({chr(97 + i)}) trained on " + ("the band" if tr == "fourier" else "noise"))
    axes[0].set_ylabel(r"relative error $e_k$")
    ax = axes[-1]
    names = list(_SET_LABELS)
    width = 0.8 / (len(labels) * len(trainings))
    j = 0
    for lab in labels:
        for tr in trainings:
            r = next(x for x in runs if x["label"] == lab and x["training"] == tr)
            ax.bar(np.arange(len(names)) + (j - (len(labels) * len(trainings) - 1) / 2) * width,
                   [r["sets"][s] for s in names], width, color=role_style(_family(lab))["color"],
                   alpha=1.0 if tr == "fourier" else 0.45, hatch=None if tr == "fourier" else "//",
                   edgecolor="white", label=f"{lab}, {'band' if tr == 'fourier' else 'noise'}-trained")
            j += 1
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)), [_SET_LABELS[s].replace(" ", "\n") for s in names])
    ax.set_ylabel("mean relative error")
    ax.set_title(f"({chr(97 + len(trainings))}) held-out test sets")
    legend_below(fig, axes, ncol=2)
    return finish(fig)


def ablation_figure(rows: list[dict]):
    """From :func:`ddlib.ablations.run_ablations`: errors per configuration (seed range as error bars) and the
    operator error against the parameter count, each configuration in the colour of its role."""
    labels = [r["label"] for r in rows]
    y = np.arange(len(rows))[::-1]
    fig, (ax, ax2), _ = panel_grid(2, height=0.28 * len(rows) + 1.2)
    h = 0.8 / len(_METRIC_BARS)
    for j, (key, name, color, hatch) in enumerate(_METRIC_BARS):
        mean = np.array([r[f"{key}_mean"] for r in rows])
        lo = mean - np.array([r[f"{key}_min"] for r in rows])
        hi = np.array([r[f"{key}_max"] for r in rows]) - mean
        ax.barh(y + (len(_METRIC_BARS) / 2 - j - 0.5) * h, mean, h, xerr=[lo, hi], color=color, hatch=hatch,
                edgecolor="black", lw=0.3, label=name, error_kw=dict(lw=0.6))
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{lab} ({r['params']:,})" for lab, r in zip(labels, rows)])
    ax.set_xlabel("relative error")
    ax.set_title("(a) errors per configuration")
    for r in rows:  # the baseline filled; a DD variant of it hollow; other roles in their colours
        role = spec_role(r["spec"])
        st = role_style(role, 1 if role == "dd" and r["label"] != "baseline" else 0, line=False)
        ax2.loglog(r["params"], r["operator_error_mean"], ms=5, **st)
    order = sorted(rows, key=lambda r: r["operator_error_mean"])
    ly = np.log10([r["operator_error_mean"] for r in order])
    gap = 0.09 * max(ly[-1] - ly[0], 1.0)  # labels in a column right of the points, at least this far apart
    for k in range(1, len(ly)):
        ly[k] = max(ly[k], ly[k - 1] + gap)
    xt = 1.8 * max(r["params"] for r in rows)
    for r, yl in zip(order, ly):
        ax2.annotate(r["label"], (r["params"], r["operator_error_mean"]), xytext=(xt, 10.0**yl), va="center",
                     arrowprops=dict(arrowstyle="-", lw=0.4, color="0.5"), annotation_clip=False)
    ax2.set_xlim(right=3 * xt)
    ax2.set_ylim(top=max(ax2.get_ylim()[1], 10.0 ** (ly[-1] + gap)))
    ax2.set_xlabel("parameters")
    ax2.set_ylabel("operator error")
    ax2.set_title("(b) against parameters")
    legend_below(fig, [ax], ncol=2)
    return finish(fig)


_AXIS_X = {"n_fixed_N": ("n", "$n$ (fixed $N$)"), "n_fixed_H": ("n", "$n$ (fixed $H/h$)"),
           "samples": ("samples", "training samples $S$"), "K": ("K", "band $K$"), "data": ("data", "data kind"),
           "N": ("N", "subdomains $N$")}
_METRIC_NAME = {"error_in_band": "in-band", "error_out_of_band": "out-of-band", "error_noise": "white-noise",
                "error_point_loads": "point-load", "operator_error": "operator"}


def regime_map_figure(rows: list[dict], metric: str, base: dict):
    """The regime map for one error measure ``metric``: per axis of the map (one panel each, three to a row), the
    best global and the best DD model within the smallest and the largest parameter budget, both multiples of ``n``
    (hollow dashed and filled solid; bars: seed range), against the axis value; the base regime is part of every
    axis. Numeric axes are logarithmic and joined by lines, the data kind is categorical (points only). ``rows``
    are :func:`ddlib.regimes.budget_rows` records, ``base`` the base regime's record."""
    if metric not in _METRIC_NAME:
        raise ValueError(f"metric must be one of {sorted(_METRIC_NAME)}; got {metric!r}")
    axes_present = [a for a in _AXIS_X if any(r["axis"] == a for r in rows)]
    if not axes_present:
        raise ValueError(f"rows hold no axis of the regime map; expected some of {sorted(_AXIS_X)}")
    factor = lambda r: int(round(r["params_budget"] / r["n"]))  # noqa: E731  (budgets are multiples of n)
    budgets = sorted({factor(r) for r in rows})
    fig, axes, _ = panel_grid(len(axes_present), height=1.9, sharey=True)
    for ax, axis in zip(axes, axes_present):
        key, xlabel = _AXIS_X[axis]
        pts = [r for r in rows if r["axis"] in (axis, "base") and r["metric"] == metric and all(
            r[k] == base[k] for k in ("n", "N", "K", "samples", "data") if k != key and not (
                axis == "n_fixed_H" and k == "N"))]
        categorical = any(isinstance(r[key], str) for r in pts)
        xs = sorted({r[key] for r in pts}, key=lambda v: (isinstance(v, str), v))
        for fam in ("global", "dd"):
            for variant, b in ((1, budgets[0]), (0, budgets[-1])):
                sel = {r[key]: r for r in pts if factor(r) == b}
                xv = [x for x in xs if x in sel and np.isfinite(sel[x][f"best_{fam}"])]
                y = np.array([sel[x][f"best_{fam}"] for x in xv])
                lo = y - np.array([sel[x][f"best_{fam}_min"] for x in xv])
                hi = np.array([sel[x][f"best_{fam}_max"] for x in xv]) - y
                pos = [xs.index(x) + (0.1 if fam == "dd" else -0.1) for x in xv] if categorical else xv
                ax.errorbar(pos, y, yerr=[lo, hi], lw=1, label=f"{'DD' if fam == 'dd' else fam}, budget {b}$n$",
                            **role_style(fam, variant, line=not categorical))
        ax.set_yscale("log")
        if categorical:
            ax.set_xticks(range(len(xs)), [str(x) for x in xs])
            ax.set_xlim(-0.6, len(xs) - 0.4)
        else:
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(x) for x in xs])
            ax.minorticks_off()
        ax.set_xlabel(xlabel)
    for ax in axes[::3]:
        ax.set_ylabel(f"{_METRIC_NAME[metric]} error")
    legend_below(fig, axes, ncol=2)
    return finish(fig)


def slice_figure(rows: list[dict], metrics):
    """The samples x data slice, :math:`\\log_{10}` of best global over best DD error at the largest budget
    (positive: DD more accurate), one heat map per metric."""
    sl = [r for r in rows if r["axis"] in ("slice", "samples", "base", "data")]
    budget = max(r["params_budget"] for r in sl)
    samples = sorted({r["samples"] for r in sl if r["axis"] == "slice"})
    kinds = sorted({r["data"] for r in sl if r["axis"] == "slice"} | {"fourier"})
    fig, axes, _ = panel_grid(len(metrics), height=2.0)
    for ax, metric in zip(axes, metrics):
        Z = np.full((len(kinds), len(samples)), np.nan)
        for r in sl:
            if r["metric"] == metric and r["params_budget"] == budget and r["samples"] in samples \
                    and r["data"] in kinds and r["K"] == sl[0]["K"]:
                Z[kinds.index(r["data"]), samples.index(r["samples"])] = np.log10(r["best_global"] / r["best_dd"])
        lim = np.nanmax(np.abs(Z)) if np.isfinite(Z).any() else 1.0
        im = ax.imshow(Z, cmap="PuOr", vmin=-lim, vmax=lim, origin="lower", aspect="auto")
        for (a, b), v in np.ndenumerate(Z):
            if np.isfinite(v):
                ax.text(b, a, f"{v:+.1f}", ha="center", va="center")
        ax.set_xticks(range(len(samples)), samples)
        ax.set_yticks(range(len(kinds)), kinds)
        ax.grid(False)
        ax.set(xlabel="training samples $S$", title=f"{_METRIC_NAME[metric]} error")
        fig.colorbar(im, ax=ax, shrink=0.8, label=r"$\log_{10}$(global / DD)")
    return finish(fig)
