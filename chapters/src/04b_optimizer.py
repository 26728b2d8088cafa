# %% [markdown]
# (ch-optimizer)=
# # 4b. The optimizer decides
#
# {ref}`ch-dd-attention` tunes the optimizer like the learning rate. This chapter shows why a comparison of two
# function classes has to: for the global model $M = hQK^T$, gradient descent has an implicit bias that can be stated
# and proved, and Adam {cite:p}`kingma2015adam` does not share it. Gradient descent changes the operator off the span
# of the training inputs only through the initial keys; Adam changes it there as much as its step sizes allow. The
# optimizer therefore decides what a trained model does on the inputs the data never show, and the paper's claims
# are decided there. We prove the property, measure it on every trained model, compare each model with what its
# class and its data allow, and then state which verdicts belong to the function class and which to the optimizer.

# %% tags=["parameters", "remove-cell"]
QUICK = False              # small fast run, set by CI and by make book QUICK 1
n = 255                    # interior grid nodes
K = 16                     # training band, Fourier modes 1 to K (and the test bands)
SAMPLES = 64               # training samples (full batch)
EPOCHS = 500               # epoch budget of every run, every optimizer
RANK = 16                  # rank of the global model
DD_N = 16                  # subdomains of the DD model
DD_DELTA = 2               # overlap of the DD model, nodes per side
DD_RANK = 1                # local rank of the DD model
ADAM_LRS = [1e-2, 3e-2, 1e-1]  # learning rates of Adam
GD_LRS = [0.1, 0.3, 1.0]   # learning rates of heavy-ball gradient descent
INIT_SCALES = [1e-3, 1e-1] # initial scales, both optimizers
SCHEDULES = ["cosine"]     # learning-rate schedules, both optimizers
SEEDS = [0, 1, 2]          # seeds of data and initialisation
SCALES = [1e-3, 1e-2, 1e-1]  # initial scales of the scale study

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

from ddlib import bias
from ddlib.attention import configure_threads
from ddlib.figures import FigureRecorder
from ddlib.models import DDSpec, GlobalSpec
from ddlib.tables import table
from ddlib.training import MOMENTUM, TrainConfig
from ddlib.plotting import use_style
from ddlib.plotting.bias import optimizer_figure

if QUICK:
    n, K, SAMPLES, EPOCHS, RANK, DD_N, SEEDS = 63, 8, 16, 150, 8, 4, [0, 1]
    ADAM_LRS, GD_LRS, INIT_SCALES = [3e-2], [0.1], [1e-3]
configure_threads()
use_style()
params = dict(QUICK=QUICK, n=n, K=K, SAMPLES=SAMPLES, EPOCHS=EPOCHS, RANK=RANK, DD_N=DD_N, DD_DELTA=DD_DELTA,
              DD_RANK=DD_RANK, ADAM_LRS=ADAM_LRS, GD_LRS=GD_LRS, INIT_SCALES=INIT_SCALES, SCHEDULES=SCHEDULES,
              SEEDS=SEEDS, SCALES=SCALES)
fig_rec = FigureRecorder("chapters/04b_optimizer.ipynb", params)
for key, value in dict(n=n, K=K, samples=SAMPLES, epochs=EPOCHS, rank=RANK, dd_n=DD_N, dd_delta=DD_DELTA,
                       dd_rank=DD_RANK, momentum=MOMENTUM, n_seeds=len(SEEDS),
                       adam_lrs=", ".join(f"{v:g}" for v in ADAM_LRS), gd_lrs=", ".join(f"{v:g}" for v in GD_LRS),
                       init_grid=", ".join(f"{v:g}" for v in INIT_SCALES)).items():
    glue(key, value, display=False)

# %% [markdown]
# ## The span property
#
# Let $F = [f_1, \dots, f_S]$ hold the training inputs, $\mathcal F$ their span, $P_\perp$ the orthogonal projector
# off $\mathcal F$, and let the loss depend on the keys only through the outputs on the training inputs,
# $L(Q, K) = \ell(hQK^TF)$; the mean relative squared error of this book,
# $\ell(Y) = \frac1S\sum_s \|y_s - u_s\|^2/\|u_s\|^2$, is one such loss.
#
# **Theorem (span property).** Gradient descent with heavy-ball momentum $\beta$ and any step sizes $\eta_t$
# (the form of `torch.optim.SGD`, which `"gd"` is),
#
# $$
# V_{t+1} = \beta V_t + \nabla_K L(Q_t, K_t), \qquad K_{t+1} = K_t - \eta_t V_{t+1}, \qquad V_0 = 0,
# $$
#
# (and the same for $Q$) keeps $P_\perp K_t = P_\perp K_0$ for every $t$. Hence
#
# $$
# M_tP_\perp = h\,Q_t K_0^T P_\perp, \qquad \|M_tP_\perp\|_2 \le h\,\|Q_t\|_2\,\|P_\perp K_0\|_2 .
# $$ (eq-span-property)
#
# *Proof.* With $G = \partial\ell/\partial Y$ at $Y = hQK^TF$, the differential of $L$ in $K$ is
# $dL = \langle G, hQ\,dK^TF\rangle = h\operatorname{tr}(G^TQ\,dK^TF) = \langle hFG^TQ, dK\rangle$, so
# $\nabla_K L = h\,F\,G^TQ$: every column is a combination of the columns of $F$, and $P_\perp\nabla_K L = 0$ at every
# iterate. By induction $P_\perp V_{t+1} = \beta P_\perp V_t + 0 = 0$, so $P_\perp K_{t+1} = P_\perp K_t = P_\perp
# K_0$. Then $M_tP_\perp = hQ_tK_t^TP_\perp = hQ_t(P_\perp K_t)^T = hQ_t(P_\perp K_0)^T$. $\square$
#
# Three consequences. (i) Off the span, the trained operator is what the *initial* keys make it: with
# $K_0 \sim \mathcal N(0, s^2)$ its size there is proportional to the initial scale $s$, whatever $Q_t$ the fit needs.
# (ii) L-BFGS (`"lbfgs"` in `ddlib.training.OPTIMIZERS`) has the property too: its direction is built from the current
# gradient and stored pairs of steps and gradient differences, all with $P_\perp(\cdot) = 0$. (iii) Adam divides each
# coordinate of its step by that coordinate's own running gradient size; that map does not commute with rotations of
# the input space, and its steps leave $\mathcal F$. Nothing in the proof is about $Q$, and nothing is special to one
# global block: for DD attention each local key $K_i$ moves only in the span of the weighted restricted inputs
# $D_i^{1/2}R_iF$, which is the whole local space as soon as the samples, restricted to the box, span it. In DD
# attention the structure, not the initialisation, decides what happens off the global span.
#
# The projector and both measures are `ddlib.bias`: the **off-span fraction** $\|MP_\perp\|_2/\|M\|_2$ of a trained
# operator (`off_span_fraction`) and, for the global model, the **span drift**
# $\|P_\perp(K_t - K_0)\|_F/\|K_t - K_0\|_F$ (`span_drift`), which the theorem says is zero.
#
# ## Two regimes, two optimizers, one protocol
#
# We train the global model of rank {glue:text}`rank` and the DD model with $N$ = {glue:text}`dd_n` subdomains,
# overlap $\delta$ = {glue:text}`dd_delta` and local rank {glue:text}`dd_rank` (multiplicity partition of unity, hat
# coarse space, full coarse block) on $n$ = {glue:text}`n` nodes, in two regimes of {glue:text}`samples` samples each:
# the **band** of the first $K$ = {glue:text}`K` Fourier modes (the base regime of {ref}`ch-dd-attention`) and
# **white noise** (every mode equally, but only {glue:text}`samples` directions of $\mathbb R^n$). Each model is tuned
# by the protocol of `ddlib.experiments.tuned_comparison` once per optimizer, with the same budget of
# {glue:text}`epochs` full-batch epochs and the same number of grid points: Adam with learning rates
# {glue:text}`adam_lrs`, heavy-ball gradient descent (momentum {glue:text}`momentum`) with {glue:text}`gd_lrs`, both
# with initial scales {glue:text}`init_grid`. The three best points of the first seed run on all
# {glue:text}`n_seeds` seeds, the best validation mean wins, and a choice on the edge of its axis extends the axis.

# %% tags=["hide-input"]
REGIMES = {"band": {}, "noise": {"data": "noise"}}
LABELS = {"band": f"band K = {K}", "noise": "white noise"}
GRIDS = {opt: {"lr": lrs, "init_scale": INIT_SCALES, "schedule": SCHEDULES}
         for opt, lrs in (("adam", ADAM_LRS), ("gd", GD_LRS))}
specs = [GlobalSpec(RANK), DDSpec(DD_N, DD_DELTA, DD_RANK)]
base = TrainConfig(model=specs[0], n=n, K=K, samples=SAMPLES, test_samples=SAMPLES, epochs=EPOCHS, eval_points=4)
study = bias.optimizer_study(specs, base, REGIMES, GRIDS, SEEDS)
rows = bias.optimizer_rows(study, LABELS)
table(rows, columns={"regime_label": "regime", "model": "model", "optimizer": "optimizer", "lr": "lr",
                     "init_scale": "init", "validation_mean": "validation", "on_edge": "on edge"},
      formats={"lr": "g", "init_scale": "g", "validation_mean": ".2e", "on_edge": bias.edge_text},
      caption=f"The chosen knobs per optimizer, validation error as a mean over {len(SEEDS)} seeds")

# %% [markdown]
# ## What each model does off the span
#
# The span drift of every global model trained by gradient descent is at most {glue:text}`drift_max_gd:.0e`:
# rounding, as the theorem says. Under Adam it is up to {glue:text}`drift_max_adam:.2f`. To see consequence (i), we
# train the global model once more, on the band and the first seed, at initial scales {glue:text}`scales` with each
# optimizer's chosen learning rate ({numref}`fig-F21` a). The least-squares slope of $\log$(off-span fraction) against
# $\log s$ is {glue:text}`slope_gd:.2f` under gradient descent and {glue:text}`slope_adam:.2f` under Adam: a slope of
# 1 is proportionality, a slope of 0 means the initial scale does not matter.

# %% tags=["remove-cell"]
g_band = {opt: next(s for s in sels if s.family == "global") for opt, sels in study["band"].items()}
scale = bias.init_scale_study(specs[0], base, {opt: {"lr": s.chosen["lr"], "schedule": s.chosen["schedule"]}
                                               for opt, s in g_band.items()}, SCALES)
report = bias.report_optimizers(study, rows, scale, LABELS)
for key, value in report["glue"].items():
    glue(key, value, display=False)
glue("scales", ", ".join(f"{v:g}" for v in SCALES), display=False)

# %% [markdown]
# ```{figure} ../figures/F21_optimizer_bias.png
# :name: fig-F21
# :width: 100%
#
# **F21, the optimizer's implicit bias** ($n$ = {glue:text}`n`, {glue:text}`samples` samples). (a) Off-span fraction
# of the global model of rank {glue:text}`rank` against its initial scale (band, first seed, each optimizer's chosen
# learning rate); the dotted line is proportional to the scale. (b) Operator error of every tuned model (seed means;
# global orange, DD green; circles Adam, squares gradient descent) with the minimum-norm fit on the span (dashed)
# and the class's oracle (dotted). (c) Their off-span fractions, with that of $A^{-1}$ itself (dashed).
# ```

# %% tags=["remove-output"]
fig = optimizer_figure(scale, rows, specs[0].label)
eckart_young = {regime: next(r["eckart_young"] for r in rows if r["regime"] == regime) for regime in REGIMES}
fig_rec.save(fig, "F21", "optimizer_bias", numbers=dict(optimizers=rows, eckart_young=eckart_young,
                                                        scale_study=scale, labels=LABELS))
plt.close(fig)

# %% [markdown]
# ## Two references per class
#
# A trained model is measured against what its data determine and against what its class can do. The first
# reference is the **minimum-norm operator on the span**, $M_+ = UF^+$ (`bias.min_norm_operator`): it fits the data
# and is zero off $\mathcal F$, which is where gradient descent from a small initial scale ends by the theorem; for the
# global class the minimum-norm rank-$r$ fit. With exact data $U = A^{-1}F$, so $M_+ = A^{-1}P_{\mathcal F}$ and its
# error $\|A^{-1}P_\perp\|_2/\|A^{-1}\|_2$ is what the data leave undetermined: {glue:text}`band_undetermined:.4f`
# for the band, which is exactly the Eckart-Young error $\lambda_1/\lambda_{K+1}$ = {glue:text}`band_eckart_young:.4f`
# (the band is spanned by eigenvectors), and {glue:text}`noise_undetermined:.2f` for white noise, whose
# {glue:text}`samples` directions leave the rest of $\mathbb R^n$ open. The second reference is the **class's oracle**:
# Eckart-Young for the global model, the truncated Schwarz operator of {ref}`ch-dd-attention` for DD.

# %% tags=["hide-input"]
ERRORS = {"operator_error": "operator", "error_in_band": "in-band", "error_noise": "noise",
          "error_out_of_band": "out-of-band", "off_span_fraction": "off-span", "min_norm": "min-norm fit",
          "oracle": "oracle"}
table(rows, columns={"regime_label": "regime", "model": "model", "optimizer": "optimizer", **ERRORS},
      formats={k: ".2e" for k in ERRORS}, caption=f"Errors after tuning, means over {len(SEEDS)} seeds")

# %% [markdown]
# ## What belongs to the class, and what to the optimizer
#
# **The function class.** These "more accurate" verdicts (the rule of `ddlib.claims`) have the same winner under both
# optimizers; the factor is the winner's advantage: {glue:text}`class_verdicts`.
#
# **The optimizer.** These change their winner with the optimizer: {glue:text}`optimizer_verdicts`.
#
# **Adam.** On the band, the global model trained by Adam leaves {glue:text}`band_off_ratio:.1f` times the off-span
# fraction that gradient descent leaves ({glue:text}`band_adam_g_off:.2e` against {glue:text}`band_gd_g_off:.2e`).
# Its operator error is {glue:text}`band_adam_g_ey:.1f` times the Eckart-Young error under Adam and
# {glue:text}`band_gd_g_ey:.1f` times under gradient descent, and the operator-norm ratio of the global to the DD
# model is {glue:text}`band_adam_op_gap:.1f` under Adam and {glue:text}`band_gd_op_gap:.1f` under gradient descent.
# The global model's off-span part is invisible to the validation data, which lie in the band: it is the data trap of
# {ref}`ch-global-attention`, and the optimizer, through its bias and the initial scale it is tuned to, sets its size.
#
# **Data that do not determine the operator.** With white noise the global model's operator error is
# {glue:text}`noise_adam_g_op:.2f` under Adam and {glue:text}`noise_gd_g_op:.2f` under gradient descent, against
# {glue:text}`noise_undetermined:.2f` for the minimum-norm fit: a model that learns only from the data cannot know
# the rest. The DD model reaches {glue:text}`noise_adam_d_op:.1e` (Adam) and {glue:text}`noise_gd_d_op:.1e`
# (gradient descent); the minimum-norm fit's error is {glue:text}`noise_adam_d_structure:.0f` and
# {glue:text}`noise_gd_d_structure:.0f` times these. What the data leave open, the structure decides: the DD model's
# off-span fraction is {glue:text}`noise_gd_d_off:.2f` (gradient descent), against
# {glue:text}`noise_undetermined:.2f` for $A^{-1}$ itself. On white-noise test data the global model's error is
# {glue:text}`noise_adam_noise_gap:.1f` (Adam) and {glue:text}`noise_gd_noise_gap:.1f` (gradient descent) times the
# DD model's. The regimes in which DD attention is more accurate in the operator norm under every optimizer:
# {glue:text}`structural_regimes`.
