"""PostgreSQL guards of the risk trail: mode changes, breaker events and kill-switch events are append-only
(UPDATE, DELETE and TRUNCATE refused), with the promotions trail's function (promotions 0002)."""
from django.db import migrations

TABLES = ["risk_modechange", "risk_breakerevent", "risk_killswitchevent"]


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION promotions_refuse_change()", params=None)
        schema_editor.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                              "FOR EACH STATEMENT EXECUTE FUNCTION promotions_refuse_change()", params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}", params=None)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}", params=None)


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_risk"), ("promotions", "0002_append_only")]
    operations = [migrations.RunPython(install, remove)]
