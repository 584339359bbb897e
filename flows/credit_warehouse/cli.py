"""``creditwh``: run a day, backfill a range, run the demo, look up a subject's credit file."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from credit_warehouse.settings import load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="City public credit warehouse (公共信用信息平台): daily load, backfill, lookup.")
calendar_app = typer.Typer(help="The working-day calendar (seeds/workday_calendar*.csv).")
app.add_typer(calendar_app, name="calendar")
console = Console()

HomeOption = Annotated[Path | None, typer.Option(help="Data directory (default: $CREDITWH_HOME or ./data).")]
DEMO_START, DEMO_END = dt.date(2026, 9, 1), dt.date(2026, 10, 31)
EXIT_FAILED, EXIT_REJECTIONS = 1, 3


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _print_summary(summary) -> None:  # noqa: ANN001 - RunSummary
    table = Table(title=f"run {summary.run_id}: {summary.status}", show_lines=False)
    for column in ("date", "department", "category", "file", "outcome", "in", "loaded", "quarantined",
                   "flagged", "reasons"):
        table.add_column(column, justify="right" if column in ("in", "loaded", "quarantined", "flagged") else "left")
    for f in summary.feeds:
        if f.outcome == "already_loaded":
            continue
        table.add_row(f.business_date or "", f.department_code or "", f.category_code or "",
                      f.source_file, f.outcome, str(f.rows_in if f.rows_in is not None else "-"),
                      str(f.rows_loaded), str(f.rows_quarantined), str(f.rows_flagged),
                      ", ".join(f"{k}={v}" for k, v in sorted(f.reasons.items())))
    if len(table.rows) <= 60:
        console.print(table)
    else:
        console.print(f"{len(table.rows)} deliveries (per-feed detail: ops.feed_summary, run_id={summary.run_id})")
    console.print({k: v for k, v in summary.totals().items()})
    # One plain line per rejected file (not wrapped by the terminal table): what schedulers log.
    for f in summary.feeds:
        if f.outcome == "rejected":
            print(f"REJECTED {f.source_file}: {', '.join(sorted(f.reasons)) or 'unknown reason'}", flush=True)
    if summary.review_page:
        console.print(f"Steward review: {summary.review_page}  (creditwh review --open)")
    if summary.message:
        console.print(f"[yellow]{summary.message}[/yellow]")


def _run_flow(flow_name: str, start: dt.date, end: dt.date, home: Path | None) -> None:
    from credit_warehouse.pipeline import backfill, daily_load

    with console.status(f"{flow_name} {start} .. {end}: discover, land, validate, dbt build, checks, publish"):
        try:
            summary = (daily_load(start, str(home) if home else None) if flow_name == "daily-load"
                       else backfill(start, end, str(home) if home else None))
        except Exception as exc:  # the flow already recorded the failure in ops.runs
            console.print(f"[red]run failed:[/red] {type(exc).__name__}: {exc}")
            raise typer.Exit(EXIT_FAILED) from exc
    _print_summary(summary)
    if summary.status != "succeeded":
        raise typer.Exit(EXIT_REJECTIONS)


@app.command()
def run(date: Annotated[str | None, typer.Argument(help="Business date YYYY-MM-DD (default: yesterday).")] = None,
        home: HomeOption = None) -> None:
    """Load one business day (the daily job). Exit 1 if the run failed, 3 if files were rejected."""
    from credit_warehouse.pipeline import yesterday

    day = _date(date) if date else yesterday()
    _run_flow("daily-load", day, day, home)


@app.command()
def backfill(start: str, end: str, home: HomeOption = None) -> None:
    """Load every business day from START to END (inclusive), then build and publish once."""
    _run_flow("backfill", _date(start), _date(end), home)


@app.command()
def generate(start: str = DEMO_START.isoformat(), end: str = DEMO_END.isoformat(),
             subjects: int = 2000, seed: int = 20261122, home: HomeOption = None,
             no_defects: Annotated[bool, typer.Option(help="Generate clean feeds (defects are on by default).")] = False
             ) -> None:
    """Write the built-in sample city's department and utility feeds into the inbox."""
    from credit_warehouse.sample_city import DefectRates, generate_city

    settings = load_settings(home)
    settings.ensure_dirs()
    with console.status(f"generating sample city ({subjects} subjects, {start} .. {end})"):
        manifest = generate_city(settings.inbox, _date(start), _date(end), seed=seed, subjects=subjects,
                                 defects=DefectRates.none() if no_defects else DefectRates(),
                                 report_deadline_workdays=settings.report_deadline_workdays)
    manifest_path = settings.home / "sample_city_manifest.json"
    manifest.save(manifest_path)
    console.print(f"wrote {len(manifest.files)} files to {settings.inbox} (manifest: {manifest_path})")


@app.command()
def demo(subjects: int = 2000, start: str = DEMO_START.isoformat(), end: str = DEMO_END.isoformat(),
         home: HomeOption = None) -> None:
    """Generate the sample city and backfill it end to end: the two-command quick start."""
    generate(start=start, end=end, subjects=subjects, home=home)
    settings = load_settings(home)
    try:
        _run_flow("backfill", _date(start), _date(end), home)
    finally:
        console.print(f"\nAnalysts: duckdb -readonly {settings.published_db}  (schema marts)\n"
                      f"Look up a subject: creditwh show <USCC or resident ID>\n"
                      f"Steward review: creditwh review --open\n"
                      f"Data Docs: {settings.data_docs_dir / 'index.html'}")


def _published(home: Path | None):  # noqa: ANN202 - duckdb connection
    import duckdb

    settings = load_settings(home)
    if not settings.published_db.exists():
        console.print(f"[red]no published warehouse at {settings.published_db}: run a load first[/red]")
        raise typer.Exit(EXIT_FAILED)
    return settings, duckdb.connect(str(settings.published_db), read_only=True)


@app.command()
def show(code: str, home: HomeOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one subject's credit file by USCC or resident ID number (looked up by keyed hash)."""
    from credit_warehouse.codes import normalize_code
    from credit_warehouse.lookup import credit_file, subject_key

    settings, con = _published(home)
    code = normalize_code(code)
    try:
        found = credit_file(con, subject_key(code, settings.pii_secret))
    finally:
        con.close()
    if found is None:
        console.print(f"[red]no subject with code {code}[/red]")
        raise typer.Exit(EXIT_FAILED)
    profile, categories, category_names = found.profile, found.categories, found.category_columns
    if as_json:
        print(json.dumps({"profile": profile, "categories": categories}, ensure_ascii=False, default=str, indent=2))
        return
    table = Table(title=f"{profile.get('subject_name')} ({code})", show_header=False)
    for name, value in profile.items():
        table.add_row(name, "" if value is None else str(value))
    console.print(table)
    if categories:
        per_category = Table(title="records by catalogue category")
        for column in category_names:
            per_category.add_column(column)
        for row in categories:
            per_category.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(per_category)


@app.command("privacy-scan")
def privacy_scan(home: HomeOption = None) -> None:
    """Scan every published table and every file outside the restricted layer for unmasked ID numbers.

    Exit 1 when one is found (each finding is printed masked)."""
    from credit_warehouse.privacy import RESTRICTED, scan_home

    settings = load_settings(home)
    if not settings.work_db.exists():
        console.print(f"[red]no work warehouse at {settings.work_db}: run a load first[/red]")
        raise typer.Exit(EXIT_FAILED)
    findings, scanned = scan_home(settings)
    console.print(f"scanned {len(scanned)} files outside the restricted layer ({', '.join(RESTRICTED)})")
    for finding in findings:
        print(f"UNMASKED {finding.path} [{finding.where}]: {finding.masked}", flush=True)
    if findings:
        raise typer.Exit(EXIT_FAILED)
    console.print("no unmasked resident ID number found")


@app.command()
def query(sql: str, home: HomeOption = None,
          as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False) -> None:
    """Run one SQL query on the published warehouse, read-only (analysts: `select * from marts.dim_subject`)."""
    _, con = _published(home)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except Exception as exc:  # duckdb raises many error types; all are the analyst's query
        console.print(f"[red]query failed:[/red] {exc}")
        raise typer.Exit(EXIT_FAILED) from exc
    finally:
        con.close()
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
        return
    table = Table(*names)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


@app.command()
def docs(home: HomeOption = None) -> None:
    """Print where the Great Expectations Data Docs are (built offline by every run)."""
    index = load_settings(home).data_docs_dir / "index.html"
    console.print(str(index) if index.exists() else f"[yellow]not built yet: {index}[/yellow]")


@app.command()
def review(home: HomeOption = None,
           open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a web browser.")] = False,
           rebuild: Annotated[bool, typer.Option(help="Rebuild page and correction lists from the warehouse now.")]
           = False) -> None:
    """Print where the steward review page is (built by every run): failures per department, trend,
    drill-down to records, correction lists (CSV/XLSX) and links to the Data Docs."""
    from credit_warehouse.steward.build import WarehouseNotBuilt, build_review, review_page_path

    settings = load_settings(home)
    page = review_page_path(settings)
    if rebuild:
        try:
            result = build_review(settings)
        except WarehouseNotBuilt as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(EXIT_FAILED) from exc
        console.print(f"{result.open_failures} open failures ({result.open_blocking} blocking), "
                      f"{len(result.corrections)} correction lists")
    if not page.exists():
        console.print(f"[yellow]not built yet: {page} (run a load, or creditwh review --rebuild)[/yellow]")
        raise typer.Exit(EXIT_FAILED)
    print(page)
    if open_browser:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())


@app.command()
def rules() -> None:
    """Print the table of validation rules (Markdown, as in the README), generated from the catalogue."""
    from credit_warehouse.catalogue import Catalogue
    from credit_warehouse.validation.rule_docs import rules_markdown

    print(rules_markdown(Catalogue.load(), load_settings().report_deadline_workdays))


@app.command()
def schedule(cron: str = "30 2 * * *", timezone: str = "Asia/Shanghai", home: HomeOption = None,
             port: int = 4200) -> None:
    """Serve the daily-load deployment on a cron schedule (starts a local Prefect server if none is set)."""
    from credit_warehouse.scheduling import serve_daily

    serve_daily(cron=cron, timezone=timezone, home=str(home) if home else None, port=port)


@calendar_app.command("refresh")
def calendar_refresh(first_year: int = 2004, last_year: int = 2026) -> None:
    """Regenerate seeds/workday_calendar.csv from chinesecalendar (overrides stay untouched)."""
    from credit_warehouse.settings import SEEDS_DIR
    from credit_warehouse.workdays import CALENDAR_FILE, generate_calendar_rows, write_calendar

    rows = generate_calendar_rows(first_year, last_year)
    write_calendar(SEEDS_DIR / CALENDAR_FILE, rows)
    console.print(f"wrote {len(rows)} days {first_year}..{last_year} to seeds/{CALENDAR_FILE}")


def main() -> None:  # pragma: no cover - `python -m credit_warehouse.cli`
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
