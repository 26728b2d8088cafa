# %% [markdown]
# (ch-high-contrast)=
# # 9. High-contrast coefficients
#
# With a constant coefficient every method in this book knows the answer in advance: Q1 hats are the right coarse
# space, and nothing shows whether learning the hierarchy can find what a classical design misses. This chapter
# solves $-\nabla\cdot(a\nabla u) = f$ with a coefficient $a$ that jumps by orders of magnitude across the
# boundaries of the subdomains, as in porous media and composites. There the classical coarse spaces (Q1 hats,
# Nicolaides' constants) lose their robustness, the spectral coarse space GenEO {cite:p}`spillane2014abstract`
# restores it, algebraic multigrid {cite:p}`bell2023pyamg` is what a practitioner would reach for, and learned
# coarse spaces are open research {cite:p}`heinlein2021combining,liu2026graph`. We measure all of them on one
# reference field, then ask what learning finds, as a preconditioner and as a solution operator.

# %% tags=["parameters", "remove-cell"]
QUICK = False              # small fast run, set by CI and by make book QUICK 1
M = 31                     # nodes per side of the reference field
N = 4                      # boxes per direction of the reference decomposition
DELTA = 1                  # overlap in node layers
CONTRASTS = [1.0, 1e2, 1e4, 1e6]  # contrasts of the channel field
SIGMAS = [0.5, 1.0, 2.0]   # standard deviations of the log-normal field
SIZES = [31, 63, 127]      # nodes per side of the study against n
SHOW_M = 63                # nodes per side of the pictured fields
SHOW_CONTRAST = 1e4        # contrast of the pictured channels and inclusions
SHOW_SIGMA = 2.0           # standard deviation of the pictured log-normal field
H_OVER_H = 8               # box width in nodes in the study against n
SIZE_CONTRAST = 1e4        # contrast of the channels in the study against n and in 3D
M3 = 15                    # nodes per side of the 3D field
N3 = 4                     # boxes per direction in 3D
DENSE_MAX = 1024           # largest n with a dense spectrum, Lanczos beyond
AMG_MS = [63, 127, 255]    # sizes of the AMG comparison when the benchmark file is absent
AMG_CONTRAST = 1e4         # contrast of the channel field of the AMG comparison and its tuning
TUNE_M = 255               # nodes per side of the AMG tuning problem
M_LEARN = 31               # nodes per side of the learning study
N_LEARN = 4                # boxes per direction of the learning study
CONTRAST_LEARN = 1e4       # contrast of the field the coarse level is learned on
PER_BOX = [1, 3]           # learned coarse functions per box
DD_RANK = 16               # local rank of the trained DD attention
STEPS = 8                  # steepest-descent steps of the training objective
SAMPLES = 16               # energy probes per training and validation set
EPOCHS = 100               # epoch budget of every preconditioner run
LRS = [1e-2, 3e-2]         # learning-rate grid of the tuned protocol
INIT_SCALES = [0.1]        # initial-scale grid of the tuned protocol
OP_CONTRASTS = [1.0, 1e2, 1e4, 1e6]  # contrasts of the solution-operator study
OP_RANK = 8                # local rank of the DD solution operator
OP_EPOCHS = 150            # epoch budget of every solution-operator run
SEED = 0                   # seed of data, initialisation and right-hand sides
WORKERS = None             # training processes, default the number of cores

# %% tags=["remove-cell"]
import time

import numpy as np
from myst_nb import glue

from ddlib import amg, hetero
from ddlib.attention import configure_threads
from ddlib.figures import FigureRecorder, glue_numbers, project_root
from ddlib.models import DDSpec, SpanSpec
from ddlib.plotting import use_style
from ddlib.plotting.hetero import amg_figure, fields_figure, kappa_figure, learning_figure
from ddlib.tables import table
from ddlib.training import TrainConfig

if QUICK:
    SIGMAS, SIZES, M3, N3, DENSE_MAX, AMG_MS, TUNE_M, SHOW_M = [1.0], [15, 31], 7, 2, 0, [15, 31, 63], 63, 31
    M_LEARN, N_LEARN, PER_BOX, DD_RANK, EPOCHS, LRS = 15, 2, [1], 4, 3, [1e-2]
    OP_CONTRASTS, OP_EPOCHS, WORKERS = [1.0, 1e4], 3, 1
configure_threads()
use_style()
params = {k: v for k, v in globals().items() if k.isupper() and k != "QUICK"} | {"QUICK": QUICK}
fig_rec = FigureRecorder("chapters/09_high_contrast.ipynb", params)
t_start = time.perf_counter()
for key in ("M", "N", "DELTA", "M_LEARN", "N_LEARN", "STEPS", "EPOCHS", "DD_RANK", "OP_RANK", "SHOW_M",
            "SHOW_CONTRAST", "SHOW_SIGMA", "TUNE_M", "AMG_CONTRAST", "SIZE_CONTRAST"):
    glue(key.lower(), globals()[key], display=False)
glue("tau", hetero.TAU, display=False)
glue("contrast_learn", CONTRAST_LEARN, display=False)

# %% [markdown]
# ## The reference field
#
# On the unit square with $m$ = {glue:text}`m` interior nodes per side, $h = 1/(m+1)$, cell $(p, q)$, $p, q = 0..m$,
# covers $[ph, (p+1)h]\times[qh, (q+1)h]$ and carries the value $a_{pq}$; an edge of the 5-point stencil gets the
# mean of the two cells that share it (`ddlib.problem`). The **channels** have $a$ = contrast on the cells with
# $p \equiv 1 \pmod 4$ and $3 \le q \le m-3$, and $a = 1$ elsewhere: one-cell-wide channels that cross the subdomain
# boundaries and stop short of the Dirichlet boundary. The boxes are $N\times N$ = {glue:text}`n`$^2$ blocks of nodes
# split at $\mathrm{round}(km/N)$ and extended by $\delta$ = {glue:text}`delta` node layers. Two more fields test
# the conclusions: a log-normal field $a = e^{\sigma g}$ with $g$ a smooth seeded Gaussian field, and a few square
# inclusions of high conductivity.

# %% tags=["remove-output"]
show = {"channels": hetero.field_problem(SHOW_M, 2, "channels", SHOW_CONTRAST), "log-normal": hetero.field_problem(
    SHOW_M, 2, "lognormal", SHOW_SIGMA), "inclusions": hetero.field_problem(SHOW_M, 2, "inclusions", SHOW_CONTRAST)}
solutions = {k: P.solve(np.ones(P.n)) for k, P in show.items()}
fig_rec.save(fields_figure(show, solutions), "F21", "fields")

# %% [markdown]
# ```{figure} ../figures/F21_fields.png
# :name: fig-F21
# Top: $\log_{10}a$ of the three fields at $m$ = {glue:text}`show_m` (contrast {glue:text}`show_contrast:.0e`,
# $\sigma$ = {glue:text}`show_sigma`, contrast {glue:text}`show_contrast:.0e`). Bottom: the
# solutions of $-\nabla\cdot(a\nabla u) = 1$. Along a channel the solution is nearly constant: the channel is one
# unknown that every box it crosses must agree on.
# ```
#
# ## Classical coarse spaces against contrast
#
# All preconditioners are two-level additive Schwarz, $M^{-1} = \Phi A_0^{-1}\Phi^T + \sum_i R_i^TA_i^{-1}R_i$ with
# exact local solves; only the span $\Phi$ differs. **GenEO** solves on every box the generalised eigenproblem
#
# $$
# \tilde A_i^{\mathrm{Neu}}\,v = \lambda\, D_iA_iD_i\,v,
# $$ (eq-geneo)
#
# with the box's Neumann matrix (the energy of the edges inside the box; Dirichlet only on the physical boundary) and
# the multiplicity partition of unity $D_i$, and keeps $R_i^TD_iv$ for $\lambda < \tau$ = {glue:text}`tau`
# (`ddlib.geneo`). A small $\lambda$ marks a function cheap inside the box and expensive once the partition of unity
# cuts it off: the constants of a floating box, and one function per channel crossing the overlap. The theory bounds
# $\kappa \le (1+k_0)\big(2 + k_0(2k_0+1)(1+1/\tau)\big)$, $k_0$ the most boxes sharing a node, whatever the
# coefficient {cite:p}`spillane2014abstract,dolean2015introduction`.

# %%
ref = hetero.contrast_rows(M, N, DELTA, {"channels": CONTRASTS}, dense_max=DENSE_MAX)
rep = hetero.report_hetero(ref)
names = {"contrast": "contrast", "none": "one level", "q1": "Q1", "nicolaides": "Nicolaides", "geneo": "GenEO",
         "geneo_dim": "GenEO N₀"}
display(table(hetero.pivot(ref), columns=names, formats={k: ".4g" for k in hetero.COARSES},
              caption=f"κ(M⁻¹A) on the channel field, m = {M}, N = {N}, δ = {DELTA}"))
table(hetero.pivot(ref, value="iterations"), columns=names, caption="PCG iterations to 1e-8 on the same field")

# %% tags=["remove-cell"]
glue_numbers(rep, prefix="ref_")

# %% [markdown]
# From contrast {glue:text}`ref_contrast_low:g` to {glue:text}`ref_contrast_high:g`, $\kappa$ of the Q1 space
# grows by a factor {glue:text}`ref_growth_q1:.3g` and Nicolaides' by {glue:text}`ref_growth_nicolaides:.3g`: the
# coarse grid does not see the channels, and each channel crossing a box boundary leaves one eigenvalue of
# $M^{-1}A$ of order $1/\text{contrast}$. GenEO's $\kappa$ stays between {glue:text}`ref_kappa_geneo_min:.3g` and
# {glue:text}`ref_kappa_geneo_max:.3g`; its largest value is {glue:text}`ref_geneo_bound_ratio:.2g` times the
# theory's bound {glue:text}`ref_geneo_bound:.4g`, which no contrast changes. It has a coarse space that grows from
# {glue:text}`ref_geneo_dim_low` to {glue:text}`ref_geneo_dim_high` functions: it pays in coarse dimension for what
# the others pay in iterations ({glue:text}`ref_its_geneo_high` against {glue:text}`ref_its_q1_high` for Q1).

# %%
others = hetero.contrast_rows(M, N, DELTA, {"lognormal": SIGMAS, "inclusions": CONTRASTS[1:]}, dense_max=DENSE_MAX)
sizes = hetero.size_rows(SIZES, H_OVER_H, SIZE_CONTRAST, dense_max=DENSE_MAX)
three = hetero.contrast_rows(M3, N3, DELTA, {"channels": [1.0, SIZE_CONTRAST]}, dim=3, dense_max=DENSE_MAX)
label = hetero.LABELS.get
display(table(others + three, columns={
    "dim": "d", "field": "field", "contrast": "contrast", "coarse": "coarse space", "coarse_dim": "N₀",
    "kappa": "κ", "iterations": "iterations"}, formats={"contrast": ".3g", "kappa": ".4g", "field": label,
                                                        "coarse": label},
    caption=f"Other fields (m = {M}) and the channels in 3D (m = {M3}, N = {N3})"))
table(sizes, columns={"n": "n", "N": "N", "coarse": "coarse space", "coarse_dim": "N₀", "kappa": "κ",
                      "iterations": "iterations", "method": "κ from"},
      formats={"kappa": ".4g", "coarse": label, "method": label},
      caption=f"Against n at H/h = {H_OVER_H}, channels of contrast {SIZE_CONTRAST:g}")

# %% tags=["remove-output"]
hetero_rows = ref + others + sizes + three        # F22 is saved with the learned rows too, below
fig_kappa = kappa_figure(ref, sizes, rep["geneo_bound"])
glue_numbers(hetero.report_sizes(sizes), prefix="size_")

# %% [markdown]
# ```{figure} ../figures/F22_kappa_contrast.png
# :name: fig-F22
# (a) $\kappa(M^{-1}A)$ and (b) PCG iterations against the contrast of the channel field, per coarse space, with
# GenEO's theoretical bound dotted; (c) $\kappa$ against $n$ at fixed $H/h$ and contrast
# {glue:text}`size_contrast:.0e`.
# ```
#
# The log-normal field and the inclusions tell the same story at smaller scale: the contrast that matters is the
# one that crosses box boundaries, and GenEO adds functions where it does. Against $n$ at fixed $H/h$ (and so a fixed
# number of channels per box), from $n$ = {glue:text}`size_n_first` to {glue:text}`size_n_last`, GenEO's $\kappa$
# goes from {glue:text}`size_kappa_geneo_first:.3g` to {glue:text}`size_kappa_geneo_last:.3g` with
# {glue:text}`size_dim_geneo_last` coarse functions at the end, Q1's from {glue:text}`size_kappa_q1_first:.3g` to
# {glue:text}`size_kappa_q1_last:.3g`, and the PCG iterations of Q1 from {glue:text}`size_its_q1_first` to
# {glue:text}`size_its_q1_last` against GenEO's {glue:text}`size_its_geneo_first` to
# {glue:text}`size_its_geneo_last`.
#
# ## Algebraic multigrid
#
# A practitioner facing this matrix would try smoothed aggregation (SA) {cite:p}`vanek1996algebraic` or classical
# Ruge-Stüben (RS) {cite:p}`ruge1987algebraic` from pyamg as a CG preconditioner, one V-cycle per step. pyamg's
# default SA measures strength symmetrically with threshold 0, so its aggregates ignore the jumps. We tune both as a
# practitioner would, over strength measures, thresholds and prolongation smoothers, and score each candidate by the
# work of a solve, CG iterations times operator complexity, on the channel field of contrast
# {glue:text}`amg_contrast:.0e` at $m$ = {glue:text}`tune_m` (`ddlib.amg.tune_amg`; the choices are recorded in
# `ddlib.amg.TUNED`, which the timings use).

# %%
P_tune = hetero.field_problem(TUNE_M, 2, "channels", AMG_CONTRAST)
b_tune = np.random.default_rng(SEED).standard_normal(P_tune.n)
tuning = [dict(r, family=f) for f in amg.AMG_FAMILIES for r in amg.tune_amg(P_tune.matrix(), b_tune, f)["rows"]]
table(tuning, columns={"family": "AMG", "candidate": "options", "iterations": "CG iterations",
                       "operator_complexity": "operator complexity", "work": "work"},
      formats={"operator_complexity": ".2f", "work": ".1f", "family": lambda f: amg.METHOD_NAMES[f + "_family"]},
      caption=f"Tuning on the channel field, m = {TUNE_M}, contrast {AMG_CONTRAST:g} (work = iterations × "
              "complexity)")

# %% [markdown]
# The timings below run every solver alone, one after the other, on the channel field of contrast
# {glue:text}`amg_contrast_rows:.0e`: SA and RS with defaults and tuned, two-level Schwarz with Q1 and with GenEO
# ($H/h$ = {glue:text}`amg_H_over_h`, all local problems factorized at once; GenEO only up to $n$ =
# {glue:text}`amg_n_schwarz_geneo`, since its local eigenproblems are the expensive part), and SuperLU's sparse
# direct solve as the time reference. They come from the {glue:text}`amg_source` (`make bench` writes
# `_build/bench_amg.json`, read here when present); the machine was shared, with load averages up to
# {glue:text}`amg_load_max:.1f` on its cores, so read the seconds as a ranking, not as constants.

# %%
amg_rows, amg_source = amg.benchmark_rows(project_root(), fallback_ms=AMG_MS, contrast=AMG_CONTRAST)
rep_amg = amg.report_amg(amg_rows)
table(amg_rows, columns={"n": "n", "method": "solver", "iterations": "iterations", "converged": "converged",
                         "setup_s": "setup s", "solve_s": "solve s", "coarse_dim": "N₀", "load_before": "load"},
      formats={"setup_s": ".3g", "solve_s": ".3g", "load_before": ".1f", "method": amg.METHOD_NAMES.get,
               "converged": lambda v: "yes" if v else "no"},
      caption=f"AMG, Schwarz and the direct solve on the channel field, contrast {rep_amg['contrast']:g}")

# %% tags=["remove-output"]
glue("amg_source", {"benchmark": "benchmark run", "small run": "small run of this build"}[amg_source],
     display=False)
glue_numbers({k: v for k, v in rep_amg.items() if k != "contrast"}, prefix="amg_")
glue("amg_contrast_rows", rep_amg["contrast"], display=False)
fig_rec.save(amg_figure(amg_rows), "F23", "amg", numbers={"amg": amg_rows, "tuning": tuning})

# %% [markdown]
# ```{figure} ../figures/F23_amg.png
# :name: fig-F23
# (a) Setup plus solve seconds and (b) CG iterations against $n$ on the channel field of the table above.
# ```
#
# At the largest size, $n$ = {glue:text}`amg_n_max`, the fastest was {glue:text}`amg_fastest` with
# {glue:text}`amg_fastest_total:.3g` s, and the direct solve took {glue:text}`amg_direct_over_fastest:.3g` times as
# long. There, SA with defaults stopped after {glue:text}`amg_its_sa_default` iterations at a relative residual of
# {glue:text}`amg_residual_sa_default:.1e`, tuned SA needed {glue:text}`amg_its_sa`, RS with defaults
# {glue:text}`amg_its_rs_default` and tuned RS {glue:text}`amg_its_rs`; Schwarz with Q1 stopped after
# {glue:text}`amg_its_schwarz_q1` at {glue:text}`amg_residual_schwarz_q1:.1e`, and Schwarz with GenEO needed
# {glue:text}`amg_its_schwarz_geneo` at $n$ = {glue:text}`amg_n_schwarz_geneo`. AMG's hierarchy adapts to the
# coefficient through its strength of connection; the Schwarz methods do so only through their coarse space.
#
# ## Learning where it can matter
#
# If the coarse space is the weak point, it is what learning should target. On the channel field of contrast
# {glue:text}`contrast_learn:.0e` with $m$ = {glue:text}`m_learn` and $N$ = {glue:text}`n_learn` (the interface
# split of the attention models), we train (a) the coarse *span* with the exact local solves fixed,
# $\Phi = \sum_iR_i^TD_iV_i$ with learnable $V_i$ and the Galerkin coarse solve (`ddlib.coarse_span`; GenEO with the
# same number of functions per box is one point of this class), and (b) the whole DD attention with non-shared
# local blocks of rank {glue:text}`dd_rank` on the Q1 span, tied factors and a learned Jacobi term. Both are
# trained for PCG with the objective of {ref}`ch-preconditioning`: energy probes $u\sim\mathcal N(0, A^{-1})$, the
# energy error after {glue:text}`steps` preconditioned steepest-descent steps, {glue:text}`epochs` epochs, knobs
# chosen on the validation set by the tuned protocol.

# %%
base = hetero.learning_config(M_LEARN, N_LEARN, DELTA, CONTRAST_LEARN, solver="steepest_descent", steps=STEPS,
                              samples=SAMPLES, epochs=EPOCHS, seed=SEED)
specs = [SpanSpec(N_LEARN, DELTA, k) for k in PER_BOX] + [DDSpec(N_LEARN, DELTA, DD_RANK, symmetric=True,
                                                                 diagonal="learned")]
sels = hetero.learning_race(specs, base, {"lr": LRS, "init_scale": INIT_SCALES}, [SEED], workers=WORKERS)
learned = hetero.learned_rows(sels, dense_max=DENSE_MAX)
P_learn = base.problem
classical = [hetero.kappa_row(P_learn, N_LEARN, DELTA, c, split="interface", dense_max=DENSE_MAX, per_box=None,
                              field="channels") for c in hetero.COARSES]
classical += [hetero.kappa_row(P_learn, N_LEARN, DELTA, hetero.geneo_space(sels[0].runs[0].model.decomposition,
              per_box=k)[0], split="interface", dense_max=DENSE_MAX, name="geneo", per_box=k, field="channels")
              for k in PER_BOX]
angles = hetero.span_angles(sels[-2].runs[0].model)
oracle = hetero.validation_error(hetero.geneo_span_model(base.replace(model=specs[-2])), base)
rep_learn = hetero.report_learning(classical, learned, angles, oracle)
table(classical + learned, columns={"coarse": "coarse space", "per_box": "per box", "label": "trained model",
                                    "coarse_dim": "N₀", "kappa": "κ", "iterations": "iterations",
                                    "error_validation": "validation error"},
      formats={"kappa": ".4g", "error_validation": ".3g", "coarse": label},
      caption=f"Classical and learned coarse levels, channels of contrast {CONTRAST_LEARN:g}, m = {M_LEARN}")

# %% tags=["remove-cell"]
glue_numbers(rep_learn, prefix="learn_")
fig_rec.save(fig_kappa, "F22", "kappa_contrast", numbers={"hetero": hetero_rows + classical + learned})

# %% [markdown]
# With {glue:text}`learn_per_box_span` functions per box the learned span reached $\kappa$ =
# {glue:text}`learn_kappa_span:.4g` ({glue:text}`learn_its_span` iterations) and a validation error of
# {glue:text}`learn_val_span:.3g`. GenEO with as many functions per box has $\kappa$ =
# {glue:text}`learn_kappa_geneo_same:.4g` ({glue:text}`learn_its_geneo_same` iterations) and, as a member of the
# same class, a validation error of {glue:text}`learn_val_geneo:.3g` on the same objective; GenEO with the threshold
# has $\kappa$ = {glue:text}`learn_kappa_geneo_tau:.4g` with {glue:text}`learn_dim_geneo_tau` functions, Q1
# {glue:text}`learn_kappa_q1:.4g`. The gap between the trained span and GenEO's is what the training did not find in
# its budget, and the objective tells why it is hard to find: energy probes weigh all $n$ eigenvalues of $M^{-1}A$
# alike, the few that the channels push towards zero carry a small share of the loss, and the gradient towards them
# is weak. Of the {glue:text}`learn_angles` principal angles between the learned span and GenEO's (energy inner
# product), {glue:text}`learn_angles_aligned` are below {glue:text}`learn_aligned_degrees:.0f` degrees (smallest
# {glue:text}`learn_angle_min:.1f`, median {glue:text}`learn_angle_median:.1f`). The DD attention (b), whose coarse
# span is the Q1 span, reached $\kappa$ = {glue:text}`learn_kappa_dd:.4g` ({glue:text}`learn_its_dd` iterations):
# learned blocks act inside the boxes and on the coarse coefficients, not on what the span misses.
#
# ## As a solution operator
#
# The paper's use of the DD structure is as an approximate inverse. Its best possible error, the **structural
# floor** of {ref}`ch-two-d` (`ddlib.approximation.floor`: full-rank local blocks and a free coarse block), depends
# on the coarse span as well. Against the contrast we compare the floor with the Q1 span and with GenEO's, the DD
# attention of local rank {glue:text}`op_rank` trained on Fourier data by the tuned protocol, and the Eckart-Young
# error of a global low-rank operator with as many parameters.

# %% tags=["remove-output"]
op_base = TrainConfig(model=DDSpec(N_LEARN, DELTA, OP_RANK), n=M_LEARN**2, dim=2, K=min(4, M_LEARN // 2),
                      samples=64, validation_samples=32, test_samples=16, epochs=OP_EPOCHS, eval_points=4, seed=SEED)
op_rows = hetero.operator_rows(M_LEARN, N_LEARN, DELTA, OP_CONTRASTS, local_rank=OP_RANK, base=op_base,
                               grid={"lr": LRS, "init_scale": INIT_SCALES}, seeds=[SEED], workers=WORKERS)
fig_rec.save(learning_figure(angles, op_rows), "F24", "learning",
             numbers={"operator": op_rows, "angles": angles, "learning": rep_learn})
display(table(op_rows, columns={"contrast": "contrast", "floor_q1": "floor, Q1", "floor_geneo": "floor, GenEO",
                                "geneo_dim": "GenEO N₀", "trained": "trained DD", "eckart_young": "global EY",
                                "global_rank": "global rank"},
              formats={"contrast": ".0e", "floor_q1": ".3g", "floor_geneo": ".3g", "trained": ".3g",
                       "eckart_young": ".3g"}, caption="Relative operator errors against the contrast"))

# %% tags=["remove-cell"]
glue_numbers({k: v for k, v in op_rows[-1].items() if k in ("floor_q1", "floor_geneo", "trained", "eckart_young",
                                                            "contrast", "global_rank")}, prefix="op_high_")
glue_numbers({k: v for k, v in op_rows[0].items() if k in ("floor_q1", "trained", "eckart_young", "contrast")},
             prefix="op_low_")
glue("seconds", time.perf_counter() - t_start, display=False)

# %% [markdown]
# ```{figure} ../figures/F24_learning.png
# :name: fig-F24
# (a) Principal angles between the learned coarse span and GenEO's of the same dimension. (b) As a solution
# operator: the structural floor with the Q1 and the GenEO span, the trained DD attention and the global
# Eckart-Young error at equal parameters, against the contrast.
# ```
#
# At contrast {glue:text}`op_low_contrast:g` the Q1 floor is {glue:text}`op_low_floor_q1:.3g` against a global Eckart-Young error of
# {glue:text}`op_low_eckart_young:.3g`; at contrast {glue:text}`op_high_contrast:g` the Q1 floor is
# {glue:text}`op_high_floor_q1:.3g` and the global error {glue:text}`op_high_eckart_young:.3g` (rank
# {glue:text}`op_high_global_rank`). The channels make $A^{-1}$ easier for a global low-rank operator (a few
# channel modes carry it) and harder for the DD structure with Q1, whose coarse level cannot couple the boxes along a
# channel; the trained DD operator ({glue:text}`op_high_trained:.3g`) cannot go below its floor. With GenEO's span
# the floor falls to {glue:text}`op_high_floor_geneo:.3g`: the hierarchy is only as good as its coarse space, and
# at high contrast that space has to come from the coefficient, computed as GenEO does or learned.
#
# This chapter ran in {glue:text}`seconds:.0f` s.
