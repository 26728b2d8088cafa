r"""Softmax-free attention operators that act on a right-hand side ``f``, in any dimension (torch, float64).

Two operator classes (and the structured baseline of :mod:`ddlib.banded`), :class:`torch.nn.Module` s with
``forward(f)`` on a batch of shape ``(batch, n)`` (rows are
samples, as in :mod:`ddlib.data`) and ``apply_columns(F)`` on right-hand sides as columns ``(n, batch)``; each is
built on a :class:`ddlib.problem.Problem` and carries its quadrature weight :math:`w = h^d` in front, so the learned
products approximate the Green's function with entries of order one, independently of ``n``.

:class:`GlobalAttention`, the low-rank baseline
    .. math::  u = M_\theta^{-1} f = w\, Q K^T f, \qquad Q, K \in \mathbb{R}^{n\times r},\quad 2nr \text{ parameters.}

:class:`DDAttention`, the two-level domain-decomposition attention of the paper
    .. math::  u = M_\theta^{-1} f = w\Big(\Phi Q_0 K_0^T \Phi^T f
               + \sum_{i} R_i^T W^L_i\, Q_i K_i^T\, W^R_i R_i f\Big),

    on the boxes of a :class:`ddlib.decomposition.Decomposition` and with the fixed parts collected in a
    :class:`Structure` (partition of unity, weighting :math:`W^L_i, W^R_i`, coarse space :math:`\Phi`).
    :math:`Q_i, K_i \in \mathbb{R}^{n_i\times r}`, :math:`Q_0, K_0 \in \mathbb{R}^{N_0\times r_0}`:
    :math:`2r\sum_i n_i + 2N_0r_0` parameters. The paper's weighting is :math:`W^L_i = W^R_i = D_i^{1/2}`.

**One path for every dimension.** :class:`DDAttention` runs two passes over padded boxes, *restrict*
:math:`T_i = \tilde K_i^TR_iF` and *prolong* :math:`\sum_iR_i^T\tilde Q_iT_i`, with the weights folded into the
factors and the coarse basis on each box's core riding in a few extra columns of both (:mod:`ddlib._window`):
:meth:`DDAttention.gather_apply` gathers the boxes, multiplies with :func:`torch.bmm` and scatter-adds back, a chunk
of boxes at a time (memory :math:`O(n)`, no loop over subdomains). On a 1D decomposition whose boxes are windows of
a strided view (the interface rule, ``N >= 3``) :meth:`DDAttention.apply_columns` takes the sliding-window fast path
instead, once the right-hand sides are large enough to gain from it (no gather, no scatter, a hand-written backward),
which a test proves equal to the gather path.

Examples
--------
>>> import torch
>>> from ddlib.problem import Problem
>>> from ddlib.decomposition import Decomposition
>>> from ddlib.attention import DDAttention, GlobalAttention, Structure, schwarz_init
>>> P = Problem(63)
>>> dd = schwarz_init(DDAttention(Structure(Decomposition(P, 8, 1)), local_rank=7))
>>> bool(torch.allclose(dd.dense(), torch.as_tensor(P.inverse()), atol=1e-14))   # fact 4: exact at full rank
True
>>> GlobalAttention(P, 4).num_parameters(), dd.num_parameters() == dd.parameter_formula()
(504, True)
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import LinearOperator, eigsh, splu

from ._validate import check_choice, check_int, check_positive, env_int
from ._window import WINDOW_MIN_ENTRIES, GatherPlan, WindowPlan, core_columns, fold
from .decomposition import PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition
from .memory import check_dense
from .problem import Problem

__all__ = ["GlobalAttention", "DDAttention", "Structure", "schwarz_init", "eckart_young_init",
           "LOCAL_INVERSES", "configure_threads", "global_parameter_count", "dd_parameter_count",
           "operator_error", "DENSE_OPERATOR_MAX", "truncated_factors",
           "WINDOW_MIN_ENTRIES", "dense_operator_errors"]

#: Names accepted by :func:`schwarz_init`: the exact-decomposition blocks or the subdomain inverses.
LOCAL_INVERSES = ("element", "subdomain")
#: Largest ``n`` at which :func:`operator_error` forms the dense error matrix; above it, Lanczos.
DENSE_OPERATOR_MAX = 511


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


def dd_parameter_count(rows: int, local_rank: int, N0: int = 0, coarse_rank: int = 0, *, symmetric: bool = False,
                       learned_coarse: bool = True) -> int:
    r"""Parameters of :class:`DDAttention`: :math:`c\,(r\,S + N_0r_0)`, :math:`c = 2` (``Q`` and ``K``) or 1 (tied).

    ``rows`` is the number of local factor rows :math:`S` (:meth:`Structure.local_rows`): :math:`\sum_i n_i`, or
    with shared factors the rows of one representative box per position class; a fixed (Galerkin) coarse block has
    no parameters.

    >>> dd_parameter_count(255 + 2 * 7, 4, 7, 7)     # 1D, n = 255, N = 8, delta = 1, r = 4, full coarse rank
    2250
    """
    r, S = check_int("local_rank", local_rank, low=0), check_int("rows", rows, low=0)
    N0, r0 = check_int("N0", N0, low=0), check_int("coarse_rank", coarse_rank, low=0, high=N0)
    return (1 if symmetric else 2) * (r * S + (N0 * r0 if learned_coarse else 0))


def truncated_factors(B: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Factors :math:`Q, K \in \mathbb{R}^{m\times r}` with :math:`QK^T = [B]_r`, the best rank-``r`` approximation.

    For symmetric ``B`` the truncated eigendecomposition :math:`B \approx V_r\Lambda_r V_r^T` (largest
    :math:`|\lambda|`) gives :math:`Q = V_r|\Lambda_r|^{1/2}`, :math:`K = V_r\,\mathrm{sign}(\Lambda_r)|\Lambda_r|^{1/2}`;
    otherwise the truncated SVD gives :math:`Q = U_r\Sigma_r^{1/2}`, :math:`K = V_r\Sigma_r^{1/2}`. Ranks above
    ``min(B.shape)`` are padded with zero columns.
    """
    B = np.asarray(B, dtype=np.float64)
    rank = check_int("rank", rank, low=0)
    r = min(rank, min(B.shape))
    if B.shape[0] == B.shape[1] and np.allclose(B, B.T, rtol=0, atol=1e-13 * max(1.0, np.abs(B).max())):
        lam, V = np.linalg.eigh(0.5 * (B + B.T))
        order = np.argsort(-np.abs(lam))[:r]
        lam, V = lam[order], V[:, order]
        Q, K = V * np.sqrt(np.abs(lam)), V * (np.sign(lam) * np.sqrt(np.abs(lam)))
    else:
        U, s, Vt = np.linalg.svd(B, full_matrices=False)
        Q, K = U[:, :r] * np.sqrt(s[:r]), Vt[:r].T * np.sqrt(s[:r])
    pad = rank - r
    return np.pad(Q, ((0, 0), (0, pad))), np.pad(K, ((0, 0), (0, pad)))


def _generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(check_int("seed", seed, low=0))


class _Operator(torch.nn.Module):
    """Shared plumbing: the problem, batched input handling, the dense matrix, parameter counting."""

    def _setup(self, problem: Problem):
        if not isinstance(problem, Problem):
            raise ValueError(f"problem must be a ddlib.problem.Problem; got {type(problem).__name__}")
        self.problem, self.n, self.weight = problem, problem.n, problem.weight

    def _some_tensor(self) -> torch.Tensor:
        floats = (t for t in (*self.parameters(), *self.buffers()) if t.is_floating_point())
        return next(floats, torch.zeros((), dtype=torch.float64))

    @property
    def dtype(self) -> torch.dtype:
        return self._some_tensor().dtype

    @property
    def device(self) -> torch.device:
        return self._some_tensor().device

    def _check_columns(self, F) -> None:
        if not isinstance(F, torch.Tensor) or F.ndim != 2 or F.shape[0] != self.n:
            shape = tuple(F.shape) if hasattr(F, "shape") else type(F).__name__
            raise ValueError(f"F must be a tensor of shape (n, batch) with n = {self.n}; got {shape}")

    def forward(self, f) -> torch.Tensor:
        r"""Apply the operator to each row of ``f`` (shape ``(batch, n)`` or ``(n,)``, finite): ``apply_columns`` on
        the transposed view (no copy), returned as rows."""
        f = torch.as_tensor(f, dtype=self.dtype, device=self.device)
        single = f.ndim == 1
        f = f[None] if single else f
        if f.ndim != 2 or f.shape[1] != self.n:
            raise ValueError(f"f must have shape (batch, n) or (n,) with n = {self.n}; got shape {tuple(f.shape)}")
        if not bool(torch.isfinite(f.sum())) and not bool(torch.isfinite(f).all()):  # one cheap pass first
            raise ValueError("f must be finite; it holds NaN or infinite entries")
        u = self.apply_columns(f.T).T
        return u[0] if single else u

    def dense(self) -> torch.Tensor:
        r"""The ``n x n`` matrix :math:`M_\theta^{-1}` (the operator applied to the identity; no gradient)."""
        check_dense((self.n, self.n), "the dense operator matrix", "apply_columns on blocks of columns")
        with torch.no_grad():
            return self.apply_columns(torch.eye(self.n, dtype=self.dtype, device=self.device))

    def num_parameters(self) -> int:
        """Number of trainable scalars (padding and masked slots excluded)."""
        return sum(int(p.numel()) for p in self.parameters())


class GlobalAttention(_Operator):
    r"""Global softmax-free low-rank attention :math:`u = w\,QK^T f`, :math:`Q, K\in\mathbb{R}^{n\times r}`.

    Parameters
    ----------
    problem : Problem
        The grid (``n`` and the quadrature weight :math:`w = h^d`).
    rank : int
        ``1 <= rank <= n``.
    symmetric : bool
        Tie the factors, :math:`Q = K`: :math:`w\,KK^T` is symmetric positive semi-definite, :math:`nr` parameters.
    init_scale, seed : float, int
        Entries :math:`\mathcal N(0, s^2)`, ``s = init_scale``, from a generator seeded by ``seed``
        (:func:`eckart_young_init` sets the best rank-``r`` operator instead).
    """

    def __init__(self, problem: Problem, rank: int, *, symmetric: bool = False, init_scale: float = 0.1,
                 seed: int = 0):
        super().__init__()
        self._setup(problem)
        self.rank, self.symmetric = check_int("rank", rank, low=1, high=self.n), bool(symmetric)
        s, g = check_positive("init_scale", init_scale), _generator(seed)
        self.K = torch.nn.Parameter(torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s)
        self.Q = None if self.symmetric else torch.nn.Parameter(
            torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s)

    def extra_repr(self) -> str:
        return f"n={self.n}, rank={self.rank}, symmetric={self.symmetric}, parameters={self.num_parameters()}"

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Q, K)``; the same tensor twice when the factors are tied."""
        return (self.K if self.symmetric else self.Q), self.K

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`w\,QK^TF` for right-hand sides stored as the columns of ``F`` (shape ``(n, batch)``)."""
        self._check_columns(F)
        Q, K = self.factors()
        return Q @ (K.T @ F) * self.weight

    def parameter_formula(self) -> int:
        return global_parameter_count(self.n, self.rank, symmetric=self.symmetric)


def eckart_young_init(model: GlobalAttention) -> GlobalAttention:
    r"""Set :math:`QK^T = [A^{-1}/w]_r`, the best rank-``r`` operator (Eckart-Young; error :math:`\lambda_1/\lambda_{r+1}`
    in the operator norm). Dense: small ``n`` only."""
    Qn, Kn = truncated_factors(model.problem.inverse() / model.weight, model.rank)
    with torch.no_grad():  # A^{-1} is positive definite, so Q = K for the tied factors
        model.K.copy_(torch.as_tensor(Kn))
        if not model.symmetric:
            model.Q.copy_(torch.as_tensor(Qn))
    return model


class Structure:
    r"""The fixed parts of a :class:`DDAttention`: boxes, weights and coarse space, in the padded gather layout.

    Parameters
    ----------
    decomposition : Decomposition
    partition : {"multiplicity", "ramp", "boolean"}
        The partition of unity :math:`D_i`.
    weighting : {"sqrt", "left", "none"}
        :math:`(W^L_i, W^R_i)` = :math:`(D_i^{1/2}, D_i^{1/2})` (the paper), :math:`(D_i, I)` or :math:`(I, I)`
        (:data:`ddlib.decomposition.WEIGHTINGS`, the names of :func:`ddlib.schwarz.schwarz_preconditioner`).
    coarse : str or sparse matrix
        A coarse space by name (:data:`ddlib.decomposition.COARSE_SPACES`, built with ``coarse_options``; ``"none"``:
        one level), or :math:`\Phi` itself.
    """

    def __init__(self, decomposition: Decomposition, partition: str = "multiplicity", weighting: str = "sqrt",
                 coarse="hat", **coarse_options):
        if not isinstance(decomposition, Decomposition):
            raise ValueError(f"decomposition must be a ddlib.decomposition.Decomposition; got {type(decomposition)}")
        dec = self.decomposition = decomposition
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        if isinstance(coarse, str) and coarse in ("nicolaides", "spectral"):
            coarse_options.setdefault("partition", partition)
        self.coarse = coarse if isinstance(coarse, str) else "given"
        self.Phi = (dec.coarse_space(coarse, **coarse_options) if isinstance(coarse, str)
                    else sp.csr_matrix(coarse, dtype=np.float64))
        if self.Phi.shape[0] != dec.n:
            raise ValueError(f"coarse must be a name or an n x N_0 matrix with n = {dec.n}; got {self.Phi.shape}")
        self.N0 = self.Phi.shape[1]
        self.wl, self.wr = dec.padded_weights(partition, weighting)
        # box position class per axis (0 first, 1 interior, 2 last), combined: the classes of shared factors
        pos = np.minimum(np.arange(dec.N), 1) + (np.arange(dec.N) == dec.N - 1) * (dec.N > 1)
        self.box_class = dec._outer(pos[:, None], lambda a, b: a * 3 + b)[:, 0]
        self.core_index, self.core_values = core_columns(dec, self.Phi)
        self.gather = GatherPlan(dec.padded_indices, dec.n)
        ok = dec.split == "interface" and dec.N >= 3 and dec.m == dec.N * (dec.box or 0) - 1 and dec.n == dec.m
        self.windows = WindowPlan(dec.N, dec.box, dec.delta, dec.n) if ok else None

    def __repr__(self) -> str:
        return (f"Structure({self.decomposition!r}, partition={self.partition!r}, weighting={self.weighting!r}, "
                f"coarse={self.coarse!r}, N0={self.N0})")

    def local_rows(self, shared: bool = False) -> int:
        """Local factor rows: :math:`\\sum_i n_i`, or one representative box per position class when shared."""
        sizes = self.decomposition.sizes
        if not shared:
            return int(sizes.sum())
        return int(sum(sizes[np.flatnonzero(self.box_class == c)[0]] for c in np.unique(self.box_class)))

    def galerkin(self) -> sp.csc_matrix:
        r"""The Galerkin coarse matrix :math:`A_0 = \Phi^TA\Phi` (sparse)."""
        A = self.decomposition.problem.matrix()
        return (self.Phi.T @ (A @ self.Phi)).tocsc()


class _FixedSolve(torch.autograd.Function):
    """``C = A0^{-1} S / w`` with a fixed sparse SPD ``A0`` (factorized once): the Galerkin coarse block, in forward
    and backward (symmetric)."""

    @staticmethod
    def forward(S, lu, scale):
        return _FixedSolve.solve(lu, scale, S)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.lu, ctx.scale = inputs[1], inputs[2]

    @staticmethod
    def vmap(info, in_dims, S, lu, scale):
        """Under :func:`torch.func.vmap` (:mod:`ddlib.batched`): the members' columns side by side, one solve."""
        if in_dims[0] is None:
            return _FixedSolve.apply(S, lu, scale), None
        S = S.movedim(in_dims[0], -1)                                          # (N0, columns, members)
        return _FixedSolve.apply(S.reshape(S.shape[0], -1), lu, scale).reshape(S.shape), S.ndim - 1

    @staticmethod
    def solve(lu, scale, S):
        X = lu.solve(np.ascontiguousarray(S.detach().cpu().double().numpy()))
        return torch.as_tensor(X * scale, dtype=S.dtype, device=S.device)

    @staticmethod
    def backward(ctx, G):
        return _FixedSolve.apply(G, ctx.lu, ctx.scale), None, None


class DDAttention(_Operator):
    r"""Two-level domain-decomposition attention (see the module docstring for the formula).

    Parameters
    ----------
    structure : Structure
        Boxes, weights and coarse space.
    local_rank : int
        Rank ``r`` of every local block, ``0 <= r <= n_max`` (0: no local level, the coarse-only ablation).
    coarse_rank : int, optional
        Rank ``r_0`` of the coarse block, ``0 <= r_0 <= N_0``; default ``N_0`` (0: no coarse level).
    symmetric : bool
        Tie the factors, :math:`Q_i = K_i`, :math:`Q_0 = K_0`: symmetric positive semi-definite for every parameter
        value (needs ``weighting`` ``"sqrt"`` or ``"none"``).
    shared : bool
        Translation-invariant local factors: one :math:`Q, K` per box *position class* (first, interior or last
        along each axis: 3 classes in 1D, 9 in 2D), so the local parameters do not grow with ``n`` at fixed
        :math:`H/h`, and a trained model applies at any other ``n`` (:meth:`transfer_to`).
    learned_coarse : bool
        ``True``: :math:`Q_0, K_0` are parameters; ``False``: the coarse block is fixed to the Galerkin
        :math:`A_0^{-1}/w` (exact sparse solves at full rank, else its truncated eigendecomposition).
    init_scale, seed : float, int
        Random initialisation :math:`\mathcal N(0, s^2)` from a seeded generator (:func:`schwarz_init` sets the
        classical blocks instead).
    """

    def __init__(self, structure: Structure, local_rank: int, coarse_rank: int | None = None, *,
                 symmetric: bool = False, shared: bool = False, learned_coarse: bool = True,
                 init_scale: float = 0.1, seed: int = 0):
        super().__init__()
        if not isinstance(structure, Structure):
            raise ValueError(f"structure must be a ddlib.attention.Structure; got {type(structure).__name__}")
        self.structure, dec = structure, structure.decomposition
        self._setup(dec.problem)
        self.decomposition = dec
        self.symmetric, self.shared, self.learned_coarse = bool(symmetric), bool(shared), bool(learned_coarse)
        self.local_rank = check_int("local_rank", local_rank, low=0, high=dec.n_max)
        self.coarse_rank = structure.N0 if coarse_rank is None else check_int("coarse_rank", coarse_rank, low=0,
                                                                               high=structure.N0)
        if self.local_rank == 0 and self.coarse_rank == 0:
            raise ValueError("local_rank and coarse_rank must not both be 0 (or the coarse space empty): no operator")
        if self.symmetric and structure.weighting == "left":
            raise ValueError("weighting must be 'sqrt' or 'none' when symmetric=True; got 'left'")
        self._check_shared()
        #: extra factor of shared local factors, box h^2 / w: their blocks are then independent of n at fixed H/h
        self.local_scale = float(dec.box * dec.h**2 / self.weight) if self.shared else 1.0
        self._buffers_from(structure)
        self._init_random(check_positive("init_scale", init_scale), _generator(seed))

    def _check_shared(self) -> None:
        s = self.structure
        if not self.shared:
            return
        if s.decomposition.N < 3 or s.decomposition.box is None:
            raise ValueError(f"shared=True needs N >= 3 and the interface split; got N = {s.decomposition.N}")
        for w in (s.wl, s.wr):
            for c in np.unique(s.box_class):
                if not np.allclose(w[s.box_class == c], w[s.box_class == c][:1]):
                    raise ValueError(f"shared=True needs the same weights on every box of a position class; with "
                                     f"delta = {s.decomposition.delta} nodes near the ends belong to three boxes: use "
                                     f"delta < H/(2h) = {s.decomposition.box / 2:g}")

    def _buffers_from(self, s: Structure) -> None:
        dec = s.decomposition
        self.register_buffer("idx", torch.as_tensor(dec.padded_indices), persistent=False)
        self.register_buffer("wl", torch.as_tensor(s.wl), persistent=False)
        self.register_buffer("wr", torch.as_tensor(s.wr), persistent=False)
        self.register_buffer("core_index", torch.as_tensor(s.core_index), persistent=False)
        self.register_buffer("core_values", torch.as_tensor(s.core_values), persistent=False)
        classes = np.unique(s.box_class)
        self.register_buffer("cls", torch.as_tensor(np.searchsorted(classes, s.box_class)), persistent=False)
        self._lu = None
        if self.coarse_rank and not self.learned_coarse and self.coarse_rank == s.N0:
            self._lu = splu(s.galerkin())

    def _init_random(self, scale: float, g: torch.Generator) -> None:
        dec, s = self.decomposition, self.structure
        boxes = int(self.cls.max()) + 1 if self.shared else dec.n_sub
        mask = torch.as_tensor(dec.mask, dtype=torch.float64)[:, :, None]
        rep = torch.as_tensor([int(np.flatnonzero(self.cls.numpy() == c)[0]) for c in range(boxes)]) \
            if self.shared else torch.arange(dec.n_sub)
        shape = (boxes, dec.n_max, self.local_rank)
        names = ("K",) if self.symmetric else ("Q", "K")
        for name in names:
            t = torch.randn(shape, generator=g, dtype=torch.float64) * scale * mask[rep]
            setattr(self, name, torch.nn.Parameter(t) if self.local_rank else None)
        if self.symmetric:
            self.Q = None
        for name in ("Q0", "K0"):
            t = torch.randn(s.N0, self.coarse_rank, generator=g, dtype=torch.float64) * scale
            learned = self.coarse_rank and self.learned_coarse and not (self.symmetric and name == "Q0")
            setattr(self, name, torch.nn.Parameter(t) if learned else None)
        if self.coarse_rank and not self.learned_coarse and self._lu is None:
            Q0, K0 = truncated_factors(np.linalg.inv(s.galerkin().toarray()) / self.weight, self.coarse_rank)
            self.register_buffer("Q0_fixed", torch.as_tensor(Q0), persistent=False)
            self.register_buffer("K0_fixed", torch.as_tensor(K0), persistent=False)

    def extra_repr(self) -> str:
        return (f"{self.structure!r}, local_rank={self.local_rank}, coarse_rank={self.coarse_rank}, "
                f"symmetric={self.symmetric}, shared={self.shared}, learned_coarse={self.learned_coarse}, "
                f"parameters={self.num_parameters()}")

    # ------------------------------------------------------------------------------------------------ factors
    def local_factors(self) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
        r"""The local factors :math:`(Q_i)_i, (K_i)_i` as padded ``(N^d, n_max, r)`` tensors (differentiable; shared
        factors repeated per box; tied factors the same tensor twice)."""
        if not self.local_rank:
            return None, None
        K = self.K[self.cls] if self.shared else self.K
        Q = K if self.symmetric else (self.Q[self.cls] if self.shared else self.Q)
        return Q, K

    def coarse_factors(self) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
        r"""The coarse factors :math:`Q_0, K_0` (``N_0 x r_0``; learned, or the fixed Galerkin ones)."""
        if not self.coarse_rank:
            return None, None
        if self.learned_coarse:
            return (self.K0 if self.symmetric else self.Q0), self.K0
        if self._lu is not None:
            Q0, K0 = truncated_factors(np.linalg.inv(self.structure.galerkin().toarray()) / self.weight,
                                       self.coarse_rank)
            return torch.as_tensor(Q0, dtype=self.dtype), torch.as_tensor(K0, dtype=self.dtype)
        return self.Q0_fixed, self.K0_fixed

    def _coarse_step(self, scale: float = 1.0):
        r"""What maps :math:`\Phi^TF` to ``scale`` times the coarse coefficients: a pair ``(scale Q0, K0)`` or the
        fixed exact solve :math:`S \mapsto \mathrm{scale}\,A_0^{-1}S/w` (a callable)."""
        if self._lu is not None:
            return lambda S: _FixedSolve.apply(S, self._lu, scale / self.weight)
        Q0, K0 = self.coarse_factors()
        return Q0 * scale, K0

    # ----------------------------------------------------------------------------------------------- apply
    def _operands(self) -> tuple[torch.Tensor, torch.Tensor, object]:
        r"""``(K~, Q~, step)``: :math:`\tilde K_i = [W^R_iK_i \mid \Phi^{core}_i]`,
        :math:`\tilde Q_i = [w\,s\,W^L_iQ_i \mid \Phi^{core}_i]` (``(N^d, n_max, r + k)``,
        :func:`ddlib._window.core_columns`) and the coarse step times ``w``; cached while grad is off, keyed on the
        parameters' storage and version counters (an update invalidates them)."""
        key = None
        if not torch.is_grad_enabled() and all(isinstance(p, torch.nn.Parameter) for p in self.parameters()):
            # (parameters passed in by torch.func.functional_call are not cached)
            key = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in (*self.parameters(), *self.buffers()))
            if self.__dict__.get("_operands_key") == key:
                return self.__dict__["_operands_value"]
        V = self.core_values if self.coarse_rank else self.core_values[:, :, :0]
        Kw = Qw = V
        if self.local_rank:
            Q, K = (self.K if self.symmetric else self.Q), self.K
            cls = self.cls if self.shared else None
            Kw = fold(K, cls, self.wr[:, :, None], V)
            Qw = fold(Q, cls, self.wl[:, :, None] * (self.weight * self.local_scale), V)
        ops = (Kw, Qw, self._coarse_step(self.weight) if self.coarse_rank else None)
        if key is not None:
            self.__dict__["_operands_key"], self.__dict__["_operands_value"] = key, ops
        return ops

    def _passes(self, F: torch.Tensor, plan, local: bool = True, coarse: bool = True) -> torch.Tensor:
        r"""Both passes of ``plan`` (:mod:`ddlib._window`) with the local and/or the coarse columns: restrict
        :math:`T_i = \tilde K_i^TR_iF`, the coarse step on :math:`\Phi^TF` (scatter of the core columns of ``T``),
        prolong :math:`\sum_iR_i^T\tilde Q_iT_i`."""
        self._check_columns(F)
        Kw, Qw, step = self._operands()
        r = self.local_rank if local else 0
        cols = slice(0 if local else self.local_rank, Kw.shape[2] if coarse else self.local_rank)
        T = plan.restrict(F, Kw[:, :, cols])
        if coarse and self.coarse_rank:
            index = self.core_index
            B, N0 = F.shape[1], self.structure.N0
            S = T.new_zeros(N0 + 1, B).index_add(0, index.reshape(-1), T[:, r:].reshape(-1, B))[:N0]   # Phi^T F
            C = step(S) if callable(step) else step[0] @ (step[1].T @ S)
            T = torch.cat([T[:, :r], torch.cat([C, C.new_zeros(1, B)])[index]], 1)
        return plan.prolong(Qw[:, :, cols], T)

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`M_\theta^{-1}F` for right-hand sides stored as the columns of ``F`` (shape ``(n, batch)``, any
        strides): the window fast path where the structure allows it (1D) and ``F`` is large enough to gain from it
        (:data:`ddlib._window.WINDOW_MIN_ENTRIES`), else :meth:`gather_apply`."""
        self._check_columns(F)
        windows = self.structure.windows
        large = windows is not None and F.numel() >= WINDOW_MIN_ENTRIES
        return self._passes(F, windows if large else self.structure.gather)

    def gather_apply(self, F: torch.Tensor) -> torch.Tensor:
        r"""The generic path of every dimension: :math:`w(\Phi Q_0K_0^T\Phi^TF + \sum_i R_i^TW^L_iQ_iK_i^TW^R_iR_iF)`
        with :math:`R_iF` as ``F[padded_indices]``, two batched products and one ``index_add``."""
        return self._passes(F, self.structure.gather)

    def local_part(self, F: torch.Tensor, weighted: bool = False) -> torch.Tensor:
        r""":math:`\sum_i R_i^T W^L_i Q_iK_i^T W^R_i R_i F` (times ``w`` with ``weighted``)."""
        if not self.local_rank:
            return torch.zeros_like(F)
        U = self._passes(F, self.structure.gather, coarse=False)
        return U if weighted else U / self.weight

    def coarse_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi Q_0K_0^T\Phi^TF` (no ``w``)."""
        if not self.coarse_rank:
            return torch.zeros_like(F)
        return self._passes(F, self.structure.gather, local=False) / self.weight

    # -------------------------------------------------------------------------------------------- analysis
    def local_blocks(self) -> list[np.ndarray]:
        r"""The learned local matrices :math:`w\,W^L_iQ_iK_i^TW^R_i` (``n_i x n_i``; in units of :math:`A^{-1}`)."""
        if not self.local_rank:
            return []
        with torch.no_grad():
            Q, K = (t[:, :, :self.local_rank].cpu().numpy() for t in self._operands()[1::-1])
        mask = self.decomposition.mask
        return [Q[i, mask[i]] @ K[i, mask[i]].T for i in range(self.decomposition.n_sub)]

    def coarse_block(self) -> np.ndarray:
        r"""The coarse matrix :math:`w\,Q_0K_0^T` (``N_0 x N_0``; compare with :math:`A_0^{-1}`)."""
        Q0, K0 = self.coarse_factors()
        if Q0 is None:
            return np.zeros((0, 0))
        with torch.no_grad():
            return self.weight * (Q0 @ K0.T).cpu().numpy()

    def parameter_formula(self) -> int:
        return dd_parameter_count(self.structure.local_rows(self.shared), self.local_rank, self.structure.N0,
                                  self.coarse_rank, symmetric=self.symmetric, learned_coarse=self.learned_coarse)

    def num_parameters(self) -> int:
        """Trainable scalars: local factor rows inside the boxes (padding excluded) and the learned coarse block."""
        rows = self.structure.local_rows(self.shared)
        learned = self.coarse_rank and self.learned_coarse
        return (1 if self.symmetric else 2) * (self.local_rank * rows + (self.structure.N0 * self.coarse_rank
                                                                          if learned else 0))

    def transfer_to(self, structure: Structure) -> "DDAttention":
        r"""The same trained operator on another grid with the same :math:`H/h`, overlap, weights and coarse space
        (``shared=True`` with a fixed Galerkin coarse block, or none): the shared factors are copied unchanged."""
        d = structure.decomposition if isinstance(structure, Structure) else None
        if not self.shared or (self.coarse_rank and self.learned_coarse):
            raise ValueError("transfer_to needs shared=True and learned_coarse=False (or no coarse level)")
        old = self.decomposition
        if d is None or (d.box, d.delta, d.dim) != (old.box, old.delta, old.dim):
            raise ValueError(f"structure must have H/h = {old.box}, delta = {old.delta} and dim = {old.dim} like "
                             "this model's")
        rank0 = None if self.coarse_rank == self.structure.N0 else self.coarse_rank
        other = DDAttention(structure, self.local_rank, rank0 if self.coarse_rank else 0, symmetric=self.symmetric,
                            shared=True, learned_coarse=False)
        other.load_state_dict(self.state_dict())
        return other.to(self.dtype)


def schwarz_init(model: DDAttention, local_inverse: str = "element") -> DDAttention:
    r"""Set the factors of ``model`` to truncated classical blocks (in place; returns the model).

    The coarse block (if learned) becomes the truncated eigendecomposition of :math:`A_0^{-1}/w`; the local blocks
    truncated eigendecompositions of either

    * ``"element"``: :math:`A_E^{-1}` on the nodes strictly inside coarse element ``E = i``, embedded in box ``i`` and
      divided by the weights, :math:`Q_iK_i^T = (W^L_i)^{-1}P_E[A_E^{-1}]_rP_E^T(W^R_i)^{-1}/(w s)`. In 1D with the
      hat coarse space and full local rank this reproduces :math:`A^{-1}` exactly (fact 4);
    * ``"subdomain"``: :math:`Q_iK_i^T = [A_i^{-1}]_r/(w s)` with :math:`A_i = R_iAR_i^T`: at full rank the classical
      two-level additive Schwarz preconditioner (symmetric for the weightings ``"sqrt"`` and ``"none"``).
    """
    check_choice("local_inverse", local_inverse, LOCAL_INVERSES)
    dec, s = model.decomposition, model.structure
    A = dec.problem.matrix()
    with torch.no_grad():
        if model.local_rank:
            Q, K = _classical_local(model, A, local_inverse)
            boxes = np.arange(dec.n_sub)
            if model.shared:
                boxes = np.array([int(np.flatnonzero(model.cls.numpy() == c)[0]) for c in range(model.K.shape[0])])
            model.K.copy_(torch.as_tensor(K[boxes]))
            if not model.symmetric:
                model.Q.copy_(torch.as_tensor(Q[boxes]))
        if model.coarse_rank and model.learned_coarse:
            Q0, K0 = truncated_factors(np.linalg.inv(s.galerkin().toarray()) / model.weight, model.coarse_rank)
            model.K0.copy_(torch.as_tensor(K0))
            if not model.symmetric:
                model.Q0.copy_(torch.as_tensor(Q0))
    return model


def _classical_local(model: DDAttention, A, local_inverse: str) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(N^d, n_max, r)`` factors of the truncated classical local blocks (initialisation only)."""
    dec, s = model.decomposition, model.structure
    r, c = model.local_rank, model.weight * model.local_scale
    Q, K = np.zeros((dec.n_sub, dec.n_max, r)), np.zeros((dec.n_sub, dec.n_max, r))
    blocks = dec.elements() if local_inverse == "element" else dec.indices
    for i, nodes in enumerate(blocks):  # a loop over subdomains is fine for an initialisation
        if nodes.size == 0:
            continue
        Qe, Ke = truncated_factors(np.linalg.inv(A[nodes][:, nodes].toarray()) / c, r)
        real = np.flatnonzero(dec.mask[i])                      # padded slots of the box's nodes, ascending
        slots = real[np.searchsorted(dec.padded_indices[i, real], nodes)]
        if local_inverse == "element":  # every partition is positive inside the element
            Qe, Ke = Qe / s.wl[i, slots, None], Ke / s.wr[i, slots, None]
        Q[i, slots], K[i, slots] = Qe, Ke
    return Q, K


def operator_error(M, problem: Problem | None = None) -> float:
    r"""Relative operator error :math:`\|M - A^{-1}\|_2 / \|A^{-1}\|_2` of an operator module (anything with
    ``apply_columns`` and ``problem``) or of a dense ``n x n`` matrix with its ``problem``.

    :math:`\|E\|_2 = \lambda_{\max}(E^TE)^{1/2}`, :math:`E = M - A^{-1}`: up to :data:`DENSE_OPERATOR_MAX` unknowns by a
    dense symmetric eigensolver; above, for a module, by Lanczos (ARPACK ``eigsh``, relative tolerance ``1e-10``) on
    :math:`E^TE` with :math:`A^{-1}x` by :meth:`ddlib.problem.Problem.solve` and :math:`M^Tx` as a vector-Jacobian
    product of ``apply_columns``: :math:`O(n)` memory. :math:`\|A^{-1}\|_2` is :meth:`Problem.norm_inverse`.
    """
    if hasattr(M, "apply_columns"):
        problem = M.problem
        if problem.n > DENSE_OPERATOR_MAX:
            return _operator_error_lanczos(M)
        M = M.dense()
    if not isinstance(problem, Problem):
        raise ValueError("problem must be given (a ddlib.problem.Problem) with a dense matrix M")
    M = torch.as_tensor(M.detach() if isinstance(M, torch.Tensor) else np.asarray(M, dtype=np.float64))
    M = M.to(device="cpu", dtype=torch.float64)
    if M.ndim != 2 or tuple(M.shape) != (problem.n, problem.n):
        raise ValueError(f"M must be a square n x n matrix with n = {problem.n}; got shape {tuple(M.shape)}")
    return float(dense_operator_errors(M[None], problem)[0])


def dense_operator_errors(Ms: torch.Tensor, problem: Problem) -> np.ndarray:
    r""":math:`\|M_j - A^{-1}\|_2/\|A^{-1}\|_2` for a stack of dense matrices ``Ms`` ``(k, n, n)``: the largest
    eigenvalue of :math:`E_j^TE_j` by a dense symmetric eigensolver, one batched call (:func:`operator_error`'s dense
    branch; :mod:`ddlib.batched` evaluates its members with it)."""
    E = Ms.detach().to(device="cpu", dtype=torch.float64) - torch.from_numpy(problem.inverse())
    top = torch.linalg.eigvalsh(E.mT @ E)[:, -1].clamp_min(0.0)
    return (torch.sqrt(top) / problem.norm_inverse()).numpy()


def _operator_error_lanczos(model) -> float:
    problem, n = model.problem, model.problem.n
    kw = dict(dtype=model.dtype, device=model.device)

    def error_times(x):  # E x = M x - A^{-1} x
        with torch.no_grad():
            y = model.apply_columns(torch.as_tensor(x[:, None], **kw))[:, 0].double().cpu().numpy()
        return y - problem.solve(x)

    def error_transpose_times(x):  # E^T x = M^T x - A^{-1} x, M^T x = d/dz <x, M z>
        z = torch.zeros(n, 1, requires_grad=True, **kw)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(model.apply_columns(z), z, grad_outputs=torch.as_tensor(x[:, None], **kw))
        return g[:, 0].double().cpu().numpy() - problem.solve(x)

    op = LinearOperator((n, n), matvec=lambda v: error_transpose_times(error_times(np.ravel(v))), dtype=np.float64)
    top = eigsh(op, k=1, which="LA", tol=1e-10, return_eigenvectors=False, v0=np.ones(n))[0]
    return float(math.sqrt(max(top, 0.0)) / problem.norm_inverse())
