#!/usr/bin/env python
"""Regenerate every figure and build the book: ``python tools/build_book.py [--quick]`` (what ``make book`` runs).

The book (``make book``) is built in scratch folders and published all at once, so that what is published is always
one complete build: its HTML, its figures and their manifest, ``status.json`` and the status page.

1. Stage the book in ``_build/book/``: the Markdown pages, ``_toc.yml``, ``references.bib``, ``_static/`` and
   ``_config.yml`` as :func:`staged_config` rewrites it (launch and repository buttons only once ``repository.url``
   names a real repository; the book's Sphinx extension by absolute path).
2. Execute every notebook of ``_toc.yml`` with papermill (parameter ``QUICK``) into the stage, their figures into a
   scratch folder beside ``figures/`` (``.figures.next-<build id>``, starting empty, so its manifest lists exactly
   this build's figures). Each notebook runs into a temporary file, gets its provenance (package versions, git
   revision, date, parameters, duration and the id of this build) in its metadata under ``ddlib`` and its
   injected-parameters cell hidden, and only then replaces the staged copy (``os.replace``).
3. Write the status page into the stage from the provenance of the staged notebooks.
4. Check the stage (:func:`stage_problems`): every notebook executed by this build, successfully, with complete
   provenance and its parameters hidden. Anything else is refused, never published.
5. Build the HTML with Jupyter Book 1.x (execution off, warnings as errors) into a scratch folder; check that every
   page of ``_toc.yml`` has its page and every file named in the new figure manifest exists.
6. Publish (:func:`publish`, with Ctrl-C held until it is done): the new figures folder and HTML are renamed into
   place, then ``_build/status.json`` and ``_build/status-<kind>.json`` are written.

A failed notebook is reported with its name and the failing cell, the other notebooks still run (their executed
copies are kept in the stage), and the script exits non-zero, publishing nothing. Ctrl-C at any step publishes
nothing either: the message names the build that stays published. Only the stage may then mix two builds, which
``--pdf`` refuses. ``--no-html`` runs steps 1-4 only and publishes nothing.

``--pdf`` (``make pdf``): the whole book as one PDF, from the executed notebooks of the published book (nothing is
executed; a stage that fails step 4 against ``_build/status.json`` is refused), with Jupyter Book's LaTeX builder
and xelatex, into ``_build/latex/<name>.pdf`` (``latex.latex_documents.targetname`` of ``_config.yml``), copied
beside the HTML pages.

``--only CHAPTER [-p NAME=VALUE ...]``: one chapter with other parameters, into its own folder
``_build/only/<chapter>/`` (the executed notebook, ``figures/`` with its figures, data and manifest, and
``run.json`` with the parameters and provenance), replaced only when the run has ended. Each value is parsed against
the type of the chapter's default for ``NAME`` and the parameter cell checked before anything runs
(:mod:`notebook_parameters`). The book, its stage and its figures are left untouched.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ddlib.provenance import provenance  # noqa: E402
from ddlib._io import atomic_write, replacing  # noqa: E402
from ddlib._validate import env_folder, env_int  # noqa: E402
from ddlib.sweep import scheduler_address  # noqa: E402
from build_status import read_build_status  # noqa: E402  (tools/, beside this file)

import notebook_parameters as nbp  # noqa: E402  (tools/, beside this script)

#: ``repository.url`` with this owner is the placeholder of an unpublished project: no button may link to it.
PLACEHOLDER_OWNER = "OWNER"
#: Keys every executed notebook's ``metadata.ddlib`` must hold to be published.
PROVENANCE_KEYS = ("date", "git_revision", "python", "packages", "parameters", "seconds", "ok", "build_id")
_INTERRUPTED = threading.Event()


# --------------------------------------------------------------------------------------------------------------------
# the book's files


def toc_entries(toc_path: Path) -> list[str]:
    """All ``file:`` / ``root:`` entries of a Jupyter Book ``_toc.yml``, in order, without suffix."""
    toc = yaml.safe_load(toc_path.read_text())
    out = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                out.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(Path(e).with_suffix("")) if Path(e).suffix in (".md", ".ipynb") else e for e in out]


def is_placeholder_repository(url: str | None) -> bool:
    """True for an empty ``repository.url`` or one whose owner is :data:`PLACEHOLDER_OWNER`."""
    if not url:
        return True
    parts = url.split("://", 1)[-1].strip("/").split("/")
    return len(parts) < 3 or parts[1] == PLACEHOLDER_OWNER


def staged_config(cfg: dict, root: Path) -> dict:
    """The ``_config.yml`` the build uses: ``cfg`` with the launch, repository, issue and edit buttons switched off
    while ``repository.url`` is the placeholder (its url emptied, so nothing can link to it), and the paths of
    ``sphinx.local_extensions`` made absolute (they are relative to ``root``, the stage is elsewhere)."""
    out = copy.deepcopy(cfg)
    if is_placeholder_repository((out.get("repository") or {}).get("url")):
        out.setdefault("repository", {})["url"] = ""
        html = out.setdefault("html", {})
        for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            html[key] = False
        launch = out.setdefault("launch_buttons", {})
        for key in ("binderhub_url", "colab_url", "jupyterhub_url"):
            launch[key] = ""
        launch["thebe"] = False
    sphinx = out.get("sphinx") or {}
    if sphinx.get("local_extensions"):
        sphinx["local_extensions"] = {name: str((root / path).resolve())
                                      for name, path in sphinx["local_extensions"].items()}
    return out


def stage_book(root: Path, stage: Path, entries: list[str]) -> list[str]:
    """Copy the book's files to ``stage`` (the config through :func:`staged_config`); return the notebook entries.

    Raises ``ValueError`` for a ``_toc.yml`` entry with neither a notebook nor a Markdown page.
    """
    stage.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((root / "_config.yml").read_text()) if (root / "_config.yml").is_file() else {}
    (stage / "_config.yml").write_text(yaml.safe_dump(staged_config(cfg or {}, root), sort_keys=False))
    for name in ("_toc.yml", "references.bib"):
        if (root / name).is_file():
            shutil.copy2(root / name, stage / name)
    for sub in ("images", "_static"):
        if (root / sub).is_dir():
            shutil.copytree(root / sub, stage / sub, dirs_exist_ok=True)
    notebooks = []
    for e in entries:
        if (root / f"{e}.ipynb").is_file():
            notebooks.append(e)
        elif (root / f"{e}.md").is_file():
            (stage / e).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / f"{e}.md", stage / f"{e}.md")
        elif e != "status":
            raise ValueError(f"_toc.yml lists {e!r} but neither {e}.ipynb nor {e}.md exists")
    return notebooks


# --------------------------------------------------------------------------------------------------------------------
# executing one notebook


def execute_notebook(src: Path, dst: Path, parameters: dict, env_figures: Path, cache: Path, root: Path = ROOT,
                     build_id: str = "") -> dict:
    """Execute ``src`` into ``dst`` with papermill; return a status record (never raises for a notebook error).

    The notebook runs into a temporary file beside ``dst``, which gets the provenance and replaces ``dst`` only
    when papermill has returned: ``dst`` is the previous complete copy or the new one, never a partial one.
    """
    import papermill as pm

    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(f".{dst.name}.partial.json")
    os.environ["DDLIB_FIGURES"] = str(env_figures)
    os.environ["DDLIB_CACHE"] = str(cache)
    os.environ.setdefault("MPLBACKEND", "Agg")
    t0 = time.perf_counter()
    record = {"notebook": str(src.relative_to(root)), "parameters": parameters, "ok": True, "error": None}
    try:
        pm.execute_notebook(str(src), str(part), parameters=parameters, cwd=str(src.parent),
                            kernel_name="python3", progress_bar=False, log_output=False)
    except pm.PapermillExecutionError as exc:
        cell = _failing_cell(part)
        record.update(ok=False, error=f"cell {cell} (execution count {exc.exec_count}): {exc.ename}: {exc.evalue}")
    except Exception as exc:  # kernel died, bad parameters, unreadable notebook
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    record["seconds"] = round(time.perf_counter() - t0, 2)
    if part.is_file():
        if _INTERRUPTED.is_set():  # the build was interrupted: this run publishes nothing
            part.unlink(missing_ok=True)
            return {**record, "ok": False, "error": "interrupted"}
        _add_provenance(part, record, build_id)
        os.replace(part, dst)
    return record


def _add_provenance(path: Path, record: dict, build_id: str) -> None:
    """Hide the injected-parameters cell and write the provenance into ``metadata.ddlib`` of the notebook file."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # readers see the narrative, not the injected parameter plumbing
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nb.metadata["ddlib"] = {**provenance(ROOT), "parameters": record["parameters"], "seconds": record["seconds"],
                            "ok": record["ok"], "error": record["error"], "build_id": build_id}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat's notes on cell ids of old notebooks
        nbformat.write(nb, path)


def _failing_cell(path: Path) -> str:
    """Index and first source line of the cell whose output holds the error, read from the executed copy."""
    try:
        nb = json.loads(path.read_text())
    except Exception:
        return "?"
    for i, cell in enumerate(nb.get("cells", [])):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = "".join(cell.get("source", "")).strip().splitlines()[:1]
            return f"#{i} ({first[0][:60] if first else ''!r})"
    return "?"


def notebook_problems(path: Path, build_id: str | None = None) -> list[str]:
    """Why the executed notebook ``path`` may not be published (empty: it may): missing, no or incomplete
    provenance (an interrupted or foreign run), a failed run, another build's run, or visible injected parameters."""
    import nbformat

    if not path.is_file():
        return ["not executed"]
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        return [f"unreadable ({type(exc).__name__}: {exc})"]
    prov = nb.metadata.get("ddlib")
    if not isinstance(prov, dict):
        return ["no provenance: an interrupted or foreign run"]
    problems = [f"provenance lacks {k!r}" for k in PROVENANCE_KEYS if k not in prov]
    if prov.get("ok") is not True:
        problems.append(f"its run failed: {prov.get('error')}")
    if build_id is not None and prov.get("build_id") != build_id:
        problems.append(f"made by build {prov.get('build_id')!r}, not by the build being published ({build_id!r})")
    if any("injected-parameters" in c.metadata.get("tags", []) and "remove-cell" not in c.metadata.get("tags", [])
           for c in nb.cells):
        problems.append("its injected-parameters cell is visible")
    return problems


def stage_problems(stage: Path, notebooks: list[str], build_id: str | None) -> list[str]:
    """:func:`notebook_problems` of every staged notebook, each prefixed with its name."""
    return [f"{e}.ipynb: {p}" for e in notebooks for p in notebook_problems(stage / f"{e}.ipynb", build_id)]


# --------------------------------------------------------------------------------------------------------------------
# the status page


def staged_records(stage: Path, notebooks: list[str], build_id: str | None = None,
                   fallback: dict | None = None) -> list[dict]:
    """One record per notebook of the book, read from the provenance of its staged executed copy.

    With ``build_id``, a staged copy made by another build does not count: the record is then ``fallback[entry]``
    (what this build's run reported) or says that the notebook was not executed.
    """
    import nbformat

    records = []
    for e in notebooks:
        path = stage / f"{e}.ipynb"
        prov = nbformat.read(path, as_version=4).metadata.get("ddlib", {}) if path.is_file() else {}
        if build_id is not None and prov.get("build_id") != build_id:
            rec = dict((fallback or {}).get(e) or {"notebook": f"{e}.ipynb", "parameters": {}, "seconds": 0.0})
            rec.update(ok=False, error=rec.get("error") or "not executed by this build", build_id=build_id)
            records.append({**rec, "notebook": f"{e}.ipynb", "run": _run_kind(rec["parameters"])})
            continue
        params = prov.get("parameters", {})
        records.append({"notebook": f"{e}.ipynb", "parameters": params, "run": _run_kind(params),
                        "seconds": float(prov.get("seconds", float("nan"))), "ok": prov.get("ok") is True,
                        "error": prov.get("error") if path.is_file() else "not executed",
                        "build_id": prov.get("build_id")})
    return records


def _run_kind(params: dict) -> str:
    return "QUICK" if params.get("QUICK") else "full"


def status_page(records: list[dict], total_seconds: float, build_id: str) -> str:
    """The status page's Markdown: the run kind of the whole book and of every notebook, parameters, times."""
    prov = provenance(ROOT)
    kinds = sorted({r["run"] for r in records})
    run = ({"QUICK": "QUICK (small parameters)", "full": "full"}[kinds[0]] if len(kinds) == 1 else
           "mixed: " + ", ".join(f"{sum(r['run'] == k for r in records)} {k}" for k in kinds))
    lines = [
        "# Build status",
        "",
        "This page is written by `make book` from the metadata of the executed notebooks: which notebooks ran, with",
        "which parameters, for how long, and with which software. It is the record of the build you are reading.",
        "",
        f"- **Run**: {run}, all {len(records)} notebooks of the book",
        f"- **Build**: `{build_id}`",
        f"- **Date**: {prov['date']}",
        f"- **Git revision**: `{prov['git_revision']}`{' (with uncommitted changes)' if prov['git_dirty'] else ''}",
        f"- **Python**: {prov['python']} on {prov['platform']}",
        f"- **Execution of all notebooks**: {total_seconds:.1f} s",
        "",
        "## Notebooks",
        "",
        "| notebook | run | parameters | seconds | outcome |",
        "|---|---|---|---:|---|",
    ]
    for r in records:
        params = ", ".join(f"`{k}={v!r}`" for k, v in r["parameters"].items())
        outcome = "ok" if r["ok"] else f"**failed**: {r['error']}".replace("|", "\\|")
        lines.append(f"| `{r['notebook']}` | {r['run']} | {params} | {r['seconds']:.1f} | {outcome} |")
    lines += ["", "## Package versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in prov["packages"].items()]
    lines.append("")
    return "\n".join(lines)


def status_record(records: list[dict], total: float, quick: bool, jobs: int, build_id: str) -> dict:
    """The build's record as :func:`publish` writes it to ``status.json`` and ``status-<kind>.json``."""
    return {"build_id": build_id, "quick": quick, "seconds": total, "jobs": jobs, "notebooks": records,
            "complete": True}


# --------------------------------------------------------------------------------------------------------------------
# the whole book


def _stop_children(grace: float = 2.0) -> None:
    """Terminate this process's children (the notebook kernels and their workers), then kill what is left after
    ``grace`` seconds: a kernel that survived Ctrl-C would outlive the build and keep its output pipes open."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


def execute_all(root: Path, stage: Path, notebooks: list[str], params: dict, figures: Path, cache: Path, jobs: int,
                build_id: str, published: str = "") -> dict:
    """Execute every notebook into the stage, ``jobs`` at once, their figures into the build's scratch folder
    ``figures``; return this build's records by entry.

    Ctrl-C (``KeyboardInterrupt``) ends the build at once: nothing of this run is published, the partial files and
    the scratch figures are removed, the kernels are stopped, the message says what stays published (``published``),
    and the process exits with 130 without waiting for the worker threads.
    """
    def run(e):
        rec = execute_notebook(root / f"{e}.ipynb", stage / f"{e}.ipynb", params, figures, cache, root, build_id)
        print(f"  {'ok    ' if rec['ok'] else 'FAILED'} {rec['seconds']:7.1f} s  {e}.ipynb"
              + ("" if rec["ok"] else f"\n         {rec['error']}"), flush=True)
        return rec

    if jobs > 1:  # notebooks run side by side: one thread each, or they oversubscribe the cores
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "DDLIB_TORCH_THREADS"):
            os.environ.setdefault(var, "1")
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        records = list(pool.map(run, notebooks))
    except KeyboardInterrupt:
        _INTERRUPTED.set()
        for part in stage.rglob(".*.partial.json"):
            part.unlink(missing_ok=True)
        print(f"\ninterrupted: nothing of this build was published; {published} (make pdf refuses the stage, "
              "which now mixes two builds, until make book has run to the end)", file=sys.stderr, flush=True)
        _stop_children()
        shutil.rmtree(figures, ignore_errors=True)
        os._exit(130)  # the worker threads are blocked in papermill; waiting for them would wait for the notebooks
    pool.shutdown()
    return dict(zip(notebooks, records))


def longest_first(notebooks: list[str], build: Path, quick: bool) -> list[str]:
    """The order to execute ``notebooks`` in: by their seconds in the latest complete build of this kind
    (``<build>/status-quick.json`` or ``status-full.json``), longest first, so that the notebook started last is a
    short one; notebooks that build did not run come first, in book order; book order without such a build (a
    fresh clone). The book's order of pages is not touched."""
    try:
        record = read_build_status(build)["quick" if quick else "full"]
    except (OSError, ValueError):  # an unreadable record orders nothing
        record = None
    seconds = {r["notebook"].removesuffix(".ipynb"): r["seconds"] for r in (record or {}).get("notebooks", [])}
    return sorted(notebooks, key=lambda e: -seconds.get(e, float("inf")))


def _stage_ignore(folder: str, names: list[str]) -> set[str]:
    """What the stage leaves out of the figures folder: locks, temporary and hidden files, and the figures' data
    (CSV), but not the tables the chapters link for download (``tables/*.csv``, :func:`ddlib.tables.write_csv`)."""
    keep_csv = Path(folder).name == "tables"
    return {n for n in names if n.endswith((".lock", ".tmp")) or n.startswith(".")
            or (n.endswith(".csv") and not keep_csv)}


def build_book(args, root: Path, build: Path, figures: Path, cache: Path) -> int:
    """Steps 1-6 of the module docstring. Ctrl-C at any step publishes nothing and says which book stays published."""
    stage = build / "book"
    entries = toc_entries(root / "_toc.yml")
    try:
        notebooks = stage_book(root, stage, entries)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    build_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    params = {"QUICK": bool(args.quick)}
    html = _build_dir(build) / "html"
    for folder in (figures, html):
        _clear_scratch(folder)
    new_figures, html_out = _scratch(figures, f"next-{build_id}"), _scratch(html, f"next-{build_id}")
    published = published_book(build)
    try:
        new_figures.mkdir(parents=True)
        print(f"executing {len(notebooks)} notebooks ({_run_kind(params)}), {args.jobs} at a time", flush=True)
        t0 = time.perf_counter()
        order = longest_first(notebooks, build, bool(args.quick))
        runs = execute_all(root, stage, order, params, new_figures, cache, args.jobs, build_id, published)
        total = time.perf_counter() - t0
        shutil.rmtree(stage / "figures", ignore_errors=True)  # chapters show the saved files as ../figures/<name>
        shutil.copytree(new_figures, stage / "figures", ignore=_stage_ignore)  # and tables/*.csv
        records = staged_records(stage, notebooks, build_id, runs)
        if "status" in entries:  # the book's status page, where its _toc.yml has one
            atomic_write(stage / "status.md", status_page(records, total, build_id))
        failed = [r for r in records if not r["ok"]]
        if failed:
            print("\nmake book failed: these notebooks raised an error:", file=sys.stderr)
            for r in failed:
                print(f"  {r['notebook']}: {r['error']}", file=sys.stderr)
            print(f"nothing was published; {published}", file=sys.stderr)
            return 1
        problems = stage_problems(stage, notebooks, build_id)
        if problems:
            print("make book refuses to publish:\n  " + "\n  ".join(problems) + f"\n{published}", file=sys.stderr)
            return 1
        if args.no_html:
            print(f"executed and checked build {build_id} in {stage}; --no-html publishes nothing ({published})")
            return 0
        code = build_html(root, stage, html_out, entries, new_figures)
        if code != 0:
            print(f"nothing was published; {published}", file=sys.stderr)
            return code
        publish(build, figures, new_figures, html_out / "_build" / "html",
                status_record(records, total, bool(args.quick), args.jobs, build_id))
        print(f"book built and published: {html / 'index.html'} ({len(entries)} pages), figures in {figures}")
        return 0
    except KeyboardInterrupt:
        print(f"\ninterrupted: nothing of this build was published; {published}", file=sys.stderr, flush=True)
        return 130
    finally:
        for folder in (new_figures, html_out):
            shutil.rmtree(folder, ignore_errors=True)


def _jupyter_book(stage: Path, out: Path, builder: str, root: Path) -> int:
    """Run ``jupyter-book build`` on the stage, warnings as errors; the output lands in ``out/_build/<builder>``."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(stage), "--builder", builder,
           "--path-output", str(out), "--warningiserror", "--keep-going", "--quiet"]
    return subprocess.run(cmd, cwd=root).returncode


def _build_dir(build: Path) -> Path:
    """Where the book's ``html/`` and ``latex/`` are for the build folder ``build``."""
    return build if build.name == "_build" else build / "_build"


def build_html(root: Path, stage: Path, out: Path, entries: list[str], figures: Path) -> int:
    """Build the HTML from the stage into ``out/_build/html`` (a scratch folder, published by :func:`publish`) and
    check that every page and every figure file named in ``figures/manifest.json`` exists."""
    print("building HTML with Jupyter Book (execution off, warnings as errors)", flush=True)
    html = out / "_build" / "html"
    code = _jupyter_book(stage, out, "html", root)
    if code != 0:
        print(f"make book failed: jupyter-book exited with {code}", file=sys.stderr)
        return code
    missing = [e for e in entries if not (html / f"{e}.html").is_file()]
    if missing:
        print(f"make book failed: no HTML page for {missing}", file=sys.stderr)
        return 1
    manifest_path = figures / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    absent = [f for v in manifest.values() for f in v["files"] + v.get("data", []) if not (figures / f).is_file()]
    if absent:
        print(f"make book failed: figure files named in the manifest are missing: {absent}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------------------------------------------------
# publishing: all of a build or nothing


def _scratch(path: Path, tag: str) -> Path:
    """A hidden sibling of ``path`` (same folder, so same filesystem: it can be renamed onto ``path``)."""
    return path.with_name(f".{path.name}.{tag}")


def _clear_scratch(path: Path) -> None:
    """Remove the scratch siblings of ``path`` that a killed build left behind; if ``path`` itself is missing (killed
    between the two renames of :func:`_swap_in`), its previous copy is put back first."""
    olds = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not path.exists():
        os.rename(olds.pop(), path)
    for leftover in [*olds, *path.parent.glob(f".{path.name}.next-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _swap_in(new: Path, dst: Path) -> None:
    """Put the folder ``new`` in the place of ``dst``: ``dst`` is renamed aside, ``new`` renamed onto it, the old
    copy removed. Readers see the old folder or the new one (for an instant between the renames, none)."""
    old = _scratch(dst, f"old-{uuid.uuid4().hex[:8]}")
    if dst.exists():
        os.rename(dst, old)
    os.rename(new, dst)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _signals_deferred():
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block has finished, then act on them as usual (main thread only)."""
    received = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in received:
            os.kill(os.getpid(), sig)


def publish(build: Path, figures: Path, new_figures: Path, new_html: Path, status: dict) -> None:
    """Make a complete build the published book, with Ctrl-C and SIGTERM held until it is done: the figures folder
    and ``html/`` are swapped for the build's (:func:`_swap_in`), then ``status.json`` and ``status-<kind>.json``
    are replaced. Before this nothing of the build is visible, so ``status.json``, the status page, the figures and
    their manifest always describe one build."""
    text = json.dumps(status, indent=1)
    with _signals_deferred():
        _swap_in(new_figures, figures)
        _swap_in(new_html, _build_dir(build) / "html")
        for name in ("status.json", f"status-{'quick' if status['quick'] else 'full'}.json"):
            atomic_write(build / name, text)


def published_book(build: Path) -> str:
    """A sentence saying which book stays published in ``build`` (the build of ``status.json``), for messages."""
    try:
        status = json.loads((build / "status.json").read_text())
    except (OSError, ValueError):
        return f"no complete book has been published in {build} yet"
    kind = "QUICK" if status.get("quick") else "full"
    return (f"the last complete book stays published: build {status.get('build_id')} ({kind}), "
            f"{_build_dir(build) / 'html' / 'index.html'}")


def pdf_name(stage: Path) -> str:
    """The PDF's file name: ``latex.latex_documents.targetname`` of the staged config, ``.tex`` -> ``.pdf``."""
    cfg = yaml.safe_load((stage / "_config.yml").read_text()) or {}
    target = ((cfg.get("latex") or {}).get("latex_documents") or {}).get("targetname", "book.tex")
    return str(Path(target).with_suffix(".pdf"))


def build_pdf(root: Path, build: Path) -> int:
    """The whole book as one PDF from the stage of the latest book build; refuses a stage that is not that build."""
    stage, status_path = build / "book", build / "status.json"
    if not status_path.is_file() or not (stage / "_config.yml").is_file():
        print(f"make pdf: no book has been built in {build}; run make book (or make book QUICK=1) first",
              file=sys.stderr)
        return 2
    status = json.loads(status_path.read_text())
    notebooks = [e for e in toc_entries(stage / "_toc.yml") if e != "status" and not (stage / f"{e}.md").is_file()]
    listed = {r["notebook"] for r in status.get("notebooks", [])}
    problems = [f"{e}.ipynb: not recorded in {status_path}" for e in notebooks if f"{e}.ipynb" not in listed]
    problems += stage_problems(stage, notebooks, status.get("build_id"))
    if problems:
        print("make pdf refuses: the executed notebooks are not those of one complete book build "
              "(run make book again):\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"building the PDF with Jupyter Book's LaTeX builder and xelatex from build {status.get('build_id')}",
          flush=True)
    t0 = time.perf_counter()
    code = _jupyter_book(stage, _build_dir(build).parent, "pdflatex", root)
    pdf = _build_dir(build) / "latex" / pdf_name(stage)
    if code != 0 or not pdf.is_file():
        print(f"make pdf failed: jupyter-book exited with {code}; see {pdf.with_suffix('.log')}", file=sys.stderr)
        return code or 1
    html = _build_dir(build) / "html"
    if html.is_dir():  # the Reproduce page links to it there
        with replacing(html / pdf.name) as tmp:
            shutil.copy2(pdf, tmp)
    print(f"PDF built in {time.perf_counter() - t0:.0f} s: {pdf}")
    return 0


# --------------------------------------------------------------------------------------------------------------------
# one chapter with other parameters


def resolve_chapter(name: str, notebooks: list[str]) -> str:
    """The ``_toc.yml`` entry that ``name`` means: the entry itself or its file name, with or without ``.ipynb``
    (``chapters/01_model_problem.ipynb``, ``01_model_problem``, ...). Raises ``ValueError`` listing the chapters."""
    key = Path(name).as_posix().removesuffix(".ipynb")
    for e in notebooks:
        if key in (e, Path(e).name):
            return e
    raise ValueError(f"unknown chapter {name!r}; the chapters are: " + ", ".join(Path(e).name for e in notebooks))


def chapter_parameters(notebook: Path, items: list[str], quick: bool) -> tuple[dict, dict]:
    """The parameters of one ``--only`` run of ``notebook`` and the notebook's own (papermill's inspection of its
    ``parameters`` cell): ``QUICK`` from ``--quick``, then each ``-p NAME=VALUE`` of ``items`` parsed against the type
    of the notebook's default (:mod:`notebook_parameters`), and the parameter cell papermill will write checked to
    assign exactly these values. Raises ``ValueError`` naming the parameter and the type it expects."""
    import papermill as pm

    known = pm.inspect_notebook(str(notebook))
    params = {"QUICK": quick, **nbp.typed_parameters(known, nbp.split_parameters(items), notebook.name)}
    nbp.check_cell(params)
    return params, known


def run_only(args, root: Path, build: Path, cache: Path) -> int:
    """Execute the chapters of ``--only`` with ``-p`` into ``<out>/<chapter>/``, one after the other.

    Each chapter runs into a scratch folder beside ``<out>/<chapter>/``, which replaces that folder only when the run
    has ended (succeeded or failed, with its ``run.json``); Ctrl-C leaves the previous folder as it was."""
    try:
        notebooks = [e for e in toc_entries(root / "_toc.yml") if (root / f"{e}.ipynb").is_file()]
        chosen = [resolve_chapter(name, notebooks) for name in args.only]
        checked = {e: chapter_parameters(root / f"{e}.ipynb", args.parameter, bool(args.quick)) for e in chosen}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = (args.out or build / "only").resolve()
    build_id = f"only-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    failed = 0
    for e in chosen:
        folder = out / Path(e).name
        _clear_scratch(folder)
        scratch = _scratch(folder, f"next-{build_id}")
        try:
            failed += not run_chapter(root, e, scratch, checked[e], cache, build_id)
            with _signals_deferred():
                _swap_in(scratch, folder)
        except KeyboardInterrupt:
            _stop_children()
            print(f"\ninterrupted: {folder} is left as it was", file=sys.stderr, flush=True)
            return 130
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print(f"  -> {folder}", flush=True)
    return 1 if failed else 0


def run_chapter(root: Path, entry: str, folder: Path, checked: tuple[dict, dict], cache: Path, build_id: str) -> bool:
    """Execute one chapter into ``folder`` (the notebook, ``figures/``, ``run.json``); return whether it succeeded."""
    params, known = checked
    figures = folder / "figures"
    figures.mkdir(parents=True)
    rec = execute_notebook(root / f"{entry}.ipynb", folder / f"{Path(entry).name}.ipynb", params, figures, cache, root,
                           build_id)
    manifest = json.loads((figures / "manifest.json").read_text()) if (figures / "manifest.json").is_file() else {}
    run = {**rec, "defaults": {k: v["default"] for k, v in known.items()}, "build_id": build_id,
           "provenance": provenance(ROOT), "figures": manifest}
    atomic_write(folder / "run.json", json.dumps(run, indent=1))
    print(f"  {'ok    ' if rec['ok'] else 'FAILED'} {rec['seconds']:7.1f} s  {entry}.ipynb"
          + ("" if rec["ok"] else f"\n         {rec['error']}"), flush=True)
    return rec["ok"]


# --------------------------------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


def _jobs_from_environment() -> int:
    """``$DDLIB_JOBS`` (an integer >= 1), else 2; anything else is an error naming the variable."""
    try:
        jobs = env_int("DDLIB_JOBS", low=1)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return 2 if jobs is None else jobs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small parameters (QUICK=True in every notebook)")
    ap.add_argument("--root", type=Path, default=ROOT, help="project folder holding _toc.yml (default: this project)")
    ap.add_argument("--build", type=Path, default=None, help="build folder (default: <root>/_build)")
    ap.add_argument("--jobs", type=_positive_int, default=_jobs_from_environment(),
                    help="notebooks run at once (default: $DDLIB_JOBS, else 2)")
    ap.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="send every training run of the notebooks to this dask.distributed scheduler (sets "
                         "$DDLIB_SCHEDULER; default: local worker processes)")
    ap.add_argument("--no-html", action="store_true", help="execute the notebooks only, skip the HTML build")
    ap.add_argument("--pdf", action="store_true",
                    help="build the PDF from the executed notebooks of the latest book build (executes nothing)")
    ap.add_argument("--only", nargs="+", metavar="CHAPTER", default=None,
                    help="execute only these chapters (01_model_problem, with or without .ipynb or chapters/) into "
                         "<build>/only/<chapter>/, leaving the book untouched")
    ap.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                    help="with --only: set a parameter of the chapter; VALUE must have the type of the parameter's "
                         "default (true/false/1/0, an integer, a number, text, or a list literal like its "
                         "default); repeatable")
    ap.add_argument("--out", type=Path, default=None, help="with --only: output folder (default: <build>/only)")
    args = ap.parse_args(argv)
    if (args.parameter or args.out) and args.only is None:
        ap.error("-p and --out apply to --only CHAPTER runs; the book itself runs with its own parameters")
    if args.pdf and args.only is not None:
        ap.error("--pdf builds the PDF of the book; it does not combine with --only")

    if args.scheduler is not None:
        try:
            os.environ["DDLIB_SCHEDULER"] = scheduler_address(args.scheduler) or ""
        except ValueError as exc:
            ap.error(str(exc))
    root = args.root.resolve()
    build = (args.build or root / "_build").resolve()
    try:
        cache = (env_folder("DDLIB_CACHE") or build / "cache").resolve()
        figures = (env_folder("DDLIB_FIGURES") or root / "figures").resolve()
    except ValueError as exc:
        ap.error(str(exc))
    build.mkdir(parents=True, exist_ok=True)
    if args.pdf:
        return build_pdf(root, build)
    if args.only is not None:
        return run_only(args, root, build, cache)
    figures.mkdir(parents=True, exist_ok=True)
    return build_book(args, root, build, figures, cache)


if __name__ == "__main__":
    sys.exit(main())
