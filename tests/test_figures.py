"""The figure files and the manifest."""
import json
from concurrent.futures import ThreadPoolExecutor

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ddlib.figures import FigureRecorder, read_manifest, save_figure, to_jsonable  # noqa: E402


@pytest.fixture
def figdir(tmp_path, monkeypatch):
    monkeypatch.setenv("DDLIB_FIGURES", str(tmp_path))
    return tmp_path


def test_save_figure_writes_files_and_manifest(figdir):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    rec = FigureRecorder("chapters/x.ipynb", {"QUICK": True, "n": np.int64(7)})
    files = rec.save(fig, "F9", "line", numbers={"slope": np.float64(1.0), "rows": [{"a": np.int32(1)}]})
    assert files == ["F9_line.png", "F9_line.pdf"]
    m = json.loads((figdir / "manifest.json").read_text())
    assert m["F9"] == {"files": ["F9_line.pdf", "F9_line.png"], "data": ["F9_line_a.csv"], "notebook": "chapters/x.ipynb",
                       "parameters": {"QUICK": True, "n": 7}, "numbers": {"slope": 1.0, "rows": [{"a": 1}]}}
    assert (figdir / "F9_line_a.csv").read_text().count("\n") == 3  # header and the two points
    assert (figdir / "F9_line.png").stat().st_size > 1000


def test_two_notebooks_cannot_claim_one_figure(figdir, tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    for name in ("one.ipynb", "two.ipynb"):
        (tmp_path / name).write_text("{}")
    monkeypatch.chdir(tmp_path)
    fig = plt.figure()
    save_figure(fig, "F2", "a", notebook="one.ipynb", parameters={})
    with pytest.raises(ValueError, match="already recorded by one.ipynb"):
        save_figure(fig, "F2", "b", notebook="two.ipynb", parameters={})


def test_concurrent_saves_keep_every_entry(figdir):
    def work(k):
        fig = plt.figure()
        save_figure(fig, f"F{k}", "p", notebook=f"nb{k}.ipynb", parameters={"k": k}, formats=("png",))
        plt.close(fig)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(1, 9)))
    assert sorted(read_manifest(figdir)) == sorted(f"F{k}" for k in range(1, 9))


def test_to_jsonable_handles_nonfinite():
    assert to_jsonable({"a": np.array([1.0, np.nan, np.inf])}) == {"a": [1.0, None, "inf"]}


def test_manifest_and_figure_files_follow_the_umask(figdir):
    import os

    import matplotlib.pyplot as plt

    old = os.umask(0o022)
    try:
        fig = plt.figure()
        plt.plot([0, 1], [1, 2])
        save_figure(fig, "F1", "umask", notebook="chapters/x.ipynb", parameters={"QUICK": True})
        plt.close(fig)
    finally:
        os.umask(old)
    assert (figdir / "manifest.json").stat().st_mode & 0o777 == 0o644


def test_a_figure_of_a_renamed_notebook_is_replaced_not_refused(figdir, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "07_new.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    fig = plt.figure()
    save_figure(fig, "F1", "x", notebook="chapters/06_old.ipynb", parameters={"QUICK": True})
    save_figure(fig, "F1", "x", notebook="chapters/07_new.ipynb", parameters={"QUICK": True})  # 06_old is gone
    assert read_manifest(figdir)["F1"]["notebook"] == "chapters/07_new.ipynb"
    (tmp_path / "chapters" / "08_other.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="already recorded by chapters/07_new.ipynb"):
        save_figure(fig, "F1", "x", notebook="chapters/08_other.ipynb", parameters={"QUICK": True})
    plt.close(fig)


def test_an_interrupted_save_leaves_the_previous_files_whole(figdir, monkeypatch):
    """Ctrl-C while the PDF is half-written (PNG already replaced): the PDF and the manifest stay the previous
    complete ones, and no temporary file is left."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    save_figure(fig, "F9", "line", notebook="chapters/x.ipynb", parameters={"n": 1})
    before = {p.name: p.read_bytes() for p in figdir.iterdir() if p.suffix in (".pdf", ".json")}
    savefig = fig.savefig

    def interrupted(path, **kwargs):
        if kwargs.get("format") == "pdf":
            with open(path, "wb") as fh:
                fh.write(b"%PDF-1.4 half")
            raise KeyboardInterrupt
        savefig(path, **kwargs)
    monkeypatch.setattr(fig, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, "F9", "line", notebook="chapters/x.ipynb", parameters={"n": 2})
    assert {p.name: p.read_bytes() for p in figdir.iterdir() if p.suffix in (".pdf", ".json")} == before
    assert not [p.name for p in figdir.iterdir() if p.name.startswith(".")]
