"""manage.py rotate_encryption_keys [--dry-run]: re-encrypt every encrypted value with the newest key."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Cast

from neolight.crypto import UndecryptableValueError, encrypted_fields, rotate


class Rollback(Exception):
    """Ends a dry run's transaction without writing."""


class Command(BaseCommand):
    help = (
        "Re-encrypt every value of every encrypted field (provider keys, and any other model's) with the first key "
        "of FIELD_ENCRYPTION_KEYS, in one transaction. Put the new key first, keep the old ones after it, run this, "
        "then remove the old keys. A value no key can decrypt stops the run and nothing is changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="decrypt and count every value, write nothing")

    def handle(self, *args, dry_run=False, **options):
        counts = []
        try:
            with transaction.atomic():
                for model, field in encrypted_fields():
                    counts.append((f"{model._meta.label}.{field.name}", self._rotate(model, field)))
                if dry_run:
                    raise Rollback
        except UndecryptableValueError as exc:
            raise CommandError(f"{exc}\nNothing was changed.") from None
        except Rollback:
            pass
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        for label, count in counts:
            self.stdout.write(f"{label}: {count} value(s) {verb}")
        total = sum(count for _, count in counts)
        self.stdout.write(f"{total} value(s) in {len(counts)} field(s) {verb} with the newest key"
                          + (" (dry run: nothing written)." if dry_run else "."))

    @staticmethod
    def _rotate(model, field) -> int:
        """Rotates one column row by row; the stored text is read and written as is, never decrypted by the ORM."""
        rows = (model._base_manager.filter(**{f"{field.name}__isnull": False}).order_by("pk")
                .select_for_update().values_list("pk", Cast(F(field.name), TextField())))
        count = 0
        for pk, token in rows:
            fresh = rotate(token, label=f"{model._meta.label}.{field.name} (row {pk})")
            model._base_manager.filter(pk=pk).update(**{field.name: Value(fresh, output_field=TextField())})
            count += 1
        return count
