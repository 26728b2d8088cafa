# %% [markdown]
# (ch-two-d)=
# # 8. Two and three dimensions
#
# The paper tests its hierarchical attention on the 1D diffusion problem, where one fact makes the domain
# decomposition prior almost unfairly good: $A^{-1}$ splits *exactly* into a coarse part and local parts
# ({ref}`ch-schwarz`). This chapter moves the comparison to the unit square and the unit cube, where that splitting
# does not exist. Every object is the same code as in 1D (`ddlib.problem.Problem` takes a grid shape, the
# decomposition takes boxes over it); only the shape changes. The order is the book's: the classical
# preconditioner first, then what each class of operators can represent at best, then training.

# %% tags=["parameters", "remove-cell"]
QUICK = False              # small fast run, set by CI and by make book QUICK 1
M_APPROX = 63              # grid of the 2D approximation study, m by m interior nodes
FLOOR_NS = [2, 4, 8]       # boxes per direction in the floor study
FLOOR_DELTAS = [0, 1, 2, 4, 8]  # overlaps of the floor study (those that fit a box)
RICHER_N = 4               # boxes per direction for the richer coarse spaces
ORACLE_NS = [4, 8]         # boxes per direction of the truncated Schwarz oracle
ORACLE_DELTA = 1           # overlap of the oracle, the richer coarse spaces and the floor against N (in FLOOR_DELTAS)
ORACLE_RANKS = [1, 2, 4, 8, 16, 32, 64]  # local ranks of the truncated Schwarz oracle
FRONT_RANKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]  # ranks of the Eckart-Young frontier
M_3D = [15, 31]            # nodes per side of the 3D Schwarz table
NS_3D = [2, 4]             # boxes per direction of the 3D table
DELTAS_3D = [1, 2]         # overlaps of the 3D table
M_FLOOR_3D = 15            # nodes per side of the 3D floor
N_FLOOR_3D = 4             # boxes per direction of the 3D floor

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
from myst_nb import glue

from ddlib import dimensions as dims
from ddlib import schwarz
from ddlib.attention import configure_threads
from ddlib.figures import FigureRecorder, glue_numbers
from ddlib.problem import Problem
from ddlib.tables import table
from ddlib.plotting import use_style
from ddlib.plotting.twod import floor_figure_2d, frontier_figure_2d, kappa_figure_2d

if QUICK:
    M_APPROX, FLOOR_NS, FLOOR_DELTAS, RICHER_N, ORACLE_NS = 15, [2, 4], [0, 1, 2], 2, [2, 4]
    ORACLE_RANKS, FRONT_RANKS, M_3D, NS_3D, DELTAS_3D, M_FLOOR_3D, N_FLOOR_3D = [1, 4, 16], [1, 4, 16, 64], [7, 15], \
        [2, 4], [1], 7, 2
configure_threads()
use_style()
params = {k: v for k, v in globals().items() if k.isupper() and not k.startswith("_")}
fig_rec = FigureRecorder("chapters/08_two_d.ipynb", params)
glue_numbers(dict(m_approx=M_APPROX, n_approx=M_APPROX**2, oracle_delta=ORACLE_DELTA, m_floor_3d=M_FLOOR_3D,
                  n_floor_3d=M_FLOOR_3D**3, N_floor_3d=N_FLOOR_3D))

# %% [markdown]
# ## What changes with the dimension
#
# With $m$ interior nodes per side, $h = 1/(m+1)$ and $n = m^d$ unknowns, the $(2d+1)$-point matrix is the
# Kronecker sum of the 1D one, with eigenvalues
#
# $$
# \lambda_{\mathbf k} = \frac{4}{h^2}\sum_{j=1}^{d}\sin^2\frac{k_j\pi h}{2},
# \qquad k_j = 1, \dots, m .
# $$ (eq-nd-eigen)
#
# Three things change for the comparison.
#
# 1. **The global baseline's best error decays more slowly.** By Weyl's law the $k$-th eigenvalue grows like $k^{2/d}$,
#    so the Eckart-Young error $\lambda_1/\lambda_{r+1}$ falls like $1/r^2$ in 1D, $1/r$ in 2D and $r^{-2/3}$ in 3D
#    (the table below).
# 2. **There is no exact coarse-plus-local splitting.** The interfaces between coarse elements are lines (2D) or
#    planes (3D), which neither a box nor a coarse space of dimension $(N-1)^d$ holds: the paper's operator has a
#    **structural floor**, an error no choice of the blocks goes below.
# 3. **Scaling and data.** A node carries the volume $h^d$, so both operators carry $h^d$ in front and their factors
#    again approximate the Green's function. The band is the cube $\max_j k_j \le K$, the coarse space the
#    tensor-product hats (Q1 in 2D).

# %%
weyl = dims.weyl_rows([Problem(M_APPROX**2), Problem((M_APPROX, M_APPROX)), Problem((15, 15, 15))], [1, 16, 256])
table(weyl, columns={"dim": "d", "m": "m", "rank": "r", "eckart_young": "λ₁/λ_{r+1}", "weyl": "Weyl's law"},
      formats={"eckart_young": ".3g", "weyl": ".3g"}, caption="Best global rank-r error against Weyl's law")

# %% [markdown]
# ## Classical Schwarz in 2D
#
# One- and two-level additive Schwarz with exact local solves on the boxes and the Galerkin coarse problem, in three
# sweeps: against $N$ at fixed $H/h$, against $n$ at fixed $N$ and $H/\delta$, and against $H/\delta_g$ at fixed
# $m$ and $N$ ($\delta_g = (\delta+\frac12)h$, as in {ref}`ch-schwarz`). The theory {cite:p}`toselli2005domain`
# bounds one level by $C(1 + 1/(H\delta_g))$, growing like $N^2$ at fixed $H/h$ and $\delta$, and two levels with Q1
# hats by $C(1 + H/\delta_g)$, independent of $n$. Beside additive Schwarz with Q1 and Nicolaides coarse functions we
# measure the paper's weighted form $\Phi A_0^{-1}\Phi^T + \sum_i R_i^TD_i^{1/2}A_i^{-1}D_i^{1/2}R_i$ with the
# multiplicity and the ramp partitions.

# %%
kappa_rows = schwarz.scaling_study(dims.default_studies(QUICK), dense_max=256)
schwarz.add_bounds(kappa_rows)   # the fitted shape of the classical bound (additive Schwarz only)
trends = schwarz.kappa_trends(kappa_rows)

# %% tags=["remove-cell"]
tag = {"one-level ASM": "one", "two-level ASM, hat": "q1", "two-level ASM, Nicolaides": "nic",
       "two-level weighted, multiplicity": "wm", "two-level weighted, ramp": "wr"}
for t in trends:
    glue_numbers({k: v for k, v in t.items() if k not in ("study", "series")}, f"k_{t['study']}_{tag[t['series']]}_")

# %% [markdown]
# ```{figure} ../figures/F17_kappa_2d.png
# :name: fig-F17
# :width: 100%
#
# Classical Schwarz in 2D. Top: $\kappa(M^{-1}A)$; bottom: PCG iterations to $10^{-8}$. Left: against the boxes
# per direction $N$ at fixed $H/h$; middle: against $n = m^2$ at fixed $H/\delta$; right: against $H/\delta_g$.
# Dotted: the shape of the classical bound with the constant fitted to the series (additive Schwarz only).
# ```
#
# {numref}`fig-F17` confirms the theory. One level grows with $N$ at a fitted exponent of
# {glue:text}`k_N_one_exponent:.2f` (theory: 2 once $1/(H\delta_g)$ dominates). Two-level Schwarz with Q1 hats has
# an exponent of {glue:text}`k_N_q1_exponent:.2f` against $N$ and {glue:text}`k_n_q1_exponent:.2f` against $n$, and
# grows against $H/\delta_g$ with exponent {glue:text}`k_delta_q1_exponent:.2f` (the bound allows 1). The Nicolaides
# space is weaker: exponent {glue:text}`k_N_nic_exponent:.2f` against $N$. The paper's weighted form depends on the
# partition of unity: against $n$ at fixed $H/\delta$ its exponent is {glue:text}`k_n_wr_exponent:.2f` with the
# ramp and {glue:text}`k_n_wm_exponent:.2f` with multiplicity weights, where growth like $1/h$ would be 0.5. The
# jumps of $D_i^{1/2}$ across the overlap's edges cost energy of order $1/h$; the ramp has none. This decides the
# partition of the trained DD models below.
#
# ## Classical Schwarz in 3D
#
# The same code on the unit cube: one- and two-level additive Schwarz with Q1 hats at $m$ = {glue:text}`m3d_list`
# nodes per side ($n$ up to {glue:text}`n3d_max:,`), $N$ = {glue:text}`N3d_list` boxes per direction and overlaps
# $\delta$ = {glue:text}`delta3d_list`; $\kappa$ from the PCG run's Ritz values.

# %%
kappa3d = dims.kappa_table(M_3D, NS_3D, DELTAS_3D, dim=3)
table(kappa3d, columns={"m": "m", "n": "n", "N": "N", "delta": "δ", "coarse": "coarse", "kappa": "κ",
                        "iterations": "PCG iterations"}, formats={"kappa": ".3g"},
      caption="One- and two-level additive Schwarz on the unit cube")

# %% tags=["remove-cell"]
pairs = dims.bounded_in_n(kappa3d)
glue_numbers(dict(m3d_list=", ".join(map(str, M_3D)), n3d_max=max(r["n"] for r in kappa3d),
                  N3d_list=", ".join(map(str, NS_3D)), delta3d_list=", ".join(map(str, DELTAS_3D))))
for p in pairs:
    glue_numbers({k: v for k, v in p.items() if k != "coarse"}, f"b3d_{p['coarse']}_{p['delta']}_")
fig = kappa_figure_2d(kappa_rows, list(schwarz.SERIES))
keep = ("m", "n", "N", "delta", "levels", "coarse", "kappa", "pcg_iterations", "study", "series", "weighting",
        "partition", "method")
fig_rec.save(fig, "F17", "kappa_2d", numbers=dict(kappa2d=[{k: r[k] for k in keep} for r in kappa_rows],
                                                   trends=trends, rtol=1e-8, kappa3d=kappa3d, bounded_in_n_3d=pairs))
plt.close(fig)

# %% [markdown]
# The two-level method stays bounded in $n$ at fixed $H/h$ in 3D as well: at $H/h$ = {glue:text}`b3d_q1_1_H_over_h:.0f`
# and $\delta = 1$, going from $n$ = {glue:text}`b3d_q1_1_n_small:,` to {glue:text}`b3d_q1_1_n_large:,` (twice the
# boxes per direction) changes its $\kappa$ by a factor {glue:text}`b3d_q1_1_growth:.2f`, against
# {glue:text}`b3d_none_1_growth:.2f` for one level (theory: bounded, and $N^2 = 4$).
#
# ## What each class can represent
#
# Before training, the best each class can do in the relative operator norm $\|M - A^{-1}\|_2/\|A^{-1}\|_2$
# (`ddlib.approximation`): the **global** rank-$r$ Eckart-Young error with $2nr$ parameters; the **truncated Schwarz
# oracle**, the DD operator whose local blocks are rank-$r$ truncations of $A_i^{-1}$ and whose coarse block is
# $A_0^{-1}$ (in 1D its element-wise version is exactly optimal, in 2D it is one member of the class); and the
# **structural floor**, the best DD operator at *full* local rank. Its local level can be any matrix supported on the
# union $S$ of the box blocks, so the floor is $\min_{C, X}\|A^{-1} - \Phi C\Phi^T - X\|$ over the coarse block $C$
# and all $X$ supported on $S$: in the Frobenius norm a least-squares problem in $C$ alone, solved exactly; the
# 2-norm of its minimiser bounds the 2-norm floor from above, and node pairs that share no box give a certified
# lower bound.

# %%
report = dims.approximation_report(Problem((M_APPROX, M_APPROX)), floor_Ns=FLOOR_NS, floor_deltas=FLOOR_DELTAS,
                                   richer_N=RICHER_N, oracle_Ns=ORACLE_NS, oracle_delta=ORACLE_DELTA,
                                   oracle_ranks=ORACLE_RANKS, front_ranks=FRONT_RANKS)
floor3d = dims.floor_against_global(Problem((M_FLOOR_3D,) * 3), N_FLOOR_3D, ORACLE_DELTA)

# %% tags=["remove-cell"]
glue_numbers(report["summary"])
glue_numbers({k: v for k, v in floor3d.items() if isinstance(v, (int, float))}, "f3d_")
richer = {f"{r['coarse']}_{r.get('refine') or r.get('per_box')}": r for r in report["richer"]}
for key, r in richer.items():
    glue_numbers(dict(floor=r["floor_two_norm"], N0=r["N0"]), f"richer_{key}_")
floors = report["floors"]
fig = frontier_figure_2d(report["global_front"], report["oracle_fronts"], report["front_floors"])
fig_rec.save(fig, "F18", "frontier_2d", numbers=dict(
    m=M_APPROX, global_rank=report["global_front"]["rank"], global_error=report["global_front"]["error"],
    oracle=[{k: f[k] for k in ("N", "delta", "rank", "params", "error")} for f in report["oracle_fronts"]],
    summary=report["summary"]))
plt.close(fig)
fig = floor_figure_2d(floors + report["richer"], richer_delta=ORACLE_DELTA)
keep = ("m", "N", "delta", "coarse", "floor_two_norm", "floor_fro", "params", "partition", "N0",
        "floor_two_norm_lower", "galerkin_two_norm")
fig_rec.save(fig, "F19", "floor_2d", numbers=dict(floor2d=[{k: r.get(k) for k in keep} for r in floors + report["richer"]],
                                                 floor3d=floor3d))
plt.close(fig)

# %% [markdown]
# ```{figure} ../figures/F18_frontier_2d.png
# :name: fig-F18
# :width: 100%
#
# The 2D approximation frontier at $m$ = {glue:text}`m_approx`: best relative 2-norm error against parameters
# (a) and rank (b). Global rank $r$ (Eckart-Young) with Weyl's law; the truncated Schwarz oracle ($\delta$ =
# {glue:text}`oracle_delta`, ramp); dashed, the structural floor of the same configurations.
# ```
#
# ```{figure} ../figures/F19_floor_2d.png
# :name: fig-F19
# :width: 100%
#
# The structural floor of 2D DD attention at $m$ = {glue:text}`m_approx`: (a) against $N$ per overlap, (b) against
# $H/\delta_g$ per $N$, (c) against the coarse dimension for richer coarse spaces on the same boxes. Solid: the 2-norm
# of the Frobenius-optimal operator (an upper bound); dotted: the certified lower bound.
# ```
#
# **The floor is real, and it is the coarse space's** ({numref}`fig-F19`). It falls with the overlap and, per
# halving of $H$, by close to the factor 4 of the coarse interpolation error $H^2$. A richer coarse space on the
# *same* boxes lowers it: the Q1 space on the box grid leaves {glue:text}`richer_base:.4f`, Q1 on a twice refined
# coarse grid ($N_0$ = {glue:text}`richer_hat_2_N0`) {glue:text}`richer_hat_2_floor:.4f`, and three local spectral
# functions per box ($N_0$ = {glue:text}`richer_spectral_3_N0`) {glue:text}`richer_spectral_3_floor:.4f`. With the
# Galerkin coarse block $A_0^{-1}$ instead of the optimal one the residual is {glue:text}`galerkin_over_floor:.1f`
# times the floor: a learned coarse block has room to beat the classical choice.
#
# **Against the global class** ({numref}`fig-F18`), at $N$ = {glue:text}`oracle_N` the oracle at local rank 1
# ({glue:text}`oracle_r1:.4f` with {glue:text}`oracle_r1_params:,` parameters) needs a global rank of
# {glue:text}`oracle_global_rank` ({glue:text}`oracle_global_params:,` parameters) to match, and its best value over
# the ranks is {glue:text}`oracle_best_over_floor:.1f` times the floor: the Schwarz blocks are not the best local
# blocks once the splitting is inexact. The floor itself needs global rank {glue:text}`global_rank_for_floor`.
#
# **In 3D** the structure has a floor too: at $m$ = {glue:text}`m_floor_3d` ($n$ = {glue:text}`n_floor_3d:,`) with
# $N$ = {glue:text}`N_floor_3d` boxes per direction it is {glue:text}`f3d_floor_two_norm:.4f` (certified lower bound
# {glue:text}`f3d_floor_two_norm_lower:.4f`). The full-rank DD model has {glue:text}`f3d_params:,` parameters; at the
# same count a global operator has rank {glue:text}`f3d_global_rank_equal_params` and the Eckart-Young error
# {glue:text}`f3d_global_error_equal_params:.3g`, and rank {glue:text}`f3d_global_rank_for_floor` (that is
# {glue:text}`f3d_global_params_for_floor:,` parameters) already reaches the floor. As an approximation class the DD
# structure keeps its parameter advantage at low local rank, where the floor does not bind, and loses it at full rank.
