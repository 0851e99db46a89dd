from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("risk", "0003_ladder")]
    operations = [
        migrations.AddField(
            model_name="breaker", name="data",
            field=models.JSONField(blank=True, default=dict,
                                   help_text="what the rule carries between bars: the day's open equity, the losses "
                                             "in a row, the error window's start"),
        ),
    ]
