"""tools/build_book.py beyond the QUICK book: the staged config and its buttons, --only with -p on a fresh clone,
an interrupted build that publishes nothing, and the stage check that refuses notebooks without provenance."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_book as bb  # noqa: E402

REAL_URL = "https://github.com/ddlib-authors/hierarchical-attention-dd"
BUILD = [sys.executable, str(ROOT / "tools" / "build_book.py")]


# --------------------------------------------------------------------------------------------------------------------
# the staged _config.yml: buttons in both states


def test_placeholder_repository_switches_every_button_off():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert bb.is_placeholder_repository(cfg["repository"]["url"])  # the project's config is still the placeholder
    staged = bb.staged_config(cfg, ROOT)
    assert staged["repository"]["url"] == ""
    assert not any(staged["html"][k] for k in ("use_repository_button", "use_issues_button", "use_edit_page_button"))
    assert staged["launch_buttons"]["binderhub_url"] == staged["launch_buttons"]["colab_url"] == ""
    assert "OWNER" not in yaml.safe_dump(staged)
    assert cfg["repository"]["url"].endswith("/OWNER/hierarchical-attention-dd")  # the input is left as it was


def test_real_repository_keeps_the_buttons():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    cfg["repository"]["url"] = REAL_URL
    staged = bb.staged_config(cfg, ROOT)
    assert staged["repository"]["url"] == REAL_URL
    assert staged["html"]["use_repository_button"] is True
    assert staged["launch_buttons"] == cfg["launch_buttons"]


@pytest.mark.parametrize("url, placeholder", [
    ("", True), (None, True), ("https://github.com/OWNER/x", True), ("https://github.com/OWNER/x/", True),
    ("https://github.com/someone/x", False), ("https://gitlab.com/group/x", False)])
def test_is_placeholder_repository(url, placeholder):
    assert bb.is_placeholder_repository(url) is placeholder


def test_local_extensions_become_absolute_paths():
    staged = bb.staged_config({"sphinx": {"local_extensions": {"book_sphinx": "tools/"}}}, ROOT)
    path = Path(staged["sphinx"]["local_extensions"]["book_sphinx"])
    assert path.is_absolute() and (path / "book_sphinx.py").is_file()


def _button_project(root: Path, url: str) -> None:
    """A one-chapter book with the project's button settings and ``repository.url = url``."""
    (root / "chapters").mkdir(parents=True)
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    cfg["repository"]["url"] = url
    cfg.pop("sphinx")  # no extensions needed here: the buttons are Jupyter Book's
    cfg.pop("bibtex_bibfiles")
    (root / "_config.yml").write_text(yaml.safe_dump(cfg))
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/one\n")
    (root / "intro.md").write_text("# Intro\n\nThe introduction.\n")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell("QUICK = False")
    params.metadata["tags"] = ["parameters", "remove-cell"]
    nb.cells = [nbformat.v4.new_markdown_cell("# One\n\nText."), params, nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, root / "chapters" / "one.ipynb")


@pytest.mark.book
def test_buttons_appear_only_with_a_real_repository(tmp_path):
    """Both states built for real: the placeholder gives no launch or repository link, a real address gives both."""
    pages = {}
    for state, url in (("placeholder", "https://github.com/OWNER/hierarchical-attention-dd"), ("real", REAL_URL)):
        project = tmp_path / state
        _button_project(project, url)
        proc = subprocess.run(BUILD + ["--quick", "--root", str(project), "--jobs", "1"], capture_output=True,
                              text=True, timeout=600, env={**os.environ, "DDLIB_FIGURES": str(tmp_path / "fig")})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        pages[state] = (project / "_build" / "html" / "chapters" / "one.html").read_text()
    assert "OWNER" not in pages["placeholder"]
    assert "colab.research.google.com" not in pages["placeholder"] and "mybinder.org" not in pages["placeholder"]
    assert "colab.research.google.com/github/ddlib-authors/hierarchical-attention-dd" in pages["real"]
    assert "mybinder.org/v2/gh/ddlib-authors/hierarchical-attention-dd" in pages["real"]
    assert f'href="{REAL_URL}"' in pages["real"]  # the repository button


# --------------------------------------------------------------------------------------------------------------------
# --only CHAPTER -p NAME=VALUE


def test_the_stage_publishes_linked_tables_but_not_figure_data(tmp_path):
    figures = tmp_path / "figures"
    (figures / "tables").mkdir(parents=True)
    for name in ("F1_x.png", "F1_x_a.csv", "manifest.lock", ".F1_x.png.1.tmp", "tables/scaling.csv"):
        (figures / name).write_text("x")
    shutil.copytree(figures, tmp_path / "stage", ignore=bb._stage_ignore)
    assert sorted(p.relative_to(tmp_path / "stage").as_posix() for p in (tmp_path / "stage").rglob("*.*")) == [
        "F1_x.png", "tables/scaling.csv"]


def test_parse_parameters_reads_literals_and_falls_back_to_strings():
    assert bb.parse_parameters(["n=511", "LRS=[0.1, 0.3]", "QUICK=True", "label=abc", "x=1e-3", "s='q'"]) == \
        {"n": 511, "LRS": [0.1, 0.3], "QUICK": True, "label": "abc", "x": 1e-3, "s": "q"}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        bb.parse_parameters(["n"])


@pytest.mark.parametrize("name", ["01_model_problem", "01_model_problem.ipynb", "chapters/01_model_problem",
                                  "chapters/01_model_problem.ipynb", "./chapters/01_model_problem.ipynb"])
def test_a_chapter_is_named_with_or_without_suffix_and_folder(name):
    assert bb.resolve_chapter(name, ["chapters/01_model_problem", "chapters/02_schwarz"]) == "chapters/01_model_problem"


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory) -> Path:
    """The project's committed files only (what `git clone` gives): no _build, no figures, no .venv."""
    dst = tmp_path_factory.mktemp("clone") / "project"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for rel in filter(None, files.split("\0")):
        if (ROOT / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dst / rel)
    return dst


def _run(args, cwd, **env):
    return subprocess.run(BUILD + args, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("DDLIB_")}, **env})


@pytest.mark.book
def test_only_runs_one_chapter_with_parameters_on_a_fresh_clone(fresh_clone):
    out = fresh_clone / "_build" / "only" / "01_model_problem"
    book_figures = fresh_clone / "figures"  # as if the book had been built: its F1 must stay as it is
    book_figures.mkdir()
    (book_figures / "F1_model_problem.png").write_bytes(b"the book's own F1")
    proc = _run(["--root", str(fresh_clone), "--only", "01_model_problem.ipynb", "--quick", "-p", "n=127",
                 "-p", "K=4"], fresh_clone)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    nb = nbformat.read(out / "01_model_problem.ipynb", as_version=4)
    assert nb.metadata["ddlib"]["parameters"] == {"QUICK": True, "n": 127, "K": 4} and nb.metadata["ddlib"]["ok"]
    assert bb.notebook_problems(out / "01_model_problem.ipynb") == []  # complete provenance, parameters hidden
    run = json.loads((out / "run.json").read_text())
    assert run["parameters"] == {"QUICK": True, "n": 127, "K": 4} and run["ok"] is True
    assert run["defaults"]["n"] == "255" and run["figures"]["F1"]["parameters"]["n"] == 127
    manifest = json.loads((out / "figures" / "manifest.json").read_text())
    assert manifest["F1"]["parameters"]["n"] == 127
    for name in manifest["F1"]["files"] + manifest["F1"]["data"]:
        assert (out / "figures" / name).stat().st_size > 0
    # the book is untouched: its figures, no stage, no status
    assert [p.name for p in book_figures.iterdir()] == ["F1_model_problem.png"]
    assert (book_figures / "F1_model_problem.png").read_bytes() == b"the book's own F1"
    assert not (fresh_clone / "_build" / "book").exists() and not (fresh_clone / "_build" / "status.json").exists()


def test_only_refuses_an_unknown_chapter_or_parameter(fresh_clone, tmp_path):
    """A typo or a bad parameter runs nothing, exits 2 and lists what is valid."""
    proc = _run(["--root", str(fresh_clone), "--only", "01_modle_problem", "--build", str(tmp_path)], fresh_clone)
    assert proc.returncode == 2
    assert "unknown chapter '01_modle_problem'" in proc.stderr and "01_model_problem, 02_schwarz" in proc.stderr
    proc = _run(["--root", str(fresh_clone), "--only", "chapters/02_schwarz", "-p", "nn=3", "--build",
                 str(tmp_path)], fresh_clone)
    assert proc.returncode == 2
    assert "has no parameter 'nn'" in proc.stderr and "m_fixed (default 32)" in proc.stderr
    assert not (tmp_path / "only").exists()  # nothing ran


def test_parameters_without_only_are_refused():
    proc = subprocess.run(BUILD + ["-p", "n=3"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "-p and --out apply to --only" in proc.stderr


# --------------------------------------------------------------------------------------------------------------------
# an interrupted build publishes nothing


def _two_notebook_project(root: Path) -> None:
    """Notebooks ``fast`` and ``slow``; ``slow`` writes $MARKER when it starts, then sleeps $SLOW_SECONDS."""
    (root / "chapters").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/fast\n"
                                   "  - file: chapters/slow\n")
    (root / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "intro.md").write_text("# Intro\n")
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    bodies = {"fast": "x = 1",
              "slow": "import os, pathlib, time\npathlib.Path(os.environ['MARKER']).write_text('started')\n"
                      "time.sleep(float(os.environ.get('SLOW_SECONDS', '0')))"}
    for name, body in bodies.items():
        nb = nbformat.v4.new_notebook(metadata=meta)
        params = nbformat.v4.new_code_cell("QUICK = False")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, nbformat.v4.new_code_cell(body)]
        nbformat.write(nb, root / "chapters" / f"{name}.ipynb")


def test_an_interrupted_build_publishes_nothing(tmp_path):
    project, marker = tmp_path / "project", tmp_path / "started"
    _two_notebook_project(project)
    env = {**os.environ, "DDLIB_FIGURES": str(tmp_path / "fig"), "MARKER": str(marker)}
    args = BUILD + ["--quick", "--root", str(project), "--jobs", "1", "--no-html"]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    stage, build = project / "_build" / "book" / "chapters", project / "_build"
    first_id = json.loads((build / "status.json").read_text())["build_id"]
    marker.unlink()
    # the second build: Ctrl-C (SIGINT to the process group, as a terminal sends it) while `slow` runs
    proc = subprocess.Popen(args, env={**env, "SLOW_SECONDS": "120"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    t0 = time.monotonic()
    while not marker.is_file():
        assert proc.poll() is None and time.monotonic() - t0 < 120, "the slow notebook never started"
        time.sleep(0.1)
    time.sleep(0.5)  # papermill has written the partial notebook, parameters injected, no provenance
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    assert time.monotonic() - t0 < 60, "the build waited for the interrupted notebook"
    slow = nbformat.read(stage / "slow.ipynb", as_version=4)  # still the first build's complete copy
    assert slow.metadata["ddlib"]["build_id"] == first_id and bb.notebook_problems(stage / "slow.ipynb") == []
    assert not list(stage.glob(".*partial*")), "a partial notebook was left in the stage"
    assert json.loads((build / "status.json").read_text())["build_id"] == first_id  # the status is untouched
    # `fast` finished in the second build: the stage is now mixed, and the PDF refuses to publish it
    assert nbformat.read(stage / "fast.ipynb", as_version=4).metadata["ddlib"]["build_id"] != first_id
    pdf = subprocess.run(BUILD + ["--pdf", "--root", str(project)], capture_output=True, text=True, timeout=60)
    assert pdf.returncode == 1 and "refuses" in pdf.stderr and "fast.ipynb: made by build" in pdf.stderr


def test_a_notebook_without_provenance_is_refused(tmp_path):
    """What a non-atomic, interrupted write would leave: executed cells, parameters injected and visible, no
    provenance. The stage check names it, and make pdf refuses the stage."""
    nb = nbformat.v4.new_notebook()
    injected = nbformat.v4.new_code_cell("QUICK = True")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [injected, nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "chapters" / "one.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    assert bb.notebook_problems(path) == ["no provenance: an interrupted or foreign run"]
    nb.metadata["ddlib"] = {"ok": True, "parameters": {"QUICK": True}, "build_id": "b1"}
    nbformat.write(nb, path)
    problems = bb.notebook_problems(path, "b2")
    assert "provenance lacks 'git_revision'" in problems and "its injected-parameters cell is visible" in problems
    assert any("made by build 'b1'" in p for p in problems)
    assert bb.notebook_problems(tmp_path / "missing.ipynb") == ["not executed"]


@pytest.mark.parametrize("env, args, message", [
    ({"DDLIB_JOBS": "two"}, ["--no-html"], "DDLIB_JOBS must be an integer >= 1; got 'two'"),
    ({}, ["--jobs", "0"], "--jobs: must be an integer >= 1"),
    ({}, ["--scheduler", "localhost", "--no-html"], "scheduler must be an address like 'tcp://host:8786'"),
])
def test_bad_jobs_and_scheduler_are_named(env, args, message):
    proc = subprocess.run(BUILD + args, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]
