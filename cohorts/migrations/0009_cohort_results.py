"""Cohorts' large results (curves, correlation, genomes) move to a row of their own; agent count stored;
indexes for the list's order and the header's capital at work."""
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count

HEAVY = ("correlation", "genomes")  # the parts of a summary that grow with the number of agents


def move_results_off_the_row(apps, schema_editor):
    Cohort = apps.get_model("cohorts", "Cohort")
    CohortResult = apps.get_model("cohorts", "CohortResult")
    counts = dict(Cohort.objects.annotate(n=Count("agents")).values_list("pk", "n"))
    for pk in Cohort.objects.order_by("pk").values_list("pk", flat=True):
        cohort = Cohort.objects.only("summary", "equity_curves").get(pk=pk)  # one blob in memory at a time
        summary = dict(cohort.summary or {})
        heavy = {name: summary.pop(name) for name in HEAVY if name in summary}
        if cohort.equity_curves or heavy:
            CohortResult.objects.create(cohort_id=pk, equity_curves=bytes(cohort.equity_curves or b""),
                                        correlation=heavy.get("correlation", []), genomes=heavy.get("genomes", []))
        Cohort.objects.filter(pk=pk).update(summary=summary, agent_count=counts.get(pk, 0))


def move_results_back(apps, schema_editor):
    Cohort = apps.get_model("cohorts", "Cohort")
    CohortResult = apps.get_model("cohorts", "CohortResult")
    for result in CohortResult.objects.order_by("pk").iterator(chunk_size=20):
        summary = Cohort.objects.filter(pk=result.cohort_id).values_list("summary", flat=True).get()
        Cohort.objects.filter(pk=result.cohort_id).update(
            equity_curves=bytes(result.equity_curves) or None,
            summary={**(summary or {}), "genomes": result.genomes, "correlation": result.correlation})


class Migration(migrations.Migration):

    dependencies = [
        ('cohorts', '0008_fill_keys_unconstrained'),
    ]

    operations = [
        migrations.CreateModel(
            name='CohortResult',
            fields=[
                ('cohort', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='result', serialize=False, to='cohorts.cohort')),
                ('equity_curves', models.BinaryField(help_text='compressed npz (cohorts.curves): timestamps, parent (T,), agents (A, T)')),
                ('correlation', models.JSONField(blank=True, default=list, help_text="agents' return correlations (A × A), 4 dp")),
                ('genomes', models.JSONField(blank=True, default=list, help_text='per agent: index, family, params, capital')),
            ],
        ),
        migrations.AddField(
            model_name='cohort',
            name='agent_count',
            field=models.PositiveIntegerField(default=0, help_text='agents launched (written once, at launch)'),
        ),
        migrations.RunPython(move_results_off_the_row, move_results_back, elidable=False),
        migrations.RemoveField(
            model_name='cohort',
            name='equity_curves',
        ),
        migrations.AddIndex(
            model_name='cohort',
            index=models.Index(fields=['-created_at', '-id'], name='cohort_newest_first'),
        ),
        migrations.AddIndex(
            model_name='cohort',
            index=models.Index(fields=['source', 'status'], name='cohort_source_status'),
        ),
        migrations.AlterField(
            model_name='cohort',
            name='summary',
            field=models.JSONField(blank=True, default=dict, help_text='rollups, leaderboard, alerts, limits'),
        ),
    ]
