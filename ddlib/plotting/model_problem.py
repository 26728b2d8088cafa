"""Figures of chapter 1: the operator (its inverse, spectrum and convergence) and the data sets."""
from __future__ import annotations

import numpy as np

from ..data import Dataset
from .style import ROLE_STYLE, finish, legend_below, panel_grid, role_style, sequence_colors

__all__ = ["model_problem_figure", "data_sets_figure"]

_SET_TITLES = {"train": "training band", "in_band": "in-band test", "out_of_band": "out-of-band test",
               "noise": "white noise", "point_loads": "point loads"}


def model_problem_figure(n: int, inverse: np.ndarray, eig_closed: np.ndarray, eig_computed: np.ndarray,
                         study: dict):
    """Four panels: (a) :math:`A^{-1}`; (b) columns of :math:`A^{-1}/h`, the Green's function; (c) the spectrum,
    computed against :math:`\\lambda_k = 4h^{-2}\\sin^2(k\\pi h/2)` and the continuum :math:`(k\\pi)^2`; (d) the
    maximum nodal error of :func:`ddlib.problem.convergence_study` (``study``) with slope 2."""
    fig, (a, b, c, d), _ = panel_grid(4, ncols=2, height=2.3)
    x = np.arange(1, n + 1) / (n + 1)
    im = a.imshow(inverse, extent=(0, 1, 1, 0))
    fig.colorbar(im, ax=a, shrink=0.85)
    a.set(title="(a) $A^{-1} = h\\,G(x_i, x_j)$", xlabel="$x_j$", ylabel="$x_i$")
    a.grid(False)

    cols = np.linspace(0, n - 1, 5).astype(int)[1:-1]
    for j, color in zip(cols, sequence_colors(len(cols))):
        b.plot(x, inverse[:, j] * (n + 1), color=color, label=f"$y = {x[j]:.2f}$")
    b.set(title="(b) columns of $A^{-1}/h$", xlabel="$x$", ylabel="$G(x, y)$")
    b.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, handlelength=1.2)

    k = np.arange(1, n + 1)
    ref = ROLE_STYLE["reference"]["color"]
    c.loglog(k, eig_computed, "o", ms=2.5, mfc="none", color=ref, label="computed")
    c.loglog(k, eig_closed, "-", color="black", lw=1, label="closed form")
    c.loglog(k, (np.pi * k) ** 2, ":", color=ref, label="$(k\\pi)^2$")
    c.set(title="(c) spectrum of $A$", xlabel="$k$", ylabel="$\\lambda_k$")

    st = role_style("reference")
    d.loglog(study["h"], study["error"], marker="o", color="black", label="max nodal error")
    slope = study["error"][0] * (study["h"] / study["h"][0]) ** 2
    d.loglog(study["h"], slope, ls="--", color=st["color"], lw=1, label="slope 2")
    d.set(title="(d) convergence", xlabel="$h$", ylabel="max nodal error")
    legend_below(fig, [c, d], ncol=3)
    return finish(fig)


def data_sets_figure(n: int, sets: dict[str, Dataset], samples: int = 3):
    """One panel per data set (training band, out-of-band, white noise, point loads, those present in ``sets``):
    ``samples`` solutions ``u``, each divided by its largest modulus."""
    names = [s for s in ("train", "out_of_band", "noise", "point_loads") if s in sets]
    if not names:
        raise ValueError(f"sets must hold at least one of train, out_of_band, noise, point_loads; got {sorted(sets)}")
    fig, axes, _ = panel_grid(len(names), ncols=2, height=1.9, sharex=True, sharey=True)
    x = np.arange(1, n + 1) / (n + 1)
    colors = sequence_colors(samples)
    for ax, name in zip(axes, names):
        d = sets[name]
        for s in range(min(samples, len(d))):
            ax.plot(x, d.u[s] / np.max(np.abs(d.u[s])), lw=1, color=colors[s])
        band = f", modes {d.modes[0]}–{d.modes[1]}" if d.modes else ""
        ax.set_title(f"({'abcd'[names.index(name)]}) {_SET_TITLES[name]}{band}")
    for ax in axes[-2:]:
        ax.set_xlabel("$x$")
    for ax in axes[::2]:
        ax.set_ylabel("$u / \\max|u|$")
    return finish(fig)
