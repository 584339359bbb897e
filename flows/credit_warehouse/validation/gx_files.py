"""Great Expectations writes its stores (suites, checkpoints, validation results, Data Docs pages)
with a plain ``open(path, "wb")``: a load killed in the middle of a write leaves a truncated JSON
file that breaks the next run's context. ``apply()`` makes every such write atomic (temporary file
in the same directory, then ``os.replace``), once per process."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomically(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: readers and crashes see the old or the new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def apply() -> None:
    from great_expectations.data_context.store.tuple_store_backend import TupleFilesystemStoreBackend

    if getattr(TupleFilesystemStoreBackend, "_credit_warehouse_atomic", False):
        return

    def _set(self: Any, key: Any, value: Any, **kwargs: Any) -> str:
        if not isinstance(key, tuple):
            key = key.to_tuple()
        filepath = os.path.join(self.full_base_directory, self._convert_key_to_filepath(key))
        write_atomically(filepath, value.encode("utf-8") if isinstance(value, str) else value)
        return filepath

    TupleFilesystemStoreBackend._set = _set
    TupleFilesystemStoreBackend._credit_warehouse_atomic = True
