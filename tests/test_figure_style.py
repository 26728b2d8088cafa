"""Every figure of the book meets the figure style at print size, drawn from small synthetic inputs.

For each figure-drawing function of ``ddlib.plotting`` (the registry below must name them all): at most three panels
in a row, no text under 8 pt once the saved figure is scaled to the PDF's text width, no legend over data points,
every log axis with two or more labelled ticks, no line through categorical points, no taller than a page
(:func:`ddlib.plotting.check.figure_problems`). The checker itself is shown to catch each defect, and the palette to
keep its roles apart for normal and colour-deficient vision.
"""
from __future__ import annotations

import inspect
import itertools
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ddlib.plotting as plotting  # noqa: E402
from ddlib.plotting import attention, generalisation, model_problem, performance, preconditioning, schwarz, twod  # noqa: E402,E501
from ddlib.plotting.check import figure_problems, print_scale  # noqa: E402
from ddlib.plotting.style import (FIG_WIDTH_IN, MIN_FONT_PT, PALETTE, ROLE_STYLE, TEXT_WIDTH_IN, finish,  # noqa: E402
                                  legend_below, log_ticks, panel_grid, role_style, spec_role,
                                  use_style)

MODULES = (attention, generalisation, model_problem, performance, preconditioning, schwarz, twod)
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _style():
    use_style()
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------------------------------
# small synthetic inputs, one builder per figure function


def _green(n):
    x = np.arange(1, n + 1) / (n + 1)
    return np.minimum.outer(x, x) * (1 - np.maximum.outer(x, x)) / (n + 1)


def _eig(n):
    h = 1 / (n + 1)
    return 4 / h**2 * np.sin(np.arange(1, n + 1) * np.pi * h / 2) ** 2


def _band(x, scale=1.0):
    mean = scale / np.sqrt(x)
    return x, mean, 0.8 * mean, 1.25 * mean


class _Set:
    def __init__(self, n, modes):
        self.u = rng.standard_normal((4, n))
        self.modes = modes

    def __len__(self):
        return len(self.u)


def _regime_rows():
    rows = []
    base = dict(n=63, N=4, K=8, samples=64, data="fourier")
    axes = {"n_fixed_N": ("n", [31, 63, 127]), "samples": ("samples", [16, 64, 256]), "K": ("K", [4, 8, 16]),
            "data": ("data", ["fourier", "noise"]), "N": ("N", [2, 4, 8])}
    for axis, (key, values) in axes.items():
        for v in values:
            for metric in ("error_in_band", "operator_error"):
                for b in (1, 4):
                    g, d = rng.uniform(0.01, 0.5, 2)
                    rows.append(dict(base, **{key: v}, axis=axis, metric=metric, params_budget=b * base["n"],
                                     best_global=g, best_global_min=0.9 * g, best_global_max=1.1 * g,
                                     best_dd=d, best_dd_min=0.9 * d, best_dd_max=1.1 * d))
    for S in (16, 64):
        for data in ("fourier", "noise"):
            for metric in ("error_noise", "operator_error"):
                rows.append(dict(base, samples=S, data=data, axis="slice", metric=metric, params_budget=4 * 63,
                                 best_global=0.2, best_dd=0.1))
    return rows


def _perf_rows():
    rows = []
    for p in range(8, 13):
        n = 2**p - 1
        r = {"n": n, "p": p, "dd_bytes": 3e3 * n, "bmm_bytes": 1e3 * n, "dd_params": 40 * n,
             "global_params_params": 40 * n, "global_accuracy_params": n**2 / 4, "dd_peak_bytes": 1e4 * n,
             "global_peak_bytes": 2e4 * n, "banded_solve": 1e-7 * n, "bmm_forward": 2e-8 * n}
        for k, key in enumerate(("dd", "gather", "columns", "dd_grad", "global", "global_accuracy")):
            r[f"{key}_forward"] = (k + 2) * 1e-8 * n ** (1 + 0.1 * (key == "global_accuracy"))
            r[f"{key}_fwd_bwd"] = 3 * r[f"{key}_forward"]
        rows.append(r)
    return rows


def _regime_result(data, samples):
    specs = [SimpleNamespace(family="global", label=f"global r={r}") for r in (4, 16)]
    specs += [SimpleNamespace(family="dd", N=N, delta=1, label=f"DD N={N} r={r}") for N in (2, 4) for r in (1, 4)]
    params = np.array([400, 1600, 150, 500, 200, 700])
    table = {"params": params}
    for col in ("operator_error", "error_in_band", "error_noise"):
        mean = rng.uniform(0.01, 0.5, len(specs))
        table.update({f"{col}_mean": mean, f"{col}_min": 0.9 * mean, f"{col}_max": 1.1 * mean})
    return SimpleNamespace(regime=SimpleNamespace(side=15, data=data, samples=samples),
                           selections=[SimpleNamespace(spec=s, family=s.family) for s in specs], table=table)


def _selection(label, schedules):
    grid = [{"lr": lr, "init_scale": s, "schedule": sc, "error_validation": rng.uniform(0.01, 1)}
            for lr in (0.01, 0.03, 0.1, 0.3) for s in (1e-4, 1e-3, 1e-2, 1e-1) for sc in schedules]
    grid[0]["error_validation"] = np.nan  # a diverged run
    return SimpleNamespace(label=label, grid=grid, chosen=dict(grid[5]))


def _ttt():
    targets = np.geomspace(0.5, 0.01, 6)
    rec = {"targets": targets}
    for x, scale in (("epochs", 100), ("seconds", 2)):
        mean = scale / targets
        rec.update({f"{x}_mean": np.where(targets > 0.015, mean, np.nan), f"{x}_min": 0.8 * mean,
                    f"{x}_max": 1.2 * mean})
    return rec


def _front(params, rate_scale=1.0, **extra):
    params = np.asarray(params, float)
    return {"params": params, "error": rate_scale / params, "rate": rate_scale / params, **extra}


n = 31
INPUTS = {
    (model_problem, "model_problem_figure"): lambda: model_problem.model_problem_figure(
        n, _green(n), _eig(n), _eig(n) * (1 + 1e-14), {"h": 1 / np.array([16, 32, 64]),
                                                     "error": 1 / np.array([16, 32, 64]) ** 2}),
    (model_problem, "data_sets_figure"): lambda: model_problem.data_sets_figure(
        n, {"train": _Set(n, (1, 4)), "out_of_band": _Set(n, (5, 8)), "noise": _Set(n, None),
            "point_loads": _Set(n, None)}),
    (schwarz, "decomposition_figure"): lambda: schwarz.decomposition_figure(
        np.arange(1, 16) / 16, [np.arange(0, 7), np.arange(3, 12), np.arange(8, 15)], np.array([[0, 4], [4, 8], [8, 15]]),
        {k: rng.uniform(0, 1, (3, 9)) for k in ("multiplicity", "ramp", "boolean")}, rng.uniform(0, 1, (15, 2)),
        rng.uniform(0, 1, (15, 3)), 2),
    (schwarz, "scaling_figure"): lambda: schwarz.scaling_figure(
        [{"study": st, "series": s, st: v, "kappa": 2.0 + v * k, "pcg_iterations": 5 + k + v % 7,
          "bound": 3.0 if k == 1 else None, "bound_kind": "theorem"}
         for st, vals in (("N", [2, 4, 8]), ("n", [63, 127, 255]), ("delta", [0, 1, 2]))
         for k, s in enumerate(schwarz.SERIES_STYLE) for v in vals],
        {"N": "$n$ = 63", "n": "$H/h$ = 16", "delta": "$N$ = 4"}, list(schwarz.SERIES_STYLE)),
    (schwarz, "exact_decomposition_figure"): lambda: schwarz.exact_decomposition_figure(
        np.arange(1, n + 1) / (n + 1), _green(n), 0.9 * _green(n), 0.1 * _green(n), 1.01 * _green(n), 10, 2),
    (attention, "approximation_figure"): lambda: attention.approximation_figure(
        1 / _eig(n), 1 / _eig(n), _front([62, 124, 248]), [_front([40, 80], 0.1, N=4), _front([60, 120], 0.05, N=8)],
        {"label": "global", "curves": {m: _band(np.arange(1, 50.0)) for m in ("error_in_band", "error_out_of_band",
                                                                             "operator_error")}}),
    (attention, "training_curves_figure"): lambda: attention.training_curves_figure(
        {"global r=8": {"kind": "global", "epoch": _band(np.arange(1, 60.0)), "seconds": _band(np.linspace(.01, 2, 60)),
                        "operator": _band(np.arange(1, 60.0), 2)},
         "DD N=4": {"kind": "dd", "epoch": _band(np.arange(1, 60.0), .5), "seconds": _band(np.linspace(.01, 3, 60), .5),
                    "operator": _band(np.arange(1, 60.0), .3)}}, 0.1),
    (attention, "pareto_figure"): lambda: attention.pareto_figure(
        {"family": np.array(["global", "global", "dd", "dd"]), "params": np.array([100, 400, 80, 300]),
         **{f"{m}_{s}": np.array([0.3, 0.1, 0.2, 0.05]) * f for m in ("error_in_band", "error_out_of_band",
                                                                       "operator_error")
            for s, f in (("mean", 1), ("min", 0.9), ("max", 1.1))}},
        _front([62, 124, 248]), [_front([40, 80], 0.1, N=4)], highlight=(0, 2)),
    (attention, "learned_operators_figure"): lambda: attention.learned_operators_figure(
        _green(n), 1.01 * _green(n), 0.9 * _green(n), rng.uniform(0, 1, (8, 8)), rng.uniform(0, 1, (8, 8))),
    (attention, "sensitivity_figure"): lambda: attention.sensitivity_figure(
        [_selection(lab, ["cosine", "constant"]) for lab in ("global r=8", "DD N=4", "global r=32", "DD N=8")],
        {"lr": [0.01, 0.03, 0.1, 0.3], "init_scale": [1e-4, 1e-3, 1e-2, 1e-1], "schedule": ["cosine", "constant"]}),
    (attention, "time_to_target_figure"): lambda: attention.time_to_target_figure(
        {"global r=8": ("global", _ttt()), "DD N=4": ("dd", _ttt()), "DD N=8": ("dd", _ttt())}),
    (generalisation, "generalisation_figure"): lambda: generalisation.generalisation_figure(
        {"K": 4, "modes": np.arange(1, n + 1), "exact": np.full(n, 1e-16),
         "runs": [{"label": lab, "training": tr, "params": 500, "mode_errors": rng.uniform(1e-3, 2, n),
                   "sets": {s: rng.uniform(0.01, 1) for s in ("in_band", "out_of_band", "noise", "point_loads")}}
                  for lab in ("global r=4", "DD N=4") for tr in ("fourier", "noise")]}),
    (generalisation, "ablation_figure"): lambda: generalisation.ablation_figure(
        [{"label": lab, "params": p, "spec": spec,
          **{f"{m}_{s}": e * f for m in ("error_in_band", "error_out_of_band", "error_noise", "operator_error")
             for s, f in (("mean", 1), ("min", 0.9), ("max", 1.1))}}
         for lab, p, e, spec in (("baseline", 500, 0.05, SimpleNamespace(family="dd")),
                                 ("no overlap", 450, 0.08, SimpleNamespace(family="dd")),
                                 ("coarse only", 60, 0.3, SimpleNamespace(family="dd", use_local=False)),
                                 ("no coarse level", 440, 0.9, SimpleNamespace(family="dd", use_coarse=False)),
                                 ("banded + low rank", 520, 0.2, SimpleNamespace(family="banded")))]),
    (generalisation, "regime_map_figure"): lambda: generalisation.regime_map_figure(
        _regime_rows(), "operator_error", dict(n=63, N=4, K=8, samples=64, data="fourier")),
    (generalisation, "slice_figure"): lambda: generalisation.slice_figure(_regime_rows(), ("error_noise",
                                                                                          "operator_error")),
    (performance, "performance_figure"): lambda: performance.performance_figure(_perf_rows(), (9, 12)),
    (performance, "race_figure"): lambda: performance.race_figure(
        {"target": 0.05, "results": {name: {"history_seconds": np.linspace(0, 3, 20),
                                            "history_error": np.geomspace(1, 0.01 * (k + 1), 20), "parameters": 900}
                                     for k, name in enumerate(("dd", "global"))}},
        {kind: {"seconds": 100.0, "notebooks": [{"notebook": f"chapters/0{i}_x.ipynb", "seconds": 10.0 * i}
                                                for i in range(1, 9)]} for kind in ("full", "quick")}),
    (preconditioning, "preconditioning_figure"): lambda: preconditioning.preconditioning_figure(
        [{"preconditioner": p, "n": m, "iterations": 10 + k * m / 100, "kappa": 3 + k * m / 50,
          "stored_per_node": 1 + k, "local_rank": 4}
         for k, p in enumerate(("as1", "as2", "jacobi_coarse", "oracle", "learned_dd_shared"))
         for m in (127, 255, 511, 1023)],
        [{"preconditioner": "learned_dd", "n": m, "iterations": m / 10, "kappa": m / 5} for m in (127, 255)],
        [{"preconditioner": p, "n": 255, "local_rank": r, "iterations": 40 / r, "kappa": 30 / r}
         for p in ("learned_dd_shared", "oracle", "as2") for r in (1, 2, 4, 8)],
        [{"local_rank": r, "iterations_predicted": 30 / r, "iterations_lower": 20 / r, "kappa_oracle": 25 / r,
          "kappa_lower": 15 / r} for r in (1, 2, 4, 8)], 5.0, 4),
    (twod, "kappa_figure_2d"): lambda: twod.kappa_figure_2d(
        [{"study": st, "series": s, "N": v, "n": v * 9, "H_over_delta": v, "kappa": 2.0 + v * k,
          "pcg_iterations": 5 + k + v, "bound": 4.0 + v * k} for st in ("N", "n", "delta")
         for k, s in enumerate(twod.SERIES_STYLE_2D) for v in (2, 4, 8)]),
    (twod, "frontier_figure_2d"): lambda: twod.frontier_figure_2d(
        _front([30, 120, 480], rank=np.array([1, 4, 16]), rate_1_over_r=np.array([0.8, 0.3, 0.1])),
        [_front([50, 150], 0.2, rank=np.array([1, 4]), N=4, delta=1),
         _front([80, 250], 0.1, rank=np.array([1, 4]), N=8, delta=1)],
        [{"N": 4, "delta": 1, "floor_two_norm": 0.002, "floor_two_norm_lower": 0.001, "coarse": "hat"}]),
    (twod, "floor_figure_2d"): lambda: twod.floor_figure_2d(
        [{"coarse": c, "partition": "ramp", "refine": ref, "per_box": ref, "m": 15, "N": N, "delta": d,
          "N0": (N - 1) ** 2 * ref, "floor_two_norm": 0.1 / (N * ref * (d + 1)),
          "floor_two_norm_lower": 0.05 / (N * ref * (d + 1))}
         for c in ("hat", "spectral") for ref in (1, 2) for N in (2, 4) for d in (0, 1)]),
    (twod, "regimes_figure_2d"): lambda: twod.regimes_figure_2d(
        [_regime_result(d, S) for d in ("fourier", "noise") for S in (16, 64)] + [_regime_result("fourier", 256)],
        "operator_error", {(15, 2, 1): 0.02, (15, 4, 1): 0.01},
        {15: {"params": np.array([60, 240, 960]), "error": np.array([0.3, 0.1, 0.03])}}),
}


def _figure_functions():
    """Every public function of the plotting modules that draws a figure (its name ends in ``_figure``)."""
    return [(mod, name) for mod in MODULES for name, f in inspect.getmembers(mod, inspect.isfunction)
            if name.endswith(("_figure", "_figure_2d")) and f.__module__ == mod.__name__]


def test_every_figure_function_has_synthetic_inputs():
    missing = [f"{m.__name__}.{name}" for m, name in _figure_functions() if (m, name) not in INPUTS]
    assert not missing, f"add synthetic inputs for {missing}"


@pytest.mark.parametrize("key", sorted(INPUTS, key=lambda k: (k[0].__name__, k[1])),
                         ids=lambda k: f"{k[0].__name__.split('.')[-1]}.{k[1]}")
def test_figure_meets_the_style_at_print_size(key):
    fig = INPUTS[key]()
    assert figure_problems(fig) == []
    assert 0.95 <= print_scale(fig) <= 1.2, "figures are drawn at the text width"


# --------------------------------------------------------------------------------------------------------------------
# the checker catches each defect


def _problems_of(draw):
    fig = plt.figure(figsize=(FIG_WIDTH_IN, 2.5))
    draw(fig)
    return figure_problems(fig)


def test_checker_catches_four_panels_in_a_row_and_small_text():
    problems = _problems_of(lambda fig: [ax.set_title("t", fontsize=5) for ax in fig.subplots(1, 4)])
    assert any("4 panels in a row" in p for p in problems)
    assert any("under 8 pt" in p and "'t' at 5.1 pt" in p for p in problems)


def test_checker_measures_fonts_at_print_size():
    """A figure twice the text width prints at half size: 10 pt text becomes 5 pt."""
    fig, ax = plt.subplots(figsize=(2 * TEXT_WIDTH_IN, 3))
    ax.set_xlabel("ten points", fontsize=10)
    assert any("under 8 pt" in p for p in figure_problems(fig))
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN, 2))
    ax.set_xlabel("ten points", fontsize=10)
    assert figure_problems(fig) == []


def test_checker_catches_a_legend_over_the_data():
    def draw(fig):
        ax = fig.subplots()
        x = np.linspace(0, 1, 200)
        ax.plot(x, np.ones_like(x), label="flat")
        ax.set_ylim(0.5, 1.5)
        ax.legend(loc="center")
    assert any("covers" in p and "data points" in p for p in _problems_of(draw))

    def below(fig):
        ax = fig.subplots()
        ax.plot([0, 1], [1, 1], label="flat")
        legend_below(fig, [ax])
    assert _problems_of(below) == []


def test_checker_catches_a_log_axis_with_one_labelled_tick_and_finish_repairs_it():
    def draw(fig, repair):
        ax = fig.subplots()
        ax.semilogy([1, 2, 3], [2.0, 3.0, 7.0])  # one decade boundary nowhere inside: matplotlib labels few ticks
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        if repair:
            finish(fig)
    assert any("log y axis" in p for p in _problems_of(lambda f: draw(f, False)))
    assert _problems_of(lambda f: draw(f, True)) == []


def test_checker_catches_a_line_through_categorical_points():
    def draw(fig, ls):
        ax = fig.subplots()
        ax.plot([0, 1], [1, 2], marker="o", ls=ls)
        ax.set_xticks([0, 1], ["fourier", "noise"])
    assert any("categorical" in p for p in _problems_of(lambda f: draw(f, "-")))
    assert _problems_of(lambda f: draw(f, "none")) == []


def test_checker_catches_overlapping_tick_labels():
    def draw(fig, n):
        ax = fig.subplots(1, 3)[0]
        ax.plot([0, 1], [0, 1])
        ax.set_xticks(np.linspace(0, 1, n), [f"{v:.4f}" for v in np.linspace(0, 1, n)])
    assert any("overlapping tick labels on the x axis" in p for p in _problems_of(lambda f: draw(f, 12)))
    assert _problems_of(lambda f: draw(f, 3)) == []


def test_checker_catches_a_figure_taller_than_a_page():
    fig, _, _ = panel_grid(15, height=2.0)
    assert any("tall" in p for p in figure_problems(fig))


# --------------------------------------------------------------------------------------------------------------------
# the palette


def _lab(hex_color: str, cvd: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour seen through the linear-RGB matrix ``cvd`` (identity: normal vision)."""
    c = np.array([int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.clip(cvd @ np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4), 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    f = lambda t: np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)  # noqa: E731
    fx, fy, fz = f(xyz / np.array([0.9505, 1.0, 1.089]))
    return np.array([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)])


#: Machado, Oliveira and Fernandes (2009), full severity, in linear RGB.
CVD = {"normal": np.eye(3),
       "protan": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                           [-0.003882, -0.048116, 1.051998]]),
       "deutan": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                           [-0.011820, 0.042940, 0.968881]]),
       "tritan": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                           [0.004733, 0.691367, 0.303900]])}


@pytest.mark.parametrize("vision", CVD)
def test_roles_stay_apart_for_every_vision(vision):
    """Every two role colours differ by a CIELAB distance of at least 15 (near-identical greens or oranges, as the
    old palette had, are 5 to 10 apart)."""
    for (a, sa), (b, sb) in itertools.combinations(ROLE_STYLE.items(), 2):
        d = np.linalg.norm(_lab(sa["color"], CVD[vision]) - _lab(sb["color"], CVD[vision]))
        assert d >= 15, f"{a} and {b} are {d:.0f} apart for {vision} vision"


def test_the_distance_tells_near_identical_colours():
    """The two greens the old time-to-target figure gave two DD models fail the distance above for every vision."""
    for cvd in CVD.values():
        assert np.linalg.norm(_lab("#1b9e77", cvd) - _lab("#117a5c", cvd)) < 15


def test_each_role_has_its_own_colour_and_marker():
    colors = [s["color"] for s in ROLE_STYLE.values()]
    markers = [s["marker"] for s in ROLE_STYLE.values()]
    assert len(set(colors)) == len(colors) and len(set(markers)) == len(markers)
    assert set(colors) <= set(PALETTE.values())


def test_role_style_variants_keep_colour_and_marker():
    for k in range(6):
        st = role_style("dd", k)
        assert (st["color"], st["marker"]) == (ROLE_STYLE["dd"]["color"], ROLE_STYLE["dd"]["marker"])
    assert role_style("dd", 0)["ls"] != role_style("dd", 1)["ls"]
    with pytest.raises(ValueError, match="role must be one of"):
        role_style("green")
    with pytest.raises(ValueError, match="variant must be an integer >= 0"):
        role_style("dd", -1)


def test_spec_role():
    assert spec_role(SimpleNamespace(family="banded")) == "banded"
    assert spec_role(SimpleNamespace(family="dd", use_coarse=False)) == "local"
    assert spec_role(SimpleNamespace(family="dd", coarse="none")) == "local"
    with pytest.raises(ValueError, match="spec must be a model spec"):
        spec_role(object())


def test_panel_grid_refuses_more_than_three_columns():
    with pytest.raises(ValueError, match="ncols must be between 1 and 3"):
        panel_grid(4, ncols=4)
    fig, panels, spares = panel_grid(5, spare=1)
    assert len(panels) == 5 and len(spares) == 1 and len(fig.axes) == 6


def test_use_style_sets_every_font_at_least_the_minimum():
    use_style()
    for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize",
                "legend.fontsize"):
        assert matplotlib.rcParams[key] >= MIN_FONT_PT, key
    assert plotting.use_style is use_style


@given(st.floats(-20, 20), st.floats(0.005, 30), st.integers(3, 12))
def test_log_ticks_give_two_to_a_few_ticks_inside_any_range(log_lo, decades, room):
    lo = 10.0**log_lo
    hi = lo * 10.0**decades
    ticks = log_ticks(lo, hi, room)
    assert len(ticks) >= 2 and ticks == sorted(set(ticks))
    assert all(lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9) for t in ticks)
    assert len(ticks) <= max(room, 6) + 1
