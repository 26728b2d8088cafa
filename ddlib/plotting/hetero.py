"""Figures of the chapter "High-contrast coefficients": fields beside solutions, κ against contrast and size, AMG
against Schwarz, and what learning found."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter, ScalarFormatter

from .style import COLORS

__all__ = ["fields_figure", "kappa_figure", "amg_figure", "learning_figure", "COARSE_STYLE", "METHOD_STYLE"]

#: Colour, marker and label of each coarse space.
COARSE_STYLE = {"none": (COLORS["other"], "x", "one level"), "q1": (COLORS["classical"], "s", "Q1"),
                "nicolaides": (COLORS["local"], "^", "Nicolaides"), "geneo": (COLORS["exact"], "o", "GenEO"),
                "learned": (COLORS["dd"], "D", "learned")}
#: Colour, marker, line style and label of each solver of :mod:`ddlib.amg`.
METHOD_STYLE = {"direct": ("black", "*", "-", "sparse direct (SuperLU)"),
                "sa_default": (COLORS["global"], "v", ":", "SA, defaults"),
                "sa": (COLORS["global"], "v", "-", "SA, tuned"),
                "rs_default": (COLORS["coarse"], "^", ":", "RS, defaults"),
                "rs": (COLORS["coarse"], "^", "-", "RS, tuned"),
                "schwarz_q1": (COLORS["classical"], "s", "-", "Schwarz, Q1"),
                "schwarz_geneo": (COLORS["dd"], "o", "-", "Schwarz, GenEO")}


def fields_figure(problems: dict, solutions: dict):
    r"""Each field :math:`\log_{10}a` (top) above the solution of :math:`-\nabla\cdot(a\nabla u) = 1` (bottom); the
    dicts map a title to a 2D problem and to its solution vector."""
    names = list(problems)
    fig, axes = plt.subplots(2, len(names), figsize=(2.4 * len(names), 4.6), squeeze=False)
    for c, name in enumerate(names):
        P = problems[name]
        a = np.log10(P.coefficient)
        im = axes[0, c].imshow(a.T, origin="lower", extent=(0, 1, 0, 1), cmap="viridis")
        fig.colorbar(im, ax=axes[0, c], shrink=0.8, label=r"$\log_{10} a$")
        axes[0, c].set_title(f"({'abc'[c]}) {name}")
        u = solutions[name].reshape(P.shape)
        im = axes[1, c].imshow(u.T, origin="lower", extent=(0, 1, 0, 1), cmap="magma")
        fig.colorbar(im, ax=axes[1, c], shrink=0.8, label="u")
        axes[1, c].set_title(f"({'def'[c]}) solution")
        for r in range(2):
            axes[r, c].set_xlabel("x")
            axes[r, c].set_ylabel("y")
            axes[r, c].grid(False)
    return fig


def _coarse_lines(ax, rows, x, y, coarses):
    for c in coarses:
        sel = sorted((r for r in rows if r["coarse"] == c), key=lambda r: r[x])
        if sel:
            color, marker, label = COARSE_STYLE[c]
            ax.plot([r[x] for r in sel], [r[y] for r in sel], marker=marker, color=color, label=label, ms=4, lw=1.2)


def kappa_figure(contrast_rows: list[dict], size_rows: list[dict], bound: float):
    r"""(a) :math:`\kappa` against the contrast of the channel field per coarse space, with GenEO's bound; (b) PCG
    iterations against the contrast; (c) :math:`\kappa` against ``n`` at fixed :math:`H/h`."""
    coarses = [c for c in COARSE_STYLE if any(r["coarse"] == c for r in contrast_rows)]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    _coarse_lines(axes[0], contrast_rows, "contrast", "kappa", coarses)
    axes[0].axhline(bound, color=COLORS["exact"], ls=":", lw=1, label="GenEO bound")
    _coarse_lines(axes[1], contrast_rows, "contrast", "iterations", coarses)
    _coarse_lines(axes[2], size_rows, "n", "kappa", coarses)
    titles = [r"(a) $\kappa(M^{-1}A)$ against contrast", "(b) PCG iterations", r"(c) $\kappa$ against $n$, fixed $H/h$"]
    labels = [("contrast", r"$\kappa(M^{-1}A)$"), ("contrast", "iterations"), ("unknowns n", r"$\kappa(M^{-1}A)$")]
    for ax, title, (xl, yl) in zip(axes, titles, labels):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    for ax in axes[1:]:  # iterations and sizes span one or two decades: plain numbers at 1, 2, 5 x 10^k
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    axes[2].xaxis.set_minor_formatter(NullFormatter())
    axes[0].legend(loc="upper left", fontsize=7)
    return fig


def amg_figure(rows: list[dict]):
    """(a) setup + solve seconds and (b) CG iterations against ``n`` for every solver of :mod:`ddlib.amg`
    (an open marker: not converged within the iteration cap)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.4))
    for method, (color, marker, ls, label) in METHOD_STYLE.items():
        sel = sorted((r for r in rows if r["method"] == method), key=lambda r: r["n"])
        if not sel:
            continue
        n = [r["n"] for r in sel]
        axes[0].plot(n, [r["setup_s"] + r["solve_s"] for r in sel], marker=marker, ls=ls, color=color, label=label,
                     ms=4, lw=1.2)
        if method != "direct":
            axes[1].plot(n, [r["iterations"] for r in sel], marker=marker, ls=ls, color=color, label=label, ms=4,
                         lw=1.2)
    for ax, (title, yl) in zip(axes, [("(a) setup + solve", "seconds"), ("(b) CG iterations to 1e-8", "iterations")]):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("unknowns n")
        ax.set_ylabel(yl)
    axes[0].legend(fontsize=7)
    return fig


def learning_figure(angles: np.ndarray, operator_rows: list[dict]):
    r"""(a) Principal angles between the learned span and GenEO's of the same dimension (energy inner product);
    (b) as a solution operator: the structural floors (Q1 and GenEO coarse spaces), the trained DD operator's error
    and the Eckart-Young error of a global operator with as many parameters, against the contrast."""
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.4))
    axes[0].plot(np.arange(1, len(angles) + 1), angles, "o-", color=COLORS["dd"], ms=3, lw=1,
                 label="learned vs GenEO")
    axes[0].set_title("(a) principal angles of the spans")
    axes[0].set_xlabel("index")
    axes[0].set_ylabel("angle (degrees)")
    axes[0].set_ylim(0, 92)
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    rows = sorted(operator_rows, key=lambda r: r["contrast"])
    x = [r["contrast"] for r in rows]
    series = [("floor_q1", COLORS["classical"], "s", "floor, Q1 coarse space"),
              ("floor_geneo", COLORS["exact"], "o", "floor, GenEO coarse space"),
              ("trained", COLORS["dd"], "D", "trained DD attention"),
              ("eckart_young", COLORS["global"], "v", "global, Eckart-Young")]
    for key, color, marker, label in series:
        if any(key in r for r in rows):
            axes[1].plot(x, [r.get(key, np.nan) for r in rows], marker=marker, color=color, label=label, ms=4,
                         lw=1.2)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_title("(b) relative operator error")
    axes[1].set_xlabel("contrast")
    axes[1].set_ylabel(r"$\|M - A^{-1}\|_2/\|A^{-1}\|_2$")
    axes[1].legend(fontsize=7)
    axes[0].legend(fontsize=7)
    return fig
