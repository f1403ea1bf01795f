"""`pengcheng seed`: a synthetic population (scoring.synthetic) stored like real data.

Residents are created through the same code as a first login, and records go through the
same ingestion as a data source's batch, so the demo exercises the real paths.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.services import grant_demo_consents
from core.crypto import Keyring
from core.db import UnitOfWork
from core.identity import DataSource, Person, create_resident, create_source, find_resident
from core.records import MAX_BATCH, ingest
from core.registry import CATEGORIES
from core.signing import Signer
from scoring.synthetic import generate_population

SOURCE_NAME = "演示数据源 Synthetic registry"


def synthetic_source(session: Session, now: datetime) -> DataSource:
    """The synthetic data source, created on first use (added, not committed)."""
    source = session.scalars(select(DataSource).where(DataSource.name == SOURCE_NAME)).first()
    if source is None:
        source, _key = create_source(session, name=SOURCE_NAME, categories=sorted(CATEGORIES),
                                     now=now, actor="seed")
    return source


def seed(new_uow: Callable[[], UnitOfWork], keyring: Keyring, *, residents: int,
         rng_seed: int, now: datetime, signer: Signer | None = None) -> dict[str, Any]:
    """Create `residents` synthetic residents and their records; safe to run again.

    Four residents in five get the demo consents (scoring and a few scenarios, with receipts
    when `signer` is given); the fifth has none, so the demo also shows "no consent, no score".
    A batch: `new_uow` opens one unit of work for the source, one per new resident (their
    first login and consents) and one per ingested batch of records.
    """
    people, records = generate_population(residents, seed=rng_seed, as_of=now)
    with new_uow() as uow:
        source = synthetic_source(uow.session, now)
        source_id, client_id, granted = source.id, source.client_id, list(source.categories)
        uow.commit()
    created = consented = 0
    for i, person in enumerate(people):
        with new_uow() as uow:
            if find_resident(uow.session, keyring, person["id_number"]) is not None:
                continue
            resident = create_resident(
                uow.session, keyring, Person(person["name"], person["id_number"],
                                             person["phone"]),
                now=now, district=person["district"])
            created += 1
            if i % 5 != 4:
                grant_demo_consents(uow, resident, now, signer=signer)  # commits
                consented += 1
            else:
                uow.commit()
    accepted = duplicates = 0
    for start in range(0, len(records), MAX_BATCH):
        with new_uow() as uow:
            result = ingest(uow, keyring, source_id=source_id, source_client_id=client_id,
                            granted=granted, records=records[start:start + MAX_BATCH], now=now)
        accepted += result.accepted
        duplicates += result.duplicates
    return {"residents": created, "consented": consented, "records": accepted,
            "duplicates": duplicates}
