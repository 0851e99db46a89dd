import uuid

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def expire_running(apps, schema_editor):
    """Cohorts running before leases existed get an expired lease, so the recovery job settles them."""
    Cohort = apps.get_model("cohorts", "Cohort")
    for cohort in Cohort.objects.filter(status="running", lease_token__isnull=True):
        cohort.lease_token, cohort.lease_expires_at = uuid.uuid4(), timezone.now()
        cohort.save(update_fields=["lease_token", "lease_expires_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('cohorts', '0003_ledger_guards'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='cohort',
            name='lease_expires_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='cohort',
            name='lease_token',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(expire_running, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='ledgertransaction',
            name='kind',
            field=models.CharField(choices=[('funding', 'Funding'), ('draw', 'Capital draw'), ('fill', 'Fill'), ('return', 'Return of capital'), ('refund', "Refund of a failed cohort's capital")], max_length=10),
        ),
        migrations.AddIndex(
            model_name='cohort',
            index=models.Index(fields=['status', 'lease_expires_at'], name='cohort_status_lease'),
        ),
        migrations.AddConstraint(
            model_name='cohort',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'running'), _negated=True), models.Q(('lease_expires_at__isnull', False), ('lease_token__isnull', False)), _connector='OR'), name='cohort_running_has_lease'),
        ),
    ]
