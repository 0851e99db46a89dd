from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cohorts", "0006_ledger_defences")]

    operations = [
        migrations.AddField(
            model_name="instrument",
            name="calendar",
            field=models.CharField(default="24/7", help_text="24/7 (crypto) or an exchange calendar such as XNYS",
                                   max_length=16),
        ),
        migrations.AddField(
            model_name="instrument",
            name="session",
            field=models.CharField(choices=[("regular", "Regular session"),
                                            ("extended", "Extended (pre- and after-market)")],
                                   default="regular",
                                   help_text="which minutes of an exchange's day trade (ignored for 24/7)",
                                   max_length=8),
        ),
    ]
