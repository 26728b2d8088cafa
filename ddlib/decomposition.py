r"""Overlapping decomposition of the 1D grid: subdomains, restrictions :math:`R_i`, partitions of unity :math:`D_i`,
and coarse spaces :math:`\Phi`.

Layout (1-based node numbers ``1..n``, ``n + 1 = N m`` mesh intervals, ``m`` intervals per subdomain):

* the **coarse nodes** are the interfaces :math:`x = iH`, ``H = m h``, i.e. fine nodes ``i m`` for ``i = 1..N-1``;
* the **non-overlapping block** ``i`` (0-based, ``i = 0..N-1``) owns nodes ``i m + 1 .. (i+1) m``, clipped to ``n``
  (every block has ``m`` nodes except the last, which has ``m - 1``: the interface node belongs to the block on its left);
* the **overlapping subdomain** ``i`` extends block ``i`` by ``delta`` nodes on each side (clipped to ``1..n``),
  so neighbouring subdomains share ``2 delta`` nodes.

:math:`R_i \in \{0,1\}^{n_i \times n}` picks the nodes of subdomain ``i``. A partition of unity is a set of diagonal
:math:`D_i \ge 0` with :math:`\sum_i R_i^T D_i R_i = I` (see :func:`partition_of_unity`). Coarse spaces
(:func:`coarse_space`) have one column per coarse basis function; :math:`A_0 = \Phi^T A \Phi` (Galerkin).

Vectorized code uses :attr:`Decomposition.padded_indices` (shape ``(N, n_max)``) with
:attr:`Decomposition.mask`: gather with ``x[..., padded_indices] * mask``, scatter-add back with ``index_add``
or :func:`numpy.add.at`.

Examples
--------
>>> import numpy as np
>>> from ddlib.decomposition import Decomposition
>>> dec = Decomposition(n=15, N=4, delta=1)
>>> [list(map(int, idx + 1)) for idx in dec.indices][:2]   # 1-based node numbers of subdomains 0 and 1
[[1, 2, 3, 4, 5], [4, 5, 6, 7, 8, 9]]
>>> D = dec.partition_of_unity("multiplicity")
>>> bool(np.allclose(sum(R.T @ (d * (R @ np.ones(15))) for R, d in zip(dec.restrictions(), D)), 1.0))
True
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ._validate import check_choice, check_int
from .problem import grid, laplacian_1d

__all__ = [
    "Decomposition",
    "PARTITIONS_OF_UNITY",
    "COARSE_SPACES",
    "WEIGHTINGS",
    "padded_support",
    "padded_weights",
    "element_decomposition",
]

#: Names accepted by :meth:`Decomposition.partition_of_unity`.
PARTITIONS_OF_UNITY = ("multiplicity", "ramp", "boolean")
#: Names accepted by :meth:`Decomposition.coarse_space`.
COARSE_SPACES = ("hat", "nicolaides", "none")
#: How a local block is weighted, :math:`R_i^T W^L_i (\cdot) W^R_i R_i` (:meth:`Decomposition.padded_weights`), in
#: :mod:`ddlib.schwarz` and :mod:`ddlib.attention` alike: ``"none"`` (additive Schwarz), ``"left"``
#: (:math:`W^L = D_i`: restricted additive Schwarz), ``"sqrt"`` (:math:`D_i^{1/2}` on both sides: the paper's form).
WEIGHTINGS = ("none", "left", "sqrt")


class Decomposition:
    r"""``N`` overlapping subdomains of the ``n``-node grid, each block extended by ``delta`` nodes per side.

    Parameters
    ----------
    n : int
        Number of interior grid nodes; ``N`` must divide ``n + 1`` (the number of mesh intervals).
    N : int
        Number of subdomains, ``1 <= N <= (n + 1) / 2`` (every subdomain spans at least two intervals).
    delta : int
        Overlap in nodes on each side, ``0 <= delta <= m - 1`` with ``m = (n + 1) / N``: a subdomain may not reach
        past the neighbouring block.
    """

    def __init__(self, n: int, N: int, delta: int = 1):
        self.n = check_int("n", n, low=1)
        self.N = check_int("N", N, low=1, high=max(1, (self.n + 1) // 2))
        if (self.n + 1) % self.N:
            raise ValueError(
                f"N must divide the number of mesh intervals n + 1 = {self.n + 1}; got N = {self.N} "
                f"(valid N for n = {self.n}: {_divisors(self.n + 1)})"
            )
        self.m = (self.n + 1) // self.N
        delta = check_int("delta", delta, low=0)
        if delta > self.m - 1:
            raise ValueError(
                f"delta must be an integer in [0, {self.m - 1}] for n = {self.n}, N = {self.N}: a subdomain may not "
                f"reach past its neighbouring block of m - 1 = {self.m - 1} interior nodes; got delta = {delta}"
            )
        self.delta = delta
        self.h, self.x = grid(self.n)
        self.H = self.m * self.h

    def __repr__(self) -> str:
        return f"Decomposition(n={self.n}, N={self.N}, delta={self.delta})"

    # ----------------------------------------------------------------------------------------------- index sets
    @cached_property
    def block_bounds(self) -> np.ndarray:
        """``(N, 2)`` array of 0-based ``[start, stop)`` of the non-overlapping blocks."""
        i = np.arange(self.N)
        return np.stack([i * self.m, np.minimum((i + 1) * self.m, self.n)], axis=1)

    @cached_property
    def bounds(self) -> np.ndarray:
        """``(N, 2)`` array of 0-based ``[start, stop)`` of the overlapping subdomains."""
        b = self.block_bounds
        return np.stack([np.maximum(b[:, 0] - self.delta, 0), np.minimum(b[:, 1] + self.delta, self.n)], axis=1)

    @cached_property
    def sizes(self) -> np.ndarray:
        """Number of nodes :math:`n_i` of each overlapping subdomain."""
        return self.bounds[:, 1] - self.bounds[:, 0]

    @property
    def n_max(self) -> int:
        """The largest subdomain size (the padded block size of the vectorized operators)."""
        return int(self.sizes.max())

    @cached_property
    def indices(self) -> list[np.ndarray]:
        """0-based node indices of each overlapping subdomain (the rows of :math:`R_i`)."""
        return [np.arange(a, b) for a, b in self.bounds]

    @cached_property
    def padded_indices(self) -> np.ndarray:
        """``(N, n_max)`` int64 array of subdomain node indices; padding slots repeat index 0 and are masked out."""
        j = self.bounds[:, :1] + np.arange(self.n_max)[None, :]
        return np.where(self.mask, j, 0).astype(np.int64)

    @cached_property
    def mask(self) -> np.ndarray:
        """``(N, n_max)`` boolean array, True where the padded slot is a real node."""
        return np.arange(self.n_max)[None, :] < self.sizes[:, None]

    @cached_property
    def multiplicity(self) -> np.ndarray:
        """How many overlapping subdomains hold each node, shape ``(n,)``."""
        return np.bincount(self.padded_indices[self.mask], minlength=self.n).astype(np.float64)

    @property
    def n_colors(self) -> int:
        r"""The number of colours :math:`N_c`: subdomains ``i`` and ``i + N_c`` are always separated by a node.

        Subdomains of one colour are then :math:`A`-orthogonal (the stencil couples neighbours only), so the
        additive Schwarz operator satisfies :math:`\lambda_{\max}(M^{-1}A) \le N_c` (one level) and
        :math:`\le N_c + 1` (two levels). Subdomain ``i`` ends at node :math:`(i+1)m + \delta`, subdomain ``i + c``
        starts at :math:`(i+c)m - \delta`, so :math:`N_c = \min(N, 1 + \lceil (2\delta + 1)/m \rceil)`.
        """
        return int(min(self.N, 1 + -(-(2 * self.delta + 1) // self.m)))

    def restriction(self, i: int) -> sp.csr_matrix:
        r"""The sparse Boolean restriction :math:`R_i \in \{0,1\}^{n_i \times n}` of subdomain ``i``."""
        i = check_int("i", i, low=0, high=self.N - 1)
        idx = self.indices[i]
        return sp.csr_matrix((np.ones(idx.size), (np.arange(idx.size), idx)), shape=(idx.size, self.n))

    def restrictions(self) -> list[sp.csr_matrix]:
        r"""All :math:`R_i`, ``i = 0..N-1``."""
        return [self.restriction(i) for i in range(self.N)]

    def local_matrices(self, A=None) -> list[sp.csr_matrix]:
        r"""The local Dirichlet matrices :math:`A_i = R_i A R_i^T` (sparse); ``A`` defaults to :func:`laplacian_1d`."""
        A = laplacian_1d(self.n) if A is None else sp.csr_matrix(A)
        return [A[idx][:, idx] for idx in self.indices]

    # ---------------------------------------------------------------------------------- partitions of unity
    def partition_of_unity(self, kind: str = "multiplicity") -> list[np.ndarray]:
        r"""Diagonals of :math:`D_i` (one array of length :math:`n_i` per subdomain) with :math:`\sum_i R_i^T D_i R_i = I`.

        ``"multiplicity"``
            :math:`(D_i)_{jj} = 1 / \#\{k : x_j \in \Omega_k\}`.
        ``"ramp"``
            a linear ramp across each overlap: :math:`\chi_i(x_j) = \min(1, d_i(j)/(2\delta+1))`, where :math:`d_i(j)`
            is the distance in nodes from node ``j`` to the first node outside subdomain ``i`` (no ramp at the physical
            boundary), then :math:`D_i = \chi_i / \sum_k \chi_k`. Neighbours share ``2 delta`` nodes, across which
            :math:`D_i` falls from 1 to 0 in equal steps of :math:`1/(2\delta+1)` (there :math:`\chi_i + \chi_{i+1} = 1`
            already; the normalisation matters only where three subdomains meet, ``2 delta >= m``). Equals
            ``"boolean"`` when ``delta = 0``.
        ``"boolean"``
            1 on the nodes of the non-overlapping block ``i``, 0 on the overlap.
        """
        check_choice("kind", kind, PARTITIONS_OF_UNITY)
        W = self._padded_weights(kind)
        return [W[i, : self.sizes[i]].copy() for i in range(self.N)]

    def padded_partition_of_unity(self, kind: str = "multiplicity") -> np.ndarray:
        """The partition of unity as an ``(N, n_max)`` array, zero on padding slots."""
        check_choice("kind", kind, PARTITIONS_OF_UNITY)
        return self._padded_weights(kind)

    def padded_weights(self, partition: str = "multiplicity", weighting: str = "sqrt") -> tuple[np.ndarray, np.ndarray]:
        r"""The left and right weights :math:`(W^L_i, W^R_i)` of a weighting (:data:`WEIGHTINGS`) as ``(N, n_max)``
        arrays, zero on padding: :math:`(I, I)`, :math:`(D_i, I)` or :math:`(D_i^{1/2}, D_i^{1/2})`."""
        return padded_weights(weighting, self.mask, lambda: self.padded_partition_of_unity(partition))

    def _padded_weights(self, kind: str) -> np.ndarray:
        j = self.padded_indices
        if kind == "multiplicity":
            W = 1.0 / self.multiplicity[j]
        elif kind == "boolean":
            blk = self.block_bounds
            W = ((j >= blk[:, :1]) & (j < blk[:, 1:])).astype(float)
        else:  # ramp
            lo, hi = self.bounds[:, :1], self.bounds[:, 1:]
            d_left = np.where(lo == 0, np.inf, j - lo + 1)
            d_right = np.where(hi == self.n, np.inf, hi - j)
            chi = np.minimum(1.0, np.minimum(d_left, d_right) / (2 * self.delta + 1))
            chi = np.where(self.mask, chi, 0.0)
            total = np.bincount(j[self.mask], weights=chi[self.mask], minlength=self.n)
            W = chi / total[j]
        return np.where(self.mask, W, 0.0)

    # --------------------------------------------------------------------------------------- coarse spaces
    @cached_property
    def coarse_nodes(self) -> np.ndarray:
        """0-based fine-grid indices of the ``N - 1`` interior coarse nodes :math:`x = iH`."""
        return np.arange(1, self.N) * self.m - 1

    def coarse_space(self, kind: str = "hat", partition: str = "multiplicity") -> sp.csr_matrix:
        r"""The coarse basis :math:`\Phi` as a sparse ``n x N_0`` matrix.

        ``"hat"``
            piecewise-linear hat functions on the ``N - 1`` interior coarse nodes:
            :math:`\Phi_{ji} = \max(0, 1 - |x_j - iH| / H)`, ``N_0 = N - 1``.
        ``"nicolaides"``
            the partition-of-unity-weighted constants :math:`\Phi_{:,i} = R_i^T D_i R_i \mathbf 1`, ``N_0 = N``, with
            :math:`D_i` the partition of unity named by ``partition`` (default multiplicity scaling); they sum to the
            constant function. The smooth ``"ramp"`` gives the classical :math:`C(1 + H/\delta)` behaviour; the
            jumps of ``"multiplicity"`` and ``"boolean"`` cost coarse energy of order :math:`1/h`.
        ``"none"``
            an empty ``n x 0`` matrix (one-level methods).
        """
        check_choice("kind", kind, COARSE_SPACES)
        if kind == "none":
            return sp.csr_matrix((self.n, 0))
        if kind == "hat":
            # hat i (1-based, i = 1..N-1) is 1 - |k|/m at fine node i m + k (1-based), k = -(m-1)..m-1: O(n) entries
            k = np.arange(-(self.m - 1), self.m)
            i = np.arange(1, self.N)
            rows = (i[:, None] * self.m - 1 + k[None, :]).ravel()
            cols = np.repeat(i - 1, k.size)
            vals = np.tile(1.0 - np.abs(k) / self.m, i.size)
            return sp.csr_matrix((vals, (rows, cols)), shape=(self.n, self.N - 1))
        W = self._padded_weights(check_choice("partition", partition, PARTITIONS_OF_UNITY))
        rows = self.padded_indices[self.mask]
        cols = np.broadcast_to(np.arange(self.N)[:, None], self.mask.shape)[self.mask]
        return sp.csr_matrix((W[self.mask], (rows, cols)), shape=(self.n, self.N))

    def coarse_matrix(self, kind: str = "hat", A=None, sparse: bool = False, partition: str = "multiplicity"):
        r"""The Galerkin coarse matrix :math:`A_0 = \Phi^T A \Phi`, ``N_0 x N_0``.

        Dense by default; ``sparse=True`` returns a CSC matrix (tridiagonal in 1D), which is what large ``N`` needs.
        ``partition`` is passed to :meth:`coarse_space` (Nicolaides only).
        """
        A = laplacian_1d(self.n) if A is None else sp.csr_matrix(A)
        P = self.coarse_space(kind, partition)
        A0 = (P.T @ (A @ P)).tocsc()
        return A0 if sparse else A0.toarray()


def padded_weights(weighting: str, mask: np.ndarray, partition_of_unity) -> tuple[np.ndarray, np.ndarray]:
    r"""The left and right weights :math:`(W^L_i, W^R_i)` of a weighting (:data:`WEIGHTINGS`) on padded subdomains:
    :math:`(I, I)`, :math:`(D_i, I)` or :math:`(D_i^{1/2}, D_i^{1/2})`, zero where ``mask`` is False;
    ``partition_of_unity()`` returns the padded :math:`D_i` (called only when needed). One definition for 1D and 2D."""
    check_choice("weighting", weighting, WEIGHTINGS)
    ones = np.asarray(mask).astype(np.float64)
    if weighting == "none":
        return ones, ones
    D = partition_of_unity()
    return (D, ones) if weighting == "left" else (np.sqrt(D), np.sqrt(D))


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


def element_decomposition(n: int, N: int) -> list[np.ndarray]:
    r"""0-based node indices strictly inside each coarse element :math:`E_i = (iH, (i+1)H)`, ``i = 0..N-1``.

    These are the index sets :math:`R_E` of the exact 1D decomposition
    :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E` (hat-function :math:`\Phi`); they are the blocks of
    :class:`Decomposition` with ``delta = 0`` minus their interface node.
    """
    dec = Decomposition(n, N, 0)
    return [np.arange(i * dec.m, min((i + 1) * dec.m - 1, n)) for i in range(N)]


def _divisors(k: int) -> list[int]:
    return [d for d in range(1, k // 2 + 1) if k % d == 0]
