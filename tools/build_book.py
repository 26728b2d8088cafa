#!/usr/bin/env python
"""Regenerate every figure and build the book: ``python tools/build_book.py [--quick]`` (what ``make book`` runs).

1. Read ``_toc.yml``; every entry with a notebook in the project is executed by papermill (parameters ``QUICK``)
   into ``_build/book/``, with the project's Markdown pages, ``_config.yml``, ``_toc.yml`` and ``references.bib``
   copied beside them. Each executed notebook gets its provenance (package versions, git revision, date, the
   command line) in its metadata under ``ddlib``.
2. Write the status page ``_build/book/status.md`` from the executed notebooks' papermill metadata.
3. Build the HTML with Jupyter Book 1.x (execution off, warnings as errors) into ``_build/html``.
4. Check that every page of ``_toc.yml`` has its HTML page and every file named in ``figures/manifest.json`` exists.

Any failed notebook is reported with its name and the failing cell, the other notebooks still run (their figures and
executed copies are kept), and the script exits non-zero.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ddlib.provenance import provenance  # noqa: E402


def toc_entries(toc_path: Path) -> list[str]:
    """All ``file:`` / ``root:`` entries of a Jupyter Book ``_toc.yml``, in order, without suffix."""
    import yaml

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


class NotebookFailure(Exception):
    pass


def execute_notebook(src: Path, dst: Path, parameters: dict, env_figures: Path, cache: Path, root: Path = ROOT) -> dict:
    """Execute ``src`` into ``dst`` with papermill; return a status record (never raises for a notebook error)."""
    import nbformat
    import papermill as pm

    dst.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DDLIB_FIGURES"] = str(env_figures)
    os.environ["DDLIB_CACHE"] = str(cache)
    os.environ.setdefault("MPLBACKEND", "Agg")
    t0 = time.perf_counter()
    record = {"notebook": str(src.relative_to(root)), "parameters": parameters, "ok": True, "error": None}
    try:
        pm.execute_notebook(str(src), str(dst), parameters=parameters, cwd=str(src.parent),
                            kernel_name="python3", progress_bar=False, log_output=False)
    except pm.PapermillExecutionError as exc:
        cell = _failing_cell(dst)
        record.update(ok=False, error=f"cell {cell} (execution count {exc.exec_count}): {exc.ename}: {exc.evalue}")
    except Exception as exc:  # kernel died, bad parameters, unreadable notebook
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    record["seconds"] = round(time.perf_counter() - t0, 2)
    if dst.is_file():
        nb = nbformat.read(dst, as_version=4)
        for cell in nb.cells:  # readers see the narrative, not the injected parameter plumbing
            tags = cell.metadata.setdefault("tags", [])
            if "injected-parameters" in tags and "remove-cell" not in tags:
                tags.append("remove-cell")
        nb.metadata["ddlib"] = {**provenance(ROOT), "parameters": parameters, "seconds": record["seconds"],
                                "ok": record["ok"], "error": record["error"]}
        nbformat.write(nb, dst)
    return record


def _failing_cell(dst: Path) -> str:
    """Index and first source line of the cell whose output holds the error, read from the executed copy."""
    try:
        nb = json.loads(dst.read_text())
    except Exception:
        return "?"
    for i, cell in enumerate(nb.get("cells", [])):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = "".join(cell.get("source", "")).strip().splitlines()[:1]
            return f"#{i} ({first[0][:60] if first else ''!r})"
    return "?"


def status_page(records: list[dict], quick: bool, total_seconds: float) -> str:
    prov = provenance(ROOT)
    lines = [
        "# Build status",
        "",
        "This page is written by `make book` from the metadata of the executed notebooks: which notebooks ran, with",
        "which parameters, for how long, and with which software. It is the record of the build you are reading.",
        "",
        f"- **Run**: {'QUICK (small parameters)' if quick else 'full'}",
        f"- **Date**: {prov['date']}",
        f"- **Git revision**: `{prov['git_revision']}`{' (with uncommitted changes)' if prov['git_dirty'] else ''}",
        f"- **Python**: {prov['python']} on {prov['platform']}",
        f"- **Execution of all notebooks**: {total_seconds:.1f} s",
        "",
        "## Notebooks",
        "",
        "| notebook | parameters | seconds | outcome |",
        "|---|---|---:|---|",
    ]
    for r in records:
        params = ", ".join(f"`{k}={v!r}`" for k, v in r["parameters"].items())
        outcome = "ok" if r["ok"] else f"**failed**: {r['error']}".replace("|", "\\|")
        lines.append(f"| `{r['notebook']}` | {params} | {r['seconds']:.1f} | {outcome} |")
    lines += ["", "## Package versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in prov["packages"].items()]
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small parameters (QUICK=True in every notebook)")
    ap.add_argument("--root", type=Path, default=ROOT, help="project folder holding _toc.yml (default: this project)")
    ap.add_argument("--build", type=Path, default=None, help="build folder (default: <root>/_build)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("DDLIB_JOBS", "2")), help="notebooks run at once")
    ap.add_argument("--only", nargs="*", default=None, help="execute only these notebooks (names without suffix)")
    ap.add_argument("--no-html", action="store_true", help="execute notebooks only, skip the HTML build")
    args = ap.parse_args(argv)

    root = args.root.resolve()
    build = (args.build or root / "_build").resolve()
    stage = build / "book"
    figures = Path(os.environ.get("DDLIB_FIGURES") or root / "figures").resolve()
    cache = Path(os.environ.get("DDLIB_CACHE") or build / "cache").resolve()
    figures.mkdir(parents=True, exist_ok=True)
    stage.mkdir(parents=True, exist_ok=True)

    entries = toc_entries(root / "_toc.yml")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        if (root / name).is_file():
            shutil.copy2(root / name, stage / name)
    for sub in ("images",):
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
            print(f"error: _toc.yml lists {e!r} but neither {e}.ipynb nor {e}.md exists", file=sys.stderr)
            return 2
    if args.only is not None:
        notebooks = [e for e in notebooks if e in args.only or Path(e).name in args.only]

    params = {"QUICK": bool(args.quick)}
    t0 = time.perf_counter()
    print(f"executing {len(notebooks)} notebooks ({'QUICK' if args.quick else 'full'}), {args.jobs} at a time", flush=True)

    def run(e):
        rec = execute_notebook(root / f"{e}.ipynb", stage / f"{e}.ipynb", params, figures, cache, root)
        print(f"  {'ok    ' if rec['ok'] else 'FAILED'} {rec['seconds']:7.1f} s  {e}.ipynb"
              + ("" if rec["ok"] else f"\n         {rec['error']}"), flush=True)
        return rec

    if args.jobs > 1:  # notebooks run side by side: one thread each, or they oversubscribe the cores
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "DDLIB_TORCH_THREADS"):
            os.environ.setdefault(var, "1")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        records = list(pool.map(run, notebooks))
    total = time.perf_counter() - t0
    if figures.is_dir():  # chapters show the saved files as ../figures/<name>
        shutil.copytree(figures, stage / "figures", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.lock", "*.tmp"))
    (stage / "status.md").write_text(status_page(records, args.quick, total))
    status = json.dumps({"quick": args.quick, "seconds": total, "jobs": args.jobs, "notebooks": records,
                         "complete": args.only is None}, indent=1)
    (build / "status.json").write_text(status)  # the latest build
    if args.only is None:  # the latest complete build of each kind, for the benchmark suite
        (build / f"status-{'quick' if args.quick else 'full'}.json").write_text(status)
    failed = [r for r in records if not r["ok"]]
    if failed:
        print("\nmake book failed: these notebooks raised an error:", file=sys.stderr)
        for r in failed:
            print(f"  {r['notebook']}: {r['error']}", file=sys.stderr)
        return 1
    if args.no_html:
        return 0

    print("building HTML with Jupyter Book (execution off, warnings as errors)", flush=True)
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(stage), "--path-output", str(build.parent),
           "--warningiserror", "--keep-going", "--quiet"]
    if build.name != "_build":
        cmd[cmd.index("--path-output") + 1] = str(build)
    proc = subprocess.run(cmd, cwd=root)
    html = (build if build.name == "_build" else build / "_build") / "html"
    if proc.returncode != 0:
        print(f"make book failed: jupyter-book exited with {proc.returncode}", file=sys.stderr)
        return proc.returncode
    missing = [e for e in entries if not (html / f"{e}.html").is_file()]
    if missing:
        print(f"make book failed: no HTML page for {missing} in {html}", file=sys.stderr)
        return 1
    manifest_path = figures / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    absent = [f for v in manifest.values() for f in v["files"] if not (figures / f).is_file()]
    if absent:
        print(f"make book failed: figure files named in the manifest are missing: {absent}", file=sys.stderr)
        return 1
    print(f"book built: {html / 'index.html'} ({len(entries)} pages, {len(manifest)} figures in {figures})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
