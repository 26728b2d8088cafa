"""Figures of the 2D chapter: classical Schwarz scaling in 2D, the approximation frontier, the structural floor, and
the trained comparison across regimes.

Every function takes computed results (rows of :mod:`ddlib.schwarz` and :mod:`ddlib.approximation`) and returns a
Matplotlib figure; the colours follow :data:`ddlib.plotting.style.COLORS`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter, ScalarFormatter

from ..data import in_distribution_set
from .style import COLORS

__all__ = ["SERIES_STYLE_2D", "kappa_figure_2d", "frontier_figure_2d", "floor_figure_2d", "regimes_figure_2d"]

#: Colour, marker and line style of each series of :data:`ddlib.schwarz.SERIES`.
SERIES_STYLE_2D = {
    "one-level ASM": dict(color=COLORS["global"], marker="o", ls="-"),
    "two-level ASM, hat": dict(color=COLORS["classical"], marker="s", ls="-"),
    "two-level ASM, Nicolaides": dict(color=COLORS["coarse"], marker="^", ls="-"),
    "two-level weighted, multiplicity": dict(color=COLORS["dd"], marker="D", ls="--"),
    "two-level weighted, ramp": dict(color=COLORS["local"], marker="v", ls="--"),
}
_OTHER = dict(color=COLORS["other"], marker="x", ls="-")
_SHADES = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
#: What each study of :func:`ddlib.dimensions.default_studies` is plotted against.
_STUDY_AXIS = {"N": ("N", "boxes per direction $N$ (fixed $H/h$)", "$N$"),
               "n": ("n", r"unknowns $n = m^2$ (fixed $N$, $H/\delta$)", "$n$"),
               "delta": ("H_over_delta", r"$H/\delta_g$, $\delta_g = (\delta + 1/2)h$ (fixed $m$, $N$)",
                         r"$H/\delta_g$")}
_KIND_COLOR = {"hat": COLORS["classical"], "spectral": COLORS["coarse"], "nicolaides": COLORS["other"]}
_N_STYLE = (("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"))


def _dedup_legend(fig, axes, ncol=3):
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=7.5)


def kappa_figure_2d(rows: list[dict], series: list[str] | None = None):
    r"""κ(M⁻¹A) (top) and PCG iterations (bottom) against N, n and H/δ_g, one- vs two-level, with the theory.

    ``rows`` come from :func:`ddlib.schwarz.scaling_study`; if they carry ``bound`` (from
    :func:`ddlib.schwarz.add_bounds`) the fitted shape :math:`C(1 + 1/(H\delta_g))` (one level) or
    :math:`C(1 + H/\delta_g)` (two levels) is drawn dotted in the series' colour.
    """
    series = list(dict.fromkeys(r["series"] for r in rows)) if series is None else series
    studies = [s for s in _STUDY_AXIS if any(r["study"] == s for r in rows)]
    fig, axes = plt.subplots(2, len(studies), figsize=(3.7 * len(studies), 6.4), squeeze=False)
    for c, study in enumerate(studies):
        key, xlabel, short = _STUDY_AXIS[study]
        for name in series:
            sel = sorted((r for r in rows if r["study"] == study and r["series"] == name), key=lambda r: r[key])
            if not sel:
                continue
            st = SERIES_STYLE_2D.get(name, _OTHER)
            xs = np.array([r[key] for r in sel], dtype=float)
            for row, col in ((0, "kappa"), (1, "pcg_iterations")):
                axes[row, c].plot(xs, [r[col] for r in sel], marker=st["marker"], ls=st["ls"], color=st["color"],
                                  ms=4, lw=1.2, label=name)
            if sel[0].get("bound") is not None:
                axes[0, c].plot(xs, [r["bound"] for r in sel], ":", color=st["color"], lw=1.4,
                                label=f"theory shape, fitted $C$ ({name})")
        for row in range(2):
            ax = axes[row, c]
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.minorticks_off()
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.set_xlabel(xlabel)
            ax.title.set_fontsize(9)
        axes[0, c].set_title(f"({'abc'[c]}) $\\kappa(M^{{-1}}A)$ against {short}")
        axes[1, c].set_title(f"({'def'[c]}) PCG iterations")
    axes[0, 0].set_ylabel(r"$\kappa(M^{-1}A)$")
    axes[1, 0].set_ylabel(r"iterations to $\|r\|_2 \leq 10^{-8}\|b\|_2$")
    _dedup_legend(fig, axes[:, 0], ncol=3)
    return fig


def frontier_figure_2d(global_front: dict, dd_fronts: list[dict], floors: list[dict] | None = None):
    r"""The 2D approximation frontier: best relative 2-norm error against (a) parameters and (b) rank.

    ``global_front`` from :func:`ddlib.approximation.global_frontier` (Eckart-Young, with Weyl's law with and without
    its perimeter term), ``dd_fronts`` from :func:`ddlib.approximation.dd_frontier` (the truncated Schwarz
    oracle), ``floors`` rows of :func:`ddlib.approximation.floor`: each drawn as a horizontal dashed line at
    its ``floor_two_norm`` (upper bound of the 2-norm floor) in the colour of the front with the same ``(N, delta)``,
    with the certified lower bound as a shaded band below it.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0))
    g = global_front
    for ax, x in ((axes[0], g["params"]), (axes[1], g["rank"])):
        ax.loglog(x, g["error"], "o-", ms=3, color=COLORS["global"], label=r"global rank $r$: $\lambda_1/\lambda_{r+1}$")
        ax.loglog(x, g["rate_perimeter"], ":", lw=1.2, color=COLORS["global"], label="Weyl (area + perimeter)")
        ax.loglog(x, g["rate"], "--", lw=0.9, color=COLORS["other"], label=r"Weyl, area term ($1/r$ in 2D)")
    colour = {}
    for front, c in zip(dd_fronts, _SHADES):
        colour[(front["N"], front["delta"])] = c
        label = f"DD Schwarz oracle $N={front['N']}$, $\\delta={front['delta']}$"
        axes[0].loglog(front["params"], front["error"], "s-", ms=3, color=c, label=label)
        axes[1].loglog(front["rank"], front["error"], "s-", ms=3, color=c, label=label)
    for row in floors or []:
        c = colour.get((row["N"], row["delta"]), COLORS["other"])
        for ax in axes:
            ax.axhline(row["floor_two_norm"], ls="--", lw=1, color=c,
                       label=f"floor $N={row['N']}$, $\\delta={row['delta']}$ ({row['coarse']})")
            low = row.get("floor_two_norm_lower")
            if low is not None and np.isfinite(low) and low > 0:
                ax.axhspan(low, row["floor_two_norm"], color=c, alpha=0.12, lw=0)
    axes[0].set(title="(a) best error against parameters", xlabel="parameters",
                ylabel=r"$\|M^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$")
    axes[1].set(title="(b) against the (local) rank $r$", xlabel="rank $r$")
    for ax in axes:
        ax.title.set_fontsize(9)
    _dedup_legend(fig, axes, ncol=3)
    return fig


def _floor_lines(ax, rows, xkey, groupkey, label_fmt):
    """One line per value of ``groupkey``: the upper bound (solid) and the certified lower bound (dotted)."""
    groups = sorted({r[groupkey] for r in rows})
    for g, c in zip(groups, _SHADES):
        sel = sorted((r for r in rows if r[groupkey] == g), key=lambda r: r[xkey])
        x = np.array([r[xkey] for r in sel], dtype=float)
        ax.loglog(x, [r["floor_two_norm"] for r in sel], "o-", ms=3.5, color=c, label=label_fmt.format(g))
        low = np.array([r.get("floor_two_norm_lower", np.nan) for r in sel], dtype=float)
        ok = np.isfinite(low) & (low > 0)
        if ok.any():
            ax.loglog(x[ok], low[ok], "v:", ms=3, color=c, lw=1)


def floor_figure_2d(rows: list[dict], richer_delta: int | None = None):
    r"""The structural floor: (a) against ``N`` per overlap, (b) against :math:`H/\delta_g` per ``N`` (Q1 hats on
    the box grid), (c) against the coarse dimension :math:`N_0` for each coarse family at overlap ``richer_delta``.

    ``rows`` from :func:`ddlib.approximation.floor_study` / :func:`~ddlib.approximation.floor`. Solid: the
    2-norm of the Frobenius-optimal operator (upper bound); dotted triangles: the certified lower bound. Panel (c)
    joins the rows of one family (coarse kind and partition; Q1 with ``refine = 1, 2, ...``; spectral with
    ``per_box = 1, 2, ...``) at equal ``N``; colour: the kind, line style: ``N``. ``richer_delta`` defaults to the
    largest overlap present for every ``N`` of the richer families.
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.9))
    base = [dict(r, H_over_delta=(r["m"] + 1) / r["N"] / (r["delta"] + 0.5)) for r in rows
            if r["coarse"] == "hat" and (r.get("refine") or 1) == 1]
    _floor_lines(axes[0], base, "N", "delta", r"$\delta = {}$")
    axes[0].set_xscale("log", base=2)
    axes[0].set(title="(a) floor against $N$ (Q1, box grid)", xlabel="boxes per direction $N$",
                ylabel=r"$\min\|M^{-1} - A^{-1}\|_2/\|A^{-1}\|_2$")
    _floor_lines(axes[1], base, "H_over_delta", "N", "$N = {}$")
    axes[1].set(title=r"(b) floor against $H/\delta_g$", xlabel=r"$H/\delta_g$")
    _richer_panel(axes[2], rows, richer_delta)
    for ax in axes:
        ax.title.set_fontsize(9)
        ax.minorticks_off()
        ax.legend(fontsize=7)
    return fig


def _richer_panel(ax, rows, delta):
    fams: dict = {}
    for r in rows:
        fams.setdefault((r["coarse"], r["partition"] if r["coarse"] != "hat" else "", r["N"]), []).append(r)
    fams = {k: v for k, v in fams.items() if len({r["N0"] for r in v}) >= 2}
    if delta is None:
        per_N: dict = {}
        for (_, _, N), sel in fams.items():
            per_N.setdefault(N, set()).update(r["delta"] for r in sel)
        common = set.intersection(*per_N.values()) if per_N else set()
        delta = max(common) if common else None
    Ns = sorted({k[2] for k in fams})
    for (coarse, part, N), sel in sorted(fams.items(), key=lambda kv: str(kv[0])):
        sel = sorted((r for r in sel if r["delta"] == delta), key=lambda r: r["N0"])
        if len(sel) < 2:
            continue
        marker, ls = _N_STYLE[Ns.index(N) % len(_N_STYLE)]
        name = {"hat": "Q1, refined grid", "spectral": f"spectral ({part})", "nicolaides": f"Nicolaides ({part})"}
        ax.loglog([r["N0"] for r in sel], [r["floor_two_norm"] for r in sel], marker=marker, ls=ls, ms=3.5,
                  color=_KIND_COLOR.get(coarse, COLORS["other"]), label=f"{name.get(coarse, coarse)}, $N={N}$")
    ax.set(title=f"(c) richer coarse levels on the same boxes ($\\delta = {delta}$)",
           xlabel="coarse dimension $N_0$")


#: What :func:`regimes_figure_2d` plots in each row: ``(column of the summary table, axis label)``.
_REGIME_ROWS = {"in_distribution": ("in-distribution test error", None),
                "operator_error": (r"$\|M_\theta^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$", "operator_error"),
                "error_out_of_band": ("out-of-band test error", "error_out_of_band")}


def regimes_figure_2d(results: list, metrics=("in_distribution", "operator_error"), floors: dict | None = None,
                      fronts: dict | None = None):
    r"""Trained 2D models: error against parameters, one column per regime, one row per metric.

    ``results`` are :class:`ddlib.regimes.RegimeResult` (their ``table`` from
    :func:`ddlib.experiments.summary_table`); every full model is drawn at its seed mean with a bar over the seed
    range, global (circles), banded plus low rank (crosses) and DD (squares; ablations left out). ``metrics`` are ``"in_distribution"`` (the test set
    of the training distribution, :func:`ddlib.data.in_distribution_set`) and history keys. In the
    operator-error row, ``floors`` (``{(m, N, delta): floor_two_norm}``) draws the structural floor of a DD
    configuration as a dashed line and ``fronts`` (``{m: global_frontier_2d(m, ranks)}``) the Eckart-Young error of
    the global ranks as a dotted line.
    """
    fig, axes = plt.subplots(len(metrics), len(results), figsize=(2.9 * len(results), 2.6 * len(metrics)),
                             squeeze=False, sharex="col")
    for c, res in enumerate(results):
        reg, t = res.regime, res.table
        keep = np.array([not s.spec.is_ablation for s in res.selections])
        for r, metric in enumerate(metrics):
            ax = axes[r, c]
            col = f"error_{in_distribution_set(reg.data)}" if metric == "in_distribution" else metric
            groups = _model_groups(res, keep)
            for style in groups.values():
                style = dict(style)
                order = np.array(sorted(style.pop("rows"), key=lambda i: t["params"][i]))
                y, lo, hi = (t[f"{col}_{s}"][order] for s in ("mean", "min", "max"))
                ax.errorbar(t["params"][order], y, yerr=[y - lo, hi - y], ms=3.5, lw=1, capsize=2, **style)
            if col == "operator_error":
                colors = {g[1:]: st["color"] for g, st in groups.items() if g[0] == "dd"}
                _regime_references(ax, reg, floors, fronts, colors)
            ax.set_xscale("log")
            ax.set_yscale("log")
            low, high = ax.get_ylim()
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if high < 100 * low else (1.0,)))
            ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            if c == 0:
                ax.set_ylabel(_REGIME_ROWS.get(metric, (metric, None))[0] if metric in _REGIME_ROWS else col)
            if r == 0:
                ax.set_title(f"$m={reg.side}$, {reg.data}, $S={reg.samples}$", fontsize=9)
            if r == len(metrics) - 1:
                ax.set_xlabel("parameters")
    _dedup_legend(fig, axes.ravel(), ncol=4)
    return fig


def _model_groups(res, keep) -> dict:
    """The lines of a regime panel: the global ranks, the banded-plus-low-rank baselines, and one line per DD
    configuration ``(N, delta)`` (its local ranks), each with its rows of the table and its style."""
    groups: dict = {}
    for i, s in enumerate(res.selections):
        if not keep[i]:
            continue
        if s.family == "global":
            key, style = ("global",), dict(fmt="o-", color=COLORS["global"], label="global $h^2QK^T$")
        elif s.family == "banded":
            key, style = ("banded",), dict(fmt="x-.", color=COLORS["other"], label="banded + low rank")
        else:
            key = ("dd", s.spec.N, s.spec.delta)
            k = len({g for g in groups if g[0] == "dd"} - {key}) % 3
            style = dict(fmt=("s-", "D--", "^:")[k], color=(COLORS["dd"], COLORS["classical"], COLORS["local"])[k],
                         label=f"DD $N={s.spec.N}$, $\\delta={s.spec.delta}$")
        groups.setdefault(key, {**style, "rows": []})["rows"].append(i)
    return groups


def _regime_references(ax, reg, floors, fronts, colors):
    """The structural floors of the regime's DD configurations (``colors``: ``(N, delta) -> colour``, the
    configurations drawn) and the global Eckart-Young errors, if given."""
    for (m, N, delta), value in (floors or {}).items():
        if m == reg.side and (N, delta) in colors:
            ax.axhline(value, ls="--", lw=0.9, color=colors[(N, delta)], label="DD structural floor (upper bound)")
    front = (fronts or {}).get(reg.side)
    if front is not None:
        ax.plot(front["params"], front["error"], ":", lw=1.2, color=COLORS["global"],
                label="global Eckart-Young (best rank $r$)")
