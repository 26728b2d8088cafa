r"""Softmax-free attention operators that act on a right-hand side ``f`` (torch, float64 by default).

Two operator classes, both :class:`torch.nn.Module` with ``forward(f)`` on a batch of shape ``(batch, n)`` (rows are
samples, as in :mod:`ddlib.data`):

:class:`GlobalAttention`, the low-rank baseline
    .. math::  u = M_\theta^{-1} f = h\, Q K^T f, \qquad Q, K \in \mathbb{R}^{n\times r},

    with :math:`2nr` parameters.

:class:`DDAttention`, the two-level domain-decomposition attention
    .. math::  u = M_\theta^{-1} f = h\Big(\Phi Q_0 K_0^T \Phi^T f
               + \sum_{i=1}^{N} R_i^T W^L_i\, Q_i K_i^T\, W^R_i R_i f\Big),

    with :math:`Q_i, K_i \in \mathbb{R}^{n_i\times r}`, :math:`Q_0, K_0 \in \mathbb{R}^{N_0\times r_0}` and
    :math:`2r\sum_i n_i + 2N_0 r_0 = 2r\,(n + 2\delta(N-1)) + 2 N_0 r_0` parameters. The paper's weighting is
    :math:`W^L_i = W^R_i = D_i^{1/2}` (``weighting="sqrt"``); ``"left"`` uses :math:`W^L_i = D_i,\ W^R_i = I`
    (restricted additive Schwarz), ``"none"`` uses :math:`W^L_i = W^R_i = I` (plain additive Schwarz). The Boolean
    weighting of the ablations is ``partition="boolean"``.

**Scaling.** The operator acts on the vector of nodal values of ``f``; the factor :math:`h = 1/(n+1)` is the quadrature
weight of :math:`u(x) = \int_0^1 G(x, y) f(y)\,dy`. Since :math:`(A^{-1})_{ij} = h\,G(x_i, x_j)`, the learned
products :math:`QK^T` approximate the Green's function itself and have entries of size :math:`O(1)`, independent
of ``n``.

**Vectorization.** :class:`DDAttention` stores the local factors padded to ``(N, n_max, r)`` (the parameter layout
seen by users). On a :class:`~ddlib.decomposition.Decomposition` the operator is applied in a *window layout*:
subdomain ``i`` is read as a strided view of ``f`` (``unfold`` with window
``m + 2 delta`` and step ``m``, no gather), one batched product :math:`\tilde K_i^T X_i` per window gives the local
coefficients and, from two extra columns holding the hat functions in closed form, :math:`\Phi^T f`; a second batched
product writes every window's core block straight into the output, including :math:`\Phi Q_0K_0^T\Phi^Tf`, and the
``2 delta`` overlap rows are added as two slice additions. The weights :math:`W^L_i, W^R_i` and ``h`` are folded into
the factors once per call (cached between calls while grad is off, keyed on the parameters' version counters). With
grad on, the window pass is one :class:`torch.autograd.Function` with a hand-written backward (:class:`_WindowApply`:
the same batched products, transposed), so autograd keeps no full-size temporaries of its slicing. A coarse space
other than the hat functions (Nicolaides') is applied by gathering on the padded supports of its basis functions.
The reference path :func:`reference_apply` (tests, benchmarks) gathers ``f`` into padded subdomain blocks
(``f[:, padded_indices]``), applies the batched products and scatter-adds with :meth:`torch.Tensor.index_add`, with
plain autograd. Memory stays :math:`O(n)` for any ``n`` and there is no Python loop over subdomains in either path. Both paths work on right-hand
sides as columns ``(n, batch)``; :meth:`DDAttention.forward` passes the transposed view of its rows, which the window
layout reads without a copy, and returns a transposed view.

**Initialisations.** ``init="random"``: every factor entry is drawn from :math:`\mathcal N(0, s^2)`
(``init_scale = s``) with a seeded generator. ``init="svd"`` (global) sets :math:`QK^T` to the truncated SVD of
:math:`A^{-1}/h`, the best rank-``r`` operator (Eckart-Young). ``init="schwarz"`` (DD) sets the coarse block to the
truncated eigendecomposition of :math:`A_0^{-1}/h` and the local blocks to truncated eigendecompositions of either

* ``local_inverse="element"``: :math:`A_E^{-1}` on the nodes strictly inside coarse element ``E = i``, embedded in
  subdomain ``i`` and divided by the weights, :math:`Q_iK_i^T = (W^L_i)^{-1} P_E [A_E^{-1}]_r P_E^T (W^R_i)^{-1}/h`.
  With the hat coarse space and full local rank this reproduces :math:`A^{-1}` exactly (the exact 1D decomposition
  :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E`); with rank ``r`` its error is the smallest
  achievable with the element structure (see :mod:`ddlib.approximation`).
* ``local_inverse="subdomain"``: :math:`Q_iK_i^T = [A_i^{-1}]_r/h` with :math:`A_i = R_i A R_i^T` on the overlapping
  subdomain. At full rank the operator is the classical two-level additive Schwarz preconditioner
  :math:`\Phi A_0^{-1}\Phi^T + \sum_i R_i^T W^L_i A_i^{-1} W^R_i R_i` (symmetric for ``"sqrt"`` and ``"none"``).

Examples
--------
>>> import torch
>>> from ddlib.decomposition import Decomposition
>>> from ddlib.attention import DDAttention, GlobalAttention
>>> from ddlib.problem import inverse
>>> dd = DDAttention(Decomposition(63, 8, 1), local_rank=7, init="schwarz")
>>> bool(torch.allclose(dd.dense(), torch.as_tensor(inverse(63)), atol=1e-14))
True
>>> GlobalAttention(63, 4).num_parameters(), dd.num_parameters() == dd.parameter_formula()
(504, True)
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

from ._validate import check_choice, check_int, check_positive, env_int
from .decomposition import (COARSE_SPACES, PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition, element_decomposition,
                            padded_support)
from .problem import eigenvalues, grid, inverse, laplacian_1d, solve

__all__ = [
    "GlobalAttention",
    "DDAttention",
    "WEIGHTINGS",
    "LOCAL_INVERSES",
    "COARSE_INVERSES",
    "DIAGONALS",
    "BandedLowRank",
    "banded_lowrank_parameter_count",
    "reference_apply",
    "configure_threads",
    "global_parameter_count",
    "dd_parameter_count",
    "operator_error",
    "DENSE_OPERATOR_MAX",
    "truncated_factors",
]

#: Names accepted by ``DDAttention(local_inverse=...)`` for ``init="schwarz"``.
LOCAL_INVERSES = ("element", "subdomain")
#: Names accepted by ``DDAttention(coarse_inverse=...)``: a learned coarse block, or the fixed Galerkin inverse.
COARSE_INVERSES = ("learned", "galerkin")
#: Names accepted by ``DDAttention(diagonal=...)``: no diagonal term, a fixed damped Jacobi term
#: :math:`\omega\,h^2/2\,I`, or the same with a learned :math:`\omega = e^{\theta}`.
DIAGONALS = ("none", "jacobi", "learned")


def configure_threads(default: int | None = None) -> int:
    """Set torch's intra-op threads from ``$DDLIB_TORCH_THREADS`` (else ``default``, else leave it); return the count.

    The book build sets ``DDLIB_TORCH_THREADS=1`` when it runs two notebooks at once on two cores.
    """
    threads = env_int("DDLIB_TORCH_THREADS", low=1)
    if threads is None:
        if default is None:
            return torch.get_num_threads()
        threads = check_int("default", default, low=1)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def global_parameter_count(n: int, rank: int, *, symmetric: bool = False) -> int:
    r"""Parameters of :class:`GlobalAttention`: :math:`2nr`, or :math:`nr` with tied factors (``symmetric``)."""
    return (1 if symmetric else 2) * check_int("n", n, low=1) * check_int("rank", rank, low=1)


def dd_parameter_count(n: int, N: int, delta: int, local_rank: int, coarse_rank: int | None = None,
                       N0: int | None = None, *, symmetric: bool = False, shared: bool = False,
                       learned_coarse: bool = True, learned_diagonal: bool = False) -> int:
    r"""Parameters of :class:`DDAttention`: :math:`c\,(r\,S + N_0r_0)` with :math:`c = 2` (``Q`` and ``K``), or
    :math:`c = 1` for tied factors (``symmetric``).

    ``S`` is the number of local factor rows: :math:`\sum_i n_i = n + 2\delta(N-1)` (each of the ``N - 1`` interfaces
    adds ``delta`` nodes to both of its neighbours), or with ``shared`` (one block for all interior subdomains, the
    two boundary subdomains their own) :math:`S = (m+\delta) + (m-1+\delta) + (m+2\delta) = 3m + 4\delta - 1`,
    ``m = (n+1)/N``, independent of ``n``. ``N0`` defaults to ``N - 1`` (hat functions), ``coarse_rank`` to ``N0``;
    ``local_rank = 0`` or ``coarse_rank = 0`` switches a level off; ``learned_coarse=False`` (the coarse block fixed
    to the Galerkin :math:`A_0^{-1}`) has no coarse parameters; ``learned_diagonal`` adds the one scalar
    :math:`\theta` of a learned diagonal term :math:`e^\theta h^2/2\,I`.

    >>> dd_parameter_count(255, 8, 1, 4), dd_parameter_count(255, 8, 1, 4, symmetric=True, shared=True)
    (2250, 445)
    """
    n, N, delta = check_int("n", n, low=1), check_int("N", N, low=1), check_int("delta", delta, low=0)
    N0 = N - 1 if N0 is None else check_int("N0", N0, low=0)
    r0 = N0 if coarse_rank is None else check_int("coarse_rank", coarse_rank, low=0, high=N0)
    r = check_int("local_rank", local_rank, low=0)
    if shared:
        if N < 3 or (n + 1) % N:
            raise ValueError(f"shared local factors need N >= 3 dividing n + 1 = {n + 1}; got N = {N}")
        m = (n + 1) // N
        rows = 3 * m + 4 * delta - 1
    else:
        rows = n + 2 * delta * (N - 1)
    c = 1 if symmetric else 2
    return c * (r * rows + (N0 * r0 if learned_coarse else 0)) + (1 if learned_diagonal else 0)


def truncated_factors(B: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Factors :math:`Q, K \in \mathbb{R}^{m\times r}` with :math:`QK^T = [B]_r`, the best rank-``r`` approximation.

    For symmetric ``B`` the truncated eigendecomposition :math:`B \approx V_r\Lambda_r V_r^T` (largest
    :math:`|\lambda|`) gives :math:`Q = V_r|\Lambda_r|^{1/2}`, :math:`K = V_r\,\mathrm{sign}(\Lambda_r)|\Lambda_r|^{1/2}`;
    otherwise the truncated SVD gives :math:`Q = U_r\Sigma_r^{1/2}`, :math:`K = V_r\Sigma_r^{1/2}`. Ranks above
    ``min(B.shape)`` are padded with zero columns.
    """
    B = np.asarray(B, dtype=np.float64)
    rank = check_int("rank", rank, low=0)
    m = min(B.shape)
    r = min(rank, m)
    if B.shape[0] == B.shape[1] and np.allclose(B, B.T, rtol=0, atol=1e-13 * max(1.0, np.abs(B).max())):
        lam, V = np.linalg.eigh(0.5 * (B + B.T))
        order = np.argsort(-np.abs(lam))[:r]
        lam, V = lam[order], V[:, order]
        Q = V * np.sqrt(np.abs(lam))
        K = V * (np.sign(lam) * np.sqrt(np.abs(lam)))
    else:
        U, s, Vt = np.linalg.svd(B, full_matrices=False)
        Q = U[:, :r] * np.sqrt(s[:r])
        K = Vt[:r].T * np.sqrt(s[:r])
    if rank > r:
        pad = np.zeros((B.shape[0], rank - r)), np.zeros((B.shape[1], rank - r))
        Q, K = np.hstack([Q, pad[0]]), np.hstack([K, pad[1]])
    return Q, K


#: Largest ``n`` at which :func:`operator_error` forms the dense error matrix; above it, Lanczos.
DENSE_OPERATOR_MAX = 511


def operator_error(M, n: int | None = None) -> float:
    r"""Relative operator error :math:`\|M - A^{-1}\|_2 / \|A^{-1}\|_2` of a dense ``n x n`` matrix (array or tensor)
    or of an operator module (anything with ``apply_columns``, e.g. :class:`DDAttention`).

    :math:`\|A^{-1}\|_2 = 1/\lambda_1`; :math:`\|E\|_2 = \lambda_{\max}(E^TE)^{1/2}`, :math:`E = M - A^{-1}`. Up to
    :data:`DENSE_OPERATOR_MAX` by a dense symmetric eigensolver in torch; for a module at larger ``n`` by Lanczos
    (ARPACK ``eigsh``, relative tolerance ``1e-10`` on :math:`\lambda_{\max}`) on :math:`E^TE`, with :math:`A^{-1}x`
    by the banded solve and :math:`M^Tx` as a vector-Jacobian product of ``apply_columns``: :math:`O(n)` memory.
    """
    if hasattr(M, "apply_columns"):
        n = M.n
        if n > DENSE_OPERATOR_MAX:
            return _operator_error_lanczos(M)
        M = M.dense()
    M = torch.as_tensor(M.detach() if isinstance(M, torch.Tensor) else np.asarray(M, dtype=np.float64))
    M = M.to(device="cpu", dtype=torch.float64)
    n = M.shape[0] if n is None else n
    if M.ndim != 2 or tuple(M.shape) != (n, n):
        raise ValueError(f"M must be a square n x n matrix; got shape {tuple(M.shape)}")
    E = M - torch.from_numpy(inverse(n))
    top = torch.linalg.eigvalsh(E.T @ E)[-1].clamp_min(0.0)
    return float(torch.sqrt(top) * eigenvalues(n, [1])[0])


def _operator_error_lanczos(model) -> float:
    n = model.n
    kw = dict(dtype=model.dtype, device=model.device)

    def error_times(x):  # E x = M x - A^{-1} x
        with torch.no_grad():
            y = model.apply_columns(torch.as_tensor(x[:, None], **kw))[:, 0].double().cpu().numpy()
        return y - solve(x)

    def error_transpose_times(x):  # E^T x = M^T x - A^{-1} x, M^T x = d/dz <x, M z>
        z = torch.zeros(n, 1, requires_grad=True, **kw)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(model.apply_columns(z), z, grad_outputs=torch.as_tensor(x[:, None], **kw))
        return g[:, 0].double().cpu().numpy() - solve(x)

    op = LinearOperator((n, n), matvec=lambda v: error_transpose_times(error_times(np.ravel(v))), dtype=np.float64)
    top = eigsh(op, k=1, which="LA", tol=1e-10, return_eigenvectors=False, v0=np.ones(n))[0]
    return float(np.sqrt(max(top, 0.0)) * eigenvalues(n, [1])[0])


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(check_int("seed", seed, low=0))
    return g


class _WindowApply(torch.autograd.Function):
    r"""One pass of :meth:`DDAttention._window_apply` (native window layout) with a hand-written backward.

    Forward (see :meth:`DDAttention._window_forward`): :math:`T_i = \tilde K_i^T X_i`, the coarse step
    :math:`c = Q_0 K_0^T s` with :math:`s = \Phi^T F` (here :math:`s` is not the scale of
    :meth:`DDAttention._window_apply`, which is folded into :math:`Q_0` and :math:`\tilde Q`) read from the two hat
    rows of :math:`T`, which then hold
    :math:`c_i, c_{i+1}`; :math:`Z_i = \tilde Q_{i,core} T_i` plus the overlap rows
    :math:`Q_{tail,i} T_{i,1:r}` added into the neighbouring blocks. Backward, for the output gradient :math:`G`
    (blocks :math:`G_i`): :math:`d\tilde Q_{i,core} = G_i T_i^T`, :math:`dT_i = \tilde Q_{i,core}^T G_i` plus
    :math:`Q_{tail,i}^T\,dtail_i` (:math:`dtail_i` = the overlap rows of :math:`G` that window ``i`` wrote),
    :math:`dQ_{tail,i} = dtail_i T_{i,1:r}^T`; through the coarse step :math:`dc` (the sum of the two slots that
    received :math:`c_k`), :math:`dQ_0 = dc\,(K_0^Ts)^T`, :math:`dK_0 = s\,(Q_0^Tdc)^T`,
    :math:`ds = K_0Q_0^Tdc` into the hat rows; finally :math:`d\tilde K_i = X_i\,dT_i^T` and, if needed,
    :math:`dX_i = \tilde K_i\,dT_i` added back onto the nodes of window ``i``. The backward is not itself
    differentiable (``once_differentiable``: a second derivative raises an error), and the output, a view created
    inside the function, must not be modified in place while grad is on (PyTorch raises an error; modify a clone);
    :func:`reference_apply` has plain autograd throughout.
    """

    @staticmethod
    def forward(ctx, F, Kw, Qc, Qtail, Q0, K0, layer, local, coarse, coarse_scale=None):
        r = Kw.shape[-1] - (2 if coarse else 0)
        ops = {"r": r, "Kw": Kw, "Kt": Kw.transpose(1, 2), "Qc": Qc}
        if Qtail is not None:
            ops["Qtail"] = Qtail
        if coarse:
            ops["Q0K0"], ops["coarse_scale"] = (Q0, K0), coarse_scale
        U, T, s = layer._window_forward(F, ops, local, coarse)
        ctx.save_for_backward(F, Kw, Qc, Qtail, Q0, K0, T, s)
        ctx.layer, ctx.coarse, ctx.r, ctx.coarse_scale = layer, coarse, r, coarse_scale
        return U

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gU):
        F, Kw, Qc, Qtail, Q0, K0, T, s = ctx.saved_tensors
        need = ctx.needs_input_grad
        dec = ctx.layer.decomposition
        m, d, N, n = dec.m, dec.delta, dec.N, dec.n
        r, B = ctx.r, gU.shape[1]
        # the output gradient in blocks G_i = rows i m .. i m + m - 1: a view for i < N - 1, the last block padded
        Gm = gU[:(N - 1) * m].unflatten(0, (N - 1, m))
        Gl = torch.nn.functional.pad(gU[(N - 1) * m:], (0, 0, 0, N * m - n))[None]

        def blockwise(left, right, shape):  # left_i @ right_i over all blocks, one of the two being G
            out = gU.new_empty(shape)
            for a, b, o in zip(left, right, out.split([N - 1, 1])):
                torch.bmm(a, b, out=o)
            return out

        c = T.shape[1]
        dQc = blockwise((Gm, Gl), T.transpose(1, 2).split([N - 1, 1]), (N, m, c)) if need[2] else None
        dT = blockwise(Qc.transpose(1, 2).split([N - 1, 1]), (Gm, Gl), (N, c, B))
        dQtail = None
        if Qtail is not None:
            dtail = gU.new_zeros(N, 2 * d, B)      # the overlap rows window i wrote: block i - 1's last, i + 1's first
            dtail[1:, :d] = Gm[:, m - d:]
            dtail[:-2, d:] = Gm[1:, :d]
            dtail[-2, d:] = Gl[0, :d]
            if need[3]:
                dQtail = torch.bmm(dtail, T[:, :r].transpose(1, 2))
            dT[:, :r] += torch.bmm(Qtail.transpose(1, 2), dtail)
        dQ0 = dK0 = None
        if ctx.coarse:
            dc = dT[1:, r] + dT[:-1, r + 1]                                 # c_k sat in window k and window k - 1
            if Q0 is None:  # the closed-form Galerkin block is symmetric: ds = scale A_0^{-1} dc / h
                ds = ctx.layer.galerkin_solve(dc) * ctx.coarse_scale
            else:
                dy = Q0.T @ dc
                if need[4]:
                    dQ0 = dc @ (K0.T @ s).T
                if need[5]:
                    dK0 = s @ dy.T
                ds = K0 @ dy                                               # s_k = G_{k-1,b} + G_{k,a}
            dT[0, r] = 0
            dT[1:, r] = ds
            dT[:-1, r + 1] = ds
            dT[-1, r + 1] = 0
        dKw = None
        if need[1]:
            dKw = Kw.new_empty(Kw.shape)
            for X, t, o in zip(ctx.layer._window_pieces(F), dT.split([1, N - 2, 1]), dKw.split([1, N - 2, 1])):
                torch.bmm(X, t.transpose(1, 2), out=o)
        dF = None
        if need[0]:
            dX = torch.bmm(Kw, dT)                                         # (N, L, B): window i's share of dF
            core = torch.cat([dX[:1, :m], dX[1:, d:d + m]])                # (N, m, B), window 0 starts at node 0
            if d:
                core[1:, :d] += torch.cat([dX[:1, m:m + d], dX[1:, d + m:]])[:-1]   # right overlap -> block i + 1
                core[:-1, m - d:] += dX[1:, :d]                                      # left overlap -> block i - 1
            dF = core.view(N * m, B)[:n]
        return dF, dKw, dQc, dQtail, dQ0, dK0, None, None, None, None


class _Operator(torch.nn.Module):
    """Shared plumbing: dtype/device, batched input handling, dense matrix, parameter counting."""

    n: int
    h: float

    def _setup(self, n, device, dtype):
        self.n = n
        self.h, _ = grid(n)
        self.h = float(self.h)
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype must be torch.float64 or torch.float32; got {dtype!r}")
        self._dtype = dtype
        self._device = torch.device(device)

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def device(self) -> torch.device:
        return self._device

    def _prepare(self, f) -> tuple[torch.Tensor, bool]:
        f = torch.as_tensor(f, dtype=self._dtype, device=self._device)
        single = f.ndim == 1
        if single:
            f = f[None, :]
        if f.ndim != 2 or f.shape[1] != self.n:
            raise ValueError(f"f must have shape (batch, n) or (n,) with n = {self.n}; got shape {tuple(f.shape)}")
        if not bool(torch.isfinite(f).all()):
            raise ValueError("f must be finite; it holds NaN or infinite entries")
        return f, single

    def _check_columns(self, F) -> None:
        if not isinstance(F, torch.Tensor) or F.ndim != 2 or F.shape[0] != self.n:
            shape = tuple(F.shape) if hasattr(F, "shape") else type(F).__name__
            raise ValueError(f"F must be a tensor of shape (n, batch) with n = {self.n}; got {shape}")

    def forward(self, f) -> torch.Tensor:
        r"""Apply the operator to each row of ``f`` (shape ``(batch, n)`` or ``(n,)``; finite): ``apply_columns`` on
        the transposed view, returned transposed (the window layout of :class:`DDAttention` reads it without a copy)."""
        f, single = self._prepare(f)
        u = self.apply_columns(f.T).T
        return u[0] if single else u

    def dense(self) -> torch.Tensor:
        r"""The ``n x n`` matrix :math:`M_\theta^{-1}` (applies the operator to the identity; no gradient)."""
        with torch.no_grad():
            return self.apply_columns(torch.eye(self.n, dtype=self._dtype, device=self._device))

    def num_parameters(self) -> int:
        """Number of trainable scalars (padding slots of :class:`DDAttention` excluded)."""
        raise NotImplementedError  # pragma: no cover  (implemented by both subclasses)

    def parameter_formula(self) -> int:
        """The closed-form parameter count of this configuration."""
        raise NotImplementedError  # pragma: no cover


class GlobalAttention(_Operator):
    r"""Global softmax-free low-rank attention :math:`u = h\,QK^T f`, :math:`Q, K\in\mathbb{R}^{n\times r}`.

    Parameters
    ----------
    n : int
        Grid size (``n >= 1``).
    rank : int
        ``1 <= rank <= n``.
    symmetric : bool
        Tie the factors, :math:`Q = K`: :math:`u = h\,KK^Tf` is symmetric positive semi-definite, :math:`nr`
        parameters.
    init : {"random", "svd"}
        ``"random"``: entries :math:`\mathcal N(0, s^2)`; ``"svd"``: :math:`QK^T = [A^{-1}/h]_r` (the Eckart-Young
        optimum, error :math:`\lambda_1/\lambda_{r+1}`).
    init_scale : float
        ``s`` for ``init="random"``.
    seed : int
        Seed of the random initialisation.
    weight : float, optional
        The quadrature weight :math:`w` of :math:`u = w\,QK^Tf`; default :math:`h = 1/(n+1)`, the 1D grid's. On the
        2D ``m x m`` grid (``n = m^2``) the weight is :math:`h^2 = 1/(m+1)^2` (:class:`ddlib.models.GlobalSpec` passes
        it), so that :math:`QK^T` again approximates the Green's function. ``init="svd"`` (the 1D inverse) needs the
        default.
    device, dtype
        Where and in which precision the factors live (default CPU, float64).
    """

    def __init__(self, n: int, rank: int, *, symmetric: bool = False, init: str = "random", init_scale: float = 0.1,
                 seed: int = 0, weight: float | None = None, device="cpu", dtype=torch.float64):
        super().__init__()
        n = check_int("n", n, low=1)
        self.rank = check_int("rank", rank, low=1, high=n)
        self._setup(n, device, dtype)
        self.symmetric = bool(symmetric)
        self.init = check_choice("init", init, ("random", "svd"))
        self.init_scale = check_positive("init_scale", init_scale)
        if weight is not None and init == "svd":
            raise ValueError("weight must be None (the 1D weight h) with init='svd', which factors the 1D inverse")
        #: the quadrature weight w of u = w Q K^T f
        self.weight = self.h if weight is None else check_positive("weight", weight)
        if init == "random":
            g = _generator(seed)
            Q = torch.randn(n, self.rank, generator=g, dtype=torch.float64) * self.init_scale
            K = Q if self.symmetric else torch.randn(n, self.rank, generator=g, dtype=torch.float64) * self.init_scale
        else:
            Qn, Kn = truncated_factors(inverse(n) / self.h, self.rank)
            Q, K = torch.from_numpy(Qn), torch.from_numpy(Kn)
        self.K = torch.nn.Parameter(K.to(device=self._device, dtype=dtype))
        self.Q = None if self.symmetric else torch.nn.Parameter(Q.to(device=self._device, dtype=dtype))

    def extra_repr(self) -> str:
        return f"n={self.n}, rank={self.rank}, symmetric={self.symmetric}, parameters={self.num_parameters()}"

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Q, K)``; the same tensor twice when the factors are tied."""
        return (self.K if self.symmetric else self.Q), self.K

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`w\,QK^TF` (:math:`w` the quadrature weight, :math:`h` in 1D) for right-hand sides stored as the
        columns of ``F`` (shape ``(n, batch)``)."""
        self._check_columns(F)
        Q, K = self.factors()
        return Q @ (K.T @ F) * self.weight

    def num_parameters(self) -> int:
        return sum(int(p.numel()) for p in self.parameters())

    def parameter_formula(self) -> int:
        return global_parameter_count(self.n, self.rank, symmetric=self.symmetric)


class DDAttention(_Operator):
    r"""Two-level domain-decomposition attention (see the module docstring for the formula).

    Parameters
    ----------
    decomposition : Decomposition
        Subdomains, partition of unity and coarse space (:class:`ddlib.decomposition.Decomposition`).
    local_rank : int
        Rank ``r`` of every local block, ``1 <= r <= max_i n_i`` (ignored with ``use_local=False``); a block with
        :math:`n_i < r` has :math:`n_i \times r` factors all the same (full rank is then reached with ``r = max_i n_i``).
    coarse_rank : int, optional
        Rank ``r_0`` of the coarse block, ``1 <= r_0 <= N_0``; default ``N_0`` (full).
    partition : {"multiplicity", "ramp", "boolean"}
        The partition of unity :math:`D_i`.
    coarse : {"hat", "nicolaides", "none"}
        The coarse space :math:`\Phi` (``"none"`` or ``use_coarse=False``: one-level operator).
    weighting : {"sqrt", "left", "none"}
        :data:`ddlib.decomposition.WEIGHTINGS`: :math:`D_i^{1/2}(\cdot)D_i^{1/2}` (the paper), :math:`D_i(\cdot)`,
        or no weights; the same names as in :func:`ddlib.schwarz.schwarz_preconditioner`.
    use_coarse, use_local : bool
        Switch the coarse and the local level on or off (ablations); at least one must be on.
    symmetric : bool
        Tie the factors, :math:`Q_i = K_i` and :math:`Q_0 = K_0`: every block is a Gram matrix, so the operator is
        symmetric positive semi-definite for every parameter value (needs ``weighting`` ``"sqrt"`` or ``"none"``).
    shared : bool
        Translation-invariant local factors: one :math:`Q, K` for every interior subdomain, and one each for the first
        and the last subdomain (``N >= 3``). The number of local parameters no longer grows with ``n`` at fixed
        :math:`H/h`, so a model trained at one ``n`` applies at any other (:meth:`transfer_to`).
    coarse_inverse : {"learned", "galerkin"}
        ``"learned"``: :math:`Q_0, K_0` are parameters; ``"galerkin"``: they are fixed to the truncated
        eigendecomposition of :math:`A_0^{-1}/h`, :math:`A_0 = \Phi^TA\Phi` (not trained). With the hat space and
        full coarse rank the Galerkin block is applied in closed form in :math:`O(N)` operations and memory
        (:meth:`galerkin_solve`), never as a dense :math:`N_0\times N_0` matrix.
    diagonal : {"none", "jacobi", "learned"}
        Add a damped Jacobi term, :math:`M_\theta^{-1} + \omega\,\mathrm{diag}(A)^{-1} =
        M_\theta^{-1} + \omega\,\tfrac{h^2}{2}\,I` (:data:`DIAGONALS`): ``"jacobi"`` with the fixed ``omega``,
        ``"learned"`` with :math:`\omega = e^\theta`, one trainable scalar initialised at ``log(omega)`` (positive for
        every parameter value, and independent of ``n``). With ``symmetric=True`` the operator is then symmetric
        positive *definite* for every parameter value. Default ``"none"``: the paper's operator.
    omega : float
        The fixed weight of ``"jacobi"``, the initial weight of ``"learned"``; ``omega > 0``.
    init : {"random", "schwarz"}
        Random factors, or truncated factorizations of the classical inverses (see ``local_inverse``).
    local_inverse : {"element", "subdomain"}
        For ``init="schwarz"``: the exact-decomposition blocks :math:`A_E^{-1}` or the subdomain inverses
        :math:`A_i^{-1}` (classical two-level Schwarz).
    init_scale : float
        Standard deviation of the random initialisation.
    seed : int
        Seed of the random initialisation.
    device, dtype
        Where and in which precision the factors live (default CPU, float64).
    """

    def __init__(self, decomposition: Decomposition, local_rank: int, coarse_rank: int | None = None, *,
                 partition: str = "multiplicity", coarse: str = "hat", weighting: str = "sqrt",
                 use_coarse: bool = True, use_local: bool = True, symmetric: bool = False, shared: bool = False,
                 coarse_inverse: str = "learned", init: str = "random", local_inverse: str = "element",
                 init_scale: float = 0.1, seed: int = 0, device="cpu", dtype=torch.float64, diagonal: str = "none",
                 omega: float = 0.5):
        super().__init__()
        if not isinstance(decomposition, Decomposition):
            raise ValueError(f"decomposition must be a ddlib.decomposition.Decomposition; got {type(decomposition)}")
        dec = self.decomposition = decomposition
        self._setup(dec.n, device, dtype)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        self.coarse = check_choice("coarse", coarse, COARSE_SPACES)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.symmetric, self.shared = bool(symmetric), bool(shared)
        if self.symmetric and self.weighting == "left":
            raise ValueError("weighting must be 'sqrt' or 'none' when symmetric=True (equal weights on both sides); "
                             "got 'left'")
        if self.shared and dec.N < 3:
            raise ValueError(f"shared=True needs N >= 3 (an interior subdomain); got N = {dec.N}")
        if self.shared and not _interior_weights_equal(dec, self.partition, self.weighting):
            raise ValueError(f"shared=True needs the same weights on every interior subdomain; with delta = "
                             f"{dec.delta} and m = {dec.m} nodes near the ends of the grid belong to three "
                             f"subdomains: use delta < m / 2 = {dec.m / 2:g}")
        self.coarse_inverse = check_choice("coarse_inverse", coarse_inverse, COARSE_INVERSES)
        self.diagonal = check_choice("diagonal", diagonal, DIAGONALS)
        self.omega = check_positive("omega", omega)
        self.init = check_choice("init", init, ("random", "schwarz"))
        self.local_inverse = check_choice("local_inverse", local_inverse, LOCAL_INVERSES)
        self.init_scale = check_positive("init_scale", init_scale)
        self.use_local = bool(use_local)
        self.use_coarse = bool(use_coarse) and coarse != "none" and dec.N > (1 if coarse == "hat" else 0)
        if not (self.use_local or self.use_coarse):
            raise ValueError("use_local and use_coarse must not both be off (and the coarse space must not be empty "
                             "when the local level is off)")
        self.local_rank = check_int("local_rank", local_rank, low=1, high=dec.n_max) if self.use_local else 0
        Phi = dec.coarse_space(self.coarse) if self.use_coarse else sp.csr_matrix((dec.n, 0))
        self.N0 = Phi.shape[1]
        self.coarse_rank, self._coarse_rank_arg = 0, coarse_rank
        if self.use_coarse:
            self.coarse_rank = self.N0 if coarse_rank is None else check_int("coarse_rank", coarse_rank, low=1,
                                                                            high=self.N0)
        self._hat_coarse = self.use_coarse and self.coarse == "hat"
        #: the Galerkin block in closed form (hat space, full rank): :meth:`galerkin_solve`, no dense factors
        self._closed_coarse = (self._hat_coarse and self.coarse_inverse == "galerkin"
                               and self.coarse_rank == self.N0)
        self._dense_closed: tuple | None = None
        #: extra factor of the local level: :math:`H/h \cdot h = H` for shared factors (see the module docstring)
        self.local_scale = float(dec.m * self.h) if self.shared else 1.0
        kw = dict(dtype=dtype, device=self._device)
        wl, wr = dec.padded_weights(self.partition, self.weighting)
        self.register_buffer("idx", torch.as_tensor(dec.padded_indices, device=self._device), persistent=False)
        self.register_buffer("wl", torch.as_tensor(wl, **kw), persistent=False)
        self.register_buffer("wr", torch.as_tensor(wr, **kw), persistent=False)
        # the coarse basis as padded supports: Phi[:, j] = sum_s cval[j, s] e_{cidx[j, s]} (non-hat spaces)
        cidx, cval = padded_support(Phi)
        self.register_buffer("cidx", torch.as_tensor(cidx, device=self._device), persistent=False)
        self.register_buffer("cval", torch.as_tensor(cval, **kw), persistent=False)
        self._setup_windows(wl, wr, kw)
        self._init_factors(seed, wl, wr, kw)

    def extra_repr(self) -> str:
        d = self.decomposition
        return (f"n={d.n}, N={d.N}, delta={d.delta}, local_rank={self.local_rank}, coarse_rank={self.coarse_rank}, "
                f"partition={self.partition!r}, coarse={self.coarse!r}, weighting={self.weighting!r}, "
                f"symmetric={self.symmetric}, shared={self.shared}, coarse_inverse={self.coarse_inverse!r}, "
                f"diagonal={self.diagonal!r}, "
                f"parameters={self.num_parameters()}")

    # ------------------------------------------------------------------------------------------------- init
    def _init_factors(self, seed: int, wl, wr, kw) -> None:
        """Create the factors: parameters ``K`` (and ``Q`` unless tied), ``K0``/``Q0`` or fixed coarse buffers."""
        dec = self.decomposition
        if self.init == "random":
            g = _generator(seed)
            s, mask = self.init_scale, torch.as_tensor(dec.mask, dtype=torch.float64)[:, :, None]
            shape = (dec.N, dec.n_max, self.local_rank)
            Q = torch.randn(shape, generator=g, dtype=torch.float64) * s * mask
            K = Q if self.symmetric else torch.randn(shape, generator=g, dtype=torch.float64) * s * mask
            Q0 = torch.randn(self.N0, self.coarse_rank, generator=g, dtype=torch.float64) * s
            K0 = Q0 if self.symmetric else torch.randn(self.N0, self.coarse_rank, generator=g, dtype=torch.float64) * s
        else:
            Q, K = (torch.from_numpy(a) for a in self._schwarz_local(wl, wr))
        galerkin = self.coarse_inverse == "galerkin"
        if (self.init == "schwarz" and not galerkin) or (galerkin and not self._closed_coarse):
            Q0, K0 = (torch.from_numpy(a) for a in self._galerkin_coarse())
        params = {}
        if self.use_local:
            for name, t in (("K", K),) if self.symmetric else (("Q", Q), ("K", K)):
                if self.shared:  # boundary subdomains 0 and N - 1, and interior subdomain 1 for all interior ones
                    params[f"{name}_edge"], params[name] = t[[0, -1]].contiguous(), t[1].clone()
                else:
                    params[name] = t
        if self.use_coarse and self.coarse_inverse == "learned":
            params.update({"K0": K0} if self.symmetric else {"Q0": Q0, "K0": K0})
        for name in ("Q", "K", "Q_edge", "K_edge", "Q0", "K0"):
            setattr(self, name, torch.nn.Parameter(params[name].to(**kw)) if name in params else None)
        if self.use_coarse and galerkin and not self._closed_coarse:
            self.register_buffer("Q0_fixed", Q0.to(**kw), persistent=False)
            self.register_buffer("K0_fixed", K0.to(**kw), persistent=False)
        learned = self.diagonal == "learned"
        self.log_omega = torch.nn.Parameter(torch.tensor(math.log(self.omega), **kw)) if learned else None

    def _schwarz_local(self, wl, wr) -> tuple[np.ndarray, np.ndarray]:
        """Padded local factors ``(N, n_max, r)`` of the truncated classical blocks (``init="schwarz"``)."""
        dec, r, h = self.decomposition, max(self.local_rank, 1), self.h
        A = laplacian_1d(dec.n)
        Q = np.zeros((dec.N, dec.n_max, r))
        K = np.zeros_like(Q)
        if not self.use_local:
            return Q, K
        blocks = element_decomposition(dec.n, dec.N) if self.local_inverse == "element" else dec.indices
        start = dec.bounds[:, 0]
        for i, nodes in enumerate(blocks):  # initialisation only: a loop over subdomains is fine here
            if nodes.size == 0:
                continue
            Qe, Ke = truncated_factors(np.linalg.inv(A[nodes][:, nodes].toarray()) / (h * self.local_scale), r)
            loc = nodes - start[i]
            if self.local_inverse == "element":  # every partition is positive inside the element
                Qe, Ke = Qe / wl[i, loc, None], Ke / wr[i, loc, None]
            Q[i, loc, : Qe.shape[1]] = Qe
            K[i, loc, : Ke.shape[1]] = Ke
        return Q, K

    def _galerkin_coarse(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Factors of the truncated :math:`A_0^{-1}/h`, :math:`A_0 = \Phi^TA\Phi` (:meth:`Decomposition.coarse_matrix`)."""
        if not self.use_coarse:
            return np.zeros((0, 0)), np.zeros((0, 0))
        A0 = self.decomposition.coarse_matrix(self.coarse)
        return truncated_factors(np.linalg.inv(A0) / self.h, self.coarse_rank)

    # ------------------------------------------------------------------------------------------------ factors
    def local_factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The local factors :math:`(Q_i)_i, (K_i)_i` as padded ``(N, n_max, r)`` tensors (differentiable).

        Tied factors return the same tensor twice; shared factors repeat the interior block (a broadcast view)."""
        def full(inner, edge):
            if not self.shared:
                return inner
            N = self.decomposition.N
            return torch.cat([edge[:1], inner[None].expand(N - 2, -1, -1), edge[1:]])

        K = full(self.K, self.K_edge)
        return (K if self.symmetric else full(self.Q, self.Q_edge)), K

    def coarse_factors(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        r"""The coarse factors :math:`Q_0, K_0` (``N_0 x r_0``; learned, or the fixed Galerkin ones)."""
        if not self.use_coarse:
            return None, None
        if self._closed_coarse:
            if self._dense_closed is None:  # analysis and reference paths only: O(N_0^2), built on first use
                kw = dict(dtype=self._dtype, device=self._device)
                self._dense_closed = tuple(torch.as_tensor(a, **kw) for a in self._galerkin_coarse())
            return self._dense_closed
        if self.coarse_inverse == "galerkin":
            return self.Q0_fixed, self.K0_fixed
        return (self.K0 if self.symmetric else self.Q0), self.K0

    def transfer_to(self, decomposition: Decomposition) -> "DDAttention":
        r"""The same trained operator on another grid with the same :math:`H/h` and overlap (``shared=True`` only).

        The shared local factors are copied unchanged; a Galerkin coarse level is rebuilt for the new grid. A learned
        coarse block depends on ``N`` and cannot be transferred (ValueError)."""
        d = self.decomposition
        if not self.shared or self.coarse_inverse != "galerkin" and self.use_coarse:
            raise ValueError("transfer_to needs shared=True and coarse_inverse='galerkin' (or no coarse level)")
        if not isinstance(decomposition, Decomposition) or (decomposition.m, decomposition.delta) != (d.m, d.delta):
            raise ValueError(f"decomposition must have m = {d.m} and delta = {d.delta} like this model's")
        other = DDAttention(decomposition, self.local_rank or 1, self._coarse_rank_arg, partition=self.partition,
                            coarse=self.coarse, weighting=self.weighting, use_coarse=self.use_coarse,
                            use_local=self.use_local, symmetric=self.symmetric, shared=True,
                            coarse_inverse=self.coarse_inverse, diagonal=self.diagonal, omega=self.omega,
                            device=self._device, dtype=self._dtype)
        other.load_state_dict(self.state_dict())
        return other

    # ------------------------------------------------------------------------------------------- window layout
    def _setup_windows(self, wl, wr, kw) -> None:
        """Buffers of the strided window layout (see :meth:`_window_apply`).

        Window ``i`` is the ``m + 2 delta`` nodes from ``s_i`` on, with ``s_i = i m - delta`` except ``s_0 = 0``
        when ``N >= 3`` (then every window is exactly the model's padded subdomain, no re-layout of the factors);
        for ``N <= 2`` all windows start at ``i m - delta`` and the factors are re-laid by an index map. The core of
        window ``i`` (nodes ``i m .. i m + m - 1``) starts at slot ``o_i = i m - s_i``.
        """
        dec = self.decomposition
        m, d, N = dec.m, dec.delta, dec.N
        L = m + 2 * d
        self._window_cache: dict = {}
        self._native = N >= 3  # then n_max = m + 2 delta (delta <= m - 1, Decomposition)
        starts = np.arange(N) * m - d
        if self._native:
            starts[0] = 0
        self._core = np.arange(N) * m - starts                # o_i: delta, except o_0 = 0 in the native layout
        rows = np.arange(N)[:, None]
        if not self._native:  # window slot t of subdomain i is the model's padded slot t - (bounds[i, 0] - s_i)
            src = np.arange(L)[None, :] - (dec.bounds[:, :1] - starts[:, None])
            valid = (src >= 0) & (src < dec.sizes[:, None])
            safe = np.clip(src, 0, dec.n_max - 1)
            flat = np.where(valid, rows * dec.n_max + safe, N * dec.n_max)  # the last row is a zero row
            self.register_buffer("_window_src", torch.as_tensor(flat.reshape(-1), device=self._device),
                                 persistent=False)
            wl, wr = np.where(valid, wl[rows, safe], 0.0), np.where(valid, wr[rows, safe], 0.0)
        self.register_buffer("_wl_win", torch.as_tensor(wl, **kw), persistent=False)
        self.register_buffer("_wr_win", torch.as_tensor(wr, **kw), persistent=False)
        # the two hat pieces on the core of a window (nodes i m + j, j = 0..m-1): 1 - (j+1)/m and (j+1)/m
        b = np.arange(1, m + 1) / m
        hat = np.zeros((N, L, 2))
        slots = self._core[:, None] + np.arange(m)[None, :]
        hat[rows, slots, 0], hat[rows, slots, 1] = 1.0 - b, b
        self.register_buffer("_hat_win", torch.as_tensor(hat, **kw), persistent=False)
        self.register_buffer("_hat_core", torch.as_tensor(hat[rows, slots], **kw), persistent=False)

    def _window_factors(self, t: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """A padded ``(N, n_max, r)`` factor in the window layout ``(N, m + 2 delta, r)``, scaled by ``weight``."""
        if self._native:
            return t * weight[:, :, None]
        flat = torch.cat([t.reshape(-1, t.shape[-1]), t.new_zeros(1, t.shape[-1])])
        return flat.index_select(0, self._window_src).view(self.decomposition.N, -1, t.shape[-1]) * weight[:, :, None]

    def _window_operands(self, local: bool, coarse: bool, scale: float) -> dict:
        r"""The factors of the window formulation, weights and ``scale`` folded in (cached while grad is off).

        ``Kt``: :math:`[W^R_iK_i \mid \phi^a \mid \phi^b]^T` per window, shape ``(N, c, m + 2\delta)``; ``Qc``: the
        core rows of :math:`[s\,W^L_iQ_i \mid \phi^a \mid \phi^b]`, ``(N, m, c)``; ``Qtail``: the ``delta`` rows
        before and the ``delta`` rows after the core of :math:`s\,W^L_iQ_i` (zero outside the window),
        ``(N, 2\delta, r)``; ``Q0K0``: :math:`(s\,Q_0, K_0)`. Here ``c = r + 2`` with the hat values
        :math:`\phi^a_j = 1 - (j+1)/m`, :math:`\phi^b_j = (j+1)/m` on the core slots. Without grad the result is
        cached under the parameter objects, their storage and version counters (an in-place update or a replaced
        parameter invalidates it).
        """
        params = tuple(self.parameters())
        key = None
        if not torch.is_grad_enabled():
            try:
                key = (local, coarse, scale) + tuple((p.data_ptr(), p._version, p.dtype) for p in params)
            except RuntimeError:  # pragma: no cover  (inference tensors have no version counter)
                key = None
            hit = self._window_cache.get(key) if key is not None else None
            # the entry holds the parameter objects themselves, so a replaced parameter cannot reuse their storage
            if hit is not None and len(hit[0]) == len(params) and all(a is b for a, b in zip(hit[0], params)):
                return hit[1]
        d, m = self.decomposition.delta, self.decomposition.m
        ops = {"r": 0}
        Kparts, Qparts = [], []
        if local:
            Q, K = self.local_factors()
            Kw = self._window_factors(K, self._wr_win)
            Qw = self._window_factors(Q, self._wl_win * (scale * self.local_scale))
            Kparts.append(Kw)
            # split, not slices: its backward is one concatenation instead of a zero-filled copy per slice
            if self._native:  # window 0: core at slot 0, right overlap at slots m .. m + d - 1
                Qw0, Qwi = Qw.split([1, Qw.shape[0] - 1])
                core0, right0, _ = Qw0.split([m, d, Qw.shape[1] - m - d], 1)
                lefti, corei, righti = Qwi.split([d, m, d], 1)
                Qparts.append(torch.cat([core0, corei]))
                if d:
                    left = torch.cat([Qw.new_zeros(1, d, Qw.shape[-1]), lefti])
                    ops["Qtail"] = torch.cat([left, torch.cat([right0, righti])], 1)
            else:
                left, core, right = Qw.split([d, m, d], 1)
                Qparts.append(core)
                if d:
                    ops["Qtail"] = torch.cat([left, right], 1)
            ops["r"] = Kw.shape[-1]
        if coarse:
            Kparts.append(self._hat_win)
            Qparts.append(self._hat_core)
            if self._closed_coarse:  # c = scale * A_0^{-1} s / h by galerkin_solve
                ops["Q0K0"], ops["coarse_scale"] = (None, None), scale
            else:
                Q0, K0 = self.coarse_factors()
                ops["Q0K0"] = (Q0 * scale, K0)
        ops["Kw"] = torch.cat(Kparts, 2) if len(Kparts) > 1 else Kparts[0]
        ops["Kt"] = ops["Kw"].transpose(1, 2)
        ops["Qc"] = torch.cat(Qparts, 2) if len(Qparts) > 1 else Qparts[0]
        if key is not None:
            ops["Kt"] = ops["Kt"].contiguous()
            self._window_cache.clear()
            self._window_cache[key] = (params, ops)
        return ops

    def _window_apply(self, F: torch.Tensor, local: bool, coarse: bool, scale: float) -> torch.Tensor:
        r"""Local and/or hat coarse level on the columns of ``F`` ``(n, B)`` in the window layout (no gathers).

        :meth:`_window_restrict` gives, in one batched product over the windows :math:`X_i` (strided views of
        ``F``), :math:`T_i = \tilde K_i^T X_i`: the local coefficients and, from the two hat columns, the sums
        :math:`G_{i,a}, G_{i,b}` with :math:`(\Phi^TF)_k = G_{k-1,b} + G_{k,a}` (coarse node ``k`` is node
        ``k m - 1``). After :math:`c = sQ_0K_0^T\Phi^TF` (zero at ``k = 0, N``) replaces them, a second product
        writes the core block of every window, :math:`Z_i = \tilde Q_{i,\mathrm{core}}[T_i; c_i; c_{i+1}]`, straight
        into the output (nodes ``i m .. i m + m - 1``, :math:`(\Phi c)_{im+j} = \phi^a_j c_i + \phi^b_j c_{i+1}`),
        and the ``2 delta`` overlap rows are added as two slice additions from one small product. Every step reads
        or writes :math:`O(Bn)` numbers once.

        With grad enabled (training) and ``N >= 3`` the pass runs as one :class:`torch.autograd.Function` with a
        hand-written backward (:class:`_WindowApply`: the same batched products, transposed), so autograd stores no
        full-size temporaries of the slicing and in-place steps.
        """
        ops = self._window_operands(local, coarse, scale)
        if torch.is_grad_enabled() and self._native:
            Q0, K0 = ops.get("Q0K0", (None, None))
            return _WindowApply.apply(F, ops["Kw"], ops["Qc"], ops.get("Qtail"), Q0, K0, self, local, coarse,
                                      ops.get("coarse_scale"))
        return self._window_forward(F, ops, local, coarse)[0]

    def _window_forward(self, F: torch.Tensor, ops: dict, local: bool, coarse: bool):
        r"""The steps of :meth:`_window_apply` on the operands ``ops``; returns the output ``U`` ``(n, B)``, the
        coefficients ``T`` ``(N, c, B)`` after the coarse step and the hat sums ``s`` (:math:`\Phi^TF`) or None."""
        dec = self.decomposition
        m, d, N, n = dec.m, dec.delta, dec.N, dec.n
        B = F.shape[1]
        r = ops["r"]
        T = self._window_restrict(F, ops)                                  # (N, c, B)
        s = None
        if coarse:
            Q0, K0 = ops["Q0K0"]
            Ga, Gb = T[:, r], T[:, r + 1]
            s = Gb[:-1] + Ga[1:]                                           # Phi^T F, (N - 1, B)
            c = Q0 @ (K0.T @ s) if Q0 is not None else self.galerkin_solve(s) * ops["coarse_scale"]  # (N-1, B)
            if torch.is_grad_enabled():
                z = c.new_zeros(1, B)
                T = torch.cat([T[:, :r], torch.cat([z, c])[:, None], torch.cat([c, z])[:, None]], 1)
            else:  # overwrite the two hat sums in place: window i needs c_i (slot r) and c_{i+1} (slot r + 1)
                T[0, r].zero_()
                T[1:, r] = c
                T[:-1, r + 1] = c
                T[-1, r + 1].zero_()
        Z = torch.bmm(ops["Qc"], T)                                        # (N, m, B): node i m + j in Z[i, j]
        if local and d:
            tails = torch.bmm(ops["Qtail"], T.split([r, T.shape[1] - r], 1)[0])   # (N, 2 delta, B)
            if torch.is_grad_enabled():  # in place on Z itself: no full-size copies in the backward pass
                Z.index_put_(self._tail_slots(), torch.cat([tails[1:, :d], tails[:-1, d:]]), accumulate=True)
            else:
                Z[:-1, m - d:] += tails[1:, :d]                            # left overlap of window i + 1
                Z[1:, :d] += tails[:-1, d:]                                # right overlap of window i - 1
        return Z.view(N * m, B).split([n, N * m - n])[0], T, s

    def _tail_slots(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices ``(window, slot)`` of the overlap rows of :meth:`_window_apply`, shaped like its two tails."""
        dec = self.decomposition
        m, d, N = dec.m, dec.delta, dec.N
        i = torch.cat([torch.arange(N - 1), torch.arange(1, N)])[:, None].expand(-1, d)
        j = torch.cat([torch.arange(m - d, m)[None].expand(N - 1, -1), torch.arange(d)[None].expand(N - 1, -1)])
        return i.to(self._device), j.to(self._device)

    def _window_restrict(self, F: torch.Tensor, ops: dict) -> torch.Tensor:
        r""":math:`T_i = \tilde K_i^T X_i` for all windows ``i``, ``X_i`` the ``m + 2 delta`` rows of ``F`` (zero
        beyond the boundary) from node ``s_i`` on; ``F`` is ``(n, B)`` with any strides. Returns ``(N, c, B)``.

        Windows ``0 .. N - 2`` lie inside ``F`` and are read as strided views (``unfold``, no copy); only the last
        window is zero-padded (and for ``N <= 2`` the whole padded copy is made). When ``F`` is the transpose of
        row-major right-hand sides ``f`` (``forward``), the products run in that layout,
        :math:`T_i^T = X_i^T\tilde K_i` with ``X_i^T`` the contiguous window rows of ``f``, and ``T`` is returned as
        a transposed view. Without grad the three pieces are written into one buffer (no concatenation).
        """
        dec = self.decomposition
        m, d, N = dec.m, dec.delta, dec.N
        L = m + 2 * d
        Kw = ops["Kw"]                                                     # (N, L, c)
        if not self._native:
            P = torch.nn.functional.pad(F, (0, 0, d, d + 1))               # (N m + 2 delta, B): row k + d = node k
            return torch.bmm(ops["Kt"], P.unfold(0, L, m).transpose(1, 2))
        pad = torch.nn.functional.pad
        rows = F.stride(0) == 1 and F.shape[1] > 1
        if rows:   # f = F.T is (B, n) row-major: T^T = X^T K, windows are contiguous row pieces of f
            f = F.T
            pieces = (f[None, :, :L], f[:, m - d:].unfold(1, L, m)[:, :N - 2].transpose(0, 1),
                      pad(f[:, (N - 1) * m - d:], (0, d + 1))[None])
            factors = Kw.split([1, N - 2, 1])
            shape = (N, F.shape[1], Kw.shape[-1])
        else:
            pieces = self._window_pieces(F)
            factors = ops["Kt"].split([1, N - 2, 1])
            shape = (N, Kw.shape[-1], F.shape[1])
        if torch.is_grad_enabled():
            T = torch.cat([torch.bmm(*ab) if rows else torch.bmm(*ab[::-1]) for ab in zip(pieces, factors)])
        else:
            T = F.new_empty(shape)
            for (X, K), out in zip(zip(pieces, factors), T.split([1, N - 2, 1])):
                torch.bmm(X, K, out=out) if rows else torch.bmm(K, X, out=out)
        return T.transpose(1, 2) if rows else T

    def _window_pieces(self, F: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The windows of ``F`` ``(n, B)`` in the native layout as ``(1, L, B)``, ``(N - 2, L, B)`` (strided views)
        and ``(1, L, B)`` (the last window, zero-padded beyond node ``n - 1``)."""
        dec = self.decomposition
        m, d, N = dec.m, dec.delta, dec.N
        L = m + 2 * d
        return (F[None, :L], F[m - d:].unfold(0, L, m)[:N - 2].transpose(1, 2),
                torch.nn.functional.pad(F[(N - 1) * m - d:], (0, 0, 0, d + 1))[None])

    # ----------------------------------------------------------------------------------------------- apply
    def local_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_i R_i^T W^L_i Q_iK_i^T W^R_i R_i F` for a block of columns ``F`` (shape ``(n, batch)``, no ``h``),
        in the window layout (:meth:`_window_apply`)."""
        if not self.use_local:
            return torch.zeros_like(F)
        return self._window_apply(F, True, False, 1.0)

    def coarse_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi Q_0 K_0^T \Phi^T F` for a block of columns ``F`` (shape ``(n, batch)``, no ``h``): the hat space
        in the window layout, other spaces by :meth:`_coarse_on_supports`."""
        if not self.use_coarse:
            return torch.zeros_like(F)
        if self._hat_coarse:
            return self._window_apply(F, False, True, 1.0)
        return self._coarse_on_supports(F)

    def _coarse_on_supports(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi Q_0K_0^T\Phi^TF` for any coarse space: gather on the padded supports of the basis functions,
        two small products, scatter-add back (memory :math:`O(n)`; no ``h``)."""
        Q0, K0 = self.coarse_factors()
        C = (F[self.cidx] * self.cval[:, :, None]).sum(1)           # Phi^T F, (N0, batch)
        C = Q0 @ (K0.T @ C)
        Y = (self.cval[:, :, None] * C[:, None, :]).reshape(-1, F.shape[1])
        return F.new_zeros(F.shape).index_add(0, self.cidx.reshape(-1), Y)

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`M_\theta^{-1}F` for right-hand sides stored as the columns of ``F`` (shape ``(n, batch)``).

        The path used by :mod:`ddlib.training`: the local level and the hat coarse space in one pass of the window
        layout (:meth:`_window_apply`, ``h`` folded into the factors); another coarse space is added by
        :meth:`_coarse_on_supports`. :func:`reference_apply` computes the same by plain gathers (tests, benchmarks).
        """
        self._check_columns(F)
        U = None
        if self.use_local or self._hat_coarse:
            U = self._window_apply(F, self.use_local, self._hat_coarse, self.h)
        if self.use_coarse and not self._hat_coarse:
            C = self._coarse_on_supports(F) * self.h
            U = C if U is None else U + C
        return self._add_diagonal(U, F)

    def diagonal_weight(self) -> torch.Tensor | float:
        r"""The weight :math:`\omega` of the diagonal term (a tensor, differentiable, for ``diagonal="learned"``; 0.0
        for ``"none"``)."""
        if self.diagonal == "none":
            return 0.0
        return torch.exp(self.log_omega) if self.diagonal == "learned" else self.omega

    def omega_value(self) -> float:
        r"""The current :math:`\omega` as a float (no gradient; 0.0 without a diagonal term)."""
        w = self.diagonal_weight()
        return float(w.detach()) if isinstance(w, torch.Tensor) else float(w)

    def _add_diagonal(self, U: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
        r""":math:`U + \omega\,h^2/2\,F` (out of place: ``U`` may be a view made inside an autograd function)."""
        if self.diagonal == "none":
            return U
        return U + (self.diagonal_weight() * (0.5 * self.h**2)) * F

    def galerkin_solve(self, S: torch.Tensor) -> torch.Tensor:
        r""":math:`A_0^{-1}S/h` for the hat coarse space, in closed form: :math:`O(N)` operations, no matrix.

        For hat functions on the uniform grid :math:`A_0 = \Phi^TA\Phi = \frac{1}{Hh}\,T`,
        :math:`T = \mathrm{tridiag}(-1, 2, -1)` of order :math:`N - 1`, whose inverse is the discrete Green's function
        :math:`(T^{-1})_{ij} = \min(i,j)\,(N - \max(i,j))/N`. So

        .. math::  (A_0^{-1}S/h)_i = \frac{H}{N}\Big((N - i)\sum_{j\le i} j\,S_j + i\sum_{j>i}(N-j)\,S_j\Big),
                   \qquad i = 1..N-1,

        two cumulative sums over the columns of ``S`` (shape ``(N - 1, batch)``). Differentiable; symmetric, so it is
        also its own adjoint.
        """
        N = self.decomposition.N
        j = torch.arange(1, N, dtype=S.dtype, device=S.device)[:, None]
        left = torch.cumsum(j * S, 0)                                             # sum_{j <= i} j S_j
        w = torch.flip((N - j) * S, [0])
        right = torch.flip(torch.cumsum(w, 0), [0])                               # sum_{j >= i} (N - j) S_j
        right = torch.cat([right[1:], right.new_zeros(1, S.shape[1])])           # sum_{j > i}
        return ((N - j) * left + j * right) * (self.decomposition.H / N)

    # -------------------------------------------------------------------------------------------- analysis
    def local_blocks(self) -> list[np.ndarray]:
        r"""The learned local matrices :math:`W^L_i Q_iK_i^T W^R_i` (``n_i x n_i`` each, times ``h``: in units of :math:`A^{-1}`)."""
        if not self.use_local:
            return []
        with torch.no_grad():
            Q, K = self.local_factors()
            Q = (Q * self.wl[:, :, None]).cpu().numpy()
            K = (K * self.wr[:, :, None]).cpu().numpy()
        s = self.decomposition.sizes
        c = self.h * self.local_scale
        return [c * Q[i, : s[i]] @ K[i, : s[i]].T for i in range(self.decomposition.N)]

    def coarse_block(self) -> np.ndarray:
        r"""The coarse matrix :math:`h\,Q_0K_0^T` (``N_0 x N_0``; compare with :math:`A_0^{-1}`)."""
        if not self.use_coarse:
            return np.zeros((0, 0))
        with torch.no_grad():
            Q0, K0 = self.coarse_factors()
            return self.h * (Q0 @ K0.T).cpu().numpy()

    def num_parameters(self) -> int:
        """Trainable scalars: local factor rows inside the subdomains (padding excluded) and the learned coarse block."""
        sizes = self.decomposition.sizes
        rows = int(sizes[0] + sizes[-1] + self.decomposition.n_max) if self.shared else int(sizes.sum())
        factors = 1 if self.symmetric else 2
        local = factors * self.local_rank * rows if self.use_local else 0
        learned = self.use_coarse and self.coarse_inverse == "learned"
        return local + (factors * self.N0 * self.coarse_rank if learned else 0) + int(self.diagonal == "learned")

    def parameter_formula(self) -> int:
        d = self.decomposition
        return dd_parameter_count(d.n, d.N, d.delta, self.local_rank, self.coarse_rank, self.N0,
                                  symmetric=self.symmetric, shared=self.shared,
                                  learned_coarse=self.coarse_inverse == "learned",
                                  learned_diagonal=self.diagonal == "learned")


def banded_lowrank_parameter_count(n: int, bandwidth: int, rank: int) -> int:
    r"""Parameters of :class:`BandedLowRank`: :math:`n(2b+1) - b(b+1) + 2nr`."""
    n = check_int("n", n, low=1)
    b = check_int("bandwidth", bandwidth, low=0, high=n - 1)
    r = check_int("rank", rank, low=0, high=n)
    return n * (2 * b + 1) - b * (b + 1) + 2 * n * r


class BandedLowRank(_Operator):
    r"""Banded-plus-low-rank operator :math:`u = h\,(B + UV^T)f` (module docstring).

    Parameters
    ----------
    n : int
        Grid size.
    bandwidth : int
        ``0 <= b <= n - 1``; the band is stored as ``(2b + 1, n)`` diagonals, ``band[b + o, j] = B[j, j + o]``
        (entries outside the matrix are masked to zero).
    rank : int
        ``0 <= r <= n``; ``0`` leaves only the band.
    init_scale : float
        Entries are drawn from :math:`\mathcal N(0, s^2)` with a generator seeded by ``seed``.
    """

    def __init__(self, n: int, bandwidth: int, rank: int, *, init_scale: float = 0.1, seed: int = 0,
                 dtype=torch.float64, device="cpu"):
        super().__init__()
        self._setup(check_int("n", n, low=1), device, dtype)
        self.bandwidth = check_int("bandwidth", bandwidth, low=0, high=self.n - 1)
        self.rank = check_int("rank", rank, low=0, high=self.n)
        self.init_scale = check_positive("init_scale", init_scale)
        b = self.bandwidth
        offsets = np.arange(-b, b + 1)
        j = np.arange(self.n)
        mask = ((j[None, :] + offsets[:, None]) >= 0) & ((j[None, :] + offsets[:, None]) < self.n)
        self.register_buffer("band_mask", torch.as_tensor(mask, dtype=dtype, device=self._device), persistent=False)
        self.offsets = offsets.tolist()
        g = torch.Generator(device="cpu").manual_seed(check_int("seed", seed, low=0))
        s = self.init_scale
        kw = dict(dtype=dtype, device=self._device)
        band = torch.randn(2 * b + 1, self.n, generator=g, dtype=torch.float64) * s * torch.as_tensor(mask)
        self.band = torch.nn.Parameter(band.to(**kw))
        self.U = torch.nn.Parameter((torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s).to(**kw))
        self.V = torch.nn.Parameter((torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s).to(**kw))

    def extra_repr(self) -> str:
        return f"n={self.n}, bandwidth={self.bandwidth}, rank={self.rank}, parameters={self.num_parameters()}"

    def band_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`BF` for columns ``F`` (shape ``(n, batch)``): one shifted product per diagonal (``2b + 1`` of them)."""
        W = self.band * self.band_mask
        out = torch.zeros_like(F)
        n = self.n
        for d, o in enumerate(self.offsets):  # loop over the 2b+1 diagonals, not over rows or subdomains
            lo, hi = max(0, -o), min(n, n - o)
            out[lo:hi] = out[lo:hi] + W[d, lo:hi, None] * F[lo + o:hi + o]
        return out

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`h\,(BF + U(V^TF))` for right-hand sides in the columns of ``F``."""
        self._check_columns(F)
        out = self.band_part(F)
        if self.rank:
            out = out + self.U @ (self.V.T @ F)
        return out * self.h

    def num_parameters(self) -> int:
        """Trainable scalars (masked band slots excluded)."""
        return int(self.band_mask.sum().item()) + int(self.U.numel() + self.V.numel())

    def parameter_formula(self) -> int:
        return banded_lowrank_parameter_count(self.n, self.bandwidth, self.rank)


def _interior_weights_equal(dec: Decomposition, partition: str, weighting: str) -> bool:
    """Whether the subdomains 1 .. N-2 carry the same left and right weights (translation invariance)."""
    return all(np.allclose(w[1:-1], w[1]) for w in dec.padded_weights(partition, weighting))


def reference_apply(model: DDAttention, F: torch.Tensor) -> torch.Tensor:
    r"""The reference path: :math:`M_\theta^{-1}F` of a :class:`DDAttention` by plain gathers, for tests and benchmarks.

    .. math::  h\Big(\Phi Q_0K_0^T\Phi^TF + \sum_i R_i^T W^L_i Q_iK_i^T W^R_i R_iF\Big)

    with :math:`R_iF` as ``F[padded_indices]`` (padding weighted by zero), both local products batched over the
    subdomains (``torch.bmm``), :math:`R_i^T` as one ``index_add``, and a dense :math:`\Phi`. Differentiable by plain
    autograd; it shares no code with the window layout of :meth:`DDAttention.apply_columns`.
    """
    if not isinstance(model, DDAttention):
        raise ValueError(f"model must be a DDAttention; got {type(model).__name__}")
    model._check_columns(F)
    U = F.new_zeros(F.shape)
    if model.use_local:
        Q, K = model.local_factors()
        X = F[model.idx] * model.wr[:, :, None]
        Y = torch.bmm(Q, torch.bmm(K.transpose(1, 2), X)) * (model.wl[:, :, None] * model.local_scale)
        U = U.index_add(0, model.idx.reshape(-1), Y.reshape(-1, F.shape[1]))
    if model.use_coarse:
        Q0, K0 = model.coarse_factors()
        Phi = torch.as_tensor(model.decomposition.coarse_space(model.coarse).toarray(), dtype=F.dtype, device=F.device)
        U = U + Phi @ (Q0 @ (K0.T @ (Phi.T @ F)))
    return model._add_diagonal(U * model.h, F)
