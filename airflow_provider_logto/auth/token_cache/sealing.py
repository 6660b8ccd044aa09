"""Sealing of shared cache entries: AES-256-GCM under a key derived from the app secret with HKDF-SHA256.

The derived key also binds the entry's cache-key id (HKDF info, and GCM associated data), so an entry copied to
another key's place does not open. Without the app secret an entry is useless; after the secret is rotated, old
entries can never be opened again (they simply count as missing).
"""

from __future__ import annotations

import os

from airflow_provider_logto.auth.token_cache.stored import StoredToken

_MAGIC = b"LTC1"  # format version
_SALT = b"airflow-provider-logto token cache v1"
_NONCE_BYTES = 12


class Sealer:
    """Seals and opens the entries of one cache key with a key derived from the app secret."""

    def __init__(self, secret: str, ident: str) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=ident.encode()).derive(secret.encode())
        self._aead = AESGCM(key)
        self._associated = ident.encode()

    def seal(self, token: StoredToken) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _MAGIC + nonce + self._aead.encrypt(nonce, token.to_json(), self._associated)

    def open(self, blob: bytes) -> StoredToken:
        """The token sealed in ``blob``; raises ``ValueError`` when it is not one of ours or does not open."""
        from cryptography.exceptions import InvalidTag

        if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _NONCE_BYTES + 16:
            raise ValueError("not a token cache entry")
        nonce = blob[len(_MAGIC):len(_MAGIC) + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(nonce, blob[len(_MAGIC) + _NONCE_BYTES:], self._associated)
        except InvalidTag:
            raise ValueError("the entry does not open with this app secret") from None
        try:
            return StoredToken.from_json(plain)
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"the entry holds no token ({type(error).__name__})") from None
