"""One measured step of the benchmark, run in its own process so that its peak RSS is its own.

    python -m bench.child backfill|daily|raw HOME START END RESULT_JSON
    python -m bench.child generate INBOX START END RESULT_JSON SUBJECTS WORKERS

``backfill``/``daily``: the real Prefect flows (what ``creditwh backfill`` / ``creditwh run`` run);
``raw``: the physical reference, DuckDB reading the same files into tables with no processing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

import credit_warehouse  # noqa: F401 - switches every tool's telemetry off before the flows import


def run_flow(kind: str, home: str, start: dt.date, end: dt.date) -> dict[str, object]:
    from credit_warehouse.pipeline import backfill, daily_load

    summary = backfill(start, end, home) if kind == "backfill" else daily_load(start, home)
    return {"status": summary.status, "totals": summary.totals(), "stage_seconds": summary.stage_seconds,
            "stage_peak_rss": summary.stage_peak_rss}


def generate(inbox: str, start: dt.date, end: dt.date, subjects: int, workers: int) -> dict[str, object]:
    from credit_warehouse.sample_city.api import generate_city

    manifest = generate_city(Path(inbox), start, end, subjects=subjects, workers=workers)
    return {"files": [{"date": f.business_date.isoformat(), "role": f.role, "rows": f.rows} for f in manifest.files]}


def peak_rss() -> int:
    """Bytes: the highest RSS of this process and of the worker processes it waited for. Not the
    ``ru_maxrss`` the bench gets from ``wait4``: Linux starts a child's maximum at its parent's peak when
    it is spawned (the parent's memory is the child's until exec), so a bench process that had grown
    to 4.8 GiB reported 4.8 GiB for a daily load whose own peak was 0.7."""
    status = Path("/proc/self/status")
    own = next((int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmHWM:")),
               None) if status.exists() else None
    if own is None:  # no /proc: the kernel's figure, floor included
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024  # KiB


def main() -> None:
    kind, home, start, end, out = sys.argv[1:6]
    started = time.perf_counter()
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if kind == "generate":
        result = generate(home, first, last, int(sys.argv[6]), int(sys.argv[7]))
    elif kind == "raw":
        from bench.raw_reference import ingest

        result = ingest(Path(home), first, last)
    else:
        result = run_flow(kind, home, first, last)
    result["seconds_in_process"] = time.perf_counter() - started
    result["peak_rss"] = peak_rss()
    Path(out).write_text(json.dumps(result, ensure_ascii=False, default=str))
    if not os.environ.get("PREFECT_API_URL"):
        # Run by hand, without the bench's server: the flow started an ephemeral Prefect server, which
        # only the interpreter's exit handlers stop (os._exit left it running, at ~2% of a core).
        return
    # The step is done and its result written: skip the interpreter's teardown of ~10,000 modules
    # (Prefect, dbt, GX, pandas), ~2.5 s that would otherwise be counted in the step's wall time.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
