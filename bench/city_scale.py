"""City-scale benchmark: one command, one table, written to BENCHMARKS.md.

    .venv/bin/python -m bench            # 1,000,000 subjects, the year 2025 (~38M records)
    .venv/bin/python -m bench --small    # 1,000 subjects, 12 days: the same steps (~2 minutes)

Steps, each measured in its own process (wall time and peak RSS of that process), the loads against
one local Prefect server (``prefect_server``):
1. the sample city for the year plus the first working day after it (cached under the work directory:
   generation is the input, not the pipeline, and is reported separately);
2. the physical reference: DuckDB reading the year's files into tables with no processing;
3. the full-year backfill through the real Prefect flow (land, validate, dbt build, checks, review,
   publish), with the time of every stage (ops.run_stages);
4. the daily load of the next working day on top of the year (day 365), and the same day's files
   loaded into an empty warehouse (day 1);
5. one GX suite on the same rows as pandas and as SQL (bench/gx_engines.py);
6. 1,000 credit-file lookups by code in the published warehouse, as ``creditwh show`` does them, and
   the same subjects' current records read from the fct_credit_record view;
7. warehouse size against input size.
Targets (issue 5) are reported against, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb

REPO = Path(__file__).resolve().parents[1]
GIB = 1 << 30
T = TypeVar("T")
PREFECT_DB = "prefect.db"  # under PREFECT_HOME: Prefect's default database URL
PREFECT_DB_TEMPLATES = REPO / "bench" / "out" / "prefect-db"
MARKER_START, MARKER_END = "<!-- bench:latest:start -->", "<!-- bench:latest:end -->"


@dataclass(frozen=True)
class Scale:
    name: str
    subjects: int
    start: dt.date
    end: dt.date
    workers: int = 2
    lookups: int = 1000
    dbt_tests: bool = True  # as shipped; --small leaves them to the test suite (its run is mostly fixed costs)
    # --small: the Prefect server boots during the raw reference, and the two daily loads and the GX
    # comparison run side by side. Its figures are fixed costs, read for the table's shape; the full
    # run measures one part at a time.
    side_by_side: bool = False


FULL = Scale("full", 1_000_000, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
SMALL = Scale("small", 1_000, dt.date(2025, 9, 1), dt.date(2025, 9, 12), lookups=200, dbt_tests=False,
              side_by_side=True)


class BenchFailed(RuntimeError):
    """A measured step exited non-zero: its figures would mean nothing."""


@dataclass
class Step:
    seconds: float
    peak_rss: int  # bytes
    result: dict[str, object] = field(default_factory=dict)

    @property
    def stages(self) -> dict[str, float]:
        return dict(self.result.get("stage_seconds", {}))  # type: ignore[arg-type]

    @property
    def stage_peaks(self) -> dict[str, int]:
        return dict(self.result.get("stage_peak_rss", {}))  # type: ignore[arg-type]


@dataclass(frozen=True)
class City:
    inbox: Path
    next_day: dt.date
    records: int  # rows of the range's deliveries and corrections (duplicate files excluded)
    next_day_records: int
    input_bytes: int
    files: int
    generation_seconds: float
    generation_peak_rss: int
    cached: bool


# --- the input ---------------------------------------------------------------------------------------

def next_workday(day: dt.date) -> dt.date:
    from credit_warehouse.sample_city.dates import WorkdayIndex
    from credit_warehouse.workdays import WorkdayCalendar

    return WorkdayIndex(WorkdayCalendar.load()).between(day + dt.timedelta(days=1), day + dt.timedelta(days=30))[0]


def prepare_city(directory: Path, scale: Scale) -> City:
    """Generate the city once per (subjects, range): a later bench run reuses the files."""
    next_day = next_workday(scale.end)
    params = {"subjects": scale.subjects, "start": scale.start.isoformat(), "end": next_day.isoformat()}
    description = directory / "city.json"
    if description.exists() and json.loads(description.read_text()).get("params") == params:
        found = json.loads(description.read_text())
        return _city(directory, next_day, found, cached=True)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    step = measure(["generate", str(directory / "inbox"), scale.start.isoformat(), next_day.isoformat(),
                    str(directory / "generated.json"), str(scale.subjects), str(scale.workers)])
    files = step.result["files"]
    in_range = [f for f in files if f["date"] <= scale.end.isoformat() and f["role"] != "duplicate"]  # type: ignore[union-attr]
    found = {"params": params, "records": sum(f["rows"] for f in in_range),
             "next_day_records": sum(f["rows"] for f in files if f["date"] == next_day.isoformat()  # type: ignore[union-attr]
                                     and f["role"] != "duplicate"),
             "input_bytes": sum(p.stat().st_size for p in (directory / "inbox").rglob("*") if p.is_file()),
             "files": len(files), "generation_seconds": step.seconds, "generation_peak_rss": step.peak_rss}  # type: ignore[arg-type]
    description.write_text(json.dumps(found))
    return _city(directory, next_day, found, cached=False)


def _city(directory: Path, next_day: dt.date, found: dict, cached: bool) -> City:
    return City(directory / "inbox", next_day, found["records"], found["next_day_records"], found["input_bytes"],
                found["files"], found["generation_seconds"], found["generation_peak_rss"], cached)


# --- measured steps ----------------------------------------------------------------------------------

def child_env(work: Path, dbt_tests: bool = True, prefect_api: str | None = None) -> dict[str, str]:
    # this checkout's package first: a bench run from another clone measures that clone's code, not the
    # one the virtualenv has installed in editable mode
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "flows"), str(REPO)]),
           "CREDITWH_DBT_TESTS": "true" if dbt_tests else "false", "PREFECT_LOGGING_LEVEL": "ERROR"}
    env.pop("PREFECT_API_URL", None)
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prefect_db_template() -> Path:
    return PREFECT_DB_TEMPLATES / f"prefect-{importlib.metadata.version('prefect')}.db"


def _seed_prefect_db(home: Path) -> None:
    """A new work directory's server would create its database first: ~100 migrations, 11 of the
    ~20 s of its boot. It starts from a copy of one an earlier bench run migrated instead."""
    database, template = home / PREFECT_DB, _prefect_db_template()
    if not database.exists() and template.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, database)


def _keep_prefect_db(home: Path) -> None:
    """Copy a just-migrated database (SQLite's online backup: consistent while the server runs)."""
    database, template = home / PREFECT_DB, _prefect_db_template()
    if template.exists() or not database.exists():
        return
    template.parent.mkdir(parents=True, exist_ok=True)
    partial = template.with_name(f".{template.name}.{os.getpid()}")
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(partial)) as copy:
        source.backup(copy)
    os.replace(partial, template)


@contextmanager
def prefect_server(work: Path) -> Iterator[Callable[[], str]]:
    """One local Prefect server for every measured load, as scheduled loads run (``creditwh schedule``).
    Without it each step would boot an ephemeral server first: ~14 s of orchestration start-up on
    these machines, the same whatever the load, which is not the pipeline's cost. Yields a call that
    waits until the server is up and returns its API URL (it boots in ~10 s meanwhile)."""
    from credit_warehouse.scheduling import launch_local_server, stop_local_server, wait_until_healthy

    home = work / "prefect"  # the server's database, next to the runs
    _seed_prefect_db(home)
    saved = os.environ.get("PREFECT_HOME")
    os.environ["PREFECT_HOME"] = str(home)
    try:
        server, api_url = launch_local_server(_free_port())
    finally:
        os.environ.pop("PREFECT_HOME") if saved is None else os.environ.update(PREFECT_HOME=saved)
    healthy: list[bool] = []

    def ready() -> str:
        if not healthy:
            wait_until_healthy(server, api_url)
            _keep_prefect_db(home)
            healthy.append(True)
        return api_url

    try:
        yield ready
    finally:
        # stops while the bench goes on; a non-daemon thread, so the bench never exits before it
        threading.Thread(target=stop_local_server, args=(server,), name="prefect-server-stop").start()


def measure(args: list[str], env: dict[str, str] | None = None) -> Step:
    """Run ``python -m bench.child ARGS`` (last argument: its result file); wall time and peak RSS."""
    out = Path(args[4])
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bench.child", *args], cwd=REPO, env=env or child_env(out.parent))
    returncode = process.wait()
    seconds = time.perf_counter() - started
    if returncode != 0 or not out.exists():
        raise BenchFailed(f"bench step {args[0]} {args[2]}..{args[3]} exited with {returncode}")
    result = json.loads(out.read_text())
    # the child's own figure (bench.child.peak_rss): the kernel's for a child starts at this process's peak
    return Step(seconds, int(result["peak_rss"]), result)


def fresh_home(path: Path, inbox: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / "inbox").symlink_to(inbox.resolve(), target_is_directory=True)
    return path


def run_step(kind: str, home: Path, start: dt.date, end: dt.date, work: Path, dbt_tests: bool,
             prefect_api: str | None = None) -> Step:
    step = measure([kind, str(home), start.isoformat(), end.isoformat(), str(work / f"{kind}-{home.name}.json")],
                   child_env(work, dbt_tests, prefect_api))
    status = step.result.get("status")
    if kind != "raw" and status not in ("succeeded", "succeeded_with_rejections"):
        raise BenchFailed(f"{kind} on {home.name}: {status}")
    return step


RECORDS_SQL = "select * from marts.fct_credit_record where subject_key = ?"


def lookup_latencies(published: Path, count: int, seed: int = 5) -> dict[str, list[float]]:
    """Milliseconds per lookup of random subjects: their credit file (profile + per-category summary,
    as ``creditwh show`` reads it), and their current records (the fct_credit_record view)."""
    from credit_warehouse.lookup import credit_file

    with duckdb.connect(str(published), read_only=True) as con:
        keys = [r[0] for r in con.execute("select subject_key from marts.mart_subject_credit_file").fetchall()]
        picked = random.Random(seed).sample(keys, min(count, len(keys)))
        lookups: dict[str, Callable[[str], object]] = {
            "credit_file": lambda key: credit_file(con, key),
            "records": lambda key: con.execute(RECORDS_SQL, [key]).fetchall()}
        timings: dict[str, list[float]] = {name: [] for name in lookups}
        for name, look_up in lookups.items():
            for key in picked:
                started = time.perf_counter()
                if not look_up(key):  # no credit file (None), or no records (an empty list)
                    raise BenchFailed(f"published subject {key} not found by the {name} lookup")
                timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# --- the table ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    metric: str
    value: str
    target: str = ""
    verdict: str = ""


def size(n: float) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB / 4 else f"{n / (1 << 20):.1f} MiB"


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def table(city: City, raw: Step, backfill: Step, day365: Step, day1: Step, gx: dict,
          lookups: dict[str, list[float]], warehouse_bytes: int) -> list[Row]:
    ratio_raw = backfill.seconds / raw.seconds
    ratio_days = day365.seconds / day1.seconds
    peak = max(backfill.peak_rss, day365.peak_rss, day1.peak_rss)
    validation_share = backfill.stages.get("validate", 0.0) / backfill.seconds
    files, records = lookups["credit_file"], lookups["records"]
    p50, p95 = statistics.median(files), percentile(files, 0.95)
    generated = "cached; generated" if city.cached else "generated"

    def stages(step: Step) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in step.stages.items())

    def peaks(step: Step) -> str:
        return ", ".join(f"{k} {v / GIB:.2f}" for k, v in step.stage_peaks.items())

    return [
        Row("input", f"{city.records:,} records in {city.files:,} files, {size(city.input_bytes)} "
                     f"({generated} in {city.generation_seconds:.0f} s, peak RSS {size(city.generation_peak_rss)})"),
        Row("raw DuckDB ingest (reference)",
            f"{raw.seconds:.1f} s, {int(raw.result['rows']) / raw.seconds:,.0f} rows/s"),
        Row("backfill of the range",
            f"{backfill.seconds:.1f} s, {city.records / backfill.seconds:,.0f} records/s",
            "≤ 3× raw ingest", f"{ratio_raw:.2f}× — {_verdict(ratio_raw <= 3)}"),
        Row("backfill stages (s)", stages(backfill)),
        Row("daily load, day 1 (next day's files, empty warehouse)",
            f"{day1.seconds:.1f} s ({city.next_day_records:,} records)"),
        Row("daily load, day 365 (same files after the range)", f"{day365.seconds:.1f} s",
            "≤ 1.5× day 1", f"{ratio_days:.2f}× — {_verdict(ratio_days <= 1.5)}"),
        Row("daily load stages, day 365 / day 1 (s)", f"{stages(day365)} / {stages(day1)}"),
        Row("peak RSS (backfill / day 365 / day 1)",
            f"{size(backfill.peak_rss)} / {size(day365.peak_rss)} / {size(day1.peak_rss)}",
            "≤ 4 GiB", _verdict(peak <= 4 * GIB)),
        Row("stage peak RSS, backfill / day 365 (GiB)", f"{peaks(backfill)} / {peaks(day365)}"),
        Row("validation share of the backfill", f"{backfill.stages.get('validate', 0):.1f} s of "
                                                f"{backfill.seconds:.1f} s = {validation_share:.1%}",
            "≤ 25%", _verdict(validation_share <= 0.25)),
        Row("GX suite, pandas vs SQL (same rows)",
            f"{gx['rows']:,} rows × {gx['expectations']} expectations: pandas {gx['pandas_seconds']:.2f} s "
            f"(+{gx['fetch_seconds']:.2f} s to fetch the DataFrame), SQL in DuckDB {gx['sql_seconds']:.2f} s"),
        Row("credit-file lookup by code", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(files):,} codes",
            "p95 ≤ 50 ms", _verdict(p95 <= 50)),
        Row("a subject's current records by code (fct_credit_record)",
            f"p50 {statistics.median(records):.1f} ms, p95 {percentile(records, 0.95):.1f} ms over the same codes"),
        Row("warehouse vs input size", f"{size(warehouse_bytes)} vs {size(city.input_bytes)} "
                                       f"= {warehouse_bytes / city.input_bytes:.2f}×"),
    ]


def markdown(rows: list[Row], scale: Scale, command: str) -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    tests = "dbt data tests on" if scale.dbt_tests else "dbt data tests off"
    machine = (f"{platform.machine()}, {cpus} cores, {memory:.0f} GiB, Python {platform.python_version()}, "
               f"DuckDB {duckdb.__version__}")
    lines = [f"Command: `{command}` · scale: {scale.name} ({scale.subjects:,} subjects, {scale.start} .. "
             f"{scale.end}, {tests}) · machine: {machine} · date: {dt.date.today()}", "",
             "| metric | value | target | verdict |", "|---|---|---|---|"]
    lines += [f"| {r.metric} | {r.value} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines) + "\n"


def write_report(path: Path, text: str) -> None:
    """Replace the latest-figures block of BENCHMARKS.md, keeping the hand-written analysis around it."""
    block = f"{MARKER_START}\n{text}{MARKER_END}"
    if path.exists() and MARKER_START in (old := path.read_text()):
        before, rest = old.split(MARKER_START, 1)
        path.write_text(before + block + rest.split(MARKER_END, 1)[1])
    else:
        path.write_text(f"# Benchmarks\n\n## Latest figures\n\n{block}\n")


def print_table(rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(title="city-scale benchmark")
    for column in ("metric", "value", "target", "verdict"):
        out.add_column(column)
    for row in rows:
        out.add_row(row.metric, row.value, row.target, row.verdict)
    Console(width=200).print(out)


# --- the command -------------------------------------------------------------------------------------

def parse(argv: list[str] | None) -> tuple[Scale, Path, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="1,000 subjects, 12 days (~2 minutes)")
    parser.add_argument("--subjects", type=int, help="override the number of subjects")
    parser.add_argument("--start", type=dt.date.fromisoformat, help="override the first day")
    parser.add_argument("--end", type=dt.date.fromisoformat, help="override the last day")
    parser.add_argument("--work-dir", type=Path, help="where inputs and warehouses go (default bench/out/SCALE)")
    parser.add_argument("--out", type=Path, help="the report (default BENCHMARKS.md; --small: WORK_DIR/BENCHMARKS.md)")
    args = parser.parse_args(argv)
    base = SMALL if args.small else FULL
    custom = args.subjects is not None or args.start is not None or args.end is not None
    scale = Scale(f"{base.name}-custom" if custom else base.name, args.subjects or base.subjects,
                  args.start or base.start, args.end or base.end, base.workers, base.lookups, base.dbt_tests,
                  base.side_by_side)
    work = (args.work_dir or REPO / "bench" / "out" / scale.name).resolve()
    out = args.out or (work / "BENCHMARKS.md" if args.small else REPO / "BENCHMARKS.md")
    return scale, work, out


@contextmanager
def progress(label: str) -> Iterator[None]:
    """One line per part on stderr: a full run takes a while, and this shows where it is."""
    started = time.perf_counter()
    print(f"bench: {label} ...", file=sys.stderr, flush=True)
    yield
    print(f"bench: {label} done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def run(scale: Scale, work: Path) -> list[Row]:
    from bench import gx_engines

    work.mkdir(parents=True, exist_ok=True)
    tests = scale.dbt_tests
    with prefect_server(work) as prefect_api:
        if not scale.side_by_side:
            with progress("Prefect server start"):
                prefect_api()  # up before anything is measured
        with progress("sample city"):
            city = prepare_city(work / "city", scale)
        with progress("raw reference"):
            raw = run_step("raw", fresh_home(work / "raw", city.inbox), scale.start, scale.end, work, tests)
            shutil.rmtree(work / "raw")  # only its time matters; its file is as large as the input
        api = prefect_api()
        year = fresh_home(work / "year", city.inbox)
        with progress("backfill"):
            backfill = run_step("backfill", year, scale.start, scale.end, work, tests, api)
        rows = gx_engines.copy_rows(year / "warehouse" / "work.duckdb", work)  # the backfill's landed rows
        day1_home = fresh_home(work / "day1", city.inbox)

        def daily(home: Path) -> Callable[[], Step]:
            return lambda: run_step("daily", home, city.next_day, city.next_day, work, tests, api)

        day365, day1, gx = parts({"daily load, day 365": daily(year), "daily load, day 1": daily(day1_home),
                                  "GX pandas vs SQL": lambda: gx_engines.compare(*rows)}, scale.side_by_side)
    with progress("lookups"):
        lookups = lookup_latencies(year / "warehouse" / "published.duckdb", scale.lookups)
    return table(city, raw, backfill, day365, day1, gx, lookups, directory_bytes(year / "warehouse"))


def parts(calls: dict[str, Callable[[], T]], side_by_side: bool) -> list[T]:
    """Independent parts, one after the other, or (--small) all at once: two cores, and parts that
    are mostly single-threaded start-up (interpreter, imports, dbt and GX set-up)."""
    if not side_by_side:
        found = []
        for label, call in calls.items():
            with progress(label):
                found.append(call())
        return found
    with progress(" | ".join(calls)), ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls.values()]
        return [future.result() for future in futures]


def main(argv: list[str] | None = None) -> None:
    scale, work, out = parse(argv)
    rows = run(scale, work)
    print_table(rows)
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    write_report(out, markdown(rows, scale, command.strip()))
    print(f"written to {out}")
