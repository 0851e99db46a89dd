"""Gradual rollout: at most one capital step awaits approval per deployment."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('risk', '0004_guardian'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='rolloutstep',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'awaiting')), fields=('deployment',), name='rollout_one_awaiting_step_per_deployment'),
        ),
    ]
