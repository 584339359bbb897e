"""The memory a finished stage freed goes back to the OS before the next stage starts."""

from __future__ import annotations

import pyarrow as pa
from credit_warehouse.stage_meter import current_rss, release_unused_memory


def test_release_returns_what_pyarrow_kept_after_a_stage_freed_it() -> None:
    arrays = [pa.array(range(start, start + 100_000)) for start in range(0, 20_000_000, 100_000)]
    held = sum(array.nbytes for array in arrays)  # 160 MB in small buffers
    del arrays
    assert pa.total_allocated_bytes() < held // 10  # freed, yet still resident in mimalloc's pages
    before = current_rss()
    released = release_unused_memory()
    assert released > held // 4, f"released {released} bytes of {held}"
    assert current_rss() < before
