"""Fault injection for the crash-safety tests: SIGKILL this process at a named point of a load.

``CREDITWH_FAULT_POINT=<point>[:<n>]`` kills the process the n-th time (default 1st) the load
reaches ``<point>``. SIGKILL, not an exception: nothing can clean up, exactly like ``kill -9``, an
OOM kill or a power cut of the process. Unset (production), ``reached`` only reads a dict.

Points (see README "Guarantees"): ``land`` (inside a file's landing transaction, rows inserted,
not committed; n = file), ``validate`` (Great Expectations ran, row issues not committed), ``dbt``
(after the n-th dbt node finished), ``checks`` (mart checks ran, results not recorded),
``publish`` (n-th table copied into the new published file), ``swap`` (new published file
complete, not yet swapped in).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from typing import Any

ENV_VAR = "CREDITWH_FAULT_POINT"
POINTS = ("land", "validate", "dbt", "checks", "publish", "swap")
_hits: Counter[str] = Counter()


def _target() -> tuple[str, int] | None:
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    point, _, nth = value.partition(":")
    if point not in POINTS:
        raise ValueError(f"{ENV_VAR}={value!r}: unknown point, expected one of {', '.join(POINTS)}")
    return point, int(nth or 1)


def reached(point: str) -> None:
    """Mark that the load reached ``point``; die here if the fault targets this hit."""
    target = _target()
    if target is None or target[0] != point:
        return
    _hits[point] += 1
    if _hits[point] == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def dbt_callbacks() -> list[Any]:
    """dbtRunner callbacks that count finished nodes for the ``dbt`` point (none when not armed)."""
    target = _target()
    if target is None or target[0] != "dbt":
        return []

    def on_event(event: Any) -> None:
        if event.info.name == "NodeFinished":
            reached("dbt")

    return [on_event]
