# %% [markdown]
# (ch-model-problem)=
# # 1. The model problem
#
# Everything in this book is about one linear operator: the inverse of the finite-difference matrix of
# $-u'' = f$ on $(0, 1)$ with $u(0) = u(1) = 0$. This chapter sets it up, checks every closed form we later rely on
# against the computer, and builds the data sets on which attention operators are trained and tested.

# %% tags=["parameters", "remove-cell"]
QUICK = False  # small fast run, set by CI and by make book QUICK 1
n = 255        # interior grid nodes (headline size)
K = 16         # training band, Fourier modes 1 to K
SEED = 0       # seed of every random draw in this chapter

# %% tags=["remove-cell"]
import numpy as np
import matplotlib.pyplot as plt
from myst_nb import glue

from ddlib import problem, data
from ddlib.figures import FigureRecorder
from ddlib.tables import format_number, table
from ddlib.plotting import use_style
from ddlib.plotting.model_problem import data_sets_figure, model_problem_figure

use_style()
fig_rec = FigureRecorder("chapters/01_model_problem.ipynb", dict(QUICK=QUICK, n=n, K=K, SEED=SEED))
conv_ns = [2**p - 1 for p in range(4, 9 if QUICK else 13)]
glue("n", n, display=False)
glue("K", K, display=False)

# %% [markdown]
# ## Discretization
#
# With $n$ interior nodes, mesh width $h = 1/(n+1)$ and nodes $x_j = jh$, the second difference gives
#
# $$
# \begin{aligned}
# A &= \frac{1}{h^2}\begin{pmatrix} 2 & -1 & & \\ -1 & 2 & \ddots & \\ & \ddots & \ddots & -1 \\ & & -1 & 2 \end{pmatrix}
# \in \mathbb{R}^{n\times n},\\
# A u &= f, \qquad f_j = f(x_j).
# \end{aligned}
# $$ (eq-A)
#
# We take $n$ = {glue:text}`n` as the headline size. `ddlib.problem.Problem(n)` is the problem on that grid (the same
# class holds the 2D and 3D problems of chapter 8, given a grid shape): `matrix()` returns $A$ as a sparse matrix,
# `solve` solves with two sine transforms in $O(n\log n)$ operations.
#
# ### Second-order convergence
#
# For the manufactured solution $u(x) = e^x \sin(\pi x)$ (so $f = -u''$ in closed form) the maximum nodal error
# should fall like $h^2$. We solve on grids from $n$ = {glue:text}`conv_n_min` to $n$ = {glue:text}`conv_n_max`
# and fit the order between consecutive grids.

# %%
study = problem.convergence_study(conv_ns)

# %% tags=["remove-input"]
order = float(study["order"][-1])
glue("conv_n_min", int(study["m"][0]), display=False)
glue("conv_n_max", int(study["m"][-1]), display=False)
glue("observed_order", order, display=False)
table(study, columns={"n": "n", "h": "h", "error": "max nodal error", "order": "observed order"},
      formats={"order": ".3f"},
      caption="Maximum nodal error of the manufactured solution, and the order fitted between consecutive grids")

# %% [markdown]
# The observed order on the finest pair of grids is {glue:text}`observed_order:.4f`: second order, as the
# truncation error $\frac{h^2}{12}u''''$ predicts.
#
# ## Spectrum
#
# The eigenpairs of $A$ are known in closed form:
#
# $$
# \begin{aligned}
# \lambda_k &= \frac{4}{h^2}\sin^2\!\Big(\frac{k\pi h}{2}\Big),\\
# v_k(x_j) &= \sin(k\pi x_j), \qquad k = 1, \dots, n.
# \end{aligned}
# $$ (eq-eig)
#
# So $\lambda_1 \approx \pi^2$, $\lambda_n \approx 4h^{-2}$ and the condition number grows like $h^{-2}$. The
# sine modes are exact eigenvectors of the *discrete* operator, not only of $-d^2/dx^2$: a right-hand side made of
# modes $1, \dots, K$ has a solution made of the same modes, each divided by its $\lambda_k$. We compare the closed
# forms with a dense eigensolver:

# %%
P = problem.Problem(n)
A = P.matrix()
eig_computed = np.linalg.eigvalsh(A.toarray())
eig_closed = P.eigenvalues()

# %% tags=["remove-input"]
V = P.eigenvectors(np.arange(1, n + 1))
eig_err = float(np.max(np.abs(eig_computed - eig_closed) / eig_closed))
vec_res = float(np.max(np.abs(A @ V - V * eig_closed) / eig_closed))
kappa = float(eig_closed[-1] / eig_closed[0])
eps = float(np.finfo(np.float64).eps)
glue("eig_rel_err_text", format_number(eig_err, 2), display=False)
glue("kappa_eps_text", format_number(kappa * eps, 2), display=False)
table([("largest relative difference, computed and closed-form eigenvalues", eig_err),
       ("largest residual |A v_k - λ_k v_k| / λ_k of the closed-form eigenvectors", vec_res),
       ("rounding level κ(A) ε of a backward-stable eigensolver, relative to λ_1", kappa * eps),
       ("λ_1", float(eig_closed[0])), ("π² (the continuum's λ_1)", np.pi**2), ("κ(A) = λ_n / λ_1", kappa)],
      columns=["quantity", "value"], caption=f"The spectrum of A at n = {n}")

# %% [markdown]
# The computed eigenvalues agree with {eq}`eq-eig` to rounding error: their largest relative difference,
# {glue:text}`eig_rel_err_text`, is of the size of $\kappa(A)\,\varepsilon$ = {glue:text}`kappa_eps_text`, the
# perturbation $\varepsilon\,\lambda_n$ of a backward-stable eigensolver relative to $\lambda_1$. The table has the
# eigenvector residual, $\lambda_1$ beside $\pi^2$, and $\kappa(A)$.
#
# ## The inverse is the Green's function
#
# The continuous solution operator is $u(x) = \int_0^1 G(x, y) f(y)\,dy$ with $G(x, y) = \min(x,y)\,(1 - \max(x,y))$.
# For this scheme the discrete inverse is *exactly* the Green's function sampled at the nodes, times the
# quadrature weight $h$:
#
# $$
# (A^{-1})_{ij} = h\, G(x_i, x_j).
# $$ (eq-green)
#
# $A^{-1}$ is dense, smooth away from the diagonal, and has a kink on it. The kink is what makes global low-rank
# approximation expensive and local-plus-coarse approximation cheap, which is the theme of the chapters that follow.

# %%
Ainv = P.inverse()  # equals h G(x_i, x_j)
green_err = np.max(np.abs(np.linalg.inv(A.toarray()) - Ainv)) / np.max(np.abs(Ainv))

# %% tags=["remove-cell"]
glue("green_err_text", format_number(float(green_err), 2), display=False)
fig = model_problem_figure(n, Ainv, eig_closed, eig_computed, study)
fig_rec.save(fig, "F1", "model_problem", numbers=dict(observed_order=order, eig_rel_err=eig_err,
             green_err=float(green_err), kappa_A=kappa, n=n, K=K))
plt.close(fig)

# %% [markdown]
# The numerically inverted matrix and {eq}`eq-green` agree to {glue:text}`green_err_text` (relative).
# {numref}`fig-F1` shows $A^{-1}$, its columns, the spectrum and the convergence study.
#
# ```{figure} ../figures/F1_model_problem.png
# :name: fig-F1
# :width: 100%
#
# **The model problem.** (a) $A^{-1}$ at $n$ = {glue:text}`n`; (b) three of its columns, divided by $h$: the
# Green's function $G(\cdot, y)$; (c) computed eigenvalues against the closed form {eq}`eq-eig` and the continuum
# $(k\pi)^2$; (d) second-order convergence of the maximum nodal error.
# ```
#
# ## Data: Fourier right-hand sides and four test sets
#
# Training data are $f = \sum_{k=1}^{K} a_k \sin(k\pi x)$ with $a_k$ drawn from a seeded standard normal
# distribution, here with $K$ = {glue:text}`K`, and $u = A^{-1}f$. Four held-out test sets probe different things:
#
# | set | right-hand sides | what it tests |
# |---|---|---|
# | in-band | new draws of modes $1, \dots, K$ | fitting the training distribution |
# | out-of-band | modes $K+1, \dots, 2K$ | whether the operator learned $A^{-1}$ or only its action on the band |
# | white noise | $f_j \sim \mathcal N(0,1)$ | all $n$ modes at once |
# | point loads | $f = e_j/h$ | single columns of $A^{-1}$: the Green's function |
#
# Because each $\sin(k\pi x)$ is an eigenvector, the training data span exactly a $K$-dimensional invariant subspace
# of $A$. An operator that equals $A^{-1}$ on that subspace and does anything at all elsewhere fits the training data
# perfectly. This is the *data trap* that chapter 3 measures: results on the training band alone prove little.

# %%
sets = data.make_datasets(P, samples=64, K=K, seed=SEED)

# %% tags=["remove-cell"]
again = data.make_datasets(P, samples=64, K=K, seed=SEED)
same = all(np.array_equal(sets[s].f, again[s].f) for s in sets)
V_band = P.eigenvectors(np.arange(1, K + 1), normalized=True)
f_train = sets["train"].f
outside = float(np.linalg.norm(f_train - (f_train @ V_band) @ V_band.T) / np.linalg.norm(f_train))
glue("train_outside_band_text", format_number(outside, 2), display=False)
glue("same_seed", "gives identical arrays" if same else "does not give identical arrays", display=False)
fig = data_sets_figure(n, sets)
fig_rec.save(fig, "F1", "data_sets", numbers=dict(train_outside_band=outside, same_seed=bool(same)))
plt.close(fig)

# %% [markdown]
# The part of the training right-hand sides outside the span of $v_1, \dots, v_K$ is
# {glue:text}`train_outside_band_text` of their norm: the data really live in a $K$-dimensional subspace. Drawing the
# sets twice from the same seed {glue:text}`same_seed`. {numref}`fig-F1-data` shows three samples of each set.
#
# ```{figure} ../figures/F1_data_sets.png
# :name: fig-F1-data
# :width: 100%
#
# **The data sets** at $n$ = {glue:text}`n`, $K$ = {glue:text}`K`: solutions $u$ of three samples of (a) the training
# band, (b) the out-of-band set, (c) white noise and (d) point loads, each divided by its largest modulus.
# ```
