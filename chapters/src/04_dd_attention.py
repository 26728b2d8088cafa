# %% [markdown]
# (ch-dd-attention)=
# # 4. Domain-decomposition attention
#
# This chapter builds the paper's operator, checks that it can represent $A^{-1}$ exactly and that it contains the
# classical two-level Schwarz preconditioner of {ref}`ch-schwarz`, counts its parameters, and then trains it
# against the global baseline of {ref}`ch-global-attention` under one tuned protocol. It ends with the paper's three
# claims at this operating point, each with the measurements that support it and those that do not.

# %% tags=["parameters", "remove-cell"]
QUICK = False              # small fast run, set by CI and by make book QUICK 1
n = 255                    # interior grid nodes
K = 16                     # training band, Fourier modes 1 to K
SAMPLES = 64               # training samples (full batch)
EPOCHS = 500               # epoch budget of every run
LRS = [1e-2, 3e-2, 1e-1, 3e-1]  # learning-rate grid of the tuned protocol
INIT_SCALES = [1e-4, 1e-3, 1e-2, 1e-1]  # initial-scale grid of the tuned protocol
SCHEDULES = ["cosine", "constant"]  # learning-rate schedules, also searched
EVAL_POINTS = 24           # recorded epochs per run (geometric), for the time to target
N_TARGETS = 12             # in-band targets of the time-to-target curves
SEEDS = [0, 1, 2]          # seeds of data, initialisation and batch order
GLOBAL_RANKS = [4, 8, 16, 32, 64]  # ranks of the global baseline
DD_NS = [8, 16]            # numbers of subdomains
DD_RANKS = [1, 2, 4, 8]    # local ranks, with overlap DD_DELTA
DD_DELTA = 1               # overlap of the rank sweep
DELTA_STUDY = [2, 4]       # further overlaps, at the largest N and local rank DELTA_STUDY_RANK
DELTA_STUDY_RANK = 2       # local rank of the overlap study
TIMING_STEPS = 30          # training steps per timing round

# %% tags=["remove-cell"]
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

from ddlib import approximation as apx
from ddlib import claims as cl
from ddlib import experiments as ex
from ddlib.attention import DDAttention, Structure, configure_threads, operator_error, schwarz_init
from ddlib.decomposition import Decomposition
from ddlib.figures import FigureRecorder
from ddlib.models import DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.schwarz import schwarz_preconditioner, to_dense
from ddlib.tables import table
from ddlib.training import TrainConfig
from ddlib.plotting import use_style
from ddlib.plotting import attention as plot

if QUICK:
    n, K, EPOCHS, LRS, INIT_SCALES, SCHEDULES, EVAL_POINTS, N_TARGETS = 63, 8, 200, [3e-2, 1e-1], [1e-2, 1e-1], \
        ["cosine"], 12, 6
    GLOBAL_RANKS, DD_NS, DD_RANKS, DELTA_STUDY, TIMING_STEPS = [4, 8], [8], [1, 2], [2], 10
configure_threads()
use_style()
P = Problem(n)
params = dict(QUICK=QUICK, n=n, K=K, SAMPLES=SAMPLES, EPOCHS=EPOCHS, LRS=LRS, INIT_SCALES=INIT_SCALES, SEEDS=SEEDS,
              GLOBAL_RANKS=GLOBAL_RANKS, DD_NS=DD_NS, DD_RANKS=DD_RANKS, DD_DELTA=DD_DELTA, DELTA_STUDY=DELTA_STUDY,
              DELTA_STUDY_RANK=DELTA_STUDY_RANK, SCHEDULES=SCHEDULES, EVAL_POINTS=EVAL_POINTS, N_TARGETS=N_TARGETS)
fig_rec = FigureRecorder("chapters/04_dd_attention.ipynb", params)
glue("n", n, display=False)
glue("K", K, display=False)

# %% [markdown]
# ## The operator
#
# With the subdomains $\Omega_i$, restrictions $R_i$, partition of unity $D_i$ and hat-function coarse basis $\Phi$
# of {ref}`ch-schwarz`, the DD attention is
#
# $$
# \begin{aligned}
# M_\theta^{-1} f &= h\,\Phi\, Q_0 K_0^T\, \Phi^T f\\
# &\quad + h\sum_{i=1}^{N} R_i^T D_i^{1/2}\, Q_i K_i^T\, D_i^{1/2} R_i f,\\
# Q_i, K_i &\in \mathbb R^{n_i\times r},\qquad Q_0, K_0 \in \mathbb R^{N_0\times r_0},
# \end{aligned}
# $$ (eq-dd-operator)
#
# with the same quadrature factor $h$ as the global operator {eq}`eq-global-attention`, so that every block
# approximates a piece of the Green's function with entries of size $O(1)$. We take the multiplicity partition of
# unity, the hat coarse space ($N_0 = N - 1$) and a full coarse rank $r_0 = N_0$ throughout; `ddlib.attention.Structure`
# also offers the ramp and Boolean partitions, the Nicolaides and spectral spaces and the weightings $D_i$ (one side)
# and none, and either level can be left out (used by the ablations).
#
# **Implementation.** The local factors are stored padded to an $N \times n_{\max} \times r$ array. The general path,
# the same in one, two and three dimensions (`DDAttention.gather_apply`), gathers $f$ into the padded subdomain
# blocks, computes all local coefficients with one batched matrix product (`torch.bmm`) and adds the results back with
# one scatter-add (`index_add`). In 1D the subdomains are strided windows of $f$ (a view, no copy), and a fast path
# reads them so, computes $\Phi^T f$ from the hat functions in closed form, and writes the local and coarse
# contributions back with a second batched product and two slice additions for the overlap rows. Neither path has a
# Python loop over subdomains. The tests check both against a plain loop over subdomains with sparse $R_i$ and against
# the model's own dense matrix, to rounding, and the gradients with `torch.autograd.gradcheck`.
#
# ## It contains $A^{-1}$ and the classical preconditioner
#
# In 1D the inverse splits exactly (see {ref}`ch-schwarz`):
# $A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E$, where $E$ runs over the coarse elements and $R_E$ picks
# the nodes strictly inside $E$. Element $E_i$ lies inside $\Omega_i$, where $D_i > 0$, so the choice
# $Q_iK_i^T = D_i^{-1/2} P_{E_i} A_{E_i}^{-1} P_{E_i}^T D_i^{-1/2}/h$ and $Q_0K_0^T = A_0^{-1}/h$ reproduces $A^{-1}$;
# this needs local rank $H/h - 1 = (n+1)/N - 1$. Setting instead $Q_iK_i^T = A_i^{-1}/h$ with $A_i = R_iAR_i^T$ gives
# the symmetric two-level Schwarz preconditioner of the paper's form. Both are `ddlib.attention.schwarz_init`, with
# the element or the subdomain blocks.

# %%
checks = {"exact": [], "classical": []}
G = P.inverse()
for N in DD_NS:
    dec = Decomposition(P, N, DD_DELTA)
    exact = schwarz_init(DDAttention(Structure(dec), dec.box - 1))
    checks["exact"].append(float(np.abs(exact.dense().numpy() - G).max() / np.abs(G).max()))
    classical = schwarz_init(DDAttention(Structure(dec), dec.n_max), "subdomain")
    reference = to_dense(schwarz_preconditioner(dec, weighting="sqrt", coarse="hat"))
    checks["classical"].append(float(np.abs(classical.dense().numpy() - reference).max() / np.abs(reference).max()))
glue("exact_err", max(checks["exact"]), display=False)
glue("classical_err", max(checks["classical"]), display=False)
glue("N_list", ", ".join(map(str, DD_NS)), display=False)
table([("exact initialisation against A⁻¹ (relative, largest entry)", max(checks["exact"])),
       ("Schwarz initialisation against ddlib.schwarz, weighted, hat", max(checks["classical"]))],
      columns=["check", "largest difference"], formats={"largest difference": ".1e"})

# %% [markdown]
# For $N \in \{$ {glue:text}`N_list` $\}$ the exact initialisation reproduces $A^{-1}$ to {glue:text}`exact_err:.1e`
# (relative, largest entry), and the subdomain initialisation equals the weighted two-level preconditioner that
# `ddlib.schwarz` builds independently (with its own local factorizations) to {glue:text}`classical_err:.1e`.
# The ansatz is therefore not an approximation scheme that might miss $A^{-1}$: the question is only how well
# low-rank local blocks and training do.
#
# ## Parameters
#
# Subdomain $i$ holds $n_i$ nodes and $\sum_i n_i = n + 2\delta(N-1)$, because each of the $N-1$ interfaces adds
# $\delta$ nodes to both neighbours. Hence
#
# $$
# \begin{aligned}
# P_{\mathrm{DD}} &= 2r\,\big(n + 2\delta(N-1)\big) + 2N_0 r_0 &&\text{(DD attention)},\\
# P_{\mathrm{glob}} &= 2nr &&\text{(global attention)}.
# \end{aligned}
# $$ (eq-dd-params)
#
# A DD model with local rank $r$ costs about as much as a global model of the *same* rank, plus a small coarse block,
# but its best error is $H^2$ times smaller ({numref}`fig-F5`).

# %%
global_specs = [GlobalSpec(r) for r in GLOBAL_RANKS if r <= n]
dd_specs = [DDSpec(N, DD_DELTA, r) for N in DD_NS for r in DD_RANKS if r <= (n + 1) // N - 1]
dd_specs += [DDSpec(max(DD_NS), d, DELTA_STUDY_RANK) for d in DELTA_STUDY if d <= (n + 1) // max(DD_NS) - 1]
mismatch = max(abs(s.build(P).num_parameters() - s.parameter_count(P)) for s in global_specs + dd_specs)
glue("param_mismatch", int(mismatch), display=False)
table([{"model": sp.label, "P": sp.parameter_count(P), "built": sp.build(P).num_parameters()}
       for sp in global_specs + dd_specs],
      columns={"model": "model", "P": "parameters (formula)", "built": "trainable entries (built model)"},
      caption=f"Parameter counts at n = {n}")

# %% [markdown]
# Every model's counted trainable entries equal {eq}`eq-dd-params` (largest difference {glue:text}`param_mismatch`).
#
# ## Training under the tuned protocol
#
# A race decided by a fixed knob that favours one side proves nothing, so every model gets **the same search** over
# the knobs that decide the outcome (`ddlib.experiments.tuned_comparison`): learning rate from {glue:text}`lr_grid`,
# initial scale $s$ of the factors, $\mathcal N(0, s^2)$, from {glue:text}`init_grid`, and the schedule (cosine decay
# or constant), {glue:text}`grid_size` points per model. Each point trains Adam {cite:p}`kingma2015adam` on the mean
# relative squared error for {glue:text}`epochs` full-batch epochs on {glue:text}`samples` samples of modes $1..K$; the
# point with the lowest final error on a **validation set drawn from the training band** (independent of the
# training set, never a test set) is kept, on the first seed, and then run on all {glue:text}`n_seeds` seeds. The
# global ranks are {glue:text}`global_ranks`; the DD models have $N \in \{$ {glue:text}`N_list` $\}$, overlap
# $\delta =$ {glue:text}`dd_delta` and local ranks {glue:text}`dd_ranks`, plus overlaps {glue:text}`deltas` at the
# largest $N$ with local rank {glue:text}`delta_study_rank`. Every run is cached on disk by a hash of its
# configuration and runs through `ddlib.sweep` (local worker processes, or a Dask cluster, see {doc}`../reproduce`).

# %% tags=["hide-input"]
GRID = {"lr": LRS, "init_scale": INIT_SCALES, "schedule": SCHEDULES}
base = TrainConfig(model=global_specs[0], n=n, K=K, samples=SAMPLES, test_samples=SAMPLES, epochs=EPOCHS,
                   eval_points=EVAL_POINTS)
results = ex.tuned_comparison(global_specs + dd_specs, base, GRID, SEEDS)
summary = ex.summary_table(results)
ERR = {"error_in_band_mean": "in-band", "error_out_of_band_mean": "out-of-band", "error_noise_mean": "noise",
       "error_point_loads_mean": "point loads", "operator_error_mean": "operator"}
display(table(summary, columns={"label": "model", "params": "P", "lr": "lr", "init_scale": "init",
                                "schedule": "schedule", "error_validation_mean": "validation error"},
              formats={"lr": "g", "init_scale": "g", "error_validation_mean": ".2e"},
              caption=f"Tuned protocol, n = {n}, K = {K}: the chosen knobs (first seed)"))
table(summary, columns={"label": "model", **ERR}, formats={k: ".2e" for k in ERR},
      caption=f"Final test and operator errors, means over {len(SEEDS)} seeds")

# %% [markdown]
# The headline pair is fixed before training: the global model of rank $K$ (the smallest that can fit the band) and
# the cheapest DD model whose Schwarz-oracle error is below the global rank-$K$ oracle error.

# %%
by_spec = {sel.label: sel for sel in results}
g_head = by_spec[GlobalSpec(K).label]
d_head = by_spec[ex.cheapest_dd_beating_global(P, K, dd_specs).label]

# %% tags=["remove-cell"]
# the trainer's own step, timed under identical conditions (interleaved rounds), then every verdict of the chapter
timing = ex.step_time([sel.runs[0].config for sel in (g_head, d_head)], steps=TIMING_STEPS)
report = cl.report_dd_attention(results, GRID, (g_head, d_head), timing, N_TARGETS)
settings = {"samples": SAMPLES, "epochs": EPOCHS, "lr_grid": ", ".join(f"{v:g}" for v in LRS),
            "init_grid": ", ".join(f"{v:g}" for v in INIT_SCALES), "grid_size": len(ex.grid_points(GRID)),
            "n_seeds": len(SEEDS), "global_ranks": ", ".join(str(sp.rank) for sp in global_specs),
            "dd_ranks": ", ".join(str(r) for r in DD_RANKS if r <= (n + 1) // min(DD_NS) - 1),
            "deltas": ", ".join(map(str, DELTA_STUDY)), "dd_delta": DD_DELTA, "delta_study_rank": DELTA_STUDY_RANK,
            "eval_points": EVAL_POINTS}
for key, value in {**report["glue"], **settings}.items():
    glue(key, value, display=False)

# %% [markdown]
# The table lists, per model, the parameters, the chosen knobs, and the final errors (means over seeds): validation
# (training band, independent draw), the four test sets, and the operator. The protocol chose the constant schedule
# for {glue:text}`n_constant_dd` of the {glue:text}`n_dd` DD models and {glue:text}`n_constant_global` of the
# {glue:text}`n_global` global ones. Models whose chosen learning rate or initial scale sits on the edge of the grid
# with the validation error still falling towards it by more than {glue:text}`edge_percent:.0f` % (a wider grid
# might choose further out):
# {glue:text}`edge_list`.
#
# ## How much the knobs matter
#
# ```{figure} ../figures/F13_tuning_sensitivity.png
# :name: fig-F13
# :width: 100%
#
# **Tuning sensitivity** ($n$ = {glue:text}`n`, $K$ = {glue:text}`K`, first seed): the final validation error of
# each model over the whole grid, one row per model (the headline pair and the most accurate model of each class),
# one column per schedule; the chosen point is boxed, diverged runs are blank.
# ```

# %% tags=["remove-output"]
shown = [by_spec[label] for label in report["shown"]]
fig = plot.sensitivity_figure(shown, GRID)
fig_rec.save(fig, "F13", "tuning_sensitivity", numbers=dict(tuning=report["tuning"], grid=GRID,
                                                             decades=report["decades"]))
plt.close(fig)

# %% [markdown]
# {numref}`fig-F13` shows why a fixed knob would decide the race. Across the grid, the final validation error of
# {glue:text}`g_head_label` spans {glue:text}`decades_g_head:.1f` decades and that of {glue:text}`dd_head_label`
# {glue:text}`decades_d_head:.1f`; the chosen points are learning rate {glue:text}`g_head_lr:g`, scale
# {glue:text}`g_head_init:g` for the global model and {glue:text}`d_head_lr:g`, {glue:text}`d_head_init:g` for the DD
# model. The smallest scale of the grid is {glue:text}`init_min:g`: a small initial scale leaves little random mass on
# the modes the data never see, the data trap of {ref}`ch-global-attention`, which validation data from the training
# band cannot detect.
#
# ## Time to target, over a range of targets
#
# "Trains faster" depends on the target. We record the in-band test error at {glue:text}`eval_points` epochs per run
# and read, for every target of a log-spaced grid, the first epoch and second at which each seed reaches it
# (`ddlib.training.time_to_target`, interpolated in $\log$ error between recorded epochs); a target counts as reached
# by a model only if every seed reaches it.
#
# ```{figure} ../figures/F14_time_to_target.png
# :name: fig-F14
# :width: 100%
#
# **Time to target**: epochs (a) and training seconds (b) to reach each in-band test error, seed mean with
# min-max bars, for the headline pair and the most accurate model of each class. Targets decrease to the right.
# ```

# %% tags=["remove-output"]
claim1 = report["claim1"]
fig = plot.time_to_target_figure({label: (by_spec[label].family, c) for label, c in report["curves"].items()})
fig_rec.save(fig, "F14", "time_to_target", numbers=dict(
    targets=report["targets"], curves=report["curves"], headline_epochs_holds=claim1["epochs"]["holds"],
    headline_seconds_holds=claim1["seconds"]["holds"], best_epochs_holds=claim1["best"]["holds"]))
plt.close(fig)

# %% [markdown]
# Over {glue:text}`n_targets` targets from {glue:text}`target_hi:.1e` down to {glue:text}`target_lo:.1e` (just above
# the lower of the two headline models' error floors, the worst seed's), the
# headline DD model reaches the target in fewer epochs than {glue:text}`g_head_label` for these targets:
# {glue:text}`claim1_epochs_holds`; later (or never) for these: {glue:text}`claim1_epochs_fails`. In seconds it is
# first for these: {glue:text}`claim1_seconds_holds`. Between the most accurate model of each class
# ({glue:text}`g_best_label` against {glue:text}`d_best_label`), DD is faster in epochs for these targets:
# {glue:text}`claim1_best_holds`; slower for these: {glue:text}`claim1_best_fails`.
#
# ```{figure} ../figures/F6_training_curves.png
# :name: fig-F6
# :width: 100%
#
# **Training curves of the headline pair** ({glue:text}`g_head_label` and {glue:text}`dd_head_label`, $n$ =
# {glue:text}`n`, $K$ = {glue:text}`K`): geometric mean over {glue:text}`n_seeds` seeds (line) and range (band). (a)
# In-band test error against epochs and (b) against measured training seconds; (c) operator error against epochs.
# ```

# %% tags=["remove-output"]
target, head = report["glue"]["mid_target"], report["headline"]  # the middle target of F14, dashed in F6
curves = {sel.label: {"kind": sel.family, "epoch": ex.seed_band(sel, "error_in_band", "epoch"),
                      "seconds": ex.seed_band(sel, "error_in_band", "seconds"),
                      "operator": ex.seed_band(sel, "operator_error", "epoch")} for sel in (g_head, d_head)}
fig = plot.training_curves_figure(curves, target)
fig_rec.save(fig, "F6", "training_curves", numbers=dict(
    target=target, epochs_to_target_global=head["epochs_to_target_global"],
    epochs_to_target_dd=head["epochs_to_target_dd"], seconds_to_target_global=head["seconds_to_target_global"],
    seconds_to_target_dd=head["seconds_to_target_dd"], step_seconds_global=timing[g_head.label],
    step_seconds_dd=timing[d_head.label]))
plt.close(fig)

# %% [markdown]
# One training step (the trainer's own, Adam) costs {glue:text}`step_ms_dd:.2f` ms for the DD model and
# {glue:text}`step_ms_global:.2f` ms for the global one (median of interleaved timing rounds on this machine), a ratio
# of {glue:text}`step_ratio:.2f`, while the DD model has {glue:text}`flop_ratio:.2f` times the multiply-adds. The
# difference between the two ratios measures how much the fixed cost of each small tensor operation (the DD step has
# more of them: windows, batched products, overlap additions, the weights), rather than the arithmetic, decides a step
# at this size; {ref}`ch-performance` measures the cost where arithmetic dominates. The dashed line in
# {numref}`fig-F6` is the middle target of F14, {glue:text}`mid_target:.1e`.
#
# ## Accuracy against parameters
#
# {numref}`fig-F7` puts every trained model at its parameter count, on the in-band and out-of-band test sets and in
# the operator norm, with the oracle curves of {numref}`fig-F5` on the last panel.
#
# ```{figure} ../figures/F7_pareto.png
# :name: fig-F7
# :width: 100%
#
# **Final error against parameter count** after {glue:text}`epochs` epochs under the tuned protocol (seed mean and
# min-max range), all global and DD models of the sweep; stars mark the headline pair. (a) in-band test error; (b)
# out-of-band test error (modes $K+1..2K$); (c) operator error, with the best achievable errors of both classes.
# ```

# %% tags=["remove-output"]
gfront = apx.global_frontier(P, np.unique(np.round(np.geomspace(1, max(GLOBAL_RANKS) * 2, 20)).astype(int)))
# local ranks below H/h - 1, where the oracle is exact (fact 4: zero, which a log axis cannot show)
dd_fronts = [apx.dd_frontier(P, N, DD_DELTA, np.arange(1, (n + 1) // N - 1)) for N in DD_NS]
labels = list(summary["label"])
fig = plot.pareto_figure(summary, gfront, dd_fronts, (labels.index(g_head.label), labels.index(d_head.label)))
fig_rec.save(fig, "F7", "pareto", numbers=dict(headline=head, n=n, K=K, epochs=EPOCHS, seeds=len(SEEDS)))
plt.close(fig)

# %% [markdown]
# ## What was learned
#
# ```{figure} ../figures/F8_learned_operators.png
# :name: fig-F8
# :width: 100%
#
# **Learned operators** (first seed). (a) $A^{-1}$; (b) the learned {glue:text}`dd_head_label` operator and (c) its
# difference to $A^{-1}$; (d) the difference of the learned {glue:text}`g_head_label` operator; (e-g) one interior
# local block $h\,D_i^{1/2}Q_iK_i^TD_i^{1/2}$ beside its classical Schwarz counterpart $D_i^{1/2}A_i^{-1}D_i^{1/2}$
# (the block of the subdomain initialisation above) and their difference; (h) one column (the response to a point
# load) of each.
# ```

# %% tags=["remove-output"]
dd_model, g_model = d_head.runs[0].model, g_head.runs[0].model
M_dd, M_g = dd_model.dense().numpy(), g_model.dense().numpy()
dec = dd_model.decomposition
i_block = dec.N // 2
block = dd_model.local_blocks()[i_block]
# the classical block in the same units: h D_i^{1/2} Q_i K_i^T D_i^{1/2} with Q_i K_i^T = A_i^{-1}/h
exact_block = schwarz_init(DDAttention(d_head.spec.structure(P), dec.n_max), "subdomain").local_blocks()[i_block]
block_err = float(np.linalg.norm(block - exact_block, 2) / np.linalg.norm(exact_block, 2))
op_dd, op_g = operator_error(M_dd, P), operator_error(M_g, P)
fig = plot.learned_operators_figure(G, M_dd, M_g, block, exact_block, labels=(d_head.label, g_head.label),
                                    block_title=f"local block $i = {i_block}$")
fig_rec.save(fig, "F8", "learned_operators", numbers=dict(block_err=block_err, operator_error_dd=op_dd,
                                                           operator_error_global=op_g, block_index=int(i_block)))
plt.close(fig)
for key, value in dict(block_err=block_err, block_index=int(i_block), f8_op_dd=op_dd, f8_op_g=op_g).items():
    glue(key, value, display=False)

# %% [markdown]
# {numref}`fig-F8` shows the difference in kind. The learned DD operator (operator error {glue:text}`f8_op_dd:.3f` on
# the first seed) has the smooth global shape of $A^{-1}$; the error of the learned global operator (operator error
# {glue:text}`f8_op_g:.3f`), panel (d), is spread over the whole matrix: the modes outside the training band, which
# the data never constrain. The learned local block $i =$ {glue:text}`block_index` differs from the weighted local
# inverse $D_i^{1/2}A_i^{-1}D_i^{1/2}$ of two-level Schwarz by {glue:text}`block_err:.2f` in the relative 2-norm: the
# split of $A^{-1}$ into coarse and local parts is not unique, and training need not find the classical one.
#
# ## The three claims at this operating point

# %% tags=["hide-input"]
table(report["accuracy"], columns={"measure": "measure", "global_value": "best global", "global_label": "(model)",
                                   "dd_value": "best DD", "dd_label": "(model)", "more_accurate": "more accurate",
                                   "ranges": "seed ranges"},
      formats={"global_value": ".2e", "dd_value": ".2e"}, caption="The most accurate model of each class, seed means")

# %% [markdown]
# These verdicts hold at one operating point ($n$ = {glue:text}`n`, $K$ = {glue:text}`K`, {glue:text}`samples`
# samples of the Fourier band); {ref}`ch-beyond` maps where each one turns as $n$, the sample count, the band, the
# data kind and $N$ change. They are computed by `ddlib.claims.report_dd_attention` from the runs above.
#
# **Claim 1, "trains faster".** In epochs the claim {glue:text}`claim1_epochs` for the headline pair (DD first for
# the targets: {glue:text}`claim1_epochs_holds`); in seconds it {glue:text}`claim1_seconds` (DD first for:
# {glue:text}`claim1_seconds_holds`), see {numref}`fig-F14`.
#
# **Claim 2, "can be more accurate".** The table above compares the most accurate model of each class on each
# measure. DD attention is more accurate on: {glue:text}`wins_dd`; global attention on: {glue:text}`wins_g`. In the
# operator norm the best global error is {glue:text}`c2_operator_error_ratio:.1f` times the best DD error.
# {glue:text}`oob_verdict` (smallest out-of-band error {glue:text}`min_oob:.2f`, where 1 is what returning zero
# achieves): data from $K$ modes cannot determine an operator on $n$ modes, whatever its structure; the structure
# changes *how* wrong it is off the band. The headline models end at {glue:text}`head_dd_oracle_ratio:.0f` times the
# Schwarz oracle of their class (DD) and {glue:text}`head_g_oracle_ratio:.0f` times the Eckart-Young error (global).
#
# **Claim 3, "significantly fewer parameters".** Against the most accurate global model in the operator norm,
# {glue:text}`c3_operator_error_global`, the claim {glue:text}`c3_operator_error_verdict`:
# {glue:text}`c3_operator_error_dd`. For the in-band test error it {glue:text}`c3_error_in_band_verdict` (best global
# {glue:text}`c3_error_in_band_global`; {glue:text}`c3_error_in_band_dd`). {ref}`ch-beyond` asks which part of the DD
# model does the work.
