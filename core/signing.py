"""Ed25519 signing keys for tokens, consent receipts, audit checkpoints, reports and webhooks.

Design overview
---------------
* Each purpose (`token`, `receipt`, `audit`, `report`, `webhook`) has its own keys and key ids.
* A key moves `next -> active -> retired`. The `next` key is published in the JWKS before it
  signs anything, so verifiers that cache the JWKS already know it when rotation happens; a
  retired key stays published until `retire_after` (longer than any token it signed lives).
* Private keys are stored encrypted under the master key (AES-GCM, kid as associated data).
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.crypto import Keyring
from core.db import Base

# A session, or a way to get one only when it is needed (a hot path answered from the key cache
# then never makes one).
OnDemand = Session | Callable[[], Session]


def on_demand(session: OnDemand) -> Session:
    """The session itself, or the one the callable makes now that it is needed."""
    return session if isinstance(session, Session) else session()

PURPOSES = ("token", "receipt", "audit", "report", "webhook")
# How long a retired key stays published: past the life of anything it signed. Tokens live
# minutes; receipts, reports and audit checkpoints must stay verifiable for years.
RETIRED_GRACE = {"token": timedelta(days=1), "receipt": timedelta(days=3650),
                 "audit": timedelta(days=3650), "report": timedelta(days=3650),
                 "webhook": timedelta(days=7)}  # webhooks: verified on arrival, retried ~1 day


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(10))  # next | active | retired
    public_raw: Mapped[bytes] = mapped_column(LargeBinary)
    private_ct: Mapped[bytes] = mapped_column(LargeBinary)
    master_kid: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    retire_after: Mapped[datetime | None]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def public_jwk(key: SigningKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(key.public_raw),
        "kid": key.kid,
        "alg": "EdDSA",
        "use": "sig",
    }


class Signer:
    """Loads, rotates and uses signing keys; caches the active private key per purpose."""

    CACHE_SECONDS = 30.0

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self._active: dict[str, tuple[float, str, Ed25519PrivateKey]] = {}
        self._public: dict[str, tuple[float, Ed25519PublicKey | None, str | None]] = {}
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def _create(self, session: Session, purpose: str, status: str, now: datetime) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        kid = f"{purpose}-{now:%Y%m%d}-{os.urandom(4).hex()}"
        raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        nonce = os.urandom(12)
        master = self.keyring.masters[self.keyring.current_kid]
        ct = nonce + AESGCM(master).encrypt(nonce, raw, kid.encode())
        key = SigningKey(
            kid=kid,
            purpose=purpose,
            status=status,
            public_raw=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
            private_ct=ct,
            master_kid=self.keyring.current_kid,
            created_at=now,
            activated_at=now if status == "active" else None,
        )
        session.add(key)
        return key

    def ensure(self, session: Session, now: datetime) -> None:
        """Make sure every purpose has an active and a next key (idempotent)."""
        for purpose in PURPOSES:
            keys = self.keys(session, purpose)
            statuses = {k.status for k in keys}
            if "active" not in statuses:
                self._create(session, purpose, "active", now)
            if "next" not in statuses:
                self._create(session, purpose, "next", now)
        session.flush()

    def rotate(self, session: Session, purpose: str, now: datetime) -> tuple[str, str]:
        """Promote the published next key, retire the active one, publish a new next key."""
        keys = {k.status: k for k in self.keys(session, purpose) if k.status != "retired"}
        old, nxt = keys.get("active"), keys.get("next")
        if nxt is None:
            nxt = self._create(session, purpose, "next", now)
        if old is not None:
            old.status = "retired"
            old.retire_after = now + RETIRED_GRACE[purpose]
        nxt.status = "active"
        nxt.activated_at = now
        self._create(session, purpose, "next", now)
        session.flush()
        with self._lock:
            self._active.pop(purpose, None)
        return (old.kid if old else "", nxt.kid)

    def restart(self, session: Session, purpose: str, now: datetime) -> tuple[list[str], str]:
        """Unpublish every key of `purpose` at once and start again with a new active and next
        key: nothing signed before now verifies any more (after a restore). Returns the kids
        taken out of the JWKS and the new active kid."""
        withdrawn = []
        for key in self.keys(session, purpose):
            if key.retire_after is None or key.retire_after > now:
                withdrawn.append(key.kid)
                key.retire_after = now
            key.status = "retired"
        session.flush()
        active = self._create(session, purpose, "active", now)
        self._create(session, purpose, "next", now)
        session.flush()
        with self._lock:
            self._active.pop(purpose, None)
            self._public.clear()
        return withdrawn, active.kid

    def rewrap(self, key: SigningKey) -> bool:
        """Re-encrypt a private key under the current master key; False if already current."""
        if key.master_kid == self.keyring.current_kid:
            return False
        raw = self._private(key).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        nonce = os.urandom(12)
        master = self.keyring.masters[self.keyring.current_kid]
        key.private_ct = nonce + AESGCM(master).encrypt(nonce, raw, key.kid.encode())
        key.master_kid = self.keyring.current_kid
        return True

    def keys(self, session: Session, purpose: str | None = None) -> list[SigningKey]:
        stmt = select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)
        if purpose:
            stmt = stmt.where(SigningKey.purpose == purpose)
        return list(session.scalars(stmt))

    def jwks(self, session: Session, now: datetime, purposes: tuple[str, ...] = PURPOSES) -> dict:
        """The published public keys: next, active and retired-but-not-yet-expired."""
        keys = [
            public_jwk(k)
            for k in self.keys(session)
            if k.purpose in purposes
            and (k.status != "retired" or (k.retire_after and k.retire_after > now))
        ]
        return {"keys": keys}

    # -- use ---------------------------------------------------------------------------------
    def _private(self, key: SigningKey) -> Ed25519PrivateKey:
        master = self.keyring.masters[key.master_kid]
        nonce, body = key.private_ct[:12], key.private_ct[12:]
        raw = AESGCM(master).decrypt(nonce, body, key.kid.encode())
        return Ed25519PrivateKey.from_private_bytes(raw)

    def holds(self, key: SigningKey) -> bool:
        """Whether `key` is one of ours: its private part opens under our master key and
        matches its public part (a row added by someone without the master key does not)."""
        try:
            private = self._private(key)
        except (KeyError, ValueError, InvalidTag):
            return False
        return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == key.public_raw

    def active(self, session: OnDemand, purpose: str) -> tuple[str, Ed25519PrivateKey]:
        """The purpose's active key (its kid and private part), cached briefly; `session` (or
        the callable making one) is used only when the cache must be filled."""
        with self._lock:
            cached = self._active.get(purpose)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        key = on_demand(session).scalars(
            select(SigningKey).where(SigningKey.purpose == purpose, SigningKey.status == "active")
        ).first()
        if key is None:
            raise LookupError(f"no active {purpose} key; run `pengcheng keys rotate`")
        private = self._private(key)
        with self._lock:
            self._active[purpose] = (time.monotonic() + self.CACHE_SECONDS, key.kid, private)
        return key.kid, private

    def public(self, session: OnDemand, kid: str, now: datetime,
               purpose: str | None = None) -> Ed25519PublicKey | None:
        """The public key for `kid` while it is published (for `purpose`, if given), else None.

        Answers, misses included, are cached briefly and never past a retired key's end, so a
        flood of unknown kids costs one query each per cache period, not one per request.
        """
        with self._lock:
            cached = self._public.get(kid)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1] if purpose is None or cached[2] == purpose else None
        row = on_demand(session).get(SigningKey, kid)
        pub = None
        if row is not None and (
            row.status != "retired" or (row.retire_after is not None and row.retire_after > now)
        ):
            pub = Ed25519PublicKey.from_public_bytes(row.public_raw)
        ttl = self.CACHE_SECONDS
        if row is not None and row.retire_after is not None:
            ttl = min(ttl, max(0.0, (row.retire_after - now).total_seconds()))
        with self._lock:
            if len(self._public) > 1000:
                self._public.clear()  # unknown kids must not grow the cache without bound
            self._public[kid] = (time.monotonic() + ttl, pub, row.purpose if row else None)
        return pub if purpose is None or (row is not None and row.purpose == purpose) else None

    def sign(
        self, session: OnDemand, purpose: str, claims: dict[str, Any], typ: str = "JWT"
    ) -> str:
        """A compact JWS (EdDSA) over `claims` with the purpose's active key."""
        kid, private = self.active(session, purpose)
        return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": kid, "typ": typ})
