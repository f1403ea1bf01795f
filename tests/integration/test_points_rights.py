"""The points part of export and erasure: everything about the resident, and what is kept."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from app.runtime import runtime
from core.identity import Person, create_partner, create_resident
from rewards.points.earning import award
from rewards.points.redemption import redeem
from rewards.points.rights import export_section, retention
from tests.support.factories import T0, id_number
from tests.support.points import consent_to_redemption, token_for


@pytest.mark.commits  # the redemption is one pc_redeem on the driver connection (autocommit)
def test_the_export_holds_the_account_transfers_lots_and_redemptions_as_json(app):
    with app.app_context(), runtime().uow() as uow:
        resident = create_resident(uow.session, runtime().keyring,
                                   Person("测试", id_number(5), None), now=T0)
        shop, _key = create_partner(uow.session, name="shop", kind="merchant",
                                    scenarios=["points_redemption"], now=T0)
        award(uow.session, resident_id=resident.id, points=500, key="earn:t:1", rule="t",
              now=T0, expires_at=T0 + timedelta(days=30))
        uow.commit()
        consent_to_redemption(app, resident.id, T0)
        redeem(runtime().uow, token_for(resident.id, shop, T0), partner=shop,
               out_order_no="o-1", points=200, now=T0, ctx=runtime().tokens)
        section = export_section(uow.session, resident.id)
        kept = retention(uow.session, resident.id, T0)
    json.dumps(section)  # JSON-ready as it is
    assert section["balance"] == 300
    assert [(t["kind"], t["points"]) for t in section["transfers"]] == [("earn", 500),
                                                                       ("redeem", -200)]
    assert section["transfers"][0]["at"] == "2026-11-01T08:00:00Z"
    assert section["lots"][0]["remaining"] == 300
    assert section["redemptions"][0]["out_order_no"] == "o-1"
    assert kept and all({"what", "until", "why_zh", "why_en"} <= set(k) for k in kept)
    assert kept[0]["until"] == "2056-11-01T08:00:00Z"  # 30 years after the last transfer


def test_a_resident_without_an_account_exports_nothing_and_nothing_is_kept(app):
    with app.app_context(), runtime().uow() as uow:
        assert export_section(uow.session, uuid.uuid4())["transfers"] == []
        assert retention(uow.session, uuid.uuid4(), T0) == []
