"""Crypto-shredding reaches every process: a key destroyed by one keyring (one worker) stops
opening ciphertexts in another keyring that had it cached, within the cache lifetime."""

from __future__ import annotations

import os

import pytest

from core.crypto import CryptoError, DataKey, Keyring


def test_a_key_destroyed_elsewhere_stops_decrypting_here_after_the_cache_lifetime(
        uow, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    masters, index = [os.urandom(32)], os.urandom(32)
    here, elsewhere = Keyring(masters, index), Keyring(masters, index)
    key = here.new_data_key(uow.session, clock.now(), owner="resident:test")
    uow.session.flush()
    blob = here.encrypt(uow.session, key.id, "张三", "residents:name:1")
    assert here.decrypt(uow.session, blob, "residents:name:1") == "张三"  # cached here now

    elsewhere.destroy(uow.session.get(DataKey, key.id), clock.now())  # another worker erases
    uow.session.flush()
    assert here.decrypt(uow.session, blob, "residents:name:1") == "张三"  # still cached

    monkeypatch.setattr(Keyring, "CACHE_SECONDS", 0.0)
    here._remember(key.id, here._cache[key.id][1])  # re-cache with the short lifetime
    with pytest.raises(CryptoError):
        here.decrypt(uow.session, blob, "residents:name:1")
