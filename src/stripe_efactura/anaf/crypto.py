"""Encryption at rest for OAuth tokens (and other small secrets such as the client secret).

The key comes from ``EFACTURA_SECRET_KEY`` when set (any string; a 256-bit key is derived from it
with HKDF-SHA256), otherwise from ``<data dir>/secret.key``, created on first use with 32 random
bytes and permissions 0600. Values are sealed with AES-256-GCM (random 96-bit nonce) and bound to
an optional ``context`` (e.g. ``b"anaf_tokens:12345678"``) used as associated data, so a blob
copied to another row does not decrypt.

Blob format (ASCII): ``v1.`` + base64url(nonce || ciphertext+tag).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from stripe_efactura.anaf.oauth import TokenSet
from stripe_efactura.errors import ConfigError, EfacturaError
from stripe_efactura.files import private_dir

KEY_FILE_NAME = "secret.key"
_PREFIX = b"v1."
_HKDF_SALT = b"stripe-efactura/secret-key/v1"
_HKDF_INFO = b"token-encryption"


class DecryptionError(EfacturaError):
    """The blob was sealed with another key or context, or it was altered."""

    code = "E-CRYPTO-DECRYPT"


def derive_key(secret_key: str) -> bytes:
    """A 32-byte key from the ``EFACTURA_SECRET_KEY`` string (HKDF-SHA256, fixed salt)."""
    if not secret_key:
        raise ConfigError("EFACTURA_SECRET_KEY is empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(secret_key.encode("utf-8"))


def load_or_create_key(data_dir: Path, secret_key: str | None) -> bytes:
    """The 32-byte encryption key: derived from ``secret_key`` when given, else read from
    ``data_dir/secret.key`` (created atomically with mode 0600 when missing).

    Raises :class:`ConfigError` when the key file is readable by group/others or malformed.
    """
    if secret_key:
        return derive_key(secret_key)
    path = Path(data_dir) / KEY_FILE_NAME
    if not path.exists():
        private_dir(path.parent)
        encoded = base64.urlsafe_b64encode(secrets.token_bytes(32)) + b"\n"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(encoded)
                handle.flush()
                os.fsync(handle.fileno())
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
        )
    try:
        key = base64.urlsafe_b64decode(path.read_bytes().strip())
    except ValueError as exc:
        raise ConfigError(f"{path} is not a base64 key") from exc
    if len(key) != 32:
        raise ConfigError(f"{path} does not hold a 32-byte key")
    return key


def encrypt(plaintext: bytes, key: bytes, *, context: bytes = b"") -> str:
    """Seal ``plaintext``; the result is an ASCII string safe for a TEXT column."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext, context)
    return (_PREFIX + base64.urlsafe_b64encode(nonce + sealed)).decode("ascii")


def decrypt(blob: str, key: bytes, *, context: bytes = b"") -> bytes:
    """Open a blob made by :func:`encrypt`; :class:`DecryptionError` on any mismatch."""
    raw = blob.encode("ascii", "replace")
    if not raw.startswith(_PREFIX):
        raise DecryptionError("Unknown encrypted blob format")
    try:
        data = base64.urlsafe_b64decode(raw[len(_PREFIX) :])
        if len(data) < 12 + 16:
            raise ValueError("blob too short")
        return AESGCM(key).decrypt(data[:12], data[12:], context)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError(
            "Cannot decrypt: wrong EFACTURA_SECRET_KEY / secret.key, or the value was altered"
        ) from exc


def encrypt_json(value: Any, key: bytes, *, context: bytes = b"") -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return encrypt(data, key, context=context)


def decrypt_json(blob: str, key: bytes, *, context: bytes = b"") -> Any:
    return json.loads(decrypt(blob, key, context=context))


def encrypt_tokens(tokens: TokenSet, key: bytes, *, context: bytes = b"") -> str:
    return encrypt_json(tokens.to_dict(), key, context=context)


def decrypt_tokens(blob: str, key: bytes, *, context: bytes = b"") -> TokenSet:
    data = decrypt_json(blob, key, context=context)
    if not isinstance(data, dict):
        raise DecryptionError("The decrypted value is not a token set")
    return TokenSet.from_dict(data)
