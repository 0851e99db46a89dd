"""Gradual rollout: a capital step ends a deployment (superseded) and starts its successor on the same request.

`request` becomes a foreign key (a request backs its first deployment and that one's successors) with a partial
unique constraint so a request still deploys once; `predecessor` is unique, so a deployment has one successor.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cohorts', '0012_live_cohorts'),
        ('promotions', '0007_log_mode'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='deployment',
            name='deployment_status_valid',
        ),
        migrations.AddField(
            model_name='deployment',
            name='predecessor',
            field=models.OneToOneField(blank=True, help_text='the deployment whose capital step it continues', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='successor', to='promotions.deployment'),
        ),
        migrations.AlterField(
            model_name='deployment',
            name='capital',
            field=models.DecimalField(decimal_places=8, help_text='the capital it trades: the approved allocation, or its current rollout slice', max_digits=20),
        ),
        migrations.AlterField(
            model_name='deployment',
            name='request',
            field=models.ForeignKey(help_text="the approved request it rests on (a successor keeps its predecessor's)", on_delete=django.db.models.deletion.PROTECT, related_name='deployments', to='promotions.promotionrequest'),
        ),
        migrations.AlterField(
            model_name='deployment',
            name='status',
            field=models.CharField(choices=[('pending', 'Starting'), ('running', 'Running'), ('paused', 'Paused'), ('completed', 'Completed (timer ran out)'), ('rolled_back', 'Rolled back'), ('failed', 'Failed'), ('superseded', 'Superseded (capital stepped)')], default='pending', max_length=12),
        ),
        migrations.AlterField(
            model_name='promotionlog',
            name='kind',
            field=models.CharField(choices=[('candidates', 'Candidates weighed'), ('requested', 'Promotion requested'), ('signed', 'Signed'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('expired', 'Expired'), ('cancelled', 'Cancelled'), ('payload_changed', 'Payload changed: signatures voided'), ('refused', 'Action refused'), ('deployed', 'Deployment started'), ('order', 'Order'), ('reconciled', 'Reconciled with the broker'), ('mismatch', 'Reconciliation mismatch'), ('paused', 'Paused'), ('resumed', 'Resumed'), ('rolled_back', 'Rolled back'), ('completed', 'Deployment completed'), ('renewed', 'Deployment renewed'), ('mode', 'Trading mode changed'), ('resized', 'Capital stepped')], max_length=16),
        ),
        migrations.AddConstraint(
            model_name='deployment',
            constraint=models.UniqueConstraint(condition=models.Q(('predecessor__isnull', True)), fields=('request',), name='deployment_once_per_request'),
        ),
        migrations.AddConstraint(
            model_name='deployment',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'running', 'paused', 'completed', 'rolled_back', 'failed', 'superseded'])), name='deployment_status_valid'),
        ),
    ]
