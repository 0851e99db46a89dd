"""manage.py db_app_role ROLE [--password-env VAR]: the PostgreSQL login role the application runs as."""
import os
import re

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from cohorts.models import Account, CohortSettlement, Entry, LedgerTransaction

ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Append-only tables: the ledger and the record of each cohort's settlement.
LEDGER_TABLES = [Account._meta.db_table, LedgerTransaction._meta.db_table, Entry._meta.db_table,
                 CohortSettlement._meta.db_table]
GUARD_TABLES = ["cohorts_ledger_pending", "cohorts_ledger_pending_xact"]  # written by the guards only
READ_ONLY_TABLES = ["django_migrations"]


class Command(BaseCommand):
    help = (
        "Create or update the login role the application connects as, and its privileges; run it as the "
        "owner of the tables (the role that runs migrate), again after every migrate. The role owns "
        "nothing, may SELECT and INSERT the ledger tables (accounts, transactions, entries, settlements) but never "
        "UPDATE, DELETE or TRUNCATE them, has normal SELECT/INSERT/UPDATE/DELETE on the other tables and "
        "the use of their sequences. Not being an owner, it cannot disable the ledger's triggers."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="name of the role, e.g. neolight_app")
        parser.add_argument("--password-env", help="set the role's password from this environment variable")

    def handle(self, *args, role: str, password_env: str | None, **options):
        if connection.vendor != "postgresql":
            raise CommandError("db_app_role is for PostgreSQL; the embedded SQLite database has no roles.")
        if not ROLE_RE.match(role):
            raise CommandError(f"{role!r} is not a plain role name (lower-case letters, digits, _).")
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"the environment variable {password_env} is empty or not set")
        with transaction.atomic(), connection.cursor() as cursor:
            self._ensure_role(cursor, role, password)
            self._grant(cursor, role)
        self.stdout.write(f"Role {role}: login, owns nothing; SELECT and INSERT on {', '.join(LEDGER_TABLES)}; "
                          "SELECT, INSERT, UPDATE and DELETE on the other tables; USAGE on their sequences.")

    def _ensure_role(self, cursor, role: str, password: str | None) -> None:
        name = sql.Identifier(role)
        cursor.execute("SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found and (found[0] or found[1]):
            raise CommandError(f"{role} is a superuser or the role running this command; choose another role.")
        cursor.execute("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s",
                       [role])
        if cursor.fetchone()[0]:
            raise CommandError(f"{role} owns tables; the application's role must own nothing.")
        cursor.execute("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s",
                       [role])
        if cursor.fetchone()[0]:
            raise CommandError(f"{role} is a member of other roles and may hold their rights; remove those grants first.")
        verb = "ALTER" if found else "CREATE"
        cursor.execute(sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
                       .format(sql.SQL(verb), name).as_string(cursor.connection))
        if password is not None:
            cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password))
                           .as_string(cursor.connection))

    def _grant(self, cursor, role: str) -> None:
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        name, schema_name = sql.Identifier(role), sql.Identifier(schema)

        def run(statement: str, *tables: str) -> None:
            target = sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)
            cursor.execute(sql.SQL(statement).format(role=name, schema=schema_name, tables=target,
                                                     database=sql.Identifier(database)).as_string(cursor.connection))

        run("GRANT CONNECT ON DATABASE {database} TO {role}")
        run("GRANT USAGE ON SCHEMA {schema} TO {role}")
        run("REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
        run("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
        run("REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM {role}", *LEDGER_TABLES)
        run("REVOKE INSERT, UPDATE, DELETE ON {tables} FROM {role}", *READ_ONLY_TABLES)
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(%s)",
                       [GUARD_TABLES])
        guards = [row[0] for row in cursor.fetchall()]
        if guards:
            run("REVOKE ALL ON {tables} FROM {role}", *guards)
        run("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}")
        run("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
