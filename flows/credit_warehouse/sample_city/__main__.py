"""Generate the sample city and print a one-line summary.

python -m credit_warehouse.sample_city --inbox DIR --start YYYY-MM-DD --end YYYY-MM-DD [--subjects N]
    [--seed S] [--deadline N] [--clean] [--workers W] [--manifest FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from credit_warehouse.sample_city import DefectRates, generate_city


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m credit_warehouse.sample_city", description=__doc__)
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--start", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--end", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--deadline", type=int, default=7, help="report deadline in working days")
    parser.add_argument("--clean", action="store_true", help="inject no defects")
    parser.add_argument("--workers", type=int, default=1, help="processes (same files whatever the number)")
    parser.add_argument("--manifest", type=Path, help="write the manifest JSON here (not inside the inbox)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    manifest = generate_city(args.inbox, args.start, args.end, seed=args.seed, subjects=args.subjects,
                             defects=DefectRates.none() if args.clean else DefectRates(),
                             report_deadline_workdays=args.deadline, workers=args.workers)
    if args.manifest:
        manifest.save(args.manifest)
    seconds = time.perf_counter() - began
    print(f"sample city {args.start}..{args.end} -> {args.inbox}: {manifest.summary()} "
          f"in {seconds:.1f} s ({manifest.records / max(seconds, 1e-9):,.0f} records/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
