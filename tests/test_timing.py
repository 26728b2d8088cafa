"""Timing with a fake clock: medians after warm-up, autorange calibration, paired ratios that cancel drift; the
power-law fit against numpy's least squares; the CPU counters of /proc/stat. No assertion here depends on how fast
this machine is."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.timing import cpu_times, fit_exponent, steal_fraction, time_callable, time_paired


class FakeClock:
    """Advances by the next duration of ``steps`` each time the timed function runs."""

    def __init__(self, durations):
        self.now, self.durations, self.calls = 0.0, list(durations), 0

    def clock(self):
        return self.now

    def fn(self):
        self.now += self.durations[self.calls % len(self.durations)]
        self.calls += 1


def test_time_callable_takes_the_median_of_repeats_after_warmup():
    fc = FakeClock([100.0, 100.0, 3.0, 1.0, 2.0, 50.0, 4.0])  # two warm-up calls are discarded
    t = time_callable(fc.fn, warmup=2, repeats=5, number=1, clock=fc.clock)
    assert fc.calls == 7
    assert t.times == (3.0, 1.0, 2.0, 50.0, 4.0)
    assert t.median == 3.0 and t.best == 1.0 and t.number == 1


def test_time_callable_autorange_divides_by_the_calls_per_repeat():
    fc = FakeClock([0.004])
    t = time_callable(fc.fn, warmup=0, repeats=3, min_repeat_seconds=0.02, clock=fc.clock)
    assert t.number == 5  # 1, 2 calls last < 0.02 s; 5 calls last 0.02 s
    assert t.median == pytest.approx(0.004, rel=1e-12)
    assert fc.calls == 1 + 2 + 5 + 3 * 5


@pytest.mark.parametrize("kw", [dict(repeats=0), dict(warmup=-1), dict(number=0)])
def test_time_callable_rejects_bad_counts(kw):
    with pytest.raises(ValueError, match=list(kw)[0]):
        time_callable(lambda: None, **kw)


class DriftingMachine:
    """A shared clock and two calls whose costs are in a fixed ratio while the machine's speed drifts per call."""

    def __init__(self, cost_a, cost_b, slowdown):
        self.now, self.k, self.cost_a, self.cost_b, self.slowdown = 0.0, 0, cost_a, cost_b, slowdown

    def clock(self):
        return self.now

    def _run(self, cost):
        self.now += cost * self.slowdown(self.k)
        self.k += 1

    def a(self):
        self._run(self.cost_a)

    def b(self):
        self._run(self.cost_b)


def test_time_paired_cancels_drift_that_biases_separate_medians():
    """The machine gets slower call by call (here by 1% a call): time_callable on a, then on b, sees b on a slower
    machine and underestimates a / b; the paired ratio is exact because both blocks of a pair see nearly the same
    speed (number=1: a pair is two adjacent calls, and here the speed changes only between pairs)."""
    m = DriftingMachine(3.0, 1.5, lambda k: 1.01 ** (k // 2))
    pair = time_paired(m.a, m.b, warmup=0, repeats=7, number=1, clock=m.clock)
    assert pair.ratio == pytest.approx(2.0, rel=1e-12)
    assert pair.quartiles == pytest.approx((2.0, 2.0), rel=1e-12)
    assert len(pair.ratios) == 7 and pair.a.number == pair.b.number == 1
    m2 = DriftingMachine(3.0, 1.5, lambda k: 1.01**k)
    ta = time_callable(m2.a, warmup=0, repeats=7, number=1, clock=m2.clock).median
    tb = time_callable(m2.b, warmup=0, repeats=7, number=1, clock=m2.clock).median
    assert ta / tb == pytest.approx(2.0 / 1.01**7, rel=1e-12)  # the separate medians are off by the drift


def test_time_paired_calibrates_until_the_faster_block_is_long_enough():
    m = DriftingMachine(0.004, 0.001, lambda k: 1.0)
    pair = time_paired(m.a, m.b, warmup=1, repeats=4, min_repeat_seconds=0.02, clock=m.clock)
    assert pair.a.number == 20  # b's block of 20 calls is the first to last 0.02 s
    assert pair.a.median == pytest.approx(0.004) and pair.b.median == pytest.approx(0.001)
    assert pair.ratio == pytest.approx(4.0)
    with pytest.raises(ValueError, match="repeats"):
        time_paired(m.a, m.b, repeats=0)


@given(p=st.floats(-3, 3), c=st.floats(1e-9, 1e3), lo=st.integers(1, 10), k=st.integers(2, 9))
@settings(max_examples=50, deadline=None)
def test_fit_exponent_recovers_exact_power_laws(p, c, lo, k):
    n = 2.0 ** np.arange(lo, lo + k)
    fit = fit_exponent(n, c * n**p)
    assert fit.exponent == pytest.approx(p, abs=1e-9)
    assert fit.coefficient == pytest.approx(c, rel=1e-8)
    assert fit.stderr < 1e-8
    assert np.allclose(fit(n), c * n**p, rtol=1e-8)


def test_fit_exponent_is_least_squares_and_its_stderr_matches_the_formula():
    rng = np.random.default_rng(0)
    n = 2.0 ** np.arange(10, 17)
    t = 1e-6 * n * np.exp(0.1 * rng.standard_normal(n.size))
    fit = fit_exponent(n, t)
    X = np.column_stack([np.ones(n.size), np.log(n)])
    coef, res, *_ = np.linalg.lstsq(X, np.log(t), rcond=None)
    assert fit.exponent == pytest.approx(coef[1], abs=1e-12)
    cov = res[0] / (n.size - 2) * np.linalg.inv(X.T @ X)
    assert fit.stderr == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-10)


@pytest.mark.parametrize("n,t,match", [([1, 2], [1, -1], "positive"), ([4, 4], [1, 2], "distinct"),
                                       ([1, 2, 3], [1, 2], "same length"), ([1, np.nan], [1, 2], "finite")])
def test_fit_exponent_rejects_bad_data(n, t, match):
    with pytest.raises(ValueError, match=match):
        fit_exponent(n, t)




def test_cpu_times_and_steal_fraction(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 20 800 5 0 1 10 0 0\ncpu0 50 0 10 400 2 0 0 5 0 0\n")
    before = cpu_times(stat)
    assert before == {"user": 100, "nice": 0, "system": 20, "idle": 800, "iowait": 5, "irq": 0, "softirq": 1,
                      "steal": 10}
    stat.write_text("cpu  150 0 30 820 5 0 1 30 0 0\n")  # 100 ticks passed, 20 of them stolen
    assert steal_fraction(before, cpu_times(stat)) == pytest.approx(0.2)
    assert cpu_times(tmp_path / "missing") is None
    assert np.isnan(steal_fraction(None, before)) and np.isnan(steal_fraction(before, before))

