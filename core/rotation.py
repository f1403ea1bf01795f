"""Key rotation without downtime.

Signing keys: the published `next` key becomes active (verifiers already have it) and the old
one stays published until its tokens expire. Data keys: each resident gets a fresh data key and
their fields are re-encrypted in small transactions; readers never stop, because every
ciphertext names its own key and the old key stays readable until erasure destroys it.
Master keys: data keys are re-wrapped under the newest configured master key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from core import audit
from core.crypto import DataKey, Keyring
from core.db import UnitOfWork
from core.identity import Resident, read_personal, set_personal
from core.signing import PURPOSES, Signer


def rotate_signing(uow: UnitOfWork, signer: Signer, purpose: str, *, now: datetime
                   ) -> dict[str, tuple[str, str]]:
    """Promote each purpose's `next` signing key (or every purpose's, for "all"); old: new kids."""
    purposes = PURPOSES if purpose == "all" else (purpose,)
    signer.ensure(uow.session, now)
    # A master-key rotation must re-wrap signing keys too, or dropping the old master would
    # leave the promoted `next` key (and retired ones) unusable.
    for key in signer.keys(uow.session):
        signer.rewrap(key)
    out = {p: signer.rotate(uow.session, p, now) for p in purposes}
    audit.record(uow.session, actor="cli", action="keys.rotated", now=now,
                 data={p: {"old": o, "new": n} for p, (o, n) in out.items()})
    uow.commit()
    return out


def rotate_data_keys(new_uow: Callable[[], UnitOfWork], keyring: Keyring, *, now: datetime,
                     batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Re-encrypt every resident under a new data key; re-wrap data keys under the new master.

    A batch: one unit of work from `new_uow` per `batch` residents, then one for the re-wrap.
    """
    done, last = 0, None
    while True:
        with new_uow() as uow:
            stmt = select(Resident).where(Resident.status == "active").order_by(Resident.id)
            if last is not None:
                stmt = stmt.where(Resident.id > last)
            residents = list(uow.session.scalars(stmt.limit(batch).with_for_update()))
            if not residents:
                break
            for resident in residents:
                person = read_personal(uow.session, keyring, resident)
                key = keyring.new_data_key(uow.session, now, owner=str(resident.id))
                uow.session.flush()
                resident.data_key_id = key.id
                set_personal(uow.session, keyring, resident, person)
            last = residents[-1].id
            done += len(residents)
            uow.commit()
        if progress:
            progress(done)
    with new_uow() as uow:
        for key in uow.session.scalars(select(DataKey).where(DataKey.wrapped.is_not(None))):
            keyring.rewrap(key)
        audit.record(uow.session, actor="cli", action="keys.data_keys_rotated", now=now,
                     data={"residents": done})
        uow.commit()
    return done
