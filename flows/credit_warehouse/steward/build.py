"""Build the steward review from a built warehouse: correction lists, then the page linking them.

Run by the flow after the checks (``pipeline.review``) and by ``creditwh review --rebuild``. Reads the
work warehouse read-only; writes under ``<home>/reports``: ``review/index.html`` (replaced
atomically) and ``corrections/<YYYYMMDD>/``, keeping the lists of the latest
``Settings.corrections_keep`` dates.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.settings import Settings
from credit_warehouse.steward.corrections import CorrectionFiles, list_folder, prune_list_folders, write_corrections
from credit_warehouse.steward.page import PageLinks, render_page
from credit_warehouse.steward.review_data import load_review_data
from credit_warehouse.validation.rules import ROW_GX_SUITES, ROW_SUITES, build_rules, gx_suite
from credit_warehouse.warehouse import connect

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewResult:
    page: Path
    corrections: tuple[CorrectionFiles, ...]
    open_failures: int
    open_blocking: int


def review_page_path(settings: Settings) -> Path:
    return settings.reports_dir / "review" / "index.html"


def corrections_root(settings: Settings) -> Path:
    return settings.reports_dir / "corrections"


def _link(target: Path, page: Path) -> str:
    """A relative URL from the page to ``target`` (works opened from disk)."""
    return quote(Path(os.path.relpath(target, page.parent)).as_posix())


def _links(settings: Settings, page: Path, files: list[CorrectionFiles]) -> PageLinks:
    docs = settings.data_docs_dir
    pages = {suite: _link(docs / "expectations" / f"{suite}.html", page) for suite in ROW_GX_SUITES
             if (docs / "expectations" / f"{suite}.html").exists()}
    suites = {suite: pages[suite] for suite in ROW_SUITES if suite in pages}
    rules = {(rule.rule_id, rule.field, category): pages[gx_suite(rule)]
             for rule in build_rules(Catalogue.load(), settings.report_deadline_workdays)
             if gx_suite(rule) in pages for category in rule.categories}
    folder = files[0].csv.parent if files else None
    return PageLinks(data_docs=_link(docs / "index.html", page), suites=suites, rules=rules,
                     corrections={f.department_code: (_link(f.csv, page), _link(f.xlsx, page)) for f in files},
                     corrections_dir=_link(folder, page) + "/" if folder else None)


class WarehouseNotBuilt(RuntimeError):
    """The steward marts do not exist yet: no load has built the warehouse."""


def build_review(settings: Settings) -> ReviewResult:
    """Correction lists and review page of the warehouse as it is now (after dbt build)."""
    if not settings.work_db.exists():
        raise WarehouseNotBuilt(f"no warehouse at {settings.work_db}: run a load first")
    with connect(settings.work_db, read_only=True, memory_limit=settings.duckdb_memory_limit,
                 marts_db=settings.marts_db) as con:
        built = con.execute("select count(*) from information_schema.tables where table_schema = 'marts' "
                            "and table_name = 'mart_validation_failures'").fetchone()
        if not built or not built[0]:
            raise WarehouseNotBuilt(f"{settings.work_db} has no steward marts yet: run a load first")
        data = load_review_data(con)
        root = corrections_root(settings)
        files = write_corrections(con, data, root)
    removed = prune_list_folders(root, settings.corrections_keep, list_folder(root, data.as_of))
    if removed:
        logger.info("removed the correction lists of %d older date(s), keeping the latest %d: %s", len(removed),
                    settings.corrections_keep, ", ".join(p.name for p in removed))
    page = review_page_path(settings)
    page.parent.mkdir(parents=True, exist_ok=True)
    html = render_page(data, _links(settings, page, files), dt.datetime.now())
    partial = page.with_name(page.name + ".next")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, page)  # a steward with the page open never sees half a page
    return ReviewResult(page, tuple(files), data.open_total, data.open_blocking)
