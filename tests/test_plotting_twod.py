"""The 2D chapter's figures draw what they are given: one line per series or group, theory lines, floors."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ddlib.approximation import dd_frontier, floor_study, global_frontier  # noqa: E402
from ddlib.plotting.twod import floor_figure_2d, frontier_figure_2d, kappa_figure_2d  # noqa: E402
from ddlib.problem import Problem  # noqa: E402
from ddlib.schwarz import SERIES, add_bounds, scaling_study  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_kappa_figure_draws_every_series_and_its_theory_line():
    sq = lambda m: (m, m)  # noqa: E731
    studies = {"N": [(sq(7), 2, 1), (sq(15), 4, 1)], "n": [(sq(7), 2, 1), (sq(15), 2, 2)],
               "delta": [(sq(15), 2, 0), (sq(15), 2, 2)]}
    rows = scaling_study(studies, {k: SERIES[k] for k in ("one-level ASM", "two-level ASM, hat")}, dense_max=256)
    add_bounds(rows)
    fig = kappa_figure_2d(rows)
    axes = fig.axes
    assert len(axes) == 6
    kappa = axes[0].get_lines()
    assert len(kappa) == 4  # two series, each with its fitted theory shape
    plotted = sorted(float(y) for line in kappa[::2] for y in line.get_ydata())
    assert np.allclose(plotted, sorted(r["kappa"] for r in rows if r["study"] == "N"))
    assert len(axes[3].get_lines()) == 2


def test_frontier_and_floor_figures():
    P = Problem((15, 15))
    g = global_frontier(P, [1, 4, 16, 64])
    fronts = [dd_frontier(P, 4, 1, [1, 4, 36], local_inverse="subdomain")]
    rows = floor_study(P, [2, 4], [0, 1], [("hat", {}), ("hat", {"refine": 2})])
    for r in rows:
        r.setdefault("refine", 1)
    fig = frontier_figure_2d(g, fronts, [r for r in rows if r["N"] == 4 and r["delta"] == 1 and r["refine"] == 1])
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in fig.axes[0].get_lines()]

    def drawn(values):
        values = np.broadcast_to(np.asarray(values, dtype=float), (len(values),) if np.ndim(values) else (2,))
        return any(y.shape == values.shape and np.allclose(y, values) for y in ys)

    floor = next(r for r in rows if r["N"] == 4 and r["delta"] == 1 and r["refine"] == 1)["floor_two_norm"]
    assert drawn(g["error"]) and drawn(fronts[0]["error"]) and drawn(floor)
    fig = floor_figure_2d(rows)
    assert len(fig.axes) == 3
    # (a): one solid line per overlap (plus its lower bound); (c): the Q1 family per N joins refine 1 and 2
    assert {line.get_label() for line in fig.axes[0].get_lines()} >= {"$\\delta = 0$", "$\\delta = 1$"}
    assert len(fig.axes[2].get_lines()) == 2  # the Q1 family of each N: refine = 1 and 2 on the same boxes


def test_regimes_figure_draws_each_class_at_its_seed_means_and_the_references():
    from ddlib.experiments import Selection
    from ddlib.models import DDSpec, GlobalSpec
    from ddlib.plotting.twod import regimes_figure_2d
    from ddlib.regimes import Regime, RegimeResult

    specs = [GlobalSpec(4), GlobalSpec(16), DDSpec(4, 1, 1), DDSpec(4, 1, 4), DDSpec(4, 1, 2, use_local=False)]
    params = np.array([1800, 7200, 900, 3600, 100])
    mean = np.array([0.5, 0.4, 0.3, 0.2, 1e-3])
    table = {"label": np.array([s.label for s in specs]), "family": np.array([s.family for s in specs]),
             "params": params}
    for col in ("operator_error", "error_noise"):
        table.update({f"{col}_mean": mean, f"{col}_min": 0.9 * mean, f"{col}_max": 1.1 * mean})
    res = RegimeResult(Regime(225, 4, 3, 16, "noise", dim=2), [Selection(s, {}, []) for s in specs], table)
    front = global_frontier(Problem((15, 15)), [1, 4, 16])
    figs = {m: regimes_figure_2d([res, res], m, {(15, 4, 1): 0.02}, {15: front})
            for m in ("in_distribution", "operator_error")}
    for fig in figs.values():
        for ax in fig.axes[:2]:
            lines = [ln for ln in ax.get_lines() if ln.get_marker() in ("o", "s")]
            ys = sorted(float(y) for ln in lines for y in ln.get_ydata())
            assert ys == sorted(mean[:4].tolist())                  # the ablation is not drawn
    bottom = figs["operator_error"].axes[0].get_lines()
    assert any(list(ln.get_ydata()) == [0.02, 0.02] for ln in bottom)                      # the floor
    assert any(len(ln.get_ydata()) == 3 and np.allclose(ln.get_ydata(), front["error"]) for ln in bottom)  # E-Y
    assert not any(list(ln.get_ydata()) == [0.02, 0.02] for ln in figs["in_distribution"].axes[0].get_lines())
