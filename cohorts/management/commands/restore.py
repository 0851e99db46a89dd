"""manage.py restore FILE [--force] [--database-url URL] [--json]: restore a backup and verify it."""
import json

from django.core.management.base import BaseCommand, CommandError

from neolight.errors import ApplicationError
from neolight.ops.backup import database_target, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup` into an empty database (the configured one, or --database-url), then "
        "verify it: the ledger's totals, every table's rows and the applied migrations (and, on PostgreSQL, the "
        "ledger's triggers) must equal the manifest's. Exits 1 naming every difference. A database that holds "
        "tables is refused unless --force, which replaces the tables the backup holds."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the dump; its manifest FILE.json must lie beside it")
        parser.add_argument("--force", action="store_true", help="restore even into a database that is not empty")
        parser.add_argument("--database-url", help="restore into this database instead (e.g. a scratch one, to test "
                                                   "a backup): postgres://… or sqlite:///…")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the verification as JSON")

    def handle(self, *args, file, force, database_url, as_json, **options):
        try:
            report = restore(file, target=database_target(database_url), force=force)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        elif report.verified:
            self.stdout.write(
                f"Restored {report.manifest['file']} into {report.database} in {report.seconds:.1f} s and verified "
                f"it: ledger total {report.figures['ledger']['total']}, {len(report.figures['rows'])} tables, "
                "every figure equal to the manifest's.")
        else:
            self.stdout.write(f"Restored into {report.database}, but {len(report.differences)} figure(s) differ "
                              "from the manifest:")
            for difference in report.differences:
                self.stdout.write(f"  - {difference}")
        if not report.verified:
            raise SystemExit(1)
