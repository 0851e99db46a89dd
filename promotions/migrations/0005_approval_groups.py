"""The approval chain's groups exist from the start (PROMOTION_APPROVAL_ROLES and PROMOTION_OPS_GROUP, by default
`ops` and `risk`), so the Day-3 go/no-go can open requests on a fresh install; an operator adds people to them."""
from django.conf import settings
from django.db import migrations


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in dict.fromkeys([settings.PROMOTION_OPS_GROUP, *settings.PROMOTION_APPROVAL_ROLES]):
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("promotions", "0004_chain_signature_guards"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
