"""dbt's parse of the project, shared by every warehouse home.

dbt keeps its parse (``partial_parse.msgpack``) in each target directory, so every new home paid a
full parse: ~15 s for 54 models and ~590 data tests, most of a small load's dbt step. The parse does
not depend on the home, but dbt's state check hashes the profile's connection values, and the
``path`` value names the home's warehouse file (and each ``attach`` entry the home's marts file), so
dbt rejected another home's parse. ``apply`` makes that hash use the files' names (what the relations
are named after: ``work``) instead of their full paths. Everything else is still checked by dbt
against the copied parse (every file's hash, vars, env vars, dbt version), and it re-parses what
changed.

The parse is kept in ``dbt_project/target/parse-cache``, one file per dbt version and project
fingerprint (``transform.fingerprint``: project files, seeds, vars, package version), the latest a
build left.
"""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from credit_warehouse.settings import DBT_PROJECT_DIR
from credit_warehouse.validation.gx_files import write_atomically

CACHE_DIR = DBT_PROJECT_DIR / "target" / "parse-cache"
PARSE_FILE = "partial_parse.msgpack"
PARSE_KEY_FILE = "partial_parse.key"  # the fingerprint the home's own parse was made for
KEEP = 8  # parses kept (one per fingerprint): projects under edit and homes with other vars

_applied = False


def _home_free(key: str, value: Any) -> Any:
    """A connection value without the home's directory: file names of the warehouse and attachments."""
    if key == "path" and isinstance(value, str):
        return Path(value).name
    if key == "attach" and isinstance(value, list):
        return [{**entry, "path": Path(entry["path"]).name} if isinstance(entry, dict) and "path" in entry
                else entry for entry in value]
    return value


def _profile_hash(connection_info: list[tuple[str, Any]]) -> Any:
    """dbt's own profile hash (ManifestLoader.build_manifest_state_check), over the paths' file names."""
    from dbt.contracts.files import FileHash

    pairs = sorted((key, _home_free(key, value)) for key, value in connection_info)
    return FileHash.from_contents(pprint.pformat(pairs))


def apply() -> None:
    """Patch dbt's state check once per process (dbt-core 1.11; see the module docstring)."""
    global _applied
    if _applied:
        return
    from dbt.parser.manifest import ManifestLoader

    original = ManifestLoader.build_manifest_state_check

    def build_manifest_state_check(self: Any) -> Any:
        check = original(self)
        check.profile_hash = _profile_hash(list(self.root_project.credentials.connection_info()))
        return check

    ManifestLoader.build_manifest_state_check = build_manifest_state_check
    _applied = True


def _cached(key: str) -> Path:
    from dbt.version import __version__ as dbt_version

    return CACHE_DIR / f"{dbt_version}-{key}.msgpack"


def restore(target: Path, key: str) -> bool:
    """Give a home without a parse of its own the shared one; True if copied. A home's own parse of
    another fingerprint (the project changed since) is dropped first: dbt's partial parse of a changed
    project kept the generic tests of a builtin (``relationships``) bound to dbt's macro when a project
    macro newly overrode it, and their compilation then failed (``'credit_warehouse' is undefined``)."""
    own, shared = target / PARSE_FILE, _cached(key)
    if own.exists() and _parsed_for(target) != key:
        own.unlink()
    if own.exists() or not shared.exists():
        return False
    write_atomically(own, shared.read_bytes())  # a crash mid-copy leaves no half-written parse
    _mark(target, key)
    return True


def _parsed_for(target: Path) -> str | None:
    """The fingerprint the home's own parse was made for (None: unknown, an earlier release's)."""
    marker = target / PARSE_KEY_FILE
    return marker.read_text() if marker.exists() else None


def _mark(target: Path, key: str) -> None:
    """Record the fingerprint of the home's own parse (written only when it changes)."""
    if _parsed_for(target) != key:
        write_atomically(target / PARSE_KEY_FILE, key.encode())


def keep(target: Path, key: str) -> None:
    """Share this home's parse when it is not the one kept (dbt re-parsed, e.g. after a dbt upgrade or
    with another memory limit in the profile); drop the oldest beyond KEEP."""
    own, shared = target / PARSE_FILE, _cached(key)
    if not own.exists():
        return
    _mark(target, key)
    parse = own.read_bytes()
    if shared.exists() and shared.read_bytes() == parse:
        return
    write_atomically(shared, parse)
    for old in sorted(CACHE_DIR.glob("*.msgpack"), key=_mtime, reverse=True)[KEEP:]:
        old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by another process meanwhile
        return 0.0

