r"""The structured non-DD baseline: a learned stencil plus a global low rank, in any dimension (FMMformer's near field
plus far field :cite:p:`nguyen2021fmmformer`),

.. math::  u = w\,(B + UV^T) f, \qquad B_{pq} \ne 0 \text{ only for } \max_k |p_k - q_k| \le b,

the band of half-width ``b`` in 1D. It has locality and a global level like DD attention but no decomposition, no
partition of unity and no coarse space: the comparison that tells whether DD's advantage is its structure or merely
locality.

Examples
--------
>>> from ddlib.problem import Problem
>>> BandedLowRank(Problem(255), 2, 4).num_parameters() == banded_lowrank_parameter_count(255, 1, 2, 4) == 3309
True
"""
from __future__ import annotations

import numpy as np
import torch

from ._validate import check_int, check_positive
from .attention import _generator, _Operator
from .problem import Problem

__all__ = ["BandedLowRank", "banded_lowrank_parameter_count"]


def banded_lowrank_parameter_count(m: int, dim: int, bandwidth: int, rank: int) -> int:
    r"""Parameters of :class:`BandedLowRank`: :math:`(m(2b+1) - b(b+1))^d + 2nr` (the stencil entries inside the
    grid, per axis :math:`\sum_{|o|\le b}(m - |o|)`, and the low rank), :math:`n = m^d`.

    >>> banded_lowrank_parameter_count(255, 1, 2, 4)        # 1D: n(2b+1) - b(b+1) + 2nr
    3309
    """
    m, d = check_int("m", m, low=1), check_int("dim", dim, low=1)
    b, r = check_int("bandwidth", bandwidth, low=0, high=m - 1), check_int("rank", rank, low=0, high=m**d)
    return (m * (2 * b + 1) - b * (b + 1)) ** d + 2 * m**d * r


class BandedLowRank(_Operator):
    r"""Banded-plus-low-rank operator :math:`u = w\,(B + UV^T)f` (module docstring), in any dimension.

    Parameters
    ----------
    problem : Problem
    bandwidth : int
        Half-width ``b`` of the stencil, ``0 <= b <= m - 1``: node ``p`` couples to every ``q`` with
        :math:`\max_k|p_k - q_k| \le b` (the band in 1D); one learned weight per node and offset, slots outside the
        grid masked to zero.
    rank : int
        ``0 <= r <= n``; ``0`` leaves only the band.
    init_scale, seed : float, int
        Entries :math:`\mathcal N(0, s^2)` from a seeded generator.
    """

    def __init__(self, problem: Problem, bandwidth: int, rank: int, *, init_scale: float = 0.1, seed: int = 0):
        super().__init__()
        self._setup(problem)
        m, d = problem.m, problem.dim
        self.bandwidth = b = check_int("bandwidth", bandwidth, low=0, high=m - 1)
        self.rank = check_int("rank", rank, low=0, high=self.n)
        s, g = check_positive("init_scale", init_scale), _generator(seed)
        self.offsets = [tuple(int(v) for v in o) for o in np.indices((2 * b + 1,) * d).reshape(d, -1).T - b]
        idx = np.indices(problem.shape).reshape(d, -1).T
        inside = np.stack([np.all((idx + o >= 0) & (idx + o < m), axis=1) for o in self.offsets])
        self.register_buffer("band_mask", torch.as_tensor(inside, dtype=torch.float64), persistent=False)
        self.band = torch.nn.Parameter(torch.randn(len(self.offsets), self.n, generator=g, dtype=torch.float64) * s
                                       * self.band_mask)
        self.U = torch.nn.Parameter(torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s)
        self.V = torch.nn.Parameter(torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s)

    def extra_repr(self) -> str:
        return f"n={self.n}, bandwidth={self.bandwidth}, rank={self.rank}, parameters={self.num_parameters()}"

    def band_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`BF`: the columns padded by ``b`` on every side of the grid, one shifted product per offset."""
        shape, b, B = self.problem.shape, self.bandwidth, F.shape[1]
        W = (self.band * self.band_mask).reshape(len(self.offsets), *shape, 1)
        P = torch.nn.functional.pad(F.reshape(*shape, B), (0, 0) + (b, b) * len(shape))
        out = torch.zeros_like(F).reshape(*shape, B)
        for k, o in enumerate(self.offsets):  # a loop over the (2b+1)^d offsets, not over nodes or subdomains
            window = tuple(slice(b + oj, b + oj + mj) for oj, mj in zip(o, shape))
            out = out + W[k] * P[window]
        return out.reshape(self.n, B)

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`w\,(BF + U(V^TF))` for right-hand sides in the columns of ``F``."""
        self._check_columns(F)
        out = self.band_part(F)
        if self.rank:
            out = out + self.U @ (self.V.T @ F)
        return out * self.weight

    def num_parameters(self) -> int:
        """Trainable scalars (masked band slots excluded)."""
        return int(self.band_mask.sum().item()) + int(self.U.numel() + self.V.numel())

    def parameter_formula(self) -> int:
        return banded_lowrank_parameter_count(self.problem.m, self.problem.dim, self.bandwidth, self.rank)
