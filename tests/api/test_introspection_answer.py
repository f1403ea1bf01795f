"""An introspection's answer is written directly (issue 26) and is exactly what its documented
schema (`IntrospectionSchema`) dumps: no member the schema does not name, none missing, no
value changed. The attack this guards: a member added to `tokens.introspect` (a tier, a score)
would once have been dropped by the schema's dump; written directly it would reach the partner,
so the schema's dump of every answer a partner can get must equal the answer itself."""

from __future__ import annotations

from typing import Any

import pytest

from app.api.tokens.schemas import IntrospectionSchema
from tests.support.factories import bearer
from tests.support.tokens import World, ask_token, consume_as, introspect

pytestmark = pytest.mark.services


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def served(client: Any, key: str, token: Any, *, form: bool = False) -> dict[str, Any]:
    if form:
        response = client.post("/partner/v1/tokens/introspect", headers=bearer(key),
                               data={"token": token})
    else:
        response = introspect(client, key, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def code_of(client: Any, world: World) -> str:
    response = ask_token(client, world.resident, "medical_credit", world.hospital.client_id)
    assert response.status_code == 201
    code: str = response.get_json()["code"]
    return code


def test_every_answer_a_partner_can_get_is_the_schemas_dump_of_itself(world, app, client):
    schema = IntrospectionSchema()
    live = world.token()
    answers = {
        "live": served(client, world.hospital_key, live),
        "live, as a form": served(client, world.hospital_key, live, form=True),
        "by its code": served(client, world.hospital_key, code_of(client, world)),
        "another partner's": served(client, world.other_key, world.token()),
        "not a token": served(client, world.hospital_key, "x" * 40),
        "an unknown code": served(client, world.hospital_key, "28" + "0" * 16),
    }
    used = world.token()
    consume_as(app, world.hospital, used)
    answers["used"] = served(client, world.hospital_key, used)

    for case, answer in answers.items():
        assert schema.dump(answer) == answer, case
    assert {case for case, answer in answers.items() if answer["active"]} == {
        "live", "live, as a form", "by its code"}
    assert set(answers["live"]) == set(schema.fields) - {"token"}
    assert set(answers["by its code"]) == set(schema.fields)  # and the JWS it stands for
    for case in ("another partner's", "not a token", "an unknown code", "used"):
        assert answers[case] == {"active": False}, case
