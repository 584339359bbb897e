"""Landed inbox files leave the page cache, so a backfill's warehouse files keep it."""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import mmap
import os
import sys
from pathlib import Path

import pytest
from credit_warehouse import page_cache
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import discover, inbox_path
from credit_warehouse.landing import land_files
from credit_warehouse.warehouse import connect, ensure_schema
from test_landing import write_penalties

CATALOGUE = Catalogue.load()
DAY = dt.date(2026, 10, 9)
# Filesystems whose pages are the storage itself: the hint cannot drop them.
MEMORY_FILESYSTEMS = {"tmpfs", "ramfs", "overlay", "squashfs"}


def _filesystem_of(path: Path) -> str:
    best, kind = Path(), ""
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount_point, fs_type, *_ = line.split()
        if path.is_relative_to(mount_point) and len(mount_point) > len(str(best)):
            best, kind = Path(mount_point), fs_type
    return kind


def _require_page_cache(path: Path) -> None:
    if not sys.platform.startswith("linux") or not hasattr(os, "posix_fadvise"):
        pytest.skip("page-cache hints are a Linux feature")
    if _filesystem_of(path.resolve()) in MEMORY_FILESYSTEMS:
        pytest.skip(f"{path} is on a memory filesystem")


def resident_pages(path: Path) -> int:
    """Pages of the file in the page cache (mincore on a private mapping)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    size = path.stat().st_size
    page = mmap.PAGESIZE
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), size, access=mmap.ACCESS_COPY) as mapped:
        view = (ctypes.c_char * size).from_buffer(mapped)
        flags = (ctypes.c_ubyte * ((size + page - 1) // page))()
        try:
            if libc.mincore(ctypes.c_void_p(ctypes.addressof(view)), ctypes.c_size_t(size), flags) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
        finally:
            del view
    return sum(flag & 1 for flag in flags)


def _read_into_cache(path: Path) -> None:
    with path.open("rb") as stream:
        os.fsync(stream.fileno())  # dirty pages are written back first, never dropped
        stream.read()


def test_forget_drops_a_read_file_from_the_page_cache(tmp_path: Path) -> None:
    _require_page_cache(tmp_path)
    path = tmp_path / "feed.csv"
    data = os.urandom(1 << 20)
    path.write_bytes(data)
    _read_into_cache(path)
    assert resident_pages(path) > 0
    assert page_cache.forget(path)
    assert resident_pages(path) == 0
    assert path.read_bytes() == data  # a later read returns the same bytes, from disk


def test_forget_ignores_a_missing_file(tmp_path: Path) -> None:
    assert page_cache.forget(tmp_path / "gone.csv") is False


def test_landing_leaves_no_landed_or_skipped_file_in_the_cache(tmp_path: Path) -> None:
    _require_page_cache(tmp_path)
    inbox = tmp_path / "inbox"
    for day, rows in ((DAY, 3_000), (DAY + dt.timedelta(days=1), 2_000)):
        write_penalties(inbox_path(inbox, "tax", "C03", day, "csv"), rows)
    items = discover(inbox, CATALOGUE)
    with connect(tmp_path / "work.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        for run in ("r1", "r2"):  # landed, then skipped as already loaded: both read the file
            for item in items:
                _read_into_cache(item.path)
                assert resident_pages(item.path) > 0
            results = land_files(con, items, CATALOGUE, run)
            assert {r.outcome for r in results} == ({"landed"} if run == "r1" else {"already_loaded"})
            assert [resident_pages(item.path) for item in items] == [0, 0]
        rows = con.execute("select count(*) from raw.feed_rows").fetchone()[0]
    assert rows == 5_000
