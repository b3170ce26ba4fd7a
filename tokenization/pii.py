"""Encryption of investor PII at rest: Fernet with key rotation (MultiFernet). The database holds ciphertext only."""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:  # local and test settings only: production refuses to start without PII_ENCRYPTION_KEYS
        keys = (base64.urlsafe_b64encode(hashlib.sha256(f"pii:{secret_key}".encode()).digest()).decode(),)
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes).") from exc


def pii_cipher() -> MultiFernet:
    """The cipher for the configured keys; the first key encrypts, every key decrypts."""
    return _cipher(tuple(settings.PII_ENCRYPTION_KEYS), settings.SECRET_KEY)


def pii_encrypt(value: str) -> str:
    return pii_cipher().encrypt(value.encode("utf-8")).decode("ascii") if value else ""


def pii_decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return pii_cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ImproperlyConfigured("PII cannot be decrypted with the configured PII_ENCRYPTION_KEYS.") from exc


def pii_rotate(token: str) -> str:
    """Re-encrypts a token under the newest key (MultiFernet.rotate)."""
    return pii_cipher().rotate(token.encode("ascii")).decode("ascii") if token else ""


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code sees the clear text, the database never does."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str | None:
        return None if value is None else pii_decrypt(value)

    def get_prep_value(self, value: object) -> str | None:
        value = super().get_prep_value(value)
        return None if value is None else pii_encrypt(str(value))
