"""Envelope encryption of personal fields, blind indexes and derived keys.

Design overview
---------------
* A **master key** (32 bytes, `PENGCHENG_MASTER_KEY`; generated into `instance/` for the embedded
  default) never encrypts data. It wraps **data keys** (AES-256-GCM), one per resident, stored in
  `data_keys`. Several master keys may be configured (comma-separated, newest first) so a master
  rotation re-wraps data keys while the old master still opens them.
* A field ciphertext is `0x01 | data-key id (16 bytes) | nonce (12) | AES-GCM(ct+tag)`; the
  associated data binds it to its table, column and row, so a ciphertext copied to another row
  or column does not decrypt.
* Destroying a resident's data key crypto-shreds every field encrypted under it (backups
  included).
* **Blind indexes** and pairwise pseudonyms are HMAC-SHA256 under keys derived from a separate
  index key (`PENGCHENG_INDEX_KEY`), never from data or master keys, so rotating those keys
  leaves lookups and pseudonyms stable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base

FORMAT_V1 = b"\x01"


class CryptoError(Exception):
    """A ciphertext that cannot be opened: wrong row, tampered, or its key destroyed."""


class DataKey(Base):
    __tablename__ = "data_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)  # e.g. a resident id
    master_kid: Mapped[str] = mapped_column(String(16))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)  # NULL once destroyed
    created_at: Mapped[datetime]
    destroyed_at: Mapped[datetime | None]


def parse_key(text: str) -> bytes:
    """A 32-byte key from hex or (url-safe) base64 text."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 32:
        raise ValueError("a key must be 32 bytes (64 hex characters or base64)")
    return raw


def new_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def derive(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (blind index, pseudonyms, …) derived with HKDF-SHA256."""
    return HKDF(hashes.SHA256(), 32, salt=b"pengcheng", info=purpose.encode()).derive(master)


def master_kid(master: bytes) -> str:
    return hashlib.sha256(b"kid" + master).hexdigest()[:16]


class Keyring:
    """Wraps and unwraps data keys; encrypts and decrypts fields. Thread-safe, cached."""

    CACHE_SECONDS = 60.0

    def __init__(self, master_keys: list[bytes], index_key: bytes):
        if not master_keys:
            raise ValueError("at least one master key is required")
        self.masters = {master_kid(k): k for k in master_keys}
        self.current_kid = master_kid(master_keys[0])
        # The index key is separate from the master keys, so a master rotation never changes
        # a blind index or a partner's pseudonym.
        self.blind_key = derive(index_key, "blind-index/v1")
        self.pseudonym_key = derive(index_key, "pairwise-pseudonym/v1")
        # Unwrapped keys, each for CACHE_SECONDS: a key destroyed by another process (an
        # erasure served by another worker) stops opening anything here within that time.
        self._cache: OrderedDict[uuid.UUID, tuple[float, AESGCM]] = OrderedDict()
        self._lock = threading.Lock()

    # -- data keys ---------------------------------------------------------------------------
    def new_data_key(self, session: Session, now: datetime, owner: str | None = None) -> DataKey:
        raw = AESGCM.generate_key(256)
        key = DataKey(id=uuid.uuid4(), owner=owner, master_kid=self.current_kid, created_at=now)
        key.wrapped = self._wrap(raw, key.id)
        session.add(key)
        self._remember(key.id, AESGCM(raw))
        return key

    def rewrap(self, key: DataKey) -> bool:
        """Re-wrap a data key under the current master key; False if already current."""
        if key.wrapped is None or key.master_kid == self.current_kid:
            return False
        raw = self._unwrap(key)
        key.wrapped = self._wrap(raw, key.id)
        key.master_kid = self.current_kid
        return True

    def destroy(self, key: DataKey, now: datetime) -> None:
        """Crypto-shred: forget the data key so its ciphertexts can never be opened again."""
        key.wrapped = None
        key.destroyed_at = now
        with self._lock:
            self._cache.pop(key.id, None)

    def _wrap(self, raw: bytes, key_id: uuid.UUID) -> bytes:
        nonce = os.urandom(12)
        aead = AESGCM(self.masters[self.current_kid])
        return nonce + aead.encrypt(nonce, raw, b"data-key:" + key_id.bytes)

    def _unwrap(self, key: DataKey) -> bytes:
        master = self.masters.get(key.master_kid)
        if master is None or key.wrapped is None:
            raise CryptoError(f"data key {key.id} cannot be unwrapped")
        nonce, body = key.wrapped[:12], key.wrapped[12:]
        try:
            return AESGCM(master).decrypt(nonce, body, b"data-key:" + key.id.bytes)
        except InvalidTag as exc:
            raise CryptoError(f"data key {key.id} failed authentication") from exc

    def _remember(self, key_id: uuid.UUID, aead: AESGCM) -> None:
        with self._lock:
            self._cache[key_id] = (time.monotonic() + self.CACHE_SECONDS, aead)
            self._cache.move_to_end(key_id)
            while len(self._cache) > 10_000:
                self._cache.popitem(last=False)

    def _aead(self, session: Session, key_id: uuid.UUID) -> AESGCM:
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        key = session.get(DataKey, key_id)
        if key is None or key.wrapped is None:
            raise CryptoError("the data key for this value has been destroyed")
        aead = AESGCM(self._unwrap(key))
        self._remember(key_id, aead)
        return aead

    # -- fields ------------------------------------------------------------------------------
    def encrypt(self, session: Session, key_id: uuid.UUID, value: str, aad: str) -> bytes:
        nonce = os.urandom(12)
        body = self._aead(session, key_id).encrypt(nonce, value.encode(), aad.encode())
        return FORMAT_V1 + key_id.bytes + nonce + body

    def decrypt(self, session: Session, blob: bytes, aad: str) -> str:
        if not blob or blob[:1] != FORMAT_V1 or len(blob) < 1 + 16 + 12 + 16:
            raise CryptoError("not a pengcheng ciphertext")
        key_id = uuid.UUID(bytes=bytes(blob[1:17]))
        nonce, body = bytes(blob[17:29]), bytes(blob[29:])
        try:
            return self._aead(session, key_id).decrypt(nonce, body, aad.encode()).decode()
        except InvalidTag as exc:
            raise CryptoError("ciphertext failed authentication (tampered or moved)") from exc

    # -- indexes and pseudonyms --------------------------------------------------------------
    def blind_index(self, value: str) -> str:
        return hmac.new(self.blind_key, value.encode(), hashlib.sha256).hexdigest()

    def pseudonym(self, sector: str, resident_id: uuid.UUID) -> str:
        mac = hmac.new(self.pseudonym_key, f"{sector}|{resident_id}".encode(), hashlib.sha256)
        return "ps_" + base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")

