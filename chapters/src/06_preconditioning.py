# %% [markdown]
# (ch-preconditioning)=
# # 6. A learned preconditioner
#
# Classical two-level additive Schwarz, $\Phi A_0^{-1}\Phi^T + \sum_i R_i^T A_i^{-1}R_i$, keeps the iterations of
# preconditioned conjugate gradients (PCG) bounded as $n$ grows at fixed $H/h$ ({ref}`ch-schwarz`). Can a *learned*
# DD attention, which has the same structure, do the same? This chapter shows the answer the paper's training gives,
# and why it is no; trains the same structure for the job of a preconditioner, with one set of weights for every $n$;
# states what a rank-$r$ local block can reach at all; and measures the trained operator against that theory and
# against Schwarz up to $n$ = {glue:text}`n_hi`. The study is one-dimensional (its bounds use the exact 1D splitting
# of $A^{-1}$); the operators of `ddlib.preconditioning` themselves work on a grid of any dimension.

# %% tags=["parameters", "remove-cell"]
QUICK = False          # small fast run, set by CI and by make book QUICK 1
M = 32                 # fixed subdomain size H over h
DELTA = 1              # overlap in nodes
N_TRAIN = 255          # grid size at which the shared preconditioners are trained
RANK = 4               # local rank of the headline learned preconditioner
RANKS = [2, 4, 8, 16, 32]  # local ranks of the rank study
NS = [255, 1023, 4095, 16383]  # grid sizes of the study against n
SAMPLES = 32           # probe vectors in the training set
EPOCHS = 400           # full-batch Adam epochs of every shared preconditioner
STEPS = 8              # iterations inside the loss
LRS = [3e-3, 1e-2]     # learning-rate grid of the tuned protocol
INIT_SCALES = [0.03, 0.1]  # initial-scale grid of the tuned protocol
OLD_NS = [255, 511, 1023, 2047, 4095]  # grid sizes of the per-n band-trained study
OLD_EPOCHS = 300       # epochs of each per-n band-trained operator
OLD_INIT = 0.01        # initial factor scale of the per-n band-trained operators
OMEGA = 0.5            # Jacobi weight of the classical completions and the initial learned weight
SEED = 0               # seed of data, initialisation and the PCG right-hand side

# %% tags=["remove-cell"]
import time

import matplotlib.pyplot as plt

from ddlib import preconditioning as pre
from ddlib.attention import configure_threads
from ddlib.experiments import tuned_comparison
from ddlib.figures import FigureRecorder, glue_numbers
from ddlib.plotting import use_style
from ddlib.plotting import preconditioning as plot_pre
from ddlib.tables import table

if QUICK:
    M, N_TRAIN, RANKS, NS, SAMPLES, EPOCHS = 16, 63, [2, 4, 8], [63, 255, 1023], 16, 100
    LRS, INIT_SCALES, OLD_NS, OLD_EPOCHS = [1e-2], [0.03], [63, 127, 255], 100
configure_threads(1)
use_style()
params = {k: v for k, v in globals().items() if k.isupper()}  # the parameters above, after QUICK
fig_rec = FigureRecorder("chapters/06_preconditioning.ipynb", params)
WORKERS = 2
t_start = time.perf_counter()

# %% [markdown]
# ## The cautionary case: one operator per $n$, trained on the band
#
# **A symmetric positive definite operator.** PCG needs a symmetric positive definite preconditioner. Tying the
# factors, $Q_i = K_i$ and $Q_0 = K_0$, makes every block a Gram matrix,
#
# $$
# \begin{aligned}
# M_\theta &= h\Big(\Phi K_0K_0^T\Phi^T + \sum_i R_i^T D_i^{1/2} K_iK_i^T D_i^{1/2} R_i\Big),\\
# x^T M_\theta x &= h\Big(\|K_0^T\Phi^Tx\|^2 + \sum_i\|K_i^TD_i^{1/2}R_ix\|^2\Big) \ge 0,
# \end{aligned}
# $$ (eq-sym-dd)
#
# positive semi-definite for every parameter value, and singular: its rank is at most $\sum_i r + r_0 < n$. The
# cheapest completion is a damped Jacobi step (`ddlib.preconditioning.WithJacobi`),
#
# $$
# M = M_\theta + \omega\,\mathrm{diag}(A)^{-1} = M_\theta + \omega\,\tfrac{h^2}{2}\,I ,
# $$ (eq-learned-prec)
#
# symmetric positive definite for every $\omega > 0$: its smallest eigenvalue is at least $\omega h^2/2$.
#
# **The paper's training, per $n$.** A first study kept $H/h = m$ = {glue:text}`m` fixed and trained one such
# operator **per $n$** by the paper's recipe: the regression loss on Fourier data from the band $K = 2N$, local rank
# {glue:text}`rank`, a learned coarse block, {glue:text}`old_epochs` epochs, factors initialised at scale
# {glue:text}`old_init`, $\omega$ = {glue:text}`omega`. We repeat it here as the cautionary case.

# %% tags=["hide-input"]
old = pre.pcg_study(OLD_NS, m=M, local_rank=RANK, epochs=OLD_EPOCHS, init_scale=OLD_INIT, omega=OMEGA, seed=SEED,
                    workers=WORKERS)
table(pre.pivot(old["rows"]), columns={"n": "n", **{k: plot_pre.LABELS[k] for k in pre.PRECONDITIONERS}},
      caption="PCG iterations to a relative residual of 1e-8, one operator trained per n on the band")

# %% [markdown]
# The per-$n$ operator needs {glue:text}`old_it_lo:.0f` iterations at $n$ = {glue:text}`old_lo` and
# {glue:text}`old_it_hi:.0f` at $n$ = {glue:text}`old_hi` (growth exponent {glue:text}`old_it_exp:.2f` in $n$),
# with $\kappa$ from {glue:text}`old_ka_lo:.3g` to {glue:text}`old_ka_hi:.3g`; two-level Schwarz needs
# {glue:text}`old_as2_lo:.0f` and {glue:text}`old_as2_hi:.0f`. The structure is not what fails. If the learned
# part were exactly $A^{-1}$ on the band and zero above it (the *band oracle*: eigenvalues $1 + \omega h^2\lambda_k/2$
# on the band, $\omega h^2\lambda_k/2$ above), $\kappa$ would be {glue:text}`band_lo:.3g` at the smallest and
# {glue:text}`band_hi:.3g` at the largest $n$. The trained operator's $\kappa$ is {glue:text}`old_over_band_lo:.0f`
# and {glue:text}`old_over_band_hi:.0f` times that, for two reasons:
#
# - **The training target.** The regression loss on band data asks nothing about the modes above $K$, which decide
#   $\lambda_{\min}$ and $\lambda_{\max}$ of $MA$: whatever the data never touch keeps its random initial value.
# - **How the operator grows with $n$.** Each $n$ gets a new operator with its own local factors and coarse block
#   ({glue:text}`old_p_lo:.0f` parameters at $n$ = {glue:text}`old_lo`, {glue:text}`old_p_hi:.0f` at $n$ =
#   {glue:text}`old_hi`, fitted to $K$ = {glue:text}`old_K_lo:.0f` to {glue:text}`old_K_hi:.0f` band modes): every
#   new $n$ is a new fit ({glue:text}`old_train_hi:.1f` s of training at $n$ = {glue:text}`old_hi`).
#
# ## Training for preconditioning, once for every $n$
#
# **The class.** Tied factors as in {eq}`eq-sym-dd`, with three changes (`ddlib.preconditioning.shared_spec`):
#
# 1. *Shared local factors.* The 1D problem is translation invariant, so every interior subdomain gets the same
#    factor $K$, the first and the last subdomain their own ($(3m + 4\delta - 1)\,r$ numbers whatever $n$), scaled by
#    $hH$ (the size of $A_i^{-1}$): a model trained at one $n$ applies unchanged at any other with the same $H/h$
#    (`ddlib.attention.DDAttention.transfer_to`).
# 2. *The Galerkin coarse level* $\Phi A_0^{-1}\Phi^T$, not learned: the one part whose size grows with $n$; $A_0$ is
#    tridiagonal, factorized once, applied by exact sparse solves in $O(N)$. A learned block is the ablation below.
# 3. *A learned Jacobi weight* $\omega = e^{\theta}$ (one more parameter, positive for every $\theta$), so that the
#    loss sees the operator PCG will use, {eq}`eq-learned-prec`.
#
# **The loss.** A preconditioner is good when the spectrum of $MA$ is narrow, and CG measures its error in the energy
# norm $\|e\|_A^2 = e^TAe$. We train on *energy probes* $u = z \sim \mathcal N(0, A^{-1})$, $f = Az$
# (`ddlib.data`), and measure the energy-norm error after $k$ = {glue:text}`steps` steps of preconditioned
# *steepest descent* from $x_0 = 0$ (`ddlib.training.predict`):
#
# $$
# \begin{aligned}
# L(\theta) &= \frac{1}{S}\sum_{s=1}^{S}\frac{\|x_k(f_s) - u_s\|_A^2}{\|u_s\|_A^2},\\
# x_{j+1} &= x_j + \alpha_j M r_j,\qquad \alpha_j = \frac{r_j^TMr_j}{(Mr_j)^TA(Mr_j)}.
# \end{aligned}
# $$ (eq-precond-loss)
#
# With exact line search each step contracts the energy error by at most $(\kappa - 1)/(\kappa + 1)$,
# $\kappa = \kappa(MA)$ (Kantorovich), so the loss is small only when $\kappa$ is; it does not depend on the scale of
# $M$ and stays below 1 (no cliff at $\mu > 2$ as for Richardson); and on energy probes every eigendirection of $MA$
# weighs alike (one Richardson step gives exactly $\frac1n\sum_i(1 - \mu_i)^2$, Hutchinson's estimate of
# $\|I - A^{1/2}MA^{1/2}\|_F^2/n$). Training is `ddlib.training.train` ({glue:text}`samples` probes, full batch,
# {glue:text}`epochs` Adam epochs, cosine schedule) at $n$ = {glue:text}`n_train`, with the learning rate and the
# initial scale chosen by the book's tuned protocol on each model's validation error: {glue:text}`grid_text`.
#
# ## What a rank-$r$ local block can reach
#
# Write $\theta_r = (r + 1)\pi/(2m)$ and $c = \omega h^2/2$.
#
# **A lower bound for the whole class.** Every member of the class is $M = P + cI$ with $P$ symmetric positive
# semi-definite of rank at most $k = N(r + 1) - 1$ ($r$ per subdomain, $N - 1$ coarse). On the null space $X$ of
# $P$, of dimension at least $n - k$, the Rayleigh quotient of $MA$, $x^TMx/x^TA^{-1}x$, is $c\,x^Tx/x^TA^{-1}x$, and
# Courant–Fischer gives $\lambda_{\min}(MA) \le c\lambda_{k+1}(A)$ and $\lambda_{\max}(MA) \ge c\lambda_{n-k}(A)$.
# With $(k + 1)h = (r+1)/m$ these are $\frac{4c}{h^2}\sin^2\theta_r$ and $\frac{4c}{h^2}\cos^2\theta_r$, so
#
# $$
# \kappa(MA) \;\ge\; \cot^2\theta_r \qquad \text{for all } \theta,\ \omega,\ n
# $$ (eq-kappa-lower)
#
# (`ddlib.preconditioning.kappa_lower_bound`; vacuous once $\theta_r \ge \pi/4$).
#
# **A member that nearly attains it.** The exact decomposition of chapter 4 splits
#
# $$
# x^TA^{-1}x = x^T\Phi A_0^{-1}\Phi^Tx + \sum_E\sum_j (v_j^Tx_E)^2/\lambda^E_j
# $$
#
# over the eigenpairs of the element matrices $A_E$ ($m - 1$ nodes, $\lambda^E_j = \frac{4}{h^2}\sin^2\frac{j\pi}{2m}$). The *truncated oracle* keeps
# $j \le r$, $M_r = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T[A_E^{-1}]_rR_E + cI$
# (`ddlib.preconditioning.truncated_oracle`; a member of the class, with shared factors). Since
# $c|x|^2 \ge c\lambda^E_{r+1}\sum_E\sum_{j>r}(v_j^Tx_E)^2/\lambda^E_j$ and $c|x|^2 \le c\lambda_{\max}(A)\,x^TA^{-1}x$,
#
# $$
# \begin{aligned}
# \lambda_{\min}(M_rA) &\ge \min(1,\ 2\omega\sin^2\theta_r),\\
# \lambda_{\max}(M_rA) &\le 1 + 2\omega,\\
# \kappa(M_rA) &\le \frac{1 + 2\omega}{\min(1,\ 2\omega\sin^2\theta_r)}
# \end{aligned}
# $$ (eq-kappa-upper)
#
# (`ddlib.preconditioning.kappa_upper_bound`), again independent of $n$; the first inequality is an equality here
# (the tests check it). Between the two bounds, the oracle's own $\kappa$ is the theory's prediction for rank $r$,
# and CG's bound $\|e_k\|_A \le 2q^k\|e_0\|_A$, $q = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$, turns it into an
# iteration count, $k \approx \tfrac12\sqrt\kappa\,\ln(2/\mathrm{rtol})$ (`ddlib.krylov.chebyshev_iterations`):

# %% tags=["hide-input"]
theory = pre.rank_theory(M, RANKS, delta=DELTA, omega=OMEGA)
table(theory, columns={"local_rank": "r", "kappa_lower": "κ lower bound", "kappa_oracle": "κ of the oracle",
                       "kappa_upper": "κ upper bound", "iterations_predicted": "CG bound, iterations"},
      formats={k: ".2f" for k in ("kappa_lower", "kappa_oracle", "kappa_upper")},
      caption=f"The class at H/h = {M}, ω = {OMEGA:g} (oracle: dense spectrum at n = {8 * M - 1})")

# %% [markdown]
# At the headline rank $r$ = {glue:text}`rank` no member of the class can have $\kappa$ below
# {glue:text}`th_lower:.1f`; the oracle has {glue:text}`th_oracle:.1f` ($\lambda_{\min}$ = {glue:text}`th_lmin:.4f`,
# $\lambda_{\max}$ = {glue:text}`th_lmax:.3f` at $n$ = {glue:text}`th_n`), below the bound {glue:text}`th_upper:.1f`,
# and CG's bound predicts {glue:text}`th_its:.0f` iterations to $10^{-8}$, whatever $n$. An exact local solve is right
# on *all* $m - 1$ element modes, a rank-$r$ block on $r$ of them; the Jacobi term handles the others only as well as
# $2\omega\sin^2\theta_r$ allows.
#
# ## Training

# %% tags=["hide-input"]
base = pre.preconditioner_config(M, DELTA, RANK, n_train=N_TRAIN, samples=SAMPLES, epochs=EPOCHS, steps=STEPS,
                                 seed=SEED)
N_tr, grid = (N_TRAIN + 1) // M, {"lr": LRS, "init_scale": INIT_SCALES}
specs = [pre.shared_spec(N_tr, DELTA, r) for r in RANKS + [RANK]]
specs[-1] = specs[-1].replace(coarse_inverse="learned")  # the ablation
t0 = time.perf_counter()
*sels, learned_coarse = tuned_comparison(specs, base, grid, [SEED], workers=WORKERS)
train_seconds = time.perf_counter() - t0
by_rank = dict(zip(RANKS, sels))
model = by_rank[RANK].runs[0].model
table([{"r": s.runs[0].model.local_rank, "params": s.params, **s.chosen, "val": s.runs[0].final["error_validation"],
        "omega": s.runs[0].model.omega_value()} for s in sels],
      columns={"r": "r", "params": "parameters", "lr": "learning rate", "init_scale": "initial scale",
               "val": "validation loss", "omega": "learned ω"}, formats={"val": ".3e", "omega": ".3f"},
      caption=f"The shared operators, each trained at n = {N_TRAIN}")

# %% [markdown]
# Every run of this chapter trains at $n$ = {glue:text}`n_train`, nothing at any other $n$ (this build:
# {glue:text}`train_seconds:.0f` s; cached runs are read, not retrained). The headline operator, $r$ =
# {glue:text}`rank`, chose learning rate {glue:text}`head_lr:g` and initial scale {glue:text}`head_init:g`, trained
# in {glue:text}`head_seconds:.1f` s and learned $\omega$ = {glue:text}`head_omega:.3f`.
#
# ## The study against $n$
#
# One trained operator, applied unchanged at every $n$, beside one- and two-level additive Schwarz (exact local
# solves, $\delta$ = {glue:text}`delta`), Jacobi plus the coarse level (the class at $r = 0$) and the truncated oracle
# of the same rank, all in $O(n)$; above $n = 511$ $\kappa$ is the Lanczos estimate of the PCG run (a lower one).

# %% tags=["hide-input"]
rows = pre.shared_study(model, NS, m=M, delta=DELTA, omega=OMEGA, seed=SEED)
rank_rows = pre.rank_study({r: s.runs[0].model for r, s in by_rank.items()}, max(NS), m=M, delta=DELTA, omega=OMEGA,
                           seed=SEED)
table(pre.pivot(rows), columns={"n": "n", **{k: plot_pre.LABELS[k] for k in pre.SHARED_PRECONDITIONERS}},
      caption="PCG iterations to a relative residual of 1e-8, one operator trained once")

# %% [markdown]
# ```{figure} ../figures/F11_preconditioning.png
# :name: fig-F11
# :width: 100%
#
# **A learned preconditioner** at fixed $H/h$ = {glue:text}`m`. (a) PCG iterations to a relative residual of
# $10^{-8}$ and (b) $\kappa(MA)$ against $n$, with the old per-$n$ band-trained operator dashed and, in (b), the lower
# bound {eq}`eq-kappa-lower` of the class at rank {glue:text}`rank` (dashed black). (c) Iterations and (d) $\kappa$
# against the local rank at $n$ = {glue:text}`n_hi`, with the CG bound of the oracle's $\kappa$ and the value implied
# by the lower bound. (e) Numbers each preconditioner stores per grid node.
# ```

# %% tags=["remove-output"]
fig = plot_pre.preconditioning_figure(rows, old["rows"], rank_rows, theory, pre.kappa_lower_bound(M, RANK), RANK)
fig_rec.save(fig, "F11", "preconditioning", numbers=pre.figure_numbers(rows, old["rows"], rank_rows, theory,
                                                                       rank=RANK, omega_learned=model.omega_value()))
plt.close(fig)

# %% [markdown]
# **Against $n$: the iterations of the trained operator {glue:text}`bounded_text`.** They are
# {glue:text}`learned_dd_shared_it_lo:.0f` at $n$ = {glue:text}`n_lo` and {glue:text}`learned_dd_shared_it_hi:.0f` at
# $n$ = {glue:text}`n_hi` (growth exponent {glue:text}`learned_dd_shared_it_exp:.2f`; we call counts bounded when it is
# at most {glue:text}`bounded_exponent:g`), with $\kappa$ from {glue:text}`learned_dd_shared_ka_lo:.3g` to
# {glue:text}`learned_dd_shared_ka_hi:.3g`. At the largest $n$ that is {glue:text}`ld_over_theory:.2f` times the
# theory's prediction for rank {glue:text}`rank` ({glue:text}`th_its:.0f` iterations, {glue:text}`within_text` a
# factor {glue:text}`within_factor:g` of it), {glue:text}`ld_over_oracle:.2f` times the oracle's measured count
# ({glue:text}`oracle_it_hi:.0f`), and its $\kappa$ is {glue:text}`ld_ka_over_lower:.2f` times the lower bound
# {eq}`eq-kappa-lower`, which no member of the class can beat. Jacobi plus the coarse level alone needs
# {glue:text}`ld_over_jc:.1f` times the trained operator's count at the largest $n$ (what the learned local blocks
# add), one-level Schwarz {glue:text}`ld_over_as1:.1f` times (growth exponent {glue:text}`as1_it_exp:.2f`), and
# two-level Schwarz {glue:text}`ld_over_as2:.1f` times fewer.
#
# **Cost.** The trained operator learns {glue:text}`head_params` numbers whatever $n$; with the LU factors of its
# Galerkin coarse matrix it stores {glue:text}`ld_stored_hi` at $n$ = {glue:text}`n_hi`
# ({glue:text}`learned_dd_shared_stored_hi:.4f` per node; two-level Schwarz {glue:text}`as2_stored_hi:.2f` per node,
# {glue:text}`as2_stored_total_hi` in all). One application took {glue:text}`learned_dd_shared_apply_hi:.0f` µs at
# $n$ = {glue:text}`n_hi` (two-level Schwarz {glue:text}`as2_apply_hi:.0f` µs, one level
# {glue:text}`as1_apply_hi:.0f` µs; one thread, median of seven).

# %% [markdown]
# **Against the local rank** (panels c and d, $n$ = {glue:text}`n_hi`, each rank trained at $n$ =
# {glue:text}`n_train`) the trained operators need {glue:text}`rank_ratio_min:.2f` to {glue:text}`rank_ratio_max:.2f`
# times the CG bound of the oracle of their rank (the largest ratio at $r$ = {glue:text}`rank_ratio_argmax`). At the
# smallest rank the oracle's $\kappa$ is {glue:text}`th_oracle_rmin:.0f`, the class's floor
# {glue:text}`th_lower_rmin:.0f`, the trained operator's {glue:text}`ka_rmin_learned:.3g`
# ({glue:text}`ka_rmin_over_oracle:.1f` times the oracle's; validation loss {glue:text}`val_rmin_learned:.3f` against
# {glue:text}`val_rmin_oracle:.3f`).
#
# **At the largest rank, $r$ = {glue:text}`r_max`, the trained operator {glue:text}`top_verdict` within
# {glue:text}`within_factor:g` times two-level Schwarz**: it needs {glue:text}`top_learned_its:.0f` iterations
# ($\kappa$ = {glue:text}`top_learned_ka:.2f`) against {glue:text}`top_as2_its:.0f` ($\kappa$ =
# {glue:text}`top_as2_ka:.2f`), a factor {glue:text}`top_over_as2:.1f`. Three measurements locate the gap:
#
# - The lower bound at this rank is {glue:text}`th_lower_rmax:.2f` (1: no bound). The oracle with the
#   Jacobi term taken off its kept modes, $\sum_E R_E^TV_r(\Lambda_r^{-1} - c)V_r^TR_E$ (`truncated_oracle(...,
#   corrected=True)`, a member of the class, $\omega$ from `corrected_omega`), needs {glue:text}`corr_its:.0f`
#   iterations at $n$ = {glue:text}`n_train` ($\kappa$ = {glue:text}`corr_ka:.2f`), {glue:text}`corr_within` a
#   factor {glue:text}`within_factor:g` of two-level Schwarz.
# - The plain oracle adds $c$ to modes it already inverts exactly: its spectrum runs from
#   {glue:text}`th_lmin_rmax:.3f` to {glue:text}`th_lmax_rmax:.3f`, and it needs {glue:text}`top_oracle_its:.0f`
#   iterations (CG's bound: {glue:text}`th_its_rmax:.0f`); within {glue:text}`within_factor:g` times two-level Schwarz
#   the CG bound asks for $\kappa \le$ {glue:text}`kappa_needed:.2f`, or a spectrum as clustered as two-level
#   Schwarz's.
# - The trained operator's validation loss ({eq}`eq-precond-loss` on fresh probes) is
#   {glue:text}`val_top_learned:.2e`, {glue:text}`val_ratio:.2g` times the plain oracle's; the corrected member's is
#   {glue:text}`val_top_corr:.1e`. The trained spectrum at $n$ = {glue:text}`n_train` runs from
#   {glue:text}`top_lmin:.3f` to {glue:text}`top_lmax:.3f`, the corrected member's from {glue:text}`corr_lmin:.3f` to
#   {glue:text}`corr_lmax:.3f`: the {glue:text}`worse_end` end is further off (factors {glue:text}`top_off:.2f` at
#   the top, {glue:text}`bottom_off:.2f` at the bottom). A top end above 2 means learned blocks that overlap the
#   coarse level and count smooth modes twice (the exact element inverses vanish on the coarse nodes), a bottom end
#   below 1 modes the local blocks leave to the Jacobi term. Both members are in the class: the distance between
#   them is one of optimisation (initialisation, schedule, a longer run), not of representation.
#
# ## Which loss
#
# The same class, rank {glue:text}`rank`, trained by the same protocol on five targets, measured at $n$ =
# {glue:text}`n_hi` ($k$ = {glue:text}`steps`):

# %% tags=["hide-input"]
t0 = time.perf_counter()
variants = pre.compare_losses(base, grid, [SEED], ns=[max(NS)], m=M, workers=WORKERS)
variants_seconds = time.perf_counter() - t0
sens = pre.outlier_sensitivity(model, by_rank[RANK].runs[0].config, count=3, weight=100.0, seed=SEED)
table(variants, columns={"name": "training target", "diverged": "grid points diverged", f"kappa_{max(NS)}": "κ(MA)",
                         f"iterations_{max(NS)}": "PCG iterations"},
      formats={"name": plot_pre.LOSS_LABELS.get, f"kappa_{max(NS)}": ".3g", f"iterations_{max(NS)}": ".0f"},
      caption=f"Training targets of the shared operator at rank {RANK}, measured at n = {max(NS)}")

# %% [markdown]
# The one-step losses are Frobenius norms: they count modes, and the few modes with $\mu \approx 0$, which decide
# $\kappa$, cost them little. Richardson's $(1-\mu)^{2k}$ weighs the worst modes, but any $\mu$ above 2 makes it
# explode ({glue:text}`loss_richardson_div` of the {glue:text}`grid_points` grid points diverged; "–" means all did).
# The error after $k$ PCG steps is bounded and scale invariant like steepest descent's, but it does not see $\kappa$:
# CG removes a few outlying eigenvalues in a few steps. Adding {glue:text}`sens_count` random directions of weight
# {glue:text}`sens_weight:.0f` times the Jacobi scale to the trained operator raises $\kappa$ from
# {glue:text}`sens_kappa:.3g` to {glue:text}`sens_kappa_outliers:.3g`; the steepest-descent loss grows
# {glue:text}`sens_sd_ratio:.1f` times ({glue:text}`sens_steepest_descent:.3f` to
# {glue:text}`sens_steepest_descent_outliers:.3f`), the PCG loss {glue:text}`sens_pcg_ratio:.1f` times
# ({glue:text}`sens_pcg:.3f` to {glue:text}`sens_pcg_outliers:.3f`). The steepest-descent target ties the training
# to the quantity the theory bounds. (Training the alternatives took {glue:text}`variants_seconds:.0f` s.)

# %% tags=["remove-cell"]
members = {r: pre.member_comparison(by_rank[r].runs[0], omega=OMEGA, seed=SEED) for r in (min(RANKS), max(RANKS))}
ablation = {k: pre.shared_study(s.runs[0].model, [N_TRAIN], m=M, delta=DELTA, names=["learned_dd_shared"])[0]
            for k, s in (("galerkin", by_rank[RANK]), ("learned", learned_coarse))}
report = pre.report_preconditioning(
    old=old, theory=theory, rank=RANK, selections=by_rank, learned_coarse=learned_coarse, ablation=ablation,
    rows=rows, rank_rows=rank_rows, members=members, variants=variants, sensitivity=sens, grid=grid,
    seconds=dict(train=train_seconds, variants=variants_seconds, total=time.perf_counter() - t_start))
glue_numbers(report)

# %% [markdown]
# ## Ablation: a learned coarse block
#
# With a learned coarse block instead of $A_0^{-1}$ ({glue:text}`abl_lc_params` parameters, same protocol) the
# operator at $n$ = {glue:text}`n_train` has $\kappa$ = {glue:text}`abl_lc_ka:.2f` and needs {glue:text}`abl_lc_its:.0f`
# iterations, against {glue:text}`abl_gal_ka:.2f` and {glue:text}`abl_gal_its:.0f` with the Galerkin block. However
# accurate, it cannot leave its grid: the block is $(N-1)\times(N-1)$, so a new $n$ means a new training run.
#
# ## Verdict
#
# Trained for preconditioning and shared across subdomains, one learned DD attention, trained once at $n$ =
# {glue:text}`n_train` in {glue:text}`head_seconds:.0f` s with {glue:text}`head_params` parameters for every $n$, needs
# {glue:text}`learned_dd_shared_it_lo:.0f` to {glue:text}`learned_dd_shared_it_hi:.0f` PCG iterations from $n$ =
# {glue:text}`n_lo` to {glue:text}`n_hi`: its counts {glue:text}`bounded_text`, at {glue:text}`ld_over_theory:.2f`
# times the CG bound of the truncated oracle of its rank. The theory also says what the class cannot do: at local
# rank $r$ no member has $\kappa$ below $\cot^2\frac{(r+1)\pi}{2m}$ ({glue:text}`th_lower_rmin:.0f` at the smallest
# rank studied, against $\kappa$ = {glue:text}`top_as2_ka:.2f` for two-level Schwarz). At the largest rank the trained
# operator {glue:text}`top_verdict` within {glue:text}`within_factor:g` times two-level Schwarz. The whole chapter took
# {glue:text}`total_seconds:.0f` s to compute in this build.
