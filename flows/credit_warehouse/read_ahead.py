"""Parse inbox files in worker processes ahead of landing, so a backfill uses every core.

Landing has one writer (the DuckDB connection), and parsing ran in it, on one core of two. Parsing
is pure Python/C++ on the file's bytes, so workers can do it while the landing process inserts: a
week of a 1,000,000-subject city (1,555 files, 1.5M rows) landed in 20.5 s before, 13.5 s with the
workers (the landing process's own CPU 11.2 s). Files still land one by one, in order, in the
landing process: the workers only hand back what ``open_table`` would have streamed (headers,
batches, notes), so what lands is the same.

Files up to ``MAX_FILE_BYTES`` go to the workers (larger ones stream through
``landing._prefetched``), at most ``WINDOW_FILES`` files or ``WINDOW_BYTES`` of input ahead, so
memory stays bounded; only when there are enough files to pay for the workers' start-up, and only
files that landing will read (not landed before, not a re-delivery of a file already sent to a
worker).
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import InboxFile
from credit_warehouse.readers import READ_MODES, FileRejected, ReadAgain, RowBatch, TableStream, open_table
from credit_warehouse.worker_process import module_command, worker_count, worker_env

# Files under this size are parsed whole in a worker; larger ones stream in the landing process. A
# month's utility files (~30 MiB at 1,000,000 subjects) are under it: streamed, they were parsed on
# the landing process's core.
MAX_FILE_BYTES = 64 << 20
# Fewer files to parse than this: not worth starting workers (~1 s each of imports).
MIN_FILES = 64
# Files parsed or being parsed ahead of landing, and their input bytes (the memory bound). A deep
# window lets a slow file (a 12 MiB workbook: ~4 s) be parsed long before landing reaches it: on a
# 1,000,000-subject week, 8 files ahead landed in 18 s and 512 or more in 13.5 s (one run each way).
WINDOW_FILES, WINDOW_BYTES = 1024, 256 << 20


@dataclass
class ParsedTable:
    """What ``open_table`` streams for a file, read to the end (notes are then complete)."""

    headers: list[str]
    batches: list[RowBatch]
    encoding: str | None
    header_row: int
    notes: dict[str, str] = field(default_factory=dict)

    def stream(self) -> TableStream:
        return TableStream(self.headers, iter(self.batches), self.encoding, self.header_row, self.notes)


@dataclass(frozen=True)
class Unreadable:
    """The file's rejection (``FileRejected`` does not pickle: its constructor takes two arguments)."""

    reason_code: str
    detail: str


def parse_file(path: str, file_format: str, known_headers: frozenset[str]) -> ParsedTable | Unreadable:
    """Read a file whole, retrying in the next mode as landing does; runs in a worker process."""
    mode = READ_MODES[0]
    while True:
        try:
            with open(path, "rb") as stream:
                table = open_table(Path(path), file_format, set(known_headers), stream, mode)
                batches = list(table.batches)
            return ParsedTable(table.headers, batches, table.encoding, table.header_row, table.notes)
        except ReadAgain as again:
            mode = again.mode
        except FileRejected as exc:
            return Unreadable(exc.reason_code, exc.detail)
        except Exception as exc:  # noqa: BLE001 - any parser error is this file's problem, as in landing
            rejected = FileRejected.unreadable(exc)
            return Unreadable(rejected.reason_code, rejected.detail)


class WorkerDied(RuntimeError):
    """A parse worker exited (killed, out of memory): landing reads the file itself."""


Job = tuple[Future, tuple[str, str, frozenset[str]]]


class ParsePool:
    """Worker processes running ``python -m credit_warehouse.read_ahead``: a request (pickled
    arguments of ``parse_file``) in on stdin, its result out on stdout, one at a time, fed by one
    thread per worker.

    Started by ``worker_process`` (not ``multiprocessing``: see there).
    """

    def __init__(self, workers: int) -> None:
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        env = worker_env()
        self.processes = [subprocess.Popen(module_command("credit_warehouse.read_ahead"), env=env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(workers)]
        self.threads = [threading.Thread(target=self._feed, args=(process,), name="read-ahead", daemon=True)
                        for process in self.processes]
        for thread in self.threads:
            thread.start()

    def submit(self, path: str, file_format: str, known: frozenset[str]) -> Future[ParsedTable | Unreadable]:
        future: Future[ParsedTable | Unreadable] = Future()
        self.jobs.put((future, (path, file_format, known)))
        return future

    def shutdown(self) -> None:
        """Cancel what no worker started, let the workers finish, and wait for them to exit."""
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()

    def _feed(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        alive = True
        while (job := self.jobs.get()) is not None:
            future, arguments = job
            if not future.set_running_or_notify_cancel():
                continue
            if not alive:
                future.set_exception(WorkerDied("the parse worker exited"))
                continue
            try:
                pickle.dump(arguments, process.stdin, pickle.HIGHEST_PROTOCOL)
                process.stdin.flush()
                future.set_result(pickle.load(process.stdout))
            except Exception as exc:  # noqa: BLE001 - any failure of the worker: landing reads the file itself
                alive = False
                future.set_exception(WorkerDied(f"the parse worker exited: {exc!r}"))
        with contextlib.suppress(OSError):
            process.stdin.close()  # the worker exits at the end of its input
        process.wait()


def serve() -> None:
    """A worker's loop: parse the requested files until the input ends (the landing process closed it
    or died). Anything printed goes to stderr: stdout carries only the results."""
    requests, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    while True:
        try:
            path, file_format, known = pickle.load(requests)
        except EOFError:
            return
        pickle.dump(parse_file(path, file_format, known), results, pickle.HIGHEST_PROTOCOL)
        results.flush()


class ReadAhead:
    """Submits the files (under ``MAX_FILE_BYTES``) after the one being landed to the workers, a bounded window ahead.

    ``wanted(item)`` says whether landing will read the file and returns its hash (``None``: it is
    rejected or was landed before); two files with the same bytes are parsed once, the second being
    a duplicate delivery.
    """

    def __init__(self, items: list[InboxFile], catalogue: Catalogue, wanted: Callable[[InboxFile], str | None],
                 workers: int | None = None, min_files: int = MIN_FILES) -> None:
        self.items, self.catalogue, self.wanted = items, catalogue, wanted
        self.workers = worker_count() if workers is None else workers
        sizes = {i: item.path.stat().st_size for i, item in enumerate(items) if item.recognised and item.file_format}
        self.sizes = {i: size for i, size in sizes.items() if size < MAX_FILE_BYTES}
        self.candidates = sorted(self.sizes)
        self.pool: ParsePool | None = None
        if self.workers > 1 and len(self.candidates) >= min_files:
            self.pool = ParsePool(self.workers)
        self.pending: dict[int, Future[ParsedTable | Unreadable]] = {}
        self.pending_bytes = 0
        self.next = 0  # position in candidates of the next file to consider
        self.sent: set[str] = set()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            for future in self.pending.values():
                future.cancel()
            self.pool.shutdown()

    def take(self, index: int) -> Future[ParsedTable | Unreadable] | None:
        """The parse of ``items[index]`` if a worker has it, after topping up the window."""
        if self.pool is not None:
            self._fill(index)
        future = self.pending.pop(index, None)
        if future is not None:
            self.pending_bytes -= self.sizes[index]
        return future

    def _window_full(self) -> bool:
        return bool(self.pending) and (len(self.pending) >= WINDOW_FILES or self.pending_bytes >= WINDOW_BYTES)

    def _fill(self, index: int) -> None:
        assert self.pool is not None
        while self.next < len(self.candidates) and not self._window_full():
            position = self.candidates[self.next]
            self.next += 1
            item = self.items[position]
            sha = self.wanted(item) if position >= index else None
            if sha is None or sha in self.sent:
                continue
            self.sent.add(sha)
            known = frozenset(self.catalogue.header_map(item.category_code or ""))
            self.pending[position] = self.pool.submit(str(item.path), item.file_format or "", known)
            self.pending_bytes += self.sizes[position]


if __name__ == "__main__":
    # The module's own serve, not this __main__ copy's: results must pickle as credit_warehouse.read_ahead types.
    from credit_warehouse.read_ahead import serve as serve_module

    serve_module()
