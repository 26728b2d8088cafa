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

**Vectorization.** :class:`DDAttention` stores the local factors padded to ``(N, n_max, r)``; one forward pass
gathers ``f`` into padded subdomain blocks (``f[:, padded_indices]``), applies all local products at once as batched
matrix products, and scatter-adds the results back with :meth:`torch.Tensor.index_add`. The coarse level uses the same
gather/scatter on the (padded) supports of the coarse basis functions, so no dense ``n x N_0`` matrix is formed and
memory stays :math:`O(n)` for any ``n``. There is no Python loop over subdomains.

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

import os

import numpy as np
import scipy.sparse as sp
import torch

from ._validate import check_choice, check_int, check_positive
from .decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, Decomposition, element_decomposition
from .problem import grid, inverse, laplacian_1d

__all__ = [
    "GlobalAttention",
    "DDAttention",
    "WEIGHTINGS",
    "LOCAL_INVERSES",
    "configure_threads",
    "global_parameter_count",
    "dd_parameter_count",
    "operator_error",
    "truncated_factors",
]

#: Names accepted by ``DDAttention(weighting=...)``: :math:`D^{1/2}` both sides, :math:`D` on the left, none.
WEIGHTINGS = ("sqrt", "left", "none")
#: Names accepted by ``DDAttention(local_inverse=...)`` for ``init="schwarz"``.
LOCAL_INVERSES = ("element", "subdomain")


def configure_threads(default: int | None = None) -> int:
    """Set torch's intra-op threads from ``$DDLIB_TORCH_THREADS`` (else ``default``, else leave it); return the count.

    The book build sets ``DDLIB_TORCH_THREADS=1`` when it runs two notebooks at once on two cores.
    """
    value = os.environ.get("DDLIB_TORCH_THREADS", "")
    if value.strip():
        threads = check_int("DDLIB_TORCH_THREADS", int(value), low=1)
    elif default is not None:
        threads = check_int("default", default, low=1)
    else:
        return torch.get_num_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def global_parameter_count(n: int, rank: int) -> int:
    r"""Parameters of :class:`GlobalAttention`: :math:`2nr`."""
    return 2 * check_int("n", n, low=1) * check_int("rank", rank, low=1)


def dd_parameter_count(n: int, N: int, delta: int, local_rank: int, coarse_rank: int | None = None,
                       N0: int | None = None) -> int:
    r"""Parameters of :class:`DDAttention`: :math:`2r\,(n + 2\delta(N-1)) + 2N_0r_0`.

    :math:`\sum_i n_i = n + 2\delta(N-1)` because each of the ``N - 1`` interfaces adds ``delta`` nodes to both of
    its neighbouring subdomains. ``N0`` defaults to ``N - 1`` (hat functions), ``coarse_rank`` to ``N0``;
    ``local_rank = 0`` or ``coarse_rank = 0`` switches a level off.
    """
    n, N, delta = check_int("n", n, low=1), check_int("N", N, low=1), check_int("delta", delta, low=0)
    N0 = N - 1 if N0 is None else check_int("N0", N0, low=0)
    r0 = N0 if coarse_rank is None else check_int("coarse_rank", coarse_rank, low=0, high=N0)
    return 2 * check_int("local_rank", local_rank, low=0) * (n + 2 * delta * (N - 1)) + 2 * N0 * r0


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


def operator_error(M, n: int | None = None) -> float:
    r"""Relative operator error :math:`\|M - A^{-1}\|_2 / \|A^{-1}\|_2` of a dense ``n x n`` matrix (array or tensor).

    :math:`\|A^{-1}\|_2 = 1/\lambda_1`; :math:`\|E\|_2 = \lambda_{\max}(E^TE)^{1/2}` by a symmetric eigensolver in
    torch (which honours :func:`configure_threads`; a dense SVD in NumPy is much slower on a loaded machine).
    """
    M = torch.as_tensor(M.detach() if isinstance(M, torch.Tensor) else np.asarray(M, dtype=np.float64))
    M = M.to(device="cpu", dtype=torch.float64)
    n = M.shape[0] if n is None else n
    if M.ndim != 2 or tuple(M.shape) != (n, n):
        raise ValueError(f"M must be a square n x n matrix; got shape {tuple(M.shape)}")
    E = M - torch.from_numpy(inverse(n))
    top = torch.linalg.eigvalsh(E.T @ E)[-1].clamp_min(0.0)
    lam1 = 4.0 * (n + 1) ** 2 * np.sin(np.pi / (2 * (n + 1))) ** 2
    return float(torch.sqrt(top) * lam1)


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(check_int("seed", seed, low=0))
    return g


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
        return f, single

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
    init : {"random", "svd"}
        ``"random"``: entries :math:`\mathcal N(0, s^2)`; ``"svd"``: :math:`QK^T = [A^{-1}/h]_r` (the Eckart-Young
        optimum, error :math:`\lambda_1/\lambda_{r+1}`).
    init_scale : float
        ``s`` for ``init="random"``.
    seed : int
        Seed of the random initialisation.
    device, dtype
        Where and in which precision the factors live (default CPU, float64).
    """

    def __init__(self, n: int, rank: int, *, init: str = "random", init_scale: float = 0.1, seed: int = 0,
                 device="cpu", dtype=torch.float64):
        super().__init__()
        n = check_int("n", n, low=1)
        self.rank = check_int("rank", rank, low=1, high=n)
        self._setup(n, device, dtype)
        self.init = check_choice("init", init, ("random", "svd"))
        self.init_scale = check_positive("init_scale", init_scale)
        if init == "random":
            g = _generator(seed)
            Q = torch.randn(n, self.rank, generator=g, dtype=torch.float64) * self.init_scale
            K = torch.randn(n, self.rank, generator=g, dtype=torch.float64) * self.init_scale
        else:
            Qn, Kn = truncated_factors(inverse(n) / self.h, self.rank)
            Q, K = torch.from_numpy(Qn), torch.from_numpy(Kn)
        self.Q = torch.nn.Parameter(Q.to(device=self._device, dtype=dtype))
        self.K = torch.nn.Parameter(K.to(device=self._device, dtype=dtype))

    def extra_repr(self) -> str:
        return f"n={self.n}, rank={self.rank}, parameters={self.num_parameters()}"

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`h\,QK^TF` for right-hand sides stored as the columns of ``F`` (shape ``(n, batch)``)."""
        return self.Q @ (self.K.T @ F) * self.h

    def forward(self, f) -> torch.Tensor:
        r"""Apply :math:`u = h\,QK^Tf` to each row of ``f`` (shape ``(batch, n)`` or ``(n,)``)."""
        f, single = self._prepare(f)
        u = (f @ self.K) @ self.Q.T * self.h
        return u[0] if single else u

    def num_parameters(self) -> int:
        return int(self.Q.numel() + self.K.numel())

    def parameter_formula(self) -> int:
        return global_parameter_count(self.n, self.rank)


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
        :math:`D_i^{1/2}(\cdot)D_i^{1/2}` (the paper), :math:`D_i(\cdot)`, or no weights.
    use_coarse, use_local : bool
        Switch the coarse and the local level on or off (ablations); at least one must be on.
    init : {"random", "schwarz"}
        Random factors, or truncated factorizations of the classical inverses (see ``local_inverse``).
    local_inverse : {"element", "subdomain"}
        For ``init="schwarz"``: the exact-decomposition blocks :math:`A_E^{-1}` or the subdomain inverses
        :math:`A_i^{-1}` (classical two-level Schwarz).
    init_scale : float
        Standard deviation of the random initialisation.
    seed : int
        Seed of the random initialisation.
    coarse_storage : {"auto", "dense", "gather"}
        How :math:`\Phi` is applied: a dense ``n x N_0`` matrix, or gather/scatter on the padded supports of its
        columns (memory :math:`O(n)`); ``"auto"`` takes the dense matrix when :math:`nN_0 \le 2^{20}`.
    device, dtype
        Where and in which precision the factors live (default CPU, float64).
    """

    def __init__(self, decomposition: Decomposition, local_rank: int, coarse_rank: int | None = None, *,
                 partition: str = "multiplicity", coarse: str = "hat", weighting: str = "sqrt",
                 use_coarse: bool = True, use_local: bool = True, init: str = "random",
                 local_inverse: str = "element", init_scale: float = 0.1, seed: int = 0,
                 coarse_storage: str = "auto", device="cpu", dtype=torch.float64):
        super().__init__()
        if not isinstance(decomposition, Decomposition):
            raise ValueError(f"decomposition must be a ddlib.decomposition.Decomposition; got {type(decomposition)}")
        dec = self.decomposition = decomposition
        self._setup(dec.n, device, dtype)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        self.coarse = check_choice("coarse", coarse, COARSE_SPACES)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
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
        if self.use_coarse:
            self.coarse_rank = self.N0 if coarse_rank is None else check_int("coarse_rank", coarse_rank, low=1,
                                                                            high=self.N0)
        else:
            self.coarse_rank = 0
        kw = dict(dtype=dtype, device=self._device)

        # gather/scatter plumbing of the local level: padded indices and left/right weights (zero on padding)
        D = dec.padded_partition_of_unity(self.partition)
        mask = dec.mask.astype(np.float64)
        wl, wr = {"sqrt": (np.sqrt(D), np.sqrt(D)), "left": (D, mask), "none": (mask, mask)}[self.weighting]
        self.register_buffer("idx", torch.as_tensor(dec.padded_indices, device=self._device), persistent=False)
        self.register_buffer("wl", torch.as_tensor(wl, **kw), persistent=False)
        self.register_buffer("wr", torch.as_tensor(wr, **kw), persistent=False)
        # the coarse basis as padded supports: Phi[:, j] = sum_s cval[j, s] e_{cidx[j, s]}
        cidx, cval = _padded_columns(Phi)
        self.register_buffer("cidx", torch.as_tensor(cidx, device=self._device), persistent=False)
        self.register_buffer("cval", torch.as_tensor(cval, **kw), persistent=False)
        self.coarse_storage = check_choice("coarse_storage", coarse_storage, ("auto", "dense", "gather"))
        dense_coarse = self.use_coarse and (coarse_storage == "dense" or
                                            (coarse_storage == "auto" and dec.n * self.N0 <= 2**20))
        self.register_buffer("Phi_dense", torch.as_tensor(Phi.toarray(), **kw) if dense_coarse else None,
                             persistent=False)

        if self.init == "random":
            g = _generator(seed)
            s = self.init_scale
            shape = (dec.N, dec.n_max, self.local_rank)
            Q = torch.randn(shape, generator=g, dtype=torch.float64) * s * torch.as_tensor(mask)[:, :, None]
            K = torch.randn(shape, generator=g, dtype=torch.float64) * s * torch.as_tensor(mask)[:, :, None]
            Q0 = torch.randn(self.N0, self.coarse_rank, generator=g, dtype=torch.float64) * s
            K0 = torch.randn(self.N0, self.coarse_rank, generator=g, dtype=torch.float64) * s
        else:
            Q, K, Q0, K0 = (torch.from_numpy(a) for a in self._schwarz_factors(wl, wr, Phi))
        self.Q = torch.nn.Parameter(Q.to(**kw)) if self.use_local else None
        self.K = torch.nn.Parameter(K.to(**kw)) if self.use_local else None
        self.Q0 = torch.nn.Parameter(Q0.to(**kw)) if self.use_coarse else None
        self.K0 = torch.nn.Parameter(K0.to(**kw)) if self.use_coarse else None

    def extra_repr(self) -> str:
        d = self.decomposition
        return (f"n={d.n}, N={d.N}, delta={d.delta}, local_rank={self.local_rank}, coarse_rank={self.coarse_rank}, "
                f"partition={self.partition!r}, coarse={self.coarse!r}, weighting={self.weighting!r}, "
                f"parameters={self.num_parameters()}")

    # ------------------------------------------------------------------------------------------------- init
    def _schwarz_factors(self, wl, wr, Phi):
        dec, r, h = self.decomposition, self.local_rank, self.h
        A = laplacian_1d(dec.n)
        Q = np.zeros((dec.N, dec.n_max, r))
        K = np.zeros_like(Q)
        if self.use_local:
            if self.local_inverse == "element":
                if dec.N * dec.m != dec.n + 1:  # pragma: no cover  (guaranteed by Decomposition)
                    raise ValueError("element blocks need N to divide n + 1")
                blocks = element_decomposition(dec.n, dec.N)
            else:
                blocks = dec.indices
            start = dec.bounds[:, 0]
            for i, nodes in enumerate(blocks):  # initialisation only: a loop over subdomains is fine here
                if nodes.size == 0:
                    continue
                Ai = A[nodes][:, nodes].toarray()
                Qe, Ke = truncated_factors(np.linalg.inv(Ai) / h, r)
                loc = nodes - start[i]
                if self.local_inverse == "element":
                    if np.any(wl[i, loc] <= 0) or np.any(wr[i, loc] <= 0):
                        raise ValueError(  # pragma: no cover  (every partition is positive inside the element)
                            "the partition of unity vanishes inside a coarse element; use local_inverse='subdomain'")
                    Qe, Ke = Qe / wl[i, loc, None], Ke / wr[i, loc, None]
                Q[i, loc, : Qe.shape[1]] = Qe
                K[i, loc, : Ke.shape[1]] = Ke
        if self.use_coarse:
            A0 = np.asarray((Phi.T @ (A @ Phi)).todense())
            Q0, K0 = truncated_factors(np.linalg.inv(A0) / h, self.coarse_rank)
        else:
            Q0 = K0 = np.zeros((0, 0))
        return Q, K, Q0, K0

    # ----------------------------------------------------------------------------------------------- apply
    def local_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_i R_i^T W^L_i Q_iK_i^T W^R_i R_i F` for a block of columns ``F`` (shape ``(n, batch)``, no ``h``).

        Gather into padded subdomain blocks ``(N, n_max, batch)``, two batched products ``bmm``, scatter-add back.
        """
        X = F[self.idx] * self.wr[:, :, None]                        # R_i F with the right weight, padded
        Y = torch.bmm(self.Q, torch.bmm(self.K.transpose(1, 2), X))   # Q_i (K_i^T X_i) for all i at once
        Y = Y * self.wl[:, :, None]
        return F.new_zeros(F.shape).index_add(0, self.idx.reshape(-1), Y.reshape(-1, F.shape[1]))

    def coarse_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi Q_0 K_0^T \Phi^T F` for a block of columns ``F`` (shape ``(n, batch)``, no ``h``).

        Small coarse spaces (``n N_0 <= 2^20``) use the dense :math:`\Phi`; larger ones gather and scatter on the
        padded supports of the basis functions (memory :math:`O(n)`).
        """
        if self.Phi_dense is not None:
            return self.Phi_dense @ (self.Q0 @ (self.K0.T @ (self.Phi_dense.T @ F)))
        C = (F[self.cidx] * self.cval[:, :, None]).sum(1)           # Phi^T F, (N0, batch)
        C = self.Q0 @ (self.K0.T @ C)
        Y = (self.cval[:, :, None] * C[:, None, :]).reshape(-1, F.shape[1])
        return F.new_zeros(F.shape).index_add(0, self.cidx.reshape(-1), Y)

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`M_\theta^{-1}F` for right-hand sides stored as the columns of ``F`` (shape ``(n, batch)``).

        The fast path used by :mod:`ddlib.training` (no transposes); :meth:`forward` takes rows.
        """
        U = self.local_part(F) if self.use_local else None
        if self.use_coarse:
            U = self.coarse_part(F) if U is None else U + self.coarse_part(F)
        return U * self.h

    def forward(self, f) -> torch.Tensor:
        r"""Apply :math:`M_\theta^{-1}` to each row of ``f`` (shape ``(batch, n)`` or ``(n,)``) in one vectorized pass."""
        f, single = self._prepare(f)
        u = self.apply_columns(f.T).T
        return u[0] if single else u

    # -------------------------------------------------------------------------------------------- analysis
    def local_blocks(self) -> list[np.ndarray]:
        r"""The learned local matrices :math:`W^L_i Q_iK_i^T W^R_i` (``n_i x n_i`` each, times ``h``: in units of :math:`A^{-1}`)."""
        if not self.use_local:
            return []
        with torch.no_grad():
            Q = (self.Q * self.wl[:, :, None]).cpu().numpy()
            K = (self.K * self.wr[:, :, None]).cpu().numpy()
        s = self.decomposition.sizes
        return [self.h * Q[i, : s[i]] @ K[i, : s[i]].T for i in range(self.decomposition.N)]

    def coarse_block(self) -> np.ndarray:
        r"""The learned coarse matrix :math:`h\,Q_0K_0^T` (``N_0 x N_0``; compare with :math:`A_0^{-1}`)."""
        if not self.use_coarse:
            return np.zeros((0, 0))
        with torch.no_grad():
            return self.h * (self.Q0 @ self.K0.T).cpu().numpy()

    def num_parameters(self) -> int:
        local = 2 * self.local_rank * int(self.decomposition.sizes.sum()) if self.use_local else 0
        coarse = int(self.Q0.numel() + self.K0.numel()) if self.use_coarse else 0
        return local + coarse

    def parameter_formula(self) -> int:
        d = self.decomposition
        local = 2 * self.local_rank * (d.n + 2 * d.delta * (d.N - 1)) if self.use_local else 0
        return local + 2 * self.N0 * self.coarse_rank


def _padded_columns(Phi) -> tuple[np.ndarray, np.ndarray]:
    """Column supports of a sparse ``n x N0`` matrix as padded ``(N0, s_max)`` index and value arrays."""
    P = sp.csc_matrix(Phi)
    P.eliminate_zeros()
    counts = np.diff(P.indptr)
    smax = int(counts.max()) if counts.size else 0
    idx = np.zeros((P.shape[1], smax), dtype=np.int64)
    val = np.zeros((P.shape[1], smax))
    if smax:
        slot = np.arange(P.nnz) - np.repeat(P.indptr[:-1], counts)
        col = np.repeat(np.arange(P.shape[1]), counts)
        idx[col, slot] = P.indices
        val[col, slot] = P.data
    return idx, val
