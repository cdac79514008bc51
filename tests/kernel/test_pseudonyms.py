"""Pseudonyms: a key per purpose, created owner-only on first use, never shown."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pupildata.kernel.pseudonyms import KeyStore


def test_key_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.pseudonym("spine", "H801200001001")
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "keys" / "spine.key").stat().st_mode & 0o777 == 0o600
    assert KeyStore(tmp_path / "keys").pseudonym("spine", "H801200001001") == first


def test_purposes_have_separate_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    assert store.pseudonym("spine", "x") != store.pseudonym("agreement-0001", "x")
    assert len(store.pseudonym("spine", "x")) == 64


def test_pseudonym_is_hmac_sha256_of_the_value(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    value = store.pseudonym("spine", "Zoë")
    secret = (tmp_path / "keys" / "spine.key").read_bytes()
    assert value == hmac.new(secret, "Zoë".encode(), hashlib.sha256).hexdigest()


def test_keys_are_never_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = KeyStore(tmp_path / "keys").key("spine")
    secret = (tmp_path / "keys" / "spine.key").read_bytes()
    logging.getLogger("test").warning("key is %s / %r", key, key)
    for shown in (repr(key), str(key), caplog.text):
        assert secret.hex() not in shown
        assert "<hidden>" in shown


@pytest.mark.parametrize("purpose", ["", "../escape", "Spine", "a/b", "x" * 101])
def test_purpose_names_are_safe_file_names(tmp_path: Path, purpose: str) -> None:
    with pytest.raises(ValueError, match="key purpose"):
        KeyStore(tmp_path / "keys").key(purpose)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return KeyStore(tmp_path_factory.mktemp("keys"))


@given(a=st.text(max_size=50), b=st.text(max_size=50))
def test_distinct_values_give_distinct_pseudonyms(store: KeyStore, a: str, b: str) -> None:
    assert (store.pseudonym("property-test", a) == store.pseudonym("property-test", b)) == (a == b)
