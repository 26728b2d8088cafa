"""Every environment variable the package and the build read is checked, and a bad value is an error that names the
variable and what it must be (the hostile-input table of reproduce.md lists this test)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddlib.attention import configure_threads
from ddlib.figures import figures_dir
from ddlib.memory import check_dense
from ddlib.models import GlobalSpec
from ddlib.sweep import default_workers, run_sweep, scheduler_address
from ddlib.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
A_FILE = str(Path(__file__))
RUN = TrainConfig(model=GlobalSpec(2), n=31, K=4, samples=8, validation_samples=4, test_samples=4, epochs=2,
                  eval_points=2)


@pytest.mark.parametrize("name, value, call, message", [
    ("DDLIB_TORCH_THREADS", "abc", configure_threads, "DDLIB_TORCH_THREADS must be an integer >= 1; got 'abc'"),
    ("DDLIB_TORCH_THREADS", "0", configure_threads, "DDLIB_TORCH_THREADS must be an integer >= 1; got '0'"),
    ("DDLIB_CACHE", A_FILE, lambda: train(RUN), "DDLIB_CACHE must name a folder; '"),
    ("DDLIB_FIGURES", A_FILE, figures_dir, "DDLIB_FIGURES must name a folder; '"),
    ("DDLIB_WORKERS", "1.5", default_workers, "DDLIB_WORKERS must be an integer >= 1; got '1.5'"),
    ("DDLIB_SCHEDULER", "localhost:8786", scheduler_address, "DDLIB_SCHEDULER must be an address like"),
    ("DDLIB_CLUSTER_TIMEOUT", "-1", lambda: run_sweep([]), "DDLIB_CLUSTER_TIMEOUT must be a finite positive"),
    ("DDLIB_DENSE_LIMIT", "lots", lambda: check_dense((2, 2), "x", "y"), "DDLIB_DENSE_LIMIT must be a size"),
])
def test_a_bad_environment_variable_is_named(monkeypatch, name, value, call, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"environment variable {message}"):
        call()


@pytest.mark.parametrize("name", ["DDLIB_CACHE", "DDLIB_FIGURES"])
def test_the_build_names_a_folder_variable_that_is_a_file(name, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--no-html", "--build",
                           str(tmp_path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, name: A_FILE})
    assert proc.returncode == 2 and f"environment variable {name} must name a folder" in proc.stderr
    assert not (tmp_path / "book").exists()  # nothing ran
