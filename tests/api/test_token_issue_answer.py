"""A token's answer is written directly (`token_answer`, issue 26) and is exactly what its
documented schema (`TokenSchema`) dumps: the same members, values and spelling."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from app.api.tokens.schemas import TokenSchema, token_answer
from rewards.token_format import Claims
from rewards.tokens import Issued, new_code
from tests.support.tokens import ask_token


def issued(expires_at: datetime, scenario: str = "medical_credit") -> Issued:
    iat = int(expires_at.timestamp()) - 300
    claims = Claims(iss="pengcheng", aud="hospital-1", sub="pseudonym", scn=scenario,
                    ent={"eligible": True}, iat=iat, exp=iat + 300, jti="j" * 22)
    return Issued("header.claims.signature", new_code(), expires_at, claims)


@pytest.mark.parametrize("expires_at", [
    datetime(2026, 12, 6, 21, 0, tzinfo=UTC),
    datetime(2026, 12, 6, 21, 0, 5, 123456, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 59, tzinfo=UTC),
])
@pytest.mark.parametrize("scenario", ["medical_credit", "deposit_waiver_bike"])
def test_the_direct_answer_is_the_schemas_dump(expires_at, scenario):
    token = issued(expires_at, scenario)
    assert token_answer(token) == TokenSchema().dump(token)


@pytest.mark.services
def test_the_answer_served_is_the_schemas_dump_of_the_token(world, client):
    response = ask_token(client, world.resident, "medical_credit", world.hospital.client_id)
    assert response.status_code == 201
    body = response.get_json()
    part = body["token"].split(".")[1]
    claims = Claims(**json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))
    again = Issued(body["token"], body["code"], datetime.fromtimestamp(claims.exp, UTC), claims)
    assert body == TokenSchema().dump(again)
    assert response.mimetype == "application/json"
