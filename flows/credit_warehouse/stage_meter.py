"""Wall time and peak resident memory of one stage of a load (ops.run_stages).

The process's peak RSS (``getrusage``) only ever grows, so it cannot say which stage reached it: a
sampling thread reads the current RSS while the stage runs and keeps the highest value. Sampling
every 50 ms can miss a spike shorter than that; the stages that matter hold their memory for seconds.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.05
STATM = Path("/proc/self/statm")
PAGE_BYTES = resource.getpagesize()


def current_rss() -> int:
    """Resident bytes of this process now; where /proc is missing, the peak so far (an upper bound)."""
    try:
        return int(STATM.read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


@dataclass
class StageUsage:
    seconds: float = 0.0
    peak_rss: int = 0


class _Sampler(threading.Thread):
    def __init__(self, usage: StageUsage) -> None:
        super().__init__(name="stage-rss-sampler", daemon=True)
        self.usage, self.done = usage, threading.Event()

    def run(self) -> None:
        while True:
            self.usage.peak_rss = max(self.usage.peak_rss, current_rss())
            if self.done.wait(SAMPLE_SECONDS):
                return


@contextmanager
def metered() -> Iterator[StageUsage]:
    """Measure the block: its wall time and the highest RSS seen while it ran (filled in at exit)."""
    usage = StageUsage(peak_rss=current_rss())
    sampler = _Sampler(usage)
    started = time.perf_counter()
    sampler.start()
    try:
        yield usage
    finally:
        sampler.done.set()
        sampler.join()
        usage.peak_rss = max(usage.peak_rss, current_rss())
        usage.seconds = time.perf_counter() - started
