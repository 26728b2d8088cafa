r"""What changes from one dimension to the next: the records behind the chapter "Two and three dimensions".

Every function returns plain records (dicts of numbers and short strings) that the chapter glues or tabulates; none
writes a sentence.

* :func:`default_studies`: the three sweeps of the Schwarz study in 2D (against ``N`` at fixed :math:`H/h`, against
  ``n`` at fixed :math:`H/\delta`, against :math:`H/\delta_g`), the rows of :func:`ddlib.schwarz.scaling_study`;
* :func:`kappa_table`: one- and two-level (Q1) additive Schwarz on a grid of sizes, box counts and overlaps, in any
  dimension: the 3D table; :func:`bounded_in_n` reads the bounded-in-``n`` check at fixed :math:`H/h` from it;
* :func:`weyl_rows`: the Eckart-Young error of the global class against Weyl's law, per dimension;
* :func:`approximation_report`: the 2D approximation study (frontiers, structural floors, richer coarse spaces);
* :func:`floor_against_global`: the structural floor of the DD structure next to the global class at equal
  parameters, in any dimension (the 3D row);
* :func:`growth_in_h`: :math:`\kappa` of the paper's weighted two-level forms as :math:`h` shrinks at fixed ``N``
  and :math:`H/\delta`, in any dimension (does 1D show the multiplicity weights' growth too?);
* :func:`trained_references`: the structural floors and Eckart-Young frontiers that F20 draws beside trained models;
* :func:`training_report`: everything the chapter says about its trained comparison (:func:`ddlib.regimes.run_map`
  in 2D, per optimizer), as plain records.

Examples
--------
>>> rows = kappa_table([7], [2], [1], dim=3)
>>> [(r["coarse"], r["m"], r["N"], r["delta"]) for r in rows]
[('none', 7, 2, 1), ('q1', 7, 2, 1)]
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import approximation as apx
from . import claims
from . import experiments as ex
from . import regimes as rg
from ._validate import check_int
from .decomposition import Decomposition
from .experiments import summary_table, tuned_comparison
from .problem import Problem
from .schwarz import SERIES, kappa_trends, measure, scaling_study
from .tables import range_text

__all__ = ["default_studies", "kappa_table", "bounded_in_n", "weyl_rows", "approximation_report",
           "floor_against_global", "COARSE_NAMES", "WEIGHTED_SERIES", "growth_in_h", "trained_references",
           "regime_name", "partition_ablation", "training_report", "grid_regimes", "model_rows"]

#: The manifest's names of the coarse spaces of :func:`kappa_table`.
COARSE_NAMES = {"none": "none", "hat": "q1"}


def default_studies(quick: bool = False) -> dict:
    r"""The sweeps of the 2D study as ``{study: [(shape, N, delta), ...]}``: ``"N"``: ``N = 2, 4, 8, 16`` at
    :math:`H/h = 8`, :math:`\delta = 1`; ``"n"``: ``N = 4`` at fixed :math:`H/\delta`,
    ``(m, delta) = (15, 1), (31, 2), (63, 4), (127, 8)``; ``"delta"``: ``m = 63``, ``N = 4``, ``delta = 0, 1, 2, 4,
    8``. ``quick`` drops the largest grid of each sweep."""
    sq = lambda m: (m, m)  # noqa: E731
    studies = {"N": [(sq(8 * N - 1), N, 1) for N in (2, 4, 8, 16)],
               "n": [(sq(15), 4, 1), (sq(31), 4, 2), (sq(63), 4, 4), (sq(127), 4, 8)],
               "delta": [(sq(63), 4, d) for d in (0, 1, 2, 4, 8)]}
    if quick:
        studies = {"N": studies["N"][:3], "n": studies["n"][:3], "delta": [(sq(31), 4, d) for d in (0, 1, 2, 4)]}
    return studies


def kappa_table(ms, Ns, deltas, *, dim: int = 3, dense_max: int = 0, seed: int = 0) -> list[dict]:
    r"""One-level and two-level (hat, Q1 in 2D) additive Schwarz on the grids of ``m`` nodes per side in ``dim``
    dimensions, for every valid ``(m, N, delta)`` (:func:`ddlib.schwarz.measure`; :math:`\kappa` from the PCG run's
    Ritz values above ``dense_max`` unknowns). Rows: ``m, n, N, delta, coarse`` (``"none"`` or ``"q1"``), ``kappa,
    iterations, method, H_over_h, H_over_delta``."""
    rows = []
    for m in ms:
        for N in Ns:
            for delta in deltas:
                if (m + 1) % N or delta > (m + 1) // N - 1:
                    continue
                for coarse in ("none", "hat"):
                    r = measure((check_int("m", m, low=1),) * dim, N, delta, coarse=coarse, dense_max=dense_max,
                                seed=seed)
                    rows.append(dict(m=r["m"], n=r["n"], N=r["N"], delta=r["delta"], coarse=COARSE_NAMES[coarse],
                                     kappa=r["kappa"], iterations=r["pcg_iterations"], method=r["method"],
                                     H_over_h=r["H_over_h"], H_over_delta=r["H_over_delta"]))
    return rows


def bounded_in_n(rows: list[dict]) -> list[dict]:
    r"""From :func:`kappa_table` rows: per coarse space and overlap, the rows with the same :math:`H/h` at the
    smallest and the largest ``n``, with ``growth`` :math:`=\kappa_{large}/\kappa_{small}` and ``N_ratio`` (theory at
    fixed :math:`H/h` and :math:`\delta`: two levels bounded, one level growing like :math:`N^2`)."""
    out, groups = [], {}
    for r in rows:
        groups.setdefault((r["coarse"], r["delta"], r["H_over_h"]), []).append(r)
    for (coarse, delta, Hh), sel in sorted(groups.items()):
        if len(sel) < 2:
            continue
        small, large = min(sel, key=lambda r: r["n"]), max(sel, key=lambda r: r["n"])
        out.append(dict(coarse=coarse, delta=delta, H_over_h=Hh, n_small=small["n"], n_large=large["n"],
                        kappa_small=small["kappa"], kappa_large=large["kappa"],
                        growth=large["kappa"] / small["kappa"], N_ratio=large["N"] / small["N"],
                        iterations_small=small["iterations"], iterations_large=large["iterations"]))
    return out


def weyl_rows(problems, ranks) -> list[dict]:
    r"""Per problem and rank ``r`` (those below ``n``): ``dim, m, rank, eckart_young`` (:math:`\lambda_1/\lambda_{r+1}`)
    and ``weyl`` (:func:`ddlib.approximation.weyl_rate`, the area term: :math:`1/r^2`, :math:`1/r`, :math:`r^{-2/3}`
    in 1D, 2D, 3D)."""
    out = []
    for P in problems:
        r = np.array([k for k in ranks if k < P.n])
        for k, e, w in zip(r, apx.global_best_error(P, r), apx.weyl_rate(r, P.dim)):
            out.append(dict(dim=P.dim, m=P.m, rank=int(k), eckart_young=float(e), weyl=float(w)))
    return out


def floor_against_global(problem: Problem, N: int, delta: int, *, lower_bound: bool = True, G=None) -> dict:
    r"""The structural floor of the DD structure (:func:`ddlib.approximation.floor`, hat coarse space) next to the
    global class: ``params`` of the full-rank DD model, ``global_rank_equal_params`` :math:`= \min(n,
    \lfloor P/(2n)\rfloor)` and its Eckart-Young error ``global_error_equal_params``, and ``global_rank_for_floor``, the
    smallest global rank whose best error is at most the floor, with its parameters ``global_params_for_floor``."""
    row = apx.floor(problem, N, delta, lower_bound=lower_bound, G=G)
    r_eq = int(min(problem.n, row["params"] // (2 * problem.n)))
    r_floor = apx.global_rank_for_error(problem, row["floor_two_norm"])
    return row | dict(global_rank_equal_params=r_eq,
                      global_error_equal_params=float(apx.global_best_error(problem, [r_eq])[0]),
                      global_rank_for_floor=r_floor, global_params_for_floor=2 * problem.n * r_floor)


def approximation_report(problem: Problem, *, floor_Ns, floor_deltas, richer_N: int, oracle_Ns, oracle_delta: int,
                         oracle_ranks, front_ranks, richer=(("hat", {"refine": 2}),
                                                            ("spectral", {"per_box": 1, "partition": "ramp"}),
                                                            ("spectral", {"per_box": 3, "partition": "ramp"}))) -> dict:
    r"""The approximation study on ``problem``: ``floors`` (:func:`ddlib.approximation.floor_study` over
    ``floor_Ns`` x ``floor_deltas``), ``richer`` (richer coarse spaces at ``(richer_N, oracle_delta)``),
    ``global_front`` (:func:`ddlib.approximation.global_frontier`), ``oracle_fronts`` (the truncated Schwarz oracle
    with subdomain blocks and the ramp, per ``N`` in ``oracle_Ns``), ``front_floors`` (the floors of those
    configurations), and ``summary``: the records the chapter quotes (the oracle at the largest ``N`` against its
    floor and against the global class)."""
    G = problem.inverse()
    floors = apx.floor_study(problem, floor_Ns, floor_deltas)
    richer_rows = apx.floor_study(problem, [richer_N], [oracle_delta], richer)
    front = apx.global_frontier(problem, [r for r in front_ranks if r < problem.n])
    fronts = []
    for N in oracle_Ns:
        n_max = Decomposition(problem, N, oracle_delta).n_max
        fronts.append(apx.dd_frontier(problem, N, oracle_delta, [r for r in oracle_ranks if r <= n_max],
                                      partition="ramp", local_inverse="subdomain"))
    hat = {(r["N"], r["delta"]): r for r in floors if r["coarse"] == "hat"}
    top = fronts[-1]
    floor_top = hat[(top["N"], oracle_delta)]
    r_match = apx.global_rank_for_error(problem, float(top["error"][0]))
    summary = dict(oracle_N=top["N"], oracle_r1=float(top["error"][0]), oracle_r1_params=int(top["params"][0]),
                   oracle_best_over_floor=float(top["error"].min() / floor_top["floor_two_norm"]),
                   oracle_global_rank=r_match, oracle_global_params=2 * problem.n * r_match,
                   richer_base=hat[(richer_N, oracle_delta)]["floor_two_norm"],
                   galerkin_over_floor=hat[(richer_N, oracle_delta)]["galerkin_two_norm"]
                   / hat[(richer_N, oracle_delta)]["floor_two_norm"])
    summary |= {k: v for k, v in floor_against_global(problem, top["N"], oracle_delta, lower_bound=False,
                                                       G=G).items() if k.startswith("global_")}
    front_floors = [hat[(N, oracle_delta)] for N in oracle_Ns if (N, oracle_delta) in hat]
    return dict(floors=floors, richer=richer_rows, global_front=front, oracle_fronts=fronts,
                front_floors=front_floors, summary=summary)


#: The paper's weighted two-level forms (:data:`ddlib.schwarz.SERIES`), whose growth in :math:`h` :func:`growth_in_h`
#: measures.
WEIGHTED_SERIES = ("two-level weighted, multiplicity", "two-level weighted, ramp")


def growth_in_h(dim: int, ms, N: int, box_over_delta: int, series=WEIGHTED_SERIES) -> dict:
    r""":math:`\kappa(M^{-1}A)` of each series (names of :data:`ddlib.schwarz.SERIES`) on the grids of ``m`` nodes per
    side in ``dim`` dimensions, with ``N`` boxes per direction and the overlap :math:`\delta = (H/h)/`
    ``box_over_delta`` (so :math:`H/\delta` is fixed and only :math:`h` shrinks): the "n" study of
    :func:`ddlib.schwarz.scaling_study`. Returns ``rows`` and per series its :func:`ddlib.schwarz.kappa_trends`
    record plus ``h_exponent`` :math:`= d\,p` (:math:`\kappa \sim h^{-dp}` when :math:`\kappa \sim n^p`; growth like
    :math:`1/h` is ``h_exponent = 1``).

    Examples
    --------
    >>> out = growth_in_h(1, [15, 31], 4, 2)
    >>> sorted(out["trends"]), [r["delta"] for r in out["rows"][::2]]
    (['two-level weighted, multiplicity', 'two-level weighted, ramp'], [2, 4])
    """
    dim, N, q = check_int("dim", dim, low=1), check_int("N", N, low=2), check_int("box_over_delta", box_over_delta,
                                                                                     low=1)
    configs = []
    for m in ms:
        box = (check_int("m", m, low=1) + 1) // N
        if (m + 1) % N or box // q < 1:
            raise ValueError(f"ms must hold grids that N = {N} divides into boxes of at least {q} nodes; got m = {m}")
        configs.append(((m,) * dim, N, box // q))
    rows = scaling_study({"n": configs}, {name: SERIES[name] for name in series})
    trends = {t["series"]: {**t, "h_exponent": dim * t["exponent"]} for t in kappa_trends(rows)}
    return {"rows": rows, "trends": trends}


def trained_references(results, front_ranks, floors=()) -> tuple[dict, dict]:
    r"""What F20 draws beside trained 2D models: ``floors`` ``{(m, N, delta): floor_two_norm}`` of every DD
    configuration of ``results`` (:class:`ddlib.regimes.RegimeResult`; a row of ``floors``, e.g. from
    :func:`approximation_report`, is reused, others are computed by :func:`ddlib.approximation.floor`), and
    ``fronts`` ``{m: global_frontier}`` at the ``front_ranks`` below ``n``."""
    known = {(r["m"], r["N"], r["delta"]): r["floor_two_norm"] for r in floors
             if r["coarse"] == "hat" and not r.get("refine") and not r.get("per_box")}
    out, fronts, inverses = {}, {}, {}
    for res in results:
        P = res.regime.problem
        for s in res.selections:
            key = (P.m, getattr(s.spec, "N", None), getattr(s.spec, "delta", None))
            if s.family != "dd" or key in out:
                continue
            if key not in known:
                G = inverses.setdefault(P.m, P.inverse())
                known[key] = apx.floor(P, key[1], key[2], lower_bound=False, G=G)["floor_two_norm"]
            out[key] = known[key]
        fronts.setdefault(P.m, apx.global_frontier(P, [r for r in front_ranks if r < P.n]))
    return out, fronts


def regime_name(regime) -> str:
    """A 2D regime in words: ``"m = 31, fourier, S = 16"``."""
    return f"m = {regime.side}, {regime.data}, S = {regime.samples}"


def partition_ablation(rmap, base, grid, seeds, model) -> dict:
    r"""The partition of unity under the protocol: the DD model ``model`` (a :class:`ddlib.models.DDSpec`) with the
    ramp and with multiplicity weights, in the map's Fourier regime with the most samples on its first grid, tuned
    over ``grid`` on ``seeds`` (:func:`ddlib.experiments.tuned_comparison`). Returns ``regime``
    (:func:`regime_name`), ``label``, and per partition ``ramp`` / ``mult`` its seed means ``<p>_op`` (operator error)
    and ``<p>_id`` (in-distribution error)."""
    first = rmap.regimes[0].side
    reg = max((r for r in rmap.regimes if r.data == "fourier" and r.side == first), key=lambda r: r.samples)
    specs = [replace(model, partition=p) for p in ("ramp", "multiplicity")]
    table = summary_table(tuned_comparison(specs, reg.config(base), grid, seeds))
    metric = rg.in_distribution_metric(reg.data)
    out = {"regime": regime_name(reg), "label": specs[0].label}
    for i, tag in enumerate(("ramp", "mult")):
        out[f"{tag}_op"] = float(table["operator_error_mean"][i])
        out[f"{tag}_id"] = float(table[f"{metric}_mean"][i])
    return out


def _range(values) -> str:
    """:func:`ddlib.tables.range_text` of ``values`` ("between a and b", "at a"), or "not measured" for none."""
    values = [float(v) for v in values]
    return range_text(min(values), max(values)) if values else "not measured"


#: Largest :func:`ddlib.bias.span_drift` read as "K untouched off the span" (rounding of a run).
SPAN_DRIFT_TOL = 1e-8


def _value(x: float, fmt: str) -> str:
    return format(x, fmt) if np.isfinite(x) else "never"


def _verdict_cells(by: dict, metric: str) -> dict:
    """The text cells of one regime's row of :func:`training_report`'s table, from its verdict records."""
    word = lambda v: "holds" if v["holds"] else "fails"  # noqa: E731
    cell = lambda v, fmt: f"{word(v)} ({_value(v['global_value'], fmt)} vs {_value(v['dd_value'], fmt)})"  # noqa: E731
    fewer = by[("fewer parameters", "operator_error")]
    return {"faster": cell(by[("trains faster (epochs)", metric)], ".0f"),
            "faster_s": cell(by[("trains faster (seconds)", metric)], ".2g"),
            "acc_id": cell(by[("more accurate", metric)], ".2g"),
            "acc_op": cell(by[("more accurate", "operator_error")], ".3f"),
            "fewer": word(fewer) + (f" ({fewer['ratio']:.1f}x)" if fewer["holds"] else "")}


def _regime_table(rmap) -> list[dict]:
    """One row per regime and optimizer: the verdict cells (:func:`_verdict_cells`; global against DD), the banded
    baseline against DD in the operator norm, and whether the regime counts (else why not)."""
    rows = []
    for reg, results in zip(rmap.regimes, rmap.results):
        metric = rg.in_distribution_metric(reg.data)
        for res in results:
            key = res.record()
            mine = [v for v in rmap.verdicts if all(v[k] == key[k] for k in key)]
            by = {(v["claim"], v["metric"]): v for v in mine}
            rival = [r for r in rmap.rivals if all(r[k] == key[k] for k in key) and r["metric"] == "operator_error"]
            banded = "" if not rival else (f"{'DD' if rival[0]['winner'] == 'dd' else 'banded'} "
                                           f"({rival[0]['best_banded']:.3f} vs {rival[0]['best_dd']:.3f})")
            rows.append({"regime": regime_name(reg), "optimizer": rg.OPTIMIZER_NAMES[res.optimizer],
                         **_verdict_cells(by, metric), "banded": banded,
                         "counted": "yes" if mine[0]["counted"] else f"no: {mine[0]['reason']}"})
    return rows


def _tally_glue(verdicts: list[dict], names: dict) -> dict:
    """Per optimizer (prefix; the tuned protocol's also without): each claim's count over the counted regimes, where
    it fails, the regimes left out and why, and the ratios where both classes learn."""
    tags = {"trains faster (epochs)": "faster", "trains faster (seconds)": "faster_s", "more accurate": "acc",
            "fewer parameters": "fewer"}
    where = lambda recs: claims.list_text([names[tuple(r[k] for k in rg.REGIME_KEYS)] for r in recs], "none",  # noqa
                                          "; ")
    out = {}
    for opt, prefixes in rg.glue_prefixes(dict.fromkeys(v["optimizer"] for v in verdicts)).items():
        values = {}
        for t in (t for t in rg.tally_verdicts(verdicts) if t["optimizer"] == opt):
            tag = f"tally_{tags[t['claim']]}_{'id' if t['metric'] == 'in_distribution' else t['metric']}"
            values.update({tag: f"{t['holds']} of {t['regimes']}", f"{tag}_failing": where(t["failing"])})
            if t["claim"] == "trains faster (epochs)":
                values["n_common"], values["common_dd_faster"] = t["regimes"], t["holds"]
                values["excluded_n"] = len(t["excluded"])
                values["excluded"] = claims.list_text([f"{names[tuple(r[k] for k in rg.REGIME_KEYS)]} ({r['reason']})"
                                                       for r in t["excluded"]], "none", "; ")
        mine = [v for v in verdicts if v["optimizer"] == opt and v["counted"]]
        for metric, tag in (("operator_error", "op"), (None, "id")):
            r = [v["ratio"] for v in mine if v["claim"] == "more accurate" and
                 v["metric"] == (metric or rg.in_distribution_metric(v["data"]))]
            values[f"{tag}_ratio"] = _range(r)
        f = [v["ratio"] for v in mine if v["claim"] == "fewer parameters" and v["metric"] == "operator_error"
             and v["holds"]]
        values["fewer_factor"] = _range(f)
        out.update({p + k: v for p in prefixes for k, v in values.items()})
    return out


def _roles(regimes) -> dict:
    """The regimes the chapter's sentences read, on the first grid: ``few`` (Fourier data, fewest samples),
    ``band`` (Fourier data, most samples) and ``noise`` (noise data, most samples)."""
    first = [i for i, r in enumerate(regimes) if r.side == regimes[0].side]
    pick = lambda data, f: f((i for i in first if regimes[i].data == data), key=lambda i: regimes[i].samples)  # noqa
    return {"few": pick("fourier", min), "band": pick("fourier", max), "noise": pick("noise", max)}


def _span_glue(rmap) -> dict:
    """Per role (:func:`_roles`) and optimizer (prefix ``<opt>_``): the regime, the dimension of the data's span, and
    per class the best model's label, operator error, oracle, errors on and off the span and off-span fraction
    (:func:`ddlib.regimes.mechanism`), the global model's ``k_drift`` (:func:`ddlib.bias.span_drift`) and
    ``span_verdict`` ("holds": :math:`K` untouched off the span, to :data:`SPAN_DRIFT_TOL`, else "fails");
    the best in-distribution error per class."""
    out = {}
    for role, i in _roles(rmap.regimes).items():
        reg = rmap.regimes[i]
        out.update({f"{role}_regime": regime_name(reg), f"{role}_S": reg.samples})
        for res, mech in zip(rmap.results[i], [m for m in rmap.mechanisms if all(
                m[k] == v for k, v in reg.record().items())]):
            p = f"{res.optimizer}_{role}"
            out[f"{p}_data_dim"] = mech["data_dim"]
            out.update({f"{p}_{c}_{k}": mech[f"{c}_{k}"] for c in ("global", "dd")
                        for k in ("on_span", "off_span", "off_fraction", "error", "oracle", "label")})
            out[f"{p}_dd_oracle_ratio"] = mech["dd_error"] / mech["dd_oracle"]
            drift = mech["global_k_drift"]
            out[f"{p}_global_k_drift"] = drift
            out[f"{p}_span_verdict"] = "holds" if drift < SPAN_DRIFT_TOL else "fails"
            for fam, tag in (("global", "g"), ("dd", "d")):
                b = ex.class_best(res.table, fam, f"{rg.in_distribution_metric(reg.data)}_mean")
                out[f"{p}_{tag}_id"], out[f"{p}_{tag}_id_label"] = b["value"], b["label"]
    return out


def _baseline_glue(rmap) -> dict:
    """Per optimizer (prefix): in how many regimes the best DD model beats the best banded one, in the operator norm
    and on the training distribution (seed means)."""
    out = {}
    for opt, prefixes in rg.glue_prefixes(dict.fromkeys(r["optimizer"] for r in rmap.rivals)).items():
        values = {}
        for metric, tag in (("operator_error", "op"), (None, "id")):
            rows = [r for r in rmap.rivals if r["optimizer"] == opt and
                    r["metric"] == (metric or rg.in_distribution_metric(r["data"]))]
            values[f"banded_{tag}"] = f"{sum(r['winner'] == 'dd' for r in rows)} of {len(rows)}"
        out.update({p + k: v for p in prefixes for k, v in values.items()})
    return out


def training_report(rmap, partition: dict | None = None) -> dict:
    r"""Everything the chapter says about its trained 2D comparison, from a :class:`ddlib.regimes.RegimeMap`
    (:func:`ddlib.regimes.run_map` with the banded rival and mechanisms) and :func:`partition_ablation`.

    Returns ``glue`` (name -> number or text: :func:`_tally_glue` per optimizer, the tuned protocol's also without
    prefix, among them ``tally_<claim>_<metric>`` "h of k" over the regimes where both classes learn, the regimes
    ``excluded`` with the reason, ``op_ratio`` and ``id_ratio`` (global over DD where both learn,
    :func:`ddlib.tables.range_text`);
    the span split of the few-sample, noise and band regimes per optimizer; the banded baseline's counts; the
    partition ablation as ``abl_*``; the range of the best out-of-band errors per class), ``table`` (one row per
    regime and optimizer, text cells: :func:`_regime_table`), ``counts`` (:func:`ddlib.regimes.verdict_table`) and
    ``speeds`` (the "trains faster" records).
    """
    names = {tuple(r.record()[k] for k in rg.REGIME_KEYS): regime_name(r) for r in rmap.regimes}
    glue = {"n_regimes": len(rmap.regimes), **_tally_glue(rmap.verdicts, names), **_span_glue(rmap),
            **_baseline_glue(rmap), **{f"abl_{k}": v for k, v in (partition or {}).items()}}
    tuned = [results[-1] for results in rmap.results]  # the tuned protocol's (the last grid of optimizer_grids)
    for fam in ("global", "dd"):
        glue[f"oob_{fam}"] = _range([ex.class_best(res.table, fam, "error_out_of_band_mean")["value"]
                                     for res in tuned])
    return {"glue": glue, "table": _regime_table(rmap), "counts": rg.verdict_table(rmap.verdicts),
            "speeds": [v for v in rmap.verdicts if v["claim"].startswith("trains faster")]}


def model_rows(rmap) -> list[dict]:
    r"""One record per regime, optimizer grid and model of a :class:`ddlib.regimes.RegimeMap` (the manifest's
    ``regimes2d``): the result's keys (:meth:`ddlib.regimes.RegimeResult.record`), ``regime``
    (:func:`regime_name`), ``model`` (label), ``family``, ``params``, the chosen ``chosen_optimizer``, ``lr`` and
    ``init_scale``, ``seeds``, ``validation_mean`` (seed mean of the validation error, what selection read),
    ``on_edge`` (:func:`ddlib.regimes.on_edge`) and the seed mean of every error of
    :data:`ddlib.experiments.METRICS` under its own name."""
    rows = []
    for reg, results in zip(rmap.regimes, rmap.results):
        for res in results:
            t = res.table
            for i, s in enumerate(res.selections):
                c = s.runs[0].config
                rows.append({**res.record(), "regime": regime_name(reg), "model": s.label, "family": s.family,
                             "params": int(t["params"][i]), "chosen_optimizer": c.optimizer, "lr": c.lr,
                             "init_scale": c.init_scale, "seeds": len(s.runs),
                             "validation_mean": float(np.mean([r.final["error_validation"] for r in s.runs])),
                             "on_edge": rg.on_edge(s),
                             **{m: float(t[f"{m}_mean"][i]) for m in ex.METRICS if f"{m}_mean" in t}})
    return rows


def grid_regimes(plans, K: int, N: int, delta: int, dim: int = 2) -> list:
    r"""The regimes of a trained comparison in ``dim`` dimensions from ``plans`` ``[(m, data, samples), ...]``: band
    ``K``, and the ``N``, ``delta`` their records name (:class:`ddlib.regimes.Regime`); the axis says what differs
    from the first plan (``"base"``, ``"samples"``, ``"data"``, ``"slice"``: both; ``"n_fixed_N"``: another grid).

    >>> [r.axis for r in grid_regimes([(15, "fourier", 16), (15, "noise", 16), (31, "fourier", 64)], 3, 4, 1)]
    ['base', 'data', 'n_fixed_N']
    """
    m0, d0, s0 = plans[0]
    axis = lambda m, d, s: "n_fixed_N" if m != m0 else {(True, True): "base", (True, False): "samples",  # noqa: E731
                                                         (False, True): "data"}.get((d == d0, s == s0), "slice")
    return [rg.Regime(check_int("m", m, low=1) ** dim, N, K, s, d, delta=delta, axis=axis(m, d, s), dim=dim)
            for m, d, s in plans]
