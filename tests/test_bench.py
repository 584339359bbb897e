"""``python -m bench --small``: the city-scale benchmark's every step on a tiny city (~2 minutes).

Checks the table's shape, not its timings (figures on a shared machine are noise for a test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
METRICS = ("input", "raw DuckDB ingest (reference)", "backfill of the range", "backfill stages (s)",
           "daily load, day 1", "daily load, day 365", "daily load stages", "peak RSS",
           "stage peak RSS",
           "validation share of the backfill", "GX suite, pandas vs SQL", "credit-file lookup by code",
           "a subject's current records by code", "warehouse vs input size")
TARGETED = ("backfill of the range", "daily load, day 365", "peak RSS", "validation share", "credit-file lookup")


def test_small_benchmark_prints_and_writes_the_full_table(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-m", "bench", "--small", "--work-dir", str(tmp_path / "work"),
                           "--out", str(report)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "city-scale benchmark" in done.stdout

    text = report.read_text()
    assert "Command: `python -m bench --small" in text and "cores" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| metric")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert all(len(c) == 4 for c in cells), rows
    assert [c[0] for c in cells] == [next(c[0] for c in cells if c[0].startswith(m)) for m in METRICS]
    for metric in TARGETED:
        target, verdict = next(c[2:] for c in cells if c[0].startswith(metric))
        assert target and verdict.split()[-1] in ("met", "missed"), (metric, target, verdict)
    backfill_stages = next(c[1] for c in cells if c[0].startswith("backfill stages"))
    daily_stages = next(c[1] for c in cells if c[0].startswith("daily load stages"))
    stage_peaks = next(c[1] for c in cells if c[0].startswith("stage peak RSS"))
    for stage in ("land", "validate", "dbt_build", "publish"):
        assert stage in backfill_stages
        assert stage_peaks.count(stage) == 2, stage_peaks  # backfill and day 365
        assert daily_stages.count(stage) == 2, daily_stages  # day 365 and day 1
