import django.db.models.deletion
from decimal import Decimal

from django.db import migrations, models

# Settlements are append-only like the ledger rows they record (the function comes from 0003).
GUARD = """
CREATE TRIGGER cohorts_settlement_append_only BEFORE UPDATE OR DELETE ON cohorts_cohortsettlement
    FOR EACH ROW EXECUTE FUNCTION cohorts_ledger_refuse_change();
CREATE TRIGGER cohorts_settlement_no_truncate BEFORE TRUNCATE ON cohorts_cohortsettlement
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_refuse_change();
"""
DROP = """
DROP TRIGGER IF EXISTS cohorts_settlement_append_only ON cohorts_cohortsettlement;
DROP TRIGGER IF EXISTS cohorts_settlement_no_truncate ON cohorts_cohortsettlement;
"""


def record_earlier_settlements(apps, schema_editor):
    """Cohorts settled before this table existed get their row, read from the ledger (what went back to
    the bankroll); one whose refund differs from its draw gets none, so `ledger_check` reports it."""
    Cohort, Entry = apps.get_model("cohorts", "Cohort"), apps.get_model("cohorts", "Entry")
    Settlement = apps.get_model("cohorts", "CohortSettlement")
    for cohort in Cohort.objects.filter(status__in=["completed", "failed"], settlement__isnull=True).select_related("wallet"):
        back = Entry.objects.filter(transaction__cohort=cohort, transaction__kind__in=["return", "refund"],
                                    account__kind="bankroll_cash").values_list("amount", flat=True)
        settled = sum(back, Decimal(0))
        kind = "return" if cohort.status == "completed" else "refund"
        if kind == "return" or settled == cohort.wallet.bankroll:
            Settlement.objects.create(cohort=cohort, kind=kind, drawn=cohort.wallet.bankroll, settled=settled)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('cohorts', '0004_cohort_lease'),
    ]

    operations = [
        migrations.CreateModel(
            name='CohortSettlement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('return', 'Returned at completion'), ('refund', 'Refunded on failure')], max_length=6)),
                ('drawn', models.DecimalField(decimal_places=8, help_text='capital the cohort drew from its bankroll', max_digits=20)),
                ('settled', models.DecimalField(decimal_places=8, help_text='capital that went back to the bankroll', max_digits=20)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('cohort', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='settlement', to='cohorts.cohort')),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['return', 'refund'])), name='settlement_kind_valid'), models.CheckConstraint(condition=models.Q(('settled__gte', 0)), name='settlement_not_negative'), models.CheckConstraint(condition=models.Q(models.Q(('kind', 'refund'), _negated=True), ('settled', models.F('drawn')), _connector='OR'), name='settlement_refund_is_the_draw')],
            },
        ),
        migrations.RunPython(record_earlier_settlements, migrations.RunPython.noop),
        migrations.RunPython(install, remove),
    ]
