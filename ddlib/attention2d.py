r"""Two-level domain-decomposition attention for the 2D model problem (torch, float64 by default).

The paper's operator on the ``N x N`` boxes of :class:`ddlib.decomposition2d.Decomposition2D`:

.. math::  u = M_\theta^{-1} f = h^2\Big(\Phi Q_0K_0^T\Phi^T f
           + \sum_{i=1}^{N^2} R_i^T D_i^{1/2}\, Q_iK_i^T\, D_i^{1/2} R_i f\Big),

:math:`Q_i, K_i \in \mathbb R^{n_i\times r}`, :math:`Q_0, K_0\in\mathbb R^{N_0\times r_0}`, with
:math:`2r\sum_in_i + 2N_0r_0 = 2r\,(m + 2\delta(N-1))^2 + 2N_0r_0` parameters (:func:`dd2d_parameter_count`).

**Scaling.** :math:`u(x) = \int G(x, y) f(y)\,dy` is approximated by the quadrature :math:`\sum_q h^2\,G(x, y_q)f_q`
(weight :math:`h^2` per node in 2D, :math:`h` in 1D), and indeed :math:`(A^{-1})_{pq} \approx h^2G(x_p, x_q)`. So
the factor :math:`h^2` makes the learned products :math:`Q_iK_i^T` approximate the Green's function itself: their
entries are :math:`O(1)` off the diagonal, independent of ``h``; on the diagonal the 2D Green's function's logarithmic
singularity makes them grow like :math:`\frac{1}{2\pi}\log(1/h)` (about 0.6 at ``m = 15``, 0.93 at ``m = 127``:
:func:`ddlib.problem2d.green_diagonal_growth`), slowly enough that one initialisation scale serves all grids.

**Vectorization.** One gather of the right-hand sides (columns ``F``, shape ``(n, B)``) into padded boxes
``(N^2, n_max, B)`` (:attr:`Decomposition2D.padded_indices`), two :func:`torch.bmm` for all boxes at once, and one
``index_add`` that scatters them back. The coarse level of the tensor-product spaces (Q1 hats, Nicolaides:
:math:`\Phi = \Phi^{1D}\otimes\Phi^{1D}`, :meth:`Decomposition2D.coarse_factor`) is
:math:`\Phi^Tf = (\Phi^{1D})^T F\,\Phi^{1D}` on ``F = f.reshape(m, m)``, two dense products with the ``m x N_1``
factor each way; other coarse spaces gather on the padded supports of their functions
(:func:`ddlib.decomposition2d.padded_support`) and share the local ``index_add``. No Python loop over subdomains;
gradients by plain autograd.

**Initialisations.** ``init="random"``: every factor entry :math:`\mathcal N(0, s^2)` (``init_scale = s``) from a
seeded :class:`torch.Generator` (never torch's global generator); padding slots stay zero. ``init="schwarz"``:
:math:`Q_iK_i^T = [A_i^{-1}]_r/h^2` and :math:`Q_0K_0^T = [A_0^{-1}]_{r_0}/h^2`, truncated eigendecompositions
(:math:`A_i` is the box Laplacian, whose eigenpairs are closed-form tensor sines, :func:`ddlib.problem2d.box_eigenpairs`;
:math:`A_0 = \Phi^TA\Phi`). At full rank the operator is the weighted two-level additive Schwarz preconditioner
:math:`\Phi A_0^{-1}\Phi^T + \sum_iR_i^TD_i^{1/2}A_i^{-1}D_i^{1/2}R_i` (:mod:`ddlib.schwarz2d`); at rank ``r`` it is the
*truncated Schwarz oracle* of :mod:`ddlib.approximation2d`.

Examples
--------
>>> import torch
>>> from ddlib.decomposition2d import Decomposition2D
>>> dd = DDAttention2D(Decomposition2D(15, 4, 1), local_rank=4)
>>> dd.num_parameters() == dd.parameter_formula() == dd2d_parameter_count(15, 4, 1, 4)
True
>>> dd(torch.zeros(3, 225)).shape
torch.Size([3, 225])
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

from ._validate import check_choice, check_int, check_positive
from .decomposition2d import COARSE_SPACES_2D, PARTITIONS_OF_UNITY, Decomposition2D, padded_support
from .problem2d import box_eigenpairs, eigenvalues_2d, inverse_2d, laplacian_2d, solve_2d

__all__ = ["DDAttention2D", "dd2d_parameter_count", "operator_error_2d"]


def dd2d_parameter_count(m: int, N: int, delta: int, local_rank: int, coarse_rank: int | None = None,
                         N0: int | None = None) -> int:
    r"""Parameters of :class:`DDAttention2D`: :math:`2r\,(m + 2\delta(N-1))^2 + 2N_0r_0`.

    :math:`\sum_i n_i = (\sum_I n_I)^2 = (m + 2\delta(N-1))^2`, the square of the 1D count. ``N0`` defaults to
    :math:`(N-1)^2` (Q1 hats), ``coarse_rank`` to ``N0``; ``local_rank = 0`` or ``coarse_rank = 0`` switches a level off.
    """
    m, N, delta = check_int("m", m, low=1), check_int("N", N, low=1), check_int("delta", delta, low=0)
    N0 = (N - 1) ** 2 if N0 is None else check_int("N0", N0, low=0)
    r0 = N0 if coarse_rank is None else check_int("coarse_rank", coarse_rank, low=0, high=N0)
    return 2 * check_int("local_rank", local_rank, low=0) * (m + 2 * delta * (N - 1)) ** 2 + 2 * N0 * r0


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(check_int("seed", seed, low=0))
    return g


class DDAttention2D(torch.nn.Module):
    r"""Two-level DD attention on a 2D decomposition (formula, scaling and layout in the module docstring).

    Parameters
    ----------
    decomposition2d : Decomposition2D
    local_rank : int
        Rank ``r`` of every local block, ``1 <= r <= n_max`` (ignored with ``use_local=False``).
    coarse_rank : int, optional
        Rank ``r_0`` of the coarse block, ``1 <= r_0 <= N_0``; default ``N_0``.
    partition : {"multiplicity", "ramp", "boolean"}
        The partition of unity :math:`D_i` (weights :math:`D_i^{1/2}` on both sides).
    coarse : {"hat", "nicolaides", "spectral", "none"}
        The coarse space (:meth:`Decomposition2D.coarse_space`); ``per_box`` functions per box for ``"spectral"``.
    use_coarse, use_local : bool
        Switch a level off (ablations); at least one must stay on.
    init : {"random", "schwarz"}
        Seeded normal factors, or truncated eigendecompositions of :math:`A_i^{-1}/h^2` and :math:`A_0^{-1}/h^2`.
    init_scale : float
        Standard deviation of the random initialisation.
    seed : int
        Seed of the random initialisation.
    dtype, device
        Precision and place of the factors (default float64 on the CPU).
    """

    def __init__(self, decomposition2d: Decomposition2D, local_rank: int, coarse_rank: int | None = None, *,
                 partition: str = "multiplicity", coarse: str = "hat", per_box: int = 1, use_coarse: bool = True,
                 use_local: bool = True, init: str = "random", init_scale: float = 0.1, seed: int = 0,
                 dtype=torch.float64, device="cpu"):
        super().__init__()
        if not isinstance(decomposition2d, Decomposition2D):
            raise ValueError("decomposition2d must be a ddlib.decomposition2d.Decomposition2D; got "
                             f"{type(decomposition2d).__name__}")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype must be torch.float64 or torch.float32; got {dtype!r}")
        dec = self.decomposition = decomposition2d
        self.n, self.h, self.scale = dec.n, float(dec.h), float(dec.h) ** 2
        self._dtype, self._device = dtype, torch.device(device)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        self.coarse = check_choice("coarse", coarse, COARSE_SPACES_2D)
        self.init = check_choice("init", init, ("random", "schwarz"))
        self.init_scale = check_positive("init_scale", init_scale)
        Phi = dec.coarse_space(coarse, partition, per_box) if coarse != "none" else None
        self.use_local = bool(use_local)
        self.use_coarse = bool(use_coarse) and Phi is not None and Phi.shape[1] > 0
        if not (self.use_local or self.use_coarse):
            raise ValueError("use_local and use_coarse must not both be off (and the coarse space must not be empty "
                             "when the local level is off)")
        self.local_rank = check_int("local_rank", local_rank, low=1, high=dec.n_max) if self.use_local else 0
        self.N0 = Phi.shape[1] if self.use_coarse else 0
        self.coarse_rank = 0
        if self.use_coarse:
            self.coarse_rank = self.N0 if coarse_rank is None else check_int("coarse_rank", coarse_rank, low=1,
                                                                            high=self.N0)
        kw = dict(dtype=dtype, device=self._device)
        w = np.sqrt(dec.padded_partition_of_unity(partition))        # D_i^{1/2}, zero on padding
        self.register_buffer("idx", torch.as_tensor(dec.padded_indices, device=self._device), persistent=False)
        self.register_buffer("w", torch.as_tensor(w, **kw), persistent=False)
        factor = dec.coarse_factor(coarse, partition) if self.use_coarse else None
        self.register_buffer("P1", torch.as_tensor(factor.toarray() if factor is not None else np.zeros((0, 0)), **kw),
                             persistent=False)
        gather = self.use_coarse and factor is None
        cidx, cval = padded_support(Phi) if gather else (np.zeros((0, 0), np.int64), np.zeros((0, 0)))
        self.register_buffer("cidx", torch.as_tensor(cidx, device=self._device), persistent=False)
        self.register_buffer("cval", torch.as_tensor(cval, **kw), persistent=False)
        self.register_buffer("scatter_index", torch.cat([self.idx.reshape(-1), self.cidx.reshape(-1)]),
                             persistent=False)
        Q, K, Q0, K0 = self._random_factors(seed) if init == "random" else self._schwarz_factors(Phi)
        self.Q = torch.nn.Parameter(Q.to(**kw)) if self.use_local else None
        self.K = torch.nn.Parameter(K.to(**kw)) if self.use_local else None
        self.Q0 = torch.nn.Parameter(Q0.to(**kw)) if self.use_coarse else None
        self.K0 = torch.nn.Parameter(K0.to(**kw)) if self.use_coarse else None

    def extra_repr(self) -> str:
        d = self.decomposition
        return (f"m={d.m}, N={d.N}, delta={d.delta}, local_rank={self.local_rank}, coarse_rank={self.coarse_rank}, "
                f"partition={self.partition!r}, coarse={self.coarse!r}, parameters={self.num_parameters()}")

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def device(self) -> torch.device:
        return self._device

    # ------------------------------------------------------------------------------------------------- init
    def _random_factors(self, seed: int):
        dec, s, g = self.decomposition, self.init_scale, _generator(seed)
        shape = (dec.n_sub, dec.n_max, max(self.local_rank, 1))
        mask = torch.as_tensor(dec.mask, dtype=torch.float64)[:, :, None]
        Q = torch.randn(shape, generator=g, dtype=torch.float64) * s * mask
        K = torch.randn(shape, generator=g, dtype=torch.float64) * s * mask
        Q0 = torch.randn(self.N0, self.coarse_rank, generator=g, dtype=torch.float64) * s
        K0 = torch.randn(self.N0, self.coarse_rank, generator=g, dtype=torch.float64) * s
        return Q, K, Q0, K0

    def _schwarz_factors(self, Phi):
        r""":math:`Q_i = K_i = V_{i,r}\Lambda_{i,r}^{-1/2}/h` from the box eigenpairs (closed form), and the same from
        the eigendecomposition of :math:`A_0`: :math:`Q_iK_i^T = [A_i^{-1}]_r/h^2` (zero columns beyond ``n_i``)."""
        dec, r, h = self.decomposition, max(self.local_rank, 1), self.h
        Q = np.zeros((dec.n_sub, dec.n_max, r))
        shapes = {tuple(s) for s in dec.shapes}
        pairs = {s: box_eigenpairs(s[0], s[1], h) for s in shapes}   # at most 9 distinct box shapes
        for i, s in enumerate(map(tuple, dec.shapes)):               # initialisation only: N^2 small copies
            lam, V = pairs[s]
            k = min(r, lam.size)
            Q[i, dec.mask[i], :k] = V[:, :k] / np.sqrt(lam[:k]) / h
        Q0 = np.zeros((self.N0, self.coarse_rank))
        if self.use_coarse:
            A0 = (Phi.T @ (laplacian_2d(dec.m) @ Phi)).toarray()
            mu, U = scipy.linalg.eigh(0.5 * (A0 + A0.T))
            Q0 = U[:, : self.coarse_rank] / np.sqrt(mu[: self.coarse_rank]) / h
        Q, Q0 = torch.from_numpy(Q), torch.from_numpy(Q0)
        return Q, Q.clone(), Q0, Q0.clone()

    # ----------------------------------------------------------------------------------------------- apply
    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`M_\theta^{-1}F` for right-hand sides in the columns of ``F`` (shape ``(n, batch)``).

        Local level: :math:`X = RF` gathered as ``(N^2, n_max, B)``, :math:`Y = (D^{1/2}Q)((D^{1/2}K)^TX)` by two
        batched products (the weights scale the small factors), scatter-added by one ``index_add``. Coarse level:
        :math:`C = Q_0K_0^T(\Phi^TF)`, by the tensor-product factor (:meth:`_coarse_tensor`) or a gather on the coarse
        supports that shares the local ``index_add``. The sum is scaled by :math:`h^2`.
        """
        B = F.shape[1]
        parts = []
        if self.use_local:  # the weights go into the small factors, not the (N^2, n_max, B) blocks
            Kw, Qw = self.K * self.w[:, :, None], self.Q * self.w[:, :, None]
            parts.append(torch.bmm(Qw, torch.bmm(Kw.transpose(1, 2), F[self.idx])).reshape(-1, B))
        elif self.cidx.numel():
            parts.append(F.new_zeros(self.idx.numel(), B))
        if self.use_coarse and self.cidx.numel():
            C = (F[self.cidx] * self.cval[:, :, None]).sum(1)
            C = self.Q0 @ (self.K0.T @ C)
            parts.append((self.cval[:, :, None] * C[:, None, :]).reshape(-1, B))
        out = F.new_zeros(F.shape)
        if parts:
            Y = torch.cat(parts) if len(parts) > 1 else parts[0]
            out = out.index_add(0, self.scatter_index[: Y.shape[0]], Y)
        if self.use_coarse and self.P1.numel():
            out = out + self._coarse_tensor(F)
        return out * self.scale

    def _coarse_tensor(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi Q_0K_0^T\Phi^TF` for :math:`\Phi = P\otimes P` (``P``: the ``m x N_1`` factor): per column,
        :math:`\Phi^Tf = P^T\,f_{\square}\,P` with :math:`f_{\square}` the ``m x m`` grid values (y fastest), and
        back the same way; four dense products, no gather."""
        m, B = self.decomposition.m, F.shape[1]
        P = self.P1
        N1 = P.shape[1]
        T = (P.T @ F.reshape(m, m * B)).reshape(N1, m, B)                        # sum over x: (I, b, B)
        C = torch.matmul(P.T, T).reshape(N1 * N1, B)                              # sum over y: (I J, B)
        C = self.Q0 @ (self.K0.T @ C)
        T = torch.matmul(P, C.reshape(N1, N1, B))                                 # (I, b, B)
        return (P @ T.reshape(N1, m * B)).reshape(m * m, B)

    def forward(self, f) -> torch.Tensor:
        r"""Apply :math:`M_\theta^{-1}` to each row of ``f`` (shape ``(batch, n)`` or ``(n,)``)."""
        f = torch.as_tensor(f, dtype=self._dtype, device=self._device)
        single = f.ndim == 1
        f = f[None] if single else f
        if f.ndim != 2 or f.shape[1] != self.n:
            raise ValueError(f"f must have shape (batch, n) or (n,) with n = {self.n}; got shape {tuple(f.shape)}")
        u = self.apply_columns(f.T).T
        return u[0] if single else u

    def dense(self) -> torch.Tensor:
        r"""The ``n x n`` matrix :math:`M_\theta^{-1}` (applied to the identity, no gradient)."""
        with torch.no_grad():
            return self.apply_columns(torch.eye(self.n, dtype=self._dtype, device=self._device))

    # -------------------------------------------------------------------------------------------- analysis
    def local_blocks(self) -> list[np.ndarray]:
        r"""The learned local matrices :math:`h^2D_i^{1/2}Q_iK_i^TD_i^{1/2}` (``n_i x n_i``; units of :math:`A^{-1}`)."""
        if not self.use_local:
            return []
        with torch.no_grad():
            Q = (self.Q * self.w[:, :, None]).cpu().numpy()
            K = (self.K * self.w[:, :, None]).cpu().numpy()
        mask = self.decomposition.mask
        return [self.scale * Q[i, mask[i]] @ K[i, mask[i]].T for i in range(self.decomposition.n_sub)]

    def coarse_block(self) -> np.ndarray:
        r"""The learned coarse matrix :math:`h^2Q_0K_0^T` (compare with :math:`A_0^{-1}`)."""
        if not self.use_coarse:
            return np.zeros((0, 0))
        with torch.no_grad():
            return self.scale * (self.Q0 @ self.K0.T).cpu().numpy()

    def num_parameters(self) -> int:
        """Trainable scalars, padding slots excluded: :math:`2r\\sum_in_i + 2N_0r_0`."""
        local = 2 * self.local_rank * int(self.decomposition.sizes.sum()) if self.use_local else 0
        return local + 2 * self.N0 * self.coarse_rank

    def parameter_formula(self) -> int:
        """The closed form :func:`dd2d_parameter_count` of this configuration."""
        d = self.decomposition
        return dd2d_parameter_count(d.m, d.N, d.delta, self.local_rank, self.coarse_rank, self.N0)


def _as_operator(M, n: int):
    """``(apply, apply_transpose)`` on column blocks ``(n, B)`` for a dense matrix, a model or a LinearOperator."""
    if isinstance(M, torch.nn.Module) and hasattr(M, "apply_columns"):
        p = next(M.parameters())
        dev, dt = p.device, p.dtype

        def apply(X):
            with torch.no_grad():
                return M.apply_columns(torch.as_tensor(X, dtype=dt, device=dev)).cpu().double().numpy()

        def apply_t(Y):  # M is linear: M^T y is the gradient of <y, M x> with respect to x
            x = torch.zeros(Y.shape, dtype=dt, device=dev, requires_grad=True)
            with torch.enable_grad():
                out = M.apply_columns(x)
                (g,) = torch.autograd.grad(out, x, grad_outputs=torch.as_tensor(Y, dtype=dt, device=dev))
            return g.cpu().double().numpy()

        return apply, apply_t
    if isinstance(M, LinearOperator):
        if M.shape != (n, n):
            raise ValueError(f"M must be n x n with n = {n}; got shape {M.shape}")
        return (lambda X: np.asarray(M @ X)), (lambda Y: np.asarray(M.rmatmat(Y)))
    raise ValueError("M must be a dense n x n array or tensor, a model with apply_columns, or a scipy LinearOperator; "
                     f"got {type(M).__name__}")


def operator_error_2d(M, m: int, *, dense_max: int = 1024, tol: float = 1e-10, seed: int = 0) -> float:
    r"""Relative operator error :math:`\|M - A^{-1}\|_2 / \|A^{-1}\|_2 = \lambda_{11}\,\|M - A^{-1}\|_2` in 2D.

    ``M`` is a dense ``n x n`` array or tensor, a model with ``apply_columns`` (e.g. :class:`DDAttention2D`) or a
    :class:`scipy.sparse.linalg.LinearOperator`. For a dense ``M`` with :math:`n \le` ``dense_max`` the norm is
    :math:`\lambda_{\max}(E^TE)^{1/2}` with the dense :math:`E = M - A^{-1}`
    (:func:`ddlib.problem2d.inverse_2d`). Otherwise it is the largest eigenvalue of :math:`E^TE` by implicitly restarted
    Lanczos (ARPACK :func:`scipy.sparse.linalg.eigsh`, relative tolerance ``tol``, start vector from
    ``numpy.random.default_rng(seed)``), applying :math:`Ex = Mx - A^{-1}x` with the fast DST solve and
    :math:`E^Ty = M^Ty - A^{-1}y` (:math:`A^{-1}` is symmetric; a model's :math:`M^T` comes from autograd, which is
    exact because :math:`M` is linear). Each step costs one application of :math:`M` and :math:`M^T` and two
    :math:`O(n\log n)` solves, so ``m = 63`` (``n = 3969``) or ``127`` is cheap.
    """
    m = check_int("m", m, low=1)
    n = m * m
    lam1 = float(eigenvalues_2d(m, 1, 1))
    if isinstance(M, (np.ndarray, torch.Tensor)):
        Md = np.asarray(M.detach().cpu().double().numpy() if isinstance(M, torch.Tensor) else M, dtype=np.float64)
        if Md.shape != (n, n):
            raise ValueError(f"M must be n x n with n = m^2 = {n}; got shape {Md.shape}")
        if n <= dense_max:
            E = Md - inverse_2d(m)
            top = scipy.linalg.eigvalsh(E.T @ E, subset_by_index=[n - 1, n - 1])[0]
            return float(np.sqrt(max(top, 0.0)) * lam1)
        apply, apply_t = (lambda X: Md @ X), (lambda Y: Md.T @ Y)
    else:
        apply, apply_t = _as_operator(M, n)

    def normal(x):
        X = np.asarray(x, dtype=np.float64).reshape(n, -1)
        Y = apply(X) - solve_2d(X.T).T
        return apply_t(Y) - solve_2d(Y.T).T

    op = LinearOperator((n, n), matvec=normal, matmat=normal, dtype=np.float64)
    v0 = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(n)
    top = eigsh(op, k=1, which="LA", tol=check_positive("tol", tol), v0=v0, return_eigenvectors=False)[0]
    return float(np.sqrt(max(top, 0.0)) * lam1)
