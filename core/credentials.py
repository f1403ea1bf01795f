"""Operators manage the credentials of partners, data sources and operators: each command is
a use case here (a unit of work, committed once, audited by the helpers in `core.identity`).

    partner, key = credentials.register_partner(uow, name=…, kind="hospital", scenarios=[…], now=…)
"""

from __future__ import annotations

from datetime import datetime

from core import identity
from core.db import UnitOfWork
from core.identity import DataSource, Operator, Partner, Principal


def register_partner(uow: UnitOfWork, *, name: str, kind: str, scenarios: list[str],
                     now: datetime) -> tuple[Partner, str]:
    """A new partner and its API key (shown once)."""
    made = identity.create_partner(uow.session, name=name, kind=kind, scenarios=scenarios,
                                   now=now)
    uow.commit()
    return made


def register_source(uow: UnitOfWork, *, name: str, categories: list[str],
                    now: datetime) -> tuple[DataSource, str]:
    """A new data source and its API key (shown once)."""
    made = identity.create_source(uow.session, name=name, categories=categories, now=now)
    uow.commit()
    return made


def register_operator(uow: UnitOfWork, *, name: str, role: str,
                      now: datetime) -> tuple[Operator, str]:
    """A new operator and its API key (shown once)."""
    made = identity.create_operator(uow.session, name=name, role=role, now=now)
    uow.commit()
    return made


def rotate(uow: UnitOfWork, model: type[Principal], client_id: str, *,
           now: datetime) -> tuple[Principal, str]:
    """A new API key for `client_id` (the old one stops working)."""
    rotated = identity.rotate_key(uow.session, model, client_id, now=now)
    uow.commit()
    return rotated


def switch(uow: UnitOfWork, model: type[Principal], client_id: str, active: bool, *,
           now: datetime) -> tuple[Principal, bool]:
    """Accept or refuse `client_id`'s key; whether anything changed."""
    switched = identity.set_active(uow.session, model, client_id, active, now=now)
    uow.commit()
    return switched
