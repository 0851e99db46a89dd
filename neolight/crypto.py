"""Encryption at rest of the few values that must not sit in the database as plain text (provider and
broker keys): an `EncryptedTextField` storing Fernet tokens, with keys from FIELD_ENCRYPTION_KEYS.

Keys are Fernet keys (32 url-safe base64 bytes; make one with `python -c "from cryptography.fernet import
Fernet; print(Fernet.generate_key().decode())"`), newest first: the first encrypts, every one decrypts, so a
new key is added in front, `manage.py rotate_encryption_keys` re-encrypts every value with it, and then the
old key can go. They are never derived from SECRET_KEY. The embedded mode (SQLite, no Redis) makes one key
on first use and keeps it in FIELD_ENCRYPTION_KEY_FILE; every other mode refuses to start without keys.

A value no configured key opens raises `UndecryptableValueError` naming the model field and the setting:
it is never handed on as if it were the plain value."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from neolight.errors import ApplicationError

SETTING = "FIELD_ENCRYPTION_KEYS"
MAKE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class UndecryptableValueError(ApplicationError):
    """A stored value that no key in FIELD_ENCRYPTION_KEYS can decrypt (a key is missing or wrong). An
    ApplicationError, so the quote chain lists that provider as unusable, with this message, and goes on."""

    def __init__(self, label: str):
        super().__init__(
            f"{label}: no key in {SETTING} can decrypt the stored value. Put the key it was encrypted with back "
            f"into {SETTING} (newest first, comma-separated), then run manage.py rotate_encryption_keys.",
            field=label.rsplit(".", 1)[-1],
        )
        self.label = label


def configured_keys() -> list[str]:
    """The Fernet keys, newest first: FIELD_ENCRYPTION_KEYS, else (embedded mode) the kept key file's one
    key, made on first use; ImproperlyConfigured when neither is available."""
    keys = [key.strip() for key in getattr(settings, SETTING, []) if key.strip()]
    if keys:
        return keys
    path = getattr(settings, "FIELD_ENCRYPTION_KEY_FILE", None)
    if path:
        return [_kept_key(Path(path))]
    raise ImproperlyConfigured(
        f"{SETTING} is not set: with REDIS_URL or a non-SQLite DATABASE_URL, NeoLight needs at least one Fernet key "
        f"to encrypt provider and broker keys. Make one with {MAKE_KEY} and set {SETTING}=<key> in the environment."
    )


def _kept_key(path: Path) -> str:
    """The key in `path` (readable by its owner only), made once; a second process racing to make it reads it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(Fernet.generate_key().decode() + "\n")
    return path.read_text().strip()


def fernet() -> MultiFernet:
    """The MultiFernet of the configured keys (the first encrypts)."""
    return _multi(tuple(configured_keys()))


@lru_cache(maxsize=8)
def _multi(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:  # never echo the key itself
            raise ImproperlyConfigured(
                f"{SETTING}: key {position} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded bytes). "
                f"Make one with {MAKE_KEY}."
            ) from None
    return MultiFernet(fernets)


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str, *, label: str) -> str:
    """The plain text of `token`; UndecryptableValueError (naming `label`) if no key opens it."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableValueError(label) from None


def rotate(token: str, *, label: str) -> str:
    """`token` re-encrypted with the newest key; UndecryptableValueError if no key opens it."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableValueError(label) from None


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token. Python code sees the plain text; the column holds only ciphertext.

    Tokens differ at every save, so the field cannot be searched: only `isnull` lookups are allowed."""

    description = "Text encrypted at rest (Fernet)"

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.name}" if hasattr(self, "model") else self.name

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value, label=self.label)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None  # "Unsupported lookup": an encrypted column can only be read whole
        return super().get_lookup(lookup_name)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every EncryptedTextField of every installed model whose table Django manages: (model, field)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        found += [(model, f) for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
    return found


@checks.register(checks.Tags.security)
def check_encryption_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warns at start-up (runserver, migrate, check) when no usable key is configured: nothing can be stored
    encrypted, and the first provider or broker key saved or read is refused with the same message. A
    malformed key is an error: it would refuse every encrypted value."""
    try:
        if getattr(settings, SETTING, None) or not getattr(settings, "FIELD_ENCRYPTION_KEY_FILE", None):
            fernet()
    except ImproperlyConfigured as exc:
        if getattr(settings, SETTING, None):
            return [checks.Error(str(exc), id="neolight.E101")]
        return [checks.Warning(str(exc), id="neolight.W101")]
    return []
