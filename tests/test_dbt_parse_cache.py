"""The dbt parse shared across warehouse homes (credit_warehouse.dbt_parse_cache). The end-to-end proof,
a second home building without a full parse and equal to the incremental build, is in
test_daily_load_e2e.py::test_incremental_staging_equals_a_full_rebuild."""

from __future__ import annotations

import os

from credit_warehouse import dbt_parse_cache
from credit_warehouse.dbt_parse_cache import PARSE_FILE, _profile_hash, keep, restore


def connection(path: str, marts: str | None = None) -> list[tuple[str, object]]:
    marts = marts or path.replace("work.duckdb", "marts.duckdb")
    return [("database", "work"), ("schema", "main"), ("path", path), ("settings", {"memory_limit": "3GB"}),
            ("attach", [{"path": marts, "alias": "marts_db", "options": {"storage_version": "v1.4.0"}}])]


def test_the_profile_hash_ignores_where_the_home_is_but_not_the_warehouse_file_names():
    home_a = _profile_hash(connection("/srv/city-a/warehouse/work.duckdb"))
    assert home_a == _profile_hash(connection("/tmp/pytest-1/city/warehouse/work.duckdb"))
    assert home_a != _profile_hash(connection("/srv/city-a/warehouse/other.duckdb"))
    assert home_a != _profile_hash(connection("/srv/city-a/warehouse/work.duckdb", "/srv/city-a/warehouse/m.duckdb"))
    changed = [*connection("/srv/city-a/warehouse/work.duckdb")[:3], ("settings", {"memory_limit": "1GB"}),
               connection("/srv/city-a/warehouse/work.duckdb")[4]]
    assert home_a != _profile_hash(changed)


def test_a_new_home_gets_the_latest_kept_parse_and_its_own_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(dbt_parse_cache, "CACHE_DIR", tmp_path / "cache")
    first, second, third = (tmp_path / home / "target" for home in "abc")
    assert not restore(first, "k1")  # nothing kept yet: dbt parses in full
    first.mkdir(parents=True)
    (first / PARSE_FILE).write_bytes(b"parse of a")
    keep(first, "k1")
    assert restore(second, "k1") and (second / PARSE_FILE).read_bytes() == b"parse of a"

    (second / PARSE_FILE).write_bytes(b"parse of b, dbt re-parsed")
    keep(second, "k1")
    (first / PARSE_FILE).write_bytes(b"a's own, later")
    assert not restore(first, "k1") and (first / PARSE_FILE).read_bytes() == b"a's own, later"
    assert restore(third, "k1") and (third / PARSE_FILE).read_bytes() == b"parse of b, dbt re-parsed"
    assert not restore(tmp_path / "d" / "target", "k2")  # another fingerprint: not this parse


def test_only_the_newest_parses_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(dbt_parse_cache, "CACHE_DIR", tmp_path / "cache")
    home = tmp_path / "home" / "target"
    home.mkdir(parents=True)
    (home / PARSE_FILE).write_bytes(b"parse")
    for n in range(dbt_parse_cache.KEEP + 3):
        keep(home, f"k{n}")
        os.utime(dbt_parse_cache._cached(f"k{n}"), (n, n))  # distinct ages: file times are coarse
    kept = sorted(p.stem.rsplit("-", 1)[-1] for p in (tmp_path / "cache").glob("*.msgpack"))
    assert len(kept) == dbt_parse_cache.KEEP and f"k{dbt_parse_cache.KEEP + 2}" in kept
    assert not list((tmp_path / "cache").glob(".*"))  # no temporary copy left behind


def test_a_homes_own_parse_of_another_project_fingerprint_is_dropped(tmp_path, monkeypatch):
    """After the project changed (a new fingerprint) dbt parses in full, or takes the parse kept for
    the new fingerprint, rather than partially re-parsing the home's old parse."""
    monkeypatch.setattr(dbt_parse_cache, "CACHE_DIR", tmp_path / "cache")
    home = tmp_path / "home" / "target"
    home.mkdir(parents=True)
    (home / PARSE_FILE).write_bytes(b"parse of the old project")
    keep(home, "old")
    assert not restore(home, "old") and (home / PARSE_FILE).exists()  # same project: kept
    assert not restore(home, "new") and not (home / PARSE_FILE).exists()  # dbt parses in full

    other = tmp_path / "other" / "target"
    other.mkdir(parents=True)
    (other / PARSE_FILE).write_bytes(b"parse of the new project")
    keep(other, "new")
    (home / PARSE_FILE).write_bytes(b"parse of the old project, again")
    (home / dbt_parse_cache.PARSE_KEY_FILE).unlink()  # a home of a release without the key file
    assert restore(home, "new") and (home / PARSE_FILE).read_bytes() == b"parse of the new project"
    assert not restore(home, "new") and (home / PARSE_FILE).read_bytes() == b"parse of the new project"
