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
SIGMAS = [0.5, 2.0]        # standard deviations of the log-normal field
SIZES = [31, 63]           # nodes per side of the study against n
SHOW_M = 63                # nodes per side of the pictured fields
SHOW_CONTRAST = 1e4        # contrast of the pictured channels and inclusions
SHOW_SIGMA = 2.0           # standard deviation of the pictured log-normal field
H_OVER_H = 8               # box width in nodes in the study against n
SIZE_CONTRAST = 1e4        # contrast of the channels in the study against n and in 3D
M3 = 15                    # nodes per side of the 3D field
N3 = 4                     # boxes per direction in 3D
DENSE_MAX = 256            # largest n with a dense spectrum, Lanczos beyond
AMG_MS = [63, 127, 255]    # sizes of the AMG comparison when the benchmark file is absent
AMG_CONTRAST = 1e4         # contrast of the channel field of the AMG comparison and its tuning
TUNE_M = 127               # nodes per side of the AMG tuning problem
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
import matplotlib.pyplot as plt
from myst_nb import glue

from ddlib import amg, hetero
from ddlib.attention import configure_threads
from ddlib.figures import FigureRecorder, glue_numbers, project_root
from ddlib.models import DDSpec, SpanSpec
from ddlib.plotting import use_style
from ddlib.plotting.hetero import amg_figure, fields_figure, kappa_figure, learning_figure
from ddlib.tables import table, write_csv
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
glue_numbers({key.lower(): globals()[key] for key in (
    "M", "N", "DELTA", "M_LEARN", "N_LEARN", "STEPS", "EPOCHS", "DD_RANK", "OP_RANK", "SHOW_M", "SHOW_SIGMA",
    "TUNE_M", "H_OVER_H", "M3", "N3")} | {"tau": hetero.TAU})
glue_numbers({f"{key.lower()}_text": hetero.contrast_text(globals()[key]) for key in (
    "SHOW_CONTRAST", "AMG_CONTRAST", "SIZE_CONTRAST", "CONTRAST_LEARN")})
label = hetero.LABELS.get
kappa_names = {"none": "one level", "q1": "Q1", "nicolaides": "Nicolaides", "geneo": "GenEO",
               "geneo_dim": "GenEO N₀"}

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
# inclusions of high conductivity ({numref}`fig-F21`).

# %% tags=["remove-cell"]
show = {"channels": hetero.field_problem(SHOW_M, 2, "channels", SHOW_CONTRAST), "log-normal": hetero.field_problem(
    SHOW_M, 2, "lognormal", SHOW_SIGMA), "inclusions": hetero.field_problem(SHOW_M, 2, "inclusions", SHOW_CONTRAST)}
fig = fields_figure(show, {k: P.solve(np.ones(P.n)) for k, P in show.items()})
fig_rec.save(fig, "F21", "fields")
plt.close(fig)

# %% [markdown]
# ```{figure} ../figures/F21_fields.png
# :name: fig-F21
# Top: $\log_{10}a$ of the three fields at $m$ = {glue:text}`show_m` (channels and inclusions of contrast
# {glue:text}`show_contrast_text`, the log-normal field with $\sigma$ = {glue:text}`show_sigma`). Bottom: the
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
rep = hetero.report_hetero(ref)  # kappa and iterations per coarse space, GenEO's bound

# %% tags=["remove-input"]
glue_numbers(rep, prefix="ref_")
by_contrast = {"contrast": "contrast"} | kappa_names
display(table(hetero.pivot(ref), columns=by_contrast, formats={"contrast": hetero.contrast_text},
              caption=f"κ(M⁻¹A) on the channel field, m = {M}, N = {N}, δ = {DELTA}"))
table(hetero.pivot(ref, value="iterations"), columns=by_contrast, formats={"contrast": hetero.contrast_text},
      caption="PCG iterations to 10⁻⁸ on the same field")

# %% [markdown]
# From contrast {glue:text}`ref_contrast_low_text` to {glue:text}`ref_contrast_high_text`, $\kappa$ with the Q1
# space {glue:text}`ref_kappa_q1_change` and with Nicolaides' {glue:text}`ref_kappa_nicolaides_change`. Neither
# coarse grid sees the channels, and each channel crossing a box boundary leaves one eigenvalue of $M^{-1}A$ of order
# $1/\text{contrast}$. GenEO's $\kappa$ lies {glue:text}`ref_geneo_range` over all contrasts; its largest value is
# {glue:text}`ref_geneo_bound_ratio:.2g` times the theory's bound {glue:text}`ref_geneo_bound:,.0f`, which no
# contrast changes. Its coarse space {glue:text}`ref_geneo_dim_change` functions, and its PCG iterations
# {glue:text}`ref_its_geneo_change` where Q1's {glue:text}`ref_its_q1_change`.

# %%
fields = {"lognormal": SIGMAS, "inclusions": CONTRASTS[1:]}
others = hetero.contrast_rows(M, N, DELTA, fields, dense_max=DENSE_MAX)
three = hetero.contrast_rows(M3, N3, DELTA, {"channels": [1.0, SIZE_CONTRAST]}, dim=3,
                             dense_max=DENSE_MAX)
sizes = hetero.size_rows(SIZES, H_OVER_H, SIZE_CONTRAST, dense_max=DENSE_MAX)

# %% tags=["remove-input"]
glue_numbers(hetero.report_fields(others + three), prefix="fields_")
glue_numbers(hetero.report_sizes(sizes), prefix="size_")
keys = {"dim": "d", "field": "field", "contrast": "contrast"}
display(table(hetero.pivot(others + three, key=tuple(keys)), columns=keys | kappa_names,
              formats={"contrast": 3, "field": label},
              caption=f"κ on the other fields (m = {M}) and on the channels in 3D (m = {M3}, N = {N3})"))
table(hetero.pivot(sizes, key="n"), columns={"n": "n"} | kappa_names,
      caption=f"κ against n at H/h = {H_OVER_H}, channels of contrast {SIZE_CONTRAST:,.0f}")

# %% tags=["remove-cell"]
hetero_rows = ref + others + sizes + three        # F22 is saved with the learned rows too, below
fig_kappa = kappa_figure(ref, sizes, rep["geneo_bound"])
write_csv(hetero_rows, "hetero_kappa", columns=hetero.ROW_NAMES)

# %% [markdown]
# ```{figure} ../figures/F22_kappa_contrast.png
# :name: fig-F22
# (a) $\kappa(M^{-1}A)$ and (b) PCG iterations against the contrast of the channel field, per coarse space, with
# GenEO's theoretical bound dotted; (c) $\kappa$ against $n$ at fixed $H/h$ and contrast
# {glue:text}`size_contrast_text`.
# ```
#
# {numref}`fig-F22` draws the channel field. Over the {glue:text}`fields_cases` other cases (the log-normal field,
# the inclusions, and the channels in 3D with $m$ = {glue:text}`m3`, $N$ = {glue:text}`n3`), the largest $\kappa$
# is {glue:text}`fields_kappa_q1_max:.3g` with Q1 and {glue:text}`fields_kappa_geneo_max:.3g` with GenEO, which
# uses up to {glue:text}`fields_dim_geneo_max` coarse functions. Against $n$ at fixed $H/h$ = {glue:text}`h_over_h`
# (so a fixed number of channels per box), from $n$ = {glue:text}`size_n_first` to {glue:text}`size_n_last`,
# GenEO's $\kappa$ {glue:text}`size_kappa_geneo_change` with {glue:text}`size_dim_geneo_last` coarse functions at
# the end, and Q1's {glue:text}`size_kappa_q1_change`; the PCG iterations of Q1 {glue:text}`size_its_q1_change`,
# GenEO's {glue:text}`size_its_geneo_change`. Every measurement, iterations included, is in
# {download}`hetero_kappa.csv <../figures/tables/hetero_kappa.csv>`.
#
# ## Algebraic multigrid
#
# A practitioner facing this matrix would try smoothed aggregation (SA) {cite:p}`vanek1996algebraic` or classical
# Ruge-Stüben (RS) {cite:p}`ruge1987algebraic` from pyamg as a CG preconditioner, one V-cycle per step. pyamg's
# default SA measures strength symmetrically with threshold 0, so its aggregates ignore the jumps. We tune both as a
# practitioner would, over strength measures, thresholds and prolongation smoothers, and score each candidate by the
# work of a solve, CG iterations times operator complexity, on the channel field of contrast
# {glue:text}`amg_contrast_text` at $m$ = {glue:text}`tune_m` (`ddlib.amg.tune_amg`; the choices are recorded in
# `ddlib.amg.TUNED`, which the timings use).

# %%
P_tune = hetero.field_problem(TUNE_M, 2, "channels", AMG_CONTRAST)
b_tune = np.random.default_rng(SEED).standard_normal(P_tune.n)
tuning = {f: amg.tune_amg(P_tune.matrix(), b_tune, f)["rows"] for f in amg.AMG_FAMILIES}

# %% tags=["remove-input"]
tuning = [dict(r, family=f) for f, rows in tuning.items() for r in rows]
table(tuning, columns={"family": "AMG", "candidate": "options", "iterations": "CG iterations",
                       "operator_complexity": "operator complexity", "work": "work"},
      formats={"operator_complexity": ".2f", "work": ".1f",
               "family": lambda f: amg.METHOD_NAMES[f + "_family"]},
      caption=f"Tuning on the channel field, m = {TUNE_M}, contrast {AMG_CONTRAST:,.0f} "
              "(work = iterations × complexity)")

# %% [markdown]
# We time seven solvers, one after the other, on the channel field (the table below names them): AMG of both kinds
# with defaults and tuned, two-level Schwarz with two coarse spaces (Q1, and GenEO up to $n$ =
# {glue:text}`amg_n_schwarz_geneo:,d`, since its local eigenproblems are the expensive part; $H/h$ =
# {glue:text}`amg_H_over_h`, all local problems factorized at once), and SuperLU's direct solve as the reference.
# The timings come from the {glue:text}`amg_source` (`make bench` writes `_build/bench_amg.json`, read here when
# present); the machine was shared, with load averages up to {glue:text}`amg_load_max:.1f` on its cores, so read
# the seconds as a ranking, not as constants.

# %%
amg_rows, amg_source = amg.benchmark_rows(project_root(), AMG_MS, AMG_CONTRAST)
rep_amg = amg.report_amg(amg_rows)

# %% tags=["remove-input"]
glue("amg_source", {"benchmark": "benchmark run", "small run": "small run of this build"}[amg_source],
     display=False)
glue_numbers({k: v for k, v in rep_amg.items() if k != "contrast"}, prefix="amg_")
glue("amg_contrast_rows_text", hetero.contrast_text(rep_amg["contrast"]), display=False)
write_csv(amg_rows, "amg_timings", columns={k: v for k, v in amg.ROW_NAMES.items() if k != "seconds"})
names = ("method", "n", "iterations", "residual", "converged", "seconds", "coarse_dim")
table(amg.summary_rows(amg_rows), columns={k: amg.ROW_NAMES[k] for k in names},
        formats={"method": amg.METHOD_NAMES.get, "converged": lambda v: "yes" if v else "no"},
      caption=f"Each solver at the largest n it ran, channels of contrast {rep_amg['contrast']:,.0f}")

# %% tags=["remove-cell"]
fig = amg_figure(amg_rows)
fig_rec.save(fig, "F23", "amg", numbers={"amg": amg_rows, "tuning": tuning})
plt.close(fig)

# %% [markdown]
# ```{figure} ../figures/F23_amg.png
# :name: fig-F23
# (a) Setup plus solve seconds and (b) CG iterations against $n$ on the channel field of contrast
# {glue:text}`amg_contrast_rows_text`.
# ```
#
# At the largest size, $n$ = {glue:text}`amg_n_max:,d`, the fastest solver that converged was
# {glue:text}`amg_fastest` with {glue:text}`amg_fastest_total:.3g` s, and {glue:text}`amg_direct_phrase`
# ({numref}`fig-F23`). The table gives each solver at its largest size, with the relative residual it reached;
# every timing is in {download}`amg_timings.csv <../figures/tables/amg_timings.csv>`. AMG's hierarchy adapts to the
# coefficient through its strength of connection; the Schwarz methods do so only through their coarse space.
#
# ## Learning where it can matter
#
# If the coarse space is the weak point, learning should target it. On the channel field of contrast
# {glue:text}`contrast_learn_text`, $m$ = {glue:text}`m_learn`, $N$ = {glue:text}`n_learn`, we train (a) the coarse *span* with the exact local solves fixed,
# $\Phi = \sum_iR_i^TD_iV_i$ with learnable $V_i$ and the Galerkin coarse solve (`ddlib.coarse_span`; GenEO with the
# same number of functions per box is one point of this class), and (b) the whole DD attention with non-shared
# local blocks of rank {glue:text}`dd_rank` on the Q1 span, tied factors and a learned Jacobi term. Both are
# trained for PCG with the objective of {ref}`ch-preconditioning`: energy probes $u\sim\mathcal N(0, A^{-1})$, the
# energy error after {glue:text}`steps` preconditioned steepest-descent steps, {glue:text}`epochs` epochs, knobs
# chosen on the validation set by the tuned protocol.

# %%
base = hetero.learning_config(M_LEARN, N_LEARN, DELTA, CONTRAST_LEARN, steps=STEPS,
                              solver="steepest_descent", samples=SAMPLES, epochs=EPOCHS,
                              seed=SEED)
specs = [SpanSpec(N_LEARN, DELTA, k) for k in PER_BOX]
specs += [DDSpec(N_LEARN, DELTA, DD_RANK, symmetric=True, diagonal="learned")]
grid = {"lr": LRS, "init_scale": INIT_SCALES}
sels = hetero.learning_race(specs, base, grid, [SEED], workers=WORKERS)

# %% tags=["remove-input"]
learned = hetero.learned_rows(sels, dense_max=DENSE_MAX)
classical = hetero.classical_rows(sels[0].runs[0].model.decomposition, PER_BOX, dense_max=DENSE_MAX)
angles = hetero.span_angles(sels[-2].runs[0].model)
oracle = hetero.validation_error(hetero.geneo_span_model(base.replace(model=specs[-2])), base)
rep_learn = hetero.report_learning(classical, learned, angles, oracle)
glue_numbers(rep_learn, prefix="learn_")
fig_rec.save(fig_kappa, "F22", "kappa_contrast", numbers={"hetero": hetero_rows + classical + learned})
table(classical + learned, columns={"coarse": "coarse space", "per_box": "per box", "model": "trained model",
                                    "coarse_dim": "N₀", "kappa": "κ", "iterations": "iterations",
                                    "error_validation": "validation error"},
      formats={"coarse": label, "model": {"span": "span", "dd": "DD attention"}.get}, caption="Classical and learned coarse levels, channels of contrast "
                                         f"{CONTRAST_LEARN:,.0f}, m = {M_LEARN}")

# %% [markdown]
# The learned span with the most functions per box ({glue:text}`learn_per_box_span`) reached $\kappa$ =
# {glue:text}`learn_kappa_span_text` ({glue:text}`learn_its_span` iterations) and a validation error of
# {glue:text}`learn_val_span:.3g`. GenEO with as many functions per box has $\kappa$ =
# {glue:text}`learn_kappa_geneo_same_text` ({glue:text}`learn_its_geneo_same` iterations) and, as a member of the
# same class, a validation error of {glue:text}`learn_val_geneo:.3g` on the same objective:
# {glue:text}`learn_span_verdict`. GenEO with the threshold has $\kappa$ = {glue:text}`learn_kappa_geneo_tau_text`
# with {glue:text}`learn_dim_geneo_tau` functions, Q1 {glue:text}`learn_kappa_q1_text`. The objective makes
# GenEO's directions hard to find: energy probes weigh all $n$ eigenvalues of $M^{-1}A$ alike, the few that the
# channels push towards zero carry a small share of the loss, and the gradient towards them is weak. Of the
# {glue:text}`learn_angles` principal angles between the learned span and GenEO's (energy inner product),
# {glue:text}`learn_angles_aligned` are below {glue:text}`learn_aligned_degrees:.0f` degrees (smallest
# {glue:text}`learn_angle_min:.1f`, median {glue:text}`learn_angle_median:.1f`; {numref}`fig-F24`). The DD
# attention (b), whose coarse span is the Q1 span, reached $\kappa$ = {glue:text}`learn_kappa_dd_text`
# ({glue:text}`learn_its_dd` iterations): learned blocks act inside the boxes and on the coarse coefficients, not on
# what the span misses.
#
# ## As a solution operator
#
# The paper's use of the DD structure is as an approximate inverse. Its best possible error, the **structural
# floor** of {ref}`ch-two-d` (`ddlib.approximation.floor`: full-rank local blocks and a free coarse block), depends
# on the coarse span as well. Against the contrast we compare the floor with the Q1 span and with GenEO's, the DD
# attention of local rank {glue:text}`op_rank` trained on Fourier data by the tuned protocol, and the Eckart-Young
# error of a global low-rank operator with as many parameters.

# %%
op_base = TrainConfig(model=DDSpec(N_LEARN, DELTA, OP_RANK), n=M_LEARN**2, dim=2,
                      K=min(4, M_LEARN // 2), samples=64, validation_samples=32,
                      test_samples=16, epochs=OP_EPOCHS, eval_points=4, seed=SEED)
op_rows = hetero.operator_rows(M_LEARN, N_LEARN, DELTA, OP_CONTRASTS, base=op_base,
                               local_rank=OP_RANK, grid=grid, seeds=[SEED],
                               workers=WORKERS)

# %% tags=["remove-input"]
glue_numbers(hetero.report_operator(op_rows), prefix="op_")
fig = learning_figure(angles, op_rows)
fig_rec.save(fig, "F24", "learning", numbers={"operator": op_rows, "angles": angles, "learning": rep_learn})
plt.close(fig)
glue("seconds", time.perf_counter() - t_start, display=False)
table(op_rows, columns={"contrast": "contrast", "floor_q1": "floor, Q1", "floor_geneo": "floor, GenEO",
                        "geneo_dim": "GenEO N₀", "trained": "trained DD", "eckart_young": "global EY",
                        "global_rank": "global rank"}, formats={"contrast": hetero.contrast_text},
      caption="Relative operator errors against the contrast")

# %% [markdown]
# ```{figure} ../figures/F24_learning.png
# :name: fig-F24
# (a) Principal angles between the learned coarse span and GenEO's of the same dimension. (b) As a solution
# operator: the structural floor with the Q1 and the GenEO span, the trained DD attention and the global
# Eckart-Young error at equal parameters, against the contrast.
# ```
#
# From contrast {glue:text}`op_contrast_low_text` to {glue:text}`op_contrast_high_text` the floor of the DD
# structure with Q1 {glue:text}`op_floor_q1_change`, and the error of a global low-rank operator with as many
# parameters {glue:text}`op_eckart_young_change` (rank {glue:text}`op_global_rank_high`; {numref}`fig-F24`).
# A few channel modes carry much of $A^{-1}$ at high contrast, which suits a global low-rank operator, while the Q1
# coarse level cannot couple the boxes along a channel. The trained DD operator ({glue:text}`op_trained_high:.3g`
# at the highest contrast) cannot go below its floor; with GenEO's span that floor is
# {glue:text}`op_floor_geneo_high_text`, against {glue:text}`op_floor_q1_high:.3g` with Q1. The hierarchy is only as
# good as its coarse space, and at high contrast that space has to come from the coefficient, computed as GenEO does
# or learned.
#
# This chapter ran in {glue:text}`seconds:.0f` s.
