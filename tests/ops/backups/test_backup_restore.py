"""A backup restored into a fresh database holds the same ledger and rows, and says so; refusals say why."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cohorts.models import Entry
from neolight.ops.backup import backup, backups_prune, restore


def test_pg_backup_then_restore_into_a_fresh_database_gives_the_same_ledger_and_rows(
        posted_cohort, fresh_postgres, tmp_path, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump / pg_restore")
    call_command("backup", "--output", str(tmp_path / "neolight.dump"), "--json")
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["sha256"] and manifest["size"] == (tmp_path / "neolight.dump").stat().st_size
    # the manifest's figures are the live database's
    assert manifest["rows"]["cohorts_entry"] == Entry.objects.count() > 0
    assert manifest["rows"]["cohorts_fill"] == posted_cohort.fills.count() > 0
    assert Decimal(manifest["ledger"]["by_kind"]["external_capital"]) < 0
    assert manifest["ledger"]["total"] == "0.00000000"
    assert "cohorts_entry.cohorts_entry_no_truncate" in manifest["triggers"]

    report = restore(tmp_path / "neolight.dump", target=fresh_postgres)

    assert report.differences == []
    assert report.figures["ledger"] == manifest["ledger"]
    assert report.figures["rows"] == manifest["rows"]
    # the restored ledger is guarded again: its append-only triggers came back and refuse a change
    import psycopg

    with psycopg.connect(dbname=fresh_postgres["NAME"], host=fresh_postgres["HOST"] or None,
                         port=fresh_postgres["PORT"] or None, user=fresh_postgres["USER"] or None,
                         password=fresh_postgres["PASSWORD"] or None) as restored:
        with pytest.raises(psycopg.Error, match="(?i)append-only|refuse|not allowed|cannot"):
            restored.execute("DELETE FROM cohorts_entry")


def test_restore_refuses_a_database_that_is_not_empty_and_a_damaged_file(db, tmp_path):
    dump = tmp_path / f"neolight{'.dump' if connection.vendor == 'postgresql' else '.sqlite3'}"
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory test database cannot be dumped by another connection")
    backup(output=dump)

    with pytest.raises(CommandError, match=r"is not empty: it holds \d+ table\(s\).*--force"):
        call_command("restore", str(dump))

    # a damaged dump is refused before anything is touched
    damaged = tmp_path / f"damaged{dump.suffix}"
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 0xFF
    damaged.write_bytes(bytes(content))
    (tmp_path / f"{damaged.name}.json").write_text((tmp_path / f"{dump.name}.json").read_text()
                                                    .replace(dump.name, damaged.name))
    with pytest.raises(CommandError, match="does not match its manifest's SHA-256"):
        call_command("restore", str(damaged), "--force")


def test_a_changed_figure_is_named_and_exits_1(tmp_path, capsys):
    """SQLite (the embedded mode): a manifest that disagrees with the dump's contents fails the restore."""
    import sqlite3

    source = tmp_path / "source.sqlite3"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE django_migrations (id integer primary key, app text, name text, applied text)")
        conn.execute("INSERT INTO django_migrations (app, name) VALUES ('cohorts', '0001_initial')")
    dump = tmp_path / "copy.sqlite3"
    manifest = backup(output=dump, target={"ENGINE": "django.db.backends.sqlite3", "NAME": str(source)})
    assert manifest["rows"]["django_migrations"] == 1
    manifest["rows"]["django_migrations"] = 2  # as if a row had gone missing
    (tmp_path / "copy.sqlite3.json").write_text(json.dumps(manifest))

    with pytest.raises(SystemExit) as exited:
        call_command("restore", str(dump), "--database-url", f"sqlite:///{tmp_path / 'restored.sqlite3'}")
    assert exited.value.code == 1
    assert "table django_migrations: 1 rows restored, 2 in the manifest" in capsys.readouterr().out


def test_scheduled_backups_keep_the_newest(tmp_path, settings):
    import sqlite3

    settings.BACKUP_DIR = tmp_path
    source = tmp_path / "source.sqlite3"
    sqlite3.connect(source).close()
    target = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(source)}
    made = []
    for hour in range(4):
        manifest = backup(output=tmp_path / f"neolight-2026010{hour}.sqlite3", target=target)
        manifest["created_at"] = f"2026-01-0{hour + 1}T00:00:00+00:00"
        (tmp_path / f"{manifest['file']}.json").write_text(json.dumps(manifest))
        made.append(manifest["file"])

    assert sorted(backups_prune(keep=2)) == made[:2]
    assert sorted(p.name for p in tmp_path.glob("neolight-*")) == sorted(
        [made[2], f"{made[2]}.json", made[3], f"{made[3]}.json"])
