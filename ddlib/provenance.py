"""What made a result: package versions, the git revision, the date, the machine."""
from __future__ import annotations

import datetime as dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["provenance", "PACKAGES"]

#: Packages whose versions are recorded with every executed notebook.
PACKAGES = ("ddlib", "numpy", "scipy", "torch", "matplotlib", "papermill", "jupyter-book", "myst-nb", "sphinx")


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def provenance(root: str | Path = ".") -> dict:
    """A JSON-ready record: ``date`` (UTC, ISO), ``git_revision``, ``git_dirty``, ``python``, ``platform``, ``packages``."""
    root = Path(root)
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "git_revision": _git(root, "rev-parse", "HEAD") or "unknown (not a git checkout)",
        "git_dirty": bool(_git(root, "status", "--porcelain", "--untracked-files=no")),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }
