"""The benchmark suites: the equal-FLOP bmm operands, the summary of a synthetic scaling table, one real scaling row
on a tiny size, the reference path timed as a module, and the two scripts of benchmarks/ on tiny sizes. No assertion
here depends on how fast this machine is."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib import benchmarks as bm
from ddlib.attention import DDAttention, Structure
from ddlib.costmodel import bmm_traffic, dd_flops, dd_traffic, traffic_ratio
from ddlib.decomposition import Decomposition
from ddlib.problem import Problem

ROOT = Path(__file__).resolve().parents[1]


@given(flops=st.integers(1, 10**7), batch=st.integers(1, 16), groups=st.integers(1, 32), inner=st.integers(1, 80))
@settings(max_examples=60, deadline=None)
def test_equal_flop_bmm_has_the_requested_flops_up_to_one_row(flops, batch, groups, inner):
    W, X = bm.equal_flop_bmm(flops, batch, groups, inner)
    assert X.shape == (groups, inner, batch) and W.shape[0] == groups and W.shape[2] == inner
    done = 2 * groups * inner * batch * W.shape[1]
    assert flops <= done < flops + 2 * groups * inner * batch



def test_summarize_scaling_fits_and_ratios_on_a_synthetic_table():
    rows = [{"n": 2**p - 1, "dd_forward": 2e-8 * (2**p - 1), "dd_forward_best": 1e-8 * (2**p - 1),
             "bmm_forward": 1e-8 * (2**p - 1), "bmm_forward_best": 1e-8 * (2**p - 1),
             "global_accuracy_forward": 1e-12 * (2**p - 1) ** 2} for p in range(8, 17)]
    s = bm.summarize_scaling(rows, fit=(1023, 65535), ratio_at=65535)
    assert s["dd_time_exponent"] == pytest.approx(1.0, abs=1e-12)
    assert s["global_accuracy_time_exponent"] == pytest.approx(2.0, abs=1e-12)
    assert np.isnan(s["gather_time_exponent"]) and np.isnan(s["gather_vs_bmm_ratio"])
    assert s["dd_vs_bmm_ratio_of_medians"] == pytest.approx(2.0, rel=1e-12)
    assert np.isnan(s["dd_vs_bmm_ratio"])                          # no paired measurement in the row
    assert bm.summarize_scaling(rows, statistic="best")["dd_vs_bmm_ratio"] == pytest.approx(1.0, rel=1e-12)
    rows[-1].update(dd_vs_bmm=1.5, dd_vs_bmm_q1=1.4, dd_vs_bmm_q3=1.7)
    s = bm.summarize_scaling(rows, ratio_at=65535)  # the paired median is the headline, the ratio of medians is kept
    assert (s["dd_vs_bmm_ratio"], s["dd_vs_bmm_ratio_q1"], s["dd_vs_bmm_ratio_q3"]) == (1.5, 1.4, 1.7)
    assert s["dd_vs_bmm_ratio_of_medians"] == pytest.approx(2.0, rel=1e-12)
    rows[3]["dd_forward"] *= 4                                      # a disturbed size outside the fit range
    assert bm.summarize_scaling(rows, fit=(4095, 65535))["dd_time_exponent"] == pytest.approx(1.0, abs=1e-12)
    assert np.isnan(bm.summarize_scaling(rows, ratio_at=4096)["dd_vs_bmm_ratio"])   # an absent size


def test_scaling_benchmark_rows_on_a_tiny_size():
    """One real (tiny) row: every timing is a positive number, the FLOP count is dd_flops, the four paths and the
    gather path, global attention and the direct solve are timed, the paired quartiles bracket the median."""
    row = bm.scaling_benchmark([7], box=16, delta=2, rank=2, coarse_rank=3, batch=2, backward_max_p=7, repeats=1,
                               memory=False, direct=True, min_repeat_seconds=0.0, paired_repeats=3)[0]
    assert (row["n"], row["N"], row["coarse_rank"], row["dim"]) == (127, 8, 3, 1)
    for key in ("dd_forward", "dd_fwd_bwd", "columns_forward", "dd_grad_forward", "columns_grad_forward",
                "gather_forward", "gather_fwd_bwd", "bmm_forward", "global_forward", "direct_solve"):
        assert np.isfinite(row[key]) and row[key] > 0, key
    s = Structure(Decomposition(Problem(127), 8, 2))
    assert row["dd_flops"] == dd_flops(s, 2, 3, 2)
    for path in bm.PATHS:
        assert 0 < row[f"{path}_vs_bmm_q1"] <= row[f"{path}_vs_bmm"] <= row[f"{path}_vs_bmm_q3"]
    assert row["dd_bytes"] == dd_traffic(s, 2, 3, 2)["total"]
    assert row["bmm_bytes"] == bmm_traffic(8, row["bmm_k"], 16 + 2 * 2, 2)
    summary = bm.summarize_scaling([row], fit=(127, 127), ratio_at=127)
    assert summary["dd_vs_bmm_bytes_ratio"] == pytest.approx(row["dd_bytes"] / row["bmm_bytes"], rel=1e-15)


@pytest.mark.parametrize("dim,Ns,box,delta", [(2, [2, 3], 4, 1), (3, [2], 3, 1)])
def test_dimension_scaling_rows_time_the_default_path_in_2d_and_3d(dim, Ns, box, delta):
    rows = bm.dimension_scaling(dim, Ns, box=box, delta=delta, rank=2, coarse_rank=3, batch=2, repeats=1,
                                min_repeat_seconds=0.0, paired_repeats=1)
    for row, N in zip(rows, Ns):
        s = Structure(Decomposition(Problem((N * box - 1,) * dim), N, delta))
        assert (row["dim"], row["n"], row["n_sub"]) == (dim, (N * box - 1) ** dim, N**dim)
        assert row["dd_flops"] == dd_flops(s, 2, min(3, s.N0), 2) and row["coarse_rank"] == min(3, s.N0)
        for path in bm.PATHS:
            assert row[f"{path}_forward"] > 0 and row[f"{path}_vs_bmm"] > 0
        assert row["dd_fwd_bwd"] > 0


def test_the_gather_path_is_the_same_operator_and_times_like_a_module():
    dd = DDAttention(Structure(Decomposition(Problem(63), 4, 2)), 3, 2, seed=1)
    f = torch.randn(5, 63, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ref = bm._GatherPath(dd)
    with torch.no_grad():
        assert torch.allclose(ref(f), dd(f), rtol=1e-12, atol=1e-14)
    out = bm.time_module(ref, f, backward=True, repeats=1, number=1, warmup=0)
    assert out["seconds"] > 0 and out["peak_bytes"] is None
    assert all(p.grad is None for p in dd.parameters())  # time_module frees the gradients after each call


@pytest.mark.parametrize("kw,match", [(dict(ps=[7], box=1), "box must"), (dict(ps=[7], box=256), "p must"),
                                      (dict(ps=[0]), "p must"), (dict(ps=[7], box=16, batch=0), "batch must"),
                                      (dict(ps=[7], box=16, paired_repeats=0), "paired_repeats must")])
def test_scaling_benchmark_rejects_bad_sizes_before_timing_anything(kw, match):
    with pytest.raises(ValueError, match=match):
        bm.scaling_benchmark(**kw)


def test_bench_schwarz_script_runs_on_a_small_grid(capsys):
    """benchmarks/bench_schwarz.py on n = 2^10 - 1: it prints one line per variant of the preconditioner."""
    spec = importlib.util.spec_from_file_location("bench_schwarz", ROOT / "benchmarks" / "bench_schwarz.py")
    bench_schwarz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_schwarz)
    bench_schwarz.main(["--log2n", "10", "--box", "64", "--delta", "2", "--repeat", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("n = 1023, N = 16") and len(lines) == 2 + 4
    assert [ln.split(",")[0] for ln in lines[2:]] == ["none", "none", "sqrt", "none"]


@pytest.mark.slow
def test_make_bench_script_writes_the_required_keys(tmp_path):
    """benchmarks/run.py (what make bench runs), on tiny sizes: it exits 0 and bench.json holds the headline keys the
    issues ask for: the paired ratios of the four paths with their quartiles, the byte ratio, the 2D and 3D time
    exponents and the steal fraction."""
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--max-p", "9",
                           "--no-train", "--repeats", "1", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(out.read_text())
    for key in ("dd_time_exponent", "dd_vs_bmm_ratio", "time_exponent_2d", "time_exponent_3d", "book_seconds",
                "book_quick_seconds", "scaling", "dimensions", "threads"):
        assert key in d, key
    s = d["summary"]
    assert np.isfinite(d["dd_time_exponent"]) and np.isfinite(d["time_exponent_3d"]) and d["dd_vs_bmm_ratio"] > 0
    for path in bm.PATHS:
        assert s[f"{path}_vs_bmm_ratio_q1"] <= s[f"{path}_vs_bmm_ratio"] <= s[f"{path}_vs_bmm_ratio_q3"]
    structure = Structure(Decomposition(Problem(511), 8, 4))
    assert s["dd_vs_bmm_bytes_ratio"] == pytest.approx(traffic_ratio(structure, 8, 7, 32), rel=1e-12)
    assert "steal_fraction" in d["setup"] and "DD forward / equal-FLOP torch.bmm" in proc.stdout


@pytest.mark.parametrize("value,target,q1,q3,expected", [
    (1.5, 2.0, 1.4, 1.7, "met in this run"), (1.9, 2.0, 1.8, 2.1, "met in this run, but only just"),
    (2.5, 2.0, 2.2, 2.7, "not met in this run"), (2.1, 2.0, 1.9, 2.3, "not met in this run, though"),
    (1.0, 1.1, None, None, "met in this run"), (float("nan"), 1.1, None, None, "not measured")])
def test_target_verdict_names_the_side_and_a_straddling_spread(value, target, q1, q3, expected):
    verdict = bm.target_verdict(value, target, q1, q3)
    assert verdict.startswith(expected)
    assert ("met in this run" == verdict) == (expected == "met in this run")


@pytest.fixture(scope="module")
def tiny_tables():
    """Real (tiny) 1D and 2D benchmark tables, timed once for the report tests."""
    kw = dict(rank=2, coarse_rank=3, batch=2, repeats=1, min_repeat_seconds=0.0, paired_repeats=1)
    rows = bm.scaling_benchmark([7, 8, 9], box=16, delta=2, backward_max_p=9, memory=False, **kw)
    return rows, {2: bm.dimension_scaling(2, [2, 3, 4], box=4, delta=1, **kw)}


def _race(dd_seconds, global_seconds, dd_total=1.0, global_total=2.0):
    res = {k: {"epoch": 10.0 if np.isfinite(s) else float("nan"), "seconds": s, "final_error": 0.01,
               "total_seconds": t, "parameters": p}
           for k, s, t, p in (("dd", dd_seconds, dd_total, 100), ("global", global_seconds, global_total, 200))}
    return {"target": 0.05, "results": res, "chosen": {k: {"lr": 0.01, "init_scale": 0.1} for k in res}}


def test_report_performance_carries_the_measured_numbers_and_verdicts(tiny_tables):
    rows, dims = tiny_tables
    status = {"full": None, "quick": {"seconds": 95.0, "jobs": 2, "notebooks": [
        {"notebook": "chapters/07_performance.ipynb", "seconds": 40.0}, {"notebook": "chapters/a.ipynb",
                                                                           "seconds": 5.0}]}}
    kw = dict(fit=(127, 511), target_exponent=1.1, small_batch=1, epochs=10, steal=float("nan"))
    rep = bm.report_performance(rows, dims, _race(1.0, 2.0), status, target_n=2**16 - 1, target_ratio=2.0, **kw)
    num, last = rep["numbers"], rows[-1]
    assert num["n_last"] == 511 and num["dd_vs_bmm"] == last["dd_vs_bmm"]
    assert num["columns_grad_vs_bmm_q3"] == last["columns_grad_vs_bmm_q3"]
    assert num["dd_exponent"] == bm.summarize_scaling(rows, fit=(127, 511), ratio_at=511)["dd_time_exponent"]
    assert num["dd_ms"] == pytest.approx(1e3 * last["dd_forward"], rel=1e-15)
    assert num["exponent_verdict"].startswith("not assessed by this quick run, which stops at n = 511")
    assert num["exponent_2d_verdict"].startswith("not assessed") and rep["dimensions"][0]["n_lo"] == 11**2
    assert num["steal_text"] == "could not be read on this machine"
    assert num["race_seconds_cmp"] == "In this run DD attention reached the target first in seconds"
    assert num["race_dd_per_epoch_ms"] == pytest.approx(100.0) and "pay for its extra steps" in num["epoch_cmp"]
    assert num["book_full_text"] == "no complete make book has been recorded on this machine yet"
    assert num["book_quick_text"].startswith("the latest complete make book QUICK=1 executed its notebooks in 95 s "
                                             "(2 at a time; slowest: 07_performance.ipynb 40 s")
    assert [r["operation"] for r in rep["at_last"]][:4] == list(bm.PATH_LABELS.values())
    # assessed at the size reached: verdicts follow the measured values against the targets
    met = bm.report_performance(rows, dims, _race(np.nan, 3.0, 3.0, 1.0), status, target_n=511, target_ratio=1e9,
                                **kw)["numbers"]
    assert all(met[f"{p}_verdict"] == "met in this run" for p in bm.PATHS)
    assert met["race_seconds_cmp"] == "In this run global attention reached the target first in seconds"
    assert "cost more per epoch" in met["epoch_cmp"]
    missed = bm.report_performance(rows, dims, _race(np.nan, np.nan), status, target_n=511, target_ratio=1e-9,
                                   **kw)["numbers"]
    assert all(missed[f"{p}_verdict"] == "not met in this run" for p in bm.PATHS)
    assert missed["race_seconds_cmp"] == "Neither model reached the target"


def test_dimension_fit_starts_at_the_second_size():
    assert bm.dimension_fit([{"n": 9}, {"n": 49}, {"n": 225}]) == (49, 225)
    assert bm.dimension_fit([{"n": 9}]) == (9, 9)
