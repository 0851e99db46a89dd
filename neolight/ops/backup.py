"""Backups and restore of the whole database, each dump with a manifest that proves what it holds.

A backup is one file — PostgreSQL's custom format (`pg_dump -Fc`) or, in the embedded mode, a copy of the SQLite
database made with SQLite's online backup API — and a manifest beside it (`<file>.json`): when it was made, its
size and SHA-256, the ledger's totals per account kind and overall (Decimal strings), the count of rows of every
table, the applied migrations and, on PostgreSQL, the triggers that guard the ledger. On PostgreSQL the figures are
read inside the very snapshot the dump is taken from (`pg_export_snapshot()` / `pg_dump --snapshot`), so the
manifest describes the dump exactly even while cohorts keep posting.

A restore goes into an empty database (a non-empty one is refused unless forced), then reads the same figures
from the restored database and names every one that differs from the manifest's.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import environ
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from neolight.errors import ApplicationError
from neolight.money import QUANTUM

FORMAT = "neolight-backup/1"
SUFFIX = {"postgresql": ".dump", "sqlite": ".sqlite3"}
LEDGER_TABLES = ("cohorts_entry", "cohorts_account")


class BackupError(ApplicationError):
    """A backup or restore that could not be made (a tool failed, a file is missing or altered)."""


@dataclass
class RestoreReport:
    file: str
    database: str
    seconds: float
    manifest: dict[str, Any]
    figures: dict[str, Any]
    differences: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "database": self.database, "seconds": round(self.seconds, 3),
                "verified": self.verified, "differences": self.differences,
                "ledger": self.figures["ledger"], "rows": self.figures["rows"]}


# --- targets: a database described by Django's settings dict ------------------------------------------------------

def database_target(url: str | None = None) -> dict[str, Any]:
    """The settings of the database to work on: `url` (postgres://… or sqlite:///…) or the default database's."""
    if url:
        return environ.Env.db_url_config(url)
    return dict(settings.DATABASES["default"])


def _vendor(target: dict[str, Any]) -> str:
    engine = target["ENGINE"]
    if "postgresql" in engine:
        return "postgresql"
    if "sqlite3" in engine:
        return "sqlite"
    raise BackupError(f"Backups cover PostgreSQL and SQLite databases, not {engine}.", field="database")


def _label(target: dict[str, Any]) -> str:
    if _vendor(target) == "sqlite":
        return str(target["NAME"])
    return f"{target.get('HOST') or 'localhost'}:{target.get('PORT') or 5432}/{target['NAME']}"


def _pg_env(target: dict[str, Any]) -> dict[str, str]:
    """The libpq environment of the PostgreSQL tools (the password never appears on a command line)."""
    env = {**os.environ, "PGDATABASE": str(target["NAME"])}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if target.get(key):
            env[var] = str(target[key])
    return env


def _pg_connect(target: dict[str, Any]):
    import psycopg

    return psycopg.connect(dbname=target["NAME"], host=target.get("HOST") or None,
                           port=target.get("PORT") or None, user=target.get("USER") or None,
                           password=target.get("PASSWORD") or None)


# --- figures: what a manifest records and a restore is checked against ------------------------------------------

def model_tables() -> list[str]:
    """Every table of the installed apps' models (many-to-many tables included) and django_migrations."""
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)
              if model._meta.managed and not model._meta.proxy}
    return sorted(tables | {"django_migrations"})


def _existing_tables(cursor, vendor: str) -> set[str]:
    if vendor == "postgresql":
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {row[0] for row in cursor.fetchall()}


def figures(cursor, vendor: str) -> dict[str, Any]:
    """Ledger totals, row counts, applied migrations (and on PostgreSQL the ledger's triggers) read through a
    DB-API `cursor`; a table the database lacks counts as None."""
    existing = _existing_tables(cursor, vendor)
    rows: dict[str, int | None] = {}
    for table in model_tables():
        if table in existing:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (names of the project's own tables)
            rows[table] = int(cursor.fetchone()[0])
        else:
            rows[table] = None
    return {"ledger": _ledger_totals(cursor, vendor, existing), "rows": rows,
            "migrations": _migrations(cursor, existing), "triggers": _triggers(cursor) if vendor == "postgresql" else []}


def _ledger_totals(cursor, vendor: str, existing: set[str]) -> dict[str, Any]:
    by_kind: dict[str, Decimal] = {}
    if set(LEDGER_TABLES) <= existing:
        if vendor == "postgresql":  # exact NUMERIC sums in the database
            cursor.execute("SELECT a.kind, SUM(e.amount) FROM cohorts_entry e "
                           "JOIN cohorts_account a ON a.id = e.account_id GROUP BY a.kind")
            by_kind = {kind: Decimal(total) for kind, total in cursor.fetchall()}
        else:  # SQLite's SUM is a float: add the stored amounts as Decimals instead
            cursor.execute("SELECT a.kind, e.amount FROM cohorts_entry e JOIN cohorts_account a ON a.id = e.account_id")
            for kind, amount in cursor.fetchall():
                by_kind[kind] = by_kind.get(kind, Decimal(0)) + Decimal(str(amount)).quantize(QUANTUM)
    total = sum(by_kind.values(), Decimal(0))
    return {"by_kind": {kind: f"{value.quantize(QUANTUM):f}" for kind, value in sorted(by_kind.items())},
            "total": f"{total.quantize(QUANTUM):f}"}


def _migrations(cursor, existing: set[str]) -> dict[str, list[str]]:
    if "django_migrations" not in existing:
        return {}
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    applied: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        applied.setdefault(app, []).append(name)
    return applied


def _triggers(cursor) -> list[str]:
    """The enabled user triggers of the schema, as "table.trigger" (the ledger's guards among them)."""
    cursor.execute("SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                   "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relnamespace = current_schema()::text::regnamespace")
    return sorted(f"{table}.{name}" for table, name in cursor.fetchall())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


# --- backup ------------------------------------------------------------------------------------------------------

def backup(*, output: Path | str | None = None, target: dict[str, Any] | None = None) -> dict[str, Any]:
    """Dumps the database (`target`, the default one unless given) to `output` (BACKUP_DIR/neolight-<UTC time>
    by default) and writes the manifest beside it; returns the manifest. Nothing is left behind on failure."""
    target = target or database_target()
    vendor = _vendor(target)
    started = time.monotonic()
    now = timezone.now()
    path = Path(output) if output else Path(settings.BACKUP_DIR) / f"neolight-{now:%Y%m%dT%H%M%SZ}{SUFFIX[vendor]}"
    if path.exists():
        raise BackupError(f"{path} already exists; name another file.", field="output")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        found = _dump_postgresql(target, path) if vendor == "postgresql" else _dump_sqlite(target, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    manifest = {"format": FORMAT, "created_at": now.isoformat(), "engine": vendor, "database": _label(target),
                "file": path.name, "size": path.stat().st_size, "sha256": sha256(path),
                "seconds": round(time.monotonic() - started, 3), **found}
    manifest_path(path).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _dump_postgresql(target: dict[str, Any], path: Path) -> dict[str, Any]:
    """pg_dump -Fc from the snapshot the figures are read in."""
    import psycopg

    with _pg_connect(target) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            found = figures(cursor, "postgresql")
            done = subprocess.run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={path}"],
                                  env=_pg_env(target), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    return found


def _dump_sqlite(target: dict[str, Any], path: Path) -> dict[str, Any]:
    """A consistent copy through SQLite's online backup API; the figures are read from the copy."""
    source = sqlite3.connect(str(target["NAME"]))
    copy = sqlite3.connect(str(path))
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        return figures(copy.cursor(), "sqlite")
    finally:
        copy.close()
        source.close()


def backups_prune(*, directory: Path | str | None = None, keep: int | None = None) -> list[str]:
    """Deletes all but the `keep` (BACKUP_KEEP) newest backups of `directory` (BACKUP_DIR), each with its
    manifest; returns the names deleted. Only files that have a manifest of this format are considered."""
    directory = Path(directory or settings.BACKUP_DIR)
    keep = settings.BACKUP_KEEP if keep is None else keep
    if keep < 1:
        raise BackupError("At least one backup must be kept.", field="keep")
    made = []
    for manifest_file in directory.glob("neolight-*.json"):
        try:
            manifest = json.loads(manifest_file.read_text())
        except (OSError, ValueError):
            continue
        dump = directory / str(manifest.get("file", ""))
        if manifest.get("format") == FORMAT and manifest_path(dump) == manifest_file:
            made.append((str(manifest.get("created_at", "")), dump, manifest_file))
    made.sort(reverse=True)
    deleted = []
    for _created, dump, manifest_file in made[keep:]:
        dump.unlink(missing_ok=True)
        manifest_file.unlink(missing_ok=True)
        deleted.append(dump.name)
    return deleted


def backup_scheduled() -> dict[str, Any]:
    """Beat's backup: a new dump in BACKUP_DIR, then all but the BACKUP_KEEP newest deleted."""
    manifest = backup()
    return {"file": manifest["file"], "size": manifest["size"], "deleted": backups_prune()}


# --- restore -----------------------------------------------------------------------------------------------------

def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the backup at `path`, after checking the file is the one it describes."""
    if not path.is_file():
        raise BackupError(f"There is no backup file {path}.", field="file")
    beside = manifest_path(path)
    if not beside.is_file():
        raise BackupError(f"{path} has no manifest ({beside.name} is missing): it cannot be verified.", field="file")
    manifest = json.loads(beside.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{beside.name} is not a NeoLight backup manifest.", field="file")
    if sha256(path) != manifest["sha256"]:
        raise BackupError(f"{path.name} does not match its manifest's SHA-256: the file is damaged or altered.",
                          field="file")
    return manifest


def _tables_in(target: dict[str, Any]) -> list[str]:
    vendor = _vendor(target)
    if vendor == "sqlite":
        if not Path(target["NAME"]).exists():
            return []
        with sqlite3.connect(str(target["NAME"])) as conn:
            return sorted(_existing_tables(conn.cursor(), vendor))
    with _pg_connect(target) as conn, conn.cursor() as cursor:
        return sorted(_existing_tables(cursor, vendor))


def restore(path: Path | str, *, target: dict[str, Any] | None = None, force: bool = False) -> RestoreReport:
    """Restores the backup at `path` into `target` (the default database unless given), which must be empty
    unless `force` (then the dump's tables are dropped and recreated), and compares the restored database's
    figures with the manifest's; the report names every difference."""
    path = Path(path)
    target = target or database_target()
    vendor = _vendor(target)
    manifest = read_manifest(path)
    if manifest["engine"] != vendor:
        raise BackupError(f"{path.name} is a {manifest['engine']} backup; it cannot be restored into a {vendor} "
                          "database.", field="file")
    tables = _tables_in(target)
    if tables and not force:
        shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
        raise BackupError(f"The database {_label(target)} is not empty: it holds {len(tables)} table(s) ({shown}). "
                          "Restore into an empty database, or pass --force to replace what it holds.", field="database")
    started = time.monotonic()
    if vendor == "postgresql":
        found = _restore_postgresql(path, target, clean=bool(tables))
    else:
        found = _restore_sqlite(path, target)
    report = RestoreReport(file=str(path), database=_label(target), seconds=time.monotonic() - started,
                           manifest=manifest, figures=found)
    report.differences = compare(manifest, found)
    return report


def _restore_postgresql(path: Path, target: dict[str, Any], *, clean: bool) -> dict[str, Any]:
    """pg_restore in one transaction (all or nothing). Tables, data, then indexes, constraints and the ledger's
    triggers, as the custom format orders them, so the guards do not fire on rows that were checked when posted.
    Objects end up owned by the restoring role; grants are re-made with `manage.py db_app_role`."""
    command = ["pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
               f"--dbname={target['NAME']}", str(path)]
    if clean:
        command[1:1] = ["--clean", "--if-exists"]
    done = subprocess.run(command, env=_pg_env(target), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed, nothing was restored: {done.stderr.strip()[-500:]}")
    with _pg_connect(target) as conn, conn.cursor() as cursor:
        return figures(cursor, "postgresql")


def _restore_sqlite(path: Path, target: dict[str, Any]) -> dict[str, Any]:
    Path(target["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    into = sqlite3.connect(str(target["NAME"]))
    try:
        source.backup(into)
        return figures(into.cursor(), "sqlite")
    finally:
        into.close()
        source.close()


def compare(manifest: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Every figure of the restored database that differs from the manifest's, in words."""
    differences = []
    want, got = manifest["ledger"], found["ledger"]
    for kind in sorted(set(want["by_kind"]) | set(got["by_kind"])):
        if want["by_kind"].get(kind) != got["by_kind"].get(kind):
            differences.append(f"ledger {kind}: {got['by_kind'].get(kind)} restored, "
                               f"{want['by_kind'].get(kind)} in the manifest")
    if want["total"] != got["total"]:
        differences.append(f"ledger total: {got['total']} restored, {want['total']} in the manifest")
    for table in sorted(set(manifest["rows"]) | set(found["rows"])):
        if table in manifest["rows"] and manifest["rows"][table] != found["rows"].get(table):
            differences.append(f"table {table}: {found['rows'].get(table)} rows restored, "
                               f"{manifest['rows'][table]} in the manifest")
    if manifest["migrations"] != found["migrations"]:
        differences.append("applied migrations differ from the manifest's")
    missing = sorted(set(manifest.get("triggers", [])) - set(found.get("triggers", [])))
    if missing:
        differences.append(f"triggers missing or disabled: {', '.join(missing)}")
    return differences
