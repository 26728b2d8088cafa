r"""The cost model: FLOPs, bytes moved and parameter counts of DD and global attention, from the sizes alone.

* FLOPs count the multiply-adds of the operator written as a product chain (2 FLOPs each), padded subdomains
  included (:func:`dd_flops`, :func:`global_flops`): the work of the formula, whatever the layout that executes it;
  :func:`equal_flop_rows` sizes one :func:`torch.bmm` with the same FLOPs.
* Bytes moved are an estimate for the order of execution of DD attention's 1D window layout (:func:`dd_traffic`)
  against that :func:`torch.bmm` (:func:`bmm_traffic`, :func:`traffic_ratio`).
* Global attention is compared at matched parameter count (:func:`matched_parameter_rank`) and at matched best
  accuracy (:func:`matched_accuracy_rank`, :func:`best_relative_error_global`).

Nothing here is measured: every number is a closed form or a count of the structure's arrays, checked against
explicit matrices in the tests. The DD functions take a :class:`ddlib.attention.Structure` (any dimension).

Examples
--------
>>> from ddlib.costmodel import matched_accuracy_rank
>>> matched_accuracy_rank(N=16, rank=3)      # global rank with the DD ansatz's best error
63
"""
from __future__ import annotations

from ._validate import check_int
from .problem import Problem

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


def _structure(structure):
    from .attention import Structure  # import here: the cost model reads a structure; attention imports torch

    if not isinstance(structure, Structure):
        raise ValueError(f"structure must be a ddlib.attention.Structure; got {type(structure).__name__}")
    return structure


def dd_factor_nnz(structure, rank: int, coarse_rank: int, *, padded: bool = True) -> dict:
    r"""Nonzeros of the factors of DD attention written as a product chain, per factor.

    The local part applies :math:`K^T W^R R` then :math:`R^T W^L Q` with block-diagonal
    :math:`K = \mathrm{diag}(K_i)`, :math:`Q = \mathrm{diag}(Q_i)`, :math:`K_i, Q_i \in \mathbb{R}^{n_i\times r}`
    (``n_i`` = the padded size ``n_max`` with ``padded=True``); the coarse part applies :math:`\Phi^T`, :math:`K_0^T`,
    :math:`Q_0`, :math:`\Phi` with :math:`Q_0, K_0 \in \mathbb{R}^{N_0\times r_0}` (for the 1D hats
    :math:`\mathrm{nnz}(\Phi) = (2b-1)(N-1)`, :math:`b = H/h`). Restrictions and the diagonal weights are gathers
    and scalings, not counted (they are :math:`O(\sum n_i)` and the same in every formulation).
    """
    s = _structure(structure)
    dec = s.decomposition
    rank = check_int("rank", rank, low=1)
    coarse_rank = check_int("coarse_rank", coarse_rank, low=0, high=s.N0)
    rows = dec.n_sub * dec.n_max if padded else int(dec.sizes.sum())
    phi = int(s.Phi.nnz) if coarse_rank else 0
    return {"K_local": rows * rank, "Q_local": rows * rank, "Phi_T": phi, "K0": s.N0 * coarse_rank,
            "Q0": s.N0 * coarse_rank, "Phi": phi}


def dd_flops(structure, rank: int, coarse_rank: int, batch: int = 1, *, padded: bool = True) -> int:
    r"""FLOPs of one DD-attention forward pass on ``batch`` right-hand sides: :math:`2B\sum_F \mathrm{nnz}(F)` over the
    factors of :func:`dd_factor_nnz` (a product with a matrix of ``nnz`` nonzeros costs ``nnz`` multiply-adds):

    .. math::  F_{DD} = 2B\big(2 r \textstyle\sum_i n_i + 2 r_0 N_0 + 2\,\mathrm{nnz}(\Phi)\big).
    """
    batch = check_int("batch", batch, low=1)
    return 2 * batch * sum(dd_factor_nnz(structure, rank, coarse_rank, padded=padded).values())


def equal_flop_rows(flops: int, groups: int, inner: int, batch: int) -> int:
    r"""Rows :math:`k` of the left operand of one :func:`torch.bmm` of a ``(groups, k, inner)`` by a
    ``(groups, inner, batch)`` tensor with at least ``flops`` FLOPs:

    .. math::  k = \left\lceil \frac{F}{2\,G\,\ell\,B} \right\rceil,

    so the product costs :math:`2G\ell Bk`, at least :math:`F` and less than :math:`F + 2G\ell B` FLOPs (at most one
    row more than needed). Every argument must be an integer >= 1.
    """
    flops, groups, inner, batch = _counts(flops=flops, groups=groups, inner=inner, batch=batch)
    return -(-flops // (2 * groups * inner * batch))


def dd_traffic(structure, rank: int, coarse_rank: int, batch: int = 1, *, itemsize: int = 8) -> dict:
    r"""Bytes that one forward pass of :class:`ddlib.attention.DDAttention`'s 1D window layout reads and writes in
    main memory, per step (:mod:`ddlib._window`; ``structure.windows`` must exist: 1D, interface rule, ``N >= 3``).

    With ``N`` windows of :math:`L = b + 2\delta` slots, :math:`c = r + k` columns (the local factors and the ``k``
    core columns of the coarse space, :func:`ddlib._window.core_columns`; ``k = 2`` for the hats, 0 without coarse
    level), batch :math:`B` and ``itemsize`` bytes per number:

    ========== ===================================================================================
    restrict   read the windows of :math:`f`, :math:`BNL`; read :math:`\tilde K`, :math:`NLc`;
               write :math:`T`, :math:`NcB`
    coarse     copy the core columns of :math:`T` and scatter them into :math:`\Phi^Tf`, :math:`3NkB`;
               write it and the coarse coefficients, :math:`2(N_0+1)B`; read :math:`Q_0, K_0`,
               :math:`2N_0r_0`; gather the coefficients back, :math:`NkB`, into a new :math:`T`,
               :math:`2NcB`
    prolong    read the core rows of :math:`\tilde Q`, :math:`Nbc`, and :math:`T`, :math:`NcB`; write the
               output, :math:`NbB`
    overlap    read the overlap rows of :math:`\tilde Q`, :math:`2N\delta c`, and :math:`T` twice,
               :math:`2NcB`; write and read the tails, :math:`2\cdot 2N\delta B`; read and write the
               overlap rows of the output, :math:`2\cdot 2N\delta B`
    ========== ===================================================================================

    An estimate for this order of execution, in which every step reads its inputs from memory and writes its
    results back; it is not a bound: caches can spare some of it (the overlapping window rows, the small
    coefficient array ``T``), and a fused kernel would move less. Compare :func:`bmm_traffic`: both operations do
    little arithmetic per byte, so on a CPU their times follow these bytes more than their FLOPs.
    """
    s = _structure(structure)
    dec = s.decomposition
    if s.windows is None:
        raise ValueError(f"dd_traffic models the 1D window layout (interface rule, N >= 3 boxes); got "
                         f"{dec!r}")
    rank = check_int("rank", rank, low=1)
    coarse_rank = check_int("coarse_rank", coarse_rank, low=0, high=s.N0)
    B = check_int("batch", batch, low=1)
    N, b, d, L = dec.N, dec.box, dec.delta, dec.n_max
    k = s.core_index.shape[1] if coarse_rank else 0
    c = rank + k
    words = {"restrict": B * N * L + N * L * c + N * c * B,
             "coarse": 4 * N * k * B + 2 * (s.N0 + 1) * B + 2 * s.N0 * coarse_rank + 2 * N * c * B if k else 0,
             "prolong": N * b * c + N * c * B + N * b * B,
             "overlap": 2 * N * d * c + 2 * N * c * B + 8 * N * d * B if d else 0}
    out = {key: v * itemsize for key, v in words.items()}
    out["total"] = sum(out.values())
    return out


def bmm_traffic(groups: int, k: int, inner: int, batch: int, *, itemsize: int = 8) -> int:
    r"""Bytes that :func:`torch.bmm` of a ``(groups, k, inner)`` by a ``(groups, inner, batch)`` tensor must move:
    read both operands and write the ``(groups, k, batch)`` result, :math:`G(k\ell + \ell B + kB)` numbers."""
    groups, k, inner, batch = _counts(groups=groups, k=k, inner=inner, batch=batch)
    return itemsize * groups * (k * inner + inner * batch + k * batch)


def traffic_ratio(structure, rank: int, coarse_rank: int, batch: int = 1) -> float:
    r"""Bytes moved by DD attention's forward pass over those of the equal-FLOP :func:`torch.bmm`
    (:func:`equal_flop_rows` rows, ``groups = N``, ``inner = b + 2 delta``): :func:`dd_traffic` over
    :func:`bmm_traffic`.

    The factors are read once per call whatever the batch, the right-hand sides and outputs once per right-hand
    side, so the ratio depends on the batch: for a large batch it tends to
    :math:`(L + 6c + 4k + b + 8\delta)/(L + k_{bmm})` per right-hand side and window (plus :math:`2N_0/N` for the
    coarse vectors), with :math:`k_{bmm}` the ``bmm``'s rows; for a small one it is set by the factors.
    """
    dec = _structure(structure).decomposition
    k = equal_flop_rows(dd_flops(structure, rank, coarse_rank, batch), dec.N, dec.n_max, batch)
    return dd_traffic(structure, rank, coarse_rank, batch)["total"] / bmm_traffic(dec.N, k, dec.n_max, batch)


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


def best_relative_error_global(problem: Problem, rank: int) -> float:
    r"""Best relative error of a rank-``rank`` approximation of :math:`A^{-1}` (Eckart--Young):
    :math:`\|A^{-1} - [A^{-1}]_r\|_2 / \|A^{-1}\|_2 = \lambda_1 / \lambda_{r+1}` (0 for ``rank >= n``), from the
    problem's eigenvalues in ascending order."""
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a ddlib.problem.Problem; got {type(problem).__name__}")
    rank = check_int("rank", rank, low=0)
    if rank >= problem.n:
        return 0.0
    lam = problem.eigenvalues()
    return float(lam[0] / lam[rank])


def _counts(**values) -> tuple[int, ...]:
    """The keyword values as ints, each checked to be >= 1 (a ValueError names the first that is not)."""
    return tuple(check_int(name, v, low=1) for name, v in values.items())
