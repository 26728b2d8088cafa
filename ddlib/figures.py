"""Saving figures as files and recording them in ``figures/manifest.json``.

Every figure of the book is written by :func:`save_figure`, which stores the image (PNG and PDF) under the figures
folder, beside it the plotted data as tidy CSV, one file per panel (:mod:`ddlib.figure_data`), and records, under the
figure id (``"F1"``, ``"F2"``, ...), the files, which notebook and which parameters made it and the numbers the text
quotes::

    {"F1": {"files": ["F1_model_problem.png", ...], "data": ["F1_model_problem_a.csv", ...],
            "notebook": "chapters/01_model_problem.ipynb", "parameters": {"QUICK": true, ...},
            "numbers": {"observed_order": 2.0, ...}}}

Every file (image, CSV, manifest) is written under a temporary name and renamed into place, so an interrupted run
never leaves half of one; the manifest is updated under a file lock, so notebooks may run concurrently.
The figures folder is ``$DDLIB_FIGURES`` if set, else ``figures/`` in the project root (the folder holding
``_toc.yml``, searched upwards from the working directory).
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ._io import atomic_write, replacing
from ._validate import env_folder
from .figure_data import write_figure_data

__all__ = ["project_root", "figures_dir", "save_figure", "read_manifest", "to_jsonable", "glue_numbers", "FigureRecorder"]


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) that holds ``_toc.yml``."""
    p = Path(start or os.getcwd()).resolve()
    for q in (p, *p.parents):
        if (q / "_toc.yml").is_file():
            return q
    raise FileNotFoundError(f"no _toc.yml found at or above {p}; set DDLIB_FIGURES to choose the figures folder")


def figures_dir() -> Path:
    """The folder figures are written to (created if missing)."""
    d = env_folder("DDLIB_FIGURES") or project_root() / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d


def to_jsonable(obj):
    """Convert NumPy scalars and arrays (nested in dicts, lists, tuples) to plain Python for JSON."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


@contextmanager
def _locked(path: Path):
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_manifest(directory: str | os.PathLike | None = None) -> dict:
    """The manifest as a dict (empty if none was written yet)."""
    path = Path(directory or figures_dir()) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def save_figure(fig, fig_id: str, name: str, *, notebook: str, parameters: dict, numbers: dict | None = None,
                formats=("png", "pdf"), dpi: int = 150) -> list[str]:
    """Write ``fig`` as ``<fig_id>_<name>.<fmt>`` and its data as ``<fig_id>_<name>_<panel>.csv``, and record them in
    the manifest (``files`` and ``data``); returns the image file names.

    Several calls with the same ``fig_id`` (panels saved separately) accumulate their files and merge their numbers.
    A figure id already recorded by *another* existing notebook is an error (two notebooks must not claim one
    figure); an entry of a notebook that no longer exists (a renamed chapter) is replaced.
    """
    if not fig_id or not fig_id[0].isalpha():
        raise ValueError(f"fig_id must look like 'F1'; got {fig_id!r}")
    d = figures_dir()
    files = []
    for fmt in formats:  # each file written under a temporary name and renamed: never a half-written image
        fname = f"{fig_id}_{name}.{fmt}"
        with replacing(d / fname) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight",
                        metadata=None if fmt == "png" else {"CreationDate": None})
        files.append(fname)
    data = write_figure_data(fig, d, f"{fig_id}_{name}")
    path = d / "manifest.json"
    with _locked(path):
        manifest = read_manifest(d)
        entry = manifest.get(fig_id)
        if entry and entry.get("notebook") != notebook and not _notebook_exists(entry.get("notebook")):
            entry = None  # recorded by a notebook that no longer exists (a renamed chapter): replace the entry
        if entry and entry.get("notebook") != notebook:
            raise ValueError(f"figure {fig_id} is already recorded by {entry.get('notebook')}, not {notebook}")
        if not entry or entry.get("parameters") != to_jsonable(parameters):
            entry = {"files": [], "data": [], "notebook": notebook, "parameters": to_jsonable(parameters),
                     "numbers": {}}
        entry["files"] = sorted(set(entry["files"]) | set(files))
        entry["data"] = sorted(set(entry.get("data", [])) | set(data))
        entry["numbers"].update(to_jsonable(numbers or {}))
        manifest[fig_id] = entry
        atomic_write(path, json.dumps(manifest, indent=1, sort_keys=True))
    return files


def _notebook_exists(notebook) -> bool:
    """Whether a manifest's ``notebook`` (a path relative to the project root) still exists."""
    try:
        return bool(notebook) and (project_root() / notebook).is_file()
    except FileNotFoundError:  # no project root (figures written outside a checkout): keep the strict check
        return True


def glue_numbers(numbers: dict, prefix: str = "") -> None:
    """``myst_nb.glue`` each entry of ``numbers`` (plain floats, ints or strings) without displaying it."""
    from myst_nb import glue  # import here: optional dependency (the book extra), needed only inside a notebook

    for key, value in numbers.items():
        value = to_jsonable(value)
        if isinstance(value, (int, float, str)):
            glue(prefix + key, value, display=False)


class FigureRecorder:
    """Binds a notebook name and its parameters, so a notebook saves each figure with one short call.

    >>> rec = FigureRecorder("chapters/01_model_problem.ipynb", {"QUICK": True})   # doctest: +SKIP
    >>> rec.save(fig, "F1", "model_problem", numbers={"order": 2.0})                 # doctest: +SKIP
    """

    def __init__(self, notebook: str, parameters: dict):
        self.notebook = notebook
        self.parameters = dict(parameters)

    def save(self, fig, fig_id: str, name: str, numbers: dict | None = None, glue: bool = False) -> list[str]:
        """Save ``fig`` (see :func:`save_figure`) and, with ``glue=True``, glue each number for the text."""
        files = save_figure(fig, fig_id, name, notebook=self.notebook, parameters=self.parameters, numbers=numbers)
        if glue and numbers:
            glue_numbers(numbers)
        return files
