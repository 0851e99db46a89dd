"""PostgreSQL guards of the promotion trail: candidates, their checks, signatures and the promotion log are
append-only (UPDATE, DELETE and TRUNCATE refused). Other tables of the app may use the same function:
`FOR EACH ROW EXECUTE FUNCTION promotions_refuse_change()`. On other databases the services write these
rows once and never change them; `verify_signatures` detects a signature changed behind their back."""
from django.db import migrations

TABLES = ["promotions_promotioncandidate", "promotions_guardcheck", "promotions_signature", "promotions_promotionlog"]

FUNCTION = """
CREATE FUNCTION promotions_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the promotion trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
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
    schema_editor.execute("DROP FUNCTION IF EXISTS promotions_refuse_change()", params=None)


class Migration(migrations.Migration):
    dependencies = [("promotions", "0001_promotions")]
    operations = [migrations.RunPython(install, remove)]
