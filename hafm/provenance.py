"""Provenance records saved next to every result: code version, machine, packages, inputs."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "torchaudio", "numpy", "scipy", "scikit-learn", "librosa", "soundfile", "soxr", "pyloudnorm",
            "pandas", "musdb", "musicnn", "encodec", "transformers", "hafm-toolkit")


def git_commit(cwd: str | Path | None = None) -> str:
    """The current commit (with ``+dirty`` if the tree has changes), or ``unknown`` outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def provenance(**extra: Any) -> dict[str, Any]:
    """A provenance record; ``extra`` adds configs, seeds, input hashes, wall time..."""
    return {"git_commit": git_commit(Path(__file__).parent), "date": now_utc(), "machine": machine(),
            "packages": package_versions(), **extra}
