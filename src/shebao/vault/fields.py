"""Model fields that keep personal data sealed in the database (ADR 0017).

`EncryptedTextField` stores ``v1:<kid>:…`` text and gives the plain value back on load
(instances, ``values()``, ``values_list()``). Only "" is stored as is, so ``exclude(phone="")``
and ``CheckConstraint(~Q(address=""))`` keep working; any other equality lookup would compare
against a fresh random ciphertext and is refused: find such values by a blind index column
(`blind_index_of`) instead.

`max_length` is the length of the plain value (form and model validation); the column is text.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import models

from shebao.vault.cipher import blind_index
from shebao.vault.keys import keyring

__all__ = ["EncryptedTextField", "blind_index_of", "encrypted_fields"]

_ALLOWED_LOOKUPS = frozenset({"exact", "isnull"})


class EncryptedTextField(models.TextField):
    description = "SM4 加密的文本"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return keyring().cipher.encrypt(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return keyring().cipher.decrypt(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in _ALLOWED_LOOKUPS:
            raise FieldError(
                f"{self.model.__name__}.{self.name} 已加密，只能判断是否为空；"
                "按值查找请用盲索引字段"
            )
        return super().get_lookup(lookup_name)

    def formfield(self, **kwargs: Any) -> Any:
        # A one-line input, as the CharField it replaces had.
        return models.CharField(max_length=self.max_length).formfield(**kwargs)


def blind_index_of(value: str, *, purpose: str) -> str:
    """The HMAC-SM3 index of `value` for a ``<field>_index`` column (32 hex digits)."""
    return blind_index(keyring().index_key, value, purpose=purpose)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every sealed column of the installed models (what a rotation re-encrypts)."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy
        for field in model._meta.local_fields
        if isinstance(field, EncryptedTextField)
    ]
