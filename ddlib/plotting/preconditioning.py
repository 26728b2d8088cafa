"""Figure of chapter 6, a learned preconditioner: PCG iterations and condition numbers against n and against the
local rank, and what each preconditioner stores."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import finish, legend_below, panel_grid, role_style

__all__ = ["LABELS", "LOSS_LABELS", "SHARED_STYLE", "preconditioning_figure"]

#: The name of each preconditioner of :mod:`ddlib.preconditioning` in figures and tables.
LABELS = {
    "none": "CG, none",
    "as1": "additive Schwarz, 1 level",
    "as2": "additive Schwarz, 2 levels",
    "jacobi_coarse": "Jacobi + coarse level",
    "oracle": "truncated element oracle + Jacobi",
    "learned_dd_shared": "learned, shared, trained once",
    "learned_dd": "learned DD per n on the band",
    "learned_global": "learned global per n on the band",
}
#: The training targets of :data:`ddlib.preconditioning.LOSS_VARIANTS` in tables (k steps of the loss).
LOSS_LABELS = {
    "frobenius_l2": "‖I − MA‖²_F: white probes, one step, Euclidean loss",
    "frobenius_energy": "(1/n) Σ (1 − μ)²: energy probes, one step, energy loss",
    "richardson": "(1/n) Σ (1 − μ)^(2k): k Richardson steps",
    "pcg": "energy error after k PCG steps",
    "steepest_descent": "energy error after k steepest-descent steps (chosen)",
}


def _style(role, variant, label):
    st = role_style(role, variant)
    return st["color"], st["marker"], st["ls"], label


#: Colour, marker, line style and label of each preconditioner: one-level Schwarz is the local level alone, Jacobi
#: plus the coarse level the coarse level (with a diagonal), the truncated element operator an oracle.
SHARED_STYLE = {
    "as1": _style("local", 0, LABELS["as1"]),
    "as2": _style("classical", 0, LABELS["as2"]),
    "jacobi_coarse": _style("coarse", 0, LABELS["jacobi_coarse"]),
    "oracle": _style("oracle", 1, LABELS["oracle"]),
    "learned_dd_shared": _style("dd", 0, LABELS["learned_dd_shared"]),
    "learned_dd": _style("dd", 1, LABELS["learned_dd"] + " (old)"),
}
_GREY = role_style("reference")["color"]


def _by_name(rows: list[dict], name: str) -> list[dict]:
    return sorted((r for r in rows if r["preconditioner"] == name), key=lambda r: r["n"])


def _against_n(ax, rows: list[dict], key: str) -> None:
    for name, (c, mk, ls, lab) in SHARED_STYLE.items():
        rr = _by_name(rows, name)
        if rr:
            ax.loglog([r["n"] for r in rr], [max(r[key], 1) for r in rr], marker=mk, ls=ls, color=c, label=lab,
                      mfc="white" if ls == "--" else c)
    ns = sorted({r["n"] for r in rows})
    ax.set_xticks(ns, [str(v) for v in ns], rotation=45)
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel("$n$ (fixed $H/h$)")


def preconditioning_figure(rows: list[dict], old_rows: list[dict], rank_rows: list[dict], theory: list[dict],
                           lower_bound: float, rank: int):
    """F11: (a) PCG iterations and (b) :math:`\\kappa(MA)` against ``n`` for the rows of
    :func:`ddlib.preconditioning.shared_study` (and the old per-``n`` band-trained operator from ``old_rows``, the
    rows of :func:`ddlib.preconditioning.pcg_study`), with the lower bound of the class at local rank ``rank``;
    (c) iterations and (d) :math:`\\kappa` against the local rank from ``rank_rows`` (trained and oracle) beside
    ``theory`` (:func:`ddlib.preconditioning.rank_theory`: the CG bound of the oracle and the lower bound) and
    two-level Schwarz; (e) numbers stored per node against ``n``. Three panels a row, one legend below."""
    fig, axes, _ = panel_grid(5, height=2.1)
    both = rows + [r for r in old_rows if r["preconditioner"] == "learned_dd"]
    ns = sorted({r["n"] for r in both})
    axes[1].loglog(ns, [lower_bound] * len(ns), ls="--", color=_GREY, lw=1,
                   label=f"lower bound of the class, $r = {rank}$")
    _against_n(axes[0], both, "iterations")
    _against_n(axes[1], both, "kappa")
    axes[0].set_ylabel("PCG iterations")
    axes[1].set_ylabel(r"$\kappa(MA)$")
    axes[0].set_title("(a) iterations")
    axes[1].set_title(r"(b) $\kappa(MA)$")
    r = np.array([t["local_rank"] for t in theory])
    as2 = [x for x in rank_rows if x["preconditioner"] == "as2"]
    for ax, key, tkey, lkey in ((axes[2], "iterations", "iterations_predicted", "iterations_lower"),
                                (axes[3], "kappa", "kappa_oracle", "kappa_lower")):
        for name in ("learned_dd_shared", "oracle"):
            c, mk, ls, lab = SHARED_STYLE[name]
            rr = sorted((x for x in rank_rows if x["preconditioner"] == name), key=lambda x: x["local_rank"])
            ax.loglog([x["local_rank"] for x in rr], [max(x[key], 1) for x in rr], marker=mk, ls=ls, color=c,
                      label=lab + " (measured)")
        pred = "CG bound of the oracle" if key == "iterations" else "oracle (dense, small $n$)"
        ax.loglog(r, [t[tkey] for t in theory], ls="--", color="black", lw=1, label=pred)
        ax.loglog(r, [max(t[lkey], 1) for t in theory], ls="-.", color=_GREY, lw=1,
                  label=r"from the lower bound $\cot^2\theta_r$")
        if as2:
            ax.axhline(max(as2[0][key], 1), color=SHARED_STYLE["as2"][0], lw=1, label="additive Schwarz, 2 levels")
        ax.set_xticks(r, [str(v) for v in r])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel(f"local rank $r$ ($n$ = {rank_rows[0]['n']:,})")
    axes[2].set_ylabel("PCG iterations")
    axes[3].set_ylabel(r"$\kappa(MA)$")
    axes[2].set_title("(c) iterations")
    axes[3].set_title(r"(d) $\kappa(MA)$")
    for name in ("as1", "as2", "jacobi_coarse", "oracle", "learned_dd_shared"):
        c, mk, ls, lab = SHARED_STYLE[name]
        rr = _by_name(rows, name)
        axes[4].loglog([x["n"] for x in rr], [max(x["stored_per_node"], 1e-6) for x in rr], marker=mk, ls=ls,
                       color=c, label=lab)
    axes[4].set_xticks(ns, [str(v) for v in ns], rotation=45)
    axes[4].xaxis.set_minor_locator(plt.NullLocator())
    axes[4].set_xlabel("$n$ (fixed $H/h$)")
    axes[4].set_ylabel("numbers stored per node")
    axes[4].set_title("(e) memory")
    legend_below(fig, axes, ncol=2)
    return finish(fig)
