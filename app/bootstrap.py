"""Bring a database to the current schema with keys in place; seed the demo if empty."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from app.extensions import services
from app.migrate import upgrade
from core.identity import Resident
from scoring.service import ensure_builtin_model


def bootstrap(app: Flask, revision: str = "heads") -> None:
    upgrade(app.config["DATABASE_URL"], revision)
    with app.app_context():
        with services.uow() as uow:
            services.signer.ensure(uow.session, services.clock.now())
            uow.commit()
        with services.uow() as uow:
            ensure_builtin_model(uow, services.clock.now())


def seed_demo_if_empty(app: Flask, residents: int) -> list[str]:
    from app.seed import seed

    with services.uow() as uow:
        existing = uow.session.scalar(select(func.count()).select_from(Resident)) or 0
    if existing:
        return [f"{existing} residents already present (not reseeded)"]
    with services.uow() as uow:
        summary = seed(uow, services.keyring, residents=residents, rng_seed=20261122,
                       now=services.clock.now(), signer=services.signer)
    return [f"seeded {summary['residents']} residents and {summary['records']} records"]
