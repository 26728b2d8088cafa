"""Figure F1: the model problem (chapter 1)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from ..data import Dataset
from .style import COLORS

__all__ = ["model_problem_figure"]


def model_problem_figure(n: int, inverse: np.ndarray, eig_closed: np.ndarray, eig_computed: np.ndarray,
                         study: dict, sets: dict[str, Dataset], samples: int = 3):
    """F1 in three rows: A^{-1} and Green's-function columns; the spectrum and the convergence study; the data sets.

    The bottom row draws ``samples`` solutions of each set, each divided by its maximum modulus.
    """
    fig = plt.figure(figsize=(10, 8.2))
    gs = fig.add_gridspec(3, 4)
    x = np.arange(1, n + 1) / (n + 1)

    ax = fig.add_subplot(gs[0, :2])
    im = ax.imshow(inverse, cmap="viridis", extent=(0, 1, 1, 0))
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set(title=r"(a) $A^{-1}$ = $h\,G(x_i, x_j)$", xlabel="$x_j$", ylabel="$x_i$")
    ax.grid(False)

    ax = fig.add_subplot(gs[0, 2:])
    for j in np.linspace(0, n - 1, 5).astype(int)[1:-1]:
        ax.plot(x, inverse[:, j] / (1.0 / (n + 1)), label=f"$y = {x[j]:.2f}$")
    ax.set(title=r"(b) columns of $A^{-1}/h$: Green's function $G(\cdot, y)$", xlabel="$x$")
    ax.legend()

    ax = fig.add_subplot(gs[1, :2])
    k = np.arange(1, n + 1)
    ax.loglog(k, eig_computed, "o", ms=3, color=COLORS["other"], label="computed (dense eigvalsh)")
    ax.loglog(k, eig_closed, "-", color=COLORS["exact"], lw=1, label=r"$\lambda_k = 4h^{-2}\sin^2(k\pi h/2)$")
    ax.loglog(k, (np.pi * k) ** 2, ":", color=COLORS["coarse"], label=r"$(k\pi)^2$ (continuum)")
    ax.set(title="(c) spectrum of $A$", xlabel="$k$", ylabel=r"$\lambda_k$")
    ax.legend()

    ax = fig.add_subplot(gs[1, 2:])
    ax.loglog(study["h"], study["error"], "o-", color=COLORS["dd"], label=r"$\max_j |u(x_j) - u_j|$")
    ref = study["error"][0] * (study["h"] / study["h"][0]) ** 2
    ax.loglog(study["h"], ref, "--", color=COLORS["exact"], lw=1, label="slope 2")
    ax.set(title="(d) convergence on a manufactured solution", xlabel="$h$", ylabel="max-norm error")
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor-tick labels of a short log axis overlap
    ax.legend()

    titles = {"train": "training band", "in_band": "in-band test", "out_of_band": "out-of-band test",
              "noise": "white noise", "point_loads": "point loads"}
    names = [s for s in ("train", "out_of_band", "noise", "point_loads") if s in sets]
    for c, name in enumerate(names):
        ax = fig.add_subplot(gs[2, c])
        d = sets[name]
        for s in range(min(samples, len(d))):
            ax.plot(x, d.u[s] / np.max(np.abs(d.u[s])), lw=1)
        band = f", modes {d.modes[0]}..{d.modes[1]}" if d.modes else ""
        ax.set(title=f"({'efgh'[c]}) {titles[name]}{band}", xlabel="$x$")
        if c == 0:
            ax.set_ylabel(r"$u / \max|u|$")
        ax.title.set_fontsize(8)
    return fig
