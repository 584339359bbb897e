"""Start ``python -m <module>`` of this package as a worker process.

Not ``multiprocessing``: its spawn and forkserver start methods run the caller's main script again in
every worker, which re-runs a load started from a script without a ``__main__`` guard, and fork copies
a process whose threads (Prefect, DuckDB) may hold locks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


def worker_count() -> int:
    """The cores this process may use (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def module_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def worker_env() -> dict[str, str]:
    """This environment, with the package importable even where it is not installed (a source tree)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
