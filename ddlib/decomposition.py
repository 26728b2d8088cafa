r"""Overlapping box decompositions of the grid of a :class:`ddlib.problem.Problem` in any dimension: subdomains,
restrictions :math:`R_i`, partitions of unity :math:`D_i` and coarse spaces :math:`\Phi`.

**Boxes.** Each axis of the ``m``-node grid is split into ``N`` blocks of nodes (:class:`Split`); the subdomains are
the :math:`N^d` products of one block per axis, each extended by ``delta`` node layers per side and direction
(clipped at the boundary). Two rules place the splits:

``"interface"`` (default)
    ``N`` divides the ``m + 1`` mesh intervals; a block holds :math:`H/h = (m+1)/N` nodes (the last one
    :math:`H/h - 1`), block ``i`` is nodes ``i H/h .. (i+1) H/h - 1`` (0-based), so the coarse nodes :math:`x = kH`
    (node ``k H/h - 1``) are the last node of each block;
``"round"``
    any ``N``: block ``i`` is nodes ``round(i m/N) .. round((i+1) m/N) - 1`` (NumPy's rounding, half to even).

:math:`R_i \in \{0,1\}^{n_i\times n}` picks the nodes of subdomain ``i``; a partition of unity is a set of diagonal
:math:`D_i \ge 0` with :math:`\sum_i R_i^TD_iR_i = I` (:meth:`Decomposition.partition_of_unity`). Every object is a
tensor product of its 1D factors, so one implementation serves d = 1, 2 and 3.

**Padded layout.** Vectorized code uses :attr:`Decomposition.padded_indices` (shape ``(N^d, n_max)``) with
:attr:`Decomposition.mask`: gather with ``x[..., padded_indices] * mask``, scatter-add back with ``index_add`` or
:func:`numpy.add.at`. In 1D with the interface rule the boxes are also windows of ``H/h + 2 delta`` nodes with step
``H/h``, which :mod:`ddlib.attention` exploits as a fast path.

**Coarse spaces** (:func:`coarse_space`) are functions (decomposition, options) -> sparse :math:`\Phi` (``n x N_0``),
registered by name in :data:`COARSE_SPACES`: ``"hat"`` (tensor-product hats, Q1 in 2D), ``"nicolaides"``,
``"spectral"`` (local Neumann eigenvectors of the constant-coefficient box), ``"none"``; spectral spaces that read
the coefficient (``"geneo"``, :mod:`ddlib.geneo`, imported at the end of this module) register themselves the same
way. :math:`A_0 = \Phi^TA\Phi` (Galerkin).

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import Problem
>>> from ddlib.decomposition import Decomposition
>>> dec = Decomposition(Problem(15), N=4, delta=1)
>>> [list(map(int, idx + 1)) for idx in dec.indices][:2]   # 1-based node numbers of subdomains 0 and 1
[[1, 2, 3, 4, 5], [4, 5, 6, 7, 8, 9]]
>>> D = dec.partition_of_unity("multiplicity")
>>> bool(np.allclose(sum(R.T @ (d * (R @ np.ones(15))) for R, d in zip(dec.restrictions(), D)), 1.0))
True
>>> dec3 = Decomposition(Problem((7, 7, 7)), N=2, delta=1)        # eight overlapping boxes of the cube
>>> dec3.n_sub, dec3.coarse_space("hat").shape, int(dec3.sizes.max())
(8, (343, 1), 125)
"""
from __future__ import annotations

from functools import cached_property
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ._validate import check_choice, check_int
from .problem import Problem

__all__ = ["Split", "Decomposition", "PARTITIONS_OF_UNITY", "WEIGHTINGS", "SPLITS", "COARSE_SPACES",
           "register_coarse_space", "coarse_space", "padded_support"]

#: Names accepted by :meth:`Decomposition.partition_of_unity`.
PARTITIONS_OF_UNITY = ("multiplicity", "ramp", "boolean")
#: How a local block is weighted, :math:`R_i^T W^L_i (\cdot) W^R_i R_i` (:meth:`Decomposition.padded_weights`), in
#: :mod:`ddlib.schwarz` and :mod:`ddlib.attention` alike: ``"none"`` (additive Schwarz), ``"left"``
#: (:math:`W^L = D_i`: restricted additive Schwarz), ``"sqrt"`` (:math:`D_i^{1/2}` on both sides: the paper's form).
WEIGHTINGS = ("none", "left", "sqrt")
#: Rules that place the block boundaries of a :class:`Split`.
SPLITS = ("interface", "round")


class Split:
    r"""The 1D factor of a decomposition: ``N`` blocks of the ``m`` nodes of one axis, each extended by ``delta``.

    Parameters
    ----------
    m : int
        Nodes of the axis (``h = 1/(m+1)``).
    N : int
        Blocks, each of at least two nodes; with ``rule="interface"`` ``N`` must divide ``m + 1``.
    delta : int
        Overlap in nodes per side, at most the smallest block size minus one.
    rule : {"interface", "round"}
        Where the blocks end (module docstring).

    Examples
    --------
    >>> s = Split(15, 4, 1)
    >>> s.block_bounds.tolist(), s.bounds.tolist()[1], s.box
    ([[0, 4], [4, 8], [8, 12], [12, 15]], [3, 9], 4)
    >>> Split(31, 4, 1, rule="round").block_bounds[:, 0].tolist()   # round(k 31/4) = 0, 8, 16, 23
    [0, 8, 16, 23]
    """

    def __init__(self, m: int, N: int, delta: int = 1, rule: str = "interface"):
        self.m = check_int("m", m, low=1)
        self.rule = check_choice("split", rule, SPLITS)
        self.N = check_int("N", N, low=1, high=max(1, (self.m + 1) // 2 if rule == "interface" else self.m // 2))
        if rule == "interface" and (self.m + 1) % self.N:
            divisors = [k for k in range(1, (self.m + 1) // 2 + 1) if (self.m + 1) % k == 0]
            raise ValueError(f"N must divide the m + 1 = {self.m + 1} mesh intervals of an axis (split "
                             f"'interface'); got N = {self.N} (valid N for m = {self.m}: {divisors}; or "
                             f"split='round')")
        self.box = (self.m + 1) // self.N if rule == "interface" else None
        ends = (np.arange(self.N + 1) * self.box if rule == "interface"
                else np.round(np.arange(self.N + 1) * self.m / self.N).astype(np.int64))
        ends[-1] = self.m
        self.block_bounds = np.stack([ends[:-1], ends[1:]], axis=1)
        # a subdomain may not reach past its neighbouring block (with the interface rule the last block, one node
        # short, may be covered up to the boundary)
        smallest = self.box if rule == "interface" else int(np.diff(ends).min())
        self.delta = check_int("delta", delta, low=0)
        if self.delta > smallest - 1 and self.N > 1:
            raise ValueError(f"delta must be an integer in [0, {smallest - 1}] for m = {self.m}, N = {self.N}: "
                             f"a subdomain may not reach past its neighbouring block of {smallest} nodes; got "
                             f"delta = {self.delta}")
        b = self.block_bounds
        self.bounds = np.stack([np.maximum(b[:, 0] - self.delta, 0), np.minimum(b[:, 1] + self.delta, self.m)], 1)
        self.sizes = self.bounds[:, 1] - self.bounds[:, 0]
        self.n_max = int(self.sizes.max())
        self.mask = np.arange(self.n_max)[None, :] < self.sizes[:, None]
        self.padded_indices = np.where(self.mask, self.bounds[:, :1] + np.arange(self.n_max)[None, :], 0)
        self.multiplicity = np.bincount(self.padded_indices[self.mask], minlength=self.m).astype(np.float64)

    @property
    def n_colors(self) -> int:
        r"""The fewest colours such that blocks ``i`` and ``i + c`` never share or neighbour a node (then they are
        :math:`A`-orthogonal: the stencil couples neighbours only)."""
        start, stop = self.bounds[:, 0], self.bounds[:, 1]
        return next(c for c in range(1, self.N + 1) if c == self.N or np.all(start[c:] >= stop[:-c] + 1))

    def weights(self, kind: str) -> np.ndarray:
        r"""The 1D partition of unity :math:`D_i` as an ``(N, n_max)`` array, zero on padding (the kinds of
        :meth:`Decomposition.partition_of_unity`)."""
        kind = check_choice("partition", kind, PARTITIONS_OF_UNITY)
        j = self.padded_indices
        if kind == "multiplicity":
            W = 1.0 / self.multiplicity[j]
        elif kind == "boolean":
            blk = self.block_bounds
            W = ((j >= blk[:, :1]) & (j < blk[:, 1:])).astype(float)
        else:  # ramp
            lo, hi = self.bounds[:, :1], self.bounds[:, 1:]
            d_left = np.where(lo == 0, np.inf, j - lo + 1)
            d_right = np.where(hi == self.m, np.inf, hi - j)
            chi = np.where(self.mask, np.minimum(1.0, np.minimum(d_left, d_right) / (2 * self.delta + 1)), 0.0)
            total = np.bincount(j[self.mask], weights=chi[self.mask], minlength=self.m)
            W = chi / total[j]
        return np.where(self.mask, W, 0.0)

    def hat(self, cells: int | None = None) -> sp.csr_matrix:
        r"""Hat functions :math:`\phi_k(x) = \max(0, 1 - |x - k/C|\,C)` on the ``C - 1`` interior nodes of the coarse
        grid of ``C = cells`` (default ``N``) cells, as a sparse ``m x (C-1)`` matrix: node :math:`x` meets only the
        two hats :math:`k = \lfloor xC\rfloor` and :math:`k + 1`, so it is built in :math:`O(m)`.

        >>> s = Split(15, 4)
        >>> x, k = np.arange(1, 16) / 16, np.arange(1, 4)
        >>> bool(np.array_equal(s.hat().toarray(), np.maximum(0, 1 - np.abs(x[:, None] * 4 - k))))
        True
        >>> Split(2**20 - 1, 2**14).hat().nnz          # 2 H/h - 1 per hat, never a dense n x (N - 1) array
        2080641
        """
        C = self.N if cells is None else check_int("cells", cells, low=1)
        t = np.arange(1, self.m + 1) / (self.m + 1) * C
        left = np.floor(t).astype(np.int64)
        rows, cols = np.tile(np.arange(self.m), 2), np.concatenate([left, left + 1])
        vals = np.maximum(0.0, 1.0 - np.abs(t[rows] - cols))            # the dense formula, entry by entry
        keep = (cols >= 1) & (cols <= C - 1) & (vals > 0)
        return sp.csr_matrix((vals[keep], (rows[keep], cols[keep] - 1)), shape=(self.m, max(C - 1, 0)))

    def elements(self) -> list[np.ndarray]:
        r"""The nodes strictly inside each coarse element :math:`(k/N, (k+1)/N)`, ``k = 0..N-1``."""
        x = np.arange(1, self.m + 1) / (self.m + 1)
        k = np.floor(x * self.N + 1e-12).astype(np.int64)
        inside = np.abs(x * self.N - np.round(x * self.N)) > 1e-12
        return [np.flatnonzero(inside & (k == i)) for i in range(self.N)]


class Decomposition:
    r""":math:`N^d` overlapping boxes of the grid of ``problem``, each block extended by ``delta`` nodes per side.

    Parameters
    ----------
    problem : Problem
        The grid (and coefficient: :meth:`local_matrices` and matrix-based coarse spaces read its matrix).
    N : int
        Boxes per direction (:class:`Split`).
    delta : int
        Overlap in node layers per side and direction.
    split : {"interface", "round"}
        Where the blocks end (module docstring).

    Attributes
    ----------
    dim, m, n, h : the problem's dimension, nodes per side, unknowns and mesh width
    n_sub : int
        Number of subdomains, :math:`N^d`.
    H : float
        Box width :math:`1/N`; ``box`` is :math:`H/h` in nodes (interface rule; None for ``"round"``).
    """

    def __init__(self, problem: Problem, N: int, delta: int = 1, split: str = "interface"):
        if not isinstance(problem, Problem):
            raise ValueError(f"problem must be a ddlib.problem.Problem; got {type(problem).__name__}")
        self.problem = problem
        self.axis = Split(problem.m, N, delta, split)
        self.dim, self.m, self.n, self.h = problem.dim, problem.m, problem.n, problem.h
        self.N, self.delta, self.split = self.axis.N, self.axis.delta, split
        self.n_sub = self.N**self.dim
        self.box = self.axis.box
        self.H = 1.0 / self.N

    def __repr__(self) -> str:
        extra = "" if self.split == "interface" else f", split={self.split!r}"
        return f"Decomposition({self.problem!r}, N={self.N}, delta={self.delta}{extra})"

    # ----------------------------------------------------------------------------------------------- index sets
    def _outer(self, a: np.ndarray, op=np.multiply) -> np.ndarray:
        """``(N^d, L^d)`` array of ``op`` over the axes of a 1D ``(N, L)`` array: box ``(i_1..i_d)`` (last fastest),
        slot ``(t_1..t_d)`` holds ``op(a[i_1, t_1], ..., a[i_d, t_d])``."""
        out = a
        for _ in range(self.dim - 1):
            out = op(out[:, None, :, None], a[None, :, None, :]).reshape(out.shape[0] * a.shape[0], -1)
        return out

    @cached_property
    def mask(self) -> np.ndarray:
        """``(N^d, n_max)`` boolean array, True where the padded slot is a real node."""
        return self._outer(self.axis.mask, np.logical_and)

    @cached_property
    def padded_indices(self) -> np.ndarray:
        """``(N^d, n_max)`` int64 node indices; padding slots hold index 0 and are masked out."""
        J = self._outer(self.axis.padded_indices, lambda a, b: a * self.m + b)
        return np.where(self.mask, J, 0).astype(np.int64)

    @property
    def n_max(self) -> int:
        """Padded slots per box (the largest box size)."""
        return self.axis.n_max**self.dim

    @cached_property
    def sizes(self) -> np.ndarray:
        """Number of nodes :math:`n_i` of each overlapping box."""
        return self.mask.sum(axis=1)

    @cached_property
    def indices(self) -> list[np.ndarray]:
        """0-based node indices of each overlapping box, ascending (the rows of :math:`R_i`)."""
        return [self.padded_indices[i, self.mask[i]] for i in range(self.n_sub)]

    @cached_property
    def multiplicity(self) -> np.ndarray:
        """How many boxes hold each node, shape ``(n,)``: the product of the 1D multiplicities."""
        mult = self.axis.multiplicity
        out = mult
        for _ in range(self.dim - 1):
            out = np.multiply.outer(out, mult).ravel()
        return out

    @property
    def n_colors(self) -> int:
        r"""Colours :math:`N_c = N_{c,1D}^d`: boxes of one colour are :math:`A`-orthogonal, so additive Schwarz has
        :math:`\lambda_{\max}(M^{-1}A) \le N_c` with one level and :math:`\le N_c + 1` with a coarse level."""
        return self.axis.n_colors**self.dim

    def restriction(self, i: int) -> sp.csr_matrix:
        r"""The sparse Boolean restriction :math:`R_i \in \{0,1\}^{n_i\times n}` of box ``i``."""
        i = check_int("i", i, low=0, high=self.n_sub - 1)
        idx = self.indices[i]
        return sp.csr_matrix((np.ones(idx.size), (np.arange(idx.size), idx)), shape=(idx.size, self.n))

    def restrictions(self) -> list[sp.csr_matrix]:
        r"""All :math:`R_i`."""
        return [self.restriction(i) for i in range(self.n_sub)]

    def local_matrices(self, A=None) -> list[sp.csr_matrix]:
        r"""The local Dirichlet matrices :math:`A_i = R_iAR_i^T` (sparse); ``A`` defaults to the problem's matrix."""
        A = self.problem.matrix() if A is None else sp.csr_matrix(A)
        return [A[idx][:, idx] for idx in self.indices]

    def elements(self) -> list[np.ndarray]:
        r"""Node indices strictly inside each coarse element (the products of :meth:`Split.elements`); in 1D the
        blocks of the exact decomposition :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^TA_E^{-1}R_E`."""
        E1 = self.axis.elements()
        out = E1
        for _ in range(self.dim - 1):
            out = [(a[:, None] * self.m + b[None, :]).ravel() for a in out for b in E1]
        return out

    # ---------------------------------------------------------------------------------- partitions of unity
    def padded_partition_of_unity(self, kind: str = "multiplicity") -> np.ndarray:
        r""":math:`D_i` as an ``(N^d, n_max)`` array, zero on padding: the product of the 1D weights.

        ``"multiplicity"``
            :math:`(D_i)_{jj} = 1/\#\{k : x_j \in \Omega_k\}`.
        ``"ramp"``
            per axis a linear ramp across each overlap, :math:`\chi_i(x_j) = \min(1, d_i(j)/(2\delta+1))` with
            :math:`d_i(j)` the distance in nodes to the first node outside the block's extension (no ramp at the
            physical boundary), normalised to sum to one; the product over the axes is smooth in every direction.
        ``"boolean"``
            1 on the non-overlapping block, 0 on the overlap.
        """
        return self._outer(self.axis.weights(kind))

    def partition_of_unity(self, kind: str = "multiplicity") -> list[np.ndarray]:
        r"""Diagonals of :math:`D_i` (one array of length :math:`n_i` per box) with :math:`\sum_iR_i^TD_iR_i = I`."""
        W = self.padded_partition_of_unity(kind)
        return [W[i, self.mask[i]].copy() for i in range(self.n_sub)]

    def padded_weights(self, partition: str = "multiplicity", weighting: str = "sqrt") -> tuple[np.ndarray, np.ndarray]:
        r"""The left and right weights :math:`(W^L_i, W^R_i)` of a weighting (:data:`WEIGHTINGS`) as ``(N^d, n_max)``
        arrays, zero on padding: :math:`(I, I)`, :math:`(D_i, I)` or :math:`(D_i^{1/2}, D_i^{1/2})`."""
        check_choice("weighting", weighting, WEIGHTINGS)
        ones = self.mask.astype(np.float64)
        if weighting == "none":
            return ones, ones
        D = self.padded_partition_of_unity(partition)
        return (D, ones) if weighting == "left" else (np.sqrt(D), np.sqrt(D))

    def local_support(self, partition: str = "multiplicity") -> sp.csr_matrix:
        r"""The pairs a full-rank local level can reach, :math:`S = \bigcup_i\{(p,q): (D_i)_p > 0,\ (D_i)_q > 0\}`,
        as a sparse Boolean ``n x n`` matrix :math:`S = (BB^T > 0)`, :math:`B_{pi} = [(D_i)_p > 0]`."""
        W = self.padded_partition_of_unity(partition)
        keep = self.mask & (W > 0)
        rows = self.padded_indices[keep]
        cols = np.broadcast_to(np.arange(self.n_sub)[:, None], keep.shape)[keep]
        B = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(self.n, self.n_sub))
        return (B @ B.T > 0).tocsr()

    # --------------------------------------------------------------------------------------- coarse spaces
    def coarse_space(self, kind: str = "hat", **options) -> sp.csr_matrix:
        """:func:`coarse_space` of this decomposition."""
        return coarse_space(self, kind, **options)

    def coarse_matrix(self, kind: str = "hat", A=None, *, sparse: bool = False, **options):
        r"""The Galerkin coarse matrix :math:`A_0 = \Phi^TA\Phi` (``N_0 x N_0``; dense, or CSC with ``sparse=True``);
        ``A`` defaults to the problem's matrix."""
        A = self.problem.matrix() if A is None else sp.csr_matrix(A)
        P = self.coarse_space(kind, **options)
        A0 = (P.T @ (A @ P)).tocsc()
        return A0 if sparse else A0.toarray()


# ------------------------------------------------------------------------------------------------ coarse spaces
#: Coarse-space builders by name: ``builder(decomposition, **options) -> sparse n x N_0``.
COARSE_SPACES: dict[str, Callable] = {}


def register_coarse_space(name: str):
    """Decorator: register ``builder(decomposition, **options)`` under ``name`` in :data:`COARSE_SPACES`."""
    def add(builder):
        COARSE_SPACES[name] = builder
        return builder
    return add


def coarse_space(dec: Decomposition, kind: str = "hat", **options) -> sp.csr_matrix:
    r"""The coarse basis :math:`\Phi` of ``dec`` as a sparse ``n x N_0`` matrix, by the builder named ``kind``
    (:data:`COARSE_SPACES`; unknown options are a ValueError naming them)."""
    check_choice("coarse", kind, tuple(COARSE_SPACES))
    try:
        return sp.csr_matrix(COARSE_SPACES[kind](dec, **options))
    except TypeError as err:
        raise ValueError(f"coarse space {kind!r} does not take the options {sorted(options)}: {err}") from None


def _kron_power(P: sp.spmatrix, d: int) -> sp.csr_matrix:
    out = P
    for _ in range(d - 1):
        out = sp.kron(out, P, format="csr")
    return sp.csr_matrix(out)


@register_coarse_space("none")
def _no_coarse(dec: Decomposition) -> sp.csr_matrix:
    """An empty ``n x 0`` matrix (one-level methods)."""
    return sp.csr_matrix((dec.n, 0))


@register_coarse_space("hat")
def _hat(dec: Decomposition, refine: int = 1) -> sp.csr_matrix:
    r"""Tensor-product hats (Q1 in 2D) on the interior nodes of a coarse grid of ``refine N`` cells per direction:
    :math:`\phi_{\mathbf k}(x) = \prod_j\max(0, 1 - |x_j - k_jH_c|/H_c)`, :math:`H_c = H/\mathrm{refine}`,
    ``N_0 = (refine N - 1)^d``."""
    refine = check_int("refine", refine, low=1, high=max(1, (dec.m + 1) // (2 * dec.N)))
    return _kron_power(dec.axis.hat(refine * dec.N), dec.dim)


@register_coarse_space("nicolaides")
def _nicolaides(dec: Decomposition, partition: str = "multiplicity") -> sp.csr_matrix:
    r"""The partition-of-unity-weighted constants :math:`\Phi_{:,i} = R_i^TD_iR_i\mathbf 1`, ``N_0 = N^d``; they sum
    to the constant function. The smooth ``"ramp"`` gives the classical :math:`C(1 + H/\delta)` behaviour."""
    s = dec.axis
    W = s.weights(partition)
    rows = s.padded_indices[s.mask]
    cols = np.broadcast_to(np.arange(s.N)[:, None], s.mask.shape)[s.mask]
    return _kron_power(sp.csr_matrix((W[s.mask], (rows, cols)), shape=(s.m, s.N)), dec.dim)


@register_coarse_space("spectral")
def _spectral(dec: Decomposition, per_box: int = 1, partition: str = "multiplicity") -> sp.csr_matrix:
    r"""``per_box`` functions per box: the lowest eigenvectors of the box's Neumann graph Laplacian (constant
    coefficient; per axis :math:`\cos(p\pi(s+\frac12)/n_k)` with eigenvalue :math:`4\sin^2\frac{p\pi}{2n_k}`, ties by
    the mode numbers), multiplied by :math:`D_i`. ``per_box = 1`` is the Nicolaides space; in 2D ``per_box`` in
    ``1, 3, 6, 10, ...`` keeps whole shells. ``partition`` must be positive on the box (``"multiplicity"`` or
    ``"ramp"``). A spectral space that reads the coefficient is GenEO (:mod:`ddlib.geneo`)."""
    if check_choice("partition", partition, PARTITIONS_OF_UNITY) == "boolean":
        raise ValueError("partition must be 'multiplicity' or 'ramp' for the spectral coarse space (positive on the "
                         "whole box, so the weighted eigenvectors stay independent); got 'boolean'")
    k = check_int("per_box", per_box, low=1, high=int(dec.sizes.min()))
    s = dec.axis
    L = s.n_max
    p = np.arange(L)
    nk = s.sizes[:, None]
    mu = np.where(p[None, :] < nk, 4 * np.sin(p[None, :] * np.pi / (2 * nk)) ** 2, np.inf)          # (N, L)
    cosines = np.cos(p[None, :, None] * np.pi * (np.arange(L)[None, None, :] + 0.5) / nk[:, :, None])  # (N, p, s)
    ev = dec._outer(mu, np.add)                                                                      # (N^d, L^d)
    sel = np.argsort(ev, axis=1, kind="stable")[:, :k]                                               # flat modes
    digits = np.stack(np.unravel_index(sel, (L,) * dec.dim), axis=-1)                                # (N^d, k, d)
    box = np.stack(np.unravel_index(np.arange(dec.n_sub), (s.N,) * dec.dim), axis=-1)                # (N^d, d)
    slots = np.stack(np.unravel_index(np.arange(dec.n_max), (L,) * dec.dim), axis=-1)                # (n_max, d)
    vals = np.ones((dec.n_sub, k, dec.n_max))
    for j in range(dec.dim):
        vals *= cosines[box[:, j][:, None, None], digits[:, :, j][:, :, None], slots[:, j][None, None, :]]
    vals *= dec.padded_partition_of_unity(partition)[:, None, :]
    keep = np.broadcast_to(dec.mask[:, None, :], vals.shape)
    rows = np.broadcast_to(dec.padded_indices[:, None, :], vals.shape)[keep]
    cols = np.broadcast_to((np.arange(dec.n_sub)[:, None] * k + np.arange(k))[:, :, None], vals.shape)[keep]
    Phi = sp.csr_matrix((vals[keep], (rows, cols)), shape=(dec.n, dec.n_sub * k))
    Phi.eliminate_zeros()
    return Phi


def padded_support(Phi) -> tuple[np.ndarray, np.ndarray]:
    r"""Column supports of a sparse ``n x N_0`` matrix as padded ``(N_0, s_max)`` index and value arrays.

    :math:`\Phi_{:,j} = \sum_s \mathrm{val}_{js}\,e_{\mathrm{idx}_{js}}` with zero values on padding slots (index 0),
    so :math:`\Phi^TF` is ``(F[idx] * val[..., None]).sum(1)`` and :math:`\Phi C` an ``index_add`` of
    ``val[..., None] * C[:, None]``: memory :math:`O(\mathrm{nnz}(\Phi))`.
    """
    P = sp.csc_matrix(Phi)
    P.eliminate_zeros()
    P.sort_indices()
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


from . import geneo as _geneo_module  # noqa: E402,F401  (registers "geneo"; it imports this module, so it comes last)
