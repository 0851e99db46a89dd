"""Provider keys are encrypted at rest with FIELD_ENCRYPTION_KEYS; rotation moves them to the newest key, and a
value no key opens is a clear error, never a wrong key passed along."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from cohorts.models import ProviderCredential
from cohorts.selectors.credentials import provider_credentials
from neolight import crypto
from neolight.crypto import UndecryptableValueError

pytestmark = pytest.mark.django_db

KEY_ID, SECRET = "PKABCDEFGH12345J7Q2Z", "s3cr3t-alpaca-secret-key-0123456789abcdef"


def raw(pk: int) -> tuple[str, str]:
    """The key id and secret columns as the database holds them."""
    table = ProviderCredential._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key_id, secret FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()


def stored(**fields) -> ProviderCredential:
    return ProviderCredential.objects.create(provider="alpaca", key_id=KEY_ID, secret=SECRET, **fields)


def test_keys_round_trip_and_the_column_holds_no_plain_text():
    row = stored()
    again = ProviderCredential.objects.get(pk=row.pk)
    assert (again.key_id, again.secret) == (KEY_ID, SECRET)
    key_column, secret_column = raw(row.pk)
    assert KEY_ID not in key_column and SECRET not in secret_column
    assert key_column.startswith("gAAAAA")  # a Fernet token


def test_selector_gives_enabled_keys_and_none_otherwise():
    stored()
    ProviderCredential.objects.create(provider="finnhub", key_id="finnhub-key-1234567890", enabled=False)
    credentials = provider_credentials("alpaca")
    assert (credentials.key_id, credentials.secret) == (KEY_ID, SECRET)
    assert SECRET not in repr(credentials)
    assert provider_credentials("finnhub") is None  # disabled
    assert provider_credentials("twelvedata") is None  # absent


def test_an_old_key_still_decrypts_and_rotation_moves_every_value_to_the_new_key(settings, encryption_key):
    row = stored()
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, encryption_key]  # newest first
    assert ProviderCredential.objects.get(pk=row.pk).secret == SECRET

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "cohorts.ProviderCredential.key_id: 1 value(s) re-encrypted" in out.getvalue()
    assert "cohorts.ProviderCredential.secret: 1 value(s) re-encrypted" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can go
    again = ProviderCredential.objects.get(pk=row.pk)
    assert (again.key_id, again.secret) == (KEY_ID, SECRET)
    assert Fernet(new_key).decrypt(raw(row.pk)[1].encode()).decode() == SECRET


def test_dry_run_counts_and_writes_nothing(settings, encryption_key):
    row = stored()
    before = raw(row.pk)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), encryption_key]
    out = StringIO()
    call_command("rotate_encryption_keys", "--dry-run", stdout=out)
    assert "cohorts.ProviderCredential.secret: 1 value(s) would be re-encrypted" in out.getvalue()
    assert raw(row.pk) == before


def test_a_value_no_key_opens_is_a_clear_error(settings):
    row = stored()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the key it was written with is gone
    with pytest.raises(UndecryptableValueError) as refused:
        ProviderCredential.objects.get(pk=row.pk)
    message = str(refused.value)
    assert "cohorts.ProviderCredential.key_id" in message and "FIELD_ENCRYPTION_KEYS" in message
    assert "gAAAAA" not in message  # neither the ciphertext nor a key
    with pytest.raises(UndecryptableValueError):
        provider_credentials("alpaca")


def test_rotation_with_a_missing_key_stops_and_changes_nothing(settings, encryption_key):
    readable = ProviderCredential.objects.create(provider="finnhub", key_id="finnhub-key-1234567890")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    lost = stored()  # under a key that is then dropped
    settings.FIELD_ENCRYPTION_KEYS = [encryption_key]
    before = raw(readable.pk)
    with pytest.raises(CommandError) as refused:
        call_command("rotate_encryption_keys", stdout=StringIO())
    assert f"cohorts.ProviderCredential.key_id (row {lost.pk})" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
    assert raw(readable.pk) == before  # the row rotated before the failure was rolled back


def test_no_keys_outside_the_embedded_mode_is_refused(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.FIELD_ENCRYPTION_KEY_FILE = None
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS is not set"):
        stored()
    assert [e.id for e in crypto.check_encryption_keys()] == ["neolight.W101"]  # said at start-up, too


def test_a_malformed_key_is_refused_without_echoing_it(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured) as refused:
        crypto.encrypt("x")
    assert "key 1 of 1 is not a Fernet key" in str(refused.value) and "not-a-fernet-key" not in str(refused.value)
    assert [e.id for e in crypto.check_encryption_keys()] == ["neolight.E101"]  # a server does not start with it


def test_embedded_mode_makes_one_key_once_readable_by_its_owner_only(settings, tmp_path):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.FIELD_ENCRYPTION_KEY_FILE = tmp_path / "var" / "field-encryption-key"
    assert crypto.check_encryption_keys() == []  # the embedded mode starts without keys
    row = stored()
    kept = settings.FIELD_ENCRYPTION_KEY_FILE.read_text().strip()
    assert stat.S_IMODE(settings.FIELD_ENCRYPTION_KEY_FILE.stat().st_mode) == 0o600
    assert ProviderCredential.objects.get(pk=row.pk).secret == SECRET
    assert settings.FIELD_ENCRYPTION_KEY_FILE.read_text().strip() == kept  # made once, then reused
    assert Fernet(kept).decrypt(raw(row.pk)[1].encode()).decode() == SECRET


def test_encrypted_columns_cannot_be_searched():
    stored()
    with pytest.raises(Exception, match="Unsupported lookup"):
        list(ProviderCredential.objects.filter(secret=SECRET))


def test_a_server_without_keys_says_so_at_start_up():
    """With PostgreSQL and Redis and no FIELD_ENCRYPTION_KEYS, the start-up checks (runserver, migrate) warn."""
    env = {k: v for k, v in os.environ.items() if k not in {"FIELD_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"}}
    env.update(DATABASE_URL="postgres://u@127.0.0.1:9/neo", REDIS_URL="redis://127.0.0.1:9/0")
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=Path(__file__).resolve().parents[2], env=env,
                          capture_output=True, text=True, timeout=120)
    assert "neolight.W101" in done.stderr and "FIELD_ENCRYPTION_KEYS is not set" in done.stderr
