"""Landing throughput and peak memory for a large department CSV (UTF-8 and GB18030).

    .venv/bin/python bench/landing_throughput.py [--rows 1000000] [--encodings utf-8 gb18030]

To compare with an older version of the package, put its ``flows`` first on the path:
    git archive <commit> flows seeds | tar -x -C /tmp/old && PYTHONPATH=/tmp/old/flows .venv/bin/python bench/...

Writes a 21-column 行政许可 (C02) file per encoding, lands each in a fresh child process (so peak RSS
is the landing's own) into a fresh work warehouse, and prints rows/s, CPU time of all threads (on a
busy machine wall time varies, CPU time much less) and peak RSS. Nothing is asserted: the figures
go into the README.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY = dt.date(2026, 10, 9)
CATEGORY, DEPARTMENT = "C02", "market_regulation"


def write_csv(path: Path, rows: int, encoding: str) -> int:
    """A realistic C02 file: Chinese names and text, codes, dates; ~260 bytes per row in UTF-8."""
    from credit_warehouse.catalogue import Catalogue

    headers = [f.header_zh for f in Catalogue.load().fields_of(CATEGORY)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as out:
        out.write(",".join(headers) + "\r\n")
        for i in range(rows):
            out.write(
                f"大同市云冈区第{i}号商贸有限公司,法人及非法人组织,91140213MA{i % 10**8:08d},张{i % 97}三,,,"
                f"食品经营许可决定书,同市监许字〔2026〕第{i}号,普通,食品经营许可证,JY{i:014d},"
                f"\"预包装食品（含冷藏冷冻食品）销售,散装食品销售\",2026-{i % 12 + 1:02d}-{i % 28 + 1:02d},"
                "2026/10/01,20311231,大同市市场监督管理局,11140200RCMBP1GQ0D,有效,大同市市场监督管理局,"
                "11140200RCMBP1GQ0D,\r\n")
    return path.stat().st_size


def land(path: Path, home: Path) -> dict[str, float]:
    from credit_warehouse import landing
    from credit_warehouse.catalogue import Catalogue
    from credit_warehouse.inbox import recognise
    from credit_warehouse.warehouse import connect, ensure_schema

    catalogue = Catalogue.load()
    item = recognise(home / "inbox", path, catalogue)
    started, cpu_started = time.perf_counter(), time.process_time()
    with connect(home / "work.duckdb") as con:
        ensure_schema(con, catalogue)
        if hasattr(landing, "prepare"):  # absent before streaming landing: the bench runs on both
            landing.prepare(con)
        result = landing.land_file(con, item, catalogue, "bench")
        landed = con.execute("select count(*) from raw.feed_rows").fetchone()[0]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert result.outcome == "landed" and landed == result.rows_in, result
    return {"rows": landed, "seconds": seconds, "cpu_seconds": cpu,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--encodings", nargs="+", default=["utf-8", "gb18030"])
    parser.add_argument("--child", nargs=2, metavar=("FILE", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(land(Path(args.child[0]), Path(args.child[1]))))
        return
    for encoding in args.encodings:
        with tempfile.TemporaryDirectory(prefix="creditwh-bench-") as tmp:
            home = Path(tmp)
            path = home / "inbox" / DEPARTMENT / f"{CATEGORY}_{DAY:%Y%m%d}.csv"
            size = write_csv(path, args.rows, encoding)
            child = subprocess.run([sys.executable, __file__, "--child", str(path), str(home)],
                                   check=True, capture_output=True, text=True)
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{encoding:8s} {size / 2**20:7.1f} MiB {figures['rows']:>9,} rows "
                  f"{figures['seconds']:6.1f} s {figures['rows'] / figures['seconds']:>9,.0f} rows/s "
                  f"(CPU {figures['cpu_seconds']:5.1f} s, all threads) peak RSS {figures['peak_rss_mib']:6.0f} MiB",
                  flush=True)


if __name__ == "__main__":
    main()
