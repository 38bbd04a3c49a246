"""Personal data at rest (ADR 0017): SM4-GCM field and file encryption with keys kept outside
the database, an HMAC-SM3 blind index for values that must be found, and key rotation.

`cipher` is pure (no Django); `keys` reads the keyring (environment or data directory);
`fields` and `storage` are the Django model field and file storage that use them.
"""
