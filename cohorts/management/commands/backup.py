"""manage.py backup [--output FILE] [--json]: dump the database with a manifest beside it."""
import json

from django.core.management.base import BaseCommand, CommandError

from neolight.errors import ApplicationError
from neolight.ops.backup import backup


class Command(BaseCommand):
    help = (
        "Dump the whole database: PostgreSQL in pg_dump's custom format, the embedded SQLite database as a "
        "consistent copy. A manifest (FILE.json) beside it records the time, size, SHA-256, the ledger's totals "
        "per account kind and overall, the rows of every table and the applied migrations; `restore` checks them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="the dump's path (default: BACKUP_DIR/neolight-<UTC time>.dump)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the manifest as JSON")

    def handle(self, *args, output, as_json, **options):
        try:
            manifest = backup(output=output)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if as_json:
            self.stdout.write(json.dumps(manifest, indent=2))
            return
        ledger = manifest["ledger"]
        self.stdout.write(
            f"Backed up {manifest['database']} to {manifest['file']} ({manifest['size']:,} bytes, "
            f"{manifest['seconds']:.1f} s): {sum(n or 0 for n in manifest['rows'].values()):,} rows in "
            f"{len(manifest['rows'])} tables, ledger total {ledger['total']}. sha256 {manifest['sha256']}")
