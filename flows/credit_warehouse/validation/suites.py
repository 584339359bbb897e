"""Expectation suites, validation definitions and checkpoints, regenerated from the rules each run.

Every check is a ``gx.expectations.UnexpectedRowsExpectation`` whose query selects the offending
rows of the batch: GX runs it as SQL in DuckDB (a count and a sample of up to 200 rows). GX stores
are updated with ``add_or_update`` and every object gets a uuid5 id derived from its name, so the
JSON files under ``expectations/gx`` only change when a rule does. Writing them costs ~2.5 s a
checkpoint, so a run whose plans and files are those of the last sync only reads the checkpoint
(the digest is kept in ``gx/uncommitted/synced``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credit_warehouse.validation import gx_files
from credit_warehouse.validation.gx_project import BATCH_DEFINITION, DATASOURCE, stable_id
from credit_warehouse.validation.rules import Rule, gx_suite, offending_rows_sql

RAW_CHECKPOINT = "raw_batch_checkpoint"
MART_CHECKPOINT = "mart_checkpoint"
RAW_ASSET = "pending_rows"  # the batch table (derived columns)
RAW_ROWS_ASSET = "pending_raw"  # the batch's raw rows (a view)
RESULT_FORMAT = "COMPLETE"  # unexpected rows (up to 200) come back only with COMPLETE
GX_SEVERITY = {"blocking": "critical", "warning": "warning"}


class GxExpectationError(RuntimeError):
    """An expectation could not be evaluated (SQL error...): its rows would go unchecked."""


@dataclass(frozen=True)
class ExpectationSpec:
    key: str  # unique across the checkpoint; meta.rule_key
    suite: str  # logical suite recorded in validation.expectation_results
    severity: str  # blocking | warning
    description: str
    query: str  # SQL over {batch}, braces already doubled for str.format
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuitePlan:
    name: str  # GX suite and validation definition name
    asset: str  # GX table asset the suite validates
    specs: tuple[ExpectationSpec, ...]


@dataclass(frozen=True)
class ExpectationOutcome:
    key: str
    suite: str
    severity: str
    success: bool
    unexpected_count: int
    sample_rows: tuple[dict[str, Any], ...]


def gx_query(sql: str) -> str:
    """GX passes the query through ``str.format`` to fill ``{batch}``: double every other brace
    (regex quantifiers such as ``[0-9]{4}``)."""
    return sql.replace("{", "{{").replace("}", "}}").replace("{{batch}}", "{batch}")


def rule_spec(rule: Rule) -> ExpectationSpec:
    return ExpectationSpec(
        key=rule.key, suite=rule.suite, severity=rule.severity, description=rule.description,
        query=gx_query(offending_rows_sql(rule, "{batch}", display=True)),
        meta={"rule_id": rule.rule_id, "field": rule.field, "categories": list(rule.categories),
              "reason_zh": rule.reason_zh})


def raw_plans(rules: Iterable[Rule]) -> list[SuitePlan]:
    """Per rule suite, a GX suite on the batch table for the rules reading its derived columns and one on
    the batch's raw rows for the rest (``rules.gx_suite``)."""
    by_suite: dict[tuple[str, str], list[ExpectationSpec]] = {}
    for rule in rules:
        asset = RAW_ASSET if rule.reads_computed else RAW_ROWS_ASSET
        by_suite.setdefault((gx_suite(rule), asset), []).append(rule_spec(rule))
    return [SuitePlan(name, asset, tuple(specs)) for (name, asset), specs in by_suite.items()]


def _expectation(spec: ExpectationSpec) -> Any:
    import great_expectations as gx

    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=spec.query, description=spec.description,
        severity=GX_SEVERITY[spec.severity],
        meta={"rule_key": spec.key, "suite": spec.suite, "severity": spec.severity, **spec.meta})


def _sync_suite(context: Any, plan: SuitePlan) -> Any:
    import great_expectations as gx

    suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=plan.name, expectations=[_expectation(s) for s in plan.specs],
                            meta={"generated_by": "credit_warehouse.validation.suites"}))
    wanted = stable_id("suite", plan.name)
    changed = suite.id != wanted
    suite.id = wanted
    for expectation in suite.expectations:
        expectation_id = stable_id("expectation", f"{plan.name}:{expectation.meta['rule_key']}")
        changed |= expectation.id != expectation_id
        expectation.id = expectation_id
    if changed:
        suite.save()
    return suite


def _pin(obj: Any, wanted: str) -> Any:
    if obj.id != wanted:
        obj.id = wanted
        obj.save()
    return obj


def sync_checkpoint(context: Any, name: str, plans: Iterable[SuitePlan]) -> Any:
    """Write the suites, their validation definitions and the checkpoint; return the checkpoint.
    Nothing is written when the plans and the stored files are those of the last sync."""
    plans = list(plans)
    root = Path(context.root_directory)
    marker = root / "uncommitted" / "synced" / f"{name}.sha256"
    wanted = _plans_digest(name, plans)
    if marker.exists() and marker.read_text() == f"{wanted} {_files_digest(root, name, plans)}":
        return context.checkpoints.get(name)
    checkpoint = _write_checkpoint(context, name, plans)
    gx_files.write_atomically(marker, f"{wanted} {_files_digest(root, name, plans)}".encode())
    return checkpoint


def _plans_digest(name: str, plans: list[SuitePlan]) -> str:
    import great_expectations as gx

    described = [name, RESULT_FORMAT, gx.__version__, [dataclasses.asdict(plan) for plan in plans]]
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def _files_digest(root: Path, name: str, plans: list[SuitePlan]) -> str:
    """The stored JSON of this checkpoint, its validation definitions and suites, and the project
    configuration holding the datasource they refer to (a hand edit shows)."""
    paths = [root / "great_expectations.yml", root / "checkpoints" / f"{name}.json"]
    for plan in plans:
        paths += [root / "validation_definitions" / f"{plan.name}.json", root / "expectations" / f"{plan.name}.json"]
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() if path.exists() else b"missing")
    return digest.hexdigest()


def _write_checkpoint(context: Any, name: str, plans: list[SuitePlan]) -> Any:
    import great_expectations as gx

    datasource = context.data_sources.get(DATASOURCE)
    definitions = []
    for plan in plans:
        suite = _sync_suite(context, plan)
        batch_definition = datasource.get_asset(plan.asset).get_batch_definition(BATCH_DEFINITION)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=plan.name, data=batch_definition, suite=suite))
        definitions.append(_pin(definition, stable_id("validation_definition", plan.name)))
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(name=name, validation_definitions=definitions, actions=[], result_format=RESULT_FORMAT))
    return _pin(checkpoint, stable_id("checkpoint", name))


def _raised(exception_info: Any) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any."""
    if isinstance(exception_info, dict):
        if exception_info.get("raised_exception"):
            return str(exception_info.get("exception_message") or exception_info)
        for value in exception_info.values():
            message = _raised(value)
            if message:
                return message
    return None


def run_checkpoint(checkpoint: Any, run_name: str) -> tuple[dict[str, ExpectationOutcome], list[Any]]:
    """Run it; outcomes by expectation key, and the result identifiers (for Data Docs)."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    result = checkpoint.run(run_id=RunIdentifier(run_name=run_name))
    outcomes: dict[str, ExpectationOutcome] = {}
    identifiers: list[Any] = []
    for identifier, suite_result in result.run_results.items():
        identifiers += [identifier, ExpectationSuiteIdentifier(name=suite_result.suite_name)]
        for item in suite_result.results:
            meta = item.expectation_config.meta or {}
            key = meta.get("rule_key", "?")
            error = _raised(item.exception_info)
            if error:
                raise GxExpectationError(f"expectation {key} of suite {suite_result.suite_name} failed: {error}")
            details = item.result.get("details") or {}
            outcomes[key] = ExpectationOutcome(
                key=key, suite=meta.get("suite", suite_result.suite_name), severity=meta.get("severity", ""),
                success=bool(item.success), unexpected_count=int(item.result["observed_value"]),
                sample_rows=tuple(details.get("unexpected_rows") or ()))
    return outcomes, identifiers
