# %% [markdown]
# (ch-dd-attention)=
# # 4. Domain-decomposition attention
#
# This chapter builds the paper's operator, checks that it can represent $A^{-1}$ exactly and that it contains the
# classical two-level Schwarz preconditioner of {ref}`ch-schwarz`, counts its parameters, and then trains it
# against the global baseline of {ref}`ch-global-attention` under one protocol. It ends with the paper's three
# claims, each with the measurements that support it and those that do not.

# %% tags=["parameters", "remove-cell"]
QUICK = False              # small fast run, set by CI and by make book QUICK 1
n = 255                    # interior grid nodes
K = 16                     # training band, Fourier modes 1 to K
SAMPLES = 64               # training samples (full batch)
EPOCHS = 600               # epoch budget of every run
LRS = [3e-3, 1e-2, 3e-2, 1e-1]  # learning-rate grid of the tuned protocol
INIT_SCALES = [1e-3, 1e-2, 1e-1]  # initial-scale grid of the tuned protocol
SEEDS = [0, 1, 2]          # seeds of data, initialisation and batch order
GLOBAL_RANKS = [4, 8, 16, 32, 64]  # ranks of the global baseline
DD_NS = [8, 16]            # numbers of subdomains
DD_RANKS = [1, 2, 4, 8]    # local ranks, with overlap DD_DELTA
DD_DELTA = 1               # overlap of the rank sweep
DELTA_STUDY = [2, 4]       # further overlaps, at the largest N and local rank DELTA_STUDY_RANK
DELTA_STUDY_RANK = 2       # local rank of the overlap study
TARGET = 0.01              # in-band test error for the time-to-target comparison
TIMING_STEPS = 30          # Adam steps per timing round

# %% tags=["remove-cell"]
import numpy as np
import matplotlib.pyplot as plt
from myst_nb import glue

from ddlib import approximation as apx
from ddlib import experiments as ex
from ddlib.attention import DDAttention, configure_threads, operator_error
from ddlib.decomposition import Decomposition
from ddlib.figures import FigureRecorder
from ddlib.problem import inverse, laplacian_1d
from ddlib.schwarz import schwarz_preconditioner, to_dense
from ddlib.models import DDSpec, GlobalSpec
from ddlib.training import TrainConfig
from ddlib.plotting import use_style
from ddlib.plotting.attention import learned_operators_figure, pareto_figure, training_curves_figure

if QUICK:
    n, K, EPOCHS, LRS, INIT_SCALES = 63, 8, 200, [3e-2, 1e-1], [1e-2, 1e-1]
    GLOBAL_RANKS, DD_NS, DD_RANKS, DELTA_STUDY, TIMING_STEPS = [4, 8], [8], [1, 2], [2], 10
configure_threads()
use_style()
params = dict(QUICK=QUICK, n=n, K=K, SAMPLES=SAMPLES, EPOCHS=EPOCHS, LRS=LRS, INIT_SCALES=INIT_SCALES, SEEDS=SEEDS, GLOBAL_RANKS=GLOBAL_RANKS,
              DD_NS=DD_NS, DD_RANKS=DD_RANKS, DD_DELTA=DD_DELTA, DELTA_STUDY=DELTA_STUDY,
              DELTA_STUDY_RANK=DELTA_STUDY_RANK, TARGET=TARGET)
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
# M_\theta^{-1} f = h\Big(\Phi\, Q_0 K_0^T\, \Phi^T f + \sum_{i=1}^{N} R_i^T D_i^{1/2}\, Q_i K_i^T\, D_i^{1/2} R_i f\Big),
# \qquad Q_i, K_i \in \mathbb R^{n_i\times r},\quad Q_0, K_0 \in \mathbb R^{N_0\times r_0},
# $$ (eq-dd-operator)
#
# with the same quadrature factor $h$ as the global operator {eq}`eq-global-attention`, so that every block
# approximates a piece of the Green's function with entries of size $O(1)$. We take the multiplicity partition of
# unity, the hat coarse space ($N_0 = N - 1$) and a full coarse rank $r_0 = N_0$ throughout; `ddlib.attention.DDAttention`
# also offers the ramp and Boolean partitions, the Nicolaides space, the weightings $D_i$ (one side) and none, and
# switches for either level (used by the ablations).
#
# **Implementation.** The local factors are stored padded to an $N \times n_{\max} \times r$ array. By default
# (`implementation="auto"`) one application reads every subdomain as a strided window of $f$ (a view, no copy),
# computes all local coefficients, and $\Phi^T f$ from the hat functions in closed form, with one batched matrix
# product (`torch.bmm`), and writes the local and coarse contributions back with a second batched product and two
# slice additions for the overlap rows. The general path (`implementation="gather"`, also used for the Nicolaides
# space) gathers $f$ into padded subdomain blocks and adds the results back with one scatter-add (`index_add`). Neither
# path has a Python loop over subdomains. The tests check both against a plain loop over subdomains with sparse $R_i$
# and against the model's own dense matrix, to rounding, and the gradients with `torch.autograd.gradcheck`.
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
print(f"max |M - A^-1| / max |A^-1| at full local rank: {max(checks['exact']):.1e}; "
      f"max difference to ddlib.schwarz (weighted, hat): {max(checks['classical']):.1e}")

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
# P_{\mathrm{DD}} = 2r\,\big(n + 2\delta(N-1)\big) + 2N_0 r_0 \qquad\text{against}\qquad P_{\mathrm{glob}} = 2nr.
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
print("model                  parameters")
for s in global_specs + dd_specs:
    print(f"{s.label:22s} {s.parameter_count(n):8d}")

# %% [markdown]
# Every model's counted trainable entries equal {eq}`eq-dd-params` (largest difference {glue:text}`param_mismatch`).
#
# ## Training under one protocol
#
# All models are trained by `ddlib.experiments.tuned_comparison`: the same {glue:text}`samples` training samples of
# modes $1..K$ per seed, full batch, Adam {cite:p}`kingma2015adam` on the mean relative squared error with a
# cosine-decaying learning rate, {glue:text}`epochs` epochs, random initialisation $\mathcal N(0, s^2)$. Each model
# gets the learning rate from {glue:text}`lr_grid` and the initial scale $s$ from {glue:text}`init_grid` with the
# lowest final error on a validation set drawn from the training band, on the first seed (no test data are used to
# choose), then runs on {glue:text}`n_seeds` seeds. The global ranks are {glue:text}`global_ranks`; the DD models have $N \in \{$
# {glue:text}`N_list` $\}$, overlap $\delta =$ {glue:text}`dd_delta` and local ranks {glue:text}`dd_ranks`, plus overlaps
# {glue:text}`deltas` at the largest $N$ with local rank {glue:text}`delta_study_rank`. Runs are cached on disk by a hash of their configuration.

# %% tags=["hide-input"]
base = TrainConfig(model=global_specs[0], n=n, K=K, samples=SAMPLES, test_samples=SAMPLES, epochs=EPOCHS)
results = ex.tuned_comparison(global_specs + dd_specs, base, {"lr": LRS, "init_scale": INIT_SCALES}, SEEDS)
glue("samples", SAMPLES, display=False)
glue("init_grid", ", ".join(f"{v:g}" for v in INIT_SCALES), display=False)
glue("epochs", EPOCHS, display=False)
glue("lr_grid", ", ".join(f"{lr:g}" for lr in LRS), display=False)
glue("n_seeds", len(SEEDS), display=False)
glue("global_ranks", ", ".join(str(s.rank) for s in global_specs), display=False)
glue("dd_ranks", ", ".join(str(r) for r in DD_RANKS if r <= (n + 1) // min(DD_NS) - 1), display=False)
glue("deltas", ", ".join(map(str, DELTA_STUDY)), display=False)
glue("dd_delta", DD_DELTA, display=False)
glue("delta_study_rank", DELTA_STUDY_RANK, display=False)
by_spec = {mr.label: mr for mr in results}

# headline pair, fixed before training: the global model of rank K (the smallest that can fit the band) and the
# cheapest DD model whose Schwarz-oracle error is below the global rank-K oracle error
g_head = by_spec[GlobalSpec(K).label]
d_head = by_spec[ex.cheapest_dd_beating_global(n, K, dd_specs).label]
best_seen = [r.curve("error_in_band").min() for mr in (g_head, d_head) for r in mr.runs]
SLACK = 1.05  # factor above the worst best-seen error when the target must be raised
target = float(max(TARGET, max(best_seen) * SLACK))
glue("target_slack", SLACK, display=False)
glue("target_raised", "was raised to" if target > TARGET else "is", display=False)
glue("target_param", TARGET, display=False)
table = ex.summary_table(results, target)
head = ex.headline(g_head, d_head, target)
print(f"{'model':22s} {'P':>6s} {'lr':>6s} {'in-band':>9s} {'out-band':>9s} {'noise':>9s} {'points':>9s} "
      f"{'operator':>9s} {'ep->tgt':>8s} {'s->tgt':>7s}")
for i, label in enumerate(table["label"]):
    print(f"{label:22s} {table['params'][i]:6d} {table['lr'][i]:6.0e} {table['error_in_band_mean'][i]:9.2e} "
          f"{table['error_out_of_band_mean'][i]:9.2e} {table['error_noise_mean'][i]:9.2e} "
          f"{table['error_point_loads_mean'][i]:9.2e} {table['operator_error_mean'][i]:9.2e} "
          f"{table['epochs_to_target'][i]:8.0f} {table['seconds_to_target'][i]:7.2f}")

# %% [markdown]
# The table lists, per model, the parameters, the chosen learning rate, the final errors (mean over seeds) on the
# four test sets and the operator, and the epochs and seconds to the in-band target (NaN: not every seed reached it).
#
# **The headline pair** is fixed before training: the global model of rank $K =$ {glue:text}`K` (the smallest rank that
# can fit the band) against the cheapest DD model in the sweep whose Schwarz-oracle error is below the global
# rank-$K$ oracle error, here {glue:text}`dd_head_label` with {glue:text}`head_params_dd` parameters against
# {glue:text}`head_params_global`. The time-to-target threshold {glue:text}`target_raised` {glue:text}`head_target:.2e`
# (the parameter is {glue:text}`target_param:g`; if some seed of the pair never gets below it, it is raised to
# {glue:text}`target_slack:.2f` times the largest of the seeds' lowest recorded in-band errors, so that every seed of both models reaches it).

# %% tags=["hide-input"]
glue("dd_head_label", d_head.label, display=False)
glue("g_head_label", g_head.label, display=False)
for k, v in head.items():
    glue(f"head_{k}", v, display=False)
for tag, mr in (("g", g_head), ("d", d_head)):
    s = ex.summarize(mr, target)
    for key in ("error_out_of_band", "error_noise", "error_point_loads"):
        glue(f"{tag}_{key}", s[f"{key}_mean"], display=False)

# timing under identical conditions: interleaved rounds of Adam steps on the same batch size
timing = ex.step_time([g_head.spec, d_head.spec], n, SAMPLES, steps=TIMING_STEPS)
t_g, t_d = timing[g_head.label], timing[d_head.label]
glue("step_ms_global", 1e3 * t_g, display=False)
glue("step_ms_dd", 1e3 * t_d, display=False)
glue("step_ratio", t_d / t_g, display=False)
# multiply-adds per right-hand side: 2 r sum(n_i) + coarse (Phi^T f, two N0 x r0 products, Phi c) against 2 n r
flops_d = d_head.spec.parameter_count(n) + 2 * n * 2
flops_g = g_head.spec.parameter_count(n)
glue("flop_ratio", flops_d / flops_g, display=False)
glue("step_connective", "although" if (t_d > t_g) == (flops_d < flops_g) else "and", display=False)
glue("step_explain", "at this size a step is dominated by the fixed cost of each small tensor operation (the DD "
     "step, forward and backward, has more of them than the global model's two matrix products: window views, "
     "batched products, overlap additions, the weights), not by arithmetic."
     if t_d > t_g else "the DD step is also faster in wall-clock time.", display=False)
print(f"median seconds per Adam step: {g_head.label} {t_g:.2e}, {d_head.label} {t_d:.2e}")

# %% [markdown]
# ```{figure} ../figures/F6_training_curves.png
# :name: fig-F6
# :width: 100%
#
# **F6, training curves of the headline pair** ({glue:text}`g_head_label` and {glue:text}`dd_head_label`, $n$ =
# {glue:text}`n`, $K$ = {glue:text}`K`): geometric mean over {glue:text}`n_seeds` seeds (line) and range (band). (a)
# In-band test error against epochs and (b) against measured training seconds, with the target dashed; (c) operator
# error against epochs.
# ```

# %% tags=["remove-output"]
curves = {}
for mr in (g_head, d_head):
    curves[mr.label] = {"kind": mr.family, "epoch": ex.seed_band(mr, "error_in_band", "epoch"),
                        "seconds": ex.seed_band(mr, "error_in_band", "seconds"),
                        "operator": ex.seed_band(mr, "operator_error", "epoch")}
fig = training_curves_figure(curves, target)
fig_rec.save(fig, "F6", "training_curves", numbers=dict(
    target=target, epochs_to_target_global=head["epochs_to_target_global"],
    epochs_to_target_dd=head["epochs_to_target_dd"], seconds_to_target_global=head["seconds_to_target_global"],
    seconds_to_target_dd=head["seconds_to_target_dd"], step_seconds_global=t_g, step_seconds_dd=t_d))
plt.close(fig)

# %% [markdown]
# ## Accuracy against parameters
#
# {numref}`fig-F7` puts every trained model at its parameter count, on the in-band and out-of-band test sets and in
# the operator norm, with the oracle curves of {numref}`fig-F5` on the last panel.
#
# ```{figure} ../figures/F7_pareto.png
# :name: fig-F7
# :width: 100%
#
# **F7, final error against parameter count** after {glue:text}`epochs` epochs (seed mean and min-max range), all
# global and DD models of the sweep; stars mark the headline pair. (a) in-band test error; (b) out-of-band test
# error (modes $K+1..2K$); (c) operator error, with the best achievable errors of both classes (lines).
# ```

# %% tags=["remove-output"]
gfront = apx.global_frontier(n, np.unique(np.round(np.geomspace(1, max(GLOBAL_RANKS) * 2, 20)).astype(int)))
dd_fronts = [apx.dd_frontier(n, N, DD_DELTA) for N in DD_NS]
labels = list(table["label"])
highlight = (labels.index(g_head.label), labels.index(d_head.label))
fig = pareto_figure(table, gfront, dd_fronts, highlight)
fig_rec.save(fig, "F7", "pareto", numbers=dict(headline=head, n=n, K=K, epochs=EPOCHS, seeds=len(SEEDS)))
plt.close(fig)

# %% [markdown]
# ## What was learned
#
# ```{figure} ../figures/F8_learned_operators.png
# :name: fig-F8
# :width: 100%
#
# **F8, learned operators** (first seed). (a) $A^{-1}$; (b) the learned {glue:text}`dd_head_label` operator and (c) its
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
idx = dec.indices[i_block]
# the classical block in the same units: h D_i^{1/2} Q_i K_i^T D_i^{1/2} with Q_i K_i^T = A_i^{-1}/h
exact_block = DDAttention(dec, dec.n_max, init="schwarz", local_inverse="subdomain").local_blocks()[i_block]
block_err = float(np.linalg.norm(blocks[i_block] - exact_block, 2) / np.linalg.norm(exact_block, 2))
glue("block_err", block_err, display=False)
glue("block_verdict", "is not" if block_err > 0.1 else "is close to", display=False)
glue("block_index", int(i_block), display=False)
glue("head_local_rank", int(d_head.spec.local_rank), display=False)
op_dd, op_g = operator_error(M_dd, n), operator_error(M_g, n)
glue("f8_op_dd", op_dd, display=False)
glue("f8_op_g", op_g, display=False)
fig = learned_operators_figure(Ainv, M_dd, M_g, blocks[i_block], exact_block, labels=(d_head.label, g_head.label),
                               block_title=f"local block $i = {i_block}$")
fig_rec.save(fig, "F8", "learned_operators", numbers=dict(block_err=block_err, operator_error_dd=op_dd,
                                                           operator_error_global=op_g, block_index=int(i_block)))
plt.close(fig)

# %% [markdown]
# {numref}`fig-F8` shows the difference in kind. The learned DD operator (operator error {glue:text}`f8_op_dd:.3f` on
# the first seed) has the smooth global shape of $A^{-1}$; its error (c) sits in the diagonal blocks, where the
# rank-{glue:text}`head_local_rank` local blocks have to resolve the kink of the Green's function. The error of the
# learned global operator (operator error {glue:text}`f8_op_g:.3f`), panel (d), is spread over the whole matrix as
# oscillations: the modes outside the training band, which the data never constrain. Panel (h) shows both in one
# column. The learned local block $i =$ {glue:text}`block_index` {glue:text}`block_verdict` the weighted local inverse
# $D_i^{1/2}A_i^{-1}D_i^{1/2}$ of two-level Schwarz (relative 2-norm difference {glue:text}`block_err:.2f`): the split of $A^{-1}$ into coarse and local parts is not unique, a
# low-rank block cannot hold $A_i^{-1}$, and training finds another split.
#
# ## The three claims

# %% tags=["hide-input"]
dd_sel = table["family"] == "dd"
g_sel = ~dd_sel
verdict = {}
# claim 1: trains faster (headline pair; epochs and seconds)
ep_g, ep_d = head["epochs_to_target_global"], head["epochs_to_target_dd"]
sec_g, sec_d = head["seconds_to_target_global"], head["seconds_to_target_dd"]
glue("ep_ratio", ep_g / ep_d, display=False)
glue("sec_ratio", sec_g / sec_d, display=False)
glue("claim1_epochs", "holds" if ep_d < ep_g else "does not hold", display=False)
glue("claim1_seconds", "holds" if sec_d < sec_g else "does not hold", display=False)
faster = np.sum(table["epochs_to_target"][dd_sel] < np.nanmin(np.where(g_sel, table["epochs_to_target"], np.inf)))
glue("n_dd_faster", int(faster), display=False)
glue("n_dd", int(dd_sel.sum()), display=False)
glue("n_global", int(g_sel.sum()), display=False)
# claim 2: more accurate
metrics = ("error_in_band", "error_out_of_band", "error_noise", "error_point_loads", "operator_error")
names = {"error_in_band": "in-band", "error_out_of_band": "out-of-band", "error_noise": "white noise",
         "error_point_loads": "point loads", "operator_error": "operator norm"}
wins_dd, wins_g = [], []
for m in metrics:
    g, d = ex.class_best(table, "global", f"{m}_mean"), ex.class_best(table, "dd", f"{m}_mean")
    bg, lg, bd, ld = g["value"], g["label"], d["value"], d["label"]
    glue(f"best_g_{m}", bg, display=False)
    glue(f"best_g_{m}_label", lg, display=False)
    glue(f"best_d_{m}", bd, display=False)
    glue(f"best_d_{m}_label", ld, display=False)
    (wins_dd if bd < bg else wins_g).append(names[m])
glue("wins_dd", ", ".join(wins_dd) if wins_dd else "none", display=False)
glue("wins_g", ", ".join(wins_g) if wins_g else "none", display=False)
oob_d_ok = int(np.sum(table["error_out_of_band_mean"][dd_sel] < 1.0))
glue("n_dd_oob_below_one", oob_d_ok, display=False)
glue("min_oob_dd", float(table["error_out_of_band_mean"][dd_sel].min()), display=False)
glue("min_oob_g", float(table["error_out_of_band_mean"][g_sel].min()), display=False)
min_oob = float(table["error_out_of_band_mean"].min())
glue("oob_verdict", "No trained model predicts the out-of-band modes better than predicting zero" if min_oob >= 1 else
     "No trained model predicts the out-of-band modes accurately" if min_oob > 0.1 else
     "Some trained models predict the out-of-band modes", display=False)
# claim 3: fewer parameters: the cheapest DD model at least as accurate as the best global model, per metric
what = {"error_in_band": "in-band", "operator_error": "in the operator norm"}
for m in ("error_in_band", "operator_error"):
    b = ex.class_best(table, "global", f"{m}_mean")
    bg, lg, pg = b["value"], b["label"], b["params"]
    j = ex.cheapest_dd_within(table, f"{m}_mean", bg, max_params=pg)
    verdict[m] = j is not None
    if j is not None:
        sentence = (f"the cheapest DD model at least as accurate {what[m]} as {lg} ({bg:.3g} with {pg} parameters) "
                    f"is {table['label'][j]} ({table[f'{m}_mean'][j]:.3g}) with {table['params'][j]} parameters, "
                    f"a factor {pg / table['params'][j]:.1f} fewer.")
    else:
        d = ex.class_best(table, "dd", f"{m}_mean")
        sentence = (f"no DD model of the sweep with fewer parameters is as accurate {what[m]} as {lg} ({bg:.3g} with "
                    f"{pg} parameters); the best DD model, {d['label']}, reaches {d['value']:.3g} with {d['params']} "
                    "parameters.")
    glue(f"claim3_{m}_sentence", sentence, display=False)
# every global model against the cheapest DD model that is at least as accurate in-band
ratios = [mt["ratio"] for mt in ex.cheaper_dd_matches(table, "error_in_band_mean") if mt["dd"] is not None]
glue("n_global_matched", len(ratios), display=False)
glue("match_ratio_min", float(min(ratios)) if ratios else float("nan"), display=False)
glue("match_ratio_max", float(max(ratios)) if ratios else float("nan"), display=False)
glue("claim3_in_band", "holds" if verdict["error_in_band"] else "does not hold", display=False)
glue("claim3_operator", "holds" if verdict["operator_error"] else "does not hold", display=False)
glue("head_param_ratio", head["params_global"] / head["params_dd"], display=False)
dd_oracle = float(apx.dd_best_error(n, d_head.spec.N, [d_head.spec.local_rank])[0])
glue("head_dd_oracle", dd_oracle, display=False)
glue("head_dd_oracle_ratio", head["operator_error_dd"] / dd_oracle, display=False)
g_oracle = float(apx.global_best_error(n, [K])[0])
glue("head_g_oracle", g_oracle, display=False)
glue("head_g_oracle_ratio", head["operator_error_global"] / g_oracle, display=False)
# every trained DD model against its own Schwarz oracle (the oracle does not depend on the overlap)
dd_ratio = [float(table["operator_error_mean"][i] / apx.dd_best_error(n, mr.spec.N, [mr.spec.local_rank])[0])
            for i, mr in enumerate(by_spec[lab] for lab in table["label"]) if table["family"][i] == "dd"]
glue("dd_oracle_ratio_min", min(dd_ratio), display=False)
both_far = min(head["operator_error_dd"] / dd_oracle, head["operator_error_global"] / g_oracle) > 2
glue("oracle_verdict", "Training on this data, not expressiveness, limits the accuracy of both." if both_far else
     "At least one class is close to its oracle, so expressiveness, not training, is its limit.", display=False)
glue("class_limit", "the training budget and the data are the limit, not the class: every trained DD model of the "
     f"sweep has an operator error at least {min(dd_ratio):.0f} times its Schwarz oracle" if min(dd_ratio) > 2 else
     "some DD models are close to their Schwarz oracle, so the class itself limits them", display=False)
print("DD wins on:", wins_dd, "| global wins on:", wins_g)
print(f"epochs to target: global {ep_g:.0f}, DD {ep_d:.0f}; seconds: global {sec_g:.2f}, DD {sec_d:.2f}")
print(verdict)

# %% [markdown]
# ### Claim 1: "trains faster"
#
# **In epochs the claim {glue:text}`claim1_epochs`** for the headline pair: the DD model reaches the in-band target
# {glue:text}`head_target:.2e` after {glue:text}`head_epochs_to_target_dd:.0f` epochs (seed mean), the global model
# after {glue:text}`head_epochs_to_target_global:.0f`, a factor {glue:text}`ep_ratio:.2f`. Across the sweep,
# {glue:text}`n_dd_faster` of the {glue:text}`n_dd` DD models reach it in fewer epochs than the fastest of the
# {glue:text}`n_global` global models.
#
# **In seconds the claim {glue:text}`claim1_seconds`** for the headline pair
# ({glue:text}`head_seconds_to_target_dd:.2f` s against {glue:text}`head_seconds_to_target_global:.2f` s, a factor
# {glue:text}`sec_ratio:.2f`). One Adam step costs {glue:text}`step_ms_dd:.2f` ms for the DD model and
# {glue:text}`step_ms_global:.2f` ms for the global one (median of interleaved timing rounds on this machine, a ratio
# of {glue:text}`step_ratio:.2f`), {glue:text}`step_connective` the DD model has {glue:text}`flop_ratio:.2f` times the multiply-adds of
# the global one per step: {glue:text}`step_explain` Training seconds depend on the machine and its load; the epoch
# counts do not.
#
# ### Claim 2: "can be more accurate"
#
# Comparing the best model of each class (seed means) on each measure:
#
# | measure | best global | best DD |
# |---|---|---|
# | in-band test error | {glue:text}`best_g_error_in_band:.2e` ({glue:text}`best_g_error_in_band_label`) | {glue:text}`best_d_error_in_band:.2e` ({glue:text}`best_d_error_in_band_label`) |
# | out-of-band test error | {glue:text}`best_g_error_out_of_band:.2f` ({glue:text}`best_g_error_out_of_band_label`) | {glue:text}`best_d_error_out_of_band:.2f` ({glue:text}`best_d_error_out_of_band_label`) |
# | white-noise test error | {glue:text}`best_g_error_noise:.3f` ({glue:text}`best_g_error_noise_label`) | {glue:text}`best_d_error_noise:.3f` ({glue:text}`best_d_error_noise_label`) |
# | point-load test error | {glue:text}`best_g_error_point_loads:.3f` ({glue:text}`best_g_error_point_loads_label`) | {glue:text}`best_d_error_point_loads:.3f` ({glue:text}`best_d_error_point_loads_label`) |
# | operator error | {glue:text}`best_g_operator_error:.3f` ({glue:text}`best_g_operator_error_label`) | {glue:text}`best_d_operator_error:.3f` ({glue:text}`best_d_operator_error_label`) |
#
# The best DD model is more accurate on: {glue:text}`wins_dd`. The best global model is more accurate on:
# {glue:text}`wins_g`. For the headline pair the in-band errors are {glue:text}`head_error_dd:.2e` (DD) and
# {glue:text}`head_error_global:.2e` (global), and the operator errors {glue:text}`head_operator_error_dd:.3f` and
# {glue:text}`head_operator_error_global:.3f`.
#
# **Where the claim does not hold: the data trap hits both classes.** {glue:text}`oob_verdict`: the smallest
# out-of-band error is {glue:text}`min_oob_dd:.2f` for DD and {glue:text}`min_oob_g:.2f` for global
# models, and {glue:text}`n_dd_oob_below_one` of the {glue:text}`n_dd` DD models stay below one (the error of
# predicting zero). Data from $K$ modes cannot determine an operator on $n$ modes, whatever its structure. The
# structure does change *how* wrong the operator is off the band. For the headline pair the white-noise error is
# {glue:text}`d_error_noise:.3f` (DD) against {glue:text}`g_error_noise:.3f` (global), and the point-load error
# {glue:text}`d_error_point_loads:.3f` against {glue:text}`g_error_point_loads:.3f`. Both classes end far above their oracles ({numref}`fig-F7` (c)): the trained
# headline DD model's operator error is {glue:text}`head_dd_oracle_ratio:.0f` times its Schwarz oracle
# ({glue:text}`head_dd_oracle:.1e`), the global one's {glue:text}`head_g_oracle_ratio:.0f` times the Eckart-Young error
# ({glue:text}`head_g_oracle:.1e`). {glue:text}`oracle_verdict`
#
# ### Claim 3: "significantly fewer parameters"
#
# Model by model, {glue:text}`n_global_matched` of the {glue:text}`n_global` global models are matched in in-band
# error by a DD model with fewer parameters, by a factor between {glue:text}`match_ratio_min:.1f` and
# {glue:text}`match_ratio_max:.1f`. Against the most accurate global model the claim {glue:text}`claim3_in_band`:
# {glue:text}`claim3_error_in_band_sentence` In the operator norm it {glue:text}`claim3_operator`:
# {glue:text}`claim3_operator_error_sentence` The
# headline pair differs by a factor {glue:text}`head_param_ratio:.1f` in parameters. Where the claim holds, the
# approximation theory of {numref}`fig-F5` explains it: at equal local rank the best DD error is $H^2$ times the best
# global error. Where it does not, {glue:text}`class_limit` ({numref}`fig-F7` (c)).
