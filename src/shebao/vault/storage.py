"""File storage that seals what it writes (photos): SM4-GCM with the current data key, the
kid in the file's header, so a rotation can re-encrypt files one by one while every file stays
readable (ADR 0017). Reading through the storage (``field.open()``, ``storage.open(name)``)
gives the plain bytes; the file on disk, and in a backup, is ciphertext.

`path()` names the ciphertext on disk: code must read through `open()`, never hand the path
to another library (zipfile, PIL), which would get ciphertext.
"""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

from shebao.vault.cipher import FieldCipher
from shebao.vault.keys import keyring

__all__ = ["EncryptedFileSystemStorage", "encrypted_storage"]


@deconstructible(path="shebao.vault.storage.EncryptedFileSystemStorage")
class EncryptedFileSystemStorage(FileSystemStorage):
    def _save(self, name: str, content: File[Any]) -> str:
        content.seek(0)
        data = content.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return super()._save(name, ContentFile(keyring().cipher.encrypt_file(data)))  # type: ignore[misc]

    def _open(self, name: str, mode: str = "rb") -> File[Any]:
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("加密存储的文件只能整体保存，不能原地改写")
        with super()._open(name, "rb") as handle:  # type: ignore[misc]
            raw = handle.read()
        plain = keyring().cipher.decrypt_file(raw)
        return ContentFile(plain if "b" in mode else plain.decode("utf-8"), name=name)

    def raw_path(self, name: str) -> str:
        """The ciphertext on disk (rotation, tests)."""
        return self.path(name)

    def reseal(self, name: str, cipher: FieldCipher) -> bool:
        """Re-encrypt one file under the current key in place (write a sibling, rename);
        False when it already is."""
        import os

        path = self.raw_path(name)
        with open(path, "rb") as handle:
            raw = handle.read()
        if cipher.file_kid(raw) == cipher.current:
            return False
        sealed = cipher.encrypt_file(cipher.decrypt_file(raw))
        tmp = path + ".reseal"
        with open(tmp, "wb") as handle:
            handle.write(sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return True


encrypted_storage = EncryptedFileSystemStorage()
