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
from ddlib.attention import DDAttention
from ddlib.costmodel import bmm_traffic, dd_flops, dd_traffic, traffic_ratio
from ddlib.decomposition import Decomposition

ROOT = Path(__file__).resolve().parents[1]


@given(flops=st.integers(1, 10**7), batch=st.integers(1, 16), groups=st.integers(1, 32), inner=st.integers(1, 80))
@settings(max_examples=60, deadline=None)
def test_equal_flop_bmm_has_the_requested_flops_up_to_one_row(flops, batch, groups, inner):
    W, X = bm.equal_flop_bmm(flops, batch, groups, inner)
    assert X.shape == (groups, inner, batch) and W.shape[0] == groups and W.shape[2] == inner
    done = 2 * groups * inner * batch * W.shape[1]
    assert flops <= done < flops + 2 * groups * inner * batch



def test_summarize_scaling_fits_and_ratios_on_a_synthetic_table():
    rows = [{"p": p, "n": 2**p - 1, "dd_forward": 2e-8 * (2**p - 1), "dd_forward_best": 1e-8 * (2**p - 1),
             "bmm_forward": 1e-8 * (2**p - 1), "bmm_forward_best": 1e-8 * (2**p - 1),
             "global_accuracy_forward": 1e-12 * (2**p - 1) ** 2} for p in range(8, 17)]
    s = bm.summarize_scaling(rows, fit_from=10, fit_to=16, ratio_at=16)
    assert s["dd_time_exponent"] == pytest.approx(1.0, abs=1e-12)
    assert s["global_accuracy_time_exponent"] == pytest.approx(2.0, abs=1e-12)
    assert s["dd_vs_bmm_ratio"] == pytest.approx(2.0, rel=1e-12)
    assert np.isnan(s["gather_time_exponent"]) and np.isnan(s["gather_vs_bmm_ratio"])
    assert bm.summarize_scaling(rows, statistic="best")["dd_vs_bmm_ratio"] == pytest.approx(1.0, rel=1e-12)
    rows[-1].update(dd_vs_bmm_paired=1.5, dd_vs_bmm_paired_q1=1.4, dd_vs_bmm_paired_q3=1.7)
    s = bm.summarize_scaling(rows, ratio_at=16)  # the paired median is the headline, the ratio of medians is kept
    assert (s["dd_vs_bmm_ratio"], s["dd_vs_bmm_ratio_q1"], s["dd_vs_bmm_ratio_q3"]) == (1.5, 1.4, 1.7)
    assert s["dd_vs_bmm_ratio_of_medians"] == pytest.approx(2.0, rel=1e-12)
    assert bm.summarize_scaling(rows, statistic="best")["dd_vs_bmm_ratio"] == pytest.approx(1.0, rel=1e-12)


def test_scaling_benchmark_rows_on_a_tiny_size():
    """One real (tiny) row: every timing is a positive number, the FLOP count is dd_flops, gather/global are timed."""
    row = bm.scaling_benchmark([7], m=16, delta=2, rank=2, coarse_rank=3, batch=2, backward_max_p=7, repeats=1,
                               memory=False, banded=True, min_repeat_seconds=0.0)[0]
    assert row["n"] == 127 and row["N"] == 8 and row["coarse_rank"] == 3
    for key in ("dd_forward", "dd_fwd_bwd", "columns_forward", "dd_grad_forward", "gather_forward", "gather_fwd_bwd",
                "bmm_forward", "global_forward", "banded_solve"):
        assert np.isfinite(row[key]) and row[key] > 0, key
    assert row["dd_flops"] == dd_flops(127, 8, 2, 2, 3, 2)
    assert 0 < row["dd_vs_bmm_paired_q1"] <= row["dd_vs_bmm_paired"] <= row["dd_vs_bmm_paired_q3"]
    assert row["dd_bytes"] == dd_traffic(127, 8, 2, 2, 3, 2)["total"]
    assert row["bmm_bytes"] == bmm_traffic(8, row["bmm_k"], 16 + 2 * 2, 2)
    s = bm.summarize_scaling([row], fit_from=7, fit_to=7, ratio_at=7)
    assert s["dd_vs_bmm_bytes_ratio"] == pytest.approx(row["dd_bytes"] / row["bmm_bytes"], rel=1e-15)




def test_the_reference_path_is_the_same_operator_and_times_like_a_module():
    dd = DDAttention(Decomposition(63, 4, 2), 3, 2, seed=1)
    f = torch.randn(5, 63, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ref = bm._ReferencePath(dd)
    with torch.no_grad():
        assert torch.allclose(ref(f), dd(f), rtol=1e-12, atol=1e-14)
    out = bm.time_module(ref, f, backward=True, repeats=1, number=1, warmup=0)
    assert out["seconds"] > 0 and out["peak_bytes"] is None
    assert all(p.grad is None for p in dd.parameters())  # time_module frees the gradients after each call


@pytest.mark.parametrize("kw,match", [(dict(ps=[7], m=1), "m must"), (dict(ps=[7], m=256), "p must"),
                                      (dict(ps=[0]), "p must"), (dict(ps=[7], m=16, batch=0), "batch must"),
                                      (dict(ps=[7], m=16, paired_repeats=0), "paired_repeats must")])
def test_scaling_benchmark_rejects_bad_sizes_before_timing_anything(kw, match):
    with pytest.raises(ValueError, match=match):
        bm.scaling_benchmark(**kw)


def test_bench_schwarz_script_runs_on_a_small_grid(capsys):
    """benchmarks/bench_schwarz.py on n = 2^10 - 1: it prints one line per variant of the preconditioner."""
    spec = importlib.util.spec_from_file_location("bench_schwarz", ROOT / "benchmarks" / "bench_schwarz.py")
    bench_schwarz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_schwarz)
    bench_schwarz.main(["--log2n", "10", "--m", "64", "--delta", "2", "--repeat", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("n = 1023, N = 16") and len(lines) == 2 + 4
    assert [ln.split(",")[0] for ln in lines[2:]] == ["none", "none", "sqrt", "none"]


@pytest.mark.slow
def test_make_bench_script_writes_the_required_keys(tmp_path):
    """benchmarks/run.py (what make bench runs), on tiny sizes: it exits 0 and bench.json holds the headline keys the
    issue asks for, with the paired ratio, its quartiles, the byte ratio and the steal fraction beside them."""
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--max-p", "9",
                           "--no-train", "--repeats", "1", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(out.read_text())
    for key in ("dd_time_exponent", "dd_vs_bmm_ratio", "book_seconds", "book_quick_seconds", "scaling", "threads"):
        assert key in d, key
    s = d["summary"]
    assert np.isfinite(d["dd_time_exponent"]) and d["dd_vs_bmm_ratio"] > 0
    assert s["dd_vs_bmm_ratio_q1"] <= s["dd_vs_bmm_ratio"] <= s["dd_vs_bmm_ratio_q3"]
    assert s["dd_vs_bmm_bytes_ratio"] == pytest.approx(traffic_ratio(511, 8, 4, 8, 7, 32), rel=1e-12)
    assert "steal_fraction" in d["setup"] and "DD forward / equal-FLOP torch.bmm" in proc.stdout

