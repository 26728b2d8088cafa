"""Figures of the 2D chapter: classical Schwarz scaling in 2D, the approximation frontier, the structural floor, and
the trained comparison across regimes.

Every function takes computed results (rows of :mod:`ddlib.schwarz` and :mod:`ddlib.approximation`) and returns a
Matplotlib figure; colours and markers follow the roles of :data:`ddlib.plotting.style.ROLE_STYLE`.
"""
from __future__ import annotations

import numpy as np

from ..data import in_distribution_set
from .style import finish, legend_below, panel_grid, role_style

__all__ = ["SERIES_STYLE_2D", "kappa_figure_2d", "frontier_figure_2d", "floor_figure_2d", "regimes_figure_2d"]

#: Style of each series of :data:`ddlib.schwarz.SERIES`: one level is the local level alone, the two-level
#: methods are variants of classical Schwarz (as in 1D, :data:`ddlib.plotting.schwarz.SERIES_STYLE`).
SERIES_STYLE_2D = {
    "one-level ASM": role_style("local"),
    "two-level ASM, hat": role_style("classical", 0),
    "two-level ASM, Nicolaides": role_style("classical", 1),
    "two-level weighted, multiplicity": role_style("classical", 2),
    "two-level weighted, ramp": role_style("classical", 3),
}
_OTHER = dict(color=role_style("reference")["color"], marker="x", ls="-")
_GREY = role_style("reference")["color"]
#: What each study of :func:`ddlib.dimensions.default_studies` is plotted against.
_STUDY_AXIS = {"N": ("N", "boxes per direction $N$", "$N$"),
               "n": ("n", r"unknowns $n = m^2$", "$n$"),
               "delta": ("H_over_delta", r"$H/\delta_g$, $\delta_g = (\delta + \frac{1}{2})h$", r"$H/\delta_g$")}
#: Line style of each coarse family in the richer-coarse panel (all floors: the oracle colour).
_KIND_LS = {"hat": "-", "spectral": "--", "nicolaides": "-."}


def kappa_figure_2d(rows: list[dict], series: list[str] | None = None):
    r"""κ(M⁻¹A) (top) and PCG iterations (bottom) against N, n and H/δ_g, one- vs two-level, with the theory.

    ``rows`` come from :func:`ddlib.schwarz.scaling_study`; if they carry ``bound`` (from
    :func:`ddlib.schwarz.add_bounds`) the fitted shape :math:`C(1 + 1/(H\delta_g))` (one level) or
    :math:`C(1 + H/\delta_g)` (two levels) is drawn dotted in the series' colour.
    """
    series = list(dict.fromkeys(r["series"] for r in rows)) if series is None else series
    studies = [s for s in _STUDY_AXIS if any(r["study"] == s for r in rows)]
    fig, flat, _ = panel_grid(2 * len(studies), ncols=len(studies), height=2.05)
    axes = np.array(flat).reshape(2, len(studies))
    for c, study in enumerate(studies):
        key, xlabel, short = _STUDY_AXIS[study]
        for name in series:
            sel = sorted((r for r in rows if r["study"] == study and r["series"] == name), key=lambda r: r[key])
            if not sel:
                continue
            st = SERIES_STYLE_2D.get(name, _OTHER)
            xs = np.array([r[key] for r in sel], dtype=float)
            for row, col in ((0, "kappa"), (1, "pcg_iterations")):
                axes[row, c].plot(xs, [r[col] for r in sel], label=name, **st)
            if sel[0].get("bound") is not None:
                axes[0, c].plot(xs, [r["bound"] for r in sel], ":", color=st["color"], lw=1.4,
                                label=f"fitted theory, {name}")
        for row in range(2):
            ax = axes[row, c]
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.minorticks_off()
            ax.set_xlabel(xlabel)
        axes[0, c].set_title(f"({'abc'[c]}) $\\kappa$ against {short}")
        axes[1, c].set_title(f"({'def'[c]}) iterations")
    axes[0, 0].set_ylabel(r"$\kappa(M^{-1}A)$")
    axes[1, 0].set_ylabel("PCG iterations")
    legend_below(fig, axes[:, 0], ncol=2)
    return finish(fig)


def frontier_figure_2d(global_front: dict, dd_fronts: list[dict], floors: list[dict] | None = None):
    r"""The 2D approximation frontier: best relative 2-norm error against (a) parameters and (b) rank.

    ``global_front`` from :func:`ddlib.approximation.global_frontier` (Eckart-Young, with Weyl's law with and
    without its perimeter term), ``dd_fronts`` from :func:`ddlib.approximation.dd_frontier` (the truncated Schwarz
    oracle), ``floors`` rows of :func:`ddlib.approximation.floor`. Every curve is an oracle (black): the global
    one solid, the DD fronts in the line styles of its variants; a floor is a horizontal line in the style of the
    front with the same ``(N, delta)`` at its ``floor_two_norm`` (upper bound of the 2-norm floor), with the
    certified lower bound as a shaded band below it; the two laws are grey.
    """
    fig, axes, _ = panel_grid(2, height=2.5)
    g = global_front
    for ax, x in ((axes[0], g["params"]), (axes[1], g["rank"])):
        ax.loglog(x, g["error"], ms=3, label=r"global rank $r$: $\lambda_1/\lambda_{r+1}$", **role_style("oracle", 0))
        ax.loglog(x, g["rate_perimeter"], ":", lw=1.2, color=_GREY, label="Weyl (area + perimeter)")
        ax.loglog(x, g["rate"], "--", lw=0.9, color=_GREY, label=r"Weyl, area term ($1/r$ in 2D)")
    variant = {}
    for k, front in enumerate(dd_fronts, start=1):
        variant[(front["N"], front["delta"])] = k
        label = f"DD Schwarz oracle $N={front['N']}$, $\\delta={front['delta']}$"
        st = role_style("oracle", k)
        axes[0].loglog(front["params"], front["error"], ms=3, label=label, **st)
        axes[1].loglog(front["rank"], front["error"], ms=3, label=label, **st)
    for row in floors or []:
        st = role_style("oracle", variant.get((row["N"], row["delta"]), 1))
        for ax in axes:
            ax.axhline(row["floor_two_norm"], ls=st["ls"], lw=1, color=_GREY,
                       label=f"floor $N={row['N']}$, $\\delta={row['delta']}$ ({row['coarse']})")
            low = row.get("floor_two_norm_lower")
            if low is not None and np.isfinite(low) and low > 0:
                ax.axhspan(low, row["floor_two_norm"], color=_GREY, alpha=0.15, lw=0)
    axes[0].set(title="(a) against parameters", xlabel="parameters",
                ylabel=r"$\|M^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$")
    axes[1].set(title="(b) against the rank", xlabel="(local) rank $r$")
    legend_below(fig, axes, ncol=2)
    return finish(fig)


def _floor_lines(ax, rows, xkey, groupkey, label_fmt):
    """One line per value of ``groupkey`` (the oracle's variants): the upper bound, and the certified lower bound
    as small triangles on a thin line of the same style."""
    groups = sorted({r[groupkey] for r in rows})
    for k, g in enumerate(groups):
        st = role_style("oracle", k)
        sel = sorted((r for r in rows if r[groupkey] == g), key=lambda r: r[xkey])
        x = np.array([r[xkey] for r in sel], dtype=float)
        ax.loglog(x, [r["floor_two_norm"] for r in sel], ms=4, label=label_fmt.format(g), **st)
        low = np.array([r.get("floor_two_norm_lower", np.nan) for r in sel], dtype=float)
        ok = np.isfinite(low) & (low > 0)
        if ok.any():
            ax.loglog(x[ok], low[ok], marker="v", ms=3, ls=st["ls"], color=_GREY, lw=0.8)


def floor_figure_2d(rows: list[dict], richer_delta: int | None = None):
    r"""The structural floor: (a) against ``N`` per overlap, (b) against :math:`H/\delta_g` per ``N`` (Q1 hats on
    the box grid), (c) against the coarse dimension :math:`N_0` for each coarse family at overlap ``richer_delta``.

    ``rows`` from :func:`ddlib.approximation.floor_study` / :func:`~ddlib.approximation.floor`. Black
    (oracle): the 2-norm of the Frobenius-optimal operator (upper bound); grey triangles: the certified lower bound.
    Panel (c) joins the rows of one family (coarse kind and partition; Q1 with ``refine = 1, 2, ...``; spectral
    with ``per_box = 1, 2, ...``) at equal ``N``; line style: the kind, marker fill: ``N``. ``richer_delta``
    defaults to the largest overlap present for every ``N`` of the richer families.
    """
    fig, axes, _ = panel_grid(3, height=2.4)
    base = [dict(r, H_over_delta=(r["m"] + 1) / r["N"] / (r["delta"] + 0.5)) for r in rows
            if r["coarse"] == "hat" and (r.get("refine") or 1) == 1]
    _floor_lines(axes[0], base, "N", "delta", r"$\delta = {}$")
    axes[0].set_xscale("log", base=2)
    axes[0].set(title="(a) against $N$", xlabel="boxes per direction $N$",
                ylabel=r"$\min\|M^{-1} - A^{-1}\|_2/\|A^{-1}\|_2$")
    _floor_lines(axes[1], base, "H_over_delta", "N", "$N = {}$")
    axes[1].set(title=r"(b) against $H/\delta_g$", xlabel=r"$H/\delta_g$")
    _richer_panel(axes[2], rows, richer_delta)
    for ax in axes:
        ax.minorticks_off()
    legend_below(fig, axes, ncol=3)
    return finish(fig)


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
    oracle = role_style("oracle")
    for (coarse, part, N), sel in sorted(fams.items(), key=lambda kv: str(kv[0])):
        sel = sorted((r for r in sel if r["delta"] == delta), key=lambda r: r["N0"])
        if len(sel) < 2:
            continue
        name = {"hat": "Q1, refined", "spectral": f"spectral ({part})", "nicolaides": f"Nicolaides ({part})"}
        ax.loglog([r["N0"] for r in sel], [r["floor_two_norm"] for r in sel], marker=oracle["marker"], ms=4,
                  ls=_KIND_LS.get(coarse, ":"), color=oracle["color"],
                  mfc="white" if Ns.index(N) % 2 else oracle["color"], label=f"{name.get(coarse, coarse)}, $N={N}$")
    ax.set(title=f"(c) richer coarse, $\\delta = {delta}$", xlabel="coarse dimension $N_0$")


#: What :func:`regimes_figure_2d` plots: ``metric -> axis label``.
_REGIME_ROWS = {"in_distribution": "in-distribution test error",
                "operator_error": r"$\|M_\theta^{-1}-A^{-1}\|_2/\|A^{-1}\|_2$",
                "error_out_of_band": "out-of-band test error"}


def regimes_figure_2d(results: list, metric: str = "operator_error", floors: dict | None = None,
                      fronts: dict | None = None):
    r"""Trained 2D models: one error measure against parameters, one panel per regime (three to a row).

    ``results`` are :class:`ddlib.regimes.RegimeResult` (their ``table`` from
    :func:`ddlib.experiments.summary_table`); every full model is drawn at its seed mean with a bar over the seed
    range, global (its role) and one line per DD configuration (variants of the DD role; ablations left out).
    ``metric`` is ``"in_distribution"`` (the test set of the training distribution,
    :func:`ddlib.data.in_distribution_set`) or a history key. For the operator error, ``floors``
    (``{(m, N, delta): floor_two_norm}``) draws the structural floor of a DD configuration as a grey line in the
    style of its configuration and ``fronts`` (``{m: global_frontier(problem, ranks)}``) the Eckart-Young error of the
    global ranks in the oracle style.
    """
    if not results:
        raise ValueError("results must hold at least one RegimeResult")
    fig, axes, _ = panel_grid(len(results), height=1.9, sharex=True)
    for ax, res in zip(axes, results):
        reg, t = res.regime, res.table
        keep = np.array([not s.spec.is_ablation for s in res.selections])
        col = f"error_{in_distribution_set(reg.data)}" if metric == "in_distribution" else metric
        groups = _model_groups(res, keep)
        for style in groups.values():
            style = dict(style)
            order = np.array(sorted(style.pop("rows"), key=lambda i: t["params"][i]))
            y, lo, hi = (t[f"{col}_{s}"][order] for s in ("mean", "min", "max"))
            ax.errorbar(t["params"][order], y, yerr=[y - lo, hi - y], ms=3.5, lw=1, **style)
        if col == "operator_error":
            _regime_references(ax, reg, floors, fronts, {g[1:]: st["ls"] for g, st in groups.items()
                                                         if g[0] == "dd"})
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"$m={reg.side}$, {reg.data}, $S={reg.samples}$")
    for ax in axes[::3]:
        ax.set_ylabel(_REGIME_ROWS.get(metric, metric))
    for ax in axes[-3:]:
        ax.set_xlabel("parameters")
    legend_below(fig, axes, ncol=2)
    return finish(fig)


def _model_groups(res, keep) -> dict:
    """The lines of a regime panel: the global ranks, and one line per DD configuration ``(N, delta)`` (its local
    ranks), each with its rows of the table and its style (the k-th DD configuration: variant k of the DD role)."""
    groups: dict = {}
    for i, s in enumerate(res.selections):
        if not keep[i]:
            continue
        if s.family == "global":
            key, style = ("global",), dict(role_style("global"), label="global $h^2QK^T$")
        else:
            key = ("dd", s.spec.N, s.spec.delta)
            k = len({g for g in groups if g[0] == "dd"} - {key})
            style = dict(role_style("dd", k), label=f"DD $N={s.spec.N}$, $\\delta={s.spec.delta}$")
        groups.setdefault(key, {**style, "rows": []})["rows"].append(i)
    return groups


def _regime_references(ax, reg, floors, fronts, styles):
    """The structural floors of the regime's DD configurations (``styles``: ``(N, delta) -> line style``, the
    configurations drawn) and the global Eckart-Young errors, if given."""
    for (m, N, delta), value in (floors or {}).items():
        if m == reg.side and (N, delta) in styles:
            ax.axhline(value, ls=styles[(N, delta)], lw=0.9, color=_GREY,
                       label="DD structural floor (upper bound)")
    front = (fronts or {}).get(reg.side)
    if front is not None:
        ax.plot(front["params"], front["error"], lw=1.2, label="global Eckart-Young (best rank $r$)",
                **dict(role_style("oracle"), marker=""))
