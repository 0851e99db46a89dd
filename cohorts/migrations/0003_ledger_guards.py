"""PostgreSQL guards of the ledger: entries and transactions are append-only, and every INSERT into
entries must leave each transaction it touches balanced (all of a transaction's entries are written
in one statement). On other databases the ledger service enforces the same rules."""
from django.db import migrations

GUARDS = """
CREATE FUNCTION cohorts_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused; post a reversing transaction instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER cohorts_entry_append_only BEFORE UPDATE OR DELETE ON cohorts_entry
    FOR EACH ROW EXECUTE FUNCTION cohorts_ledger_refuse_change();
CREATE TRIGGER cohorts_transaction_append_only BEFORE UPDATE OR DELETE ON cohorts_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION cohorts_ledger_refuse_change();

CREATE FUNCTION cohorts_ledger_check_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced bigint;
BEGIN
    SELECT e.transaction_id INTO unbalanced
    FROM cohorts_entry e
    WHERE e.transaction_id IN (SELECT DISTINCT transaction_id FROM inserted)
    GROUP BY e.transaction_id
    HAVING sum(e.amount) <> 0
    LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance', unbalanced
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER cohorts_entry_balanced AFTER INSERT ON cohorts_entry
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_check_balanced();
"""

DROP = """
DROP TRIGGER IF EXISTS cohorts_entry_balanced ON cohorts_entry;
DROP TRIGGER IF EXISTS cohorts_entry_append_only ON cohorts_entry;
DROP TRIGGER IF EXISTS cohorts_transaction_append_only ON cohorts_ledgertransaction;
DROP FUNCTION IF EXISTS cohorts_ledger_check_balanced();
DROP FUNCTION IF EXISTS cohorts_ledger_refuse_change();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("cohorts", "0002_cohorts_and_ledger")]
    operations = [migrations.RunPython(install, remove)]
