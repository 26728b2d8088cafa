r"""Model specifications: one small, validated, hashable description per kind of operator the book trains.

A spec says *what* a model is (its architecture); the training protocol (:class:`ddlib.training.TrainConfig`) says how
it is initialised and trained. Every spec

* is a frozen dataclass, normalised and validated when it is made (NumPy integers become ``int``; a float that is not
  an integer, a negative rank, an unknown option name: a ValueError naming the field and its valid range);
* builds its module with :meth:`ModelSpec.build` ``(n, seed, init_scale, dtype, device, dim)``;
* counts its parameters in closed form, :meth:`ModelSpec.parameter_count` ``(n, dim)``;
* lives in the problem dimensions :attr:`ModelSpec.dims`: ``dim = 1`` is the paper's grid of ``n`` nodes,
  ``dim = 2`` the ``m x m`` grid of :mod:`ddlib.problem2d` with ``n = m^2`` (a spec asked for another dimension, or
  for ``dim = 2`` with an ``n`` that is not a square, raises a ValueError naming ``dim`` or ``n``);
* has a short :attr:`ModelSpec.label` and a :attr:`ModelSpec.family`, the class a verdict compares (``"global"``,
  ``"dd"`` or ``"banded"``);
* round-trips through plain JSON, :meth:`ModelSpec.to_dict` and :func:`spec_from_dict` (the cache key and the sweep
  runner's messages use it).

======================  ================================================================================  ==========
spec                    operator                                                                          family
======================  ================================================================================  ==========
:class:`GlobalSpec`     :math:`w\,QK^T` (:class:`ddlib.attention.GlobalAttention`; tied :math:`w\,KK^T`)   global
                        with the quadrature weight :math:`w = h` (1D) or :math:`h^2` (2D)
:class:`DDSpec`         two-level DD attention (:class:`ddlib.attention.DDAttention`), with the ablation   dd
                        switches (coarse only, local only, weights, coarse space, tied or shared factors)
:class:`BandedSpec`     banded plus low rank, :math:`h\,(B + UV^T)` (:class:`ddlib.attention.BandedLowRank`) banded
:class:`DD2DSpec`       two-level DD attention on the ``N x N`` boxes of the 2D grid                       dd
                        (:class:`ddlib.attention2d.DDAttention2D`)
======================  ================================================================================  ==========

Examples
--------
>>> spec = DDSpec(N=8, delta=1, local_rank=4)
>>> spec.label, spec.parameter_count(255), spec.build(255).num_parameters()
('DD N=8 δ=1 r=4', 2250, 2250)
>>> spec_from_dict(spec.to_dict()) == spec
True
>>> GlobalSpec(rank=16).parameter_count(255)
8160
>>> DD2DSpec(N=4, delta=1, local_rank=4).parameter_count(31 * 31, dim=2)
11114
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ._validate import check_choice, check_int, check_positive
from .attention import (COARSE_INVERSES, DIAGONALS, BandedLowRank, DDAttention, GlobalAttention,
                        banded_lowrank_parameter_count, dd_parameter_count, global_parameter_count)
from .attention2d import DDAttention2D, dd2d_parameter_count
from .decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition
from .decomposition2d import COARSE_SPACES_2D, Decomposition2D

__all__ = ["ModelSpec", "GlobalSpec", "DDSpec", "BandedSpec", "DD2DSpec", "spec_from_dict", "SPEC_KINDS", "FAMILIES",
           "DIMS", "grid_side"]

#: The families a verdict compares.
FAMILIES = ("global", "dd", "banded")
#: ``kind -> spec class`` for :func:`spec_from_dict`.
SPEC_KINDS: dict = {}
#: The problem dimensions: 1 (the paper's interval) and 2 (the unit square, :mod:`ddlib.problem2d`).
DIMS = (1, 2)


def grid_side(n: int, dim: int = 1) -> int:
    r"""Nodes per direction of a grid of ``n`` unknowns in dimension ``dim``: ``n`` in 1D, ``m`` with
    :math:`n = m^2` in 2D (a ValueError naming ``n`` if ``n`` is not a perfect square, or ``dim`` outside
    :data:`DIMS`)."""
    dim = check_choice("dim", check_int("dim", dim, low=1), DIMS)
    n = check_int("n", n, low=1)
    if dim == 1:
        return n
    m = math.isqrt(n)
    if m * m != n:
        raise ValueError(f"n must be a perfect square m^2 for dim = 2 (m nodes per direction); got n = {n} "
                         f"(nearest: {m * m} or {(m + 1) ** 2})")
    return m


def _register(cls):
    SPEC_KINDS[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class ModelSpec:
    """Base class of the model specs (see the module docstring)."""

    kind: ClassVar[str] = ""
    family: ClassVar[str] = ""
    #: field name -> ("int", low) | ("bool",) | ("choice", choices) | ("optional_int", low) | ("positive",)
    _fields: ClassVar[dict] = {}

    def __post_init__(self):
        for name, rule in self._fields.items():
            value = getattr(self, name)
            if rule[0] == "int":
                value = check_int(name, value, low=rule[1])
            elif rule[0] == "optional_int":
                value = None if value is None else check_int(name, value, low=rule[1])
            elif rule[0] == "positive":
                value = check_positive(name, value)
            elif rule[0] == "bool":
                if not isinstance(value, bool) and type(value).__name__ != "bool_":
                    raise ValueError(f"{name} must be True or False; got {value!r}")
                value = bool(value)
            else:
                value = check_choice(name, value, rule[1])
            object.__setattr__(self, name, value)
        self._check()

    def _check(self) -> None:
        """Cross-field checks of a subclass."""

    #: The problem dimensions the spec builds a model for.
    dims: ClassVar[tuple] = (1,)

    def build(self, n: int, *, seed: int = 0, init_scale: float = 0.1, dtype=torch.float64,
              device="cpu", dim: int = 1) -> torch.nn.Module:
        """The module for ``n`` unknowns in dimension ``dim``, randomly initialised (seeded) with entries of size
        ``init_scale``."""
        raise NotImplementedError  # pragma: no cover  (every subclass implements it)

    def parameter_count(self, n: int, dim: int = 1) -> int:
        """Trainable scalars for ``n`` unknowns in dimension ``dim`` (closed form)."""
        raise NotImplementedError  # pragma: no cover

    def side(self, n: int, dim: int = 1) -> int:
        """:func:`grid_side` of ``(n, dim)``, after checking that ``dim`` is one of :attr:`dims` (ValueError naming
        ``dim`` otherwise)."""
        dim = check_int("dim", dim, low=1)
        if dim not in self.dims:
            raise ValueError(f"dim must be one of {self.dims} for a {self.kind!r} spec ({type(self).__name__}); got "
                             f"dim = {dim}" + ("; use DD2DSpec on the 2D grid" if self.kind == "dd" and dim == 2
                                               else ""))
        return grid_side(n, dim)

    @property
    def label(self) -> str:
        raise NotImplementedError  # pragma: no cover

    def options(self) -> str:
        """The fields that differ from their defaults, as `` name=value`` text (for labels)."""
        out = ""
        for f in dataclasses.fields(self):
            if f.name in self._label_fields:
                continue
            value = getattr(self, f.name)
            if value != f.default:
                out += f" {f.name}={value}"
        return out

    _label_fields: ClassVar[tuple] = ()

    def to_dict(self) -> dict:
        """Plain JSON: ``{"kind": ..., field: value, ...}``, every field."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    def replace(self, **changes) -> "ModelSpec":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def spec_from_dict(d: dict) -> ModelSpec:
    """The spec of :meth:`ModelSpec.to_dict` output (``kind`` names the class; unknown keys are an error)."""
    if isinstance(d, ModelSpec):
        return d
    if not isinstance(d, dict) or "kind" not in d:
        raise ValueError(f"a model spec dict needs a 'kind' in {sorted(SPEC_KINDS)}; got {d!r}")
    cls = SPEC_KINDS.get(d["kind"])
    if cls is None:
        raise ValueError(f"kind must be one of {sorted(SPEC_KINDS)}; got {d['kind']!r}")
    fields = {f.name for f in dataclasses.fields(cls)}
    extra = set(d) - fields - {"kind"}
    if extra:
        raise ValueError(f"a {d['kind']!r} spec takes the fields {sorted(fields)}; got unknown {sorted(extra)}")
    return cls(**{k: v for k, v in d.items() if k != "kind"})


@_register
@dataclass(frozen=True)
class GlobalSpec(ModelSpec):
    r"""The global low-rank attention :math:`h\,QK^T` of rank ``rank`` (``symmetric``: :math:`h\,KK^T`)."""

    rank: int
    symmetric: bool = False
    kind: ClassVar[str] = "global"
    family: ClassVar[str] = "global"
    dims: ClassVar[tuple] = (1, 2)
    _fields: ClassVar[dict] = {"rank": ("int", 1), "symmetric": ("bool",)}
    _label_fields: ClassVar[tuple] = ("rank",)

    def build(self, n, *, seed=0, init_scale=0.1, dtype=torch.float64, device="cpu", dim=1):
        r""":class:`ddlib.attention.GlobalAttention` with the quadrature weight :math:`h = 1/(n+1)` (1D) or
        :math:`h^2 = 1/(m+1)^2` (2D, :math:`n = m^2`)."""
        m = self.side(n, dim)
        weight = None if dim == 1 else 1.0 / (m + 1) ** 2
        return GlobalAttention(n, check_int("rank", self.rank, low=1, high=n), symmetric=self.symmetric, seed=seed,
                               init_scale=init_scale, weight=weight, dtype=dtype, device=device)

    def parameter_count(self, n: int, dim: int = 1) -> int:
        self.side(n, dim)
        check_int("rank", self.rank, low=1, high=n)
        return global_parameter_count(n, self.rank, symmetric=self.symmetric)

    @property
    def label(self) -> str:
        return f"global r={self.rank}" + (" tied" if self.symmetric else "")


@_register
@dataclass(frozen=True)
class DDSpec(ModelSpec):
    r"""Two-level DD attention: ``N`` subdomains, overlap ``delta``, local rank ``local_rank`` and the options of
    :class:`ddlib.attention.DDAttention` (``use_local=False``: coarse only; ``use_coarse=False``: local only;
    ``diagonal``: a fixed or learned damped Jacobi term :math:`\omega h^2/2\,I` with weight or initial weight
    ``omega``, which makes a tied operator symmetric positive definite)."""

    N: int
    delta: int
    local_rank: int
    coarse_rank: int | None = None
    partition: str = "multiplicity"
    coarse: str = "hat"
    weighting: str = "sqrt"
    use_coarse: bool = True
    use_local: bool = True
    symmetric: bool = False
    shared: bool = False
    coarse_inverse: str = "learned"
    diagonal: str = "none"
    omega: float = 0.5
    kind: ClassVar[str] = "dd"
    family: ClassVar[str] = "dd"
    _fields: ClassVar[dict] = {
        "N": ("int", 1), "delta": ("int", 0), "local_rank": ("int", 1), "coarse_rank": ("optional_int", 1),
        "partition": ("choice", PARTITIONS_OF_UNITY), "coarse": ("choice", COARSE_SPACES),
        "weighting": ("choice", WEIGHTINGS), "use_coarse": ("bool",), "use_local": ("bool",), "symmetric": ("bool",),
        "shared": ("bool",), "coarse_inverse": ("choice", COARSE_INVERSES), "diagonal": ("choice", DIAGONALS),
        "omega": ("positive",)}
    _label_fields: ClassVar[tuple] = ("N", "delta", "local_rank")

    def _check(self):
        if not (self.use_local or (self.use_coarse and self.coarse != "none")):
            raise ValueError("use_local and use_coarse must not both be off (nor the local level off with "
                             "coarse='none')")

    def decomposition(self, n: int) -> Decomposition:
        """The :class:`~ddlib.decomposition.Decomposition` at grid size ``n`` (checks that ``N`` divides ``n + 1``)."""
        return Decomposition(n, self.N, self.delta)

    def build(self, n, *, seed=0, init_scale=0.1, dtype=torch.float64, device="cpu", dim=1):
        self.side(n, dim)
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
              if f.name not in ("N", "delta", "local_rank", "coarse_rank")}
        return DDAttention(self.decomposition(n), self.local_rank, self.coarse_rank, seed=seed,
                           init_scale=init_scale, dtype=dtype, device=device, **kw)

    def parameter_count(self, n: int, dim: int = 1) -> int:
        self.side(n, dim)
        dec = self.decomposition(n)
        use_coarse = self.use_coarse and self.coarse != "none" and dec.N > (1 if self.coarse == "hat" else 0)
        N0 = (dec.N - 1 if self.coarse == "hat" else dec.N) if use_coarse else 0
        r0 = (N0 if self.coarse_rank is None else self.coarse_rank) if use_coarse else 0
        r = min(self.local_rank, dec.n_max) if self.use_local else 0
        return dd_parameter_count(n, dec.N, dec.delta, r, r0, N0, symmetric=self.symmetric, shared=self.shared,
                                  learned_coarse=self.coarse_inverse == "learned",
                                  learned_diagonal=self.diagonal == "learned")

    @property
    def label(self) -> str:
        return f"DD N={self.N} δ={self.delta} r={self.local_rank}" + self.options()


@_register
@dataclass(frozen=True)
class BandedSpec(ModelSpec):
    r"""Banded plus low rank, :math:`h\,(B + UV^T)` with half-bandwidth ``bandwidth`` and rank ``rank`` (FMMformer's
    near-field/far-field split; :class:`ddlib.attention.BandedLowRank`)."""

    bandwidth: int
    rank: int
    kind: ClassVar[str] = "banded"
    family: ClassVar[str] = "banded"
    _fields: ClassVar[dict] = {"bandwidth": ("int", 0), "rank": ("int", 0)}

    def build(self, n, *, seed=0, init_scale=0.1, dtype=torch.float64, device="cpu", dim=1):
        self.side(n, dim)
        return BandedLowRank(n, self.bandwidth, self.rank, init_scale=init_scale, seed=seed, dtype=dtype,
                             device=device)

    def parameter_count(self, n: int, dim: int = 1) -> int:
        self.side(n, dim)
        return banded_lowrank_parameter_count(n, self.bandwidth, self.rank)

    @property
    def label(self) -> str:
        return f"banded b={self.bandwidth} + r={self.rank}"


@_register
@dataclass(frozen=True)
class DD2DSpec(ModelSpec):
    r"""Two-level DD attention on the 2D grid (:class:`ddlib.attention2d.DDAttention2D`, ``dim = 2`` only):
    ``N x N`` boxes with overlap ``delta``, local rank ``local_rank``, coarse rank ``coarse_rank`` (default
    :math:`N_0`), partition of unity ``partition`` (weights :math:`D_i^{1/2}` on both sides), coarse space
    ``coarse`` (``per_box`` functions per box for ``"spectral"``), and the ablation switches.

    The partition defaults to the **ramp**, not the multiplicity scaling of :class:`~ddlib.attention2d.DDAttention2D`:
    with exact local solves the weighted form with multiplicity weights loses robustness in 2D (its condition number
    grows like :math:`1/h` at fixed :math:`H/\delta`, :mod:`ddlib.schwarz2d`), the ramp does not. Both are positive on
    every box, so they span the same operators; they differ in the parametrisation the optimizer sees.

    :math:`N_0` is :math:`(N-1)^2` (``"hat"``), :math:`N^2` (``"nicolaides"``), ``per_box`` :math:`N^2`
    (``"spectral"``) or 0 (``"none"``); the parameters are :func:`ddlib.attention2d.dd2d_parameter_count`.
    """

    N: int
    delta: int
    local_rank: int
    coarse_rank: int | None = None
    partition: str = "ramp"
    coarse: str = "hat"
    per_box: int = 1
    use_coarse: bool = True
    use_local: bool = True
    kind: ClassVar[str] = "dd2d"
    family: ClassVar[str] = "dd"
    dims: ClassVar[tuple] = (2,)
    _fields: ClassVar[dict] = {
        "N": ("int", 1), "delta": ("int", 0), "local_rank": ("int", 1), "coarse_rank": ("optional_int", 1),
        "partition": ("choice", PARTITIONS_OF_UNITY), "coarse": ("choice", COARSE_SPACES_2D), "per_box": ("int", 1),
        "use_coarse": ("bool",), "use_local": ("bool",)}
    _label_fields: ClassVar[tuple] = ("N", "delta", "local_rank")

    def _check(self):
        if not (self.use_local or (self.use_coarse and self.coarse != "none")):
            raise ValueError("use_local and use_coarse must not both be off (nor the local level off with "
                             "coarse='none')")
        if self.coarse == "spectral" and self.partition == "boolean":
            raise ValueError("partition must be 'multiplicity' or 'ramp' with coarse='spectral' (a Boolean partition "
                             "makes the functions of a box dependent); got 'boolean'")

    def decomposition(self, n: int, dim: int = 2) -> Decomposition2D:
        """The :class:`~ddlib.decomposition2d.Decomposition2D` of ``n = m^2`` unknowns (checks that ``N`` divides
        ``m + 1`` and that the overlap is narrower than a box)."""
        return Decomposition2D(self.side(n, dim), self.N, self.delta)

    def coarse_dimension(self) -> int:
        """:math:`N_0` of the configured coarse space (0 when the coarse level is off)."""
        if not self.use_coarse:
            return 0
        return {"hat": (self.N - 1) ** 2, "nicolaides": self.N**2, "spectral": self.per_box * self.N**2,
                "none": 0}[self.coarse]

    def build(self, n, *, seed=0, init_scale=0.1, dtype=torch.float64, device="cpu", dim=2):
        self.parameter_count(n, dim)  # validates ranks against the boxes
        return DDAttention2D(self.decomposition(n, dim), self.local_rank, self.coarse_rank, partition=self.partition,
                             coarse=self.coarse, per_box=self.per_box, use_coarse=self.use_coarse,
                             use_local=self.use_local, init_scale=init_scale, seed=seed, dtype=dtype, device=device)

    def parameter_count(self, n: int, dim: int = 2) -> int:
        """Parameters for ``n = m^2`` unknowns (``dim`` defaults to 2, the only dimension of this spec)."""
        dec = self.decomposition(n, dim)
        N0 = self.coarse_dimension()
        if N0 == 0 and not self.use_local:
            raise ValueError(f"coarse must give a non-empty coarse space when use_local is off; N = {self.N} with "
                             f"coarse = {self.coarse!r} has none")
        r = check_int("local_rank", self.local_rank, low=1, high=dec.n_max) if self.use_local else 0
        r0 = 0 if N0 == 0 else (N0 if self.coarse_rank is None else check_int("coarse_rank", self.coarse_rank, low=1,
                                                                              high=N0))
        return dd2d_parameter_count(dec.m, dec.N, dec.delta, r, r0, N0)

    @property
    def label(self) -> str:
        return f"DD N={self.N} δ={self.delta} r={self.local_rank}" + self.options()
