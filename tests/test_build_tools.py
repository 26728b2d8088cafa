"""tools/build_book.py beyond the QUICK book: the staged config and its buttons, --only with -p on a fresh clone,
an interrupted build that publishes nothing, and the stage check that refuses notebooks without provenance."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_book as bb  # noqa: E402
import notebook_parameters as nbp  # noqa: E402

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


INJECTION = """('" + "x"; __import__("os").system("touch pwned"); y = "',)"""
KNOWN = {k: {"default": v} for k, v in {"QUICK": "False", "n": "255", "OMEGA": "0.5", "PARTITION": '"ramp"',
                                        "LRS": "[3e-3, 1e-2]", "SCHEDULES": '["cosine", "constant"]',
                                        "REGIMES": '[["fourier", 16], ["noise", 64]]', "EXPR": "2**8"}.items()}


def test_parameters_are_parsed_against_the_type_of_their_default():
    raw = {"QUICK": "TRUE", "n": "511", "OMEGA": "1", "PARTITION": "flat top", "LRS": "[0.1, 1]",
           "SCHEDULES": "['constant']", "REGIMES": '[["noise", 16]]'}
    assert nbp.typed_parameters(KNOWN, raw, "ch") == {
        "QUICK": True, "n": 511, "OMEGA": 1.0, "PARTITION": "flat top", "LRS": [0.1, 1.0], "SCHEDULES": ["constant"],
        "REGIMES": [["noise", 16]]}
    assert nbp.typed_parameters(KNOWN, {"QUICK": "0", "PARTITION": "3"}, "ch") == {"QUICK": False, "PARTITION": "3"}


def test_the_stage_publishes_linked_tables_but_not_figure_data(tmp_path):
    figures = tmp_path / "figures"
    (figures / "tables").mkdir(parents=True)
    for name in ("F1_x.png", "F1_x_a.csv", "manifest.lock", ".F1_x.png.1.tmp", "tables/scaling.csv"):
        (figures / name).write_text("x")
    shutil.copytree(figures, tmp_path / "stage", ignore=bb._stage_ignore)
    assert sorted(p.relative_to(tmp_path / "stage").as_posix() for p in (tmp_path / "stage").rglob("*.*")) == [
        "F1_x.png", "tables/scaling.csv"]


    with pytest.raises(ValueError, match="NAME=VALUE"):
        nbp.split_parameters(["n"])
    with pytest.raises(ValueError, match="parameter n is given twice"):
        nbp.split_parameters(["n=1", "n=2"])


@pytest.mark.parametrize("name, value, expected", [
    ("QUICK", "maybe", "true or false"), ("QUICK", "2", "true or false"), ("n", INJECTION, "an integer"),
    ("n", "b'255'", "an integer"), ("n", "5.0", "an integer"), ("n", "True", "an integer"), ("n", "1e999", "integer"),
    ("OMEGA", "1e999", "a finite number"), ("OMEGA", "(0.5,)", "a finite number"), ("OMEGA", "0.5j", "finite number"),
    ("LRS", "(0.1, 0.3)", "a non-empty list of numbers"), ("LRS", "[]", "non-empty list"), ("LRS", "{0.1}", "list"),
    ("LRS", "[0.1, '0.3']", "list of numbers"), ("LRS", "[None]", "list of numbers"),
    ("SCHEDULES", "[b'cosine']", "a non-empty list of strings"),
    ("REGIMES", '[["noise", 16, 1]]', "a non-empty list of lists \\[string, integer\\]"),
    ("REGIMES", '[("noise", 16)]', "lists \\[string, integer\\]"),
    ("EXPR", "3", "from the command line: its default 2\\*\\*8 is not"),
    ("nn", "3", "its parameters are: QUICK \\(default False\\), n \\(default 255\\)"),
])
def test_hostile_parameter_values_are_refused_naming_the_parameter_and_the_type(name, value, expected):
    with pytest.raises(nbp.ParameterError, match=rf"(parameter {name} of ch (must be|cannot)|ch has no parameter "
                                                 rf"'{name}').*{expected}"):
        nbp.typed_parameters(KNOWN, {name: value}, "ch")


def test_a_string_parameter_takes_any_text_and_the_cell_assigns_exactly_it(tmp_path, monkeypatch):
    """A string parameter is the text as given, injection attempts included; the cell papermill writes for it is
    one assignment of exactly that string, and running it creates nothing."""
    nasty = [INJECTION, '"; import os; os.system("touch pwned"); "', '\\"; x = 1 #', "a\nimport os", "ä\x00'''\\"]
    monkeypatch.chdir(tmp_path)
    for text in nasty:
        params = nbp.typed_parameters(KNOWN, {"PARTITION": text, "n": "7"}, "ch")
        assert params == {"PARTITION": text, "n": 7}
        namespace = {}
        exec(nbp.check_cell(params), namespace)  # what the kernel would run
        assert namespace["PARTITION"] == text and namespace["n"] == 7
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(nbp.ParameterError, match="would not assign the values given"):
        nbp.check_cell({"n": (1, 2)})  # a value that did not come through typed_parameters


def test_the_module_examples_run():
    import doctest

    assert doctest.testmod(nbp).failed == 0


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


def test_code_injected_through_a_parameter_is_refused_and_nothing_runs(fresh_clone, tmp_path):
    """The value of issue 20 (a tuple whose str() breaks out of papermill's quoting) and ``-p QUICK=maybe``: exit 2,
    an error naming the parameter and its type, no notebook executed, no file created."""
    for item, message in ((f"n={INJECTION}", "parameter n of 01_model_problem.ipynb must be an integer"),
                          ("QUICK=maybe", "parameter QUICK of 01_model_problem.ipynb must be true or false")):
        proc = _run(["--root", str(fresh_clone), "--only", "01_model_problem", "-p", item, "--build", str(tmp_path)],
                    fresh_clone)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "only").exists()  # nothing ran
    assert not list(fresh_clone.rglob("pwned")) and not list(tmp_path.rglob("pwned"))


def test_parameters_without_only_are_refused():
    proc = subprocess.run(BUILD + ["-p", "n=3"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "-p and --out apply to --only" in proc.stderr


# --------------------------------------------------------------------------------------------------------------------
# an interrupted build publishes nothing: Ctrl-C anywhere leaves the last complete book published


def _two_notebook_project(root: Path) -> None:
    """Notebooks ``fast`` and ``slow``. ``fast`` saves figure F1 (its height and the manifest's number ``level``
    are $LEVEL); ``slow`` writes $MARKER when it starts, then sleeps $SLOW_SECONDS."""
    (root / "chapters").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/fast\n"
                                   "  - file: chapters/slow\n  - file: status\n")
    (root / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "intro.md").write_text("# Intro\n")
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    bodies = {"fast": "import os\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                      "from ddlib.figures import FigureRecorder\nlevel = float(os.environ.get('LEVEL', '1'))\n"
                      "fig, ax = plt.subplots()\nax.plot([0, 1], [0, level])\n"
                      "FigureRecorder('chapters/fast.ipynb', {'QUICK': QUICK}).save(fig, 'F1', 'line', "
                      "numbers={'level': level})",
              "slow": "import os, pathlib, time\npathlib.Path(os.environ['MARKER']).write_text('started')\n"
                      "time.sleep(float(os.environ.get('SLOW_SECONDS', '0')))"}
    for name, body in bodies.items():
        nb = nbformat.v4.new_notebook(metadata=meta)
        params = nbformat.v4.new_code_cell("QUICK = False")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, nbformat.v4.new_code_cell(body)]
        nbformat.write(nb, root / "chapters" / f"{name}.ipynb")


@pytest.fixture(scope="module")
def published_project(tmp_path_factory) -> Path:
    """The two-notebook project after one complete QUICK build (LEVEL=1): HTML, figures and status published."""
    project = tmp_path_factory.mktemp("published") / "project"
    _two_notebook_project(project)
    proc = _run(["--quick", "--root", str(project), "--jobs", "1"], project, MARKER=str(project / "started"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


def _published(project: Path) -> dict:
    """What a reader of the published book sees: the status record, the status page, the figures' bytes."""
    build = project / "_build"
    return {"status": (build / "status.json").read_text(), "status-quick": (build / "status-quick.json").read_text(),
            "page": (build / "html" / "status.html").read_text(),
            "figures": {p.name: p.read_bytes() for p in (project / "figures").iterdir()}}


def test_a_complete_build_publishes_status_page_and_figures_of_one_build(published_project):
    build_id = json.loads((published_project / "_build" / "status.json").read_text())["build_id"]
    seen = _published(published_project)
    assert build_id in seen["page"] and seen["status"] == seen["status-quick"]
    manifest = json.loads(seen["figures"]["manifest.json"])
    assert manifest["F1"]["numbers"] == {"level": 1.0} and manifest["F1"]["parameters"] == {"QUICK": True}
    assert {"F1_line.png", "F1_line.pdf", "F1_line_a.csv"} <= set(seen["figures"])
    assert not [p for p in published_project.rglob(".*") if ".next-" in p.name or ".old-" in p.name]


def _interrupt(project: Path, args: list[str], when, **env) -> subprocess.CompletedProcess:
    """Run the build with ``args`` and send Ctrl-C (SIGINT to its process group, as a terminal does) once
    ``when(stdout_so_far)`` is true; return the finished process with its output."""
    proc = subprocess.Popen(BUILD + args, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            env={**{k: v for k, v in os.environ.items() if not k.startswith("DDLIB_")}, **env})
    out, err = [], []
    readers = [threading.Thread(target=lambda s=s, b=b: b.extend(iter(s.readline, ""))) for s, b in
               ((proc.stdout, out), (proc.stderr, err))]
    for r in readers:
        r.start()
    t0 = time.monotonic()
    while not when("".join(out)):
        assert proc.poll() is None, "".join(out)[-2000:] + "".join(err)[-2000:]
        assert time.monotonic() - t0 < 300, "the build never reached the point to interrupt"
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=120)
    for r in readers:
        r.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(out), "".join(err))


def test_an_interrupted_full_build_after_a_quick_one_publishes_nothing(published_project, tmp_path):
    """Ctrl-C while `slow` runs in a full build after the QUICK one, `fast` having saved its full-size F1 already:
    the manifest is not cut down, no figure is half-written or replaced, the status and the HTML stay the QUICK
    build's; only the stage mixes the builds, and make pdf refuses it."""
    project = tmp_path / "project"
    shutil.copytree(published_project, project, symlinks=True)
    before = _published(project)
    first_id = json.loads(before["status"])["build_id"]
    marker = tmp_path / "started"
    proc = _interrupt(project, ["--root", str(project), "--jobs", "1"], lambda out: marker.is_file(),
                      MARKER=str(marker), SLOW_SECONDS="120", LEVEL="2")
    assert proc.returncode == 130, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (f"interrupted: nothing of this build was published; the last complete book stays published: build "
            f"{first_id} (QUICK)") in proc.stderr
    assert _published(project) == before  # status, status page, every figure file and the manifest, byte for byte
    assert not [p for p in project.rglob(".*") if ".next-" in p.name or ".old-" in p.name or "partial" in p.name]
    stage = project / "_build" / "book" / "chapters"
    slow = nbformat.read(stage / "slow.ipynb", as_version=4)  # still the first build's complete copy
    assert slow.metadata["ddlib"]["build_id"] == first_id and bb.notebook_problems(stage / "slow.ipynb") == []
    assert nbformat.read(stage / "fast.ipynb", as_version=4).metadata["ddlib"]["build_id"] != first_id
    pdf = subprocess.run(BUILD + ["--pdf", "--root", str(project)], capture_output=True, text=True, timeout=60)
    assert pdf.returncode == 1 and "refuses" in pdf.stderr and "fast.ipynb: made by build" in pdf.stderr


def test_ctrl_c_in_the_html_phase_publishes_nothing_and_the_next_build_publishes_all(published_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(published_project, project, symlinks=True)
    before = _published(project)
    first_id = json.loads(before["status"])["build_id"]
    args = ["--quick", "--root", str(project), "--jobs", "1"]
    env = {"MARKER": str(tmp_path / "started"), "LEVEL": "3"}
    proc = _interrupt(project, args, lambda out: "building HTML" in out, **env)
    assert proc.returncode == 130, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"nothing of this build was published; the last complete book stays published: build {first_id}" in \
        proc.stderr
    assert _published(project) == before
    assert (project / "_build" / "html" / "index.html").is_file()
    assert not [p for p in project.rglob(".*") if ".next-" in p.name or ".old-" in p.name]
    # the next build runs to the end: status.json, the status page and the figures are all of that build
    done = _run(args, project, **env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    after = _published(project)
    new_id = json.loads(after["status"])["build_id"]
    assert new_id != first_id and new_id in after["page"] and first_id not in after["page"]
    assert json.loads(after["figures"]["manifest.json"])["F1"]["numbers"] == {"level": 3.0}


def test_a_failed_build_publishes_nothing(published_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(published_project, project, symlinks=True)
    before = _published(project)
    proc = _run(["--quick", "--root", str(project), "--jobs", "1"], project, LEVEL="4")  # MARKER unset: slow fails
    assert proc.returncode == 1 and "chapters/slow.ipynb" in proc.stderr and "KeyError" in proc.stderr
    assert "nothing was published; the last complete book stays published" in proc.stderr
    assert _published(project) == before


def test_ctrl_c_in_an_only_run_leaves_its_previous_folder(published_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(published_project, project, symlinks=True)
    marker = tmp_path / "started"
    args = ["--root", str(project), "--only", "slow", "-p", "QUICK=1"]
    first = _run(args, project, MARKER=str(marker))
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    folder = project / "_build" / "only" / "slow"
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    marker.unlink()
    proc = _interrupt(project, args, lambda out: marker.is_file(), MARKER=str(marker), SLOW_SECONDS="120")
    assert proc.returncode == 130 and f"interrupted: {folder} is left as it was" in proc.stderr, proc.stderr[-2000:]
    assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert not [p for p in folder.parent.iterdir() if p.name != "slow"]  # no scratch folder left


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
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]


def test_notebooks_run_longest_first_after_a_recorded_build(tmp_path):
    """The order of execution (not of the book): by the seconds of the latest complete build of the same kind,
    longest first, notebooks it did not run first; book order on a fresh clone or for the other kind."""
    book = ["chapters/a", "chapters/b", "chapters/c", "chapters/d"]
    assert bb.longest_first(book, tmp_path, quick=False) == book                 # nothing recorded yet
    recs = [{"notebook": f"{e}.ipynb", "seconds": s, "ok": True} for e, s in zip(book[:3], (5.0, 50.0, 20.0))]
    (tmp_path / "status-full.json").write_text(json.dumps(bb.status_record(recs, 75.0, False, 2, "x")))
    assert bb.longest_first(book, tmp_path, quick=False) == ["chapters/d", "chapters/b", "chapters/c", "chapters/a"]
    assert bb.longest_first(book, tmp_path, quick=True) == book                  # a QUICK build has no record
    (tmp_path / "status-quick.json").write_text("{not json")
    assert bb.longest_first(book, tmp_path, quick=True) == book                  # an unreadable record orders nothing
