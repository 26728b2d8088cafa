"""The reader-facing project files agree with each other: the conda route (environment.yml) pins what the pip route
(constraints.txt) pins, covers every dependency of pyproject.toml, and the citation, licence and book settings are
complete. Fast: files only."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch", "dask-core": "dask"}  # conda-forge names that differ from PyPI's


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def _environment() -> tuple[dict[str, str], dict]:
    """environment.yml's pins as {pip name: version} (conda and pip sections), and the parsed file."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        specs = dep["pip"] if isinstance(dep, dict) else [dep]
        for spec in specs:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(?:==?\s*([^=\s]+))?(?:=(\S+))?", spec.split("#")[0].strip())
            assert m, f"environment.yml: cannot read {spec!r}"
            name = CONDA_TO_PIP.get(m.group(1), m.group(1))
            pins[_norm(name)] = m.group(2)
    return pins, env


def _pyproject_requirements() -> list[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in ("book", "test", "dev"):
        reqs += meta.get("optional-dependencies", {}).get(extra, [])
    return [_norm(re.match(r"[A-Za-z0-9_.\-]+", r).group(0)) for r in reqs]


def test_environment_pins_equal_the_pip_constraints():
    pins, env = _environment()
    constraints = _constraints()
    assert "conda-forge" in env["channels"] and env["channels"][0] == "conda-forge"
    assert pins.pop("python") == "3.11"
    pins.pop("pip")
    for name, version in pins.items():
        assert version, f"environment.yml leaves {name} unpinned"
        assert name in constraints, f"environment.yml pins {name}, constraints.txt does not"
        assert version == constraints[name], f"{name}: environment.yml {version}, constraints.txt {constraints[name]}"


def test_environment_covers_every_dependency_of_pyproject():
    pins, _ = _environment()
    missing = [r for r in _pyproject_requirements() if r not in pins]
    assert not missing, f"pyproject.toml requires {missing}, environment.yml lacks them"


def test_pytorch_is_the_cpu_build():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*pytorch==\S+=cpu_\*\s*$", text, re.M)


def test_citation_file_is_complete():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors", "license", "preferred-citation"):
        assert cff.get(key), key
    paper = cff["preferred-citation"]
    assert {a["family-names"] for a in paper["authors"]} == {"Köhler", "Rheinbach"}
    assert "2606.18525" in paper["url"]


def test_licence_names_mit_for_code_and_cc_by_for_text():
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "Permission is hereby granted" in text
    assert "CC BY 4.0" in text and "creativecommons.org/licenses/by/4.0" in text


def test_book_settings_for_readers():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["html"]["use_download_button"] is True
    assert cfg["launch_buttons"]["binderhub_url"] and cfg["launch_buttons"]["colab_url"]
    assert re.fullmatch(r"https://github\.com/[^/]+/[^/]+", cfg["repository"]["url"])
    sphinx = cfg["sphinx"]["config"]
    assert sphinx["numfig"] is True and sphinx["math_numfig"] is True
    assert "sphinx-mathjax-offline" in cfg["sphinx"]["extra_extensions"]
    assert cfg["bibtex_bibfiles"] == ["references.bib"]
    toc = (ROOT / "_toc.yml").read_text()
    assert toc.index("file: reproduce") < toc.index("file: status")


def test_the_reproduce_page_says_where_the_install_cell_comes_from():
    """The page describes the Colab install cell by its source (tools/py2nb.py, which writes repository.url of
    _config.yml into it: checked on every notebook below) instead of printing Python into the PDF."""
    page = (ROOT / "reproduce.md").read_text()
    assert "`tools/py2nb.py`" in page and "`install_cell`" in page and "`repository.url`" in page


@pytest.mark.parametrize("path", ["postBuild"])
def test_binder_installs_ddlib(path):
    p = ROOT / path
    assert p.stat().st_mode & 0o111, f"{path} must be executable"
    assert "pip install --no-deps -e ." in p.read_text()


def test_every_notebook_is_what_py2nb_makes_of_its_script():
    """The committed notebooks (the sources papermill runs) and their percent scripts in chapters/src agree cell by
    cell, the install cell included: regenerate with `python tools/py2nb.py --all` after editing a script."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("py2nb", ROOT / "tools" / "py2nb.py")
    py2nb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(py2nb)
    scripts = sorted((ROOT / "chapters" / "src").glob("*.py"))
    assert [p.stem for p in scripts] == sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
    for script in scripts:
        made = py2nb.convert(script)
        committed = nbformat.read(ROOT / "chapters" / f"{script.stem}.ipynb", as_version=4)
        assert [(c.cell_type, c.source, c.metadata.get("tags", []), c.id) for c in made.cells] == \
            [(c.cell_type, c.source, c.metadata.get("tags", []), c.id) for c in committed.cells], script.name
        assert all(not c.get("outputs") for c in committed.cells), f"{script.name}: committed with outputs"


def test_every_chapter_carries_the_colab_install_cell():
    """Launching a chapter on Colab works once repository.url is real: each notebook installs ddlib itself."""
    import nbformat

    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        code = [c for c in cells if c.cell_type == "code"]
        install = [i for i, c in enumerate(code) if 'find_spec("ddlib") is None' in c.source]
        first_import = next(i for i, c in enumerate(code) if "from ddlib" in c.source or "import ddlib" in c.source)
        assert install and install[0] < first_import, f"{path.name}: no install cell before the first ddlib import"
        cell = code[install[0]]
        assert f'REPO = "{url}"' in cell.source and "remove-cell" in cell.metadata.get("tags", []), path.name


def test_ci_installs_the_debian_packages_the_readme_lists():
    """make pdf's TeX packages, as the README lists them for readers, are what .ci/run installs (with the browser)."""
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"^apt-get install (.+)$", readme, re.M)
    assert line, "the README lists no apt-get install line for make pdf"
    listed = set(line.group(1).split())
    assert {"texlive-xetex", "latexmk", "poppler-utils"} <= listed
    ci = (ROOT / ".ci" / "run").read_text()
    installed = set(re.search(r'PACKAGES="([^"]+)"', ci).group(1).split())
    assert listed <= installed, f".ci/run does not install {sorted(listed - installed)}"
    assert {"chromium", "chromium-driver"} <= installed
    assert "DDLIB_REQUIRE_TEX=1" in ci and "DDLIB_REQUIRE_BROWSER=1" in ci


def test_papermill_reads_every_parameter_of_every_chapter():
    """Papermill cannot parse a help comment holding ':' or '='; such a parameter would be missing from --only's list
    of valid parameters (and from papermill's help)."""
    import papermill as pm
    import nbformat

    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = [line.split("=")[0].strip() for line in cell.source.splitlines()
                 if line.strip() and not line.lstrip().startswith("#") and "=" in line.split("#")[0]]
        found = pm.inspect_notebook(str(path))
        assert sorted(found) == sorted(names), (path.name, sorted(set(names) ^ set(found)))
        assert all(found[k]["help"] for k in found), (path.name, [k for k in found if not found[k]["help"]])
