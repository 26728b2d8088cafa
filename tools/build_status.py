"""Read the book's build records: the latest complete ``make book`` and ``make book QUICK=1``.

``tools/build_book.py`` writes ``_build/status-full.json`` and ``_build/status-quick.json`` after every complete
build; :func:`read_build_status` reads them back for the benchmark suite (``benchmarks/run.py``) and chapter 7. It is
a tool of the build, not of the library, so it lives beside the writer; scripts import it with ``tools/`` on
``sys.path``::

    sys.path.insert(0, str(root / "tools"))
    from build_status import read_build_status
"""
from __future__ import annotations

import json
import os
from pathlib import Path

KINDS = ("quick", "full")


def read_build_status(build: str | os.PathLike = "_build") -> dict:
    """The latest complete book builds, read from ``<build>/status-quick.json`` and ``<build>/status-full.json``.

    Parameters
    ----------
    build : path
        The build folder of the book (``<project>/_build``).

    Returns
    -------
    dict
        ``{"quick": record or None, "full": record or None}``, None where that kind of build was never completed. A
        record has ``seconds`` (notebook execution, wall-clock), ``jobs``, ``ok`` (every notebook succeeded),
        ``notebooks`` (a list of ``{"notebook", "seconds", "ok"}``) and ``path``.

    Raises
    ------
    ValueError
        If a file records the other kind of build than its name says (``quick`` must be true in
        ``status-quick.json`` and false in ``status-full.json``).
    """
    build = Path(build)
    out = {}
    for kind in KINDS:
        path = build / f"status-{kind}.json"
        out[kind] = _read_record(path, quick=kind == "quick") if path.is_file() else None
    return out


def _read_record(path: Path, *, quick: bool) -> dict:
    raw = json.loads(path.read_text())
    if bool(raw.get("quick")) != quick:
        raise ValueError(f"{path} records quick={raw.get('quick')!r}, expected quick={quick}")
    nbs = [{"notebook": r["notebook"], "seconds": float(r["seconds"]), "ok": bool(r["ok"])}
           for r in raw.get("notebooks", [])]
    return {"seconds": float(raw["seconds"]), "jobs": int(raw.get("jobs", 1)), "ok": all(r["ok"] for r in nbs),
            "notebooks": nbs, "path": str(path)}
