# %% [markdown]
# (ch-optimizer)=
# # 4b. The optimizer's implicit bias
#
# {ref}`ch-dd-attention` tunes the optimizer like the learning rate. This chapter shows why a comparison of two
# function classes has to. For the global model $M = hQK^T$, gradient descent has an implicit bias that can be
# stated and proved, and Adam {cite:p}`kingma2015adam` does not share it: gradient descent changes the operator off
# the span of the training inputs only through the initial keys, Adam changes it there as far as its steps allow.
# The optimizer therefore decides what a trained model does on the inputs the data never show, and the paper's
# claims are decided there. We prove the property, measure it on every trained model, compare each model with what
# its class and its data allow, and then say which verdicts belong to the function class and which to the optimizer.

# %% tags=["parameters", "remove-cell"]
QUICK = False              # small fast run, set by CI and by make book QUICK 1
n = 255                    # interior grid nodes
K = 16                     # training band, Fourier modes 1 to K (and the test bands)
SAMPLES = 64               # training samples (full batch)
EPOCHS = 500               # epoch budget of every run, every optimizer
EVAL_POINTS = 16           # recorded epochs per run (geometric), for the race
RANK = 16                  # rank of the global model
DD_N = 16                  # subdomains of the DD model
DD_DELTA = 2               # overlap of the DD model, nodes per side
DD_RANK = 1                # local rank of the DD model
ADAM_LRS = [1e-2, 3e-2, 1e-1]  # learning rates of Adam
GD_LRS = [0.03, 0.1, 0.3]  # learning rates of heavy-ball gradient descent
INIT_SCALES = [1e-4, 1e-3, 1e-1]  # initial scales, both optimizers
SCHEDULES = ["cosine"]     # learning-rate schedules, both optimizers
SEEDS = [0, 1, 2]          # seeds of data and initialisation
SCALES = [1e-3, 1e-2, 1e-1]  # initial scales of the scale study
N_TARGETS = 8              # in-band targets of the race

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt

from ddlib import bias
from ddlib.attention import configure_threads
from ddlib.figures import FigureRecorder, glue_numbers
from ddlib.models import DDSpec, GlobalSpec
from ddlib.plotting import use_style
from ddlib.plotting.bias import optimizer_figure
from ddlib.tables import table
from ddlib.training import MOMENTUM, TrainConfig

if QUICK:
    n, K, SAMPLES, EPOCHS, EVAL_POINTS, RANK, DD_N, SEEDS = 63, 8, 16, 100, 10, 8, 4, [0, 1]
    ADAM_LRS, GD_LRS, INIT_SCALES, N_TARGETS = [3e-2], [0.1], [1e-3], 4
configure_threads()
use_style()
params = dict(QUICK=QUICK, n=n, K=K, SAMPLES=SAMPLES, EPOCHS=EPOCHS, EVAL_POINTS=EVAL_POINTS, RANK=RANK,
              DD_N=DD_N, DD_DELTA=DD_DELTA, DD_RANK=DD_RANK, ADAM_LRS=ADAM_LRS, GD_LRS=GD_LRS,
              INIT_SCALES=INIT_SCALES, SCHEDULES=SCHEDULES, SEEDS=SEEDS, SCALES=SCALES, N_TARGETS=N_TARGETS)
fig_rec = FigureRecorder("chapters/04b_optimizer.ipynb", params)
text = lambda values: ", ".join(f"{v:g}" for v in values)  # noqa: E731
glue_numbers(dict(n=n, K=K, samples=SAMPLES, epochs=EPOCHS, rank=RANK, dd_n=DD_N, dd_delta=DD_DELTA,
                  dd_rank=DD_RANK, momentum=MOMENTUM, n_seeds=len(SEEDS), adam_lrs=text(ADAM_LRS),
                  gd_lrs=text(GD_LRS), init_grid=text(INIT_SCALES), scales=text(SCALES)))

# %% [markdown]
# ## The span property
#
# Let $F = [f_1, \dots, f_S]$ hold the training inputs, $\mathcal F$ their span, $P_\perp$ the orthogonal projector
# off $\mathcal F$, and let the loss depend on the keys only through the outputs on the training inputs,
# $L(Q, K) = \ell(hQK^TF)$; the mean relative squared error of this book,
# $\ell(Y) = \frac1S\sum_s \|y_s - u_s\|^2/\|u_s\|^2$, is one such loss.
#
# **Theorem (span property).** Gradient descent with heavy-ball momentum $\beta$ and any step sizes $\eta_t$
# (the form of `torch.optim.SGD`, which the optimizer `"gd"` of `ddlib.training` is),
#
# $$
# \begin{aligned}
# V_{t+1} &= \beta V_t + \nabla_K L(Q_t, K_t), \qquad V_0 = 0,\\
# K_{t+1} &= K_t - \eta_t V_{t+1},
# \end{aligned}
# $$
#
# (and the same for $Q$) keeps $P_\perp K_t = P_\perp K_0$ for every $t$. Hence
#
# $$
# \begin{aligned}
# M_tP_\perp &= h\,Q_t K_0^T P_\perp,\\
# \|M_tP_\perp\|_2 &\le h\,\|Q_t\|_2\,\|P_\perp K_0\|_2 .
# \end{aligned}
# $$ (eq-span-property)
#
# *Proof.* With $G = \partial\ell/\partial Y$ at $Y = hQK^TF$, the differential of $L$ in $K$ is
# $dL = \langle G, hQ\,dK^TF\rangle = \langle hFG^TQ, dK\rangle$, so $\nabla_K L = h\,FG^TQ$: every column is a
# combination of the columns of $F$, and $P_\perp\nabla_K L = 0$ at every iterate. By induction
# $P_\perp V_{t+1} = \beta P_\perp V_t = 0$, so $P_\perp K_{t+1} = P_\perp K_t = P_\perp K_0$. Then
# $M_tP_\perp = hQ_t(P_\perp K_t)^T = hQ_t(P_\perp K_0)^T$. $\square$
#
# Three consequences. (i) Off the span, the trained operator is what the *initial* keys make it: with
# $K_0 \sim \mathcal N(0, s^2)$ its size there is proportional to the initial scale $s$, whatever $Q_t$ the fit
# needs. (ii) L-BFGS has the property too: its direction is built from the current gradient and stored pairs of
# steps and gradient differences, all with $P_\perp(\cdot) = 0$. (iii) Adam divides each coordinate of its step by
# that coordinate's own running gradient size; that map does not commute with rotations of the input space, and its
# steps leave $\mathcal F$. Nothing in the proof is special to one global block: each local key $K_i$ of DD attention
# moves only in the span of its weighted restricted inputs $D_i^{1/2}R_iF$, which is the whole local space as soon
# as the samples, restricted to the box, span it. In DD attention the structure, not the initialisation, decides
# what happens off the global span. The tests of `ddlib.bias` check the theorem to rounding, for gradient descent
# and L-BFGS, on random spans.
#
# We measure the **off-span fraction** $\|MP_\perp\|_2/\|M\|_2$ of a trained operator and, for the global model,
# the **span drift** $\|P_\perp(K_t - K_0)\|_F/\|K_t - K_0\|_F$, which the theorem says is zero. The
# minimum-norm operator that fits the training data, for example, has off-span fraction zero to rounding:

# %%
config = TrainConfig(model=GlobalSpec(RANK), n=n, K=K, samples=SAMPLES)
F, U = bias.training_inputs(config)          # the training set as columns
min_norm = bias.min_norm_operator(F, U)      # U F^+: fits the data, zero off the span
off = bias.off_span_fraction(min_norm, F)    # ||M P_perp||_2 / ||M||_2

# %% tags=["remove-cell"]
glue_numbers({"min_norm_off": off})

# %% [markdown]
# Here it is {glue:text}`min_norm_off:.0e`.
#
# ## Two regimes, two optimizers, one protocol
#
# We train the global model of rank {glue:text}`rank` and the DD model with $N$ = {glue:text}`dd_n` subdomains,
# overlap $\delta$ = {glue:text}`dd_delta` and local rank {glue:text}`dd_rank` (multiplicity partition of unity,
# hat coarse space, full coarse block) on $n$ = {glue:text}`n` nodes, in two regimes of {glue:text}`samples`
# samples each: the **band** of the first $K$ = {glue:text}`K` Fourier modes (the base regime of
# {ref}`ch-dd-attention`) and **white noise** (every mode equally, but only {glue:text}`samples` directions of
# $\mathbb R^n$). Each model is tuned by the protocol of `ddlib.experiments` once per optimizer, with the same
# budget of {glue:text}`epochs` full-batch epochs and the same number of grid points: Adam with learning rates
# {glue:text}`adam_lrs`, heavy-ball gradient descent (momentum {glue:text}`momentum`) with {glue:text}`gd_lrs`, both
# with initial scales {glue:text}`init_grid`. The three best points of the first seed run on all
# {glue:text}`n_seeds` seeds, the best validation mean wins, and a choice on the edge of its axis extends the axis.

# %%
specs = [GlobalSpec(RANK), DDSpec(DD_N, DD_DELTA, DD_RANK)]
base = TrainConfig(model=specs[0], n=n, K=K, samples=SAMPLES, epochs=EPOCHS)
regimes = {"band": {}, "noise": {"data": "noise"}}
grids = {"adam": {"lr": ADAM_LRS}, "gd": {"lr": GD_LRS}}

# %% tags=["remove-cell"]
base = base.replace(test_samples=SAMPLES, eval_points=EVAL_POINTS)
LABELS = {"band": f"band K={K}", "noise": "white noise"}
grids = {opt: {**g, "init_scale": INIT_SCALES, "schedule": SCHEDULES} for opt, g in grids.items()}

# %%
study = bias.optimizer_study(specs, base, regimes, grids, SEEDS)
rows = bias.optimizer_rows(study, LABELS)

# %% tags=["remove-input"]
NAMES = {"regime_label": "regime", "model": "model", "optimizer": "optimizer"}
table(rows, columns={**NAMES, "lr": "learning rate", "init_scale": "initial scale",
                     "validation_mean": "validation error", "on_edge": "on the grid's edge"},
      formats={"optimizer": bias.OPTIMIZER_NAMES.get, "lr": "g", "init_scale": "g", "validation_mean": 3,
               "on_edge": bias.edge_text},
      caption=f"The chosen knobs per model and optimizer; validation error: mean over {len(SEEDS)} seeds")

# %% [markdown]
# ## What each model does off the span
#
# The span drift of every global model trained by gradient descent is at most {glue:text}`drift_max_gd:.0e`:
# rounding, as the theorem says. Under Adam it is up to {glue:text}`drift_max_adam:.2f`. To see consequence (i), we
# train the global model once more, on the band and the first seed, at initial scales {glue:text}`scales` with each
# optimizer's chosen learning rate ({numref}`fig-F25` a). The least-squares slope of $\log$(off-span fraction)
# against $\log s$ is {glue:text}`slope_gd:.2f` under gradient descent and {glue:text}`slope_adam:.2f` under Adam:
# a slope of 1 is proportionality, a slope of 0 means the initial scale does not matter.

# %% tags=["remove-cell"]
chosen = {opt: next(s for s in sels if s.family == "global").chosen
          for opt, sels in study["band"].items()}
settings = {opt: {"lr": c["lr"], "schedule": c["schedule"]} for opt, c in chosen.items()}
scale = bias.init_scale_study(specs[0], base, settings, SCALES)
race = bias.optimizer_race(study, "band", N_TARGETS)
report = bias.report_optimizers(study, rows, scale, LABELS, race)
glue_numbers(report["glue"])

# %% [markdown]
# ```{figure} ../figures/F25_optimizer_bias.png
# :name: fig-F25
# :width: 100%
#
# **The optimizer's implicit bias** ($n$ = {glue:text}`n`, {glue:text}`samples` samples). (a) Off-span fraction
# of the global model of rank {glue:text}`rank` against its initial scale (band, first seed, each optimizer's chosen
# learning rate); the grey line is proportional to the scale. (b) Operator error of every tuned model (means over
# {glue:text}`n_seeds` seeds; filled markers Adam, hollow markers gradient descent) with the minimum-norm fit on the
# span (dashed) and the class's oracle (dotted). (c) Their off-span fractions, with that of $A^{-1}$ itself
# (dash-dotted).
# ```

# %% tags=["remove-cell"]
fig = optimizer_figure(scale, rows, specs[0].label)
eckart_young = {reg: next(r["eckart_young"] for r in rows if r["regime"] == reg) for reg in regimes}
fig_rec.save(fig, "F25", "optimizer_bias", numbers=dict(
    optimizers=rows, eckart_young=eckart_young, scale_study=scale, race=race, labels=LABELS))
plt.close(fig)

# %% [markdown]
# ## Two references per class
#
# A trained model is measured against what its data determine and against what its class can do. The first
# reference is the **minimum-norm operator on the span**, $M_+ = UF^+$: it fits the data and is zero off
# $\mathcal F$, which is where gradient descent from a small initial scale ends by the theorem; for the global class,
# the minimum-norm rank-$r$ fit. With exact data $U = A^{-1}F$, so $M_+ = A^{-1}P_{\mathcal F}$, and its error
# $\|A^{-1}P_\perp\|_2/\|A^{-1}\|_2$ is what the data leave undetermined: {glue:text}`band_undetermined:.4f` for the
# band, the Eckart-Young error $\lambda_1/\lambda_{K+1}$ = {glue:text}`band_eckart_young:.4f` of rank $K$ when the
# samples span the band, and {glue:text}`noise_undetermined:.2f` for white noise, whose {glue:text}`samples`
# directions leave the rest of $\mathbb R^n$ open. The second reference is the **class's oracle**: Eckart-Young for
# the global model, the truncated Schwarz operator of {ref}`ch-dd-attention` for DD.

# %% tags=["remove-input"]
ERRORS = {"operator_error": "operator", "error_in_band": "in-band", "error_noise": "white noise",
          "error_out_of_band": "out-of-band", "off_span_fraction": "off-span fraction"}
table(rows, columns={**NAMES, **ERRORS},
      formats={"optimizer": bias.OPTIMIZER_NAMES.get, **{k: 3 for k in ERRORS}},
      caption=f"Relative errors after tuning, means over {len(SEEDS)} seeds; the references are drawn in the "
              "figure above")

# %% [markdown]
# ## What belongs to the class, and what to the optimizer
#
# The table gives each "more accurate" verdict (the rule of `ddlib.claims`) under each optimizer, with the
# winner's advantage. {glue:text}`n_class_verdicts` of the {glue:text}`n_verdicts` verdicts keep their winner
# under both optimizers: they are properties of the **function class**. The others belong to the **optimizer**.

# %% tags=["remove-input"]
table(report["verdicts"], columns={"regime": "regime", "measure": "measure", "Adam": "Adam",
                                   "heavy-ball GD": "heavy-ball GD", "kind": "a property of the"},
      caption="More accurate: the winner and its factor under each optimizer")

# %% [markdown]
#
# **Adam.** On the band, the global model trained by Adam has {glue:text}`band_off_ratio:.2g` times the off-span
# fraction that gradient descent leaves ({glue:text}`band_adam_g_off:.2g` against
# {glue:text}`band_gd_g_off:.2g`). Its operator error is {glue:text}`band_adam_g_ey:.2g` times the Eckart-Young
# error under Adam and {glue:text}`band_gd_g_ey:.2g` times under gradient descent, and the global model's
# operator error is {glue:text}`band_adam_op_gap:.2g` times the DD model's under Adam and
# {glue:text}`band_gd_op_gap:.2g` times under gradient descent. The global model's off-span part is invisible to
# the validation data, which lie in the band: it is the data trap of {ref}`ch-global-attention`, and the optimizer,
# through its bias and the initial scale it is tuned to, sets its size.
#
# **Data that do not determine the operator.** With white noise the global model's operator error is
# {glue:text}`noise_adam_g_op:.2g` under Adam and {glue:text}`noise_gd_g_op:.2g` under gradient descent, against
# {glue:text}`noise_undetermined:.2g` for the minimum-norm fit: a model that learns only from the data cannot know
# the rest. The DD model reaches {glue:text}`noise_adam_d_op:.2g` (Adam) and {glue:text}`noise_gd_d_op:.2g`
# (gradient descent); the minimum-norm fit's error is {glue:text}`noise_adam_d_structure:.2g` and
# {glue:text}`noise_gd_d_structure:.2g` times these. What the data leave open, the structure decides: the DD
# model's off-span fraction is {glue:text}`noise_gd_d_off:.2g` under gradient descent, against
# {glue:text}`noise_undetermined:.2g` for $A^{-1}$ itself. On white-noise test data the global model's error is
# {glue:text}`noise_adam_noise_gap:.2g` (Adam) and {glue:text}`noise_gd_noise_gap:.2g` (gradient descent) times
# the DD model's. The regimes in which DD attention is more accurate in the operator norm under every optimizer:
# {glue:text}`structural_regimes`.
#
# ## Best against best, per optimizer
#
# On the band, the two models tuned under one optimizer race to {glue:text}`race_adam_n_targets` in-band targets,
# log-spaced from half the larger initial error down to just above the lower of their error floors (seed means; a
# target counts when every seed reaches it). Seconds are epochs times the median step time of the two models timed in
# turn in one process, never the seconds of a parallel sweep. Under Adam, DD attention is first at
# {glue:text}`race_adam_dd_first_epochs` targets in epochs and {glue:text}`race_adam_dd_first_seconds` in seconds, the
# global model at {glue:text}`race_adam_global_first_epochs` and {glue:text}`race_adam_global_first_seconds`. Under
# heavy-ball gradient descent, DD is first at {glue:text}`race_gd_dd_first_epochs` in epochs and
# {glue:text}`race_gd_dd_first_seconds` in seconds, the global model at {glue:text}`race_gd_global_first_epochs` and
# {glue:text}`race_gd_global_first_seconds`. One step costs {glue:text}`race_adam_step_ms_dd:.2g` ms for DD and
# {glue:text}`race_adam_step_ms_global:.2g` ms for the global model (Adam). In-band, the DD model's test error is
# {glue:text}`band_adam_inband_gap:.2g` times the global model's under Adam and {glue:text}`band_gd_inband_gap:.2g`
# times under gradient descent.
