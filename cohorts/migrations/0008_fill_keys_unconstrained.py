import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cohorts', '0007_instrument_calendar'),
    ]

    operations = [
        migrations.AlterField(
            model_name='fill',
            name='agent',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='fills', to='cohorts.agent'),
        ),
        migrations.AlterField(
            model_name='fill',
            name='cohort',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='fills', to='cohorts.cohort'),
        ),
        migrations.AlterField(
            model_name='fill',
            name='instrument',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, to='cohorts.instrument'),
        ),
        migrations.AlterField(
            model_name='fill',
            name='transaction',
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='fill', to='cohorts.ledgertransaction'),
        ),
    ]
