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
EPOCHS = 400               # epoch budget of every run
LRS = [1e-2, 3e-2, 1e-1]  # learning rates of Adam in the tuned protocol
GD_LRS = [0.03, 0.1, 0.3]  # learning rates of heavy-ball gradient descent
INIT_SCALES = [1e-4, 1e-3, 1e-2]  # initial-scale grid of the tuned protocol
SCHEDULES = ["cosine"]     # learning-rate schedules searched (["cosine", "constant"]: both)
EVAL_POINTS = 16           # recorded epochs per run (geometric), for the time to target
N_TARGETS = 12             # in-band targets of the time-to-target curves
SEEDS = [0, 1, 2]          # seeds of data, initialisation and batch order
GLOBAL_RANKS = [4, 8, 16, 32, 64]  # ranks of the global baseline
DD_NS = [8, 16]            # numbers of subdomains
DD_RANKS = [1, 2, 4]       # local ranks, with overlap DD_DELTA
DD_DELTA = 1               # overlap of the rank sweep
DELTA_STUDY = [2]          # further overlaps, at the largest N and local rank DELTA_STUDY_RANK
DELTA_STUDY_RANK = 2       # local rank of the overlap study
TIMING_STEPS = 30          # training steps per timing round

# %% tags=["remove-cell"]
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display

from ddlib import approximation as apx, claims as cl, experiments as ex
from ddlib.attention import configure_threads
from ddlib.training import OPTIMIZER_NAMES
from ddlib.figures import FigureRecorder, glue_numbers
from ddlib.models import DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.tables import table
from ddlib.training import TrainConfig
from ddlib.plotting import use_style
from ddlib.plotting import attention as plot

if QUICK:
    n, K, EPOCHS, LRS, INIT_SCALES, SCHEDULES, EVAL_POINTS, N_TARGETS = 63, 8, 120, [3e-2, 1e-1], [1e-1], \
        ["cosine"], 12, 6
    GD_LRS, SEEDS = [0.1], [0, 1]
    GLOBAL_RANKS, DD_NS, DD_RANKS, DELTA_STUDY, TIMING_STEPS = [4, 8], [8], [1, 2], [2], 10
configure_threads()
use_style()
P = Problem(n)
fig_rec = FigureRecorder("chapters/04_dd_attention.ipynb", {k: globals()[k] for k in (
    "QUICK n K SAMPLES EPOCHS LRS GD_LRS INIT_SCALES SEEDS GLOBAL_RANKS DD_NS DD_RANKS DD_DELTA DELTA_STUDY "
    "DELTA_STUDY_RANK SCHEDULES EVAL_POINTS N_TARGETS").split()})
glue_numbers({"n": n, "K": K})

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
# unity, the hat coarse space ($N_0 = N - 1$) and a full coarse rank $r_0 = N_0$ throughout. One batched matrix product
# computes all local coefficients and one scatter-add sums them back; the tests check this against a plain loop over
# subdomains with sparse $R_i$, to rounding, and the gradients with `torch.autograd.gradcheck`.
#
# ## It contains $A^{-1}$ and the classical preconditioner
#
# In 1D the inverse splits exactly ({ref}`ch-schwarz`): $A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E$,
# with $E$ the coarse elements and $R_E$ picking the nodes strictly inside $E$. Element $E_i$ lies inside $\Omega_i$,
# where $D_i > 0$, so $Q_iK_i^T = D_i^{-1/2} P_{E_i} A_{E_i}^{-1} P_{E_i}^T D_i^{-1/2}/h$ and $Q_0K_0^T = A_0^{-1}/h$
# reproduce $A^{-1}$, with local rank $H/h - 1 = (n+1)/N - 1$. Setting instead $Q_iK_i^T = A_i^{-1}/h$ with
# $A_i = R_iAR_i^T$ gives the symmetric two-level Schwarz preconditioner of the paper's form. Both are
# `ddlib.attention.schwarz_init`, with the element or the subdomain blocks.

# %%
checks = ex.representation_checks(P, DD_NS, DD_DELTA)   # largest relative differences

# %% tags=["remove-cell"]
glue_numbers({"exact_err": checks["exact"], "classical_err": checks["classical"], "N_list": ", ".join(map(str, DD_NS))})

# %% [markdown]
# For $N \in \{$ {glue:text}`N_list` $\}$ the exact initialisation reproduces $A^{-1}$ to {glue:text}`exact_err:.1e`
# (relative, largest entry), and the subdomain initialisation equals the weighted two-level preconditioner that
# `ddlib.schwarz` builds independently to {glue:text}`classical_err:.1e`. The ansatz cannot miss $A^{-1}$: the
# question is only how well low-rank local blocks and training do.
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
global_specs = [GlobalSpec(r) for r in GLOBAL_RANKS]
dd_specs = [DDSpec(N, DD_DELTA, r) for N in DD_NS for r in DD_RANKS]
dd_specs += [DDSpec(max(DD_NS), d, DELTA_STUDY_RANK) for d in DELTA_STUDY]

# %% tags=["remove-input"]
mismatch = max(abs(s.build(P).num_parameters() - s.parameter_count(P)) for s in global_specs + dd_specs)
glue_numbers({"param_mismatch": int(mismatch)})
table([{"model": sp.label, "P": sp.parameter_count(P), "built": sp.build(P).num_parameters()}
       for sp in global_specs + dd_specs],
      columns={"model": "model", "P": "parameters (formula)", "built": "trainable entries (built model)"},
      caption=f"Parameter counts at n = {n}")

# %% [markdown]
# Every model's counted trainable entries equal {eq}`eq-dd-params` (largest difference {glue:text}`param_mismatch`).
#
# ## Training under the tuned protocol
#
# A race decided by a fixed knob that favours one side proves nothing, so every model gets **the same search**
# (`ddlib.experiments.tuned_comparison`, {glue:text}`grid_size` points per model): the **optimizer**, Adam
# {cite:p}`kingma2015adam` with learning rates {glue:text}`lr_grid` or heavy-ball gradient descent with
# {glue:text}`gd_lr_grid` ({ref}`ch-optimizer` says why it must be a knob); the initial scale $s$ of the factors,
# $\mathcal N(0, s^2)$, from {glue:text}`init_grid`; and the schedule, {glue:text}`schedule_grid`. Each point trains for
# {glue:text}`epochs` full-batch epochs on {glue:text}`samples` samples of modes $1..K$. The grid is ranked on the first
# seed by the final error on a **validation set from the training band** (never a test set); the three best points
# run on all {glue:text}`n_seeds` seeds and the best **seed mean** wins; a choice on the edge of the learning-rate or
# scale axis extends that axis by one step. Global ranks: {glue:text}`global_ranks`; DD: $N \in \{$
# {glue:text}`N_list` $\}$, $\delta =$ {glue:text}`dd_delta`, local ranks {glue:text}`dd_ranks`, and overlaps
# {glue:text}`deltas` at the largest $N$ with local rank {glue:text}`delta_study_rank`.

# %%
GRID = [{"optimizer": ["adam"], "lr": LRS}, {"optimizer": ["gd"], "lr": GD_LRS}]
GRID = [{**g, "init_scale": INIT_SCALES, "schedule": SCHEDULES} for g in GRID]
base = TrainConfig(model=global_specs[0], n=n, K=K, samples=SAMPLES, epochs=EPOCHS)
results = ex.tuned_comparison(global_specs + dd_specs, base.replace(
    test_samples=SAMPLES, eval_points=EVAL_POINTS), GRID, SEEDS)

# %% tags=["remove-input"]
summary = ex.summary_table(results)
ERR = {"error_in_band_mean": "in-band", "error_out_of_band_mean": "out-of-band", "error_noise_mean": "noise",
       "error_point_loads_mean": "point loads", "operator_error_mean": "operator"}
display(table(summary, columns={"label": "model", "params": "P", "optimizer": "optimizer", "lr": "lr",
                                "init_scale": "init", "schedule": "schedule",
                                "error_validation_mean": "validation error"},
              formats={"optimizer": OPTIMIZER_NAMES.get, "lr": "g", "init_scale": "g", "error_validation_mean": ".2e"},
              caption=f"Tuned protocol, n = {n}, K = {K}: the chosen knobs; validation error: mean over "
                      f"{len(SEEDS)} seeds"))
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
timing = ex.step_time([sel.runs[0].config for sel in results], steps=TIMING_STEPS)  # each step alone
report = cl.report_dd_attention(results, GRID, (g_head, d_head), timing, N_TARGETS)
text = lambda values: ", ".join(f"{v:g}" for v in values)  # noqa: E731
glue_numbers({**report["glue"], "samples": SAMPLES, "epochs": EPOCHS, "lr_grid": text(LRS), "gd_lr_grid": text(GD_LRS),
              "n_gd": sum(s.chosen["optimizer"] == "gd" for s in results), "init_grid": text(INIT_SCALES),
              "grid_size": len(ex.grid_points(GRID)), "n_seeds": len(SEEDS), "dd_delta": DD_DELTA,
              "global_ranks": text(GLOBAL_RANKS), "dd_ranks": text(DD_RANKS), "deltas": text(DELTA_STUDY),
              "delta_study_rank": DELTA_STUDY_RANK, "eval_points": EVAL_POINTS})

# %% [markdown]
# The table lists, per model, the parameters, the chosen knobs, and the final errors (means over seeds): validation
# (training band, independent draw), the four test sets, and the operator. The protocol chose heavy-ball gradient
# descent for {glue:text}`n_gd` of the {glue:text}`n_models` models. {glue:text}`schedule_sentence` Chosen values on
# the grid's edge with the validation error still falling towards it by more than {glue:text}`edge_percent:.0f` % (a
# wider grid might choose further out): {glue:text}`edge_list`.
#
# ## How much the knobs matter
#
# ```{figure} ../figures/F13_tuning_sensitivity.png
# :name: fig-F13
# :width: 100%
#
# **Tuning sensitivity** ($n$ = {glue:text}`n`, $K$ = {glue:text}`K`): the final validation error of the first
# seed, which ranks the grid, for each model (the headline pair and the most accurate model of each class) and
# each optimizer, the better schedule in each cell where several were searched; the boxed point is the one chosen on the
# {glue:text}`n_seeds`-seed means of the finalists, diverged runs are blank.
# ```

# %% tags=["remove-cell"]
shown = [by_spec[label] for label in report["shown"]]
fig = plot.sensitivity_figure(shown, GRID)
fig_rec.save(fig, "F13", "tuning_sensitivity", numbers=dict(tuning=report["tuning"], grid=GRID,
                                                             decades=report["decades"]))
plt.close(fig)

# %% [markdown]
# {numref}`fig-F13` shows why a fixed knob would decide the race. Across the grid, the final validation error of
# {glue:text}`g_head_label` spans {glue:text}`decades_g_head:.1f` decades and that of {glue:text}`dd_head_label`
# {glue:text}`decades_d_head:.1f`; the chosen points are learning rate {glue:text}`g_head_lr:g`, scale
# {glue:text}`g_head_init:g` (global) and {glue:text}`d_head_lr:g`, {glue:text}`d_head_init:g` (DD). The initial
# scale matters beyond the validation error: what a model does off the training data depends on it and on the
# optimizer ({ref}`ch-optimizer`), and validation data from the training band cannot see it.
#
# ## Time to target, over a range of targets
#
# "Trains faster" depends on the target. From the in-band test error at {glue:text}`eval_points` epochs per run we
# read, for each target of a log-spaced grid, the first epoch and second at which each seed reaches it
# (`ddlib.training.time_to_target`); a target counts as reached only if every seed reaches it.
#
# ```{figure} ../figures/F14_time_to_target.png
# :name: fig-F14
# :width: 100%
#
# **Time to target**: epochs (a) and training seconds (b, epochs times one step timed alone) to reach each in-band
# test error, seed means with min-max bars, headline pair and most accurate model per class; targets fall to the right.
# ```

# %% tags=["remove-cell"]
claim1 = report["claim1"]
fig = plot.time_to_target_figure({label: (by_spec[label].family, c) for label, c in report["curves"].items()})
fig_rec.save(fig, "F14", "time_to_target", numbers=dict(
    targets=report["targets"], curves=report["curves"], headline_epochs_holds=claim1["epochs"]["holds"],
    headline_seconds_holds=claim1["seconds"]["holds"], best_epochs_holds=claim1["best"]["holds"]))
plt.close(fig)

# %% [markdown]
# Over {glue:text}`n_targets` targets from {glue:text}`target_hi:.1e` down to {glue:text}`target_lo:.1e` (just above
# the lower of the headline pair's error floors), the DD model is first in epochs for the targets:
# {glue:text}`claim1_epochs_holds`; later (or never) for: {glue:text}`claim1_epochs_fails`. In seconds it is
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
# In-band test error against epochs and (b) against training seconds (epochs times the step timed alone); (c)
# operator error against epochs.
# ```

# %% tags=["remove-cell"]
target, head = report["glue"]["mid_target"], report["headline"]  # the middle target of F14, dashed in F6
fig = plot.training_curves_figure({s.label: ex.training_bands(s, timing[s.label]) for s in (g_head, d_head)}, target)
fig_rec.save(fig, "F6", "training_curves", numbers={"target": target, **{
    f"{x}_to_target_{c}": head[f"{x}_to_target_{c}"] for x in ("epochs", "seconds") for c in ("global", "dd")},
    "step_seconds_global": timing[g_head.label], "step_seconds_dd": timing[d_head.label]})
plt.close(fig)

# %% [markdown]
# One training step (the trainer's own, with the chosen optimizer; median of interleaved rounds on this machine)
# costs {glue:text}`step_ms_dd:.2f` ms for the DD model and {glue:text}`step_ms_global:.2f` ms for the global one, a
# ratio of {glue:text}`step_ratio:.2f` against {glue:text}`flop_ratio:.2f` times the multiply-adds: at this size the
# fixed cost of each small tensor operation, not the arithmetic, decides a step ({ref}`ch-performance` measures
# where arithmetic dominates). The dashed line in {numref}`fig-F6` is the middle target, {glue:text}`mid_target:.1e`.
#
# ## Accuracy against parameters
#
# ```{figure} ../figures/F7_pareto.png
# :name: fig-F7
# :width: 100%
#
# **Final error against parameter count** after {glue:text}`epochs` epochs under the tuned protocol (seed mean and
# min-max range), all global and DD models of the sweep; stars mark the headline pair. (a) in-band test error; (b)
# out-of-band test error (modes $K+1..2K$); (c) operator error, with the oracle curves of {numref}`fig-F5`.
# ```

# %% tags=["remove-cell"]
gfront = apx.global_frontier(P, np.unique(np.round(np.geomspace(1, max(GLOBAL_RANKS) * 2, 20)).astype(int)))
# local ranks below H/h - 1: from H/h - 1 on the oracle is exact (zero, which a log axis cannot show)
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
# difference to $A^{-1}$; (d) that of the learned {glue:text}`g_head_label` operator; (e-g) one interior local block
# $h\,D_i^{1/2}Q_iK_i^TD_i^{1/2}$, its Schwarz counterpart $D_i^{1/2}A_i^{-1}D_i^{1/2}$ and their difference; (h)
# one column (the response to a point load) of each.
# ```

# %% tags=["remove-cell"]
lo = ex.learned_operators(d_head, g_head)
fig = plot.learned_operators_figure(*(lo[k] for k in ("inverse", "dd", "global", "block", "exact_block")), labels=(
    d_head.label, g_head.label), block_title=f"local block $i = {lo['block_index']}$")
fig_rec.save(fig, "F8", "learned_operators", numbers={k: v for k, v in lo.items() if not hasattr(v, "shape")})
plt.close(fig)
glue_numbers({k: v for k, v in lo.items() if not hasattr(v, "shape")})

# %% [markdown]
# {numref}`fig-F8` shows the difference in kind. The learned DD operator (operator error
# {glue:text}`operator_error_dd:.3f` on the first seed) has the smooth global shape of $A^{-1}$; the error of the
# learned global operator ({glue:text}`operator_error_global:.3f`), panel (d), is spread over the whole matrix. The
# learned local block $i =$ {glue:text}`block_index` differs from the weighted local inverse
# $D_i^{1/2}A_i^{-1}D_i^{1/2}$ of two-level Schwarz by {glue:text}`block_err:.2f` in the relative 2-norm: the split
# of $A^{-1}$ into coarse and local parts is not unique, and training need not find the classical one.
#
# ## The three claims at this operating point

# %% tags=["remove-input"]
table(report["accuracy"], columns={"measure": "measure", "global_value": "best global", "global_label": "(model)",
                                   "dd_value": "best DD", "dd_label": "(model)", "more_accurate": "more accurate",
                                   "ranges": "seed ranges"},
      formats={"global_value": ".2e", "dd_value": ".2e"}, caption="The most accurate model of each class, seed means")

# %% [markdown]
# These verdicts hold at one operating point ($n$ = {glue:text}`n`, $K$ = {glue:text}`K`, {glue:text}`samples`
# samples of the band; `ddlib.claims.report_dd_attention` computes them); {ref}`ch-beyond` maps where each turns.
#
# **Claim 1, "trains faster".** In epochs the claim {glue:text}`claim1_epochs` for the headline pair, in seconds it
# {glue:text}`claim1_seconds` ({numref}`fig-F14`); {ref}`ch-optimizer` races the two classes under each optimizer.
#
# **Claim 2, "can be more accurate".** The table above compares the most accurate model of each class on each
# measure. DD attention is more accurate on: {glue:text}`wins_dd`; global attention on: {glue:text}`wins_g`. In the
# operator norm the best global error is {glue:text}`c2_operator_error_ratio:.1f` times the best DD error.
# {glue:text}`oob_verdict` (smallest out-of-band error {glue:text}`min_oob:.2f`; returning zero gives 1): data
# from $K$ modes cannot determine an operator on $n$ modes; the structure and the optimizer decide how wrong it is
# off the band ({ref}`ch-optimizer`). The headline models end at {glue:text}`head_dd_oracle_ratio:.0f` times the
# Schwarz oracle of their class (DD) and {glue:text}`head_g_oracle_ratio:.0f` times the Eckart-Young error (global).
#
# **Claim 3, "significantly fewer parameters".** Against the most accurate global model in the operator norm,
# {glue:text}`c3_operator_error_global`, the claim {glue:text}`c3_operator_error_verdict`:
# {glue:text}`c3_operator_error_dd`. For the in-band test error it {glue:text}`c3_error_in_band_verdict` (best global
# {glue:text}`c3_error_in_band_global`; {glue:text}`c3_error_in_band_dd`). {ref}`ch-beyond` asks which part of the DD
# model does the work.
