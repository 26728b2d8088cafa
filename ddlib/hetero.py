r"""High-contrast coefficients: the studies of the chapter of that name, as plain rows and records.

**Coarse spaces compared** (:data:`COARSES`, the names of the ``coarse`` column): ``"none"`` (one level), ``"q1"``
(tensor-product hats on the coarse grid of spacing :math:`1/N`), ``"nicolaides"`` (multiplicity-weighted constants per
box), ``"geneo"`` (:mod:`ddlib.geneo`, :math:`\tau` = :data:`TAU`) and ``"learned"`` (a trained span,
:mod:`ddlib.coarse_span`). Each is the coarse part of the same two-level additive Schwarz preconditioner with exact
local solves (:mod:`ddlib.schwarz`), so only the span differs; :math:`\kappa` is the dense eigenvalue ratio up to
``dense_max`` unknowns and the Lanczos estimate of the PCG run beyond (:func:`ddlib.krylov.pcg_spectrum`), PCG
iterations count steps to :math:`\|r\|_2 \le 10^{-8}\|b\|_2` for a seeded standard normal ``b``.

**Fields** (:mod:`ddlib.coefficients`): the reference channels (the knob is the contrast), inclusions (contrast) and
the log-normal field (the knob is :math:`\sigma`; the row's ``contrast`` is the measured :math:`\max a/\min a`).

**Learning** (:func:`learning_race`, the one place the chapter's training races run, through
:func:`ddlib.experiments.tuned_comparison`): on a fixed field, (a) the coarse span with exact local solves
(:class:`ddlib.models.SpanSpec`) and (b) the whole DD attention with non-shared local blocks
(:class:`ddlib.models.DDSpec`), both trained for PCG (``data="energy_probes"``, ``loss="energy"``, the energy error
after ``solver_steps`` PCG steps). :func:`span_angles` compares a learned span with GenEO's by principal angles in the
energy inner product. **As a solution operator** (:func:`operator_rows`): the structural floor of the DD structure
(:func:`ddlib.approximation.floor`) and the trained operator error against contrast, beside the Eckart-Young error of
a global operator with as many parameters.

:func:`report_hetero` turns the rows into the records the chapter quotes.

Examples
--------
>>> rows = contrast_rows(15, 2, 1, {"channels": [1.0, 1e4]}, coarses=("q1", "geneo"))
>>> [(r["contrast"], r["coarse"], r["coarse_dim"]) for r in rows]
[(1.0, 'q1', 1), (1.0, 'geneo', 0), (10000.0, 'q1', 1), (10000.0, 'geneo', 10)]
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import LinearOperator

from ._validate import check_choice, check_int, check_positive
from .approximation import MAX_COARSE, floor, global_best_error
from .coarse_span import principal_angles
from .coefficients import contrast, field
from .decomposition import Decomposition
from .experiments import tuned_comparison
from .geneo import geneo_space, max_multiplicity, spillane_bound
from .krylov import pcg_spectrum
from .models import DDSpec, SpanSpec
from .problem import Problem
from .schwarz import schwarz_preconditioner
from .data import make_dataset
from .training import TrainConfig, predict, squared_norms

__all__ = ["TAU", "COARSES", "LABELS", "FIELD_KNOBS", "field_spec", "field_problem", "kappa_row", "contrast_rows",
           "size_rows", "preconditioner_row", "learning_config", "learning_race", "learned_rows", "span_angles",
           "operator_rows", "report_hetero", "as_operator", "pivot", "geneo_span_model", "validation_error",
           "report_learning", "report_sizes", "ALIGNED_DEGREES"]

#: GenEO's threshold :math:`\tau` (the value of the theory papers).
TAU = 0.15
#: Coarse-space names of the rows -> options of :func:`ddlib.schwarz.schwarz_preconditioner`.
COARSES = {"none": dict(coarse="none"), "q1": dict(coarse="hat"), "nicolaides": dict(coarse="nicolaides"),
           "geneo": dict(coarse="geneo", tau=TAU)}
#: How tables name the coarse spaces, the fields and the source of a condition number.
LABELS = {"none": "one level", "q1": "Q1", "nicolaides": "Nicolaides", "geneo": "GenEO", "learned": "learned",
          "channels": "channels", "lognormal": "log-normal", "inclusions": "inclusions", "dense": "dense spectrum",
          "lanczos": "Lanczos"}
#: The option of each field that sets its contrast, and the fixed options (seeds) of the random ones.
FIELD_KNOBS = {"channels": ("contrast", {}), "inclusions": ("contrast", {"seed": 0}),
               "lognormal": ("sigma", {"seed": 0, "length": 0.1})}


def field_spec(name: str, value: float) -> dict:
    """The :func:`ddlib.coefficients.field` spec of field ``name`` with its contrast knob at ``value``."""
    knob, fixed = FIELD_KNOBS[check_choice("field", name, tuple(FIELD_KNOBS))]
    return {"kind": name, knob: float(check_positive(knob, value)), **fixed}


def field_problem(m: int, dim: int, name: str, value: float) -> Problem:
    """The problem on ``(m,)*dim`` with the field ``name`` at knob ``value`` (:func:`field_spec`)."""
    return Problem((m,) * dim, field(m, dim, field_spec(name, value)))


def preconditioner_row(problem: Problem, M, *, seed: int = 0, dense_max: int = 1024) -> dict:
    r""":math:`\kappa(M^{-1}A)` and the PCG iterations of one preconditioner (module docstring): ``kappa,
    lambda_min, lambda_max, iterations, method``."""
    A = problem.matrix()
    b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(problem.n)
    s = pcg_spectrum(A, M, b, dense_max=dense_max)
    return dict(kappa=s["kappa"], lambda_min=s["lambda_min"], lambda_max=s["lambda_max"],
                iterations=s["iterations"], method=s["method"])


def kappa_row(problem: Problem, N: int, delta: int, coarse, *, split: str = "round", dense_max: int = 1024,
              name: str | None = None, **extra) -> dict:
    r"""One row of the ``numbers.hetero`` table: two-level additive Schwarz on ``problem`` with the coarse space
    ``coarse`` (a name of :data:`COARSES` or a sparse :math:`\Phi`, then named ``name``). Keys ``dim, m, n, N,
    delta, split, contrast, coarse, coarse_dim, kappa, iterations, lambda_min, lambda_max, method`` and ``extra``."""
    dec = Decomposition(problem, N, delta, split)
    if isinstance(coarse, str):
        name, options = coarse, COARSES[check_choice("coarse", coarse, tuple(COARSES))]
    else:
        options = dict(coarse=sp.csr_matrix(coarse))
    M = schwarz_preconditioner(dec, **options)
    return dict(dim=problem.dim, m=problem.m, n=problem.n, N=dec.N, delta=dec.delta, split=split,
                contrast=contrast(problem.coefficient), coarse=name, coarse_dim=M.coarse.n_coarse,
                **preconditioner_row(problem, M, dense_max=dense_max), **extra)


def contrast_rows(m: int, N: int, delta: int, fields: dict, *, dim: int = 2, coarses=tuple(COARSES),
                  **kw) -> list[dict]:
    """:func:`kappa_row` for every field (``{name: [knob values]}``), value and coarse space; rows carry ``field``
    and ``knob`` (the value of the field's contrast option)."""
    rows = []
    for name, values in fields.items():
        for value in values:
            P = field_problem(m, dim, name, value)
            rows += [kappa_row(P, N, delta, c, field=name, knob=float(value), **kw) for c in coarses]
    return rows


def size_rows(ms, H_over_h: int, value: float, *, name: str = "channels", dim: int = 2, delta: int = 1,
              coarses=tuple(COARSES), **kw) -> list[dict]:
    r""":func:`kappa_row` against ``n`` at fixed :math:`H/h`: ``N = round((m+1)/H_over_h)`` for each ``m``."""
    rows = []
    for m in ms:
        N = max(2, int(round((check_int("ms[i]", m, low=3) + 1) / check_int("H_over_h", H_over_h, low=2))))
        P = field_problem(m, dim, name, value)
        rows += [kappa_row(P, N, delta, c, field=name, knob=float(value), **kw) for c in coarses]
    return rows


# ------------------------------------------------------------------------------------------------------- learning
def learning_config(m: int, N: int, delta: int, value: float, *, per_box: int = 3, name: str = "channels",
                    dim: int = 2, samples: int = 16, steps: int = 8, solver: str = "pcg", epochs: int = 200,
                    optimizer: str = "adam", seed: int = 0) -> TrainConfig:
    r"""The base run of the learning races: :class:`ddlib.models.SpanSpec` (``per_box`` functions per box) on the
    field ``name`` at knob ``value``, trained on energy probes with the energy error after ``steps`` steps of
    ``solver`` (the chapter-6 objective)."""
    return TrainConfig(model=SpanSpec(N, delta, per_box), n=m**dim, dim=dim, coefficient=field_spec(name, value),
                       data="energy_probes", loss="energy", solver=solver, solver_steps=steps, samples=samples,
                       validation_samples=samples, test_samples=4, K=max(1, min(4, m // 2)), epochs=epochs,
                       eval_points=4, optimizer=optimizer, seed=seed)


def learning_race(specs, base: TrainConfig, grid: dict, seeds=(0,), *, workers: int | None = None) -> list:
    """Every training race of the chapter: :func:`ddlib.experiments.tuned_comparison` of ``specs`` on ``base`` with
    the knob ``grid`` (the one place to change when the protocol changes)."""
    return tuned_comparison(list(specs), base, grid, list(seeds), workers=workers)


def as_operator(model) -> LinearOperator:
    """A trained operator (``apply_columns``) as a scipy LinearOperator for :func:`ddlib.krylov.pcg`."""
    n = model.n

    def apply(X):
        X = np.asarray(X, dtype=np.float64).reshape(n, -1)
        with torch.no_grad():
            return model.apply_columns(torch.from_numpy(np.ascontiguousarray(X))).numpy()

    return LinearOperator((n, n), matvec=lambda x: apply(x)[:, 0], matmat=apply, dtype=np.float64)


def learned_rows(selections, *, dense_max: int = 1024) -> list[dict]:
    r"""``numbers.hetero`` rows (``coarse = "learned"``) of trained models: a learned span measured as the coarse
    space of the same Schwarz preconditioner (:func:`kappa_row`), a DD attention model as its own preconditioner.
    Rows carry ``label``, ``params`` and the validation error ``error_validation`` too."""
    rows = []
    for sel in selections:
        run = sel.runs[0]
        P, model = run.config.problem, run.model
        dec = model.decomposition
        extra = dict(label=sel.label, params=sel.params, error_validation=run.final["error_validation"],
                     field=run.config.coefficient["kind"], chosen=sel.chosen,
                     model="span" if hasattr(model, "coarse_space") else "dd", per_box=getattr(model, "per_box", None))
        if extra["model"] == "span":
            rows.append(kappa_row(P, dec.N, dec.delta, model.coarse_space(), split=dec.split, dense_max=dense_max,
                                  name="learned", **extra))
            continue
        r = preconditioner_row(P, as_operator(model), dense_max=dense_max)
        rows.append(dict(dim=P.dim, m=P.m, n=P.n, N=dec.N, delta=dec.delta, split=dec.split,
                         contrast=contrast(P.coefficient), coarse="learned", coarse_dim=model.structure.N0, **r,
                         **extra))
    return rows


def span_angles(model, *, per_box: int | None = None) -> np.ndarray:
    r"""Principal angles (degrees, ascending) in the energy inner product between a learned span
    (:class:`ddlib.coarse_span.SpanSchwarz`) and GenEO's span of the same dimension (``per_box`` smallest pairs of
    every box, default the model's)."""
    dec = model.decomposition
    G = geneo_space(dec, per_box=model.per_box if per_box is None else per_box)[0]
    return np.degrees(principal_angles(model.coarse_space(), G, dec.problem.matrix()))


def operator_rows(m: int, N: int, delta: int, values, *, name: str = "channels", local_rank: int = 8,
                  base: TrainConfig | None = None, grid: dict | None = None, seeds=(0,),
                  workers: int | None = None) -> list[dict]:
    r"""As a solution operator, per knob value: the structural floor of the DD structure with the Q1 coarse space
    (and with GenEO's when it has at most :data:`ddlib.approximation.MAX_COARSE` functions), the Eckart-Young error of
    a global operator with the parameters of the trained DD model, and, with ``base`` and ``grid``, the trained DD
    model's operator error (:class:`ddlib.models.DDSpec`, rank ``local_rank``, through :func:`learning_race`)."""
    rows = []
    for value in values:
        P = field_problem(m, 2, name, value)
        G = P.inverse()
        hat = floor(P, N, delta, G=G, lower_bound=False)
        spec = DDSpec(N, delta, local_rank)
        params = spec.parameter_count(P)
        rank = max(1, min(P.n, params // (2 * P.n)))
        row = dict(m=m, N=N, delta=delta, field=name, knob=float(value), contrast=contrast(P.coefficient),
                   floor_q1=float(hat["floor_two_norm"]), params=params, global_rank=rank,
                   eckart_young=float(global_best_error(P, [rank])[0]))
        gdim = Decomposition(P, N, delta).coarse_space("geneo").shape[1]
        row["floor_geneo"] = (float(floor(P, N, delta, coarse="geneo", G=G, lower_bound=False)["floor_two_norm"])
                              if 0 < gdim <= MAX_COARSE else float("nan"))
        row["geneo_dim"] = int(gdim)
        if base is not None:
            cfg = base.replace(n=P.n, dim=2, coefficient=field_spec(name, value), model=spec)
            sel = learning_race([spec], cfg, grid, seeds, workers=workers)[0]
            row.update(trained=float(np.mean(sel.final("operator_error"))), label=sel.label, chosen=sel.chosen)
        rows.append(row)
    return rows


# -------------------------------------------------------------------------------------------------------- report
def report_hetero(rows: list[dict], *, tau: float = TAU) -> dict:
    r"""The numbers the chapter quotes from the ``numbers.hetero`` rows of the channel field (one ``m``, ``N``,
    ``delta``): per classical coarse space the :math:`\kappa` and iterations at the lowest and the highest contrast
    (``kappa_<coarse>_low``, ``kappa_<coarse>_high``, ``its_<coarse>_low``, ``its_<coarse>_high``), the growth
    ``growth_<coarse>`` :math:`=\kappa_{high}/\kappa_{low}`, GenEO's coarse dimension range (``geneo_dim_low``,
    ``geneo_dim_high``), the largest and smallest GenEO :math:`\kappa` over all contrasts (``kappa_geneo_max``,
    ``kappa_geneo_min``), the theory's bound (``geneo_bound``, :func:`ddlib.geneo.spillane_bound` with the measured
    :math:`k_0`), the ratio ``geneo_bound_ratio`` :math:`=\max\kappa_{GenEO}/` bound (at most 1 when the theory's
    bound holds), and the contrasts ``contrast_low``, ``contrast_high``."""
    sel = [r for r in rows if r.get("field") == "channels" and r["coarse"] in COARSES]
    if not sel:
        raise ValueError("rows must hold channel-field rows of the classical coarse spaces")
    lo, hi = min(r["contrast"] for r in sel), max(r["contrast"] for r in sel)
    out = dict(contrast_low=lo, contrast_high=hi, m=sel[0]["m"], N=sel[0]["N"], delta=sel[0]["delta"])
    for c in COARSES:
        at = {r["contrast"]: r for r in sel if r["coarse"] == c}
        if lo not in at or hi not in at:
            continue
        out.update({f"kappa_{c}_low": at[lo]["kappa"], f"kappa_{c}_high": at[hi]["kappa"],
                    f"its_{c}_low": at[lo]["iterations"], f"its_{c}_high": at[hi]["iterations"],
                    f"growth_{c}": at[hi]["kappa"] / at[lo]["kappa"], f"dim_{c}_high": at[hi]["coarse_dim"]})
    geneo = [r for r in sel if r["coarse"] == "geneo"]
    dec = Decomposition(Problem((out["m"],) * sel[0]["dim"]), out["N"], out["delta"], sel[0]["split"])
    out["geneo_bound"] = spillane_bound(max_multiplicity(dec), tau)
    out["kappa_geneo_max"] = max(r["kappa"] for r in geneo)
    out["kappa_geneo_min"] = min(r["kappa"] for r in geneo)
    out["geneo_bound_ratio"] = out["kappa_geneo_max"] / out["geneo_bound"]
    out["geneo_dim_low"] = min(r["coarse_dim"] for r in geneo)
    out["geneo_dim_high"] = max(r["coarse_dim"] for r in geneo)
    return out


def pivot(rows: list[dict], key: str = "contrast", value: str = "kappa") -> list[dict]:
    """One record per ``key`` value with ``value`` of each coarse space as a column (``none``, ``q1``, ...), plus
    ``geneo_dim``, the GenEO coarse dimension: the form of the chapter's tables."""
    out = {}
    for r in rows:
        rec = out.setdefault(r[key], {key: r[key]})
        rec[r["coarse"]] = r[value]
        if r["coarse"] == "geneo":
            rec["geneo_dim"] = r["coarse_dim"]
    return [out[k] for k in sorted(out)]


def geneo_span_model(config: TrainConfig, per_box: int | None = None):
    r"""The model of a :class:`ddlib.models.SpanSpec` run with its span set to GenEO's (the ``per_box`` smallest
    eigenpairs of every box, default the spec's): the classical member of the learned class."""
    model = config.build_model()
    k = model.per_box if per_box is None else per_box
    dec = model.decomposition
    D = dec.partition_of_unity("multiplicity")
    Phi = geneo_space(dec, per_box=k)[0].tocsc()
    return model.set_span([Phi[idx][:, i * k:(i + 1) * k].toarray() / D[i][:, None]
                           for i, idx in enumerate(dec.indices)])


def validation_error(model, config: TrainConfig) -> float:
    r"""The validation error the tuned protocol selects on (mean of :math:`\|x_k - u\|/\|u\|` in the loss's norm
    over the validation set, :math:`x_k` the prediction of ``config.solver_steps`` steps of ``config.solver``), for
    any ``model`` on ``config``'s problem: for a classical member of a class, how far the training got from it."""
    s = make_dataset("validation", config.problem, config.validation_samples, config.K, config.seed, config.decay,
                     training=config.data)
    F, U = (torch.as_tensor(np.ascontiguousarray(a.T)) for a in (s.f, s.u))
    with torch.no_grad():
        R = predict(model, F, config.solver_steps, config.solver, config.problem) - U
        ratio = squared_norms(R, config.loss, config.problem) / squared_norms(U, config.loss, config.problem)
    return float(ratio.sqrt().mean())


#: Principal angles below this many degrees count as a direction the learned span shares with GenEO's.
ALIGNED_DEGREES = 30.0


def report_learning(classical: list[dict], learned: list[dict], angles, oracle_error: float) -> dict:
    r"""The numbers of the learning section. From ``learned`` (:func:`learned_rows`): the learned span with the most
    functions per box (``kappa_span``, ``its_span``, ``dim_span``, ``val_span``, ``per_box_span``) and the DD
    attention (``kappa_dd``, ``its_dd``, ``val_dd``); from ``classical`` (:func:`kappa_row` rows with ``per_box``):
    GenEO with the span's functions per box (``kappa_geneo_same``, ``its_geneo_same``), GenEO with the threshold
    (``kappa_geneo_tau``, ``dim_geneo_tau``) and Q1 (``kappa_q1``, ``its_q1``); the GenEO span's validation error
    ``val_geneo`` (``oracle_error``); and of the principal angles (degrees) their number ``angles``, the count below
    :data:`ALIGNED_DEGREES` ``angles_aligned``, the smallest and the median."""
    span = max((r for r in learned if r["model"] == "span"), key=lambda r: r["per_box"])
    dd = next(r for r in learned if r["model"] == "dd")
    find = {(r["coarse"], r.get("per_box")): r for r in classical}
    same, tau, q1 = find["geneo", span["per_box"]], find["geneo", None], find["q1", None]
    a = np.asarray(angles, dtype=np.float64)
    return dict(kappa_span=span["kappa"], its_span=span["iterations"], dim_span=span["coarse_dim"],
                val_span=span["error_validation"], per_box_span=span["per_box"], kappa_dd=dd["kappa"],
                its_dd=dd["iterations"], val_dd=dd["error_validation"], kappa_geneo_same=same["kappa"],
                its_geneo_same=same["iterations"], kappa_geneo_tau=tau["kappa"], dim_geneo_tau=tau["coarse_dim"],
                its_geneo_tau=tau["iterations"], kappa_q1=q1["kappa"], its_q1=q1["iterations"],
                val_geneo=float(oracle_error), angles=int(a.size),
                angles_aligned=int(np.sum(a < ALIGNED_DEGREES)), aligned_degrees=ALIGNED_DEGREES,
                angle_min=float(a.min()), angle_median=float(np.median(a)))


def report_sizes(rows: list[dict]) -> dict:
    r"""The numbers of the study against ``n`` (:func:`size_rows`): the smallest and largest ``n`` (``n_first``,
    ``n_last``) and, per coarse space, :math:`\kappa`, iterations and coarse dimension at both ends
    (``kappa_<coarse>_first``, ``kappa_<coarse>_last``, ``its_<coarse>_first``, ``its_<coarse>_last``,
    ``dim_<coarse>_last``)."""
    if not rows:
        raise ValueError("rows must hold at least one measurement")
    ns = sorted({r["n"] for r in rows})
    out = {"n_first": ns[0], "n_last": ns[-1]}
    for r in rows:
        for end, n in (("first", ns[0]), ("last", ns[-1])):
            if r["n"] == n:
                out[f"kappa_{r['coarse']}_{end}"] = r["kappa"]
                out[f"its_{r['coarse']}_{end}"] = r["iterations"]
                out[f"dim_{r['coarse']}_{end}"] = r["coarse_dim"]
    return out
