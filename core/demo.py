"""The embedded demo: seeded synthetic residents and the identity claims used to sign in as them.

Only the demo login (development mode) calls `demo_identity`; it exists nowhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import Keyring
from core.identity import Resident, read_personal


@dataclass(frozen=True)
class DemoResident:
    resident_id: uuid.UUID
    label: str  # name · district · birth year


def demo_residents(session: Session, keyring: Keyring, limit: int = 20) -> list[DemoResident]:
    """The first `limit` active residents, to choose whom to sign in as."""
    rows = session.scalars(
        select(Resident).where(Resident.status == "active")
        .order_by(Resident.created_at, Resident.id).limit(limit)
    )
    out = []
    for resident in rows:
        person = read_personal(session, keyring, resident)
        label = f"{person.name} · {resident.district or '深圳'} · {resident.birth_year or ''}"
        out.append(DemoResident(resident.id, label))
    return out


def demo_identity(session: Session, keyring: Keyring, resident_id: uuid.UUID
                  ) -> dict[str, Any] | None:
    """The identity claims a login as this seeded resident uses; None for no such resident."""
    resident = session.get(Resident, resident_id)
    if resident is None or resident.status != "active":
        return None
    person = read_personal(session, keyring, resident)
    return {"sub": f"demo:{resident.id}", "id_number": person.id_number, "name": person.name,
            "phone_number": person.phone}
