# %% [markdown]
# (ch-global-attention)=
# # 3. Global low-rank attention
#
# The paper's baseline is a *global*, softmax-free, low-rank attention operator. This chapter treats it as what it
# is for our problem, a learnable matrix of rank $r$ that maps a right-hand side $f$ to a solution $u$, and asks two
# questions: what the best rank-$r$ operator can do at all (approximation theory), and what training on Fourier data
# actually finds (the data trap).

# %% tags=["parameters", "remove-cell"]
QUICK = False      # small fast run, set by CI and by make book QUICK 1
n = 255            # interior grid nodes
K = 16             # training band, Fourier modes 1 to K
SAMPLES = 64       # training samples (full batch)
EPOCHS = 600       # epoch budget of every run
LRS = [3e-3, 1e-2, 3e-2, 1e-1]  # learning-rate grid of the tuned protocol
INIT_SCALES = [1e-3, 1e-2, 1e-1]  # initial-scale grid of the tuned protocol
SEEDS = [0, 1, 2]  # seeds of data, initialisation and batch order
TRAP_FACTOR = 4    # the second trained model has rank TRAP_FACTOR times K

# %% tags=["remove-cell"]
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

from ddlib import approximation as apx
from ddlib.data import make_dataset, relative_l2_error
from ddlib.attention import GlobalAttention, configure_threads, eckart_young_init, operator_error
from ddlib.experiments import seed_band, summarize, tuned_comparison
from ddlib.models import GlobalSpec
from ddlib.figures import FigureRecorder
from ddlib.tables import format_number, table
from ddlib.problem import Problem
from ddlib.training import TrainConfig
from ddlib.plotting import use_style
from ddlib.plotting.attention import approximation_figure

if QUICK:
    n, K, EPOCHS, LRS, INIT_SCALES = 63, 8, 200, [3e-2, 1e-1], [1e-2, 1e-1]
configure_threads()
use_style()
fig_rec = FigureRecorder("chapters/03_global_attention.ipynb",
                         dict(QUICK=QUICK, n=n, K=K, SAMPLES=SAMPLES, EPOCHS=EPOCHS, LRS=LRS,
                              INIT_SCALES=INIT_SCALES, SEEDS=SEEDS, TRAP_FACTOR=TRAP_FACTOR))
glue("n", n, display=False)
glue("K", K, display=False)
glue("Kp1", K + 1, display=False)
glue("K2", 2 * K, display=False)
glue("init_scale", float(TrainConfig(model=GlobalSpec(1)).init_scale), display=False)

# %% [markdown]
# ## Attention as an operator
#
# Attention without softmax, as in the Galerkin transformer {cite:p}`cao2021galerkin`, is a product of two
# projections. Acting on the vector $f \in \mathbb R^n$ of nodal values,
#
# $$
# \begin{aligned}
# u &= M_\theta^{-1} f = h\, Q K^T f,\\
# Q, K &\in \mathbb R^{n\times r} \quad (2nr \text{ parameters}).
# \end{aligned}
# $$ (eq-global-attention)
#
# $K^T f$ takes $r$ weighted averages of $f$ and $Q$ spreads them back over the grid. The factor $h = 1/(n+1)$ is a
# quadrature weight: since $(A^{-1})_{ij} = h\,G(x_i, x_j)$, the product $QK^T$ approximates the Green's function
# itself and its entries are $O(1)$ for every $n$. This is `ddlib.attention.GlobalAttention(Problem(n), r)`; the
# entries of $Q$ and $K$ are drawn from $\mathcal N(0, s^2)$ with $s$ = {glue:text}`init_scale` and an explicit seed,
# and `ddlib.attention.eckart_young_init` sets them to the best rank-$r$ factors instead.
#
# ## What rank $r$ can do
#
# $A^{-1}$ is symmetric with eigenvalues $1/\lambda_k$, so by Eckart and Young {cite:p}`eckart1936approximation` the
# best rank-$r$ approximation keeps the $r$ lowest Fourier modes, and its relative error is
#
# $$
# \frac{\|A^{-1} - [A^{-1}]_r\|_2}{\|A^{-1}\|_2} = \frac{\lambda_1}{\lambda_{r+1}} \approx \frac{1}{(r+1)^2}.
# $$ (eq-eckart-young)
#
# The error falls only like $r^{-2}$, and the parameters grow like $r$: each digit of accuracy costs about a factor
# $\sqrt{10}$ in rank. The reason is the kink of the Green's function on the diagonal: $A^{-1}$ is not smooth enough
# to be globally low-rank. We check the closed form against a singular value decomposition and against the trained
# operator's own SVD initialisation:

# %%
P = Problem(n)
sv_closed = 1.0 / P.eigenvalues()
sv_computed = np.linalg.svd(P.inverse(), compute_uv=False)
svd_err_K = operator_error(eckart_young_init(GlobalAttention(P, K)))   # measured

# %% tags=["remove-input"]
sv_err = float(np.max(np.abs(sv_computed - sv_closed) / sv_closed))
closed_K = float(apx.global_best_error(P, [K])[0])
ranks = np.unique(np.round(np.geomspace(1, n // 2, 24)).astype(int))
gfront = apx.global_frontier(P, ranks)
all_ranks = np.arange(1, n)
all_err = apx.global_best_error(P, all_ranks)
rank_for = {eps: int(all_ranks[np.argmax(all_err <= eps)]) for eps in (1e-2, 1e-3)}
glue("svd_err_K", svd_err_K, display=False)
glue("svd_match", "exactly" if abs(svd_err_K / closed_K - 1) < 1e-9 else "close to", display=False)
glue("sv_err", format_number(sv_err, 1), display=False)
glue("rank_1e3", rank_for[1e-3], display=False)
glue("params_1e3", format_number(2 * n * rank_for[1e-3]), display=False)
table([(f"rank r = K = {K}, truncated SVD (measured)", K, 2 * n * K, svd_err_K),
       ("the same, closed form λ_1/λ_(K+1)", K, 2 * n * K, closed_K),
       ("the same, continuum estimate 1/(K+1)²", K, 2 * n * K, 1.0 / (K + 1) ** 2),
       *((f"smallest rank with error ≤ {eps:g}", r, 2 * n * r, float(all_err[r - 1])) for eps, r in rank_for.items())],
      columns=["global rank-r operator", "r", "parameters 2nr", "relative error"], formats={"relative error": 4},
      caption=f"Best global rank-r operators at n = {n}")

# %% [markdown]
# The computed singular values agree with $1/\lambda_k$ to a relative {glue:text}`sv_err`. At rank $r = K$ =
# {glue:text}`K` the truncated SVD has relative error {glue:text}`svd_err_K:.4f`, {glue:text}`svd_match`
# $\lambda_1/\lambda_{K+1}$ (the table). An error of $10^{-3}$ already needs rank {glue:text}`rank_1e3`, that is
# {glue:text}`params_1e3` parameters.
#
# **The DD class, for comparison.** {ref}`ch-dd-attention` builds the paper's operator. Its "Schwarz
# oracle" keeps the coarse part of the exact decomposition of {ref}`ch-schwarz` and truncates each local block to
# rank $r$; its error is $\approx H^2/(r+1)^2$ with $H = 1/N$ (`ddlib.approximation.dd_best_error`), a factor $H^2$
# below the global error at equal rank, at $2r\,(n + 2\delta(N-1)) + 2(N-1)^2$ parameters against the global $2nr$
# (local factors on the overlapping subdomains plus a full-rank coarse block). Panel (b) of {numref}`fig-F5` draws
# both against the parameter count, with $\delta$ = {glue:text}`delta_o`.

# %%
delta_o = 1  # overlap of the drawn DD oracles
dd_fronts = [apx.dd_frontier(P, N, delta_o) for N in ((8, 16) if n >= 255 else (4, 8))]

# %% tags=["remove-input"]
P_K = 2 * n * K  # parameters of the global rank-K operator


def best_within(front, budget):
    """(error, N, parameters) of the most accurate configuration of a DD frontier within a parameter budget."""
    k = int(np.argmin(np.where(front["params"] <= budget, front["error"], np.inf)))
    return float(front["error"][k]), front["N"], int(front["params"][k])


best_dd = min(best_within(f, P_K) for f in dd_fronts if np.any(f["params"] <= P_K))
reach_K = [min((int(p), f["N"], float(e)) for p, e in zip(f["params"], f["error"]) if e <= svd_err_K)
           for f in dd_fronts if np.any(f["error"] <= svd_err_K)]  # fewest DD parameters reaching its error
smallest = min(dd_fronts, key=lambda f: f["params"][0])
fewest = min(reach_K) if reach_K else (None, None, None)
glue("delta_o", delta_o, display=False)
glue("dd_budget_gain", float(svd_err_K / best_dd[0]), display=False)
glue("dd_fewest", f"it reaches the global operator's error with {P_K / fewest[0]:.1f} times fewer parameters"
     if reach_K else "none of the drawn DD oracles reaches the global operator's error", display=False)
table([(f"global, rank K = {K}", "", P_K, svd_err_K),
       ("DD oracle, best within the same budget", f"N = {best_dd[1]}", best_dd[2], best_dd[0]),
       ("DD oracle, smallest configuration drawn", f"N = {smallest['N']}, r = {smallest['rank'][0]}",
        int(smallest["params"][0]), float(smallest["error"][0])),
       ("DD oracle, fewest parameters at the global error", f"N = {fewest[1]}" if reach_K else "none reaches it",
        fewest[0], fewest[2])],
      columns=["operator", "configuration", "parameters", "relative error"],
      caption=f"Global against DD oracles at n = {n}, overlap δ = {delta_o}")

# %% [markdown]
# With the parameter budget of the global rank-$K$ operator the best DD oracle is
# {glue:text}`dd_budget_gain:.1f` times more accurate, and {glue:text}`dd_fewest` (the table). In approximation power
# the paper's "far fewer parameters" is a theorem in 1D; whether training finds these operators is the subject of
# {ref}`ch-dd-attention`.
#
# ## The data trap
#
# The training data are $f = \sum_{k=1}^{K} a_k \sin(k\pi x)$. Each sine is an eigenvector of $A$, so the data span
# exactly the $K$-dimensional invariant subspace $V_K = \mathrm{span}(v_1,\dots,v_K)$, and the loss depends on
# $M_\theta^{-1}$ only through its restriction to $V_K$. A rank-$K$ operator can match $A^{-1}$ there exactly, so the
# training loss can reach zero while $M_\theta^{-1}$ is arbitrary on the other $n - K$ modes. The Eckart-Young
# operator of rank $K$ is exactly this: $A^{-1}$ on $V_K$ and zero elsewhere, hence entirely wrong on modes
# $K+1, \dots, 2K$. A trained operator is not even zero there. The loss does not see those modes, so nothing pulls
# them towards $A^{-1}$: they keep what the random initialisation put there, and Adam's coordinate-wise steps, which
# are not confined to the span of the data, move them further.
#
# We train the global operator with $r = K$ and $r$ = {glue:text}`rank_big` on {glue:text}`samples` samples of the
# band, full batch, with Adam (cosine-decaying learning rate) for {glue:text}`epochs` epochs. Each rank gets the
# learning rate (from {glue:text}`lr_grid`) and initial scale (from {glue:text}`init_grid`) of the tuned protocol
# used for every comparison in this book (`ddlib.experiments.tuned_comparison`): the grid is ranked on the first seed
# by the final error on a validation set drawn from the training band, the best three points are trained on every
# seed, and the point with the lowest mean validation error over the {glue:text}`n_seeds` seeds is kept. We report
# seed means.

# %% tags=["remove-cell"]
big = min(TRAP_FACTOR * K, n)
glue("rank_big", big, display=False)
glue("samples", SAMPLES, display=False)
glue("epochs", EPOCHS, display=False)
glue("lr_grid", ", ".join(f"{lr:g}" for lr in LRS), display=False)
glue("init_grid", ", ".join(f"{s:g}" for s in INIT_SCALES), display=False)
glue("n_seeds", len(SEEDS), display=False)

# %%
base = TrainConfig(model=GlobalSpec(K), n=n, K=K, samples=SAMPLES,
                   test_samples=SAMPLES, epochs=EPOCHS)
grid = {"lr": LRS, "init_scale": INIT_SCALES}
trap_runs = tuned_comparison([GlobalSpec(K), GlobalSpec(big)], base, grid, SEEDS)

# %% tags=["remove-input"]
rows = {tag: summarize(mr) for tag, mr in zip(("K", "big"), trap_runs)}
oracle = eckart_young_init(GlobalAttention(P, K))
ob = make_dataset("out_of_band", P, SAMPLES, K, SEEDS[0])  # the out-of-band set of the first seed
oracle_out = float(relative_l2_error(oracle(ob.f).detach().numpy(), ob.u).mean())
splits = [apx.band_error_split(run.model.dense(), P, K) for run in trap_runs[0].runs]  # where the error lives
split = {key: float(np.mean([sp[key] for sp in splits])) for key in splits[0]}
metrics = {"train_loss": "training loss (mean relative squared error)", "error_in_band": "in-band test error",
           "error_out_of_band": f"out-of-band test error (modes {K + 1} to {2 * K})",
           "error_noise": "white-noise test error", "error_point_loads": "point-load test error",
           "operator_error": "operator error ‖M − A⁻¹‖₂ / ‖A⁻¹‖₂"}
oracle_col = {"error_out_of_band": oracle_out, "operator_error": svd_err_K}
knob = "{:g}".format
display(table([("chosen learning rate", knob(trap_runs[0].chosen["lr"]), knob(trap_runs[1].chosen["lr"]), None),
               ("chosen initial scale", knob(trap_runs[0].chosen["init_scale"]),
                knob(trap_runs[1].chosen["init_scale"]), None)]
              + [(label, rows["K"][f"{key}_mean"], rows["big"][f"{key}_mean"], oracle_col.get(key))
                 for key, label in metrics.items()],
              columns=["", f"trained, rank K = {K}", f"trained, rank {big}", f"Eckart-Young, rank {K}"],
              caption=f"The data trap: means over {len(SEEDS)} seeds"))
table([("band → band", split["band_to_band"]), ("band → off the band", split["band_to_off"]),
       ("off the band → band", split["off_to_band"]), ("off the band → off the band", split["off_to_off"]),
       ("A⁻¹ off the band alone, λ_1/λ_(K+1)", split["floor"])],
      columns=["block of Vᵀ (M − A⁻¹) V, input → output modes", "share of ‖A⁻¹‖₂"],
      caption=f"Where the operator error of the trained rank-{K} model lives (seed means)")

# %% tags=["remove-cell"]
glue("oracle_out_of_band", oracle_out, display=False)
glue("trap_K_error_in_band_text", format_number(rows["K"]["error_in_band_mean"], 2), display=False)
glue("trap_K_error_out_of_band", rows["K"]["error_out_of_band_mean"], display=False)
oob = rows["K"]["error_out_of_band_mean"]
glue("off_verdict", "Off the band they are useless" if oob >= 1 else "Off the band they are far less accurate",
     display=False)
glue("oob_meaning", "the predicted solutions are larger than the true ones by that factor: the true solutions of "
     "those modes are small, their size falls like the inverse square of the mode number, and the untrained part of "
     "the operator is not" if oob >= 1 else "the untrained part of the operator does not vanish off the band, but it "
     "stays below the size of the true solutions", display=False)
big_helps = rows["big"]["error_out_of_band_mean"] < rows["K"]["error_out_of_band_mean"]
glue("big_verdict", "Extra rank lowers the out-of-band error, but not to a useful level" if big_helps else
     "Extra rank does not help; the out-of-band error even grows", display=False)
trap_ratio = rows["K"]["operator_error_mean"] / svd_err_K
glue("trap_ratio_text", f"{trap_ratio:.0f} times that of" if trap_ratio >= 1.5 else "close to that of", display=False)
blocks = {"off_to_band": "maps modes outside the band into the band",
          "off_to_off": "maps modes outside the band to modes outside it",
          "band_to_band": "acts inside the band", "band_to_off": "maps the band to modes outside it"}
worst = max(blocks, key=lambda key: split[key])
glue("split_worst", blocks[worst], display=False)
glue("split_worst_value", split[worst], display=False)
glue("split_floor", format_number(split["floor"], 2), display=False)
glue("split_worst_seen", "a block the training data never probe" if worst.startswith("off") else
     "a block the training data probe", display=False)
glue("split_reason", "The data never constrain the key matrix K off the band, while they pull the columns of "
     "the query matrix Q into the band: whatever K picks up off the band, Q delivers into the band."
     if worst == "off_to_band" else "The training data reach this block, so it is left by the optimisation, "
     "not hidden from the loss.", display=False)

# %% [markdown]
# On the training band both operators are good: the rank-$K$ model's in-band test error is
# {glue:text}`trap_K_error_in_band_text`. {glue:text}`off_verdict`: its out-of-band error is
# {glue:text}`trap_K_error_out_of_band:.2f`, that is, {glue:text}`oob_meaning`.
# The Eckart-Young operator of rank $K$, exact on the band and zero off it, has out-of-band error
# {glue:text}`oracle_out_of_band:.3f`: its prediction off the band is zero, so it misses the whole solution, the
# trap in its purest form. {glue:text}`big_verdict` (the table): the rank-{glue:text}`rank_big` model could represent
# modes up to {glue:text}`rank_big`, but the data never show them.
#
# The operator error of the trained rank-$K$ model is {glue:text}`trap_ratio_text` the best rank-$K$
# operator. Where does it live? In the sine basis the error $V^T(M_\theta^{-1} - A^{-1})V$ splits into four blocks by
# input and output mode, in the band or off it (`ddlib.approximation.band_error_split`, second table). The largest
# block {glue:text}`split_worst`, {glue:text}`split_worst_seen`: {glue:text}`split_worst_value:.3f` of
# $\|A^{-1}\|_2$. It is not $A^{-1}$ missing off the band: that part alone costs only {glue:text}`split_floor`.
# {glue:text}`split_reason` **Results on the training band alone prove little**; every comparison in
# {ref}`ch-dd-attention` therefore reports the out-of-band, noise, point-load and operator errors beside the
# in-band error.
#
# ```{figure} ../figures/F5_approximation.png
# :name: fig-F5
# :width: 100%
#
# **Approximation theory and the data trap** ($n$ = {glue:text}`n`). (a) Singular values of $A^{-1}$, computed and
# closed form. (b) Best relative operator error against parameter count: global rank $r$ (truncated SVD,
# {eq}`eq-eckart-young`, solid) and the DD Schwarz oracle (exact coarse part, local blocks truncated to rank $r$,
# dashed), with their closed-form rates $1/(r+1)^2$ and $H^2/(r+1)^2$ dotted. (c) Training the global rank-$K$
# operator on modes $1$ to $K$: seed mean (line) and range (band) of the test errors; the in-band error falls, the
# others do not.
# ```

# %% tags=["remove-cell"]
mr = trap_runs[0]
trap = {"label": f"global $r = K = {K}$",
        "curves": {m: seed_band(mr, m) for m in ("error_in_band", "error_out_of_band", "error_noise",
                                                   "operator_error")}}
ep, op_curve = trap["curves"]["operator_error"][:2]
in_curve = trap["curves"]["error_in_band"][1]
late = int(np.argmax(ep >= EPOCHS / 10))  # the first recorded epoch past a tenth of the budget
op_late, in_late = float(op_curve[late] / op_curve[-1]), float(in_curve[late] / in_curve[-1])
glue("late_epoch", int(ep[late]), display=False)
glue("op_late_factor", op_late, display=False)
glue("in_late_factor", in_late, display=False)
glue("late_verdict", "On this evidence more epochs would improve mainly the in-band number." if in_late > op_late
     else "More epochs would improve the operator error as much as the in-band number.", display=False)
fig = approximation_figure(sv_closed, sv_computed, gfront, dd_fronts, trap)
fig_rec.save(fig, "F5", "approximation", numbers=dict(
    n=n, K=K, sv_rel_err=sv_err, svd_err_K=svd_err_K, closed_err_K=closed_K, rank_for_1e3=rank_for[1e-3],
    dd_oracle_at_PK=float(best_dd[0]), trap_error_in_band=rows["K"]["error_in_band_mean"],
    trap_error_out_of_band=rows["K"]["error_out_of_band_mean"], trap_operator_error=rows["K"]["operator_error_mean"],
    oracle_out_of_band=oracle_out))
plt.close(fig)

# %% [markdown]
# {numref}`fig-F5` (c) shows the trap during training. The operator error falls during the first epochs, while the
# lowest modes (which dominate $\|A^{-1}\|_2$) are being fitted; from epoch {glue:text}`late_epoch` to the end of
# the budget it changes by a factor {glue:text}`op_late_factor:.2f` (seed means), while the in-band error falls by a
# factor {glue:text}`in_late_factor:.1f`. {glue:text}`late_verdict`
