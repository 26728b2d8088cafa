"""Figures of the chapter "High-contrast coefficients": fields beside solutions, κ against contrast and size, AMG
against Schwarz, and what learning found. Colours and markers follow the roles of
:data:`ddlib.plotting.style.ROLE_STYLE`: one level is the local level alone, every two-level method with exact local
solves is a variant of classical Schwarz, a learned coarse level is DD, a structural floor is an oracle; AMG and the
direct solve, which have no role of their own, are reference lines told apart by marker and line style."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from .style import finish, legend_below, panel_grid, role_style

__all__ = ["fields_figure", "kappa_figure", "amg_figure", "learning_figure", "COARSE_STYLE", "METHOD_STYLE"]


def _style(role: str, variant: int, label: str, marker: str | None = None) -> dict:
    st = role_style(role, variant)
    if marker is not None:
        st["marker"] = marker
    return st | {"label": label}


#: Style and label of each coarse space.
COARSE_STYLE = {"none": _style("local", 0, "one level"), "q1": _style("classical", 0, "Q1"),
                "nicolaides": _style("classical", 1, "Nicolaides"), "geneo": _style("classical", 2, "GenEO"),
                "learned": _style("dd", 0, "learned")}
#: Style and label of each solver of :mod:`ddlib.amg`.
METHOD_STYLE = {"direct": _style("reference", 3, "sparse direct (SuperLU)", "*"),
                "sa_default": _style("reference", 1, "SA, defaults", "v"),
                "sa": _style("reference", 0, "SA, tuned", "v"),
                "rs_default": _style("reference", 1, "RS, defaults", "^"),
                "rs": _style("reference", 0, "RS, tuned", "^"),
                "schwarz_q1": _style("classical", 0, "Schwarz, Q1"),
                "schwarz_geneo": _style("classical", 2, "Schwarz, GenEO")}


def fields_figure(problems: dict, solutions: dict):
    r"""Each field :math:`\log_{10}a` (top row) above the solution of :math:`-\nabla\cdot(a\nabla u) = 1` (bottom
    row); the dicts map a title to a 2D problem and to its solution vector (at most three fields)."""
    names = list(problems)
    fig, axes, _ = panel_grid(2 * len(names), ncols=len(names), height=1.9)
    for c, name in enumerate(names):
        P = problems[name]
        top, bottom = axes[c], axes[len(names) + c]
        im = top.imshow(np.log10(P.coefficient).T, origin="lower", extent=(0, 1, 0, 1), cmap="viridis")
        fig.colorbar(im, ax=top, shrink=0.8, label=r"$\log_{10} a$")
        top.set_title(f"({'abc'[c]}) {name}")
        im = bottom.imshow(solutions[name].reshape(P.shape).T, origin="lower", extent=(0, 1, 0, 1), cmap="magma")
        fig.colorbar(im, ax=bottom, shrink=0.8, label="u")
        bottom.set_title(f"({'def'[c]}) solution")
        for ax in (top, bottom):
            ax.set(xlabel="x", ylabel="y")
            ax.grid(False)
    return fig


def _coarse_lines(ax, rows, x, y, coarses):
    for c in coarses:
        sel = sorted((r for r in rows if r["coarse"] == c), key=lambda r: r[x])
        if sel:
            ax.plot([r[x] for r in sel], [r[y] for r in sel], **COARSE_STYLE[c])


def kappa_figure(contrast_rows: list[dict], size_rows: list[dict], bound: float):
    r"""(a) :math:`\kappa` against the contrast of the channel field per coarse space, with GenEO's bound; (b) PCG
    iterations against the contrast; (c) :math:`\kappa` against ``n`` at fixed :math:`H/h`."""
    coarses = [c for c in COARSE_STYLE if any(r["coarse"] == c for r in contrast_rows)]
    fig, axes, _ = panel_grid(3, height=2.3)
    _coarse_lines(axes[0], contrast_rows, "contrast", "kappa", coarses)
    axes[0].axhline(bound, ls=":", lw=1, label="GenEO bound", color=role_style("oracle")["color"])
    _coarse_lines(axes[1], contrast_rows, "contrast", "iterations", coarses)
    _coarse_lines(axes[2], size_rows, "n", "kappa", coarses)
    titles = [r"(a) $\kappa(M^{-1}A)$", "(b) PCG iterations", r"(c) $\kappa$ against $n$"]
    labels = [("contrast", r"$\kappa(M^{-1}A)$"), ("contrast", "iterations"), ("unknowns n (fixed $H/h$)", r"$\kappa$")]
    for ax, title, (xl, yl) in zip(axes, titles, labels):
        ax.set(xscale="log", yscale="log", title=title, xlabel=xl, ylabel=yl)
    legend_below(fig, axes, ncol=3)
    return finish(fig)


def amg_figure(rows: list[dict]):
    """(a) setup + solve seconds and (b) CG iterations against ``n`` for every solver of :mod:`ddlib.amg`."""
    fig, axes, _ = panel_grid(2, height=2.4)
    for method, style in METHOD_STYLE.items():
        sel = sorted((r for r in rows if r["method"] == method), key=lambda r: r["n"])
        if not sel:
            continue
        n = [r["n"] for r in sel]
        axes[0].plot(n, [r["setup_s"] + r["solve_s"] for r in sel], **style)
        if method != "direct":
            axes[1].plot(n, [r["iterations"] for r in sel], **style)
    for ax, (title, yl) in zip(axes, [("(a) setup + solve", "seconds"), ("(b) CG iterations to 1e-8", "iterations")]):
        ax.set(xscale="log", yscale="log", title=title, xlabel="unknowns n", ylabel=yl)
    legend_below(fig, axes, ncol=3)
    return finish(fig)


def learning_figure(angles: np.ndarray, operator_rows: list[dict]):
    r"""(a) Principal angles between the learned span and GenEO's of the same dimension (energy inner product);
    (b) as a solution operator: the structural floors (Q1 and GenEO coarse spaces), the trained DD operator's error
    and the Eckart-Young error of a global operator with as many parameters, against the contrast."""
    fig, axes, _ = panel_grid(2, height=2.4)
    axes[0].plot(np.arange(1, len(angles) + 1), angles, **_style("dd", 0, "learned span against GenEO's"))
    axes[0].set(title="(a) principal angles of the spans", xlabel="index", ylabel="angle (degrees)", ylim=(0, 92))
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    rows = sorted(operator_rows, key=lambda r: r["contrast"])
    x = [r["contrast"] for r in rows]
    series = [("floor_q1", _style("oracle", 0, "floor, Q1 coarse space")),
              ("floor_geneo", _style("oracle", 1, "floor, GenEO coarse space")),
              ("trained", _style("dd", 0, "trained DD attention")),
              ("eckart_young", _style("global", 0, "global, Eckart-Young"))]
    for key, style in series:
        if any(key in r for r in rows):
            axes[1].plot(x, [r.get(key, np.nan) for r in rows], **style)
    axes[1].set(xscale="log", yscale="log", title="(b) relative operator error", xlabel="contrast",
                ylabel=r"$\|M - A^{-1}\|_2/\|A^{-1}\|_2$")
    legend_below(fig, axes, ncol=2)
    return finish(fig)
