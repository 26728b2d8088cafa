r"""Model specifications: one small, validated, hashable description per kind of operator the book trains.

A spec says *what* a model is (its architecture); the training protocol (:class:`ddlib.training.TrainConfig`) says how
it is initialised and trained, and the problem (:class:`ddlib.problem.Problem`) where. Every spec

* is a frozen dataclass, normalised and validated when it is made (NumPy integers become ``int``; a float that is not
  an integer, a negative rank, an unknown option name: a ValueError naming the field and its valid range);
* builds its module on a problem of any dimension with :meth:`ModelSpec.build` ``(problem, seed, init_scale)``;
* counts its parameters in closed form, :meth:`ModelSpec.parameter_count` ``(problem)`` (a rank the problem cannot
  hold is refused there, never clipped);
* has a short :attr:`ModelSpec.label` and a :attr:`ModelSpec.family`, the class a verdict compares (``"global"``,
  ``"dd"`` or ``"banded"``);
* round-trips through plain JSON, :meth:`ModelSpec.to_dict` and :func:`spec_from_dict` (the cache key and the sweep
  runner's messages use it).

======================  ================================================================================  ==========
spec                    operator                                                                          family
======================  ================================================================================  ==========
:class:`GlobalSpec`     :math:`w\,QK^T` (:class:`ddlib.attention.GlobalAttention`; tied :math:`w\,KK^T`)   global
:class:`DDSpec`         two-level DD attention (:class:`ddlib.attention.DDAttention`) on ``N`` boxes per   dd
                        direction, with the ablation switches (coarse only, local only, weights, coarse
                        space, tied or shared factors, a damped Jacobi term)
:class:`SpanSpec`       two-level additive Schwarz with exact local solves and a learned coarse span         dd
                        :math:`\Phi = \sum_iR_i^TD_iV_i` (:class:`ddlib.coarse_span.SpanSchwarz`)
:class:`BandedSpec`     a learned stencil of half-width ``b`` plus low rank, :math:`w\,(B + UV^T)`         banded
                        (:class:`ddlib.banded.BandedLowRank`)
======================  ================================================================================  ==========

Examples
--------
>>> from ddlib.problem import Problem
>>> spec = DDSpec(N=8, delta=1, local_rank=4)
>>> spec.label, spec.parameter_count(Problem(255)), spec.build(Problem(255)).num_parameters()
('DD N=8 δ=1 r=4', 2250, 2250)
>>> spec_from_dict(spec.to_dict()) == spec
True
>>> GlobalSpec(rank=16).parameter_count(Problem(255))
8160
>>> DDSpec(N=4, delta=1, local_rank=4, partition="ramp").parameter_count(Problem((31, 31)))
11114
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch

from ._validate import check_choice, check_int, check_positive
from .attention import DDAttention, GlobalAttention, Structure
from .banded import BandedLowRank, banded_lowrank_parameter_count
from .coarse_span import SpanSchwarz, span_parameter_count
from .decomposition import PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition
from .problem import Problem

__all__ = ["ModelSpec", "GlobalSpec", "DDSpec", "SpanSpec", "BandedSpec", "spec_from_dict", "SPEC_KINDS", "FAMILIES",
           "DIAGONALS"]

#: The families a verdict compares.
FAMILIES = ("global", "dd", "banded")
#: ``kind -> spec class`` for :func:`spec_from_dict`.
SPEC_KINDS: dict = {}
#: The diagonal term of a DD model: none, a fixed damped Jacobi term :math:`\omega\,\mathrm{diag}(A)^{-1}`, or the
#: same with a learned :math:`\omega = e^\theta` (:class:`ddlib.preconditioning.WithJacobi`).
DIAGONALS = ("none", "jacobi", "learned")
#: The coarse spaces a :class:`DDSpec` names (those of :data:`ddlib.decomposition.COARSE_SPACES` built from the grid).
DD_COARSE_SPACES = ("hat", "nicolaides", "spectral", "none")


def _register(cls):
    SPEC_KINDS[cls.kind] = cls
    return cls


def _check_problem(problem) -> Problem:
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a ddlib.problem.Problem; got {type(problem).__name__}")
    return problem


@dataclass(frozen=True)
class ModelSpec:
    """Base class of the model specs (see the module docstring)."""

    kind: ClassVar[str] = ""
    family: ClassVar[str] = ""
    #: field name -> ("int", low) | ("bool",) | ("choice", choices) | ("optional_int", low) | ("positive",)
    _fields: ClassVar[dict] = {}
    _label_fields: ClassVar[tuple] = ()

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

    def build(self, problem: Problem, *, seed: int = 0, init_scale: float = 0.1) -> torch.nn.Module:
        """The module on ``problem``, randomly initialised (seeded) with entries of size ``init_scale``."""
        raise NotImplementedError  # pragma: no cover  (every subclass implements it)

    def parameter_count(self, problem: Problem) -> int:
        """Trainable scalars on ``problem`` (closed form); a ValueError if the model does not fit the problem."""
        raise NotImplementedError  # pragma: no cover

    @property
    def label(self) -> str:
        raise NotImplementedError  # pragma: no cover

    #: A mechanism ablation of its class (:attr:`DDSpec.is_ablation`), which no class verdict counts.
    is_ablation: ClassVar[bool] = False

    def options(self) -> str:
        """The fields that differ from their defaults, as `` name=value`` text (for labels)."""
        return "".join(f" {f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self)
                       if f.name not in self._label_fields and getattr(self, f.name) != f.default)

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
    r"""The global low-rank attention :math:`w\,QK^T` of rank ``rank`` (``symmetric``: :math:`w\,KK^T`)."""

    rank: int
    symmetric: bool = False
    kind: ClassVar[str] = "global"
    family: ClassVar[str] = "global"
    _fields: ClassVar[dict] = {"rank": ("int", 1), "symmetric": ("bool",)}
    _label_fields: ClassVar[tuple] = ("rank",)

    def build(self, problem, *, seed=0, init_scale=0.1):
        self.parameter_count(problem)
        return GlobalAttention(problem, self.rank, symmetric=self.symmetric, seed=seed, init_scale=init_scale)

    def parameter_count(self, problem) -> int:
        n = _check_problem(problem).n
        return (1 if self.symmetric else 2) * n * check_int("rank", self.rank, low=1, high=n)

    @property
    def label(self) -> str:
        return f"global r={self.rank}" + (" tied" if self.symmetric else "")


@_register
@dataclass(frozen=True)
class DDSpec(ModelSpec):
    r"""Two-level DD attention: ``N`` boxes per direction, overlap ``delta``, local rank ``local_rank`` and the options
    of :class:`ddlib.attention.Structure` and :class:`ddlib.attention.DDAttention` (``use_local=False``: coarse only;
    ``use_coarse=False``: local only; ``per_box``: functions per box of the spectral coarse space;
    ``coarse_inverse="galerkin"``: the fixed Galerkin coarse block; ``diagonal``: a fixed or learned damped Jacobi term
    with weight or initial weight ``omega``, :class:`ddlib.preconditioning.WithJacobi`)."""

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
    per_box: int = 1
    kind: ClassVar[str] = "dd"
    family: ClassVar[str] = "dd"
    _fields: ClassVar[dict] = {
        "N": ("int", 1), "delta": ("int", 0), "local_rank": ("int", 1), "coarse_rank": ("optional_int", 1),
        "partition": ("choice", PARTITIONS_OF_UNITY), "coarse": ("choice", DD_COARSE_SPACES),
        "weighting": ("choice", WEIGHTINGS), "use_coarse": ("bool",), "use_local": ("bool",), "symmetric": ("bool",),
        "shared": ("bool",), "coarse_inverse": ("choice", ("learned", "galerkin")), "diagonal": ("choice", DIAGONALS),
        "omega": ("positive",), "per_box": ("int", 1)}
    _label_fields: ClassVar[tuple] = ("N", "delta", "local_rank")

    def _check(self):
        if not (self.use_local or (self.use_coarse and self.coarse != "none")):
            raise ValueError("use_local and use_coarse must not both be off (nor the local level off with "
                             "coarse='none')")

    def structure(self, problem: Problem) -> Structure:
        """The :class:`~ddlib.attention.Structure` on ``problem`` (checks that ``N`` and ``delta`` fit its grid)."""
        dec = Decomposition(_check_problem(problem), self.N, self.delta)
        coarse = self.coarse if self.use_coarse else "none"
        options = {"per_box": self.per_box} if coarse == "spectral" else {}
        return Structure(dec, self.partition, self.weighting, coarse, **options)

    def _ranks(self, s: Structure) -> tuple[int, int]:
        r = check_int("local_rank", self.local_rank, low=1, high=s.decomposition.n_max) if self.use_local else 0
        r0 = 0 if s.N0 == 0 else (s.N0 if self.coarse_rank is None else
                                  check_int("coarse_rank", self.coarse_rank, low=1, high=s.N0))
        if r == 0 and r0 == 0:
            raise ValueError(f"coarse must give a non-empty coarse space when use_local is off; N = {self.N} with "
                             f"coarse = {self.coarse!r} has none")
        return r, r0

    def build(self, problem, *, seed=0, init_scale=0.1):
        s = self.structure(problem)
        r, r0 = self._ranks(s)
        model = DDAttention(s, r, r0, symmetric=self.symmetric, shared=self.shared,
                            learned_coarse=self.coarse_inverse == "learned", seed=seed, init_scale=init_scale)
        if self.diagonal == "none":
            return model
        from .preconditioning import WithJacobi  # import here: cycle (ddlib.preconditioning imports the specs)
        return WithJacobi(model, self.omega, learned=self.diagonal == "learned")

    def parameter_count(self, problem) -> int:
        s = self.structure(problem)
        r, r0 = self._ranks(s)
        factors = 1 if self.symmetric else 2
        learned = self.coarse_inverse == "learned"
        return factors * (r * s.local_rows(self.shared) + (s.N0 * r0 if learned else 0)) + int(
            self.diagonal == "learned")

    @property
    def label(self) -> str:
        return f"DD N={self.N} δ={self.delta} r={self.local_rank}" + self.options()

    @property
    def is_ablation(self) -> bool:
        """True for a mechanism ablation (coarse only or local only), which no class verdict counts."""
        return not (self.use_local and self.use_coarse and self.coarse != "none")


@_register
@dataclass(frozen=True)
class SpanSpec(ModelSpec):
    r"""Two-level additive Schwarz on ``N`` boxes per direction with overlap ``delta``, exact local solves and the
    coarse span :math:`\Phi = \sum_iR_i^TD_iV_i`, ``per_box`` learned functions per box, Galerkin coarse solve
    (:class:`ddlib.coarse_span.SpanSchwarz`)."""

    N: int
    delta: int
    per_box: int
    partition: str = "multiplicity"
    kind: ClassVar[str] = "span"
    family: ClassVar[str] = "dd"
    _fields: ClassVar[dict] = {"N": ("int", 1), "delta": ("int", 0), "per_box": ("int", 1),
                               "partition": ("choice", ("multiplicity", "ramp"))}
    _label_fields: ClassVar[tuple] = ("N", "delta", "per_box")

    def _decomposition(self, problem) -> Decomposition:
        dec = Decomposition(_check_problem(problem), self.N, self.delta)
        check_int("per_box", self.per_box, low=1, high=int(dec.sizes.min()))
        return dec

    def build(self, problem, *, seed=0, init_scale=0.1):
        return SpanSchwarz(self._decomposition(problem), self.per_box, partition=self.partition, seed=seed,
                           init_scale=init_scale)

    def parameter_count(self, problem) -> int:
        return span_parameter_count(self._decomposition(problem), self.per_box)

    @property
    def label(self) -> str:
        return f"learned span N={self.N} δ={self.delta} k={self.per_box}" + self.options()


@_register
@dataclass(frozen=True)
class BandedSpec(ModelSpec):
    r"""A learned stencil of half-width ``bandwidth`` plus rank ``rank``, :math:`w\,(B + UV^T)` (FMMformer's
    near-field/far-field split; the band in 1D; :class:`ddlib.banded.BandedLowRank`)."""

    bandwidth: int
    rank: int
    kind: ClassVar[str] = "banded"
    family: ClassVar[str] = "banded"
    _fields: ClassVar[dict] = {"bandwidth": ("int", 0), "rank": ("int", 0)}

    def build(self, problem, *, seed=0, init_scale=0.1):
        return BandedLowRank(_check_problem(problem), self.bandwidth, self.rank, init_scale=init_scale, seed=seed)

    def parameter_count(self, problem) -> int:
        p = _check_problem(problem)
        return banded_lowrank_parameter_count(p.m, p.dim, self.bandwidth, self.rank)

    @property
    def label(self) -> str:
        return f"banded b={self.bandwidth} + r={self.rank}"
