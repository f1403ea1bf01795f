"""Bring a database to the current schema with keys in place; seed the demo if empty."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from app.migrate import upgrade
from app.runtime import runtime
from consent.notices import settle_shipped
from core.identity import Resident
from rights.models import seal_plain_free_text
from scoring.services import ensure_builtin_model


def bootstrap(app: Flask, revision: str = "heads") -> None:
    """Migrate, then make sure signing keys and the built-in model exist, consents that a
    notice version shipped by a migration supersedes are invalidated, and free text written
    before migration 0024 is encrypted: one unit of work each (a start-up sequence, like a job;
    every step is idempotent)."""
    upgrade(app.config.get("MIGRATION_DATABASE_URL") or app.config["DATABASE_URL"], revision)
    with app.app_context():
        with runtime().uow() as uow:
            runtime().signer.ensure(uow.session, runtime().clock.now())
            uow.commit()
        with runtime().uow() as uow:
            ensure_builtin_model(uow, runtime().clock.now())
        with runtime().uow() as uow:  # consents a shipped notice version supersedes (0028)
            settle_shipped(uow, now=runtime().clock.now())
        with runtime().uow() as uow:  # migration 0024's data step (it has no keys)
            seal_plain_free_text(uow.session)
            uow.commit()


def seed_demo_if_empty(app: Flask, residents: int) -> list[str]:
    from app.seed import seed_demo

    with runtime().uow() as uow:
        existing = uow.session.scalar(select(func.count()).select_from(Resident)) or 0
    if existing:
        return [f"{existing} residents already present (not reseeded)", *_demo_partners(app)]
    summary = seed_demo(runtime(), residents=residents, rng_seed=20261122,
                        now=runtime().clock.now())
    return [f"seeded {summary['residents']} residents, {summary['personas']} personas and "
            f"{summary['records']} records",
            *_demo_partners(app)]


DEMO_PARTNERS: tuple[tuple[str, str, list[str]], ...] = (  # name, kind, scenarios
    ("演示医院 Demo Hospital", "hospital", ["medical_credit"]),
    ("演示单车 Demo Bikes", "deposit_partner", ["deposit_waiver_bike", "deposit_waiver_powerbank"]),
    ("演示商户 Demo Shop", "merchant", ["points_redemption"]),
    ("演示支付 Demo Pay", "payment_channel", []),
)


def _demo_partners(app: Flask) -> list[str]:
    """Development only: partners to try the counter page and the partner API with.

    Their keys are kept in `instance/demo-partners.json` (the database stores only hashes) so
    every `pengcheng demo` can print them again.
    """
    from core.identity import create_partner

    path = Path(app.instance_path) / "demo-partners.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = []
        with runtime().uow() as uow:
            for name, kind, scenarios in DEMO_PARTNERS:
                partner, key = create_partner(uow.session, name=name, kind=kind,
                                              scenarios=scenarios, now=runtime().clock.now(),
                                              actor="demo")
                made.append({"name": name, "kind": kind, "client_id": partner.client_id,
                             "api_key": key})
            uow.commit()
        path.write_text(json.dumps(made, ensure_ascii=False, indent=2), encoding="utf-8")
        path.chmod(0o600)
    partners = json.loads(path.read_text(encoding="utf-8"))
    return [f"demo partner {p['kind']:<16} {p['client_id']}  key {p['api_key']}"
            for p in partners]
