"""Publish with the marts file copied during the steward review (publish.MartsCopy): the same
published warehouse as a copy made by publish itself, a failed or already used copy made again, and
nothing left behind by a load that failed before publish."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest
from credit_warehouse import publish
from credit_warehouse.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    found = load_settings(tmp_path)
    found.ensure_dirs()
    with duckdb.connect(str(found.marts_db)) as con:  # its catalog is named marts too: tables in full
        con.execute("create schema marts")
        con.execute("create table marts.marts.mart_subject_credit_file as select 'S' || i as subject_key, i as n "
                    "from range(50000) as t(i)")
        con.execute("create table marts.marts.dim_category as select 'C' || i as category_code from range(33) as t(i)")
    return found


def published(settings: Settings) -> dict[str, object]:
    with duckdb.connect(str(settings.published_db), read_only=True) as con:
        return {"rows": con.execute("select sum(hash(subject_key, n)), count(*) "
                                    "from marts.mart_subject_credit_file").fetchone(),
                "indexes": sorted(r[0] for r in con.execute("select index_name from duckdb_indexes()").fetchall())}


def leftovers(settings: Settings) -> list[Path]:
    return sorted(settings.warehouse_dir.glob("*.next*"))


def test_a_copy_made_during_the_review_publishes_what_publish_s_own_copy_does(settings):
    publish.publish(settings)
    by_itself = published(settings)
    settings.published_db.unlink()
    copied = publish.start_copy(settings)
    assert copied is not None
    tables = publish.publish(settings, copied)
    copied.discard()  # publish took it: nothing to remove, the published file stays
    assert published(settings) == by_itself and by_itself["indexes"] == ["mart_subject_credit_file__subject_key"]
    assert tables == ["marts.dim_category", "marts.mart_subject_credit_file"] and leftovers(settings) == []


def test_a_failed_copy_or_a_retry_copies_again(settings, monkeypatch, caplog):
    real_copy = publish.copy_file

    def broken(source: Path, target: Path) -> None:
        target.write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(publish, "copy_file", broken)
    copied = publish.start_copy(settings)
    monkeypatch.setattr(publish, "copy_file", real_copy)
    with caplog.at_level(logging.WARNING, logger="credit_warehouse.publish"):
        publish.publish(settings, copied)
    assert "copying again" in caplog.text and published(settings)["rows"][1] == 50000
    assert not copied.take(), "a copy is taken once: a retry of publish copies again"
    copied.discard()
    assert settings.published_db.exists() and leftovers(settings) == []


def test_a_load_that_fails_before_publish_leaves_no_copy_behind(settings):
    copied = publish.start_copy(settings)
    assert copied is not None
    copied.discard()  # the review failed: publish never ran
    assert leftovers(settings) == [] and not settings.published_db.exists()
    settings.marts_db.unlink()
    assert publish.start_copy(settings) is None  # nothing built yet: nothing to copy
