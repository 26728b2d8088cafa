"""The pipeline: every notebook runs headless under papermill with QUICK parameters and the book builds."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from build_book import toc_entries  # noqa: E402

pytestmark = pytest.mark.book


def test_quick_book_builds_every_page(quick_book):
    assert quick_book.returncode == 0, quick_book.output[-4000:]
    for entry in toc_entries(ROOT / "_toc.yml"):
        assert (quick_book.html / f"{entry}.html").is_file(), f"no HTML page for {entry}"


def test_manifest_names_existing_files_notebooks_and_parameters(quick_book):
    assert quick_book.returncode == 0, quick_book.output[-4000:]
    manifest = json.loads((quick_book.figures / "manifest.json").read_text())
    assert "F1" in manifest
    for fig_id, entry in manifest.items():
        assert entry["files"], fig_id
        for name in entry["files"]:
            assert (quick_book.figures / name).stat().st_size > 0, name
        assert (ROOT / entry["notebook"]).is_file(), entry["notebook"]
        assert entry["parameters"]["QUICK"] is True, fig_id
        assert isinstance(entry["numbers"], dict)
    assert abs(manifest["F1"]["numbers"]["observed_order"] - 2.0) < 0.01


def test_status_page_and_provenance(quick_book):
    assert quick_book.returncode == 0, quick_book.output[-4000:]
    status = json.loads((quick_book.build / "status.json").read_text())
    assert status["quick"] is True and all(r["ok"] for r in status["notebooks"])
    page = (quick_book.html / "status.html").read_text()
    assert "Git revision" in page and "numpy" in page and "01_model_problem" in page
    nb = nbformat.read(quick_book.build / "book" / "chapters" / "01_model_problem.ipynb", as_version=4)
    prov = nb.metadata["ddlib"]
    assert prov["parameters"] == {"QUICK": True} and prov["ok"] and prov["packages"]["numpy"]
    assert prov["git_revision"]


def test_committed_notebooks_carry_no_outputs():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{path.name} has outputs"
        tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
        assert "parameters" in tags, f"{path.name} has no cell tagged 'parameters'"


def _mini_project(root: Path, failing_source: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/good\n"
                                   "  - file: chapters/bad\n")
    (root / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "intro.md").write_text("# Intro\n")
    (root / "chapters").mkdir(exist_ok=True)
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    for name, body in (("good", "x = 1"), ("bad", failing_source)):
        nb = nbformat.v4.new_notebook(metadata=meta)
        params = nbformat.v4.new_code_cell("QUICK = False")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, nbformat.v4.new_code_cell("y = 2"),
                    nbformat.v4.new_code_cell(body)]
        nbformat.write(nb, root / "chapters" / f"{name}.ipynb")


def test_failing_notebook_fails_the_build_naming_notebook_and_cell(tmp_path):
    project = tmp_path / "project"
    _mini_project(project, "raise RuntimeError('deliberate failure for the test')")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--quick", "--root", str(project)],
                          env={"DDLIB_FIGURES": str(tmp_path / "fig"), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "chapters/bad.ipynb" in out and "deliberate failure" in out
    assert "cell #" in out and "raise RuntimeError" in out  # the failing cell, by index and first line
    # the good notebook's executed copy is kept: no finished work is lost
    assert (project / "_build" / "book" / "chapters" / "good.ipynb").is_file()
