"""Scoring notice version 2 (issue 23): it says plainly that scoring includes the core and that
supplements are optional and can only help; consents under version 1 are invalidated and the
resident is asked again."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.runtime import runtime
from consent.catalogue import SCORING_V2_EN, SCORING_V2_ZH
from consent.models import ConsentEvent, ConsentRecord
from consent.notices import NOTICE_NAMESPACE, settle_shipped
from core.audit import AuditEntry
from core.identity import Resident
from core.registry import CATEGORIES, CORE, SUPPLEMENTS
from tests.support.consent import give, notice
from tests.support.factories import T0, bearer, login

V1 = uuid.uuid5(NOTICE_NAMESPACE, "scoring:1")


def test_the_scoring_notice_names_the_core_and_says_supplements_can_only_help(client):
    current = notice(client, "scoring")
    assert current["version"] == 2 and current["requires_separate_consent"] is False
    assert current["text_zh"] == SCORING_V2_ZH and current["text_en"] == SCORING_V2_EN
    core_zh, supplements_zh = (p for p in SCORING_V2_ZH.split("\n")
                               if p.startswith(("核心记录", "补充信息")))
    assert all(CATEGORIES[c].name_zh in core_zh for c in CORE)
    assert all(CATEGORIES[c].name_zh in supplements_zh and CATEGORIES[c].name_zh not in core_zh
               for c in SUPPLEMENTS)
    assert "只会让分数持平或提高，不会降低" in supplements_zh
    core_en = next(p for p in SCORING_V2_EN.split("\n") if p.startswith("Core records"))
    assert all(CATEGORIES[c].name_en.lower() in core_en.lower() for c in CORE)
    assert "can only keep your score level or raise it, never lower it" in SCORING_V2_EN


def test_the_first_version_can_no_longer_be_granted(client, idp):
    token = login(client, idp, 1)
    response = client.post("/api/v1/me/consents", headers=bearer(token),
                           json={"notice_id": str(V1), "categories": ["utilities"]})
    assert response.status_code == 409 and response.get_json()["code"] == "notice_superseded"


def test_a_consent_under_the_first_version_is_invalidated_and_asked_again(app, client, idp):
    token = login(client, idp, 1)
    with app.app_context(), runtime().uow() as uow:  # as granted before the upgrade
        resident_id = uow.session.scalars(select(Resident.id)).one()
        uow.session.add(ConsentRecord(
            id=uuid.uuid4(), resident_id=resident_id, purpose="scoring", notice_id=V1,
            categories=["utilities", "volunteer"], separate_consent=False, status="active",
            given_at=T0, expires_at=None, ended_at=None))
        uow.commit()
    assert client.get("/api/v1/me/score", headers=bearer(token)).status_code == 200

    with app.app_context(), runtime().uow() as uow:
        assert settle_shipped(uow, now=T0) == 1
    with app.app_context(), runtime().uow() as uow:
        assert settle_shipped(uow, now=T0) == 0  # safe to repeat
        record = uow.session.scalars(select(ConsentRecord)).one()
        assert record.status == "invalidated"
        event = uow.session.scalars(select(ConsentEvent)).one()
        assert event.event == "invalidated" and event.notice_id == V1
        latest = select(AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(1)
        assert uow.session.scalars(latest).one() == "consent.invalidated"
        assert uow.session.get(Resident, resident_id).score_stale_at == T0

    listing = client.get("/api/v1/me/consents", headers=bearer(token)).get_json()
    assert [r["purpose"] for r in listing["reconsent"]] == ["scoring"]
    refused = client.get("/api/v1/me/score", headers=bearer(token))
    assert refused.status_code == 403 and refused.get_json()["code"] == "consent_required"
    renewed = give(client, token, categories=["utilities", "volunteer"]).get_json()
    assert renewed["event"] == "renewed"
    assert renewed["categories"] == sorted(CORE | {"utilities", "volunteer"})
    assert client.get("/api/v1/me/score", headers=bearer(token)).status_code == 200
