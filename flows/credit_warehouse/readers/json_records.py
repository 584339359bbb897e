"""JSON: a list of records, or an object holding it; parsed whole (API pages are small)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from credit_warehouse.readers.common import (
    HEAD_BYTES,
    JSON_LIST_KEYS,
    JSON_NOT_OBJECT,
    Batcher,
    FileRejected,
    RowBatch,
    TableStream,
    blank_note,
    header_score,
    is_blank,
    unrecognised,
)
from credit_warehouse.readers.text import sniff_encoding


def decode_whole(data: bytes) -> tuple[str, str]:
    encoding = sniff_encoding(data[:HEAD_BYTES])
    candidates = [encoding] if encoding not in ("utf-8", "gb18030") else ["utf-8", "gb18030"]
    for candidate in candidates:
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    raise FileRejected("undecodable_text", f"not valid {' or '.join(candidates)}")


def _json_records(document: object) -> list[object]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in JSON_LIST_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
    raise FileRejected("json_wrong_shape", "expected a list of objects or an object with a "
                       f"list under one of {', '.join(JSON_LIST_KEYS)}")


def _keep_duplicate_keys(counter: list[int]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """json.loads hook: a repeated key is kept as ``key_dup`` instead of the last one silently winning."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            name = key
            while name in result:
                name += "_dup"
            counter[0] += name != key
            result[name] = value
        return result

    return hook


def _json_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def json_stream(path: Path, known: set[str]) -> TableStream:
    text, encoding = decode_whole(path.read_bytes())
    duplicates = [0]
    try:
        document = json.loads(text.lstrip("\ufeff"), object_pairs_hook=_keep_duplicate_keys(duplicates)) \
            if text.strip() else None
    except json.JSONDecodeError as exc:
        raise FileRejected("invalid_json", str(exc)) from exc
    if document is None:
        raise FileRejected("empty_file", "the file is empty")
    records = _json_records(document)
    objects = [r for r in records if isinstance(r, dict)]
    if records and not objects:
        raise FileRejected("json_wrong_shape", "the records are not JSON objects")
    headers = list(dict.fromkeys(str(k) for record in objects for k in record))
    if objects and header_score(headers, known) == 0:
        raise unrecognised("among the JSON keys")
    notes = {}
    if duplicates[0]:
        notes["duplicate_headers"] = f"{duplicates[0]} repeated key(s) kept as <key>_dup"
    return TableStream(headers, _json_batches(records, headers, notes), encoding, 1, notes)


def _json_batches(records: list[object], headers: list[str], notes: dict[str, str]) -> Iterator[RowBatch]:
    batcher = Batcher(len(headers))
    for number, record in enumerate(records, start=1):
        if isinstance(record, dict):
            row = [_json_text(record.get(name)) for name in headers]
            if is_blank(row):
                batcher.blank += 1
                continue
            batcher.add(number, row)
        else:
            batcher.add(number, [], JSON_NOT_OBJECT, {"_value": record})
        if (batch := batcher.take()) is not None:
            yield batch
    blank_note(notes, batcher.blank)
    if (batch := batcher.take(1)) is not None:
        yield batch
