r"""The cost model: FLOPs, bytes moved and parameter counts of DD and global attention, from the sizes alone.

* FLOPs count the multiply-adds of the products as executed (2 FLOPs each), padded subdomains included
  (:func:`dd_flops`, :func:`global_flops`); :func:`equal_flop_rows` sizes one :func:`torch.bmm` with the same FLOPs.
* Bytes moved are an estimate for the order of execution of DD attention's window layout (:func:`dd_traffic`)
  against that :func:`torch.bmm` (:func:`bmm_traffic`, :func:`traffic_ratio`).
* Global attention is compared at matched parameter count (:func:`matched_parameter_rank`) and at matched best
  accuracy (:func:`matched_accuracy_rank`, :func:`best_relative_error_global`).

Nothing here is measured: every number is a closed form, checked against explicit matrices in the tests.

Examples
--------
>>> from ddlib.costmodel import matched_accuracy_rank
>>> matched_accuracy_rank(N=16, rank=3)      # global rank with the DD ansatz's best error
63
"""
from __future__ import annotations

from ._validate import check_int
from .decomposition import Decomposition
from .problem import eigenvalues

__all__ = [
    "dd_factor_nnz",
    "dd_flops",
    "global_flops",
    "equal_flop_rows",
    "dd_traffic",
    "bmm_traffic",
    "traffic_ratio",
    "matched_parameter_rank",
    "matched_accuracy_rank",
    "best_relative_error_global",
]


def dd_factor_nnz(n: int, N: int, delta: int, rank: int, coarse_rank: int, *, padded: bool = True) -> dict:
    r"""Nonzeros of the factors of DD attention written as a product chain, per factor.

    The local part applies :math:`K^T D^{1/2} R` then :math:`R^T D^{1/2} Q` with block-diagonal
    :math:`K = \mathrm{diag}(K_i)`, :math:`Q = \mathrm{diag}(Q_i)`, :math:`K_i, Q_i \in \mathbb{R}^{n_i\times r}`
    (``n_i`` = the padded size ``n_max`` with ``padded=True``); the coarse part applies :math:`\Phi^T`, :math:`K_0^T`,
    :math:`Q_0`, :math:`\Phi` with hat functions (:math:`(2m-1)(N-1)` nonzeros, ``m = (n+1)/N``),
    :math:`Q_0, K_0 \in \mathbb{R}^{(N-1)\times r_0}`. Restrictions and the diagonal weights are gathers and scalings,
    not counted (they are :math:`O(\sum n_i)` and the same in every formulation).
    """
    dec = Decomposition(n, N, delta)
    rank = check_int("rank", rank, low=1)
    N0 = dec.N - 1
    coarse_rank = check_int("coarse_rank", coarse_rank, low=0, high=max(N0, 0))
    local_rows = dec.N * dec.n_max if padded else int(dec.sizes.sum())
    phi = (2 * dec.m - 1) * N0
    return {"K_local": local_rows * rank, "Q_local": local_rows * rank, "Phi_T": phi if coarse_rank else 0,
            "K0": N0 * coarse_rank, "Q0": N0 * coarse_rank, "Phi": phi if coarse_rank else 0}


def dd_flops(n: int, N: int, delta: int, rank: int, coarse_rank: int, batch: int = 1, *, padded: bool = True) -> int:
    r"""FLOPs of one DD-attention forward pass on ``batch`` right-hand sides: :math:`2B\sum_F \mathrm{nnz}(F)` over the
    factors of :func:`dd_factor_nnz` (a product with a matrix of ``nnz`` nonzeros costs ``nnz`` multiply-adds):

    .. math::  F_{DD} = 2B\big(2 r \textstyle\sum_i n_i + 2 r_0 (N-1) + 2 (2m-1)(N-1)\big).
    """
    batch = check_int("batch", batch, low=1)
    return 2 * batch * sum(dd_factor_nnz(n, N, delta, rank, coarse_rank, padded=padded).values())


def equal_flop_rows(flops: int, groups: int, inner: int, batch: int) -> int:
    r"""Rows :math:`k` of the left operand of one :func:`torch.bmm` of a ``(groups, k, inner)`` by a
    ``(groups, inner, batch)`` tensor with at least ``flops`` FLOPs:

    .. math::  k = \left\lceil \frac{F}{2\,G\,\ell\,B} \right\rceil,

    so the product costs :math:`2G\ell Bk`, at least :math:`F` and less than :math:`F + 2G\ell B` FLOPs (at most one
    row more than needed). Every argument must be an integer >= 1.
    """
    flops, groups, inner, batch = _counts(flops=flops, groups=groups, inner=inner, batch=batch)
    return -(-flops // (2 * groups * inner * batch))


def dd_traffic(n: int, N: int, delta: int, rank: int, coarse_rank: int, batch: int = 1, *,
               itemsize: int = 8) -> dict:
    r"""Bytes that one forward pass of :class:`ddlib.attention.DDAttention`'s window layout reads and writes in
    main memory, per step, for a uniform decomposition (``m = (n+1)/N`` intervals, ``N >= 3``).

    With :math:`L = m + 2\delta`, :math:`c = r + 2` (the local factors and the two hat columns; :math:`c = r`
    without coarse level), batch :math:`B` and ``itemsize`` bytes per number:

    ========== ===================================================================================
    restrict   read the windows of :math:`f`, :math:`BNL`; read :math:`\tilde K`, :math:`NLc`;
               write :math:`T`, :math:`NcB`
    coarse     read the two hat rows of :math:`T` and write them back, :math:`4NB`; read
               :math:`Q_0, K_0`, :math:`2(N-1)r_0`
    prolong    read :math:`\tilde Q_{core}`, :math:`Nmc`, and :math:`T`, :math:`NcB`; write the output,
               :math:`NmB`
    overlap    read :math:`Q_{tail}`, :math:`2N\delta r`, and the local rows of :math:`T`,
               :math:`NrB`; write and read the tails, :math:`2\cdot 2N\delta B`; read and write the
               overlap rows of the output, :math:`2\cdot 2N\delta B`
    ========== ===================================================================================

    An estimate for this order of execution, in which every step reads its inputs from memory and writes its
    results back; it is not a bound: caches can spare some of it (the overlapping window rows, the small
    coefficient array ``T``), and a fused kernel would move less. Compare :func:`bmm_traffic`: both operations do
    little arithmetic per byte, so on a CPU their times follow these bytes more than their FLOPs.
    """
    dec = Decomposition(n, N, delta)
    if dec.N < 3 or dec.N * dec.m != dec.n + 1:
        raise ValueError(f"dd_traffic models the uniform window layout with N >= 3 subdomains of m = (n+1)/N "
                         f"intervals; got n = {dec.n}, N = {dec.N}")
    rank = check_int("rank", rank, low=1)
    batch = check_int("batch", batch, low=1)
    N, m, d = dec.N, dec.m, dec.delta
    coarse_rank = check_int("coarse_rank", coarse_rank, low=0, high=max(N - 1, 0))
    L, B = m + 2 * d, batch
    c = rank + (2 if coarse_rank else 0)
    words = {"restrict": B * N * L + N * L * c + N * c * B,
             "coarse": 4 * N * B + 2 * (N - 1) * coarse_rank if coarse_rank else 0,
             "prolong": N * m * c + N * c * B + N * m * B,
             "overlap": 2 * N * d * rank + N * rank * B + 8 * N * d * B if d else 0}
    out = {k: v * itemsize for k, v in words.items()}
    out["total"] = sum(out.values())
    return out


def bmm_traffic(groups: int, k: int, inner: int, batch: int, *, itemsize: int = 8) -> int:
    r"""Bytes that :func:`torch.bmm` of a ``(groups, k, inner)`` by a ``(groups, inner, batch)`` tensor must move:
    read both operands and write the ``(groups, k, batch)`` result, :math:`G(k\ell + \ell B + kB)` numbers."""
    groups, k, inner, batch = _counts(groups=groups, k=k, inner=inner, batch=batch)
    return itemsize * groups * (k * inner + inner * batch + k * batch)


def traffic_ratio(n: int, N: int, delta: int, rank: int, coarse_rank: int, batch: int = 1) -> float:
    r"""Bytes moved by DD attention's forward pass over those of the equal-FLOP :func:`torch.bmm`
    (:func:`equal_flop_rows` rows, ``groups = N``, ``inner = m + 2 delta``): :func:`dd_traffic` over
    :func:`bmm_traffic`.

    The factors are read once per call whatever the batch, the right-hand sides and outputs once per right-hand
    side, so the ratio depends on the batch: for a large batch it tends to
    :math:`(L + 2c + m + 4 + r + 8\delta)/(L + k)` (per right-hand side and subdomain, with :math:`k` the
    ``bmm``'s rows), for a small one it is set by the factors.
    """
    dec = Decomposition(n, N, delta)
    k = equal_flop_rows(dd_flops(n, N, delta, rank, coarse_rank, batch), dec.N, dec.n_max, batch)
    return dd_traffic(n, N, delta, rank, coarse_rank, batch)["total"] / bmm_traffic(dec.N, k, dec.n_max, batch)


def global_flops(n: int, rank: int, batch: int = 1) -> int:
    r"""FLOPs of one global attention forward pass :math:`Q(K^T f)`: :math:`F = 2B \cdot 2nr`."""
    n = check_int("n", n, low=1)
    rank = check_int("rank", rank, low=1)
    batch = check_int("batch", batch, low=1)
    return 4 * batch * n * rank


def matched_parameter_rank(parameters: int, n: int) -> int:
    r"""The global rank with about ``parameters`` trainable numbers: :math:`r = \max(1, \mathrm{round}(P / 2n))`."""
    parameters = check_int("parameters", parameters, low=1)
    n = check_int("n", n, low=1)
    return max(1, int(round(parameters / (2 * n))))


def matched_accuracy_rank(N: int, rank: int) -> int:
    r"""The global rank whose best error equals the best error of the DD ansatz with local rank ``rank``.

    In the exact 1D decomposition :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E` (coarse part
    exact), each :math:`A_E` is the Dirichlet matrix on the :math:`m-1` nodes inside a coarse element, with
    eigenvalues :math:`\frac{4}{h^2}\sin^2\frac{j\pi}{2m} = \lambda_{jN}(A)`. Truncating every local inverse to rank
    :math:`r` leaves the block-diagonal error :math:`1/\lambda_{(r+1)N}`; the best global rank-:math:`r_g` error is
    :math:`1/\lambda_{r_g+1}` (Eckart--Young). They are equal for :math:`r_g = (r+1)N - 1`: a global operator needs
    :math:`2n((r+1)N-1) = O(n^2/m)` parameters to match what DD gets with :math:`O(nr)`.
    """
    N = check_int("N", N, low=1)
    rank = check_int("rank", rank, low=0)
    return (rank + 1) * N - 1


def best_relative_error_global(n: int, rank: int) -> float:
    r"""Best relative error of a rank-``rank`` approximation of :math:`A^{-1}`:
    :math:`\|A^{-1} - [A^{-1}]_r\|_2 / \|A^{-1}\|_2 = \lambda_1 / \lambda_{r+1}` (0 for ``rank >= n``)."""
    n = check_int("n", n, low=1)
    rank = check_int("rank", rank, low=0)
    if rank >= n:
        return 0.0
    lam = eigenvalues(n, [1, rank + 1])
    return float(lam[0] / lam[1])


def _counts(**values) -> tuple[int, ...]:
    """The keyword values as ints, each checked to be >= 1 (a ValueError names the first that is not)."""
    return tuple(check_int(name, v, low=1) for name, v in values.items())
