"""Security tests: a throwaway keyring and no key material inherited from the environment."""

from __future__ import annotations

import pytest

from lakehouse.security.keys import keyring_from_document, new_keyring_document


@pytest.fixture(autouse=True)
def _no_outside_keys(monkeypatch):
    for var in ("LAKEHOUSE_KEYRING", "LAKEHOUSE_KEY_FILE", "LAKEHOUSE_PRINCIPAL", "LAKEHOUSE_ROLE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def keyring():
    return keyring_from_document(new_keyring_document(), "test keyring")
