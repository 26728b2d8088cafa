"""Figures of chapter 2: the decomposition, classical Schwarz scaling, and the exact 1D decomposition."""
from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm

from .style import finish, legend_below, panel_grid, role_style, sequence_colors

__all__ = ["decomposition_figure", "scaling_figure", "exact_decomposition_figure", "SERIES_STYLE"]

#: Style of each measured series of the scaling figure, by series name (see ddlib.schwarz.SERIES): one level is the
#: local level alone; the two-level methods are variants of classical Schwarz.
SERIES_STYLE = {
    "one-level ASM": role_style("local"),
    "two-level ASM, hat": role_style("classical", 0),
    "two-level ASM, Nicolaides": role_style("classical", 1),
    "two-level weighted, multiplicity": role_style("classical", 2),
    "two-level weighted, ramp": role_style("classical", 3),
}


def _full(dec_indices, padded, n):
    """(N, n) array with row i holding the padded weights of subdomain i at its nodes (0 elsewhere)."""
    out = np.zeros((len(dec_indices), n))
    for i, idx in enumerate(dec_indices):
        out[i, idx] = padded[i, : idx.size]
    return out


def decomposition_figure(x: np.ndarray, indices: list, block_bounds: np.ndarray, partitions: dict,
                         phi_hat: np.ndarray, phi_nicolaides: np.ndarray, delta: int):
    """Subdomains, the partitions of unity ``D_i`` and ``D_i^{1/2}``, and the coarse bases, in six panels.

    ``partitions`` maps a name to the padded ``(N, n_max)`` weights; ``phi_*`` are dense ``n x N_0`` bases.
    """
    n, N = x.size, len(indices)
    colors = sequence_colors(N)
    fig, axes, _ = panel_grid(6, height=1.85, sharex=True)
    ax = axes[0]
    for i, idx in enumerate(indices):
        ax.plot([x[idx[0]], x[idx[-1]]], [i, i], lw=6, color=colors[i], alpha=0.35, solid_capstyle="butt")
        lo, hi = block_bounds[i]
        ax.plot([x[lo], x[hi - 1]], [i, i], lw=6, color=colors[i], solid_capstyle="butt")
        ax.plot(x[idx], np.full(idx.size, i), "|", color="k", ms=5, mew=0.6)
    ax.set(title="(a) subdomains", ylabel="subdomain $i$", yticks=range(N), ylim=(N - 0.5, -0.5))
    panels = [("multiplicity", False, axes[1], "(b) $D_i$, multiplicity"),
              ("ramp", False, axes[2], "(c) $D_i$, ramp"),
              ("boolean", False, axes[3], "(d) $D_i$, Boolean"),
              ("ramp", True, axes[4], r"(e) $D_i^{1/2}$")]
    for name, root, ax, title in panels:
        W = _full(indices, partitions[name], n)
        Wm = _full(indices, partitions["multiplicity"], n) if root else None
        for i in range(N):
            ax.plot(x, np.sqrt(W[i]) if root else W[i], ".-", ms=2.5, lw=1, color=colors[i])
            if root:
                ax.plot(x, np.sqrt(Wm[i]), ":", lw=1, color=colors[i])
        total = (np.sqrt(W) ** 2 if root else W).sum(axis=0)
        ax.plot(x, total, "-", color="black", lw=0.8)
        ax.set(title=title, ylim=(-0.05, 1.12))
    ax = axes[5]
    hat, nic = role_style("classical", 0), role_style("coarse", 1)
    for i in range(phi_hat.shape[1]):
        ax.plot(x, phi_hat[:, i], ls="-", color=hat["color"], lw=1.2, label="hat" if i == 0 else None)
    for i in range(phi_nicolaides.shape[1]):
        ax.plot(x, phi_nicolaides[:, i], ls="--", color=nic["color"], lw=1,
                label="Nicolaides (ramp)" if i == 0 else None)
    ax.set(title=r"(f) coarse bases $\Phi$", ylim=(-0.05, 1.12))
    for ax in axes[3:]:
        ax.set_xlabel("$x$")
    legend_below(fig, [axes[5]], ncol=2)
    return finish(fig)


def scaling_figure(rows: list[dict], studies: dict, series: list[str]):
    """Condition numbers (top) and PCG iterations (bottom) against N, n and delta, with the bounds.

    ``rows`` come from :func:`ddlib.schwarz.scaling_study` with bounds attached by :func:`ddlib.schwarz.add_bounds`;
    ``studies`` maps a study name (``"N"``, ``"n"``, ``"delta"``) to a short title of its column.
    """
    fig, axes, _ = panel_grid(2 * len(studies), ncols=len(studies), height=2.05)
    top, bottom = axes[: len(studies)], axes[len(studies):]
    xlabels = {"N": "subdomains $N$", "n": "grid nodes $n$", "delta": r"overlap $\delta$ (nodes)"}
    for c, (study, title) in enumerate(studies.items()):
        for name in series:
            sel = sorted((r for r in rows if r["study"] == study and r["series"] == name), key=lambda r: r[study])
            if not sel:
                continue
            st = SERIES_STYLE[name]
            xs = np.array([r[study] for r in sel], dtype=float)
            top[c].plot(xs, [r["kappa"] for r in sel], label=name, **st)
            bottom[c].plot(xs, [r["pcg_iterations"] for r in sel], label=name, **st)
            if sel[0].get("bound") is not None:
                kind = "bound $1 + N_c$" if sel[0]["bound_kind"] == "theorem" else "fitted $C\\cdot$shape"
                top[c].plot(xs, [r["bound"] for r in sel], ":", color=st["color"], lw=1.5, label=f"{kind}, {name}")
        for ax in (top[c], bottom[c]):
            ax.set_yscale("log")
            if study != "delta":
                ax.set_xscale("log", base=2)
            ax.minorticks_off()
            ax.set_xlabel(xlabels[study])
        top[c].set_title(f"({'abc'[c]}) $\\kappa$, {title}")
        bottom[c].set_title(f"({'def'[c]}) iterations, {title}")
    top[0].set_ylabel(r"$\kappa(M^{-1}A)$")
    bottom[0].set_ylabel("PCG iterations")
    legend_below(fig, axes, ncol=2)
    return finish(fig)


def exact_decomposition_figure(x: np.ndarray, Ainv: np.ndarray, coarse: np.ndarray, local: np.ndarray,
                               weighted: np.ndarray, column: int, delta: int):
    r""":math:`A^{-1}`, its coarse and local parts, the remainder, one column split, and the weighted form's gap.

    ``weighted`` is the dense two-level weighted operator :math:`\Phi A_0^{-1}\Phi^T + \sum_i R_i^T D_i^{1/2}
    A_i^{-1} D_i^{1/2} R_i` with overlap ``delta``.
    """
    fig, axes, _ = panel_grid(6, height=2.0)
    vmax = np.abs(Ainv).max()
    ext = (x[0], x[-1], x[-1], x[0])
    for ax, M, title in ((axes[0], Ainv, "(a) $A^{-1}$"), (axes[1], coarse, "(b) coarse part"),
                         (axes[2], local, "(c) local part")):
        im = ax.imshow(M, vmin=0, vmax=vmax, extent=ext)
        ax.set(title=title, xlabel="$x_j$")
        ax.grid(False)
    fig.colorbar(im, ax=axes[2], shrink=0.85)
    axes[0].set_ylabel("$x_i$")
    tiny = np.finfo(float).tiny
    ax = axes[3]
    R = np.abs(Ainv - coarse - local) / vmax
    im = ax.imshow(np.maximum(R, 1e-18), cmap="magma", norm=LogNorm(1e-18, 1e-14), extent=ext)
    fig.colorbar(im, ax=ax, shrink=0.85).ax.minorticks_off()
    ax.set(title="(d) remainder", xlabel="$x_j$", ylabel="$x_i$")
    ax.grid(False)
    ax = axes[4]
    ax.plot(x, Ainv[:, column], "-", color="black", lw=2.2, label="$A^{-1}e_j$")
    ax.plot(x, coarse[:, column], "--", color=role_style("coarse")["color"], label="coarse part")
    ax.plot(x, local[:, column], "-.", color=role_style("local")["color"], label="local part")
    ax.set(title=f"(e) column at $x_j$ = {x[column]:.2f}", xlabel="$x_i$")
    ax = axes[5]
    G = np.abs(Ainv - weighted) / vmax
    im = ax.imshow(np.maximum(G, tiny), cmap="magma", norm=LogNorm(max(G.max() * 1e-4, tiny), G.max()), extent=ext)
    fig.colorbar(im, ax=ax, shrink=0.85).ax.minorticks_off()
    ax.set(title=f"(f) weighted, $\\delta$ = {delta}", xlabel="$x_j$")
    ax.grid(False)
    legend_below(fig, [axes[4]], ncol=3)
    return finish(fig)
