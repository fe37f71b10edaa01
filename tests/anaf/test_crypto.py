"""Token encryption at rest: key from EFACTURA_SECRET_KEY or a 0600 key file."""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stripe_efactura.anaf.crypto import (
    DecryptionError,
    decrypt,
    decrypt_json,
    decrypt_tokens,
    derive_key,
    encrypt,
    encrypt_json,
    encrypt_tokens,
    load_or_create_key,
)
from stripe_efactura.anaf.oauth import TokenSet
from stripe_efactura.errors import ConfigError

TOKENS = TokenSet(
    "access.jwt", "refresh.jwt", datetime(2026, 6, 1, tzinfo=UTC), datetime(2027, 3, 2, tzinfo=UTC)
)


def test_key_file_created_with_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = load_or_create_key(data_dir, None)
    path = data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32
    assert base64.urlsafe_b64decode(path.read_bytes().strip()) == key
    assert load_or_create_key(data_dir, None) == key  # stable across restarts
    assert load_or_create_key(data_dir, "") == key  # empty env var = not set


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, None)
    os.chmod(tmp_path / "secret.key", 0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        load_or_create_key(tmp_path, None)


def test_malformed_key_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(base64.urlsafe_b64encode(b"short"))
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match="32-byte"):
        load_or_create_key(tmp_path, None)


def test_secret_key_env_wins_and_is_deterministic(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path, "correct horse battery staple")
    assert key == derive_key("correct horse battery staple")
    assert len(key) == 32
    assert key != derive_key("correct horse battery stapler")
    assert not (tmp_path / "secret.key").exists()


def test_round_trip_tokens(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path, None)
    blob = encrypt_tokens(TOKENS, key, context=b"anaf_tokens:12345678")
    assert blob.startswith("v1.")
    assert "access.jwt" not in blob
    assert decrypt_tokens(blob, key, context=b"anaf_tokens:12345678") == TOKENS


def test_fresh_nonce_each_time() -> None:
    key = derive_key("k")
    assert encrypt(b"same", key) != encrypt(b"same", key)
    assert decrypt_json(encrypt_json({"a": [1, "ț"]}, key), key) == {"a": [1, "ț"]}


def test_wrong_key_wrong_context_tampering() -> None:
    key, other = derive_key("one"), derive_key("two")
    blob = encrypt_tokens(TOKENS, key, context=b"row-1")
    with pytest.raises(DecryptionError) as wrong_key:
        decrypt_tokens(blob, other, context=b"row-1")
    assert wrong_key.value.code == "E-CRYPTO-DECRYPT"
    with pytest.raises(DecryptionError):
        decrypt_tokens(blob, key, context=b"row-2")
    raw = bytearray(base64.urlsafe_b64decode(blob[3:]))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        decrypt(f"v1.{base64.urlsafe_b64encode(bytes(raw)).decode()}", key, context=b"row-1")
    with pytest.raises(DecryptionError, match="format"):
        decrypt("plain", key)
    with pytest.raises(DecryptionError):
        decrypt("v1.AAAA", key)
