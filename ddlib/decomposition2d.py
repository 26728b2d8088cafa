r"""Overlapping decomposition of the 2D ``m x m`` grid into ``N x N`` boxes: restrictions :math:`R_i`, partitions of
unity :math:`D_i`, and coarse spaces :math:`\Phi` (Q1 hats, Nicolaides, local spectral).

Every object is the **tensor product** of the 1D decomposition :class:`ddlib.decomposition.Decomposition` of one
direction (``n = m`` nodes, ``N`` blocks, overlap ``delta``):

* box ``i = I N + J`` (``I``: x-block, ``J``: y-block, 0-based) holds the nodes :math:`(x_a, y_b)` with ``a`` in 1D
  subdomain ``I`` and ``b`` in 1D subdomain ``J``; the non-overlapping boxes have ``H/h = (m+1)/N`` mesh intervals per
  side, so the coarse **cross points** :math:`(IH, JH)`, ``I, J = 1..N-1``, are fine-grid nodes, and each overlapping
  box extends its block by ``delta`` nodes in each direction (clipped at the boundary);
* :math:`D_i = D^{1D}_I \otimes D^{1D}_J` for each kind of partition of unity (multiplicity, ramp, Boolean), so
  :math:`\sum_i R_i^TD_iR_i = \big(\sum_I R_I^TD_IR_I\big)\otimes\big(\sum_J R_J^TD_JR_J\big) = I\otimes I`. For the
  multiplicity scaling the product *is* :math:`1/\#\{\text{boxes holding the node}\}`, because a node lies in box
  ``(I, J)`` iff its x-index lies in ``I`` and its y-index in ``J``; the ramp is the tensor product of the 1D ramps;
* the Q1 coarse space is :math:`\Phi = \Phi^{1D}\otimes\Phi^{1D}`: the bilinear hat functions on the
  :math:`(N-1)^2` interior cross points; the Nicolaides space is :math:`\Phi^{1D}_{nic}\otimes\Phi^{1D}_{nic}`, whose
  column ``i`` is :math:`R_i^TD_iR_i\mathbf 1` (``N^2`` columns).

Unknowns are ordered as in :mod:`ddlib.problem2d` (y fastest); :math:`A_i = R_iAR_i^T` is the 5-point Dirichlet
matrix of an :math:`n_x\times n_y` box (:func:`ddlib.problem2d.laplacian_2d_box`).

Vectorized code uses :attr:`Decomposition2D.padded_indices` ``(N^2, n_max)``, ``n_max = n_{1D,max}^2``, with
:attr:`Decomposition2D.mask`: slot ``(a, b)`` of box ``(I, J)`` is slot ``a n_{1D,max} + b``, the product of the 1D
slots, so boundary boxes (smaller than ``n_max``) have masked holes inside the row, not only at its end. Gather with
``x[..., padded_indices] * mask`` and scatter-add with ``index_add``.

Examples
--------
>>> import numpy as np
>>> from ddlib.decomposition2d import Decomposition2D
>>> dec = Decomposition2D(m=15, N=4, delta=1)
>>> dec.box, dec.n_sub, dec.n_max, dec.coarse_space("hat").shape
(4, 16, 36, (225, 9))
>>> D = dec.partition_of_unity("ramp")
>>> bool(np.allclose(sum(R.T @ (d * (R @ np.ones(225))) for R, d in zip(dec.restrictions(), D)), 1.0))
True
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ._validate import check_choice, check_int
from .decomposition import PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition, padded_support, padded_weights
from .problem2d import grid_2d, laplacian_2d

__all__ = ["Decomposition2D", "PARTITIONS_OF_UNITY", "COARSE_SPACES_2D", "padded_support"]

#: Names accepted by :meth:`Decomposition2D.coarse_space`.
COARSE_SPACES_2D = ("hat", "nicolaides", "spectral", "none")


class Decomposition2D:
    r"""``N x N`` overlapping boxes of the ``m x m`` grid, each block extended by ``delta`` nodes per direction.

    Parameters
    ----------
    m : int
        Interior nodes per direction (``n = m^2`` unknowns); ``N`` must divide ``m + 1``.
    N : int
        Boxes per direction, ``1 <= N <= (m + 1) / 2`` (each box spans at least two mesh intervals per side);
        ``N^2`` subdomains in all.
    delta : int
        Overlap in nodes per side and direction, ``0 <= delta <= H/h - 1`` with ``H/h = (m + 1) / N``: a box may
        not reach past its neighbouring block.
    """

    def __init__(self, m: int, N: int, delta: int = 1):
        self.m = check_int("m", m, low=1)
        self.N = check_int("N", N, low=1, high=max(1, (self.m + 1) // 2))
        if (self.m + 1) % self.N:
            divisors = [d for d in range(1, (self.m + 1) // 2 + 1) if (self.m + 1) % d == 0]
            raise ValueError(f"N must divide m + 1 = {self.m + 1} (so that the cross points are grid nodes); got "
                             f"N = {self.N} (valid N for m = {self.m}: {divisors})")
        self.box = (self.m + 1) // self.N
        delta = check_int("delta", delta, low=0)
        if delta > self.box - 1:
            raise ValueError(f"delta must be an integer in [0, {self.box - 1}] for m = {self.m}, N = {self.N} "
                             f"(box size H/h = {self.box}): the overlap may not be wider than a box; got {delta}")
        self.delta = delta
        #: the 1D decomposition of one direction; every 2D object is a tensor product of its objects
        self.dec1 = Decomposition(self.m, self.N, self.delta)
        self.n = self.m * self.m
        self.n_sub = self.N * self.N
        self.h, self.x = grid_2d(self.m)
        self.H = self.box * self.h

    def __repr__(self) -> str:
        return f"Decomposition2D(m={self.m}, N={self.N}, delta={self.delta})"

    # ----------------------------------------------------------------------------------------------- index sets
    @cached_property
    def bounds(self) -> np.ndarray:
        """``(N^2, 2, 2)`` 0-based ``[[x_start, x_stop], [y_start, y_stop]]`` of the overlapping boxes."""
        b = self.dec1.bounds
        return np.stack([np.repeat(b, self.N, axis=0), np.tile(b, (self.N, 1))], axis=1)

    @cached_property
    def block_bounds(self) -> np.ndarray:
        """``(N^2, 2, 2)`` 0-based ``[[x_start, x_stop], [y_start, y_stop]]`` of the non-overlapping blocks."""
        b = self.dec1.block_bounds
        return np.stack([np.repeat(b, self.N, axis=0), np.tile(b, (self.N, 1))], axis=1)

    @cached_property
    def shapes(self) -> np.ndarray:
        """``(N^2, 2)`` node counts :math:`(n_x, n_y)` of the overlapping boxes."""
        return self.bounds[:, :, 1] - self.bounds[:, :, 0]

    @cached_property
    def sizes(self) -> np.ndarray:
        r"""Number of nodes :math:`n_i = n_x n_y` of each overlapping box; :math:`\sum_i n_i = (m + 2\delta(N-1))^2`."""
        return self.shapes.prod(axis=1)

    @property
    def n_max(self) -> int:
        """Padded slots per box, :math:`n_{1D,max}^2` (the largest box size)."""
        return self.dec1.n_max ** 2

    def _outer(self, u: np.ndarray, v: np.ndarray, op) -> np.ndarray:
        """``(N^2, n1max^2)`` array ``op(u[I, a], v[J, b])`` at box ``I N + J``, slot ``a n1max + b``."""
        return op(u[:, None, :, None], v[None, :, None, :]).reshape(self.n_sub, self.n_max)

    @cached_property
    def mask(self) -> np.ndarray:
        """``(N^2, n_max)`` boolean array, True where the padded slot is a real node."""
        return self._outer(self.dec1.mask, self.dec1.mask, np.logical_and)

    @cached_property
    def padded_indices(self) -> np.ndarray:
        """``(N^2, n_max)`` int64 node indices (``a m + b``); padding slots hold index 0 and are masked out."""
        J1 = self.dec1.padded_indices
        return np.where(self.mask, self._outer(J1 * self.m, J1, np.add), 0).astype(np.int64)

    @cached_property
    def indices(self) -> list[np.ndarray]:
        """0-based node indices of each overlapping box, ascending (the rows of :math:`R_i`)."""
        return [self.padded_indices[i, self.mask[i]] for i in range(self.n_sub)]

    @cached_property
    def multiplicity(self) -> np.ndarray:
        """How many boxes hold each node, shape ``(n,)``: the product of the 1D multiplicities."""
        return np.outer(self.dec1.multiplicity, self.dec1.multiplicity).ravel()

    @property
    def n_colors(self) -> int:
        r"""Colours :math:`N_c = N_{c,1D}^2`: boxes of one colour are :math:`A`-orthogonal (no shared node and no
        stencil coupling), so :math:`\lambda_{\max}(M^{-1}A) \le N_c` for one-level additive Schwarz
        (:math:`\le N_c + 1` with a coarse level)."""
        return self.dec1.n_colors ** 2

    def restriction(self, i: int) -> sp.csr_matrix:
        r"""The sparse Boolean restriction :math:`R_i \in \{0,1\}^{n_i\times n}` of box ``i``."""
        i = check_int("i", i, low=0, high=self.n_sub - 1)
        idx = self.indices[i]
        return sp.csr_matrix((np.ones(idx.size), (np.arange(idx.size), idx)), shape=(idx.size, self.n))

    def restrictions(self) -> list[sp.csr_matrix]:
        r"""All :math:`R_i`, ``i = 0..N^2-1``."""
        return [self.restriction(i) for i in range(self.n_sub)]

    def local_matrices(self, A=None) -> list[sp.csr_matrix]:
        r"""The local Dirichlet matrices :math:`A_i = R_iAR_i^T` (sparse); ``A`` defaults to the 5-point Laplacian."""
        A = laplacian_2d(self.m) if A is None else sp.csr_matrix(A)
        return [A[idx][:, idx] for idx in self.indices]

    # ---------------------------------------------------------------------------------- partitions of unity
    def padded_partition_of_unity(self, kind: str = "multiplicity") -> np.ndarray:
        r""":math:`D_i` as an ``(N^2, n_max)`` array, zero on padding: :math:`D_{(I,J)}(a, b) = D^{1D}_I(a)\,D^{1D}_J(b)`.

        Kinds as in :meth:`ddlib.decomposition.Decomposition.partition_of_unity`: ``"multiplicity"`` (equal to
        :math:`1/\text{multiplicity}` of the node), ``"ramp"`` (the tensor product of the 1D linear ramps over the
        overlap: smooth in both directions), ``"boolean"`` (1 on the non-overlapping block).
        """
        W1 = self.dec1.padded_partition_of_unity(check_choice("kind", kind, PARTITIONS_OF_UNITY))
        return self._outer(W1, W1, np.multiply)

    def padded_weights(self, partition: str = "multiplicity", weighting: str = "sqrt") -> tuple[np.ndarray, np.ndarray]:
        r"""The left and right weights :math:`(W^L_i, W^R_i)` of a weighting (:data:`ddlib.decomposition.WEIGHTINGS`)
        as ``(N^2, n_max)`` arrays, zero on padding: :math:`(I, I)`, :math:`(D_i, I)` or
        :math:`(D_i^{1/2}, D_i^{1/2})`, as :meth:`ddlib.decomposition.Decomposition.padded_weights` in 1D."""
        return padded_weights(weighting, self.mask, lambda: self.padded_partition_of_unity(partition))

    def partition_of_unity(self, kind: str = "multiplicity") -> list[np.ndarray]:
        r"""Diagonals of :math:`D_i` (one array of length :math:`n_i` per box) with :math:`\sum_iR_i^TD_iR_i = I`."""
        W = self.padded_partition_of_unity(kind)
        return [W[i, self.mask[i]].copy() for i in range(self.n_sub)]

    def local_support(self, partition: str = "multiplicity") -> sp.csr_matrix:
        r"""The pairs a full-rank local level can reach: :math:`S = \bigcup_i\{(p,q): (D_i)_p > 0,\ (D_i)_q > 0\}`.

        Returned as a sparse Boolean ``n x n`` matrix, :math:`S = (BB^T > 0)` with the incidence
        :math:`B_{pi} = [(D_i)_p > 0]`. For the multiplicity and ramp partitions :math:`D_i > 0` on the whole box, so
        :math:`S = \bigcup_i s_i\times s_i`; for the Boolean one only the non-overlapping blocks remain.
        """
        W = self.padded_partition_of_unity(partition)
        keep = self.mask & (W > 0)
        rows = self.padded_indices[keep]
        cols = np.broadcast_to(np.arange(self.n_sub)[:, None], keep.shape)[keep]
        B = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(self.n, self.n_sub))
        return (B @ B.T > 0).tocsr()

    # --------------------------------------------------------------------------------------- coarse spaces
    @cached_property
    def coarse_nodes(self) -> np.ndarray:
        """0-based indices of the ``(N-1)^2`` interior cross points :math:`(IH, JH)` (the hat-function centres)."""
        c = self.dec1.coarse_nodes
        return (c[:, None] * self.m + c[None, :]).ravel()

    def coarse_space(self, kind: str = "hat", partition: str = "multiplicity", per_box: int = 1,
                     refine: int = 1) -> sp.csr_matrix:
        r"""The coarse basis :math:`\Phi` as a sparse ``n x N_0`` matrix.

        ``"hat"``
            Q1 bilinear hats :math:`\Phi = \Phi^{1D}_{hat}\otimes\Phi^{1D}_{hat}`,
            :math:`\phi_{IJ}(x, y) = \max(0, 1 - |x - IH_c|/H_c)\max(0, 1 - |y - JH_c|/H_c)` on the interior
            cross points of a coarse grid of ``refine N`` cells per direction, :math:`H_c = H/\mathrm{refine}`,
            ``N_0 = (refine N - 1)^2``. The default ``refine = 1`` is the box grid; ``refine > 1`` (``refine N`` must
            divide ``m + 1``) gives a richer coarse level on the same boxes (used by the floor study of
            :mod:`ddlib.approximation2d`).
        ``"nicolaides"``
            :math:`\Phi_{:,i} = R_i^TD_iR_i\mathbf 1` with :math:`D_i` from ``partition``, ``N_0 = N^2``.
        ``"spectral"``
            ``per_box`` functions per box: the lowest eigenvectors of the local Neumann matrix of box ``i`` (the graph
            Laplacian of its :math:`n_x\times n_y` nodes, eigenvectors
            :math:`\cos(p\pi(s+\frac12)/n_x)\cos(q\pi(t+\frac12)/n_y)`, eigenvalue
            :math:`4\sin^2\frac{p\pi}{2n_x} + 4\sin^2\frac{q\pi}{2n_y}`, ties by ``(p, q)``), each multiplied by
            :math:`D_i`, ``N_0 = per_box N^2`` (``partition`` ``"multiplicity"`` or ``"ramp"``: :math:`D_i > 0` on
            the box keeps the functions of a box independent). ``per_box = 1`` is the Nicolaides space; larger
            ``per_box`` adds the smoothest local oscillations (in the spirit of spectral coarse spaces such as GenEO,
            with the Neumann operator of the box instead of a generalized eigenproblem). On a square box the modes
            ``(p, q)`` and ``(q, p)`` tie; ``per_box`` in ``1, 3, 6, 10, ...`` keeps whole shells (no direction
            preferred).
        ``"none"``
            an empty ``n x 0`` matrix (one-level methods).
        """
        check_choice("kind", kind, COARSE_SPACES_2D)
        if kind == "none":
            return sp.csr_matrix((self.n, 0))
        if kind == "hat":
            refine = check_int("refine", refine, low=1, high=max(1, (self.m + 1) // (2 * self.N)))
            if (self.m + 1) % (refine * self.N):
                valid = [k for k in range(1, (self.m + 1) // (2 * self.N) + 1) if (self.m + 1) % (k * self.N) == 0]
                raise ValueError(f"refine must make refine N divide m + 1 = {self.m + 1}; got refine = {refine} "
                                 f"(valid for m = {self.m}, N = {self.N}: {valid})")
            P1 = self.dec1.coarse_space("hat") if refine == 1 else Decomposition(self.m, refine * self.N, 0) \
                .coarse_space("hat")
            return sp.kron(P1, P1, format="csr")
        check_choice("partition", partition, PARTITIONS_OF_UNITY)
        if kind == "nicolaides":
            P1 = self.dec1.coarse_space("nicolaides", partition)
            return sp.kron(P1, P1, format="csr")
        if partition == "boolean":
            raise ValueError("partition must be 'multiplicity' or 'ramp' for the spectral coarse space (positive on "
                             "the whole box, so the weighted eigenvectors stay independent); got 'boolean'")
        return self._spectral_space(partition, check_int("per_box", per_box, low=1, high=int(self.sizes.min())))

    def coarse_factor(self, kind: str = "hat", partition: str = "multiplicity") -> sp.csr_matrix | None:
        r"""The 1D factor :math:`\Phi^{1D}` (``m x N_1``) with :math:`\Phi = \Phi^{1D}\otimes\Phi^{1D}` for the
        tensor-product spaces ``"hat"`` (box grid) and ``"nicolaides"``, else None (``"spectral"``, ``"none"``).

        With the unknowns ordered y fastest, :math:`\Phi^Tf` is :math:`(\Phi^{1D})^TF\,\Phi^{1D}` for
        ``F = f.reshape(m, m)`` (column ``I N_1 + J`` of :math:`\Phi` is entry ``(I, J)``): two small dense products
        instead of a gather on the supports.
        """
        check_choice("kind", kind, COARSE_SPACES_2D)
        if kind == "hat":
            return self.dec1.coarse_space("hat")
        if kind == "nicolaides":
            return self.dec1.coarse_space("nicolaides", check_choice("partition", partition, PARTITIONS_OF_UNITY))
        return None

    def _spectral_space(self, partition: str, k: int) -> sp.csr_matrix:
        nx, ny = self.shapes[:, 0], self.shapes[:, 1]
        L = self.dec1.n_max
        p = np.arange(L)
        mu_x = np.where(p[None, :] < nx[:, None], 4 * np.sin(p[None, :] * np.pi / (2 * nx[:, None])) ** 2, np.inf)
        mu_y = np.where(p[None, :] < ny[:, None], 4 * np.sin(p[None, :] * np.pi / (2 * ny[:, None])) ** 2, np.inf)
        ev = (mu_x[:, :, None] + mu_y[:, None, :]).reshape(self.n_sub, L * L)
        sel = np.argsort(ev, axis=1, kind="stable")[:, :k]                      # (N^2, k) flat (p, q) per box
        P, Q = sel // L, sel % L
        s, t = np.divmod(np.arange(self.n_max), L)                                # the 1D slots of each padded slot
        cx = np.cos(P[:, :, None] * np.pi * (s[None, None, :] + 0.5) / nx[:, None, None])
        cy = np.cos(Q[:, :, None] * np.pi * (t[None, None, :] + 0.5) / ny[:, None, None])
        vals = cx * cy * self.padded_partition_of_unity(partition)[:, None, :]    # (N^2, k, n_max)
        keep = np.broadcast_to(self.mask[:, None, :], vals.shape)
        rows = np.broadcast_to(self.padded_indices[:, None, :], vals.shape)[keep]
        cols = np.broadcast_to((np.arange(self.n_sub)[:, None] * k + np.arange(k))[:, :, None], vals.shape)[keep]
        Phi = sp.csr_matrix((vals[keep], (rows, cols)), shape=(self.n, self.n_sub * k))
        Phi.eliminate_zeros()
        return Phi

    def coarse_matrix(self, kind: str = "hat", A=None, *, partition: str = "multiplicity", per_box: int = 1,
                      refine: int = 1, sparse: bool = False):
        r"""The Galerkin coarse matrix :math:`A_0 = \Phi^TA\Phi` (``N_0 x N_0``; dense, or CSC with ``sparse=True``)."""
        A = laplacian_2d(self.m) if A is None else sp.csr_matrix(A)
        P = self.coarse_space(kind, partition, per_box, refine)
        A0 = (P.T @ (A @ P)).tocsc()
        return A0 if sparse else A0.toarray()
