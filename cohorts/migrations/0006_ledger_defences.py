"""PostgreSQL defences of the ledger, on top of 0003's append-only and balance triggers.

- TRUNCATE of entries, transactions and accounts is refused (row triggers do not fire on TRUNCATE).
- Accounts are immutable: UPDATE and DELETE of cohorts_account are refused.
- A posted transaction is sealed: each transaction records the database transaction that created it
  (`created_xact`, filled from pg_current_xact_id(); a forged value is refused), and entries may be
  inserted only for transactions created by the inserting database transaction.
- Entries have no FOREIGN KEY constraints (their per-row checks cost more than the whole posting of
  a large cohort): the entries trigger checks once per statement that every transaction and account
  they refer to exists, and neither can be deleted, so none can go missing later.
- Every statement inserting entries must leave each transaction it touches balanced. With the seal
  and append-only rules, that holds when the statement's own entries sum to zero per transaction, so
  the check reads only the statement's rows (0003's version re-summed every touched transaction).
- At COMMIT, a deferred constraint trigger refuses a transaction without entries and any account
  whose kind is not in NEGATIVE_ALLOWED (cohorts/models/ledger.py) left below zero. Statement
  triggers record what to check (ranges of new transactions, guarded accounts that got a credit) in
  cohorts_ledger_pending, and one row per database transaction in cohorts_ledger_pending_xact fires
  the check once per commit. The check takes an advisory lock per account (in id order) and then
  re-reads the balances, so of two transactions committing at once that together overdraw, the
  second sees the first's entries and is refused. It needs READ COMMITTED to see them; a posting
  that credits guarded cash under a stricter isolation level is refused.

Maintenance path: no trigger here fires while `session_replication_role = replica`, which only a
superuser may set. The test suite's flush (TRUNCATE of every table between transactional tests) runs
that way (tests/conftest.py). The application connects as a role that owns nothing and has neither
UPDATE, DELETE nor TRUNCATE on these tables (`manage.py db_app_role`), so it can neither disable
the triggers nor use that path.

A no-op on other databases, where the ledger service is the only writer and checks the same rules.
"""
import django.db.models.deletion
from django.db import migrations, models

# The account kinds whose balance may go below zero: NEGATIVE_ALLOWED of cohorts/models/ledger.py at
# the time of this migration (a test keeps them equal).
NEGATIVE_ALLOWED_KINDS = ("external_capital", "agent_cash", "agent_position", "realised_pnl")
LOCK_CLASS = 0x4E4C  # first key of the advisory locks taken on accounts at commit

DEFENCES = """
CREATE UNLOGGED TABLE cohorts_ledger_pending (
    xact xid8 NOT NULL,
    account_id bigint,
    first_transaction_id bigint,
    last_transaction_id bigint
);
CREATE INDEX cohorts_ledger_pending_by_xact ON cohorts_ledger_pending (xact);
CREATE UNLOGGED TABLE cohorts_ledger_pending_xact (xact xid8 PRIMARY KEY);

ALTER TABLE cohorts_ledgertransaction ADD COLUMN created_xact xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE TRIGGER cohorts_account_immutable BEFORE UPDATE OR DELETE ON cohorts_account
    FOR EACH ROW EXECUTE FUNCTION cohorts_ledger_refuse_change();
CREATE TRIGGER cohorts_account_no_truncate BEFORE TRUNCATE ON cohorts_account
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_refuse_change();
CREATE TRIGGER cohorts_transaction_no_truncate BEFORE TRUNCATE ON cohorts_ledgertransaction
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_refuse_change();
CREATE TRIGGER cohorts_entry_no_truncate BEFORE TRUNCATE ON cohorts_entry
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_refuse_change();

CREATE FUNCTION cohorts_ledger_transactions_inserted() RETURNS trigger
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    me xid8 := pg_current_xact_id();
    first_id bigint;
    last_id bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM created WHERE created_xact <> me) THEN
        RAISE EXCEPTION 'ledger transactions record the database transaction that creates them: a forged created_xact is refused'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT min(id), max(id) INTO first_id, last_id FROM created;
    IF first_id IS NOT NULL THEN
        INSERT INTO cohorts_ledger_pending (xact, first_transaction_id, last_transaction_id) VALUES (me, first_id, last_id);
        INSERT INTO cohorts_ledger_pending_xact VALUES (me) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER cohorts_transaction_inserted AFTER INSERT ON cohorts_ledgertransaction
    REFERENCING NEW TABLE AS created
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_transactions_inserted();

CREATE FUNCTION cohorts_ledger_entries_inserted() RETURNS trigger
SECURITY DEFINER SET search_path FROM CURRENT SET work_mem = '128MB' AS $$
DECLARE
    me xid8 := pg_current_xact_id();
    bad record;
    missing_account bigint;
    credited bigint;
BEGIN
    SELECT s.transaction_id, s.total, t.id IS NOT NULL AS is_known, t.created_xact = me AS is_own INTO bad
    FROM (SELECT transaction_id, sum(amount) AS total FROM inserted GROUP BY transaction_id) s
    LEFT JOIN cohorts_ledgertransaction t ON t.id = s.transaction_id
    WHERE s.total <> 0 OR t.id IS NULL OR t.created_xact <> me
    LIMIT 1;
    IF FOUND AND NOT bad.is_known THEN
        RAISE EXCEPTION 'entries refer to ledger transaction %, which does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND AND NOT bad.is_own THEN
        RAISE EXCEPTION 'ledger transaction % is sealed: entries may only be added by the database transaction that created it',
            bad.transaction_id USING ERRCODE = 'integrity_constraint_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance', bad.transaction_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- One pass over the statement's accounts: each must exist; guarded ones that got a credit are recorded.
    WITH touched AS MATERIALIZED (
        SELECT i.account_id, a.kind, i.is_credited
        FROM (SELECT account_id, bool_or(amount < 0) AS is_credited FROM inserted GROUP BY account_id) i
        LEFT JOIN cohorts_account a ON a.id = i.account_id
    ), recorded AS (
        INSERT INTO cohorts_ledger_pending (xact, account_id)
        SELECT me, account_id FROM touched WHERE is_credited AND kind NOT IN ({negative_allowed})
        RETURNING 1
    )
    SELECT (SELECT account_id FROM touched WHERE kind IS NULL LIMIT 1), (SELECT count(*) FROM recorded)
    INTO missing_account, credited;
    IF missing_account IS NOT NULL THEN
        RAISE EXCEPTION 'entries refer to account %, which does not exist', missing_account
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF credited > 0 THEN
        INSERT INTO cohorts_ledger_pending_xact VALUES (me) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER cohorts_entry_balanced ON cohorts_entry;
CREATE TRIGGER cohorts_entry_inserted AFTER INSERT ON cohorts_entry
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_entries_inserted();

CREATE FUNCTION cohorts_ledger_commit_check() RETURNS trigger
SECURITY DEFINER SET search_path FROM CURRENT SET work_mem = '128MB' AS $$
DECLARE
    me xid8 := NEW.xact;
    span record;
    empty_id bigint;
    guarded bigint[];
    account bigint;
    short record;
BEGIN
    -- Range by range, so each query walks the primary key over this transaction's own rows only.
    FOR span IN
        SELECT first_transaction_id AS first_id, last_transaction_id AS last_id
        FROM cohorts_ledger_pending WHERE xact = me AND first_transaction_id IS NOT NULL
    LOOP
        SELECT t.id INTO empty_id
        FROM cohorts_ledgertransaction t
        WHERE t.id BETWEEN span.first_id AND span.last_id AND t.created_xact = me
          AND NOT EXISTS (SELECT 1 FROM cohorts_entry e WHERE e.transaction_id = t.id)
        LIMIT 1;
        IF empty_id IS NOT NULL THEN
            RAISE EXCEPTION 'ledger transaction % has no entries', empty_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    SELECT array_agg(DISTINCT account_id ORDER BY account_id) INTO guarded
    FROM cohorts_ledger_pending WHERE xact = me AND account_id IS NOT NULL;
    IF guarded IS NOT NULL THEN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'a posting that credits guarded cash must commit under READ COMMITTED, not %',
                current_setting('transaction_isolation') USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        FOREACH account IN ARRAY guarded LOOP  -- in id order, so two committers never wait on each other in a cycle
            PERFORM pg_advisory_xact_lock({lock_class}, (account % 2147483647)::int);
        END LOOP;
        -- A new statement, so a new snapshot: it sees whatever committed while we waited for the locks.
        SELECT a.code, b.balance INTO short
        FROM (SELECT account_id, sum(amount) AS balance FROM cohorts_entry WHERE account_id = ANY(guarded)
              GROUP BY account_id HAVING sum(amount) < 0 LIMIT 1) b
        JOIN cohorts_account a ON a.id = b.account_id;
        IF FOUND THEN
            RAISE EXCEPTION 'account % would go below zero (%)', short.code, short.balance
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    DELETE FROM cohorts_ledger_pending WHERE xact = me;
    DELETE FROM cohorts_ledger_pending_xact WHERE xact = me;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER cohorts_ledger_commit_check AFTER INSERT ON cohorts_ledger_pending_xact
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION cohorts_ledger_commit_check();
"""

REMOVE = """
DROP TRIGGER IF EXISTS cohorts_ledger_commit_check ON cohorts_ledger_pending_xact;
DROP TRIGGER IF EXISTS cohorts_entry_inserted ON cohorts_entry;
CREATE TRIGGER cohorts_entry_balanced AFTER INSERT ON cohorts_entry
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION cohorts_ledger_check_balanced();
DROP TRIGGER IF EXISTS cohorts_transaction_inserted ON cohorts_ledgertransaction;
DROP TRIGGER IF EXISTS cohorts_entry_no_truncate ON cohorts_entry;
DROP TRIGGER IF EXISTS cohorts_transaction_no_truncate ON cohorts_ledgertransaction;
DROP TRIGGER IF EXISTS cohorts_account_no_truncate ON cohorts_account;
DROP TRIGGER IF EXISTS cohorts_account_immutable ON cohorts_account;
DROP FUNCTION IF EXISTS cohorts_ledger_commit_check();
DROP FUNCTION IF EXISTS cohorts_ledger_entries_inserted();
DROP FUNCTION IF EXISTS cohorts_ledger_transactions_inserted();
ALTER TABLE cohorts_ledgertransaction DROP COLUMN IF EXISTS created_xact;
DROP TABLE IF EXISTS cohorts_ledger_pending_xact;
DROP TABLE IF EXISTS cohorts_ledger_pending;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        kinds = ", ".join(f"'{kind}'" for kind in NEGATIVE_ALLOWED_KINDS)
        sql = DEFENCES.replace("{negative_allowed}", kinds).replace("{lock_class}", str(LOCK_CLASS))
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("cohorts", "0005_cohort_settlement")]
    operations = [
        migrations.AlterField(
            model_name="entry", name="transaction",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="entries", to="cohorts.ledgertransaction"),
        ),
        migrations.AlterField(
            model_name="entry", name="account",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="entries", to="cohorts.account"),
        ),
        migrations.RunPython(install, remove),
    ]
