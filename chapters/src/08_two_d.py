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
M_APPROX = 39              # grid of the 2D approximation study, m by m interior nodes
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
GROWTH_MS = [63, 127, 255, 511, 1023]  # 1D grids of the growth in h of the weighted forms
K = 6                      # square training band, modes with max(j, k) up to K
PLANS = [[31, "fourier", 64], [31, "noise", 64], [39, "fourier", 64]]  # m, data, S
TRAIN_N = 4                # boxes per direction of the trained DD models
TRAIN_DELTA = 1            # overlap of the trained DD models
GLOBAL_RANKS = [4, 16, 64]  # global ranks of every regime
LOCAL_RANKS = [1, 4]       # DD local ranks of every regime
BANDED = [1, 16]           # the structured non-DD baseline: stencil half-width, rank
EPOCHS = 150               # epoch budget of every run
ADAM_LRS = [1e-2, 1e-1]    # learning rates of Adam
GD_LRS = [0.1, 1]          # learning rates of heavy-ball gradient descent (an edge choice extends it)
INITS = [1e-3, 1e-1]       # initial scales (both optimizers)
SEEDS = [0, 1]             # seeds of data, initialisation and batch order
EVAL_SAMPLES = 32          # validation and test samples per set
BUDGET_FACTORS = [8, 32]   # parameter budgets of the records, multiples of n

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt

from ddlib import claims as cl
from ddlib import dimensions as dims
from ddlib import regimes as rg
from ddlib import schwarz
from ddlib.attention import configure_threads
from ddlib.figures import FigureRecorder, glue_numbers
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.tables import table
from ddlib.training import MOMENTUM, TrainConfig
from ddlib.plotting import use_style
from ddlib.plotting.twod import floor_figure_2d, frontier_figure_2d, kappa_figure_2d, regimes_figure_2d

if QUICK:
    M_APPROX, FLOOR_NS, FLOOR_DELTAS, RICHER_N, ORACLE_NS = 15, [2, 4], [0, 1, 2], 2, [2, 4]
    ORACLE_RANKS, FRONT_RANKS, M_3D, NS_3D, DELTAS_3D, M_FLOOR_3D, N_FLOOR_3D = [1, 4, 16], [1, 4, 16, 64], [7, 15], \
        [2, 4], [1], 7, 2
    GROWTH_MS, K, PLANS = [15, 31, 63], 3, [[15, "fourier", 16], [15, "noise", 16]]
    GLOBAL_RANKS, LOCAL_RANKS, BANDED, EPOCHS, ADAM_LRS, GD_LRS, INITS, SEEDS, EVAL_SAMPLES = [4, 16], [1], [1, 2], \
        40, [1e-1], [0.3, 1], [1e-1], [0, 1], 16
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

# %% tags=["remove-input"]
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
schwarz.add_bounds(kappa_rows)  # fitted shape of the classical bound (additive Schwarz)
trends = schwarz.kappa_trends(kappa_rows)

# %% tags=["remove-cell"]
tag = {"one-level ASM": "one", "two-level ASM, hat": "q1", "two-level ASM, Nicolaides": "nic",
       "two-level weighted, multiplicity": "wm", "two-level weighted, ramp": "wr"}
for t in trends:
    glue_numbers({k: v for k, v in t.items() if k not in ("study", "series")}, f"k_{t['study']}_{tag[t['series']]}_")
growth_1d = dims.growth_in_h(1, GROWTH_MS, 4, 4)   # the same forms in 1D, N = 4, H/delta = 4
for name, t in growth_1d["trends"].items():
    glue_numbers({k: v for k, v in t.items() if k not in ("study", "series")}, f"g1_{tag[name]}_")

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
# partition of the trained DD models below. The jumps exist in 1D too: with $N = 4$ and $H/\delta = 4$, from $n$ =
# {glue:text}`g1_wm_x_first:.0f` to {glue:text}`g1_wm_x_last:.0f` the multiplicity form's $\kappa$ goes from
# {glue:text}`g1_wm_kappa_first:.2f` to {glue:text}`g1_wm_kappa_last:.2f` (exponent {glue:text}`g1_wm_exponent:.2f`
# against $n$, where $1/h$ would be 1), the ramp's from {glue:text}`g1_wr_kappa_first:.2f` to
# {glue:text}`g1_wr_kappa_last:.2f` (exponent {glue:text}`g1_wr_exponent:.2f`).
#
# ## Classical Schwarz in 3D
#
# The same code on the unit cube: one- and two-level additive Schwarz with Q1 hats at $m$ = {glue:text}`m3d_list`
# nodes per side ($n$ up to {glue:text}`n3d_max:,`), $N$ = {glue:text}`N3d_list` boxes per direction and overlaps
# $\delta$ = {glue:text}`delta3d_list`; $\kappa$ from the PCG run's Ritz values.

# %% tags=["remove-input"]
kappa3d = dims.kappa_table(M_3D, NS_3D, DELTAS_3D, dim=3)
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
table(kappa3d, columns={"m": "m", "n": "n", "N": "N", "delta": "δ", "coarse": "coarse", "kappa": "κ",
                        "iterations": "PCG iterations"}, formats={"kappa": 3},
      caption="One- and two-level additive Schwarz on the unit cube")

# %% [markdown]
# Two levels stay bounded in $n$ at fixed $H/h$ in 3D too: at $H/h$ = {glue:text}`b3d_q1_1_H_over_h:.0f`, $\delta = 1$,
# from $n$ = {glue:text}`b3d_q1_1_n_small:,` to {glue:text}`b3d_q1_1_n_large:,` (twice the boxes per direction)
# $\kappa$ changes by {glue:text}`b3d_q1_1_growth:.2f` times, one level's by {glue:text}`b3d_none_1_growth:.2f` (theory:
# bounded, and $N^2 = 4$).
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
report = dims.approximation_report(
    Problem((M_APPROX, M_APPROX)), floor_Ns=FLOOR_NS, floor_deltas=FLOOR_DELTAS,
    richer_N=RICHER_N, oracle_Ns=ORACLE_NS, oracle_delta=ORACLE_DELTA,
    oracle_ranks=ORACLE_RANKS, front_ranks=FRONT_RANKS)

# %% tags=["remove-cell"]
floor3d = dims.floor_against_global(Problem((M_FLOOR_3D,) * 3), N_FLOOR_3D, ORACLE_DELTA)
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
fig = floor_figure_2d(floors + report["richer"], richer_delta=ORACLE_DELTA)
keep = ("m", "N", "delta", "coarse", "floor_two_norm", "floor_fro", "params", "partition", "N0",
        "floor_two_norm_lower", "galerkin_two_norm")
fig_rec.save(fig, "F19", "floor_2d", numbers=dict(
    floor2d=[{k: r.get(k) for k in keep} for r in floors + report["richer"]], floor3d=floor3d))
plt.close("all")

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
#
# ## Training: the tuned comparison in 2D
#
# One trainer, `TrainConfig(dim=2)`, and the protocol of {ref}`ch-beyond`: the same budget for every model
# ({glue:text}`epochs` epochs, full batch, cosine schedule) under **Adam** (learning rates {glue:text}`adam_lrs`),
# **heavy-ball gradient descent** (momentum {glue:text}`momentum`, learning rates {glue:text}`gd_lrs`) and **the
# optimizer tuned** (both grids), initial scales {glue:text}`inits`; the best three points of the first seed run on
# all {glue:text}`n_seeds` seeds, the best validation mean wins, a choice on a grid edge extends its axis. Models:
# global ranks {glue:text}`g_ranks`; DD with $N$ = {glue:text}`train_N`, $\delta$ = {glue:text}`train_delta`, the
# ramp and local ranks {glue:text}`l_ranks`; and a structured non-DD baseline, a learned stencil of half-width
# {glue:text}`banded_b` plus rank {glue:text}`banded_r` (FMMformer's split {cite:p}`nguyen2021fmmformer`).

# %%
regimes = dims.grid_regimes(PLANS, K, TRAIN_N, TRAIN_DELTA)
base = TrainConfig(model=GlobalSpec(1), n=regimes[0].n, dim=2, K=K, epochs=EPOCHS,
                   validation_samples=EVAL_SAMPLES, test_samples=EVAL_SAMPLES)
GRIDS = {"adam": {"lr": ADAM_LRS, "init_scale": INITS},
         "gd": {"lr": GD_LRS, "init_scale": INITS}}
specs = lambda reg: [  # noqa: E731
    *rg.regime_specs(reg, GLOBAL_RANKS, LOCAL_RANKS, None, partition="ramp"),
    BandedSpec(*BANDED)]
METRICS = ("error_in_band", "error_noise", "error_out_of_band", "operator_error")
rmap = rg.run_map(regimes, base, specs, GRIDS, SEEDS, metrics=METRICS,
                  verdict_metrics=METRICS, rival="banded",
                  budgets=lambda reg: [f * reg.n for f in BUDGET_FACTORS])

# %% tags=["remove-input"]
ablation = dims.partition_ablation(rmap, base, rg.optimizer_grids(GRIDS)["tuned"], SEEDS,
                                   DDSpec(TRAIN_N, TRAIN_DELTA, max(LOCAL_RANKS)))
report = dims.training_report(rmap, ablation)
glue_numbers(report["glue"])
LISTS = {"adam_lrs": ADAM_LRS, "gd_lrs": GD_LRS, "inits": INITS, "g_ranks": GLOBAL_RANKS, "l_ranks": LOCAL_RANKS}
glue_numbers({**{k: cl.list_text(map(str, v)) for k, v in LISTS.items()}, "epochs": EPOCHS, "K": K, "momentum":
              MOMENTUM, "n_seeds": len(SEEDS), "train_N": TRAIN_N, "train_delta": TRAIN_DELTA, "banded_b": BANDED[0],
              "banded_r": BANDED[1]})
tuned = [res[-1] for res in rmap.results]   # the tuned protocol's results (the last grid of optimizer_grids)
floors_f20, fronts_f20 = dims.trained_references(tuned, FRONT_RANKS, floors)
for metric in ("in_distribution", "operator_error"):
    fig = regimes_figure_2d(tuned, metric, floors_f20, fronts_f20)
    fig_rec.save(fig, "F20", f"trained_2d_{metric}", numbers=dict(
        regimes2d=dims.model_rows(rmap), budgets2d=rmap.rows, verdicts=rmap.verdicts, rivals=rmap.rivals,
        mechanisms=rmap.mechanisms, steps=rmap.steps, partition_ablation=ablation, growth_1d=growth_1d["rows"],
        floors=[{"m": k[0], "N": k[1], "delta": k[2], "floor_two_norm": v} for k, v in floors_f20.items()]))
    plt.close(fig)
table(report["table"], columns={
    "regime": "regime", "optimizer": "optimizer", "faster": "faster in epochs", "acc_id": "more accurate, in dist.",
    "acc_op": "more accurate, operator", "fewer": "fewer parameters", "banded": "banded vs DD, operator",
    "counted": "counted"}, caption="The claims per regime and optimizer (global against DD; seed means)")

# %% [markdown]
# ```{figure} ../figures/F20_trained_2d_in_distribution.png
# :name: fig-F20
# :width: 100%
#
# **Trained 2D models, test error on the training distribution** (in-band for Fourier data, white noise for noise
# data; band $K$ = {glue:text}`K`), optimizer tuned, one panel per regime; markers: seed means, bars: seed ranges.
# ```
#
# ```{figure} ../figures/F20_trained_2d_operator_error.png
# :name: fig-F20-operator
# :width: 100%
#
# **Trained 2D models, relative operator error**, drawn as in {numref}`fig-F20`, with the Eckart-Young error of the
# global ranks and the structural floor of the DD configuration.
# ```
#
# **Who learns.** A regime counts only where the best model of each class gets below half of its initial error
# (`ddlib.claims.learning`). Optimizer tuned: {glue:text}`excluded_n` of {glue:text}`n_regimes` regimes leave the
# count ({glue:text}`excluded`); Adam alone: {glue:text}`adam_excluded`; gradient descent: {glue:text}`gd_excluded`.
#
# **The counts, optimizer tuned**, over the regimes where both classes learn. *Trains faster* in epochs:
# {glue:text}`tally_faster_id`; in seconds: {glue:text}`tally_faster_s_id`. *More accurate* in the operator norm:
# {glue:text}`tally_acc_operator_error` (global over DD {glue:text}`op_ratio`); on the training distribution
# {glue:text}`tally_acc_id` (global over DD {glue:text}`id_ratio`; failing in {glue:text}`tally_acc_id_failing`). *Fewer
# parameters* in the operator norm: {glue:text}`tally_fewer_operator_error`. In the operator norm DD wins in
# {glue:text}`adam_tally_acc_operator_error` under Adam and {glue:text}`gd_tally_acc_operator_error` under gradient
# descent. Against the **banded baseline** DD is more accurate in the operator norm in {glue:text}`banded_op`
# regimes and on the training distribution in {glue:text}`banded_id`. Out of band the best models' errors lie
# {glue:text}`oob_dd` (DD) and {glue:text}`oob_global` (global), where predicting zero scores 1.
#
# **The span, per optimizer.** For $M = wQK^T$ and the loss $\|MF - U\|^2$ the gradient $\nabla_K = 2wF(MF-U)^TQ$
# has its columns in the span of the training inputs $F$: under gradient descent $K$ keeps its initial part off the
# span. On the best global model of {glue:text}`few_regime` (a span of {glue:text}`gd_few_data_dim` directions),
# $\|P_\perp(K - K_0)\|_F/\|K - K_0\|_F$ is {glue:text}`gd_few_global_k_drift:.1e` under gradient descent (the
# statement {glue:text}`gd_few_span_verdict`) and {glue:text}`adam_few_global_k_drift:.2g` under Adam (it
# {glue:text}`adam_few_span_verdict`: Adam's steps are not rotation-equivariant); the off-span fraction
# $\|MP_\perp\|_2/\|M\|_2$ is {glue:text}`gd_few_global_off_fraction:.2g` and
# {glue:text}`adam_few_global_off_fraction:.2g`, the DD model's {glue:text}`gd_few_dd_off_fraction:.2g` and
# {glue:text}`adam_few_dd_off_fraction:.2g`: a DD block sees only the restriction $R_if$ of each sample, so the same
# samples fix much smaller blocks. Optimizer tuned, the operator error off the span is
# {glue:text}`tuned_few_dd_off_span:.3f` (DD) against {glue:text}`tuned_few_global_off_span:.3f` (global); on white
# noise ({glue:text}`noise_regime`) DD is at {glue:text}`tuned_noise_dd_oracle_ratio:.1f` times its Schwarz oracle.
# With learned blocks the partition only rescales rows: in {glue:text}`abl_regime`, {glue:text}`abl_label` reaches
# {glue:text}`abl_ramp_op:.3f` with the ramp and {glue:text}`abl_mult_op:.3f` with multiplicity weights.
