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
seen by users). On a :class:`~ddlib.decomposition.Decomposition` the operator is applied in a *window layout*
(``implementation="auto"``, the default): subdomain ``i`` is read as a strided view of ``f`` (``unfold`` with window
``m + 2 delta`` and step ``m``, no gather), one batched product :math:`\tilde K_i^T X_i` per window gives the local
coefficients and, from two extra columns holding the hat functions in closed form, :math:`\Phi^T f`; a second batched
product writes every window's core block straight into the output, including :math:`\Phi Q_0K_0^T\Phi^Tf`, and the
``2 delta`` overlap rows are added as two slice additions. The weights :math:`W^L_i, W^R_i` and ``h`` are folded into
the factors once per call (cached between calls while grad is off, keyed on the parameters' version counters). With
grad on, the window pass is one :class:`torch.autograd.Function` with a hand-written backward (:class:`_WindowApply`:
the same batched products, transposed), so autograd keeps no full-size temporaries of its slicing. The
general path (``implementation="gather"``, and the coarse level of the Nicolaides space) gathers ``f`` into padded
subdomain blocks (``f[:, padded_indices]``), applies the batched products and scatter-adds with
:meth:`torch.Tensor.index_add`; its coarse level gathers on the padded supports of the basis functions. Memory stays
:math:`O(n)` for any ``n`` and there is no Python loop over subdomains in either path. Both paths work on right-hand
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
    "IMPLEMENTATIONS",
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
#: Names accepted by ``DDAttention(implementation=...)``: window layout where possible, or forced either way.
IMPLEMENTATIONS = ("auto", "strided", "gather")


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
    ``implementation="gather"`` has plain autograd throughout.
    """

    @staticmethod
    def forward(ctx, F, Kw, Qc, Qtail, Q0, K0, layer, local, coarse):
        r = Kw.shape[-1] - (2 if coarse else 0)
        ops = {"r": r, "Kw": Kw, "Kt": Kw.transpose(1, 2), "Qc": Qc}
        if Qtail is not None:
            ops["Qtail"] = Qtail
        if coarse:
            ops["Q0K0"] = (Q0, K0)
        U, T, s = layer._window_forward(F, ops, local, coarse)
        ctx.save_for_backward(F, Kw, Qc, Qtail, Q0, K0, T, s)
        ctx.layer, ctx.coarse, ctx.r = layer, coarse, r
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
            dy = Q0.T @ dc
            if need[4]:
                dQ0 = dc @ (K0.T @ s).T
            if need[5]:
                dK0 = s @ dy.T
            ds = K0 @ dy                                                   # s_k = G_{k-1,b} + G_{k,a}
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
        return dF, dKw, dQc, dQtail, dQ0, dK0, None, None, None


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
        How the general path applies :math:`\Phi`: a dense ``n x N_0`` matrix, or gather/scatter on the padded
        supports of its columns (memory :math:`O(n)`); ``"auto"`` takes the dense matrix when
        :math:`nN_0 \le 2^{20}`.
    implementation : {"auto", "strided", "gather"}
        ``"auto"``: the window layout (module docstring) for the local level and the hat coarse space, the general
        path for the Nicolaides space; ``"strided"``: the same, but a ValueError where the window layout cannot
        take the coarse space; ``"gather"``: the general gather/``index_add`` path for everything.
    device, dtype
        Where and in which precision the factors live (default CPU, float64).
    """

    def __init__(self, decomposition: Decomposition, local_rank: int, coarse_rank: int | None = None, *,
                 partition: str = "multiplicity", coarse: str = "hat", weighting: str = "sqrt",
                 use_coarse: bool = True, use_local: bool = True, init: str = "random",
                 local_inverse: str = "element", init_scale: float = 0.1, seed: int = 0,
                 coarse_storage: str = "auto", implementation: str = "auto", device="cpu",
                 dtype=torch.float64):
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
        self.implementation = check_choice("implementation", implementation, IMPLEMENTATIONS)
        self._setup_windows(wl, wr, kw)

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

    # ------------------------------------------------------------------------------------------- window layout
    def _setup_windows(self, wl, wr, kw) -> None:
        """Buffers of the strided window layout (see :meth:`_window_apply`) and the choice of implementation.

        Window ``i`` is the ``m + 2 delta`` nodes from ``s_i`` on, with ``s_i = i m - delta`` except ``s_0 = 0``
        when ``N >= 3`` (then every window is exactly the model's padded subdomain, no re-layout of the factors);
        for ``N <= 2`` all windows start at ``i m - delta`` and the factors are re-laid by an index map. The core of
        window ``i`` (nodes ``i m .. i m + m - 1``) starts at slot ``o_i = i m - s_i``.
        """
        dec = self.decomposition
        m, d, N = dec.m, dec.delta, dec.N
        L = m + 2 * d
        uniform = bool(dec.N * m == dec.n + 1
                       and np.array_equal(dec.bounds[:, 0], np.maximum(np.arange(N) * m - d, 0))
                       and np.array_equal(dec.bounds[:, 1], np.minimum(np.arange(N) * m + m + d, dec.n)))
        hat_or_off = not self.use_coarse or self.coarse == "hat"
        if self.implementation == "strided" and not (uniform and hat_or_off):
            raise ValueError("implementation='strided' needs the uniform layout of ddlib.decomposition.Decomposition "
                             f"and coarse='hat' or no coarse level; got coarse={self.coarse!r}; use 'auto' or 'gather'")
        on = self.implementation != "gather" and uniform
        self._window_local = on and self.use_local
        self._window_coarse = on and self.use_coarse and self.coarse == "hat"
        self._window_cache: dict = {}
        self._native = bool(N >= 3 and dec.n_max == L)
        starts = np.arange(N) * m - d
        if self._native:
            starts[0] = 0
        self._core = np.arange(N) * m - starts                # o_i: delta, except o_0 = 0 in the native layout
        if not (self._window_local or self._window_coarse):
            return
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
        params = tuple(p for p in (self.Q, self.K, self.Q0, self.K0) if p is not None)
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
            Kw = self._window_factors(self.K, self._wr_win)
            Qw = self._window_factors(self.Q, self._wl_win * scale)
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
            ops["Q0K0"] = (self.Q0 * scale, self.K0)
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
            return _WindowApply.apply(F, ops["Kw"], ops["Qc"], ops.get("Qtail"), Q0, K0, self, local, coarse)
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
            c = Q0 @ (K0.T @ s)                                            # (N - 1, B)
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

    def _fast(self) -> bool:
        """Whether the window path applies: this class's own ``local_part``/``coarse_part`` (not a subclass's)."""
        cls = type(self)
        return cls.local_part is DDAttention.local_part and cls.coarse_part is DDAttention.coarse_part

    # ----------------------------------------------------------------------------------------------- apply
    def local_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_i R_i^T W^L_i Q_iK_i^T W^R_i R_i F` for a block of columns ``F`` (shape ``(n, batch)``, no ``h``).

        Window layout when available (see :meth:`_window_apply`), else the general gather path
        (:meth:`local_part_gather`).
        """
        if self._window_local:
            return self._window_apply(F, True, False, 1.0)
        return self.local_part_gather(F)

    def local_part_gather(self, F: torch.Tensor) -> torch.Tensor:
        r"""The general local level: gather into padded subdomain blocks ``(N, n_max, batch)`` with
        ``F[padded_indices]``, two batched products, scatter-add back with ``index_add`` (any layout; no ``h``)."""
        X = F[self.idx] * self.wr[:, :, None]                        # R_i F with the right weight, padded
        Y = torch.bmm(self.Q, torch.bmm(self.K.transpose(1, 2), X))   # Q_i (K_i^T X_i) for all i at once
        Y = Y * self.wl[:, :, None]
        return F.new_zeros(F.shape).index_add(0, self.idx.reshape(-1), Y.reshape(-1, F.shape[1]))

    def coarse_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi Q_0 K_0^T \Phi^T F` for a block of columns ``F`` (shape ``(n, batch)``, no ``h``).

        The hat space in the window layout when available, else :meth:`coarse_part_gather`.
        """
        if self._window_coarse:
            return self._window_apply(F, False, True, 1.0)
        return self.coarse_part_gather(F)

    def coarse_part_gather(self, F: torch.Tensor) -> torch.Tensor:
        r"""The general coarse level for any :math:`\Phi`: small coarse spaces (``n N_0 <= 2^20``) use the dense
        :math:`\Phi`; larger ones gather and scatter on the padded supports of the basis functions (memory
        :math:`O(n)`; no ``h``)."""
        if self.Phi_dense is not None:
            return self.Phi_dense @ (self.Q0 @ (self.K0.T @ (self.Phi_dense.T @ F)))
        C = (F[self.cidx] * self.cval[:, :, None]).sum(1)           # Phi^T F, (N0, batch)
        C = self.Q0 @ (self.K0.T @ C)
        Y = (self.cval[:, :, None] * C[:, None, :]).reshape(-1, F.shape[1])
        return F.new_zeros(F.shape).index_add(0, self.cidx.reshape(-1), Y)

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`M_\theta^{-1}F` for right-hand sides stored as the columns of ``F`` (shape ``(n, batch)``).

        The path used by :mod:`ddlib.training`. With the hat coarse space (or none) on a
        :class:`~ddlib.decomposition.Decomposition`, both levels run in one pass of the window layout
        (:meth:`_window_apply`, ``h`` folded into the factors); otherwise the local level does and the coarse level
        takes the general gather path; ``implementation="gather"`` forces the general path for both.
        """
        local, coarse = self._window_local, self._window_coarse
        if (local or coarse) and self._fast():
            U = self._window_apply(F, local, coarse, self.h)
            if self.use_coarse and not coarse:
                U = U + self.coarse_part_gather(F) * self.h
            if self.use_local and not local:  # pragma: no cover  (the local level always has the window layout)
                U = U + self.local_part_gather(F) * self.h
            return U
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
