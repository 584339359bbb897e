"""The Great Expectations file context in ``expectations/gx`` (committed) and its per-run wiring.

Committed, deterministic: ``great_expectations.yml`` (written from this module: analytics off,
progress bars off, datasource with fixed ids), ``expectations/``, ``validation_definitions/``,
``checkpoints/`` (regenerated from the catalogue by ``suites.py``). Per run, outside the repository:
the work DuckDB file the datasource reads, the validation results store and the Data Docs site,
all under ``settings.home``. The yml refers to them as ``${CREDITWH_GX_...}`` variables, which GX
substitutes from the environment: ``open_project`` sets them for the duration of a run.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from credit_warehouse.settings import GX_CONTEXT_DIR, Settings
from credit_warehouse.validation import data_docs, gx_duckdb, gx_files
from credit_warehouse.warehouse import attach_marts_sql

GX_DIR_NAME = "gx"
DATASOURCE = "credit_warehouse"
BATCH_DEFINITION = "whole_table"
SITE_NAME = "local_site"
# GX asset name -> (schema, table) on a work connection (the marts file attached: warehouse.connect).
ASSETS: dict[str, tuple[str, str]] = {
    "pending_rows": ("validation", "pending_rows"),
    "pending_raw": ("validation", "pending_raw"),
    "mart_catalogue_coverage": ("marts", "mart_catalogue_coverage"),
    "mart_catalogue_coverage_overall": ("marts", "mart_catalogue_coverage_overall"),
    "mart_code_quality_issues": ("marts", "mart_code_quality_issues"),
}
ENV_WORK_DB_URL = "CREDITWH_GX_WORK_DB_URL"
ENV_RESULTS_DIR = "CREDITWH_GX_RESULTS_DIR"
ENV_DATA_DOCS_DIR = "CREDITWH_GX_DATA_DOCS_DIR"
# Namespace of the uuid5 ids given to every GX object, so a fresh context gets the same ids.
ID_NAMESPACE = uuid.UUID("0b5d6f0e-7c1a-5d0e-9a55-6372656469a1")


def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{name}"))


def results_dir(settings: Settings) -> Path:
    """Validation results store of a home (JSON per suite run; Data Docs are rendered from it)."""
    return settings.reports_dir / "gx_validation_results"


def project_config() -> dict[str, Any]:
    """The whole great_expectations.yml."""
    def store(kind: str, base_directory: str) -> dict[str, Any]:
        return {"class_name": kind, "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                                      "suppress_store_backend_id": True,
                                                      "base_directory": base_directory}}

    assets = {
        name: {"type": "table", "id": stable_id("asset", name), "batch_metadata": {},
               "batch_definitions": {BATCH_DEFINITION: {"id": stable_id("batch_definition", name),
                                                        "partitioner": None}},
               "table_name": table, "schema_name": schema}
        for name, (schema, table) in ASSETS.items()
    }
    return {
        "config_version": 4.0,
        "analytics_enabled": False,  # nothing may reach the internet (GX_ANALYTICS_ENABLED=False too)
        "data_context_id": stable_id("data_context", DATASOURCE),
        "progress_bars": {"globally": False, "metric_calculations": False},
        "config_variables_file_path": "uncommitted/config_variables.yml",
        "plugins_directory": "plugins/",
        "stores": {
            "expectations_store": store("ExpectationsStore", "expectations/"),
            "validation_results_store": store("ValidationResultsStore", f"${{{ENV_RESULTS_DIR}}}"),
            "checkpoint_store": store("CheckpointStore", "checkpoints/"),
            "validation_definition_store": store("ValidationDefinitionStore", "validation_definitions/"),
        },
        "expectations_store_name": "expectations_store",
        "validation_results_store_name": "validation_results_store",
        "checkpoint_store_name": "checkpoint_store",
        "data_docs_sites": {
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": f"${{{ENV_DATA_DOCS_DIR}}}"},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        },
        "fluent_datasources": {
            DATASOURCE: {"type": "sql", "id": stable_id("datasource", DATASOURCE), "assets": assets,
                         "connection_string": f"${{{ENV_WORK_DB_URL}}}"},
        },
    }


HEADER = ("# Great Expectations project of the credit warehouse: written by\n"
          "# flows/credit_warehouse/validation/gx_project.py on every run (edit that, not this file).\n"
          "# ${CREDITWH_GX_...} are set per run: work DuckDB file, validation results and Data Docs\n"
          "# directories under the run's home.\n")


def write_project_config(root: Path = GX_CONTEXT_DIR) -> Path:
    """Write ``<root>/gx/great_expectations.yml`` (and its .gitignore) when they differ."""
    gx_dir = root / GX_DIR_NAME
    gx_dir.mkdir(parents=True, exist_ok=True)
    files = {
        gx_dir / "great_expectations.yml": HEADER + yaml.safe_dump(project_config(), sort_keys=False,
                                                                    allow_unicode=True),
        gx_dir / ".gitignore": "uncommitted/\n",
    }
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            gx_files.write_atomically(path, text.encode("utf-8"))
    return gx_dir / "great_expectations.yml"


@dataclass
class GxProject:
    """A loaded file context wired to one home; use through ``open_project``."""

    context: Any  # great_expectations FileDataContext
    settings: Settings
    _connections: list[Any] = field(default_factory=list)

    @property
    def data_docs_dir(self) -> Path:
        return self.settings.data_docs_dir

    def build_data_docs(self, resource_identifiers: list[Any]) -> Path:
        """Build the pages of these results/suites and the index, offline; returns index.html."""
        started = time.time() - 2  # file mtimes may be coarse
        self.context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=resource_identifiers)
        data_docs.make_site_offline(self.data_docs_dir, since=started)
        return self.data_docs_dir / "index.html"

    def close(self) -> None:
        """Close every DuckDB connection GX opened and dispose its engines (DuckDB locks the file)."""
        for datasource in self.context.data_sources.all().values():
            engine = getattr(datasource, "_execution_engine", None)
            if engine is not None:
                gx_duckdb.close_execution_engine(engine)
            sa_engine = getattr(datasource, "_engine", None)
            if sa_engine is not None:
                sa_engine.dispose()
        _close_all(self._connections)  # any other connection GX opened during the run


def _close_all(connections: list[Any]) -> None:
    for connection in connections:
        with suppress(Exception):  # already closed
            connection.close()
    connections.clear()


@contextmanager
def open_project(settings: Settings, root: Path = GX_CONTEXT_DIR) -> Iterator[GxProject]:
    """The GX file context for one run of ``settings.home``; every DuckDB handle is closed on exit."""
    import great_expectations as gx
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    gx_duckdb.apply()
    gx_files.apply()
    write_project_config(root)
    settings.data_docs_dir.mkdir(parents=True, exist_ok=True)
    results_dir(settings).mkdir(parents=True, exist_ok=True)
    # the URL's query is DuckDB configuration (duckdb-engine): GX's queries get the same memory cap
    env = {ENV_WORK_DB_URL: f"duckdb:///{settings.work_db.resolve()}?memory_limit={settings.duckdb_memory_limit}",
           ENV_RESULTS_DIR: str(results_dir(settings).resolve()),
           ENV_DATA_DOCS_DIR: str(settings.data_docs_dir.resolve())}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    connections: list[Any] = []

    def track(dbapi_connection: Any, _record: Any) -> None:
        connections.append(dbapi_connection)
        if settings.marts_db.exists():  # the mart checks' tables: marts.<table>, as on work connections
            for statement in attach_marts_sql(settings.marts_db.resolve(), read_only=True):
                dbapi_connection.execute(statement)

    event.listen(Pool, "connect", track)
    project = None
    try:
        context = gx.get_context(mode="file", project_root_dir=str(root))
        project = GxProject(context, settings, connections)
        yield project
    finally:
        event.remove(Pool, "connect", track)
        if project is not None:
            project.close()
        _close_all(connections)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
