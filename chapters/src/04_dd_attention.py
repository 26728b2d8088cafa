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
TIMING_STEPS = 30          # Adam steps per timing round

# %% tags=["remove-cell"]
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

from ddlib import approximation as apx
from ddlib import claims as cl
from ddlib import experiments as ex
from ddlib.attention import DDAttention, configure_threads, operator_error
from ddlib.decomposition import Decomposition
from ddlib.figures import FigureRecorder
from ddlib.problem import inverse, laplacian_1d
from ddlib.schwarz import schwarz_preconditioner, to_dense
from ddlib.tables import table
from ddlib.models import DDSpec, GlobalSpec
from ddlib.training import TrainConfig
from ddlib.plotting import use_style
from ddlib.plotting import attention as plot

if QUICK:
    n, K, EPOCHS, LRS, INIT_SCALES, SCHEDULES, EVAL_POINTS, N_TARGETS = 63, 8, 200, [3e-2, 1e-1], [1e-2, 1e-1], \
        ["cosine"], 12, 6
    GLOBAL_RANKS, DD_NS, DD_RANKS, DELTA_STUDY, TIMING_STEPS = [4, 8], [8], [1, 2], [2], 10
configure_threads()
use_style()
params = dict(QUICK=QUICK, n=n, K=K, SAMPLES=SAMPLES, EPOCHS=EPOCHS, LRS=LRS, INIT_SCALES=INIT_SCALES, SEEDS=SEEDS, GLOBAL_RANKS=GLOBAL_RANKS,
              DD_NS=DD_NS, DD_RANKS=DD_RANKS, DD_DELTA=DD_DELTA, DELTA_STUDY=DELTA_STUDY,
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
# unity, the hat coarse space ($N_0 = N - 1$) and a full coarse rank $r_0 = N_0$ throughout; `ddlib.attention.DDAttention`
# also offers the ramp and Boolean partitions, the Nicolaides space, the weightings $D_i$ (one side) and none, and
# switches for either level (used by the ablations).
#
# **Implementation.** The local factors are stored padded to an $N \times n_{\max} \times r$ array. One application
# reads every subdomain as a strided window of $f$ (a view, no copy), computes all local coefficients, and
# $\Phi^T f$ from the hat functions in closed form, with one batched matrix product (`torch.bmm`), and writes the
# local and coarse contributions back with a second batched product and two slice additions for the overlap rows
# (another coarse space, such as Nicolaides', is applied on the supports of its basis functions). A separate
# reference path, `ddlib.attention.reference_apply`, gathers $f$ into padded subdomain blocks and adds the results
# back with one scatter-add (`index_add`). Neither has a Python loop over subdomains. The tests check both against a
# plain loop over subdomains with sparse $R_i$ and against the model's own dense matrix, to rounding, and the
# gradients with `torch.autograd.gradcheck`.
#
# ## It contains $A^{-1}$ and the classical preconditioner
#
# In 1D the inverse splits exactly (see {ref}`ch-schwarz`):
# $A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E$, where $E$ runs over the coarse elements and $R_E$ picks
# the nodes strictly inside $E$. Element $E_i$ lies inside $\Omega_i$, where $D_i > 0$, so the choice
# $Q_iK_i^T = D_i^{-1/2} P_{E_i} A_{E_i}^{-1} P_{E_i}^T D_i^{-1/2}/h$ and $Q_0K_0^T = A_0^{-1}/h$ reproduces $A^{-1}$;
# this needs local rank $m - 1 = (n+1)/N - 1$. Setting instead $Q_iK_i^T = A_i^{-1}/h$ with $A_i = R_iAR_i^T$ gives the
# symmetric two-level Schwarz preconditioner of the paper's form. Both are the `init="schwarz"` initialisation.

# %%
checks = {}
for N in DD_NS:
    dec = Decomposition(n, N, DD_DELTA)
    exact = DDAttention(dec, dec.m - 1, init="schwarz")
    checks.setdefault("exact", []).append(float(np.abs(exact.dense().numpy() - inverse(n)).max()
                                                / np.abs(inverse(n)).max()))
    classical = DDAttention(dec, dec.n_max, init="schwarz", local_inverse="subdomain")
    reference = to_dense(schwarz_preconditioner(dec, laplacian_1d(n), weighting="sqrt", coarse="hat"))
    checks.setdefault("classical", []).append(float(np.abs(classical.dense().numpy() - reference).max()
                                                    / np.abs(reference).max()))
glue("exact_err", max(checks["exact"]), display=False)
glue("classical_err", max(checks["classical"]), display=False)
glue("N_list", ", ".join(map(str, DD_NS)), display=False)
table([("exact initialisation against A⁻¹ (relative, largest entry)", max(checks["exact"])),
       ("Schwarz initialisation against ddlib.schwarz, weighted, hat", max(checks["classical"]))],
      columns=["check", "largest difference"], formats={"largest difference": ".1e"})

# %% [markdown]
# For $N \in \{$ {glue:text}`N_list` $\}$ the exact initialisation reproduces $A^{-1}$ to {glue:text}`exact_err:.1e`
# (relative, largest entry), and the subdomain initialisation equals the weighted two-level preconditioner that
# `ddlib.schwarz` builds independently (with LAPACK tridiagonal factorizations) to {glue:text}`classical_err:.1e`.
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
mismatch = max(abs(s.build(n).num_parameters() - s.parameter_count(n)) for s in global_specs + dd_specs)
glue("param_mismatch", int(mismatch), display=False)
table([{"model": sp.label, "P": sp.parameter_count(n), "built": sp.build(n).num_parameters()}
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
by_spec = {sel.label: sel for sel in results}
edges = {sel.label: cl.grid_edges(sel, GRID) for sel in results}
ERR = {"error_in_band_mean": "in-band", "error_out_of_band_mean": "out-of-band", "error_noise_mean": "noise",
       "error_point_loads_mean": "point loads", "operator_error_mean": "operator"}
display(table(summary, columns={"label": "model", "params": "P", "lr": "lr", "init_scale": "init",
                                "schedule": "schedule", "error_validation_mean": "validation error"},
              formats={"lr": "g", "init_scale": "g", "error_validation_mean": ".2e"},
              caption=f"Tuned protocol, n = {n}, K = {K}: the chosen knobs (first seed)"))
table(summary, columns={"label": "model", **ERR}, formats={k: ".2e" for k in ERR},
      caption=f"Final test and operator errors, means over {len(SEEDS)} seeds")

# %% tags=["remove-cell"]
glue("samples", SAMPLES, display=False)
glue("epochs", EPOCHS, display=False)
glue("lr_grid", ", ".join(f"{lr:g}" for lr in LRS), display=False)
glue("init_grid", ", ".join(f"{v:g}" for v in INIT_SCALES), display=False)
glue("grid_size", len(ex.grid_points(GRID)), display=False)
glue("n_seeds", len(SEEDS), display=False)
glue("global_ranks", ", ".join(str(sp.rank) for sp in global_specs), display=False)
glue("dd_ranks", ", ".join(str(r) for r in DD_RANKS if r <= (n + 1) // min(DD_NS) - 1), display=False)
glue("deltas", ", ".join(map(str, DELTA_STUDY)), display=False)
glue("dd_delta", DD_DELTA, display=False)
glue("delta_study_rank", DELTA_STUDY_RANK, display=False)
on_edge = [label for label, e in edges.items() if e]
glue("n_models", len(results), display=False)
glue("n_on_edge", len(on_edge), display=False)
glue("edge_percent", 100 * (cl.EDGE_FACTOR - 1), display=False)
glue("edge_list", "; ".join(f"{lab} ({', '.join(edges[lab])})" for lab in on_edge) if on_edge else "none",
     display=False)
sched = {fam: [sel.chosen["schedule"] for sel in results if sel.family == fam] for fam in ("global", "dd")}
for fam, v in sched.items():
    glue(f"n_constant_{fam}", sum(x == "constant" for x in v), display=False)
    glue(f"n_{fam}", len(v), display=False)

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
# headline pair, fixed before training: the global model of rank K (the smallest that can fit the band) and the
# cheapest DD model whose Schwarz-oracle error is below the global rank-K oracle error
g_head = by_spec[GlobalSpec(K).label]
d_head = by_spec[ex.cheapest_dd_beating_global(n, K, dd_specs).label]
best = {fam: by_spec[ex.class_best(summary, fam, "error_validation_mean")["label"]] for fam in ("global", "dd")}
shown = list({sel.label: sel for sel in (g_head, best["global"], d_head, best["dd"])}.values())
spread = {}  # decades between the best and the worst finite validation error over the grid
for sel in results:
    v = np.array([r["error_validation"] for r in sel.grid])
    v = v[np.isfinite(v)]
    spread[sel.label] = float(np.log10(v.max() / v.min()))
fig = plot.sensitivity_figure(shown, GRID)
tuning = [{"label": sel.label, "lr": sel.chosen["lr"], "init_scale": sel.chosen["init_scale"],
           "schedule": sel.chosen["schedule"], "grid_edges": edges[sel.label]} for sel in results]
fig_rec.save(fig, "F13", "tuning_sensitivity", numbers=dict(tuning=tuning, grid=GRID, decades=spread))
plt.close(fig)
glue("g_head_label", g_head.label, display=False)
glue("dd_head_label", d_head.label, display=False)
glue("decades_g_head", spread[g_head.label], display=False)
glue("decades_d_head", spread[d_head.label], display=False)
g_head_init = g_head.chosen["init_scale"]
glue("g_head_init", g_head_init, display=False)
glue("g_head_lr", g_head.chosen["lr"], display=False)
glue("d_head_init", d_head.chosen["init_scale"], display=False)
glue("d_head_lr", d_head.chosen["lr"], display=False)
glue("init_sentence", "The global model's best runs start at the smallest scale of the grid: a small initial scale "
     "leaves little random mass on the modes the data never see (the data trap of the global attention chapter)."
     if g_head_init == min(INIT_SCALES) else "The global model does not need the smallest scale of the grid.",
     display=False)

# %% [markdown]
# {numref}`fig-F13` shows why a fixed knob would decide the race. Across the grid, the final validation error of
# {glue:text}`g_head_label` spans {glue:text}`decades_g_head:.1f` decades and that of {glue:text}`dd_head_label`
# {glue:text}`decades_d_head:.1f`; the chosen points are learning rate {glue:text}`g_head_lr:g`, scale
# {glue:text}`g_head_init:g` for the global model and {glue:text}`d_head_lr:g`, {glue:text}`d_head_init:g` for the DD
# model. {glue:text}`init_sentence`
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
# targets from half the initial error down to just above the lower of the headline pair's floors (seed worst case)
floor = min(max(r.curve("error_in_band").min() for r in sel.runs) for sel in (g_head, d_head))
top = max(sel.runs[0].curve("error_in_band")[0] for sel in shown)
targets = np.geomspace(top / 2, floor * 1.05, N_TARGETS)
ttt = {sel.label: (sel.family, ex.time_to_target_curve(sel, targets)) for sel in shown}
fig = plot.time_to_target_figure(ttt)
claim1 = {x: cl.faster(ttt[g_head.label][1], ttt[d_head.label][1], x) for x in ("epochs", "seconds")}
claim1_best = cl.faster(ttt[best["global"].label][1], ttt[best["dd"].label][1], "epochs")
fig_rec.save(fig, "F14", "time_to_target", numbers=dict(
    targets=targets, curves={k: {kk: vv for kk, vv in c.items()} for k, (_, c) in ttt.items()},
    headline_epochs_holds=claim1["epochs"]["holds"], headline_seconds_holds=claim1["seconds"]["holds"],
    best_epochs_holds=claim1_best["holds"]))
plt.close(fig)


def _ranges(iv):
    return " and ".join(f"{a:.1e} to {b:.1e}" if a != b else f"{a:.1e}" for a, b in iv) if iv else "none"


glue("eval_points", EVAL_POINTS, display=False)
glue("n_targets", N_TARGETS, display=False)
glue("target_hi", float(targets[0]), display=False)
glue("target_lo", float(targets[-1]), display=False)
for x in ("epochs", "seconds"):
    glue(f"claim1_{x}_holds", _ranges(claim1[x]["holds"]), display=False)
    glue(f"claim1_{x}_fails", _ranges(claim1[x]["fails"]), display=False)
    glue(f"claim1_{x}_n", claim1[x]["n_dd_faster"], display=False)
glue("claim1_best_holds", _ranges(claim1_best["holds"]), display=False)
glue("claim1_best_fails", _ranges(claim1_best["fails"]), display=False)
glue("g_best_label", best["global"].label, display=False)
glue("d_best_label", best["dd"].label, display=False)

# %% [markdown]
# Over {glue:text}`n_targets` targets from {glue:text}`target_hi:.1e` down to {glue:text}`target_lo:.1e` (just above
# the lower of the two headline models' error floors, the worst seed's), the
# headline DD model reaches the target in fewer epochs than {glue:text}`g_head_label` for targets
# {glue:text}`claim1_epochs_holds`, and later (or never) for {glue:text}`claim1_epochs_fails`. In seconds it is first
# for {glue:text}`claim1_seconds_holds`. Between the most accurate model of each class ({glue:text}`g_best_label`
# against {glue:text}`d_best_label`), DD is faster in epochs for {glue:text}`claim1_best_holds` and slower for
# {glue:text}`claim1_best_fails`.
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
target = float(targets[len(targets) // 2])  # the middle target of F14, dashed in F6
head = ex.headline(g_head, d_head, target)
curves = {}
for sel in (g_head, d_head):
    curves[sel.label] = {"kind": sel.family, "epoch": ex.seed_band(sel, "error_in_band", "epoch"),
                         "seconds": ex.seed_band(sel, "error_in_band", "seconds"),
                         "operator": ex.seed_band(sel, "operator_error", "epoch")}
# timing under identical conditions: interleaved rounds of Adam steps on the same batch size
timing = ex.step_time([g_head.spec, d_head.spec], n, SAMPLES, steps=TIMING_STEPS)
t_g, t_d = timing[g_head.label], timing[d_head.label]
fig = plot.training_curves_figure(curves, target)
fig_rec.save(fig, "F6", "training_curves", numbers=dict(
    target=target, epochs_to_target_global=head["epochs_to_target_global"],
    epochs_to_target_dd=head["epochs_to_target_dd"], seconds_to_target_global=head["seconds_to_target_global"],
    seconds_to_target_dd=head["seconds_to_target_dd"], step_seconds_global=t_g, step_seconds_dd=t_d))
plt.close(fig)
glue("step_ms_global", 1e3 * t_g, display=False)
glue("step_ms_dd", 1e3 * t_d, display=False)
glue("step_ratio", t_d / t_g, display=False)
# multiply-adds per right-hand side: 2 r sum(n_i) + coarse (Phi^T f, two N0 x r0 products, Phi c) against 2 n r
flops_d = d_head.spec.parameter_count(n) + 2 * n * 2
flops_g = g_head.spec.parameter_count(n)
glue("flop_ratio", flops_d / flops_g, display=False)
glue("step_explain", "at this size a step is dominated by the fixed cost of each small tensor operation (the DD step "
     "has more of them: windows, batched products, overlap additions, the weights), not by arithmetic."
     if (t_d > t_g) == (flops_d < flops_g) else "here the step times follow the arithmetic.", display=False)
glue("mid_target", target, display=False)

# %% [markdown]
# One Adam step costs {glue:text}`step_ms_dd:.2f` ms for the DD model and {glue:text}`step_ms_global:.2f` ms for the
# global one (median of interleaved timing rounds on this machine), and the DD model has {glue:text}`flop_ratio:.2f`
# times the multiply-adds: {glue:text}`step_explain` {ref}`ch-performance` measures the cost where arithmetic
# dominates. The dashed line in {numref}`fig-F6` is the middle target of {numref}`fig-F14`,
# {glue:text}`mid_target:.1e`.
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
gfront = apx.global_frontier(n, np.unique(np.round(np.geomspace(1, max(GLOBAL_RANKS) * 2, 20)).astype(int)))
dd_fronts = [apx.dd_frontier(n, N, DD_DELTA) for N in DD_NS]
labels = list(summary["label"])
highlight = (labels.index(g_head.label), labels.index(d_head.label))
fig = plot.pareto_figure(summary, gfront, dd_fronts, highlight)
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
# (the block of the `init="schwarz"` preconditioner above) and their difference; (h) one
# column (the response to a point load) of each.
# ```

# %% tags=["remove-output"]
Ainv = inverse(n)
M_dd = d_head.runs[0].model.dense().numpy()
M_g = g_head.runs[0].model.dense().numpy()
dec = d_head.runs[0].model.decomposition
i_block = dec.N // 2
blocks = d_head.runs[0].model.local_blocks()
# the classical block in the same units: h D_i^{1/2} Q_i K_i^T D_i^{1/2} with Q_i K_i^T = A_i^{-1}/h
exact_block = DDAttention(dec, dec.n_max, init="schwarz", local_inverse="subdomain").local_blocks()[i_block]
block_err = float(np.linalg.norm(blocks[i_block] - exact_block, 2) / np.linalg.norm(exact_block, 2))
op_dd, op_g = operator_error(M_dd, n), operator_error(M_g, n)
fig = plot.learned_operators_figure(Ainv, M_dd, M_g, blocks[i_block], exact_block,
                                    labels=(d_head.label, g_head.label), block_title=f"local block $i = {i_block}$")
fig_rec.save(fig, "F8", "learned_operators", numbers=dict(block_err=block_err, operator_error_dd=op_dd,
                                                           operator_error_global=op_g, block_index=int(i_block)))
plt.close(fig)
glue("block_err", block_err, display=False)
glue("block_verdict", "is not" if block_err > 0.1 else "is close to", display=False)
glue("block_index", int(i_block), display=False)
glue("head_local_rank", int(d_head.spec.local_rank), display=False)
glue("f8_op_dd", op_dd, display=False)
glue("f8_op_g", op_g, display=False)

# %% [markdown]
# {numref}`fig-F8` shows the difference in kind. The learned DD operator (operator error {glue:text}`f8_op_dd:.3f` on
# the first seed) has the smooth global shape of $A^{-1}$; the error of the learned global operator (operator error
# {glue:text}`f8_op_g:.3f`), panel (d), is spread over the whole matrix: the modes outside the training band, which
# the data never constrain. The learned local block $i =$ {glue:text}`block_index` {glue:text}`block_verdict` the
# weighted local inverse $D_i^{1/2}A_i^{-1}D_i^{1/2}$ of two-level Schwarz (relative 2-norm difference
# {glue:text}`block_err:.2f`): the split of $A^{-1}$ into coarse and local parts is not unique, and training finds
# another split.
#
# ## The three claims at this operating point

# %% tags=["hide-input"]
metrics = ("error_in_band", "error_out_of_band", "error_noise", "error_point_loads", "operator_error")
names = {"error_in_band": "in-band test error", "error_out_of_band": "out-of-band test error",
         "error_noise": "white-noise test error", "error_point_loads": "point-load test error",
         "operator_error": "operator error"}
claim2 = cl.accuracy(summary, metrics)
claim3 = {m: cl.fewer_parameters(summary, m) for m in ("error_in_band", "operator_error")}
table([{**r, "metric": names[r["metric"]], "ranges": "disjoint" if r["separated"] else "overlap"} for r in claim2],
      columns={"metric": "measure", "global": "best global", "global_label": "(model)", "dd": "best DD",
               "dd_label": "(model)", "winner": "more accurate", "ranges": "seed ranges"},
      formats={"global": ".2e", "dd": ".2e"}, caption="The most accurate model of each class, seed means")

# %% tags=["remove-cell"]
wins = {fam: [names[r["metric"]] for r in claim2 if r["winner"] == fam] for fam in ("dd", "global")}
glue("wins_dd", ", ".join(wins["dd"]) if wins["dd"] else "none", display=False)
glue("wins_g", ", ".join(wins["global"]) if wins["global"] else "none", display=False)
for r in claim2:
    glue(f"c2_{r['metric']}_ratio", r["ratio"], display=False)
for m, r in claim3.items():
    glue(f"c3_{m}_verdict", "holds" if r["holds"] else "does not hold", display=False)
    glue(f"c3_{m}_global", f"{r['global_label']} ({r['global_value']:.2g} with {r['global_params']} parameters)",
         display=False)
    glue(f"c3_{m}_dd", f"{r['dd_label']} ({r['dd_value']:.2g} with {r['dd_params']} parameters)" if r["holds"] else
         "no DD model of the sweep", display=False)
    glue(f"c3_{m}_ratio", r["ratio"] if r["holds"] else float("nan"), display=False)
ratios = [mt["ratio"] for mt in ex.cheaper_dd_matches(summary, "error_in_band_mean") if mt["dd"] is not None]
glue("n_global_matched", len(ratios), display=False)
oracle_d = float(apx.dd_best_error(n, d_head.spec.N, [d_head.spec.local_rank])[0])
oracle_g = float(apx.global_best_error(n, [K])[0])
glue("head_dd_oracle_ratio", head["operator_error_dd"] / oracle_d, display=False)
glue("head_g_oracle_ratio", head["operator_error_global"] / oracle_g, display=False)
min_oob = float(summary["error_out_of_band_mean"].min())
glue("oob_verdict", "No trained model predicts the out-of-band modes better than predicting zero" if min_oob >= 1 else
     "No trained model predicts the out-of-band modes accurately" if min_oob > 0.1 else
     "Some trained models predict the out-of-band modes", display=False)
glue("min_oob", min_oob, display=False)
glue("claim1_epochs", "holds" if claim1["epochs"]["n_dd_faster"] == claim1["epochs"]["n_targets"] else
     "holds for part of the targets" if claim1["epochs"]["n_dd_faster"] else "does not hold", display=False)
glue("claim1_seconds", "holds" if claim1["seconds"]["n_dd_faster"] == claim1["seconds"]["n_targets"] else
     "holds for part of the targets" if claim1["seconds"]["n_dd_faster"] else "does not hold", display=False)
glue("claim3_operator", "holds" if claim3["operator_error"]["holds"] else "does not hold", display=False)
glue("claim3_in_band", "holds" if claim3["error_in_band"]["holds"] else "does not hold", display=False)

# %% [markdown]
# These verdicts hold at one operating point ($n$ = {glue:text}`n`, $K$ = {glue:text}`K`, {glue:text}`samples`
# samples of the Fourier band); {ref}`ch-beyond` maps where each one turns as $n$, the sample count, the band, the
# data kind and $N$ change.
#
# **Claim 1, "trains faster".** In epochs the claim {glue:text}`claim1_epochs` for the headline pair (DD first for
# targets {glue:text}`claim1_epochs_holds`); in seconds it {glue:text}`claim1_seconds`
# ({glue:text}`claim1_seconds_holds`), see {numref}`fig-F14`.
#
# **Claim 2, "can be more accurate".** The table above compares the most accurate model of each class on each
# measure. DD attention is more accurate on: {glue:text}`wins_dd`; global attention on: {glue:text}`wins_g`. In the
# operator norm the best global error is {glue:text}`c2_operator_error_ratio:.1f` times the best DD error.
# {glue:text}`oob_verdict` (smallest out-of-band error {glue:text}`min_oob:.2f`): data from $K$ modes cannot determine
# an operator on $n$ modes, whatever its structure; the structure changes *how* wrong it is off the band. Both
# headline models end above their oracles: DD {glue:text}`head_dd_oracle_ratio:.0f` times its Schwarz oracle, global
# {glue:text}`head_g_oracle_ratio:.0f` times the Eckart-Young error.
#
# **Claim 3, "significantly fewer parameters".** Against the most accurate global model in the operator norm,
# {glue:text}`c3_operator_error_global`, the claim {glue:text}`c3_operator_error_verdict`: the cheapest DD model at
# least as accurate is {glue:text}`c3_operator_error_dd`, {glue:text}`c3_operator_error_ratio:.1f` times fewer
# parameters. For the in-band test error it {glue:text}`c3_error_in_band_verdict` (best global
# {glue:text}`c3_error_in_band_global`; cheapest DD match: {glue:text}`c3_error_in_band_dd`). {ref}`ch-beyond` asks
# which part of the DD model does the work.
