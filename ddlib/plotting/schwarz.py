"""Figures F2, F3 and F4: the decomposition, classical Schwarz scaling, and the exact 1D decomposition (chapter 2)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import LogLocator, ScalarFormatter

from .style import COLORS

__all__ = ["decomposition_figure", "scaling_figure", "exact_decomposition_figure", "SERIES_STYLE"]

#: Colour, marker and line style of each measured series of F3, by series name (see ddlib.schwarz.SERIES).
SERIES_STYLE = {
    "one-level ASM": dict(color=COLORS["global"], marker="o", ls="-"),
    "two-level ASM, hat": dict(color=COLORS["classical"], marker="s", ls="-"),
    "two-level ASM, Nicolaides": dict(color=COLORS["coarse"], marker="^", ls="-"),
    "two-level weighted, multiplicity": dict(color=COLORS["dd"], marker="D", ls="--"),
    "two-level weighted, ramp": dict(color=COLORS["local"], marker="v", ls="--"),
}


def _full(dec_indices, padded, n):
    """(N, n) array with row i holding the padded weights of subdomain i at its nodes (0 elsewhere)."""
    out = np.zeros((len(dec_indices), n))
    for i, idx in enumerate(dec_indices):
        out[i, idx] = padded[i, : idx.size]
    return out


def decomposition_figure(x: np.ndarray, indices: list, block_bounds: np.ndarray, partitions: dict,
                         phi_hat: np.ndarray, phi_nicolaides: np.ndarray, delta: int):
    """F2: subdomains, the partitions of unity ``D_i`` and ``D_i^{1/2}``, and the coarse bases.

    ``partitions`` maps a name to the padded ``(N, n_max)`` weights; ``phi_*`` are dense ``n x N_0`` bases.
    """
    n, N = x.size, len(indices)
    colors = plt.get_cmap("tab10")(np.arange(N) % 10)
    fig, axes = plt.subplots(2, 3, figsize=(10.5, 5.6), sharex=True)
    ax = axes[0, 0]
    for i, idx in enumerate(indices):
        a, b = x[idx[0]], x[idx[-1]]
        ax.plot([a, b], [i, i], lw=6, color=colors[i], alpha=0.35, solid_capstyle="butt")
        lo, hi = block_bounds[i]
        ax.plot([x[lo], x[hi - 1]], [i, i], lw=6, color=colors[i], solid_capstyle="butt")
        ax.plot(x[idx], np.full(idx.size, i), "|", color="k", ms=5, mew=0.6)
    ax.set(title=f"(a) subdomains (dark: blocks, light: overlap, $\\delta$ = {delta})", ylabel="subdomain $i$",
           yticks=range(N))
    ax.invert_yaxis()
    panels = [("multiplicity", False, axes[0, 1], "(b) $D_i$, multiplicity"),
              ("ramp", False, axes[0, 2], "(c) $D_i$, ramp"),
              ("boolean", False, axes[1, 0], "(d) $D_i$, Boolean owner"),
              ("ramp", True, axes[1, 1], r"(e) $D_i^{1/2}$: ramp (solid), multiplicity (dotted)")]
    for name, root, ax, title in panels:
        W = _full(indices, partitions[name], n)
        for i in range(N):
            ax.plot(x, np.sqrt(W[i]) if root else W[i], ".-", ms=2.5, lw=1, color=colors[i])
            if root:
                Wm = _full(indices, partitions["multiplicity"], n)
                ax.plot(x, np.sqrt(Wm[i]), ":", lw=1, color=colors[i])
        total = (np.sqrt(W) ** 2 if root else W).sum(axis=0)
        ax.plot(x, total, "-", color=COLORS["exact"], lw=0.8)
        ax.set(title=title, ylim=(-0.05, 1.12))
        ax.title.set_fontsize(9)
    ax = axes[1, 2]
    for i in range(phi_hat.shape[1]):
        ax.plot(x, phi_hat[:, i], "-", lw=1.2, color=COLORS["classical"], label="hat" if i == 0 else None)
    for i in range(phi_nicolaides.shape[1]):
        ax.plot(x, phi_nicolaides[:, i], "--", lw=1, color=COLORS["coarse"],
                label="Nicolaides (ramp)" if i == 0 else None)
    ax.set(title=r"(f) coarse bases $\Phi$", ylim=(-0.05, 1.12))
    ax.legend(loc="center left", fontsize=7, framealpha=1)
    for ax in axes[1]:
        ax.set_xlabel("$x$")
    return fig


def scaling_figure(rows: list[dict], studies: dict, series: list[str]):
    """F3: condition numbers (top) and PCG iterations (bottom) against N, n and delta, with the bounds.

    ``rows`` come from :func:`ddlib.schwarz.scaling_study` with bounds attached by :func:`ddlib.schwarz.add_bounds`;
    ``studies`` maps a study name (``"N"``, ``"n"``, ``"delta"``) to the title of its column.
    """
    fig, axes = plt.subplots(2, len(studies), figsize=(11, 6.6), squeeze=False)
    for c, (study, title) in enumerate(studies.items()):
        for name in series:
            sel = sorted((r for r in rows if r["study"] == study and r["series"] == name), key=lambda r: r[study])
            if not sel:
                continue
            st = SERIES_STYLE[name]
            xs = np.array([r[study] for r in sel], dtype=float)
            for row, key in ((0, "kappa"), (1, "pcg_iterations")):
                axes[row, c].plot(xs, [r[key] for r in sel], marker=st["marker"], ls=st["ls"], color=st["color"],
                                  ms=4, lw=1.2, label=name)
            if sel[0].get("bound") is not None:
                label = "bound " + ("$1 + N_c$" if sel[0]["bound_kind"] == "theorem" else "fitted $C\\cdot$shape")
                axes[0, c].plot(xs, [r["bound"] for r in sel], ":", color=st["color"], lw=1.5,
                                label=f"{label} ({name})" if c == 0 else None)
        for row in range(2):
            ax = axes[row, c]
            ax.set_yscale("log")
            if study != "delta":
                ax.set_xscale("log", base=2)
            ax.minorticks_off()  # minor log ticks cost most of the drawing time and add little
            if row == 1:  # a short range of iteration counts gets a 3 tick too, or it may show no label above 20
                its = [r["pcg_iterations"] for r in rows if r["study"] == study and r["pcg_iterations"] > 0]
                short = bool(its) and max(its) / min(its) < 100
                ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0) if short else (1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.set_xlabel({"N": "subdomains $N$", "n": "grid nodes $n$", "delta": r"overlap $\delta$ (nodes)"}[study])
        axes[0, c].set_title(f"({'abc'[c]}) $\\kappa(M^{{-1}}A)$, {title}")
        axes[1, c].set_title(f"({'def'[c]}) PCG iterations, {title}")
        for row in range(2):
            axes[row, c].title.set_fontsize(9)
    axes[0, 0].set_ylabel(r"$\kappa(M^{-1}A)$")
    axes[1, 0].set_ylabel(r"iterations to $\|r\|_2 \leq 10^{-8}\|b\|_2$")
    handles, labels = [], []
    for ax in (axes[0, 0], axes[1, 0]):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=7.5)
    return fig


def exact_decomposition_figure(x: np.ndarray, Ainv: np.ndarray, coarse: np.ndarray, local: np.ndarray,
                               weighted: np.ndarray, column: int, delta: int):
    r"""F4: :math:`A^{-1}`, its coarse and local parts, the remainder, one column split, and the weighted form's gap.

    ``weighted`` is the dense two-level weighted operator :math:`\Phi A_0^{-1}\Phi^T + \sum_i R_i^T D_i^{1/2}
    A_i^{-1} D_i^{1/2} R_i` with overlap ``delta``.
    """
    fig, axes = plt.subplots(2, 3, figsize=(10.5, 6.4))
    vmax = np.abs(Ainv).max()
    ext = (x[0], x[-1], x[-1], x[0])
    for ax, M, title in ((axes[0, 0], Ainv, "(a) $A^{-1}$"),
                         (axes[0, 1], coarse, r"(b) coarse part $\Phi A_0^{-1}\Phi^T$"),
                         (axes[0, 2], local, r"(c) local part $\sum_E R_E^T A_E^{-1} R_E$")):
        im = ax.imshow(M, cmap="viridis", vmin=0, vmax=vmax, extent=ext)
        ax.set(title=title, xlabel="$x_j$")
        ax.grid(False)
    fig.colorbar(im, ax=axes[0, 2], shrink=0.8)
    axes[0, 0].set_ylabel("$x_i$")
    tiny = np.finfo(float).tiny
    ax = axes[1, 0]
    R = np.abs(Ainv - coarse - local) / vmax
    im = ax.imshow(np.maximum(R, 1e-18), cmap="magma", norm=LogNorm(1e-18, 1e-14), extent=ext)
    fig.colorbar(im, ax=ax, shrink=0.8).ax.minorticks_off()
    ax.set(title=r"(d) $|A^{-1} - \Phi A_0^{-1}\Phi^T - \sum_E\dots| / \max|A^{-1}|$", xlabel="$x_j$", ylabel="$x_i$")
    ax.title.set_fontsize(8.5)
    ax.grid(False)
    ax = axes[1, 1]
    ax.plot(x, Ainv[:, column], "-", color=COLORS["exact"], lw=2.2, label="$A^{-1}e_j$")
    ax.plot(x, coarse[:, column], "--", color=COLORS["coarse"], label="coarse part")
    ax.plot(x, local[:, column], "-.", color=COLORS["local"], label="local part")
    ax.set(title=f"(e) column $j$ at $x_j$ = {x[column]:.3f}", xlabel="$x_i$")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    G = np.abs(Ainv - weighted) / vmax
    im = ax.imshow(np.maximum(G, tiny), cmap="magma", norm=LogNorm(max(G.max() * 1e-4, tiny), G.max()), extent=ext)
    fig.colorbar(im, ax=ax, shrink=0.8).ax.minorticks_off()
    ax.set(title=f"(f) $|A^{{-1}} - M^{{-1}}_{{w}}|$ / max, weighted form, $\\delta$ = {delta}",
           xlabel="$x_j$")
    ax.title.set_fontsize(8.5)
    ax.grid(False)
    return fig
