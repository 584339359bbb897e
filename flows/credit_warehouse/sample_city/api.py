"""``generate_city``: the public entry point, optionally spread over worker processes.

Workers split the range into consecutive chunks of working days. Because a day's files never depend
on the range they are generated in, the chunks write exactly the files one process would, and their
manifests concatenate (in day order) into the single-process manifest.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.sample_city.dates import WorkdayIndex
from credit_warehouse.sample_city.generator import CityGenerator, parameters
from credit_warehouse.sample_city.manifest import GenerationManifest
from credit_warehouse.sample_city.rates import MISSING_CATEGORY, DefectRates
from credit_warehouse.workdays import WorkdayCalendar

DEFAULT_RATES = DefectRates()
Chunk = tuple[Path, dt.date, dt.date, int, int, DefectRates, int, Catalogue, WorkdayCalendar, dt.date]


def _run_chunk(chunk: Chunk) -> GenerationManifest:
    inbox, start, end, seed, subjects, defects, deadline, catalogue, calendar, range_start = chunk
    return CityGenerator(inbox, start, end, seed, subjects, defects, deadline, catalogue, calendar,
                         range_start).run()


def _merge(parts: list[GenerationManifest], params: dict[str, object]) -> GenerationManifest:
    merged = GenerationManifest(parameters=params, missing_feeds=parts[0].missing_feeds,
                                population=parts[0].population)
    codes: dict[str, dict[str, None]] = {}
    for part in parts:
        merged.files += part.files
        merged.defects += [d for d in part.defects if d.kind != MISSING_CATEGORY]
        merged.duplicate_files += part.duplicate_files
        merged.corrections += part.corrections
        merged.concealed_decisions += part.concealed_decisions
        merged.cases += part.cases
        for kind, values in part.bad_subject_codes.items():
            codes.setdefault(kind, {}).update(dict.fromkeys(values))
    merged.defects += [d for d in parts[0].defects if d.kind == MISSING_CATEGORY]  # listed last, once
    merged.bad_subject_codes = {kind: list(values) for kind, values in codes.items()}
    return merged


def generate_city(inbox: Path, start: dt.date, end: dt.date, *, seed: int = 20261122, subjects: int = 2000,
                  defects: DefectRates = DEFAULT_RATES, report_deadline_workdays: int = 7,
                  catalogue: Catalogue | None = None, calendar: WorkdayCalendar | None = None,
                  workers: int = 1) -> GenerationManifest:
    """Write every department's deliveries for the working days of [start, end] into ``inbox``.

    Same arguments give byte-identical files (whatever ``workers``); a day's files do not depend on
    the range around it. ``workers`` > 1 generates chunks of the range in separate processes.
    """
    inbox = Path(inbox)
    catalogue = catalogue or Catalogue.load()
    calendar = calendar or WorkdayCalendar.load()
    days = WorkdayIndex(calendar).between(start, end) if start <= end else []
    if workers <= 1 or len(days) < 2:
        return CityGenerator(inbox, start, end, seed, subjects, defects, report_deadline_workdays, catalogue,
                             calendar).run()
    size = -(-len(days) // workers)
    groups = [days[i:i + size] for i in range(0, len(days), size)]
    chunks: list[Chunk] = [
        (inbox, start if n == 0 else group[0], end if n == len(groups) - 1 else group[-1], seed, subjects,
         defects, report_deadline_workdays, catalogue, calendar, start)
        for n, group in enumerate(groups)]
    # spawn, not fork: the caller may be a multi-threaded Prefect worker.
    with ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_run_chunk, chunks))
    return _merge(parts, parameters(seed, subjects, start, end, report_deadline_workdays, defects))
