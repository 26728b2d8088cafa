r"""GenEO, the spectral coarse space that reads the coefficient :cite:p:`spillane2014abstract`, in any dimension.

For every box :math:`\Omega_i` of a :class:`ddlib.decomposition.Decomposition` the *generalised eigenproblem in the
overlap*

.. math::  \tilde A_i^{\mathrm{Neu}}\,v = \lambda\, D_iA_iD_i\,v, \qquad A_i = R_iAR_i^T,

is solved, with the box's **Neumann matrix** :math:`\tilde A_i^{\mathrm{Neu}}`: the problem's energy
:math:`h^{-2}\sum_k\sum_e w_e(G_ku)_e^2` (:mod:`ddlib.problem`) restricted to the edges that lie inside the box, both
ends in :math:`\Omega_i`, and to the boundary edges of its nodes on the physical (Dirichlet) boundary. Edges that leave
the box through its artificial boundary do not count, so a box away from the boundary has the constants in the kernel
of :math:`\tilde A_i^{\mathrm{Neu}}` (it *floats*). :math:`D_iA_iD_i` is positive definite for a partition of unity
positive on the box (``"multiplicity"`` or ``"ramp"``). The coarse space collects, for every eigenpair with
:math:`\lambda < \tau`, the function :math:`R_i^TD_iv`:

.. math::  \Phi = \big[\,R_i^TD_iv_{i,k}\,\big]_{i,\ \lambda_{i,k}<\tau}.

Small :math:`\lambda` marks a function whose energy inside the box is small against its energy after the partition of
unity cut it off: the constants on a floating box (Nicolaides' functions), and, with a high-contrast coefficient, one
function per high-conductivity channel that crosses the box's overlap. Those are exactly what a coarse space must
hold, and what Q1 hats and Nicolaides constants miss.

**Theory** (:cite:t:`spillane2014abstract`, :cite:t:`dolean2015introduction`): two-level additive Schwarz with this
coarse space satisfies

.. math::  \kappa(M^{-1}A) \le (1 + k_0)\Big(2 + k_0(2k_0 + 1)\big(1 + \tfrac1\tau\big)\Big)

with :math:`k_0` the largest number of boxes sharing a node (:func:`spillane_bound`): independent of the coefficient,
of its contrast and of ``n``. The price is a coarse dimension that grows with the number of channels crossing the
overlaps.

**Implementation.** The Neumann matrices of all boxes come from one pass per direction over the difference operators
:math:`G_k` (which edges lie inside which box is one sparse product); each eigenproblem is dense (LAPACK ``sygvx``,
only the eigenvalues below :math:`\tau`) for boxes of at most :data:`DENSE_BOX_MAX` nodes, else shift-invert Lanczos
(ARPACK) with a growing number of wanted pairs.

Examples
--------
>>> import numpy as np
>>> from ddlib.coefficients import channels
>>> from ddlib.decomposition import Decomposition
>>> from ddlib.problem import Problem
>>> P = Problem((31, 31), channels(31, 2, contrast=1e4))
>>> dec = Decomposition(P, N=4, delta=1, split="round")
>>> Phi = dec.coarse_space("geneo", tau=0.15)
>>> Phi.shape[0], Phi.shape[1] > dec.n_sub        # more than one function per box: one per channel crossing
(961, True)
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from ._validate import check_choice, check_int, check_positive
from .decomposition import PARTITIONS_OF_UNITY, Decomposition, register_coarse_space

__all__ = ["DENSE_BOX_MAX", "neumann_matrices", "local_eigenproblem", "local_eigenpairs", "geneo_space",
           "spillane_bound", "max_multiplicity"]

#: Boxes of at most this many nodes get a dense generalised eigensolver; larger ones shift-invert Lanczos.
DENSE_BOX_MAX = 2500


def _boxes(dec: Decomposition) -> sp.csr_matrix:
    """Boolean ``n x N^d`` membership matrix, column ``i`` the indicator of box ``i``."""
    keep = dec.mask
    rows = dec.padded_indices[keep]
    cols = np.broadcast_to(np.arange(dec.n_sub)[:, None], keep.shape)[keep]
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(dec.n, dec.n_sub))


def neumann_matrices(dec: Decomposition) -> list[sp.csr_matrix]:
    r"""The Neumann matrices :math:`\tilde A_i^{\mathrm{Neu}} = h^{-2}\sum_k (G_k^{(i)})^TW_k^{(i)}G_k^{(i)}` of every
    box (sparse, ``n_i x n_i``, in the order of ``dec.indices[i]``), :math:`G_k^{(i)}` the rows of :math:`G_k` whose
    nodes all lie in box ``i`` (interior edges and the box's edges to the physical boundary) restricted to its
    columns.

    :math:`\sum_i u_i^T\tilde A_i^{\mathrm{Neu}}u_i \le k_0\,u^TAu` (:math:`u_i = R_iu`) and
    :math:`\tilde A_i^{\mathrm{Neu}} \le A_i` in the Loewner order: each is the energy of a subset of the edges.
    """
    P = dec.problem
    B = _boxes(dec)
    out = [sp.csr_matrix((s, s)) for s in dec.sizes]
    for k, w in enumerate(P.edge_weights()):
        G = P.gradient(k)
        absG = abs(G)
        S = (absG @ B).tocoo()                                   # (edges, boxes): ends of the edge in the box
        ends = np.asarray(absG.sum(axis=1)).ravel()
        full = S.data == ends[S.row]                             # every end of the edge lies in the box
        inside = sp.csc_matrix((np.ones(full.sum()), (S.row[full], S.col[full])), shape=S.shape)
        inside.sort_indices()
        for i, idx in enumerate(dec.indices):
            rows = inside.indices[inside.indptr[i]:inside.indptr[i + 1]]
            Gi = G[rows][:, idx]
            out[i] = out[i] + Gi.T @ sp.diags(w.ravel()[rows]) @ Gi
    return [sp.csr_matrix(M / P.h**2) for M in out]


def local_eigenproblem(dec: Decomposition, i: int, partition: str = "multiplicity", *, neumann=None):
    r"""The pair :math:`(\tilde A_i^{\mathrm{Neu}},\ D_iA_iD_i)` of box ``i`` (sparse, ``n_i x n_i``)."""
    i = check_int("i", i, low=0, high=dec.n_sub - 1)
    _check_partition(partition)
    N = neumann_matrices(dec)[i] if neumann is None else neumann
    D = sp.diags(dec.partition_of_unity(partition)[i])
    Ai = dec.local_matrices()[i]
    return N, sp.csr_matrix(D @ Ai @ D)


def _check_partition(partition: str) -> str:
    if check_choice("partition", partition, PARTITIONS_OF_UNITY) == "boolean":
        raise ValueError("partition must be 'multiplicity' or 'ramp' for GenEO (positive on the whole box, so "
                         "D_i A_i D_i is positive definite); got 'boolean'")
    return partition


def local_eigenpairs(neumann, weighted, *, tau: float | None = None, count: int | None = None):
    r"""Eigenpairs :math:`(\lambda, v)` of :math:`\tilde A^{\mathrm{Neu}}v = \lambda\,(DAD)v`, ascending, normalised
    :math:`v^TDADv = 1`: those with :math:`\lambda < \tau`, or the ``count`` smallest (exactly one of the two).

    Dense (LAPACK) up to :data:`DENSE_BOX_MAX` unknowns, else shift-invert Lanczos about :math:`\sigma = -\tau`
    (so the singular Neumann matrix is never factorized), doubling the number of wanted pairs until one lies at or
    above :math:`\tau`.
    """
    if (tau is None) == (count is None):
        raise ValueError("give exactly one of tau (keep lambda < tau) and count (the smallest count pairs)")
    size = neumann.shape[0]
    if count is not None:
        count = check_int("count", count, low=1, high=size)
    else:
        tau = check_positive("tau", tau)
    if size <= DENSE_BOX_MAX:
        Nd, Bd = neumann.toarray(), weighted.toarray()
        window = dict(subset_by_index=(0, count - 1)) if count else dict(subset_by_value=(-np.inf, tau))
        lam, V = scipy.linalg.eigh(0.5 * (Nd + Nd.T), 0.5 * (Bd + Bd.T), **window)
        return lam, V
    return _lanczos_pairs(sp.csc_matrix(neumann), sp.csc_matrix(weighted), tau, count)


def _lanczos_pairs(Nm, Bm, tau, count):
    """Shift-invert Lanczos for the large boxes of :func:`local_eigenpairs`."""
    size = Nm.shape[0]
    sigma = -(tau if tau is not None else 1e-3)
    want = count or 8
    while True:
        k = min(want, size - 2)
        lam, V = eigsh(Nm, k=k, M=Bm, sigma=sigma, which="LM", v0=np.ones(size))
        order = np.argsort(lam)
        lam, V = lam[order], V[:, order]
        if count is not None:
            return lam[:count], V[:, :count]
        if lam[-1] >= tau or k == size - 2:
            keep = lam < tau
            return lam[keep], V[:, keep]
        want *= 2


def geneo_space(dec: Decomposition, tau: float | None = 0.15, per_box: int | None = None,
                partition: str = "multiplicity") -> tuple[sp.csr_matrix, list[np.ndarray]]:
    r"""The GenEO basis :math:`\Phi` (sparse ``n x N_0``) and the kept eigenvalues of every box.

    ``tau``: keep :math:`\lambda < \tau` (the adaptive rule of the theory); ``per_box``: the ``per_box`` smallest
    pairs of every box instead (a fixed coarse dimension :math:`N^d\cdot` ``per_box``, for comparisons at equal
    size); give one of the two.
    """
    _check_partition(partition)
    if per_box is not None:
        tau = None
    D = dec.partition_of_unity(partition)
    A_loc = dec.local_matrices()
    rows, cols, vals, kept = [], [], [], []
    for i, (Nm, idx) in enumerate(zip(neumann_matrices(dec), dec.indices)):
        Bm = sp.diags(D[i]) @ A_loc[i] @ sp.diags(D[i])
        lam, V = local_eigenpairs(Nm, Bm, tau=tau, count=per_box)
        start = sum(len(k) for k in kept)
        rows.append(np.repeat(idx, V.shape[1]))
        cols.append(np.tile(start + np.arange(V.shape[1]), idx.size))
        vals.append((D[i][:, None] * V).ravel())
        kept.append(lam)
    total = sum(len(k) for k in kept)
    Phi = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(dec.n, total))
    Phi.eliminate_zeros()
    return Phi, kept


@register_coarse_space("geneo")
def _geneo(dec: Decomposition, tau: float | None = 0.15, per_box: int | None = None,
           partition: str = "multiplicity") -> sp.csr_matrix:
    r"""GenEO (module docstring): :math:`R_i^TD_iv` for the eigenpairs with :math:`\lambda < \tau` of every box, or
    the ``per_box`` smallest."""
    return geneo_space(dec, tau, per_box, partition)[0]


def max_multiplicity(dec: Decomposition) -> int:
    r""":math:`k_0`: the largest number of boxes that share a node."""
    return int(dec.multiplicity.max())


def spillane_bound(k0: int, tau: float) -> float:
    r"""The GenEO bound :math:`(1 + k_0)\big(2 + k_0(2k_0 + 1)(1 + 1/\tau)\big)` on :math:`\kappa(M^{-1}A)` of two-level
    additive Schwarz (module docstring); it does not depend on the coefficient.

    >>> round(spillane_bound(4, 0.15), 1)
    1390.0
    """
    k0, tau = check_int("k0", k0, low=1), check_positive("tau", tau)
    return float((1 + k0) * (2 + k0 * (2 * k0 + 1) * (1 + 1 / tau)))
