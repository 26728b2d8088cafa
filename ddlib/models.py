r"""Model specifications: one small, validated, hashable description per kind of operator the book trains.

A spec says *what* a model is (its architecture); the training protocol (:class:`ddlib.training.TrainConfig`) says how
it is initialised and trained. Every spec

* is a frozen dataclass, normalised and validated when it is made (NumPy integers become ``int``; a float that is not
  an integer, a negative rank, an unknown option name: a ValueError naming the field and its valid range);
* builds its module with :meth:`ModelSpec.build` ``(n, seed, init_scale, dtype, device)``;
* counts its parameters in closed form, :meth:`ModelSpec.parameter_count` ``(n)``;
* has a short :attr:`ModelSpec.label` and a :attr:`ModelSpec.family`, the class a verdict compares (``"global"``,
  ``"dd"`` or ``"banded"``);
* round-trips through plain JSON, :meth:`ModelSpec.to_dict` and :func:`spec_from_dict` (the cache key and the sweep
  runner's messages use it).

======================  ================================================================================  ==========
spec                    operator                                                                          family
======================  ================================================================================  ==========
:class:`GlobalSpec`     :math:`h\,QK^T` (:class:`ddlib.attention.GlobalAttention`; tied :math:`h\,KK^T`)   global
:class:`DDSpec`         two-level DD attention (:class:`ddlib.attention.DDAttention`), with the ablation   dd
                        switches (coarse only, local only, weights, coarse space, tied or shared factors)
:class:`BandedSpec`     banded plus low rank, :math:`h\,(B + UV^T)` (:class:`ddlib.attention.BandedLowRank`) banded
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
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch

from ._validate import check_choice, check_int, check_positive
from .attention import (COARSE_INVERSES, DIAGONALS, BandedLowRank, DDAttention, GlobalAttention,
                        banded_lowrank_parameter_count, dd_parameter_count, global_parameter_count)
from .decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition

__all__ = ["ModelSpec", "GlobalSpec", "DDSpec", "BandedSpec", "spec_from_dict", "SPEC_KINDS", "FAMILIES"]

#: The families a verdict compares.
FAMILIES = ("global", "dd", "banded")
#: ``kind -> spec class`` for :func:`spec_from_dict`.
SPEC_KINDS: dict = {}


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
    #: fields added after the cache keys of earlier runs were fixed: :meth:`to_dict` leaves them out while they hold
    #: their default, so a spec that does not use them keeps its old key (and its cached runs)
    _keyless_defaults: ClassVar[tuple] = ()

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

    def build(self, n: int, *, seed: int = 0, init_scale: float = 0.1, dtype=torch.float64,
              device="cpu") -> torch.nn.Module:
        """The module at grid size ``n``, randomly initialised (seeded) with entries of size ``init_scale``."""
        raise NotImplementedError  # pragma: no cover  (every subclass implements it)

    def parameter_count(self, n: int) -> int:
        """Trainable scalars at grid size ``n`` (closed form)."""
        raise NotImplementedError  # pragma: no cover

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
        """Plain JSON: ``{"kind": ..., field: value, ...}`` (without the fields of ``_keyless_defaults`` that hold
        their default value)."""
        d = dataclasses.asdict(self)
        for f in dataclasses.fields(self):
            if f.name in self._keyless_defaults and d[f.name] == f.default:
                del d[f.name]
        return {"kind": self.kind, **d}

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
    _fields: ClassVar[dict] = {"rank": ("int", 1), "symmetric": ("bool",)}
    _label_fields: ClassVar[tuple] = ("rank",)

    def build(self, n, *, seed=0, init_scale=0.1, dtype=torch.float64, device="cpu"):
        return GlobalAttention(n, check_int("rank", self.rank, low=1, high=n), symmetric=self.symmetric, seed=seed,
                               init_scale=init_scale, dtype=dtype, device=device)

    def parameter_count(self, n: int) -> int:
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
    _keyless_defaults: ClassVar[tuple] = ("diagonal", "omega")

    def _check(self):
        if not (self.use_local or (self.use_coarse and self.coarse != "none")):
            raise ValueError("use_local and use_coarse must not both be off (nor the local level off with "
                             "coarse='none')")

    def decomposition(self, n: int) -> Decomposition:
        """The :class:`~ddlib.decomposition.Decomposition` at grid size ``n`` (checks that ``N`` divides ``n + 1``)."""
        return Decomposition(n, self.N, self.delta)

    def build(self, n, *, seed=0, init_scale=0.1, dtype=torch.float64, device="cpu"):
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
              if f.name not in ("N", "delta", "local_rank", "coarse_rank")}
        return DDAttention(self.decomposition(n), self.local_rank, self.coarse_rank, seed=seed,
                           init_scale=init_scale, dtype=dtype, device=device, **kw)

    def parameter_count(self, n: int) -> int:
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

    def build(self, n, *, seed=0, init_scale=0.1, dtype=torch.float64, device="cpu"):
        return BandedLowRank(n, self.bandwidth, self.rank, init_scale=init_scale, seed=seed, dtype=dtype,
                             device=device)

    def parameter_count(self, n: int) -> int:
        return banded_lowrank_parameter_count(n, self.bandwidth, self.rank)

    @property
    def label(self) -> str:
        return f"banded b={self.bandwidth} + r={self.rank}"
