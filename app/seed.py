"""`pengcheng seed` / `demo`: the named personas (`core.demo.PERSONAS`) and a synthetic
population (scoring.synthetic), stored like real data.

Residents are created through the same code as a first login, records go through the same
ingestion as a data source's batch, and the personas' waivers, bills and redemptions through
the partners' use cases, so the demo exercises the real paths. `seed_demo` ends with the
periodic jobs and a signed audit checkpoint, so a fresh demo passes `pengcheng audit verify`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.runtime import Runtime
from consent.services import grant_demo_consents
from core import audit
from core import jobs as registry
from core.crypto import Keyring
from core.db import UnitOfWork
from core.demo import PERSONAS, Persona
from core.identity import (
    DataSource,
    Partner,
    Person,
    Resident,
    create_partner,
    create_resident,
    create_source,
    find_resident,
)
from core.records import MAX_BATCH, ingest
from core.registry import CATEGORIES
from core.signing import Signer
from rewards.credit import services as credit
from rewards.credit import terms as credit_terms
from rewards.entitlements import issue_token
from rewards.points import redemption
from rewards.waivers import services as waivers
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


# -- the personas ---------------------------------------------------------------------------------

HISTORY_PARTNERS = (  # name, kind, scenarios: where the personas' history happened
    ("演示社区医院 Demo Community Clinic", "hospital", ["medical_credit"]),
    ("演示共享出行 Demo Bikes & Power Banks", "deposit_partner",
     ["deposit_waiver_bike", "deposit_waiver_powerbank"]),
    ("演示书店 Demo Bookshop", "merchant", ["points_redemption"]),
)
JOINED_DAYS = 180  # the personas signed up and consented this many days before the seed


def _records(persona: Persona, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(records, late records) of a persona; the late ones arrive after its history."""
    out: list[dict[str, Any]] = []

    def add(category: str, type_: str, days: int, into: list[dict[str, Any]] | None = None,
            **extra: Any) -> None:
        when = (now - timedelta(days=days)).isoformat().replace("+00:00", "Z")
        into = out if into is None else into
        into.append({"source_record_id": f"persona-{persona.key}-{category}-{type_}-{days}",
                     "id_number": persona.id_number, "category": category, "type": type_,
                     "occurred_at": when, **extra})

    def monthly(category: str, type_: str, months: int, **extra: Any) -> None:
        for m in range(1, months + 1):
            add(category, type_, 30 * m - 25, **extra)

    late: list[dict[str, Any]] = []
    if persona.key == "excellent":
        monthly("social_insurance", "contribution_month", 24)
        monthly("housing_fund", "contribution_month", 24)
        monthly("utilities", "payment_on_time", 24, amount_fen=12000)
        monthly("rental", "rent_on_time", 24, amount_fen=450000)
        for days in (60, 425, 790):
            add("tax", "filed_on_time", days)
        add("volunteer", "service_hours", 100, quantity=40)
        add("volunteer", "service_hours", 300, quantity=45)
        for days in (80, 260, 440, 620):
            add("blood_donation", "donation", days)
        add("public_credit", "commendation", 500)
    elif persona.key == "thin_file":
        monthly("social_insurance", "contribution_month", 7)
        monthly("utilities", "payment_on_time", 6, amount_fen=6000)
    elif persona.key == "traffic":
        monthly("social_insurance", "contribution_month", 24)
        monthly("utilities", "payment_on_time", 24, amount_fen=15000)
        for days in (60, 425):
            add("tax", "filed_on_time", days)
        # the fine is paid: the source says the obligation is met, so it can be repaired
        add("traffic", "violation", 50, attributes={"obligation_met": True})
    elif persona.key == "overdue":
        monthly("social_insurance", "contribution_month", 24)
        monthly("housing_fund", "contribution_month", 24)
        monthly("utilities", "payment_on_time", 24, amount_fen=11000)
        for days in (60, 425):
            add("tax", "filed_on_time", days)
        add("volunteer", "service_hours", 200, quantity=10)
    elif persona.key == "dishonest":
        monthly("social_insurance", "contribution_month", 24)
        monthly("utilities", "payment_on_time", 20, amount_fen=9000)
        for days in (95, 185, 275):
            add("utilities", "payment_overdue", days, amount_fen=9000)
        add("volunteer", "service_hours", 150, quantity=5)
        add("public_credit", "admin_penalty", 200, severity="general")
        add("judicial", "dishonest_debtor", 60, into=late, amount_fen=8600000)
    return out, late


class _History:
    """The personas' use of the product, through the same use cases as partners' calls."""

    def __init__(self, rt: Runtime, partners: dict[str, Partner]) -> None:
        self.rt, self.partners = rt, partners

    def _token(self, resident_id: uuid.UUID, scenario: str, kind: str, at: datetime) -> str:
        with self.rt.uow() as uow:
            resident = uow.session.get(Resident, resident_id)
            assert resident is not None
            return issue_token(uow, resident, scenario=scenario,
                               partner=self.partners[kind].client_id, now=at,
                               ctx=self.rt.tokens).token

    def waiver(self, resident_id: uuid.UUID, scenario: str, item: str, deposit_fen: int,
               at: datetime, returned_after: timedelta) -> None:
        partner = self.partners["deposit_partner"]
        token = self._token(resident_id, scenario, "deposit_partner", at)
        made = waivers.create(self.rt.uow, token, partner=partner,
                              out_order_no=f"persona-{uuid.uuid4().hex[:16]}",
                              deposit_fen=deposit_fen, due_at=at + timedelta(days=1), item=item,
                              now=at, ctx=self.rt.tokens)
        with self.rt.uow() as uow:
            waivers.complete(uow, uuid.UUID(made["waiver_id"]), partner=partner,
                             now=at + returned_after)

    def bill(self, resident_id: uuid.UUID, amount_fen: int, at: datetime,
             paid_after: timedelta | None) -> None:
        partner, terms = self.partners["hospital"], credit_terms.from_config(self.rt.settings)
        token = self._token(resident_id, "medical_credit", "hospital", at)
        hold = credit.authorize(self.rt.uow, token, partner=partner, amount_fen=amount_fen + 5000,
                                out_request_no=f"persona-{uuid.uuid4().hex[:16]}", now=at,
                                terms=terms, ctx=self.rt.tokens)
        bill = credit.capture(self.rt.uow, uuid.UUID(hold["authorization_id"]), partner=partner,
                              amount_fen=amount_fen,
                              out_bill_no=f"persona-{uuid.uuid4().hex[:16]}",
                              now=at + timedelta(hours=2), terms=terms)
        if paid_after is not None:
            with self.rt.uow() as uow:
                resident = uow.session.get(Resident, resident_id)
                assert resident is not None
                credit.pay_demo(uow, resident, uuid.UUID(bill["bill_id"]),
                                amount_fen=amount_fen, now=at + paid_after)

    def redeem(self, resident_id: uuid.UUID, points: int, at: datetime) -> None:
        token = self._token(resident_id, "points_redemption", "merchant", at)
        redemption.redeem(self.rt.uow, token, partner=self.partners["merchant"],
                          out_order_no=f"persona-{uuid.uuid4().hex[:16]}", points=points,
                          now=at, ctx=self.rt.tokens)


def _history(history: _History, persona: Persona, resident_id: uuid.UUID,
             now: datetime) -> None:
    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    hours = timedelta(hours=1)
    if persona.key == "excellent":
        history.waiver(resident_id, "deposit_waiver_bike", "单车 #SZ-0101", 29900, ago(120),
                       3 * hours)
        history.bill(resident_id, 35600, ago(60), timedelta(days=3))
        history.waiver(resident_id, "deposit_waiver_powerbank", "充电宝 #PB-0101", 9900,
                       ago(20), 5 * hours)
    elif persona.key == "thin_file":
        history.waiver(resident_id, "deposit_waiver_powerbank", "充电宝 #PB-0102", 9900,
                       ago(15), 4 * hours)
    elif persona.key == "traffic":
        history.waiver(resident_id, "deposit_waiver_bike", "单车 #SZ-0103", 19900, ago(90),
                       2 * hours)
        history.bill(resident_id, 12800, ago(40), timedelta(days=2))
    elif persona.key == "overdue":
        history.waiver(resident_id, "deposit_waiver_bike", "单车 #SZ-0104", 19900, ago(100),
                       6 * hours)
        # due after `due_days`, unpaid: overdue when the jobs run, still within the grace period
        history.bill(resident_id, 52000, ago(10), None)
    elif persona.key == "dishonest":
        history.waiver(resident_id, "deposit_waiver_bike", "单车 #SZ-0105", 19900, ago(150),
                       2 * hours)


def _history_partners(rt: Runtime, now: datetime) -> dict[str, Partner]:
    """The partners the personas' history happened at, by kind (created on first use)."""
    found = {}
    with rt.uow() as uow:
        for name, kind, scenarios in HISTORY_PARTNERS:
            partner = uow.session.scalars(select(Partner).where(Partner.name == name)).first()
            if partner is None:
                partner, _key = create_partner(uow.session, name=name, kind=kind,
                                               scenarios=scenarios, now=now, actor="seed")
            found[kind] = partner
        uow.commit()
        uow.session.expunge_all()
    return found


def seed_personas(rt: Runtime, *, now: datetime) -> dict[str, uuid.UUID]:
    """Create the demo personas (`core.demo.PERSONAS`) with their records and history; returns
    the new ones' resident ids by persona key (none when they exist already).

    They join `JOINED_DAYS` ago with the demo consents (scoring: the core and the persona's
    supplements); their records go through ingestion;
    their waivers, bills and payments through the partners' use cases at the times they
    happened; records that came later (a 失信 listing) arrive after that history.
    """
    joined = now - timedelta(days=JOINED_DAYS)
    with rt.uow() as uow:
        source = synthetic_source(uow.session, now)
        source_id, client_id, granted = source.id, source.client_id, list(source.categories)
        uow.commit()
    new: list[tuple[Persona, uuid.UUID]] = []
    for persona in PERSONAS:
        with rt.uow() as uow:
            if find_resident(uow.session, rt.keyring, persona.id_number) is not None:
                continue
            resident = create_resident(
                uow.session, rt.keyring, Person(persona.name, persona.id_number, persona.phone),
                now=joined, district=persona.district)
            new.append((persona, resident.id))
            grant_demo_consents(uow, resident, joined, signer=rt.signer,  # commits
                                supplements=None if persona.supplements is None
                                else list(persona.supplements))
    if not new:
        return {}
    late: list[dict[str, Any]] = []
    early: list[dict[str, Any]] = []
    for persona, _id in new:
        records, later = _records(persona, now)
        early += records
        late += later

    def push(records: list[dict[str, Any]]) -> None:
        with rt.uow() as uow:
            result = ingest(uow, rt.keyring, source_id=source_id, source_client_id=client_id,
                            granted=granted, records=records, now=now)
        if result.rejected:
            raise RuntimeError(f"persona records rejected: {result.rejected}")

    push(early)
    history = _History(rt, _history_partners(rt, now))
    for persona, resident_id in new:
        _history(history, persona, resident_id, now)
    push(late)
    return {persona.key: resident_id for persona, resident_id in new}


def seed_demo(rt: Runtime, *, residents: int, rng_seed: int, now: datetime) -> dict[str, Any]:
    """The personas, then `residents` synthetic residents; then the periodic jobs once (points
    earned, bills marked overdue, returns credited), the first persona's redemption, and a
    signed audit checkpoint. Safe to run again."""
    personas = seed_personas(rt, now=now)
    summary = seed(rt.uow, rt.keyring, residents=residents, rng_seed=rng_seed, now=now,
                   signer=rt.signer)
    registry.run(rt.engine, registry.JobContext(uow=rt.batch_uow, now=now,
                                                settings=rt.settings, signer=rt.signer))
    if PERSONAS[0].key in personas:
        _History(rt, _history_partners(rt, now)).redeem(personas[PERSONAS[0].key], 300, now)
    with rt.uow() as uow:
        audit.sign_head(uow, rt.signer, now, actor="seed")
    return {**summary, "personas": len(personas)}
